//! `POST /order/acknowledge` (dsco-api.md §2.5): a bare array of `OrderId`, answered 202; each
//! acknowledgement is applied later and reported in `/order/log`.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::changelog;
use super::jobs::{Job, Outcome};
use super::lines::{activity, open_quantity};
use super::sim::DscoSim;
use super::state::{State as SimState, fmt_date, quantity, text};

pub(crate) async fn batch(State(sim): State<DscoSim>, body: Bytes) -> Response {
    changelog::endpoint(Job::Acknowledge, "acknowledgeOrders").batch(&sim, &body)
}

/// Acknowledge one order: created → acknowledged / shipment_pending, `supplierOrderNumber` stored,
/// each line's `acceptedQuantity` set to its open quantity.
pub(crate) fn apply(state: &mut SimState, payload: &Value, now: DateTime<Utc>) -> Outcome {
    let id = state.resolve_order_by_type(payload).map_err(|e| vec![e])?;
    let supplier_order_number = text(&payload["supplierOrderNumber"]);
    let order = state.orders.get_mut(&id).expect("resolved above");
    let status = order["dscoStatus"].as_str().unwrap_or("created").to_owned();
    // guess: acknowledging a cancelled order fails; re-acknowledging an acknowledged or shipped
    // order succeeds and only updates supplierOrderNumber (dsco-api.md §10).
    if status == "cancelled" {
        return Err(vec![format!(
            "order {id} is cancelled and cannot be acknowledged"
        )]);
    }
    if let Some(number) = supplier_order_number {
        order["supplierOrderNumber"] = json!(number);
    }
    if status == "created" {
        order["dscoStatus"] = json!("shipment_pending");
        order["dscoLifecycle"] = json!("acknowledged");
        if let Some(lines) = order["lineItems"].as_array_mut() {
            for line in lines.iter_mut() {
                let accepted =
                    open_quantity(line) + quantity(&line["shippedQuantity"]).unwrap_or(0);
                line["acceptedQuantity"] = json!(accepted);
                if let Some(list) = line["activity"].as_array_mut() {
                    list.push(activity("accept", Some(accepted), None, now));
                }
            }
        }
    }
    order["dscoLastUpdate"] = json!(fmt_date(now));
    Ok(Vec::new())
}
