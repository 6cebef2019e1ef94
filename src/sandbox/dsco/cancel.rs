//! Supplier line cancellation (dsco-api.md §2.6): `POST /order/item/cancel` (one `OrderForCancel`,
//! synchronous, answered with the update-response shape) and `POST /order/item/cancel/batch/small`
//! (array, 202, outcome in `/order/log`).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::changelog::{self, Answer};
use super::jobs::{Job, Outcome};
use super::lines::{cancel_units, find_line, item_conflict, recompute};
use super::sim::DscoSim;
use super::state::{State as SimState, quantity, text};

/// Cancel codes of dsco-api.md §2.6 (supplier and retailer; the server did not enforce the
/// initiator when [JAVA] was written).
pub const CANCEL_CODES: [&str; 13] = [
    "CXSS", "CXSD", "CXSN", "CXSB", "CXSI", "CXST", "CXSC", "CXSO", "CXRR", "CXRF", "CXRN", "CXLS",
    "CXRO",
];

pub(crate) async fn batch(State(sim): State<DscoSim>, body: Bytes) -> Response {
    changelog::endpoint(Job::Cancel, "cancelOrderItemSmallBatch").batch(&sim, &body)
}

/// `POST /order/item/cancel`: processed at once, `200 {status:"success", requestId, eventDate,
/// messages}`; a refused cancel answers 400 with `status:"failure"`.
pub(crate) async fn single(State(sim): State<DscoSim>, body: Bytes) -> Response {
    // guess: 400 with the same shape for a refused cancel (dsco-api.md §1.4).
    changelog::endpoint(Job::Cancel, "cancelOrderItem").apply_now(&sim, &body, Answer::Success)
}

/// Apply one `OrderForCancel`; all of its lines or none.
pub(crate) fn apply(state: &mut SimState, payload: &Value, now: DateTime<Utc>) -> Outcome {
    let id = state.resolve_order_by_type(payload).map_err(|e| vec![e])?;
    let order = state.orders.get_mut(&id).expect("resolved above");
    match order["dscoStatus"].as_str() {
        Some("shipped") | Some("cancelled") => {
            return Err(vec![format!(
                "order {id} is {} and cannot be cancelled",
                order["dscoStatus"].as_str().unwrap_or_default()
            )]);
        }
        _ => {}
    }
    let lines = payload["lineItems"]
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| vec!["lineItems is required and must not be empty".to_owned()])?;
    let mut working = order.clone();
    let mut problems = Vec::new();
    for wanted in lines {
        let Some(qty) = quantity(&wanted["cancelledQuantity"]) else {
            problems.push(format!("cancelledQuantity is required in {wanted}"));
            continue;
        };
        let Some(code) = text(&wanted["cancelCode"]) else {
            problems.push(format!("cancelCode is required in {wanted}"));
            continue;
        };
        if !CANCEL_CODES.contains(&code.as_str()) {
            problems.push(format!("unknown cancelCode {code}"));
            continue;
        }
        if !["dscoItemId", "sku", "upc", "ean", "partnerSku"]
            .iter()
            .any(|k| text(&wanted[*k]).is_some())
        {
            problems.push(format!(
                "one of dscoItemId, sku, upc, ean, partnerSku is required in {wanted}"
            ));
            continue;
        }
        let Some(index) = find_line(&working, wanted) else {
            problems.push(format!("no line of the order matches {wanted}"));
            continue;
        };
        if let Some(conflict) = item_conflict(&working["lineItems"][index], wanted) {
            problems.push(conflict);
            continue;
        }
        let reason = text(&wanted["cancelledReason"]);
        if let Err(problem) = cancel_units(
            &mut working,
            index,
            Some(qty),
            &code,
            reason.as_deref(),
            now,
        ) {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    recompute(&mut working, now);
    *order = working;
    Ok(Vec::new())
}
