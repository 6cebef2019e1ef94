//! Asynchronous jobs and the change-log entries that record them (dsco-api.md §1.6, §1.8): plain
//! data, no HTTP and no processing (that is `queue.rs`).

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Which change log an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogKind {
    Order,
    Inventory,
    Invoice,
}

/// The work behind a pending entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Job {
    Acknowledge,
    Shipment,
    Cancel,
    Inventory { skip_unknown: bool },
    Invoice,
}

impl Job {
    /// The change log that reports this job.
    pub(crate) fn log_kind(self) -> LogKind {
        match self {
            Job::Acknowledge | Job::Shipment | Job::Cancel => LogKind::Order,
            Job::Inventory { .. } => LogKind::Inventory,
            Job::Invoice => LogKind::Invoice,
        }
    }
}

/// Result of applying one object: info messages on success, problems on failure.
pub(crate) type Outcome = Result<Vec<Value>, Vec<String>>;

pub(crate) struct LogEntry {
    pub kind: LogKind,
    pub job: Job,
    pub request_id: String,
    pub submitted: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub status: &'static str,
    pub payload: Value,
    pub results: Vec<Value>,
    pub date_processed: Option<DateTime<Utc>>,
    /// The API operation that produced the entry (`requestMethodDetail`).
    pub detail: &'static str,
}

impl LogEntry {
    /// The date the window filters compare: when processed, else when submitted.
    pub(crate) fn date(&self) -> DateTime<Utc> {
        self.date_processed.unwrap_or(self.submitted)
    }
}
