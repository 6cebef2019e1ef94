//! Shipments (dsco-api.md §3): `POST /order/singleShipment` (synchronous, 201) and
//! `POST /order/shipment/batch/small` (202, outcome in `/order/log`). A shipment becomes a
//! `packages[]` entry with a generated `dscoPackageId` and moves line and order state (§2.3).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::changelog::{self, Answer};
use super::config::DscoSimConfig;
use super::jobs::{Job, Outcome};
use super::lines::{activity, find_line, item_conflict, open_quantity, recompute};
use super::sim::DscoSim;
use super::state::{State as SimState, fmt_date, parse_date, quantity, text};

pub(crate) async fn batch(State(sim): State<DscoSim>, body: Bytes) -> Response {
    changelog::endpoint(Job::Shipment, "createShipmentSmallBatch").batch(&sim, &body)
}

/// `POST /order/singleShipment`: applied at once, 201 `{"success": true}`.
pub(crate) async fn single(State(sim): State<DscoSim>, body: Bytes) -> Response {
    changelog::endpoint(Job::Shipment, "singleShipment").apply_now(&sim, &body, Answer::Created)
}

/// Record one `ShipmentsForUpdate` on its order; all of its packages or none.
pub(crate) fn apply(
    state: &mut SimState,
    config: &DscoSimConfig,
    payload: &Value,
    now: DateTime<Utc>,
) -> Outcome {
    let id = state
        .resolve_order_by_fields(payload)
        .map_err(|e| vec![e])?;
    let shipments = payload["shipments"]
        .as_array()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| vec!["shipments is required and must not be empty".to_owned()])?
        .clone();
    let mut package_ids = Vec::new();
    for _ in &shipments {
        package_ids.push(state.new_package_id());
    }
    let order = state.orders.get_mut(&id).expect("resolved above");
    // guess: shipping an order that was never acknowledged is accepted (and moves it to
    // shipment_pending or shipped); the server's behaviour is unconfirmed (dsco-api.md §8 item 7).
    if order["dscoStatus"].as_str() == Some("cancelled") {
        return Err(vec![format!("order {id} is cancelled")]);
    }
    let mut working = order.clone();
    let mut problems = Vec::new();
    for (shipment, package_id) in shipments.iter().zip(package_ids) {
        if let Err(mut more) = add_package(&mut working, config, shipment, package_id, now) {
            problems.append(&mut more);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    recompute(&mut working, now);
    *order = working;
    Ok(Vec::new())
}

fn add_package(
    order: &mut Value,
    config: &DscoSimConfig,
    shipment: &Value,
    package_id: u64,
    now: DateTime<Utc>,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let untracked = shipment["untracked"].as_bool() == Some(true);
    let tracking = text(&shipment["trackingNumber"]);
    if tracking.is_none() && !untracked {
        problems.push("trackingNumber is required (or untracked: true)".to_owned());
    }
    if let Some(t) = &tracking {
        // guess: re-sending a tracking number already on the order fails; the reference leaves
        // it unconfirmed (dsco-api.md §3.2).
        let known = order["packages"].as_array().is_some_and(|p| {
            p.iter()
                .any(|pkg| pkg["trackingNumber"].as_str() == Some(t.as_str()))
        });
        if known {
            problems.push(format!(
                "tracking number {t} is already recorded on this order"
            ));
        }
    }
    match text(&shipment["shippingServiceLevelCode"]) {
        Some(code) if config.order_only_service_levels.contains(&code) => problems.push(format!(
            "shippingServiceLevelCode {code} is an order-level code and cannot be used on a package"
        )),
        Some(code) if !config.shipment_service_levels.contains(&code) => {
            problems.push(format!("unknown shippingServiceLevelCode {code}"))
        }
        Some(_) => {}
        // guess: without a code, carrier and method are both needed ("service level code, or
        // carrier + method", dsco-api.md §3.1).
        None if text(&shipment["shipCarrier"]).is_none()
            || text(&shipment["shipMethod"]).is_none() =>
        {
            problems.push(
                "shippingServiceLevelCode, or shipCarrier and shipMethod, are required".to_owned(),
            )
        }
        None => {}
    }
    let ship_date = match &shipment["shipDate"] {
        Value::Null => now,
        Value::String(raw) => match parse_date(raw) {
            Some(at) => at,
            None => {
                problems.push(format!("shipDate {raw} is not an ISO 8601 date-time"));
                now
            }
        },
        other => {
            problems.push(format!("shipDate {other} is not an ISO 8601 date-time"));
            now
        }
    };
    let lines = shipment["lineItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if lines.is_empty() {
        problems.push("lineItems is required and must not be empty".to_owned());
    }
    let reason = format!(
        "Tracking # {} added",
        tracking.clone().unwrap_or_else(|| "untracked".into())
    );
    let mut items = Vec::new();
    for wanted in &lines {
        let qty = quantity(&wanted["quantity"]).unwrap_or(0);
        if qty < 1 {
            problems.push(format!("quantity must be at least 1 in {wanted}"));
            continue;
        }
        if !["dscoItemId", "sku", "partnerSku", "upc", "ean"]
            .iter()
            .any(|k| text(&wanted[*k]).is_some())
        {
            problems.push(format!(
                "one of dscoItemId, sku, partnerSku, upc, ean is required in {wanted}"
            ));
            continue;
        }
        let Some(index) = find_line(order, wanted) else {
            problems.push(format!("no line of the order matches {wanted}"));
            continue;
        };
        let line = &mut order["lineItems"][index];
        if let Some(conflict) = item_conflict(line, wanted) {
            problems.push(conflict);
            continue;
        }
        let open = open_quantity(line);
        // guess: shipping more than a line's open units fails (dsco-api.md §3.2).
        if qty > open {
            problems.push(format!(
                "line {}: cannot ship {qty} units, only {open} are open",
                line["lineNumber"]
            ));
            continue;
        }
        let shipped = quantity(&line["shippedQuantity"]).unwrap_or(0) + qty;
        line["shippedQuantity"] = json!(shipped);
        if line["acceptedQuantity"].is_null() {
            let q = quantity(&line["quantity"]).unwrap_or(0);
            let gone = quantity(&line["cancelledQuantity"]).unwrap_or(0)
                + quantity(&line["rejectedQuantity"]).unwrap_or(0);
            line["acceptedQuantity"] = json!(q - gone);
        }
        line["status"] = json!("accepted");
        line["statusReason"] = json!(reason);
        line["acceptedReason"] = json!(reason);
        if let Some(list) = line["activity"].as_array_mut() {
            list.push(activity("ship", Some(qty), Some(&reason), now));
        }
        items.push(json!({
            "lineNumber": line["lineNumber"],
            "sku": line["sku"],
            "partnerSku": line["partnerSku"],
            "dscoItemId": line["dscoItemId"],
            "upc": line["upc"],
            "ean": line["ean"],
            "quantity": qty,
            "originalOrderQuantity": line["quantity"],
            "packageSpanFlag": wanted["packageSpanFlag"].as_bool().unwrap_or(false),
            "serialNumbers": wanted["serialNumbers"],
            "retailerLineId": line["retailerLineId"],
            "retailerItemIds": line["retailerItemIds"],
        }));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let ship_to = {
        let s = &order["shipping"];
        json!({"name": s["name"], "address": s["address"], "city": s["city"], "region": s["region"],
               "postal": s["postal"], "country": s["country"]})
    };
    let package = json!({
        "trackingNumber": tracking,
        "untracked": untracked,
        "trackingUrl": shipment["trackingUrl"],
        "shipCarrier": shipment["shipCarrier"],
        "shipMethod": shipment["shipMethod"],
        "shippingServiceLevelCode": shipment["shippingServiceLevelCode"],
        "shipDate": fmt_date(ship_date),
        "shipCost": shipment["shipCost"],
        "currencyCode": shipment["currencyCode"],
        "shipWeight": shipment["shipWeight"],
        "shipWeightUnits": shipment["shipWeightUnits"],
        "carrierManifestId": shipment["carrierManifestId"],
        "ssccBarcode": shipment["ssccBarcode"],
        "warehouseCode": shipment["warehouseCode"],
        "dscoPackageId": package_id,
        "returnedFlag": false,
        "packageShipFrom": if shipment["shipFrom"].is_object() { shipment["shipFrom"].clone() } else { json!({}) },
        "packageShipTo": ship_to,
        "numberOfLineItems": items.len(),
        "items": items,
    });
    if !order["packages"].is_array() {
        order["packages"] = json!([]);
    }
    if let Some(packages) = order["packages"].as_array_mut() {
        packages.push(package);
    }
    Ok(())
}
