//! Drop-ship notes (brightpearl-api.md §4.15): create per supplier, GET keyed by id (a note ID set
//! is required when the order set is `*`), and the `SHS` shipped event with tracking.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::rows::{check_rows, parse_rows, respond};
use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::request::{Outcome, Req, id_set, plain, single_id};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::{DropShipNote, GoodsOutEvent};
use crate::sandbox::brightpearl::wire::{self, limits, too_long};
use crate::sandbox::common::lock;

/// `POST /order/{id}/goods-note/drop-ship`: one note per supplier entry, all or none.
pub(super) fn post(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let now = inner.now();
    let mut state = lock(&inner.state);
    let Some(order_id) = single_id(Some(id)).filter(|id| state.orders.contains_key(id)) else {
        return plain(wire::not_found(format!("Order {id} not found")));
    };
    let empty = Vec::new();
    let suppliers = body
        .get("suppliers")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    if suppliers.is_empty() {
        return plain(wire::bad_request("WHSC-006", "suppliers is required"));
    }
    let mut planned = Vec::new();
    let mut all_rows = Vec::new();
    for (index, supplier) in suppliers.iter().enumerate() {
        let supplier_id = supplier
            .get("supplierId")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32;
        if !state
            .contacts
            .get(&supplier_id)
            .is_some_and(|contact| contact.is_supplier)
        {
            return plain(wire::bad_request(
                "WHSC-016",
                format!("suppliers[{index}].supplierId {supplier_id} is not a supplier"),
            ));
        }
        // guess: purchase orders are not modelled; any purchaseOrderId is accepted
        // (brightpearl-api.md §4.15)
        let purchase_order_id = supplier
            .get("purchaseOrderId")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32;
        let products = supplier
            .get("products")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let rows = parse_rows(products);
        if let Err(refusal) = check_rows(&state, order_id, &rows) {
            return plain(respond(refusal));
        }
        all_rows.extend(rows.iter().copied());
        planned.push((supplier_id, purchase_order_id, rows));
    }
    if let Err(refusal) = check_rows(&state, order_id, &all_rows) {
        return plain(respond(refusal));
    }
    let mut ids = Vec::new();
    let mut events = Vec::new();
    for (supplier_id, purchase_order_id, rows) in planned {
        let rows = check_rows(&state, order_id, &rows).unwrap_or_default();
        let id = state.ids.next_drop_ship();
        state.drop_ship.insert(
            id,
            DropShipNote {
                id,
                order_id,
                purchase_order_id,
                supplier_id,
                created_on: now,
                rows,
                shipped: None,
                tracking_reference: String::new(),
                shipping_method_id: 0,
                events: Vec::new(),
            },
        );
        events.push(Event::new("drop-ship-note.created", id));
        ids.push(id);
    }
    (wire::ok(json!(ids)), events)
}

pub(super) fn get(inner: &Inner, orders: &str, notes: Option<&str>) -> Response {
    // `*` for orders needs a note ID set (§4.15).
    if orders == "*" && notes.is_none() {
        return wire::bad_request(
            "WHSC-017",
            "A drop-ship note ID set is required when the order ID set is *",
        );
    }
    let order_set = match id_set(Some(orders), Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let note_set = match id_set(notes, Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let dates = &inner.dates;
    let map: Map<String, Value> = state
        .drop_ship
        .values()
        .filter(|note| order_set.contains(note.order_id) && note_set.contains(note.id))
        .map(|note| {
            let mut status = json!({"shipped": note.shipped.is_some()});
            if let Some((at, by)) = note.shipped {
                status["shippedOn"] = json!(dates.format(at));
                status["shippedById"] = json!(by);
            }
            let rows: Map<String, Value> = note
                .rows
                .iter()
                .map(|(row, (product, quantity))| {
                    (row.to_string(), json!([{"productId": product, "quantity": quantity}]))
                })
                .collect();
            (
                note.id.to_string(),
                json!({
                    "orderId": note.order_id,
                    "purchaseOrderId": note.purchase_order_id,
                    "supplierId": note.supplier_id,
                    "status": status,
                    "createdOn": dates.format(note.created_on),
                    "shipping": {"reference": note.tracking_reference, "shippingMethodId": note.shipping_method_id},
                    "orderRows": rows,
                    "events": note.events.iter().map(|event| json!({
                        "occured": dates.format(event.occured),
                        "eventOwnerId": event.owner,
                        "eventCode": event.code,
                    })).collect::<Vec<_>>(),
                }),
            )
        })
        .collect();
    if map.is_empty() {
        return wire::not_found("No drop-ship notes found");
    }
    wire::ok(Value::Object(map))
}

pub(super) fn post_event(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let tracking = body
        .get("trackingReference")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(message) = too_long("trackingReference", tracking, limits::TRACKING_REFERENCE) {
        return plain(wire::bad_request("WHSC-015", message));
    }
    let empty = Vec::new();
    let list = body
        .get("events")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut events = Vec::new();
    for (index, event) in list.iter().enumerate() {
        let code = event.get("eventCode").and_then(Value::as_str);
        let at = event
            .get("occured")
            .and_then(Value::as_str)
            .and_then(|text| inner.dates.parse(text));
        let owner = event.get("eventOwnerId").and_then(Value::as_u64);
        match (code, at, owner) {
            (Some("SHS"), Some(at), Some(owner)) => events.push((at, owner as u32)),
            _ => {
                return plain(wire::bad_request(
                    "WHSC-012",
                    format!("events[{index}] needs eventCode SHS, occured and eventOwnerId"),
                ));
            }
        }
    }
    if events.is_empty() {
        return plain(wire::bad_request("WHSC-012", "events is required"));
    }
    let mut state = lock(&inner.state);
    let method = body
        .get("shippingMethodId")
        .and_then(Value::as_u64)
        .map(|id| id as u32);
    if let Some(method) = method
        && method != 0
        && !state.shipping_methods.contains_key(&method)
    {
        return plain(wire::bad_request(
            "WHSC-014",
            format!("Shipping method {method} does not exist"),
        ));
    }
    let Some(note) = single_id(Some(id)).and_then(|id| state.drop_ship.get_mut(&id)) else {
        return plain(wire::not_found(format!("Drop-ship note {id} not found")));
    };
    if note.shipped.is_some() {
        return plain(wire::bad_request(
            "WHSC-010",
            format!("Drop-ship note {id} has already been shipped"),
        ));
    }
    let (at, owner) = events[0];
    note.shipped = Some((at, owner));
    note.tracking_reference = tracking.to_owned();
    if let Some(method) = method {
        note.shipping_method_id = method;
    }
    note.events.push(GoodsOutEvent {
        occured: at,
        owner,
        code: "SHS".into(),
    });
    let note_id = note.id;
    (
        wire::empty(),
        vec![Event::new("drop-ship-note.modified.shipped", note_id)],
    )
}
