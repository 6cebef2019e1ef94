//! Inventory (dsco-api.md §4): `GET /inventory`, `POST /inventory/singleItem` (201),
//! `POST /inventory/batch/small` (202, outcome in `/inventory/log`), the sum/warehouse rules,
//! status inference and the auto-decrement applied when an order arrives.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::DscoSim;
use super::catalog::ItemLookup;
use super::changelog::{self, Job, Outcome};
use super::http::{Params, message, parse_array, parse_object};
use super::shipments::sync_answer;
use super::state::{State as SimState, fmt_date, text};

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
    let items = match parse_array(&body) {
        Ok(items) => items,
        Err(response) => return *response,
    };
    let now = sim.clock().now();
    sim.with_state(|state, config| {
        let job = Job::Inventory { skip_unknown };
        let id = changelog::submit(state, config, job, "updateInventorySmallBatch", items, now);
        changelog::accepted(&id, now)
    })
}

pub(crate) async fn single(State(sim): State<DscoSim>, body: Bytes) -> Response {
    let object = match parse_object(&body) {
        Ok(object) => object,
        Err(response) => return *response,
    };
    let now = sim.clock().now();
    sim.with_state(|state, _| {
        let outcome = apply(state, &object, false, now);
        let job = Job::Inventory {
            skip_unknown: false,
        };
        let request_id = changelog::record(state, job, "singleItem", object, &outcome, now);
        sync_answer(outcome, &request_id, now)
    })
}

/// The status DSCO stores for a submitted status and quantity (dsco-api.md §4.3).
pub(crate) fn infer_status(submitted: Option<&str>, available: i64) -> &'static str {
    match submitted {
        Some("in-stock") | None if available <= 0 => "out-of-stock",
        Some("out-of-stock") | Some("discontinued") | None if available > 0 => "in-stock",
        Some("discontinued") => "discontinued",
        Some("hidden") => "hidden",
        Some("in-stock") => "in-stock",
        _ => "out-of-stock",
    }
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

/// Auto-decrement (dsco-api.md §4.3): an incoming order lowers the item's quantity, first in the
/// requested warehouse, then in the others in order, never below zero.
// guess: the KB gives neither the warehouse the units come from nor a floor; we take them from
// the line's warehouse first and stop at zero (dsco-api.md §4.3).
pub(crate) fn auto_decrement(
    state: &mut SimState,
    sku: &str,
    quantity: i64,
    warehouse_code: Option<String>,
    now: DateTime<Utc>,
) {
    let Some(record) = state.inventory.get_mut(sku) else {
        return;
    };
    let mut left = quantity.max(0);
    if let Some(warehouses) = record["warehouses"].as_array_mut() {
        let mut order: Vec<usize> = (0..warehouses.len()).collect();
        if let Some(code) = &warehouse_code {
            order.sort_by_key(|i| warehouses[*i]["code"].as_str() != Some(code.as_str()));
        }
        for i in order {
            let have = warehouses[i]["quantity"].as_i64().unwrap_or(0);
            let take = have.min(left).max(0);
            warehouses[i]["quantity"] = json!(have - take);
            left -= take;
        }
    }
    let sum: i64 = record["warehouses"]
        .as_array()
        .map_or(0, |w| w.iter().filter_map(|x| x["quantity"].as_i64()).sum());
    record["quantityAvailable"] = json!(sum);
    let status = record["status"].as_str().map(str::to_owned);
    record["status"] = json!(infer_status(status.as_deref(), sum));
    record["dscoLastQuantityUpdateDate"] = json!(fmt_date(now));
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

#[cfg(test)]
mod tests {
    use super::infer_status;

    #[test]
    fn status_follows_quantity_as_the_kb_describes() {
        let check = |submitted: Option<&str>, available: i64, expected: &str| {
            assert_eq!(
                infer_status(submitted, available),
                expected,
                "{submitted:?} {available}"
            );
        };
        check(Some("in-stock"), 0, "out-of-stock");
        check(Some("in-stock"), 3, "in-stock");
        check(Some("out-of-stock"), 3, "in-stock");
        check(Some("discontinued"), 3, "in-stock");
        check(Some("discontinued"), 0, "discontinued");
        check(Some("out-of-stock"), 0, "out-of-stock");
        check(Some("hidden"), 5, "hidden");
        check(None, 0, "out-of-stock");
        check(None, 2, "in-stock");
    }
}
