//! The change logs that report asynchronous work (dsco-api.md §1.6, §1.8): `GET /order/log`,
//! `/inventory/log`, `/invoice/log`, and [`endpoint`], the one skeleton of the write endpoints
//! whose outcome those logs report (acknowledge, shipments, item cancel, inventory, invoices).
//!
//! The queue itself is `queue.rs`; which module applies which job is `dsco/mod.rs`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::http::{
    Params, bad_request, created_success, not_found, parse_array, parse_object, update_response,
};
use super::jobs::{Job, LogEntry, LogKind, Outcome};
use super::queue::{error_results, record, submit};
use super::sim::DscoSim;
use super::state::{State as SimState, fmt_date, parse_date};

/// What differs between the write endpoints: the job they queue or apply, and the API operation
/// named in their change-log entries (`requestMethodDetail`).
pub(crate) struct Endpoint {
    job: Job,
    detail: &'static str,
}

/// How a single-object endpoint answers a success.
pub(crate) enum Answer {
    /// `201 {"success": true}` (SuccessFailResponse, §1.7).
    Created,
    /// `200 {status:"success", requestId, eventDate, messages:[]}` (the update-response shape).
    Success,
}

/// The endpoint that queues or applies `job`, logging it as `detail`.
pub(crate) fn endpoint(job: Job, detail: &'static str) -> Endpoint {
    Endpoint { job, detail }
}

impl Endpoint {
    /// A small batch (dsco-api.md §1.7): a bare non-empty array, one pending entry per object,
    /// answered 202 with the request id; each object is applied when due.
    pub(crate) fn batch(self, sim: &DscoSim, body: &[u8]) -> Response {
        let items = match parse_array(body) {
            Ok(items) => items,
            Err(response) => return *response,
        };
        let now = sim.clock().now();
        sim.with_state(|state, _| {
            let id = submit(state, self.job, self.detail, items, now);
            accepted(&id, now)
        })
    }

    /// One object applied at once; its outcome is logged as a processed entry. A failure answers
    /// 400 in the update-response shape with one message per problem.
    pub(crate) fn apply_now(self, sim: &DscoSim, body: &[u8], answer: Answer) -> Response {
        let object = match parse_object(body) {
            Ok(object) => object,
            Err(response) => return *response,
        };
        let now = sim.clock().now();
        let apply = sim.apply_job();
        sim.with_state(|state, config| {
            let outcome = apply(state, config, self.job, &object, now);
            let request_id = record(state, self.job, self.detail, object, &outcome, now);
            match (outcome, answer) {
                (Ok(_), Answer::Created) => created_success(),
                (Ok(_), Answer::Success) => {
                    Json(update_response("success", &request_id, now, Vec::new())).into_response()
                }
                (Err(problems), _) => refused(&problems, &request_id, now),
            }
        })
    }

    /// One object checked at once by `validate` and applied when due (201); refused objects are
    /// logged as failed entries and answered like [`Endpoint::apply_now`] refusals.
    pub(crate) fn validate_now(
        self,
        sim: &DscoSim,
        body: &[u8],
        validate: impl FnOnce(&SimState, &Value) -> Vec<String>,
    ) -> Response {
        let object = match parse_object(body) {
            Ok(object) => object,
            Err(response) => return *response,
        };
        let now = sim.clock().now();
        sim.with_state(|state, _| {
            let problems = validate(state, &object);
            if problems.is_empty() {
                submit(state, self.job, self.detail, vec![object], now);
                created_success()
            } else {
                let outcome: Outcome = Err(problems.clone());
                let request_id = record(state, self.job, self.detail, object, &outcome, now);
                refused(&problems, &request_id, now)
            }
        })
    }
}

/// 400 in the update-response shape with one message per problem.
// guess: the single endpoints' failure body (dsco-api.md §1.4: unconfirmed).
fn refused(problems: &[String], request_id: &str, now: DateTime<Utc>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(update_response(
            "failure",
            request_id,
            now,
            error_results(problems),
        )),
    )
        .into_response()
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
            .map(render)
            .collect();
        let per_page = config.log_page_size;
        Json(state.start_scroll(logs, per_page, "logs", flag, now)).into_response()
    })
}

fn render(entry: &LogEntry) -> Value {
    let mut payload = entry.payload.clone();
    // The log carries the payload's `id` as a string even when a number was sent (an
    // acknowledgement or cancel `{"id": 1022000001, "type": "DSCO_ORDER_ID"}` reads back with
    // `"id": "1022000001"`).
    if let Some(id) = payload.get_mut("id")
        && let Value::Number(number) = id
    {
        *id = Value::String(number.to_string());
    }
    json!({
        "payload": payload,
        // guess: `dateProcessed` is required by the schema, so a pending entry carries the
        // date its request was received (dsco-api.md §1.8).
        "dateProcessed": fmt_date(entry.date()),
        "status": entry.status,
        "requestMethod": "api",
        "requestMethodDetail": entry.detail,
        "requestId": entry.request_id,
        // No `processId`: it is set only for file-process changes, and every entry here is
        // API-made (dsco-api.md §1.8).
        "results": entry.results,
    })
}
