//! Read-only lookups (brightpearl-api.md §4.6, §4.8, §4.12, §4.13, §4.18): warehouses, shipping
//! methods, order statuses, channels, price lists, tax codes, sales custom-field metadata.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use super::request::{Outcome, Req, id_set, plain};
use super::sim::Inner;
use super::state::State;
use super::wire;
use crate::sandbox::common::lock;

/// `accounting-service` routes.
pub fn route_accounting(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    plain(match (&request.method, segments.as_slice()) {
        (&Method::GET, ["tax-code", rest @ ..]) => tax_codes(inner, rest.first().copied()),
        _ => request.not_found(),
    })
}

/// Items of `map` named by the ID set; an empty answer is a 404.
// guess: lookups answer 404 CMNC-404 when the ID set matches nothing (brightpearl-api.md §1.7)
fn list<T>(
    map: &BTreeMap<u32, T>,
    ids: Option<&str>,
    what: &str,
    render: impl Fn(&T) -> Value,
) -> Response {
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let items: Vec<Value> = set
        .select(map.keys().copied())
        .into_iter()
        .filter_map(|id| map.get(&id))
        .map(render)
        .collect();
    if items.is_empty() && ids.is_some() {
        return wire::not_found(format!("No {what} found"));
    }
    wire::ok(Value::Array(items))
}

pub fn warehouses(inner: &Inner, ids: Option<&str>) -> Response {
    let state = lock(&inner.state);
    list(&state.warehouses, ids, "warehouses", Value::clone)
}

pub fn shipping_methods(inner: &Inner, ids: Option<&str>) -> Response {
    let state = lock(&inner.state);
    list(
        &state.shipping_methods,
        ids,
        "shipping methods",
        Value::clone,
    )
}

pub fn channels(inner: &Inner, ids: Option<&str>) -> Response {
    let state = lock(&inner.state);
    list(&state.channels, ids, "channels", Value::clone)
}

pub fn price_lists(inner: &Inner, ids: Option<&str>) -> Response {
    let state = lock(&inner.state);
    list(&state.price_lists, ids, "price lists", Value::clone)
}

pub fn order_statuses(inner: &Inner, ids: Option<&str>) -> Response {
    let state = lock(&inner.state);
    list(&state.order_statuses, ids, "order statuses", |status| {
        json!({
            "statusId": status.id,
            "name": status.name,
            "orderTypeCode": status.order_type_code,
            "sortOrder": status.id,
            "disabled": false,
            "visible": status.visible,
            "color": status.color,
            "remindAfterDays": 0,
            "alertEmails": [],
            "emailContent": "",
            "batchProcess": false,
            "state": status.state,
        })
    })
}

pub fn tax_codes(inner: &Inner, ids: Option<&str>) -> Response {
    let state = lock(&inner.state);
    list(&state.tax_codes, ids, "tax codes", |tax| {
        // `rate` is a JSON number, absent when the code has none (§4.18).
        let mut out = json!({"id": tax.id, "code": tax.code, "description": tax.description});
        if let Some(rate) = tax.rate {
            out["rate"] = serde_json::from_str(&rate.format(4)).unwrap_or(Value::Null);
        }
        out
    })
}

pub fn custom_field_meta(inner: &Inner, ids: Option<&str>) -> Response {
    let state = lock(&inner.state);
    let map: BTreeMap<u32, _> = state
        .custom_fields
        .iter()
        .map(|meta| (meta.id, meta.clone()))
        .collect();
    list(&map, ids, "custom fields", |meta| {
        let mut out = json!({
            "id": meta.id,
            "code": meta.code,
            "name": meta.name,
            "customFieldType": meta.field_type,
            "required": false,
        });
        if !meta.options.is_empty() {
            let options: Map<String, Value> = meta
                .options
                .iter()
                .map(|(id, value)| (id.to_string(), json!({"id": id, "value": value})))
                .collect();
            out["options"] = Value::Object(options);
        }
        out
    })
}

/// Everything as JSON, for the admin state dump.
pub fn dump(state: &State) -> Value {
    json!({
        "warehouses": state.warehouses.values().collect::<Vec<_>>(),
        "shippingMethods": state.shipping_methods.values().collect::<Vec<_>>(),
        "channels": state.channels.values().collect::<Vec<_>>(),
        "priceLists": state.price_lists.values().collect::<Vec<_>>(),
        "orderStatuses": state.order_statuses.values().map(|s| json!({"id": s.id, "name": s.name, "orderTypeCode": s.order_type_code})).collect::<Vec<_>>(),
        "taxCodes": state.tax_codes.values().map(|t| json!({"id": t.id, "code": t.code, "rate": t.rate.map(|r| r.format(4))})).collect::<Vec<_>>(),
        "defaultStatusId": state.default_status_id,
        "cancelledStatusId": state.cancelled_status_id,
        "invoicedStatusId": state.invoiced_status_id,
    })
}
