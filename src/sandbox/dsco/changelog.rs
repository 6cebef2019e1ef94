//! Asynchronous work and the change logs that report it (dsco-api.md §1.6, §1.8):
//! `GET /order/log`, `/inventory/log`, `/invoice/log`.
//!
//! A small-batch call stores one `pending` entry per submitted object, due `processing_delay`
//! after submission on the [`SimClock`]; due entries are processed (in submission order) before
//! every request and by [`DscoSim::process_pending`], becoming `success` or `failure` with
//! `results[]` messages.
//!
//! [`SimClock`]: crate::sandbox::common::SimClock

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::http::{Params, bad_request, not_found, update_response};
use super::state::{State as SimState, fmt_date, new_uuid, parse_date};
use super::{DscoSim, DscoSimConfig, acknowledge, cancel, inventory, invoices, shipments};

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
    fn to_json(&self) -> Value {
        json!({
            "payload": self.payload,
            // guess: `dateProcessed` is required by the schema, so a pending entry carries the
            // date its request was received (dsco-api.md §1.8).
            "dateProcessed": fmt_date(self.date()),
            "status": self.status,
            "requestMethod": "api",
            "requestMethodDetail": self.detail,
            "requestId": self.request_id,
            "processId": null,
            "results": self.results,
        })
    }

    /// The date the window filters compare: when processed, else when submitted.
    fn date(&self) -> DateTime<Utc> {
        self.date_processed.unwrap_or(self.submitted)
    }
}

/// Queue a small batch: one pending entry per object. Returns the request id for the 202.
pub(crate) fn submit(
    state: &mut SimState,
    config: &DscoSimConfig,
    job: Job,
    detail: &'static str,
    payloads: Vec<Value>,
    now: DateTime<Utc>,
) -> String {
    let request_id = new_uuid();
    let due = now + chrono::Duration::milliseconds(config.processing_delay.as_millis() as i64);
    for payload in payloads {
        state.log.push(LogEntry {
            kind: kind_of(job),
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
    state: &mut SimState,
    job: Job,
    detail: &'static str,
    payload: Value,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> String {
    let request_id = new_uuid();
    let (status, results) = outcome_parts(outcome);
    state.log.push(LogEntry {
        kind: kind_of(job),
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

fn kind_of(job: Job) -> LogKind {
    match job {
        Job::Acknowledge | Job::Shipment | Job::Cancel => LogKind::Order,
        Job::Inventory { .. } => LogKind::Inventory,
        Job::Invoice => LogKind::Invoice,
    }
}

fn outcome_parts(outcome: &Outcome) -> (&'static str, Vec<Value>) {
    match outcome {
        Ok(info) => ("success", info.clone()),
        Err(problems) => ("failure", super::orders::error_results(problems)),
    }
}

/// Process every pending entry whose due time has come.
pub(crate) fn process_due(state: &mut SimState, config: &DscoSimConfig, now: DateTime<Utc>) {
    for index in 0..state.log.len() {
        let entry = &state.log[index];
        if entry.status != "pending" || entry.due > now {
            continue;
        }
        let job = entry.job;
        let payload = entry.payload.clone();
        let outcome = match job {
            Job::Acknowledge => acknowledge::apply(state, &payload, now),
            Job::Shipment => shipments::apply(state, config, &payload, now),
            Job::Cancel => cancel::apply(state, &payload, now),
            Job::Inventory { skip_unknown } => inventory::apply(state, &payload, skip_unknown, now),
            Job::Invoice => invoices::apply(state, &payload, now),
        };
        let (status, results) = outcome_parts(&outcome);
        let entry = &mut state.log[index];
        entry.status = status;
        entry.results = results;
        entry.date_processed = Some(now);
    }
}

/// `202 {status:"pending", requestId, eventDate, messages:[]}` (AsyncUpdateResponse, §1.7).
pub(crate) fn accepted(request_id: &str, now: DateTime<Utc>) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(update_response("pending", request_id, now, Vec::new())),
    )
        .into_response()
}

pub(crate) async fn order_log(State(sim): State<DscoSim>, RawQuery(q): RawQuery) -> Response {
    search(&sim, LogKind::Order, q.as_deref())
}

pub(crate) async fn inventory_log(State(sim): State<DscoSim>, RawQuery(q): RawQuery) -> Response {
    search(&sim, LogKind::Inventory, q.as_deref())
}

pub(crate) async fn invoice_log(State(sim): State<DscoSim>, RawQuery(q): RawQuery) -> Response {
    search(&sim, LogKind::Invoice, q.as_deref())
}

/// The change-log search shared by the three logs (dsco-api.md §1.8).
fn search(sim: &DscoSim, kind: LogKind, query: Option<&str>) -> Response {
    let params = Params::parse(query);
    let now = sim.clock().now();
    sim.with_state(|state, config| {
        if let Some(scroll_id) = params.get("scrollId") {
            return match state.next_page(scroll_id, "logs", now) {
                Some(page) => Json(page).into_response(),
                None => not_found("the scrollId is unknown or has expired"),
            };
        }
        let wanted: &[&str] = match params.get("status") {
            None => &["pending", "success", "failure"],
            Some("pending") => &["pending"],
            Some("success") => &["success"],
            Some("failure") => &["failure"],
            Some("success_or_failure") => &["success", "failure"],
            Some(other) => {
                return bad_request(&format!(
                    "status {other} is not one of pending, success, failure, success_or_failure"
                ));
            }
        };
        let request_id = params.get("requestId");
        let window = match (params.get("startDate"), params.get("endDate")) {
            (Some(start), Some(end)) => match (parse_date(start), parse_date(end)) {
                (Some(s), Some(e)) => Some((s, e)),
                _ => return bad_request("startDate and endDate must be ISO 8601 date-times"),
            },
            (None, None) if request_id.is_some() => None,
            _ => return bad_request("requestId, or both startDate and endDate, are required"),
        };
        let of_kind = || state.log.iter().filter(|e| e.kind == kind);
        let flag = request_id.map(|id| {
            let mine: Vec<&LogEntry> = of_kind().filter(|e| e.request_id == id).collect();
            // guess: an unknown (or not yet visible) request id reads as still processing, as
            // DSCO says an empty log right after a batch means "not processed yet" (§1.8).
            if mine.is_empty() || mine.iter().any(|e| e.status == "pending") {
                "PROCESSING"
            } else {
                "COMPLETED"
            }
        });
        let logs: Vec<Value> = of_kind()
            .filter(|e| request_id.is_none_or(|id| e.request_id == id))
            .filter(|e| window.is_none_or(|(s, end)| e.date() >= s && e.date() < end))
            .filter(|e| wanted.contains(&e.status))
            .map(LogEntry::to_json)
            .collect();
        let per_page = config.log_page_size;
        Json(state.start_scroll(logs, per_page, "logs", flag, now)).into_response()
    })
}
