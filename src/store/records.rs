//! Sync records: one per object a flow touches, with the state machine every flow shares.
//!
//! ```text
//! pending ──ok──▶ synced
//!    │  ╲──retryable──▶ failed ──(retry due or manual retry)──▶ pending
//!    │                    └─ attempts ≥ cap ──▶ needs_attention
//!    └──permanent──▶ needs_attention ──(manual retry)──▶ pending
//! any unresolved ──(manual skip)──▶ skipped
//! ```
//! Retention deletes only `synced` and `skipped` records: nothing unresolved is ever dropped.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::RunId;
use super::error::{Error, decode, encode};
use super::kind::Kind;
use super::tables::{RECORD_ID_TO_RECORD, STATUS_FLOW_ID_TO_UNIT, SUBJECT_TO_RECORD_ID};
use super::tx::{Reads, Tx, WriteTx};
use crate::flow_name::FlowName;

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

    fn slot(&mut self, status: RecordStatus) -> &mut u64 {
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
    /// Deliberately not synced (e.g. a test order, already handled elsewhere).
    Skipped(String),
    /// May succeed later by itself: timeouts, 429, 5xx without an error body.
    Retryable { reason: String },
    /// Will not succeed until a person acts: validation, unknown SKU, missing mapping.
    Permanent {
        reason: String,
        code: Option<String>,
    },
}

/// The extra detail stored with a record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordDetail {
    /// Related ids by name (`bp_order_id`, `po_number`, ...).
    pub related: Vec<(String, String)>,
    pub request: Option<String>,
    pub response: Option<String>,
}

/// Backoff for a record's retryable failures (the clients' request retries are
/// `backoff::RetryPolicy`).
#[derive(Debug, Clone, Copy)]
pub struct RecordBackoff {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts after which a retryable failure needs a person.
    pub max_attempts: u32,
}

impl Default for RecordBackoff {
    fn default() -> Self {
        RecordBackoff {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
            max_attempts: 8,
        }
    }
}

impl RecordBackoff {
    /// The wait before retry number `attempt` (1-based): base·2^(attempt−1), at most `cap`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }
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
                self.status = RecordStatus::Synced;
                self.reason = None;
                self.attempts = 0;
            }
            Outcome::Pending(reason) => {
                self.status = RecordStatus::Pending;
                self.reason = Some(reason);
            }
            Outcome::Skipped(reason) => {
                self.status = RecordStatus::Skipped;
                self.reason = Some(reason);
            }
            Outcome::Retryable { reason } => {
                self.attempts += 1;
                if self.attempts >= policy.max_attempts {
                    self.status = RecordStatus::NeedsAttention;
                    self.reason = Some(format!(
                        "gave up after {} attempts: {reason}",
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
                self.status = RecordStatus::NeedsAttention;
                self.reason = Some(reason);
                self.error_code = code;
            }
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

fn cap(body: Option<String>) -> Option<String> {
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

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub flow: Option<FlowName>,
    pub status: Option<RecordStatus>,
    pub kind: Option<Kind>,
    pub source_id: Option<String>,
}

impl RecordFilter {
    fn matches(&self, r: &SyncRecord) -> bool {
        self.flow.is_none_or(|f| f == r.flow)
            && self.status.is_none_or(|s| s == r.status)
            && self.kind.as_ref().is_none_or(|k| *k == r.kind)
            && self.source_id.as_deref().is_none_or(|s| s == r.source_id)
    }
}

type IndexKey = (&'static str, &'static str, u64);

/// Records matching `filter`, through the status index when a status is given.
fn list_records(
    index: &impl ReadableTable<(&'static str, &'static str, u64), ()>,
    table: &impl ReadableTable<u64, &'static [u8]>,
    filter: &RecordFilter,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<SyncRecord>, Error> {
    let upper = before.unwrap_or(u64::MAX);
    let mut out = Vec::new();
    if let Some(status) = filter.status {
        // The status index names the ids; read only those.
        let flows: Vec<FlowName> = match filter.flow {
            Some(f) => vec![f],
            None => FlowName::ALL.to_vec(),
        };
        let mut ids = Vec::new();
        for flow in flows {
            let range: (IndexKey, IndexKey) = (
                (status.as_str(), flow.as_str(), 0),
                (status.as_str(), flow.as_str(), upper),
            );
            for entry in index.range(range.0..range.1).map_err(Error::db)? {
                ids.push(entry.map_err(Error::db)?.0.value().2);
            }
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        for id in ids {
            if out.len() >= limit {
                break;
            }
            if let Some(v) = table.get(id).map_err(Error::db)? {
                let r: SyncRecord = decode("records", v.value())?;
                if filter.matches(&r) {
                    out.push(r);
                }
            }
        }
        return Ok(out);
    }
    for entry in table.range(..upper).map_err(Error::db)?.rev() {
        if out.len() >= limit {
            break;
        }
        let (_, v) = entry.map_err(Error::db)?;
        let r: SyncRecord = decode("records", v.value())?;
        if filter.matches(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

impl<T: Reads> Tx<T> {
    pub fn record(&self, id: u64) -> Result<Option<SyncRecord>, Error> {
        let table = self.table(RECORD_ID_TO_RECORD)?;
        match table.get(id).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("records", v.value())?)),
            None => Ok(None),
        }
    }

    pub fn record_for(
        &self,
        flow: FlowName,
        kind: impl Into<Kind>,
        source_id: &str,
    ) -> Result<Option<SyncRecord>, Error> {
        let kind = kind.into();
        let id = {
            let index = self.table(SUBJECT_TO_RECORD_ID)?;
            index
                .get((flow.as_str(), kind.as_str(), source_id))
                .map_err(Error::db)?
                .map(|id| id.value())
        };
        match id {
            Some(id) => self.record(id),
            None => Ok(None),
        }
    }

    /// Records matching `filter`, newest first, with ids below `before` (the list cursor).
    pub fn records(
        &self,
        filter: &RecordFilter,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<SyncRecord>, Error> {
        let index = self.table(STATUS_FLOW_ID_TO_UNIT)?;
        let table = self.table(RECORD_ID_TO_RECORD)?;
        list_records(&index, &table, filter, before, limit)
    }

    /// Counts by status for one flow, from the index alone.
    pub fn record_counts(&self, flow: FlowName) -> Result<StatusCounts, Error> {
        let index = self.table(STATUS_FLOW_ID_TO_UNIT)?;
        let mut counts = StatusCounts::default();
        for status in RecordStatus::ALL {
            let n = index
                .range(
                    (status.as_str(), flow.as_str(), 0)
                        ..=(status.as_str(), flow.as_str(), u64::MAX),
                )
                .map_err(Error::db)?
                .count() as u64;
            *counts.slot(status) = n;
        }
        Ok(counts)
    }

    /// Records of a flow that are due for another attempt.
    pub fn due_records(
        &self,
        flow: FlowName,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRecord>, Error> {
        let mut out = Vec::new();
        for status in [RecordStatus::Pending, RecordStatus::Failed] {
            let filter = RecordFilter {
                flow: Some(flow),
                status: Some(status),
                ..Default::default()
            };
            out.extend(
                self.records(&filter, None, usize::MAX)?
                    .into_iter()
                    .filter(|r| r.is_due(now)),
            );
        }
        out.sort_by_key(|r| r.id);
        Ok(out)
    }
}

impl WriteTx<'_> {
    fn save_record(
        &self,
        record: &SyncRecord,
        previous: Option<RecordStatus>,
    ) -> Result<(), Error> {
        let mut table = self.table_mut(RECORD_ID_TO_RECORD)?;
        table
            .insert(record.id, encode(record).as_slice())
            .map_err(Error::db)?;
        let mut index = self.table_mut(STATUS_FLOW_ID_TO_UNIT)?;
        if let Some(old) = previous
            && old != record.status
        {
            index
                .remove((old.as_str(), record.flow.as_str(), record.id))
                .map_err(Error::db)?;
        }
        index
            .insert(
                (record.status.as_str(), record.flow.as_str(), record.id),
                (),
            )
            .map_err(Error::db)?;
        Ok(())
    }

    /// Upsert the record of (flow, kind, source id) with this attempt's outcome.
    pub fn record_outcome(
        &self,
        flow: FlowName,
        kind: impl Into<Kind>,
        source_id: &str,
        outcome: Outcome,
        detail: RecordDetail,
        run_id: RunId,
    ) -> Result<SyncRecord, Error> {
        self.record_outcome_with(
            flow,
            kind,
            source_id,
            outcome,
            detail,
            Some(run_id),
            &RecordBackoff::default(),
            Utc::now(),
        )
    }

    /// [`Self::record_outcome`] with an explicit policy and time.
    #[allow(clippy::too_many_arguments)]
    pub fn record_outcome_with(
        &self,
        flow: FlowName,
        kind: impl Into<Kind>,
        source_id: &str,
        outcome: Outcome,
        detail: RecordDetail,
        run_id: Option<RunId>,
        policy: &RecordBackoff,
        now: DateTime<Utc>,
    ) -> Result<SyncRecord, Error> {
        let kind = kind.into();
        let existing_id = {
            let index = self.table(SUBJECT_TO_RECORD_ID)?;
            index
                .get((flow.as_str(), kind.as_str(), source_id))
                .map_err(Error::db)?
                .map(|v| v.value())
        };
        let existing = match existing_id {
            Some(id) => self.record(id)?,
            None => None,
        };
        let previous = existing.as_ref().map(|r| r.status);
        let mut record = match existing {
            Some(r) => r,
            None => {
                let id = self.next_id("next_record_id")?;
                let mut index = self.table_mut(SUBJECT_TO_RECORD_ID)?;
                index
                    .insert((flow.as_str(), kind.as_str(), source_id), id)
                    .map_err(Error::db)?;
                SyncRecord {
                    id,
                    flow,
                    kind,
                    source_id: source_id.to_owned(),
                    related: Default::default(),
                    status: RecordStatus::Pending,
                    reason: None,
                    error_code: None,
                    attempts: 0,
                    next_retry_at: None,
                    last_request: None,
                    last_response: None,
                    last_run_id: None,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        record.apply(outcome, now, policy);
        record.related.extend(detail.related);
        if detail.request.is_some() {
            record.last_request = cap(detail.request);
        }
        if detail.response.is_some() {
            record.last_response = cap(detail.response);
        }
        if let Some(run) = run_id {
            record.last_run_id = Some(run.0);
        }
        self.save_record(&record, previous)?;
        Ok(record)
    }

    /// A person asks for another attempt: the record becomes `pending`, due now.
    pub fn retry_record(&self, id: u64, now: DateTime<Utc>) -> Result<SyncRecord, Error> {
        let mut record = self.record(id)?.ok_or(Error::NotFound {
            what: "record",
            id: id.to_string(),
        })?;
        if record.status == RecordStatus::Synced {
            return Err(Error::Conflict(format!(
                "record {id} is already synced; there is nothing to retry"
            )));
        }
        let previous = record.status;
        record.status = RecordStatus::Pending;
        record.reason = Some("retry requested".into());
        record.next_retry_at = None;
        record.attempts = 0;
        record.updated_at = now;
        self.save_record(&record, Some(previous))?;
        Ok(record)
    }

    /// A person decides the object needs no sync.
    pub fn skip_record(
        &self,
        id: u64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<SyncRecord, Error> {
        let mut record = self.record(id)?.ok_or(Error::NotFound {
            what: "record",
            id: id.to_string(),
        })?;
        if record.status == RecordStatus::Synced {
            return Err(Error::Conflict(format!(
                "record {id} is already synced; it cannot be skipped"
            )));
        }
        let previous = record.status;
        record.status = RecordStatus::Skipped;
        record.reason = Some(format!("skipped by operator: {reason}"));
        record.next_retry_at = None;
        record.updated_at = now;
        self.save_record(&record, Some(previous))?;
        Ok(record)
    }

    /// Retention: delete `synced` and `skipped` records last updated before `cutoff`.
    /// Unresolved records are never deleted. Returns how many went.
    pub fn purge_records(&self, cutoff: DateTime<Utc>) -> Result<u64, Error> {
        let mut doomed = Vec::new();
        {
            let index = self.table(STATUS_FLOW_ID_TO_UNIT)?;
            for status in [RecordStatus::Synced, RecordStatus::Skipped] {
                for flow in FlowName::ALL {
                    for entry in index
                        .range(
                            (status.as_str(), flow.as_str(), 0)
                                ..=(status.as_str(), flow.as_str(), u64::MAX),
                        )
                        .map_err(Error::db)?
                    {
                        doomed.push(entry.map_err(Error::db)?.0.value().2);
                    }
                }
            }
        }
        let mut purged = 0;
        for id in doomed {
            let Some(record) = self.record(id)? else {
                continue;
            };
            if record.status.is_unresolved() || record.updated_at >= cutoff {
                continue;
            }
            self.table_mut(RECORD_ID_TO_RECORD)?
                .remove(id)
                .map_err(Error::db)?;
            self.table_mut(SUBJECT_TO_RECORD_ID)?
                .remove((
                    record.flow.as_str(),
                    record.kind.as_str(),
                    record.source_id.as_str(),
                ))
                .map_err(Error::db)?;
            self.table_mut(STATUS_FLOW_ID_TO_UNIT)?
                .remove((record.status.as_str(), record.flow.as_str(), id))
                .map_err(Error::db)?;
            purged += 1;
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        (dir, store)
    }

    fn attempt(s: &Store, source: &str, outcome: Outcome, now: DateTime<Utc>) -> SyncRecord {
        let policy = RecordBackoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
            max_attempts: 4,
        };
        s.write(|tx| {
            tx.record_outcome_with(
                FlowName::Orders,
                "order",
                source,
                outcome,
                RecordDetail::default(),
                None,
                &policy,
                now,
            )
        })
        .unwrap()
    }

    #[test]
    fn retryable_failures_back_off_then_need_attention() {
        let (_d, s) = store();
        let t0 = Utc::now();
        let fail = || Outcome::Retryable {
            reason: "timeout".into(),
        };
        let r = attempt(&s, "D1", fail(), t0);
        assert_eq!(r.status, RecordStatus::Failed);
        assert_eq!(r.next_retry_at, Some(t0 + chrono::Duration::seconds(10)));
        assert!(!r.is_due(t0));
        assert!(r.is_due(t0 + chrono::Duration::seconds(10)));
        let r = attempt(&s, "D1", fail(), t0);
        assert_eq!(r.next_retry_at, Some(t0 + chrono::Duration::seconds(20)));
        let r = attempt(&s, "D1", fail(), t0);
        assert_eq!(r.next_retry_at, Some(t0 + chrono::Duration::seconds(40)));
        let r = attempt(&s, "D1", fail(), t0);
        assert_eq!(r.status, RecordStatus::NeedsAttention);
        assert_eq!(
            r.reason.as_deref(),
            Some("gave up after 4 attempts: timeout")
        );
        assert_eq!(
            r.id,
            attempt(&s, "D1", Outcome::Synced, t0).id,
            "one record per object"
        );
    }

    #[test]
    fn backoff_is_capped() {
        let p = RecordBackoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
            max_attempts: 100,
        };
        assert_eq!(p.delay(1), Duration::from_secs(10));
        assert_eq!(p.delay(3), Duration::from_secs(40));
        assert_eq!(p.delay(4), Duration::from_secs(60));
        assert_eq!(p.delay(60), Duration::from_secs(60));
    }

    #[test]
    fn permanent_failures_need_attention_at_once_and_manual_retry_makes_them_due() {
        let (_d, s) = store();
        let now = Utc::now();
        let r = attempt(
            &s,
            "D2",
            Outcome::Permanent {
                reason: "line 1: unknown SKU X".into(),
                code: Some("ORDC-001".into()),
            },
            now,
        );
        assert_eq!(r.status, RecordStatus::NeedsAttention);
        assert_eq!(r.error_code.as_deref(), Some("ORDC-001"));
        assert!(
            s.read(|tx| tx.due_records(FlowName::Orders, now))
                .unwrap()
                .is_empty()
        );
        let r = s.write(|tx| tx.retry_record(r.id, now)).unwrap();
        assert_eq!(r.status, RecordStatus::Pending);
        let due = s.read(|tx| tx.due_records(FlowName::Orders, now)).unwrap();
        assert_eq!(due.len(), 1);
        let counts = s.read(|tx| tx.record_counts(FlowName::Orders)).unwrap();
        assert_eq!(counts.pending, 1);
        assert_eq!(counts.needs_attention, 0);
    }

    #[test]
    fn retention_keeps_every_unresolved_record() {
        let (_d, s) = store();
        let old = Utc::now() - chrono::Duration::days(90);
        attempt(&s, "synced", Outcome::Synced, old);
        attempt(&s, "skipped", Outcome::Skipped("test order".into()), old);
        attempt(&s, "failed", Outcome::Retryable { reason: "x".into() }, old);
        attempt(
            &s,
            "attention",
            Outcome::Permanent {
                reason: "x".into(),
                code: None,
            },
            old,
        );
        attempt(&s, "pending", Outcome::Pending("ack sent".into()), old);
        attempt(&s, "fresh", Outcome::Synced, Utc::now());
        let purged = s
            .write(|tx| tx.purge_records(Utc::now() - chrono::Duration::days(30)))
            .unwrap();
        assert_eq!(purged, 2);
        let left: Vec<String> = s
            .read(|tx| tx.records(&RecordFilter::default(), None, 100))
            .unwrap()
            .into_iter()
            .map(|r| r.source_id)
            .collect();
        assert_eq!(left, ["fresh", "pending", "attention", "failed"]);
    }

    #[test]
    fn lists_page_newest_first_and_filter_by_status() {
        let (_d, s) = store();
        let now = Utc::now();
        for i in 0..5 {
            attempt(&s, &format!("D{i}"), Outcome::Synced, now);
        }
        attempt(
            &s,
            "bad",
            Outcome::Permanent {
                reason: "x".into(),
                code: None,
            },
            now,
        );
        let page = s
            .read(|tx| tx.records(&RecordFilter::default(), None, 4))
            .unwrap();
        assert_eq!(page.len(), 4);
        assert_eq!(page[0].source_id, "bad");
        let rest = s
            .read(|tx| tx.records(&RecordFilter::default(), Some(page[3].id), 4))
            .unwrap();
        assert_eq!(rest.len(), 2);
        let filter = RecordFilter {
            status: Some(RecordStatus::Synced),
            flow: Some(FlowName::Orders),
            ..Default::default()
        };
        assert_eq!(
            s.read(|tx| tx.records(&filter, None, 100)).unwrap().len(),
            5
        );
    }

    #[test]
    fn long_bodies_are_capped() {
        let (_d, s) = store();
        let r = s
            .write(|tx| {
                tx.record_outcome_with(
                    FlowName::Orders,
                    "order",
                    "D1",
                    Outcome::Synced,
                    RecordDetail {
                        request: Some("é".repeat(BODY_CAP)),
                        ..Default::default()
                    },
                    None,
                    &RecordBackoff::default(),
                    Utc::now(),
                )
            })
            .unwrap();
        let body = r.last_request.unwrap();
        assert!(body.len() <= BODY_CAP + 20 && body.ends_with("[truncated]"));
    }
}
