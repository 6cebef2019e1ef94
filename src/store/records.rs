//! Sync records in the store: one per object a flow touches, indexed by subject and by status.
//! The state machine they follow is `store::record`. Retention deletes only `synced` and
//! `skipped` records: nothing unresolved is ever dropped.

use chrono::{DateTime, Utc};
use redb::ReadableTable;

use super::RunId;
use super::error::{Error, decode, encode};
use super::kind::Kind;
pub(super) use super::record::cap;
pub use super::record::{
    AttemptError, Outcome, RecordBackoff, RecordDetail, RecordStatus, StatusCounts, SyncRecord,
};
use super::tables::{RECORD_ID_TO_RECORD, STATUS_FLOW_ID_TO_UNIT, SUBJECT_TO_RECORD_ID};
use super::tx::{Reads, Tx, WriteTx};
use crate::flow_name::FlowName;

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

    /// When the flow's earliest waiting record comes due: failed records, and pending ones that
    /// wait for a time (a grace period). The scheduler's follow-up runs use it.
    pub fn next_due(&self, flow: FlowName) -> Result<Option<DateTime<Utc>>, Error> {
        let index = self.table(STATUS_FLOW_ID_TO_UNIT)?;
        let table = self.table(RECORD_ID_TO_RECORD)?;
        let mut earliest: Option<DateTime<Utc>> = None;
        for status in [RecordStatus::Failed, RecordStatus::Pending] {
            let range = index
                .range(
                    (status.as_str(), flow.as_str(), 0)
                        ..=(status.as_str(), flow.as_str(), u64::MAX),
                )
                .map_err(Error::db)?;
            for entry in range {
                let id = entry.map_err(Error::db)?.0.value().2;
                let Some(v) = table.get(id).map_err(Error::db)? else {
                    continue;
                };
                let r: SyncRecord = decode("records", v.value())?;
                if let Some(at) = r.next_retry_at {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                }
            }
        }
        Ok(earliest)
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
            &self.env.backoff,
            self.now(),
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
                    first_failed_at: None,
                    attempt_errors: Vec::new(),
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
    use std::time::Duration;

    use super::*;
    use crate::store::db::Store;
    use crate::store::record::{ATTEMPT_ERRORS_KEPT, BODY_CAP};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        (dir, store)
    }

    fn attempt(s: &Store, source: &str, outcome: Outcome, now: DateTime<Utc>) -> SyncRecord {
        let policy = RecordBackoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
            give_up_after: Duration::from_secs(2 * 3600),
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
    fn transient_failures_back_off_in_seconds_without_an_attempt_cap_then_give_up_after_the_streak()
    {
        let (_d, s) = store();
        let t0 = Utc::now();
        let fail = |status| Outcome::Retryable {
            reason: "search failed".into(),
            error: Some(crate::upstream::ErrorSummary::new(
                "rejected",
                Some(status),
                Some("CMNC-500 internal".into()),
            )),
        };
        let secs =
            |r: &SyncRecord, at: DateTime<Utc>| (r.next_retry_at.unwrap() - at).num_milliseconds();
        let r = attempt(&s, "D1", fail(500), t0);
        assert_eq!(r.status, RecordStatus::Failed);
        assert!((5_000..=10_000).contains(&secs(&r, t0)), "{}", secs(&r, t0));
        assert!(!r.is_due(t0));
        assert!(r.is_due(t0 + chrono::Duration::seconds(10)));
        assert_eq!(r.first_failed_at, Some(t0));
        // Twenty more transient failures over an hour: still failed, never more than 60 s apart
        // (the test's cap), and the streak keeps its start.
        let mut at = t0;
        for _ in 0..20 {
            at += chrono::Duration::minutes(3);
            let r = attempt(&s, "D1", fail(503), at);
            assert_eq!(r.status, RecordStatus::Failed);
            assert!((5_000..=60_000).contains(&secs(&r, at)));
            assert_eq!(r.first_failed_at, Some(t0));
        }
        let r = attempt(&s, "D1", fail(502), at);
        assert_eq!(r.attempts, 22);
        assert_eq!(r.attempt_errors.len(), ATTEMPT_ERRORS_KEPT);
        let last = r.attempt_errors.last().unwrap();
        assert_eq!(
            (last.kind.as_deref(), last.status, last.attempt),
            (Some("rejected"), Some(502), 22)
        );
        assert_eq!(last.excerpt.as_deref(), Some("CMNC-500 internal"));
        // The streak outlasts give_up_after (2 h here): a person is asked, with what and since when.
        let late = t0 + chrono::Duration::hours(2);
        let r = attempt(&s, "D1", fail(500), late);
        assert_eq!(r.status, RecordStatus::NeedsAttention);
        let reason = r.reason.unwrap();
        assert!(reason.starts_with("kept failing for 2h since "), "{reason}");
        assert!(
            reason.ends_with("(23 attempts); last: search failed"),
            "{reason}"
        );
        // A success ends the streak; the next failure starts a new one.
        let r = attempt(&s, "D1", Outcome::Synced, late);
        assert_eq!((r.status, r.first_failed_at), (RecordStatus::Synced, None));
        let r = attempt(&s, "D1", fail(500), late);
        assert_eq!(
            (r.status, r.first_failed_at),
            (RecordStatus::Failed, Some(late))
        );
        assert_eq!(
            r.id,
            attempt(&s, "D1", Outcome::Synced, t0).id,
            "one record per object"
        );
    }

    #[test]
    fn a_wait_keeps_the_streak_and_the_default_backoff_is_5_s_doubling_to_5_min() {
        let (_d, s) = store();
        let t0 = Utc::now();
        let fail = || Outcome::Retryable {
            reason: "timeout".into(),
            error: None,
        };
        attempt(&s, "D3", fail(), t0);
        let r = attempt(&s, "D3", Outcome::Pending("waiting".into()), t0);
        assert_eq!(r.first_failed_at, Some(t0));
        let p = RecordBackoff::default();
        assert_eq!(p.ceiling(1), Duration::from_secs(5));
        assert_eq!(p.ceiling(2), Duration::from_secs(10));
        assert_eq!(p.ceiling(7), Duration::from_secs(300));
        assert_eq!(p.ceiling(60), Duration::from_secs(300));
        assert_eq!(p.give_up_after, Duration::from_secs(24 * 3600));
        for n in 1..12 {
            let d = p.delay(n);
            assert!(d >= p.ceiling(n) / 2 && d <= p.ceiling(n));
        }
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
        attempt(
            &s,
            "failed",
            Outcome::Retryable {
                reason: "x".into(),
                error: None,
            },
            old,
        );
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
