//! Inventory (dsco-api.md §4): `GET /inventory`, `POST /inventory/singleItem` (201),
//! `POST /inventory/batch/small` (202, outcome in `/inventory/log`) and the sum/warehouse rules.
//! Status inference and the auto-decrement applied when an order arrives are `stock.rs`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::catalog::ItemLookup;
use super::changelog::{self, Answer};
use super::http::{Params, message};
use super::jobs::{Job, Outcome};
use super::sim::DscoSim;
use super::state::{State as SimState, fmt_date, text};
use super::stock::infer_status;

const STATUSES: [&str; 4] = ["in-stock", "out-of-stock", "discontinued", "hidden"];
pub(crate) async fn get_one(State(sim): State<DscoSim>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let lookup = match ItemLookup::parse(&params) {
        Ok(lookup) => lookup,
        Err(refusal) => return refusal,
    };
    sim.with_state(|state, _| lookup.answer("inventory", state.inventory.values()))
}

pub(crate) async fn batch(
    State(sim): State<DscoSim>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let skip_unknown = Params::parse(query.as_deref()).flag("skipItemsThatDontExist");
    let job = Job::Inventory { skip_unknown };
    changelog::endpoint(job, "updateInventorySmallBatch").batch(&sim, &body)
}

/// `POST /inventory/singleItem`: applied at once, 201 `{"success": true}`.
pub(crate) async fn single(State(sim): State<DscoSim>, body: Bytes) -> Response {
    let job = Job::Inventory {
        skip_unknown: false,
    };
    changelog::endpoint(job, "singleItem").apply_now(&sim, &body, Answer::Created)
}

/// Apply one `ItemInventory` update.
pub(crate) fn apply(
    state: &mut SimState,
    payload: &Value,
    skip_unknown: bool,
    now: DateTime<Utc>,
) -> Outcome {
    let sku = text(&payload["sku"]).ok_or_else(|| vec!["sku is required".to_owned()])?;
    let Some(item) = state.catalog.get(&sku).cloned() else {
        if skip_unknown {
            // guess: a skipped SKU is logged as a success carrying an info message (§4.1).
            return Ok(vec![message(
                "ITEM_SKIPPED",
                "info",
                &format!("sku {sku} does not exist and was skipped"),
            )]);
        }
        return Err(vec![format!("sku {sku} does not exist")]);
    };
    let mut problems = Vec::new();
    let warehouses = payload["warehouses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if warehouses.is_empty() {
        problems.push("warehouses is required: at least one warehouse entry".to_owned());
    }
    let known_codes: Vec<String> = state
        .warehouses
        .iter()
        .filter_map(|w| text(&w["code"]))
        .collect();
    let mut sum = 0;
    for warehouse in &warehouses {
        let Some(code) = text(&warehouse["code"]) else {
            problems.push(format!("warehouses[].code is required in {warehouse}"));
            continue;
        };
        // guess: a warehouse code the account does not have fails the item (dsco-api.md §6).
        if !known_codes.is_empty() && !known_codes.contains(&code) {
            problems.push(format!("unknown warehouse code {code}"));
        }
        match warehouse["quantity"].as_i64() {
            Some(q) if q >= 0 => sum += q,
            _ => problems.push(format!(
                "warehouse {code}: quantity must be a non-negative integer"
            )),
        }
    }
    let available = match payload["quantityAvailable"].as_i64() {
        Some(q) => q,
        None => {
            problems.push("quantityAvailable is required".to_owned());
            sum
        }
    };
    if payload["quantityAvailable"].is_i64() && available != sum {
        problems.push(format!(
            "quantityAvailable {available} does not equal the sum of the warehouse quantities {sum}"
        ));
    }
    let submitted_status = payload["status"].as_str();
    if let Some(s) = submitted_status
        && !STATUSES.contains(&s)
    {
        problems.push(format!("status {s} is not one of {}", STATUSES.join(", ")));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut record = state
        .inventory
        .get(&sku)
        .cloned()
        .unwrap_or_else(|| json!({"dscoCreateDate": fmt_date(now)}));
    if let (Some(target), Some(source)) = (record.as_object_mut(), payload.as_object()) {
        for (k, v) in source {
            target.insert(k.clone(), v.clone());
        }
    }
    for key in ["dscoItemId", "upc", "ean", "mpn", "title"] {
        if record[key].is_null() {
            record[key] = item[key].clone();
        }
    }
    record["status"] = json!(infer_status(submitted_status, available));
    record["dscoLastQuantityUpdateDate"] = json!(fmt_date(now));
    record["dscoLastUpdateDate"] = json!(fmt_date(now));
    state.inventory.insert(sku, record);
    Ok(Vec::new())
}

impl DscoSim {
    /// Apply one `ItemInventory` as `POST /inventory/singleItem` would (same rules), for scenarios.
    pub fn set_inventory(&self, item: Value) -> Result<(), Vec<String>> {
        let now = self.clock().now();
        self.with_state(|state, _| apply(state, &item, false, now).map(|_| ()))
    }

    /// Every inventory record (`ItemInventory`).
    pub fn inventory(&self) -> Vec<Value> {
        self.with_state(|state, _| state.inventory.values().cloned().collect())
    }
}
