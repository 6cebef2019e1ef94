//! Order status changes with the cancel rules (brightpearl-api.md §4.6) and order notes (§4.7).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::input::id_of;
use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::request::{Outcome, Req, id_set, plain, single_id};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::{OrderNote, State};
use crate::sandbox::brightpearl::wire::{self, limits, too_long};
use crate::sandbox::common::lock;

fn refusal(
    status: StatusCode,
    code: &'static str,
    message: String,
) -> (StatusCode, &'static str, String) {
    (status, code, message)
}

/// Change an order's status with the rules of §4.6; adds a note and fires
/// `order.modified.order-status`. Failures change nothing.
pub fn change_status(
    inner: &Inner,
    order_id: u32,
    status_id: u32,
    note: Option<(String, bool)>,
) -> Result<Vec<Event>, (StatusCode, &'static str, String)> {
    let now = inner.now();
    let mut state = lock(&inner.state);
    change_status_in(&mut state, now, order_id, status_id, note)
}

/// [`change_status`] on the state itself (the demo warehouse cancels from its ticker).
pub fn change_status_in(
    state: &mut State,
    now: chrono::DateTime<chrono::Utc>,
    order_id: u32,
    status_id: u32,
    note: Option<(String, bool)>,
) -> Result<Vec<Event>, (StatusCode, &'static str, String)> {
    let has_goods_out = state
        .goods_out
        .values()
        .any(|note| note.order_id == order_id)
        || state
            .drop_ship
            .values()
            .any(|note| note.order_id == order_id);
    let cancelled = state.cancelled_status_id;
    let invoiced_status = state.invoiced_status_id;
    let Some(status) = state.order_statuses.get(&status_id).cloned() else {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "ORDC-030",
            format!("Order status {status_id} does not exist"),
        ));
    };
    let Some(order) = state.orders.get_mut(&order_id) else {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "CMNC-404",
            format!("Order {order_id} not found"),
        ));
    };
    if status.order_type_code != "SO" {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "ORDC-031",
            format!(
                "Order status {status_id} belongs to order type {}",
                status.order_type_code
            ),
        ));
    }
    if !status.visible {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "ORDC-032",
            format!("Order status {status_id} is hidden"),
        ));
    }
    if Some(status_id) == cancelled {
        if has_goods_out {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "ORDC-033",
                format!("Order {order_id} cannot be cancelled: it has goods-out notes"),
            ));
        }
        // guess: an order with an invoice is refused like one in the "invoiced" status
        // (brightpearl-api.md §4.6 names only the status)
        if Some(order.status_id) == invoiced_status || order.invoice.is_some() {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "ORDC-034",
                format!("Order {order_id} cannot be cancelled: it has been invoiced"),
            ));
        }
        if order.paid.0 > 0 {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "ORDC-035",
                format!("Order {order_id} cannot be cancelled: it has payments"),
            ));
        }
    }
    order.status_id = status_id;
    order.version += 1;
    order.updated_on = Some(now);
    let (text, is_public) =
        note.unwrap_or_else(|| (format!("Order status changed to {}", status.name), false));
    let note_id = state.ids.next_note();
    if let Some(order) = state.orders.get_mut(&order_id) {
        order.notes.push(OrderNote {
            id: note_id,
            text,
            is_public,
            added_on: now,
            added_by: 1,
            order_status_id: status_id,
            file_id: None,
        });
    }
    Ok(vec![Event::new("order.modified.order-status", order_id)])
}

pub(super) fn put_status(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let Some(order_id) = single_id(Some(id)) else {
        return plain(request.not_found());
    };
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let Some(status_id) = body.get("orderStatusId").and_then(id_of) else {
        return plain(wire::bad_request("ORDC-030", "orderStatusId is required"));
    };
    let note = match body.pointer("/orderNote/text").and_then(Value::as_str) {
        Some(text) => {
            if let Some(message) = too_long("orderNote.text", text, limits::NOTE_TEXT) {
                return plain(wire::bad_request("ORDC-019", message));
            }
            Some((
                text.to_owned(),
                body.pointer("/orderNote/isPublic")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ))
        }
        None => None,
    };
    match change_status(inner, order_id, status_id, note) {
        Ok(events) => (wire::empty(), events),
        Err((status, code, message)) => plain(wire::error(status, code, message)),
    }
}

pub(super) fn post_note(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let Some(order_id) = single_id(Some(id)) else {
        return plain(request.not_found());
    };
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let Some(text) = body
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return plain(wire::bad_request("ORDC-040", "text is required"));
    };
    if let Some(message) = too_long("text", text, limits::NOTE_TEXT) {
        return plain(wire::bad_request("ORDC-019", message));
    }
    let added_on = match body.get("addedOn").and_then(Value::as_str) {
        Some(value) => match inner.dates.parse(value) {
            Some(at) => at,
            None => {
                return plain(wire::bad_request(
                    "ORDC-020",
                    format!("addedOn '{value}' is not a date"),
                ));
            }
        },
        None => inner.now(),
    };
    let mut state = lock(&inner.state);
    if !state.orders.contains_key(&order_id) {
        return plain(wire::not_found(format!("Order {order_id} not found")));
    }
    let note_id = state.ids.next_note();
    let now = inner.now();
    if let Some(order) = state.orders.get_mut(&order_id) {
        let status = order.status_id;
        order.notes.push(OrderNote {
            id: note_id,
            text: text.to_owned(),
            is_public: body
                .get("isPublic")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            added_on,
            added_by: 1,
            order_status_id: status,
            file_id: body.get("fileId").and_then(id_of),
        });
        order.updated_on = Some(now);
    }
    (wire::ok(json!(note_id)), Vec::new())
}

pub(super) fn get_notes(inner: &Inner, id: &str, ids: Option<&str>) -> Response {
    let Some(order_id) = single_id(Some(id)) else {
        return wire::not_found(format!("Order {id} not found"));
    };
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let Some(order) = state.orders.get(&order_id) else {
        return wire::not_found(format!("Order {order_id} not found"));
    };
    let notes: Vec<Value> = order
        .notes
        .iter()
        .filter(|note| set.contains(note.id))
        .map(|note| {
            json!({
                "noteId": note.id,
                "contactId": order.customer_id,
                "text": note.text,
                "isPublic": note.is_public,
                "addedOn": inner.dates.format(note.added_on),
                "addedBy": note.added_by,
                "orderStatusId": note.order_status_id,
                "fileId": note.file_id,
            })
        })
        .collect();
    wire::ok(Value::Array(notes))
}
