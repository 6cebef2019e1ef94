//! Order edits: custom fields GET and PATCH (brightpearl-api.md §4.8) and Order PATCH (§4.9).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::input::{id_of, text};
use super::render::{render_custom_fields, render_order};
use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::request::{Outcome, Req, plain, single_id};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::wire::{self, limits, too_long};
use crate::sandbox::common::lock;

pub(super) fn get_custom_fields(inner: &Inner, id: &str) -> Response {
    let state = lock(&inner.state);
    match single_id(Some(id)).and_then(|id| state.orders.get(&id)) {
        Some(order) => wire::ok(render_custom_fields(order)),
        None => wire::not_found(format!("Order {id} not found")),
    }
}

/// `PATCH /order/{id}/custom-field` (§4.8): JSON Patch on existing codes; SELECT takes `{id}` and
/// is stored as `{id, value}`.
pub(super) fn patch_custom_fields(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let Some(operations) = body.as_array() else {
        return plain(wire::bad_request(
            "CMNC-010",
            "A JSON Patch array is required",
        ));
    };
    let mut state = lock(&inner.state);
    let Some(order_id) = single_id(Some(id)).filter(|id| state.orders.contains_key(id)) else {
        return plain(wire::not_found(format!("Order {id} not found")));
    };
    let mut fields = state.orders[&order_id].custom_fields.clone();
    for operation in operations {
        let op = operation
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = operation
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let code = path.trim_start_matches('/');
        let Some(meta) = state.custom_fields.iter().find(|meta| meta.code == code) else {
            return plain(wire::bad_request(
                "ORDC-050",
                format!("Custom field {code} does not exist"),
            ));
        };
        match op {
            "remove" => {
                fields.remove(code);
            }
            "add" | "replace" => {
                let value = operation.get("value").cloned().unwrap_or(Value::Null);
                let stored = match meta.field_type.as_str() {
                    "SELECT" => {
                        let option = value.get("id").and_then(id_of);
                        match option.and_then(|id| meta.options.get(&id).map(|v| (id, v))) {
                            Some((id, label)) => json!({"id": id, "value": label}),
                            None => {
                                return plain(wire::bad_request(
                                    "ORDC-051",
                                    format!(
                                        "{value} is not an option of custom field {code}; send {{\"id\": optionId}}"
                                    ),
                                ));
                            }
                        }
                    }
                    "YESNO" if value.is_boolean() => value,
                    "INTEGER" if value.is_i64() => value,
                    "DATE" => match value.as_str().and_then(|text| inner.dates.parse(text)) {
                        Some(at) => json!(inner.dates.format(at)),
                        None => {
                            return plain(wire::bad_request(
                                "ORDC-051",
                                format!("{value} is not a date for custom field {code}"),
                            ));
                        }
                    },
                    "TEXT" | "TEXTAREA" if value.is_string() => value,
                    _ => {
                        return plain(wire::bad_request(
                            "ORDC-051",
                            format!(
                                "{value} is not a valid {} value for custom field {code}",
                                meta.field_type
                            ),
                        ));
                    }
                };
                fields.insert(code.to_owned(), stored);
            }
            // A disallowed op is a 500 CMNC-044 (§1.10).
            _ => {
                return plain(wire::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "CMNC-044",
                    format!("Invalid patch operation {op} for path {path}"),
                ));
            }
        }
    }
    let now = inner.now();
    let order = state.orders.get_mut(&order_id).expect("checked above");
    order.custom_fields = fields;
    order.version += 1;
    order.updated_on = Some(now);
    let order = order.clone();
    (
        wire::ok(render_custom_fields(&order)),
        vec![Event::new("order.modified", order_id)],
    )
}

/// `PATCH /order/{id}` (§4.9) for the paths the reference lists.
pub(super) fn patch_order(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let Some(operations) = body.as_array() else {
        return plain(wire::bad_request(
            "CMNC-010",
            "A JSON Patch array is required",
        ));
    };
    let mut state = lock(&inner.state);
    let Some(order_id) = single_id(Some(id)).filter(|id| state.orders.contains_key(id)) else {
        return plain(wire::not_found(format!("Order {id} not found")));
    };
    let mut order = state.orders[&order_id].clone();
    for operation in operations {
        let op = operation
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = operation
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let value = operation.get("value").cloned().unwrap_or(Value::Null);
        match (op, path) {
            ("replace", "/reference") => {
                let text = text(&value).unwrap_or_default();
                if let Some(message) = too_long("reference", &text, limits::ORDER_REF) {
                    return plain(wire::bad_request("ORDC-019", message));
                }
                order.reference = text;
            }
            ("remove", "/reference") => order.reference.clear(),
            ("replace", "/delivery/shippingMethodId") => match id_of(&value) {
                Some(id) if state.shipping_methods.contains_key(&id) => {
                    order.shipping_method_id = id
                }
                _ => {
                    return plain(wire::bad_request(
                        "ORDC-012",
                        format!("Shipping method {value} does not exist"),
                    ));
                }
            },
            ("remove", "/delivery/shippingMethodId") => order.shipping_method_id = 0,
            ("replace", "/delivery/deliveryDate") => {
                match value.as_str().and_then(|text| inner.dates.parse(text)) {
                    Some(at) => order.delivery_date = Some(at),
                    None => {
                        return plain(wire::bad_request(
                            "ORDC-020",
                            format!("{value} is not a date"),
                        ));
                    }
                }
            }
            _ => {
                return plain(wire::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "CMNC-044",
                    format!("Invalid patch operation {op} for path {path}"),
                ));
            }
        }
    }
    order.version += 1;
    order.updated_on = Some(inner.now());
    state.orders.insert(order_id, order.clone());
    (
        wire::ok(render_order(inner, &state, &order, false)),
        vec![Event::new("order.modified", order_id)],
    )
}
