//! Goods-out notes (brightpearl-api.md §4.14): create (allocates stock), GET keyed by id, delete,
//! search, shipping PUT, events with SHW auto-filling PRI/PIC/PAC, nothing after shipped,
//! `If-Match` against `lastEventVersion`, and the in-process create and ship of the scenario API.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::rows::{Refusal, RowRequest, check_rows, parse_rows, refuse, respond, unallocated};
use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::orders::status_codes;
use crate::sandbox::brightpearl::request::{Outcome, Req, id_set, plain, single_id};
use crate::sandbox::brightpearl::search::{Column, Kind, col, search};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::{GoodsOutEvent, GoodsOutNote, State};
use crate::sandbox::brightpearl::wire::{self, limits, too_long};
use crate::sandbox::common::lock;

#[allow(clippy::too_many_arguments)]
fn insert_note(
    state: &mut State,
    now: DateTime<Utc>,
    order_id: u32,
    warehouse_id: u32,
    rows: BTreeMap<u32, (u32, i64)>,
    priority: bool,
    shipping_method_id: u32,
    release_date: Option<DateTime<Utc>>,
) -> u32 {
    let id = state.ids.next_goods_out();
    let sequence = state
        .goods_out
        .values()
        .filter(|note| note.order_id == order_id)
        .count() as u32
        + 1;
    let version = state.ids.next_event_version();
    state.goods_out.insert(
        id,
        GoodsOutNote {
            id,
            order_id,
            warehouse_id,
            priority,
            reference: String::new(),
            shipping_method_id,
            boxes: None,
            weight: None,
            release_date: release_date.unwrap_or(now),
            created_on: now,
            created_by: 1,
            rows,
            sequence,
            // `PLA` appears on creation in recorded notes (§4.14).
            events: vec![GoodsOutEvent {
                occured: now,
                owner: 1,
                code: "PLA".into(),
            }],
            printed: None,
            picked: None,
            packed: None,
            shipped: None,
            last_event_version: version,
        },
    );
    if let Some(order) = state.orders.get_mut(&order_id) {
        order.version += 1;
        order.updated_on = Some(now);
    }
    id
}

fn stock_events(rows: &BTreeMap<u32, (u32, i64)>) -> Vec<Event> {
    rows.values()
        .map(|(product, _)| Event::new("product.modified.on-hand-modified", *product))
        .collect()
}

/// In-process creation: `rows` of (order row id, quantity), or every unallocated quantity.
pub fn create_for_order(
    inner: &Inner,
    order_id: u32,
    rows: &[(u32, u32)],
) -> Result<(u32, Vec<Event>), String> {
    let now = inner.now();
    let mut state = lock(&inner.state);
    create_in(&mut state, now, order_id, rows, None)
}

/// [`create_for_order`] on a locked state, with the note's shipping method (the order's when
/// `None`).
pub(super) fn create_in(
    state: &mut State,
    now: DateTime<Utc>,
    order_id: u32,
    rows: &[(u32, u32)],
    shipping_method_id: Option<u32>,
) -> Result<(u32, Vec<Event>), String> {
    let Some(order) = state.orders.get(&order_id) else {
        return Err(format!("Order {order_id} not found"));
    };
    let warehouse_id = order.warehouse_id;
    let shipping_method_id = shipping_method_id.unwrap_or(order.shipping_method_id);
    if shipping_method_id != 0 && !state.shipping_methods.contains_key(&shipping_method_id) {
        return Err(format!(
            "Shipping method {shipping_method_id} does not exist"
        ));
    }
    let wanted: Vec<RowRequest> = if rows.is_empty() {
        unallocated(state, order_id)
            .into_iter()
            .filter(|(_, (_, left))| *left > 0)
            .map(|(row, (_, left))| RowRequest::any_product(row, left))
            .collect()
    } else {
        rows.iter()
            .map(|(row, quantity)| RowRequest::any_product(*row, i64::from(*quantity)))
            .collect()
    };
    let rows = check_rows(state, order_id, &wanted).map_err(|refusal| refusal.2)?;
    let events = stock_events(&rows);
    let id = insert_note(
        state,
        now,
        order_id,
        warehouse_id,
        rows,
        false,
        shipping_method_id,
        None,
    );
    let mut all = vec![Event::new("goods-out-note.created", id)];
    all.extend(events);
    Ok((id, all))
}

pub(super) fn post_note(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let now = inner.now();
    let mut state = lock(&inner.state);
    let Some(order_id) = single_id(Some(id)).filter(|id| state.orders.contains_key(id)) else {
        return plain(wire::not_found(format!("Order {id} not found")));
    };
    let shipping_method_id = match body.get("shippingMethodId").and_then(Value::as_u64) {
        Some(id) if id > 0 && !state.shipping_methods.contains_key(&(id as u32)) => {
            return plain(wire::bad_request(
                "WHSC-014",
                format!("Shipping method {id} does not exist"),
            ));
        }
        Some(id) => id as u32,
        None => state.orders[&order_id].shipping_method_id,
    };
    let priority = body
        .get("priority")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let empty = Vec::new();
    let warehouses = body
        .get("warehouses")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    if warehouses.is_empty() {
        return plain(wire::bad_request("WHSC-006", "warehouses is required"));
    }
    // Validate every warehouse entry before creating anything.
    let mut planned = Vec::new();
    let mut all_rows: Vec<RowRequest> = Vec::new();
    for (index, entry) in warehouses.iter().enumerate() {
        let warehouse_id = entry
            .get("warehouseId")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32;
        if !state.warehouses.contains_key(&warehouse_id) {
            return plain(wire::bad_request(
                "WHSC-002",
                format!("warehouses[{index}].warehouseId {warehouse_id} does not exist"),
            ));
        }
        let release_date = match entry.get("releaseDate").and_then(Value::as_str) {
            Some(text) => match inner.dates.parse(text) {
                Some(at) => Some(at),
                None => {
                    return plain(wire::bad_request(
                        "WHSC-012",
                        format!("warehouses[{index}].releaseDate '{text}' is not a date"),
                    ));
                }
            },
            None => None,
        };
        let products = entry
            .get("products")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let rows = parse_rows(products);
        if let Err(refusal) = check_rows(&state, order_id, &rows) {
            return plain(respond(refusal));
        }
        all_rows.extend(rows.iter().copied());
        planned.push((warehouse_id, release_date, rows));
    }
    // The entries together must fit as well.
    if let Err(refusal) = check_rows(&state, order_id, &all_rows) {
        return plain(respond(refusal));
    }
    let mut ids = Vec::new();
    let mut events = Vec::new();
    for (warehouse_id, release_date, rows) in planned {
        let rows = check_rows(&state, order_id, &rows).unwrap_or_default();
        events.extend(stock_events(&rows));
        let id = insert_note(
            &mut state,
            now,
            order_id,
            warehouse_id,
            rows,
            priority,
            shipping_method_id,
            release_date,
        );
        events.insert(0, Event::new("goods-out-note.created", id));
        ids.push(id);
    }
    // guess: the POST answers an array of new note ids, one per warehouse entry, like the
    // drop-ship POST (brightpearl-api.md §4.14 leaves number vs array open)
    (wire::ok(json!(ids)), events)
}

pub(super) fn render_note(inner: &Inner, note: &GoodsOutNote) -> Value {
    let dates = &inner.dates;
    let mut status = Map::new();
    for (name, value) in [
        ("printed", note.printed),
        ("picked", note.picked),
        ("packed", note.packed),
        ("shipped", note.shipped),
    ] {
        status.insert(name.into(), json!(value.is_some()));
        if let Some((at, by)) = value {
            status.insert(format!("{name}On"), json!(dates.format(at)));
            status.insert(format!("{name}ById"), json!(by));
        }
    }
    let mut shipping =
        json!({"reference": note.reference, "shippingMethodId": note.shipping_method_id});
    if let Some(boxes) = note.boxes {
        shipping["boxes"] = json!(boxes);
    }
    if let Some(weight) = &note.weight {
        shipping["weight"] = json!(weight);
    }
    let rows: Map<String, Value> = note
        .rows
        .iter()
        .map(|(row, (product, quantity))| {
            (
                row.to_string(),
                json!([{"productId": product, "quantity": quantity, "locationId": note.warehouse_id}]),
            )
        })
        .collect();
    json!({
        "orderId": note.order_id,
        "warehouseId": note.warehouse_id,
        "transfer": false,
        "priority": note.priority,
        "status": status,
        "shipping": shipping,
        "releaseDate": dates.format(note.release_date),
        "createdOn": dates.format(note.created_on),
        "createdBy": note.created_by,
        "orderRows": rows,
        "sequence": note.sequence,
        "events": note.events.iter().map(|event| json!({
            "occured": dates.format(event.occured),
            "eventOwnerId": event.owner,
            "eventCode": event.code,
        })).collect::<Vec<_>>(),
        "lastEventVersion": note.last_event_version,
    })
}

// guess: `*` orders without a note ID set means every note (brightpearl-api.md §4.14 requires a note
// set only for drop-ship notes)
pub(super) fn get_notes(inner: &Inner, orders: &str, notes: Option<&str>) -> Response {
    // ID sets of at most 500 ids (§1.3).
    let order_set = match id_set(Some(orders), Some(500)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let note_set = match id_set(notes, Some(500)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let map: Map<String, Value> = state
        .goods_out
        .values()
        .filter(|note| order_set.contains(note.order_id) && note_set.contains(note.id))
        .map(|note| (note.id.to_string(), render_note(inner, note)))
        .collect();
    // guess: nothing found answers 404 CMNC-404 like other non-order resources
    // (brightpearl-api.md §1.7)
    if map.is_empty() {
        return wire::not_found("No goods-out notes found");
    }
    wire::ok(Value::Object(map))
}

pub(super) fn delete_note(inner: &Inner, order: &str, id: &str) -> Outcome {
    let mut state = lock(&inner.state);
    let note = single_id(Some(id))
        .and_then(|id| state.goods_out.get(&id))
        .filter(|note| single_id(Some(order)) == Some(note.order_id))
        .map(|note| (note.id, note.shipped.is_some()));
    let Some((note_id, shipped)) = note else {
        return plain(wire::not_found(format!("Goods-out note {id} not found")));
    };
    if shipped {
        return plain(wire::bad_request(
            "WHSC-010",
            format!("Goods-out note {id} has been shipped"),
        ));
    }
    let note = state.goods_out.remove(&note_id).expect("found above");
    let mut events = vec![Event::new("goods-out-note.destroyed", note.id)];
    events.extend(stock_events(&note.rows));
    (wire::empty(), events)
}

/// Apply a shipping update; refused once shipped.
// guess: PUT after shipped is refused, since "once SHW is posted nothing more can change"
// (brightpearl-api.md §5.4 pitfall 11; PUT after shipped is UNCONFIRMED there)
fn update_shipping(
    state: &mut State,
    note_id: u32,
    reference: Option<&str>,
    shipping_method_id: Option<u32>,
    extra: Option<&Value>,
) -> Result<(), Refusal> {
    if let Some(id) = shipping_method_id
        && id != 0
        && !state.shipping_methods.contains_key(&id)
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "WHSC-014",
            format!("Shipping method {id} does not exist"),
        ));
    }
    if let Some(message) =
        reference.and_then(|text| too_long("shipping.reference", text, limits::TRACKING_REFERENCE))
    {
        return Err(refuse(StatusCode::BAD_REQUEST, "WHSC-015", message));
    }
    let Some(note) = state.goods_out.get_mut(&note_id) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "CMNC-404",
            format!("Goods-out note {note_id} not found"),
        ));
    };
    if note.shipped.is_some() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "WHSC-010",
            format!("Goods-out note {note_id} has already been shipped"),
        ));
    }
    // guess: omitted fields are kept, not cleared (brightpearl-api.md §4.14)
    if let Some(reference) = reference {
        note.reference = reference.to_owned();
    }
    if let Some(id) = shipping_method_id {
        note.shipping_method_id = id;
    }
    if let Some(extra) = extra {
        if let Some(priority) = extra.get("priority").and_then(Value::as_bool) {
            note.priority = priority;
        }
        if let Some(boxes) = extra.pointer("/shipping/boxes").and_then(Value::as_u64) {
            note.boxes = Some(boxes as u32);
        }
        if let Some(weight) = extra.pointer("/shipping/weight") {
            note.weight = Some(match weight {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
        }
    }
    Ok(())
}

pub(super) fn put_note(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let Some(note_id) = single_id(Some(id)) else {
        return plain(request.not_found());
    };
    let mut state = lock(&inner.state);
    let reference = body.pointer("/shipping/reference").and_then(Value::as_str);
    let method = body
        .pointer("/shipping/shippingMethodId")
        .and_then(Value::as_u64)
        .map(|id| id as u32);
    match update_shipping(&mut state, note_id, reference, method, Some(&body)) {
        Ok(()) => (
            wire::empty(),
            vec![Event::new("goods-out-note.modified", note_id)],
        ),
        Err(refusal) => plain(respond(refusal)),
    }
}

/// Apply events to a note (§4.14): SHW fills in missing PRI/PIC/PAC first; nothing after shipped.
fn apply_events(
    state: &mut State,
    note_id: u32,
    events: &[(String, DateTime<Utc>, u32)],
    if_match: Option<u64>,
) -> Result<Vec<Event>, Refusal> {
    let version = state.ids.event_version + 1;
    let Some(note) = state.goods_out.get_mut(&note_id) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "CMNC-404",
            format!("Goods-out note {note_id} not found"),
        ));
    };
    // guess: a stale If-Match answers 412 WHSC-013 (brightpearl-api.md §4.14 names the header only)
    if let Some(expected) = if_match
        && expected != note.last_event_version
    {
        return Err(refuse(
            StatusCode::PRECONDITION_FAILED,
            "WHSC-013",
            format!(
                "If-Match {expected} does not match lastEventVersion {} of goods-out note {note_id}",
                note.last_event_version
            ),
        ));
    }
    let mut updated = note.clone();
    let mut raised = Vec::new();
    for (code, at, owner) in events {
        if updated.shipped.is_some() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "WHSC-010",
                format!("Goods-out note {note_id} has already been shipped"),
            ));
        }
        let push = |note: &mut GoodsOutNote, code: &str, raised: &mut Vec<Event>, name: &str| {
            note.events.push(GoodsOutEvent {
                occured: *at,
                owner: *owner,
                code: code.into(),
            });
            raised.push(Event::new(
                &format!("goods-out-note.modified.{name}"),
                note_id,
            ));
        };
        match code.as_str() {
            "PRI" => {
                updated.printed = Some((*at, *owner));
                push(&mut updated, "PRI", &mut raised, "printed");
            }
            "PIC" => {
                updated.picked = Some((*at, *owner));
                push(&mut updated, "PIC", &mut raised, "picked");
            }
            "PAC" => {
                updated.packed = Some((*at, *owner));
                push(&mut updated, "PAC", &mut raised, "packed");
            }
            "UPR" => {
                updated.printed = None;
                push(&mut updated, "UPR", &mut raised, "un-printed");
            }
            "UPI" => {
                updated.picked = None;
                push(&mut updated, "UPI", &mut raised, "un-picked");
            }
            "UPA" => {
                updated.packed = None;
                push(&mut updated, "UPA", &mut raised, "un-packed");
            }
            "SHW" => {
                if updated.printed.is_none() {
                    updated.printed = Some((*at, *owner));
                    push(&mut updated, "PRI", &mut raised, "printed");
                }
                if updated.picked.is_none() {
                    updated.picked = Some((*at, *owner));
                    push(&mut updated, "PIC", &mut raised, "picked");
                }
                if updated.packed.is_none() {
                    updated.packed = Some((*at, *owner));
                    push(&mut updated, "PAC", &mut raised, "packed");
                }
                updated.shipped = Some((*at, *owner));
                push(&mut updated, "SHW", &mut raised, "shipped");
            }
            other => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "WHSC-011",
                    format!("Event code '{other}' is not one of PRI, UPR, PIC, UPI, PAC, UPA, SHW"),
                ));
            }
        }
    }
    updated.last_event_version = version;
    let shipped_now = updated.shipped.is_some() && note.shipped.is_none();
    *note = updated.clone();
    state.ids.event_version = version;
    if shipped_now {
        // Stock leaves the warehouse when shipped (§4.14); the allocation goes with it.
        for (product, quantity) in updated.rows.values() {
            *state
                .stock
                .entry((*product, updated.warehouse_id))
                .or_insert(0) -= quantity;
        }
        if let Some(order) = state.orders.get(&updated.order_id).cloned() {
            if status_codes(state, &order).2 == "ASS" {
                raised.push(Event::new("order.modified.fully-shipped", order.id));
            }
            if let Some(order) = state.orders.get_mut(&updated.order_id) {
                order.version += 1;
                order.updated_on = Some(updated.shipped.map_or_else(Utc::now, |s| s.0));
            }
        }
    }
    Ok(raised)
}

pub(super) fn post_event(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let Some(note_id) = single_id(Some(id)) else {
        return plain(request.not_found());
    };
    let if_match = match request
        .headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
    {
        Some(value) => match value.trim().trim_matches('"').parse::<u64>() {
            Ok(version) => Some(version),
            Err(_) => {
                return plain(wire::bad_request(
                    "WHSC-013",
                    format!("If-Match '{value}' is not a lastEventVersion"),
                ));
            }
        },
        None => None,
    };
    let empty = Vec::new();
    let list = body
        .get("events")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    if list.is_empty() {
        return plain(wire::bad_request("WHSC-012", "events is required"));
    }
    let mut events = Vec::new();
    // All three fields are required on each event (§4.14).
    for (index, event) in list.iter().enumerate() {
        let code = event.get("eventCode").and_then(Value::as_str);
        let occured = event.get("occured").and_then(Value::as_str);
        let owner = event.get("eventOwnerId").and_then(Value::as_u64);
        let (Some(code), Some(occured), Some(owner)) = (code, occured, owner) else {
            return plain(wire::bad_request(
                "WHSC-012",
                format!("events[{index}] needs eventCode, occured and eventOwnerId"),
            ));
        };
        let Some(at) = inner.dates.parse(occured) else {
            return plain(wire::bad_request(
                "WHSC-012",
                format!("events[{index}].occured '{occured}' is not a date"),
            ));
        };
        events.push((code.to_owned(), at, owner as u32));
    }
    let mut state = lock(&inner.state);
    match apply_events(&mut state, note_id, &events, if_match) {
        Ok(raised) => (wire::empty(), raised),
        Err(refusal) => plain(respond(refusal)),
    }
}

/// In-process shipping: optional tracking and method, then `SHW` now.
pub fn ship(
    inner: &Inner,
    note_id: u32,
    tracking: Option<&str>,
    shipping_method_id: Option<u32>,
) -> Result<Vec<Event>, String> {
    let now = inner.now();
    let mut state = lock(&inner.state);
    ship_in(&mut state, now, note_id, tracking, shipping_method_id)
}

/// [`ship`] on a locked state.
pub(super) fn ship_in(
    state: &mut State,
    now: DateTime<Utc>,
    note_id: u32,
    tracking: Option<&str>,
    shipping_method_id: Option<u32>,
) -> Result<Vec<Event>, String> {
    let mut raised = Vec::new();
    if tracking.is_some() || shipping_method_id.is_some() {
        update_shipping(state, note_id, tracking, shipping_method_id, None)
            .map_err(|refusal| refusal.2)?;
        raised.push(Event::new("goods-out-note.modified", note_id));
    }
    raised.extend(
        apply_events(state, note_id, &[("SHW".into(), now, 1)], None)
            .map_err(|refusal| refusal.2)?,
    );
    Ok(raised)
}

const GOODS_OUT_SEARCH: &[Column] = &[
    col("goodsOutNoteId", Kind::IdSet),
    col("orderId", Kind::IdSet),
    col("warehouseId", Kind::IdSet),
    col("shippingMethodId", Kind::IdSet),
    col("printed", Kind::Boolean),
    col("picked", Kind::Boolean),
    col("packed", Kind::Boolean),
    col("shipped", Kind::Boolean),
    col("shippedOn", Kind::Period),
    col("createdOn", Kind::Period),
    col("releaseDate", Kind::Period),
    col("priority", Kind::Boolean),
    col("createdBy", Kind::Integer),
    col("transfer", Kind::Boolean),
];

pub(super) fn goods_out_search(inner: &Inner, request: &Req) -> Response {
    let state = lock(&inner.state);
    let dates = &inner.dates;
    let rows = state
        .goods_out
        .values()
        .map(|note| {
            vec![
                json!(note.id),
                json!(note.order_id),
                json!(note.warehouse_id),
                json!(note.shipping_method_id),
                json!(note.printed.is_some()),
                json!(note.picked.is_some()),
                json!(note.packed.is_some()),
                json!(note.shipped.is_some()),
                dates.format_opt(note.shipped.map(|s| s.0)),
                json!(dates.format(note.created_on)),
                json!(dates.format(note.release_date)),
                json!(note.priority),
                json!(note.created_by),
                json!(false),
            ]
        })
        .collect();
    search(inner, request, GOODS_OUT_SEARCH, rows, &Map::new())
}
