//! Order Row POST — `POST /order-service/order/{ORDER-ID}/row` (brightpearl-api.md §4.2): one
//! row added to an existing order, as a person or another tool adds a product after the order
//! was made. Body as recorded: `productId` (or `productName` for a free-text row), `quantity`
//! `{"magnitude"}`, `rowValue` `{"taxCode", "rowNet": {"value"}, "rowTax": {"value"}}`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::input::{id_of, text};
use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::request::{Outcome, Req, plain, single_id};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::OrderRow;
use crate::sandbox::brightpearl::wire::{self, Fixed};
use crate::sandbox::common::lock;

pub(super) fn post_row(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let mut state = lock(&inner.state);
    let Some(order_id) = single_id(Some(id)).filter(|id| state.orders.contains_key(id)) else {
        return plain(wire::not_found(format!("Order {id} not found")));
    };
    let product = match body.get("productId").filter(|v| !v.is_null()) {
        Some(value) => match id_of(value).and_then(|id| state.products.get(&id)) {
            Some(product) => Some(product.clone()),
            None => {
                return plain(wire::bad_request(
                    "ORDC-014",
                    format!("productId {value} does not exist"),
                ));
            }
        },
        None => None,
    };
    // The name overrides the product's when both are sent (§4.2).
    let name = body.get("productName").and_then(text);
    if product.is_none() && name.is_none() {
        return plain(wire::bad_request(
            "ORDC-015",
            "productId or productName is required",
        ));
    }
    let quantity = body
        .pointer("/quantity/magnitude")
        .and_then(Fixed::from_json)
        .filter(|q| q.0 > 0);
    let Some(quantity) = quantity else {
        return plain(wire::error(
            StatusCode::BAD_REQUEST,
            "ORDC-017",
            "quantity.magnitude is missing or not a positive number",
        ));
    };
    let value = body.get("rowValue").cloned().unwrap_or(Value::Null);
    let tax_code = value.get("taxCode").and_then(text).unwrap_or_default();
    let tax_rate = state
        .tax_codes
        .values()
        .find(|tax| tax.code == tax_code)
        .and_then(|tax| tax.rate)
        .unwrap_or_default();
    let net = value
        .pointer("/rowNet/value")
        .and_then(Fixed::from_json)
        .unwrap_or_default();
    let tax = value
        .pointer("/rowTax/value")
        .and_then(Fixed::from_json)
        .unwrap_or(Fixed((net.0 * tax_rate.0) / (100 * Fixed::SCALE)));
    let row_id = state.ids.next_row();
    let now = inner.now();
    let order = state.orders.get_mut(&order_id).expect("checked above");
    let sequence = order.rows.values().map(|r| r.sequence).max().unwrap_or(0) + 10;
    order.rows.insert(
        row_id,
        OrderRow {
            id: row_id,
            sequence,
            product_id: product.as_ref().map(|p| p.id),
            name: name
                .or_else(|| product.as_ref().map(|p| p.name.clone()))
                .unwrap_or_default(),
            sku: product.as_ref().map(|p| p.sku.clone()).unwrap_or_default(),
            quantity,
            net,
            tax,
            tax_code,
            tax_rate,
            nominal_code: "4000".into(),
            external_ref: body.get("externalRef").and_then(text),
            item_cost: product.as_ref().map(|p| p.cost).unwrap_or_default(),
        },
    );
    order.updated_on = Some(now);
    order.version += 1;
    (
        wire::ok(json!(row_id)),
        vec![Event::new("order.modified", order_id)],
    )
}

/// `DELETE /order-service/order/{ID}/row/{ROW-ID}` → `200 {}` (§4.2, recorded).
pub(super) fn delete_row(inner: &Inner, request: &Req, id: &str, row: &str) -> Outcome {
    let mut state = lock(&inner.state);
    let now = inner.now();
    let (Some(order_id), Some(row_id)) = (single_id(Some(id)), single_id(Some(row))) else {
        return plain(request.not_found());
    };
    let Some(order) = state.orders.get_mut(&order_id) else {
        return plain(wire::not_found(format!("Order {id} not found")));
    };
    if order.rows.remove(&row_id).is_none() {
        return plain(wire::not_found(format!(
            "Order row {row_id} not found on order {order_id}"
        )));
    }
    order.updated_on = Some(now);
    order.version += 1;
    (wire::empty(), vec![Event::new("order.modified", order_id)])
}

/// `PATCH /order-service/order/{ID}/row/{ROW-ID}` with JSON-patch `replace` operations
/// (§4.2, recorded for `/rowValue/rowNet/value`; guess: `/quantity/magnitude` and
/// `/rowValue/rowTax/value` patch the same way; tax is recomputed when only the net changes).
/// Answers the row.
pub(super) fn patch_row(inner: &Inner, request: &Req, id: &str, row: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let Some(ops) = body.as_array() else {
        return plain(wire::bad_request(
            "CMNC-006",
            "the body must be an array of patch operations",
        ));
    };
    let mut state = lock(&inner.state);
    let now = inner.now();
    let (Some(order_id), Some(row_id)) = (single_id(Some(id)), single_id(Some(row))) else {
        return plain(request.not_found());
    };
    let Some(order) = state.orders.get_mut(&order_id) else {
        return plain(wire::not_found(format!("Order {id} not found")));
    };
    let Some(current) = order.rows.get(&row_id).cloned() else {
        return plain(wire::not_found(format!(
            "Order row {row_id} not found on order {order_id}"
        )));
    };
    let mut next = current;
    let mut tax_given = false;
    for op in ops {
        let (Some("replace"), Some(path), Some(value)) = (
            op.get("op").and_then(Value::as_str),
            op.get("path").and_then(Value::as_str),
            op.get("value").and_then(Fixed::from_json),
        ) else {
            return plain(wire::bad_request(
                "CMNC-006",
                format!("unsupported patch operation {op}"),
            ));
        };
        match path {
            "/quantity/magnitude" if value.0 > 0 => next.quantity = value,
            "/rowValue/rowNet/value" => next.net = value,
            "/rowValue/rowTax/value" => {
                next.tax = value;
                tax_given = true;
            }
            _ => {
                return plain(wire::bad_request(
                    "CMNC-006",
                    format!("cannot replace {path} with {value:?}"),
                ));
            }
        }
    }
    if !tax_given {
        next.tax = Fixed((next.net.0 * next.tax_rate.0) / (100 * Fixed::SCALE));
    }
    order.rows.insert(row_id, next.clone());
    order.updated_on = Some(now);
    order.version += 1;
    let answer = json!({
        "id": row_id,
        "quantity": {"magnitude": next.quantity.format(4)},
        "rowValue": {"rowNet": {"value": next.net.format(4)}, "rowTax": {"value": next.tax.format(4)}},
    });
    (
        wire::ok(answer),
        vec![Event::new("order.modified", order_id)],
    )
}
