//! A sync record and the state machine every flow shares: one record per object a flow touches.
//!
//! ```text
//! pending ──ok──▶ synced
//!    │  ╲──transient──▶ failed ──(retry due, follow-up run, manual retry)──▶ pending
//!    │                    └─ streak older than give_up_after ──▶ needs_attention
//!    └──permanent──▶ needs_attention ──(manual retry)──▶ pending
//! any unresolved ──(manual skip)──▶ skipped
//! ```
//! A transient failure costs seconds: 5 s, 10 s, 20 s ... at most 5 minutes between attempts,
//! for as long as `give_up_after` (24 h by default). `needs_attention` comes from permanent
//! problems (bad data, a missing mapping, a refusal with a reason) or a streak that outlasted it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kind::Kind;
use crate::flow_name::FlowName;
use crate::upstream::{ErrorSummary, UpstreamError};

/// Largest stored request or response body; longer ones are cut with a marker.
pub const BODY_CAP: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Pending,
    Synced,
    Failed,
    NeedsAttention,
    Skipped,
}

impl RecordStatus {
    pub const ALL: [RecordStatus; 5] = [
        RecordStatus::Pending,
        RecordStatus::Synced,
        RecordStatus::Failed,
        RecordStatus::NeedsAttention,
        RecordStatus::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Pending => "pending",
            RecordStatus::Synced => "synced",
            RecordStatus::Failed => "failed",
            RecordStatus::NeedsAttention => "needs_attention",
            RecordStatus::Skipped => "skipped",
        }
    }

    /// Whether the object still needs work (never removed by retention).
    pub fn is_unresolved(self) -> bool {
        matches!(
            self,
            RecordStatus::Pending | RecordStatus::Failed | RecordStatus::NeedsAttention
        )
    }
}

impl std::str::FromStr for RecordStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown status {s:?}; statuses are pending, synced, failed, needs_attention, skipped"
                )
            })
    }
}

/// Counts of records by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub pending: u64,
    pub synced: u64,
    pub failed: u64,
    pub needs_attention: u64,
    pub skipped: u64,
}

impl StatusCounts {
    pub fn add(&mut self, status: RecordStatus) {
        *self.slot(status) += 1;
    }

    pub(crate) fn slot(&mut self, status: RecordStatus) -> &mut u64 {
        match status {
            RecordStatus::Pending => &mut self.pending,
            RecordStatus::Synced => &mut self.synced,
            RecordStatus::Failed => &mut self.failed,
            RecordStatus::NeedsAttention => &mut self.needs_attention,
            RecordStatus::Skipped => &mut self.skipped,
        }
    }
}

/// What happened to an object in this attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done.
    Synced,
    /// Waiting on something outside this attempt (e.g. an asynchronous upstream result).
    Pending(String),
    /// Waiting, to be looked at again at this time (an asynchronous result still being
    /// processed, a grace period): a follow-up run is timed for it like a retry.
    PendingUntil { reason: String, at: DateTime<Utc> },
    /// Deliberately not synced (e.g. a test order, already handled elsewhere).
    Skipped(String),
    /// May succeed later by itself: timeouts, 429, 5xx, an unreadable answer. `error` is the
    /// upstream failure behind it, when there was one.
    Retryable {
        reason: String,
        error: Option<ErrorSummary>,
    },
    /// Will not succeed until a person acts: validation, unknown SKU, missing mapping.
    Permanent {
        reason: String,
        code: Option<String>,
    },
}

impl Outcome {
    /// A transient failure caused by an upstream error (its kind, status and excerpt are kept).
    pub fn transient(reason: impl Into<String>, error: &(impl UpstreamError + ?Sized)) -> Outcome {
        Outcome::Retryable {
            reason: reason.into(),
            error: Some(error.summary()),
        }
    }

    /// A transient failure with no upstream error behind it (a wait that failed, a lock).
    pub fn retry(reason: impl Into<String>) -> Outcome {
        Outcome::Retryable {
            reason: reason.into(),
            error: None,
        }
    }
}

/// The extra detail stored with a record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordDetail {
    /// Related ids by name (`bp_order_id`, `po_number`, ...).
    pub related: Vec<(String, String)>,
    pub request: Option<String>,
    pub response: Option<String>,
}

/// How a record's transient failures are retried (the clients' request retries are
/// `backoff::RetryPolicy`): the wait before retry `n` is drawn from [ceiling/2, ceiling] with
/// ceiling = `base` · 2^(n−1), at most `cap` ("equal jitter"); there is no attempt cap. A streak of
/// transient failures needs a person only once its first failure is older than `give_up_after`
/// (`[records] give_up_after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordBackoff {
    pub base: Duration,
    pub cap: Duration,
    pub give_up_after: Duration,
}

impl Default for RecordBackoff {
    fn default() -> Self {
        RecordBackoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(5 * 60),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RecordBackoff {
    /// The longest wait before retry number `attempt` (1-based): base·2^(attempt−1), at most `cap`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `attempt`: half the ceiling plus a random share of the other
    /// half, so records that failed together do not come back together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        half + (ceiling - half).mul_f64(rand::random::<f64>())
    }
}

/// Attempt errors a record keeps (the oldest dropped first).
pub const ATTEMPT_ERRORS_KEPT: usize = 10;

/// One failed attempt, as `GET /v1/records/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttemptError {
    pub at: DateTime<Utc>,
    /// The record's attempt number.
    pub attempt: u32,
    /// In plain words, as the record's reason said.
    pub reason: String,
    /// `throttled`, `rate_limited`, `server`, `timeout`, `transport`, `connect`, `decode`,
    /// `rejected`, ... when an upstream call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The upstream's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A short excerpt of the answer (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// One object a flow touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncRecord {
    pub id: u64,
    pub flow: FlowName,
    /// What the object is (`order`, `contact`, `shipment`, ...).
    #[schema(value_type = String)]
    pub kind: Kind,
    /// The object's id on the side it comes from.
    pub source_id: String,
    /// Related ids by name.
    #[serde(default)]
    pub related: std::collections::BTreeMap<String, String>,
    pub status: RecordStatus,
    /// Why it is in this status, in plain words.
    pub reason: Option<String>,
    /// The upstream error code, when there was one.
    pub error_code: Option<String>,
    pub attempts: u32,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// When the current streak of transient failures began (cleared by any other outcome).
    #[serde(default)]
    pub first_failed_at: Option<DateTime<Utc>>,
    /// The last failed attempts' errors, oldest first.
    #[serde(default)]
    pub attempt_errors: Vec<AttemptError>,
    pub last_request: Option<String>,
    pub last_response: Option<String>,
    pub last_run_id: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SyncRecord {
    /// Apply an attempt's outcome: the one place the state machine lives.
    pub fn apply(&mut self, outcome: Outcome, now: DateTime<Utc>, policy: &RecordBackoff) {
        self.updated_at = now;
        self.next_retry_at = None;
        self.error_code = None;
        match outcome {
            Outcome::Synced => {
                self.first_failed_at = None;
                self.status = RecordStatus::Synced;
                self.reason = None;
                self.attempts = 0;
            }
            // A wait (an asynchronous answer, a grace period) keeps a failure streak going.
            Outcome::Pending(reason) => {
                self.status = RecordStatus::Pending;
                self.reason = Some(reason);
            }
            Outcome::PendingUntil { reason, at } => {
                self.status = RecordStatus::Pending;
                self.reason = Some(reason);
                self.next_retry_at = Some(at);
            }
            Outcome::Skipped(reason) => {
                self.first_failed_at = None;
                self.status = RecordStatus::Skipped;
                self.reason = Some(reason);
            }
            Outcome::Retryable { reason, error } => {
                self.attempts += 1;
                let since = *self.first_failed_at.get_or_insert(now);
                self.note_error(now, &reason, error);
                let streak = (now - since).to_std().unwrap_or_default();
                if streak >= policy.give_up_after {
                    self.status = RecordStatus::NeedsAttention;
                    self.reason = Some(format!(
                        "kept failing for {} since {} ({} attempts); last: {reason}",
                        humantime::format_duration(Duration::from_secs(streak.as_secs())),
                        since.format("%Y-%m-%d %H:%M:%S UTC"),
                        self.attempts
                    ));
                } else {
                    self.status = RecordStatus::Failed;
                    self.next_retry_at = Some(
                        now + chrono::Duration::from_std(policy.delay(self.attempts))
                            .unwrap_or(chrono::Duration::MAX),
                    );
                    self.reason = Some(reason);
                }
            }
            Outcome::Permanent { reason, code } => {
                self.attempts += 1;
                self.note_error(now, &reason, None);
                if let Some(last) = self.attempt_errors.last_mut() {
                    last.kind = Some("permanent".into());
                }
                self.first_failed_at = None;
                self.status = RecordStatus::NeedsAttention;
                self.reason = Some(reason);
                self.error_code = code;
            }
        }
    }

    fn note_error(&mut self, at: DateTime<Utc>, reason: &str, error: Option<ErrorSummary>) {
        let (kind, status, excerpt) = match error {
            Some(e) => (Some(e.kind), e.status, e.excerpt),
            None => (None, None, None),
        };
        self.attempt_errors.push(AttemptError {
            at,
            attempt: self.attempts,
            reason: reason.to_owned(),
            kind,
            status,
            excerpt,
        });
        if self.attempt_errors.len() > ATTEMPT_ERRORS_KEPT {
            let excess = self.attempt_errors.len() - ATTEMPT_ERRORS_KEPT;
            self.attempt_errors.drain(..excess);
        }
    }

    /// Whether a flow should pick this record up again now.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            RecordStatus::Pending => self.next_retry_at.is_none_or(|t| t <= now),
            RecordStatus::Failed => self.next_retry_at.is_none_or(|t| t <= now),
            _ => false,
        }
    }
}

pub(crate) fn cap(body: Option<String>) -> Option<String> {
    body.map(|mut b| {
        if b.len() > BODY_CAP {
            let mut cut = BODY_CAP;
            while !b.is_char_boundary(cut) {
                cut -= 1;
            }
            b.truncate(cut);
            b.push_str("…[truncated]");
        }
        b
    })
}
