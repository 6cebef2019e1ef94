//! The queue of asynchronous work (dsco-api.md §1.6): a small-batch call stores one `pending`
//! entry per submitted object, due the processing delay (`State::processing`, from
//! `processing_delay` at start) after submission on the [`SimClock`]; due entries are processed
//! in submission order, becoming `success` or `failure` with `results[]` messages. While
//! processing is held nothing is processed. Which module applies which job is not known here: the caller passes an [`ApplyJob`].
//!
//! [`SimClock`]: crate::sandbox::common::SimClock

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::config::DscoSimConfig;
use super::http::message;
use super::jobs::{Job, LogEntry, Outcome};
use super::state::{State, new_uuid};

/// Applies one job's payload to the account (the dispatch lives in `dsco/mod.rs`).
pub(crate) type ApplyJob = fn(&mut State, &DscoSimConfig, Job, &Value, DateTime<Utc>) -> Outcome;

/// Queue a small batch: one pending entry per object. Returns the request id for the 202.
pub(crate) fn submit(
    state: &mut State,
    job: Job,
    detail: &'static str,
    payloads: Vec<Value>,
    now: DateTime<Utc>,
) -> String {
    let request_id = new_uuid();
    let delay = state.processing.delay;
    let due = now + chrono::Duration::milliseconds(delay.as_millis() as i64);
    for payload in payloads {
        state.log.push(LogEntry {
            kind: job.log_kind(),
            job,
            request_id: request_id.clone(),
            submitted: now,
            due,
            status: "pending",
            payload,
            results: Vec::new(),
            date_processed: None,
            detail,
        });
    }
    request_id
}

/// Record a synchronous call's outcome as an already-processed entry.
pub(crate) fn record(
    state: &mut State,
    job: Job,
    detail: &'static str,
    payload: Value,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> String {
    let request_id = new_uuid();
    let (status, results) = outcome_parts(outcome);
    state.log.push(LogEntry {
        kind: job.log_kind(),
        job,
        request_id: request_id.clone(),
        submitted: now,
        due: now,
        status,
        payload,
        results,
        date_processed: Some(now),
        detail,
    });
    request_id
}

/// Process every pending entry whose due time has come (none while processing is held).
pub(crate) fn process_due(
    state: &mut State,
    config: &DscoSimConfig,
    apply: ApplyJob,
    now: DateTime<Utc>,
) {
    if state.processing.held {
        return;
    }
    for index in 0..state.log.len() {
        let entry = &state.log[index];
        if entry.status != "pending" || entry.due > now {
            continue;
        }
        let job = entry.job;
        let payload = entry.payload.clone();
        let outcome = apply(state, config, job, &payload, now);
        let (status, results) = outcome_parts(&outcome);
        let entry = &mut state.log[index];
        entry.status = status;
        entry.results = results;
        entry.date_processed = Some(now);
    }
}

fn outcome_parts(outcome: &Outcome) -> (&'static str, Vec<Value>) {
    match outcome {
        Ok(info) => ("success", info.clone()),
        Err(problems) => ("failure", error_results(problems)),
    }
}

/// The message list for a failure in a change-log entry.
pub(crate) fn error_results(problems: &[String]) -> Vec<Value> {
    problems
        .iter()
        .map(|p| message("VALIDATION_ERROR", "error", p))
        .collect()
}
