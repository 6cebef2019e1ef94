//! Wire shapes of the control API. Stored types are separate, so the JSON contract changes only
//! on purpose.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::flow_name::FlowName;
use crate::store::{Run, RunStatus, StatusCounts, SyncRecord, Trigger};

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// A page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Parse a numeric cursor.
pub fn cursor_id(cursor: Option<&str>) -> Result<Option<u64>, super::ApiError> {
    cursor
        .map(|c| {
            c.parse::<u64>().map_err(|_| {
                super::ApiError::BadRequest(format!("cursor {c:?} is not one this API gave out"))
            })
        })
        .transpose()
}

pub fn limit(limit: Option<usize>) -> Result<usize, super::ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(super::ApiError::BadRequest(
            "limit must be at least 1".into(),
        )),
        Some(n) => Ok(n.min(MAX_LIMIT)),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ready {
    pub ready: bool,
    pub store: bool,
    pub scheduler: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub version: &'static str,
    pub flows: Vec<FlowStatus>,
}

/// One flow's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlowStatus {
    pub flow: FlowName,
    /// Whether this build has the flow.
    pub available: bool,
    /// Whether any of its modes has a schedule (`[schedules]` in the config).
    pub enabled: bool,
    /// The schedule of its first mode (`[schedules] <flow>`); see `schedules` for every mode.
    pub schedule: Option<String>,
    /// Every scheduled mode (`[schedules] <flow>` and `<flow>_<mode>`), in the flow's order of
    /// modes.
    pub schedules: Vec<ModeSchedule>,
    /// Whether the credentials the flow needs are set.
    pub connected: bool,
    /// What is missing, e.g. "not connected: Brightpearl credentials are not set".
    pub note: Option<String>,
    pub running_run_id: Option<u64>,
    /// What the running run last reported (e.g. "products 4000 of 20000").
    pub progress: Option<String>,
    pub last_run: Option<RunDto>,
    /// The next scheduled tick, whichever mode it is for.
    pub next_run: Option<DateTime<Utc>>,
    /// Sync records of this flow by status.
    pub counts: StatusCounts,
    /// What the operator should know about how the flow works here (e.g. "no stock webhooks").
    pub warnings: Vec<String>,
    /// Inventory only: when each mode last finished.
    pub last_modes: Option<LastModes>,
}

/// When each inventory mode last finished.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LastModes {
    pub delta: Option<DateTime<Utc>>,
    pub full: Option<DateTime<Utc>>,
    pub reconcile: Option<DateTime<Utc>>,
}

/// One scheduled mode of a flow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModeSchedule {
    /// One of the flow's modes.
    #[schema(example = "full")]
    pub mode: String,
    /// Its six-field cron schedule.
    #[schema(example = "0 */15 * * * *")]
    pub schedule: String,
    /// Its next tick (null when the flow is not available in this version).
    pub next_run: Option<DateTime<Utc>>,
}

/// The answer to `POST /v1/sync/{flow}/run`: the run that started, or (with `?queue=true`
/// while the flow runs) the follow-up run that was queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunStarted {
    /// The run that started; null when a follow-up run was queued instead.
    pub run_id: Option<u64>,
    /// True when the flow was running and one follow-up run will start when it ends (several
    /// queued requests collapse into one).
    pub queued: bool,
    /// The mode of the started run, or of the queued follow-up (the later in the flow's list of
    /// the modes asked for while the flow ran).
    #[schema(example = "default")]
    pub mode: String,
}

/// The optional body of `POST /v1/sync/{flow}/run`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// One of the flow's modes (inventory: delta, full, reconcile; the others: default);
    /// the flow's first mode when absent.
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunDto {
    pub id: u64,
    pub flow: FlowName,
    pub trigger: Trigger,
    /// The run's mode, one of the flow's modes.
    pub mode: String,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: StatusCounts,
    pub note: Option<String>,
    pub error: Option<String>,
}

impl From<Run> for RunDto {
    fn from(r: Run) -> Self {
        RunDto {
            id: r.id,
            flow: r.flow,
            trigger: r.trigger,
            mode: r.mode,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: r.counts,
            note: r.note,
            error: r.error,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordDto {
    pub id: u64,
    pub flow: FlowName,
    pub kind: String,
    pub source_id: String,
    pub related: std::collections::BTreeMap<String, String>,
    pub status: crate::store::RecordStatus,
    pub reason: Option<String>,
    pub error_code: Option<String>,
    pub attempts: u32,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// When the current streak of transient failures began; `[records] give_up_after` after it,
    /// the record needs attention.
    pub first_failed_at: Option<DateTime<Utc>>,
    /// The last failed attempts, oldest first: kind, status and a short excerpt of each error.
    pub attempt_errors: Vec<crate::store::AttemptError>,
    pub last_request: Option<String>,
    pub last_response: Option<String>,
    pub last_run_id: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SyncRecord> for RecordDto {
    fn from(r: SyncRecord) -> Self {
        RecordDto {
            id: r.id,
            flow: r.flow,
            kind: r.kind.into(),
            source_id: r.source_id,
            related: r.related,
            status: r.status,
            reason: r.reason,
            error_code: r.error_code,
            attempts: r.attempts,
            next_retry_at: r.next_retry_at,
            first_failed_at: r.first_failed_at,
            attempt_errors: r.attempt_errors,
            last_request: r.last_request,
            last_response: r.last_response,
            last_run_id: r.last_run_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipRequest {
    /// Why the record needs no sync.
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkRetried {
    pub retried: u64,
}
