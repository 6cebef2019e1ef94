//! Goods-out notes and drop-ship notes (brightpearl-api.md §4.14, §4.15): create (allocates
//! stock), GET keyed by id, search, shipping PUT, events with SHW auto-filling PRI/PIC/PAC, nothing
//! after shipped, `If-Match` against `lastEventVersion`. This file routes and dumps; `goods_out.rs`
//! and `drop_ship.rs` hold the two note kinds, `rows.rs` what they share, `demo.rs` the demo
//! account's warehouse that fulfils orders by itself.
//!
//! Guessed error codes (`WHSC-`): 002 unknown warehouse, 003 row not on the order, 004 product does
//! not match the row, 005 quantity over what is left to allocate, 006 no products, 010 already
//! shipped, 011 bad event code, 012 event field missing, 013 `If-Match` mismatch (412), 014 unknown
//! shipping method, 015 tracking too long, 016 bad supplier.

// guess: the WHSC codes above (brightpearl-api.md §1.6 names only the prefix)

mod demo;
mod drop_ship;
mod goods_out;
mod rows;

use axum::http::Method;
use serde_json::{Value, json};

use crate::sandbox::brightpearl::request::{Outcome, Req, plain};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::State;

pub use demo::{enroll_demo_order, run_due as run_demo_due};
pub use goods_out::{create_for_order, ship};

/// Route a `warehouse-service` request whose path names a goods note.
pub fn route(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    match (&request.method, segments.as_slice()) {
        (&Method::POST, ["order", id, "goods-note", "goods-out"]) => {
            goods_out::post_note(inner, request, id)
        }
        (&Method::GET, ["order", orders, "goods-note", "goods-out", rest @ ..]) => {
            plain(goods_out::get_notes(inner, orders, rest.first().copied()))
        }
        (&Method::DELETE, ["order", order, "goods-note", "goods-out", id]) => {
            goods_out::delete_note(inner, order, id)
        }
        (&Method::PUT, ["goods-note", "goods-out", id]) => goods_out::put_note(inner, request, id),
        (&Method::POST, ["goods-note", "goods-out", id, "event"]) => {
            goods_out::post_event(inner, request, id)
        }
        (&Method::GET, ["goods-note", "goods-out-search"]) => {
            plain(goods_out::goods_out_search(inner, request))
        }
        (&Method::POST, ["order", id, "goods-note", "drop-ship"]) => {
            drop_ship::post(inner, request, id)
        }
        (&Method::GET, ["order", orders, "goods-note", "drop-ship", rest @ ..]) => {
            plain(drop_ship::get(inner, orders, rest.first().copied()))
        }
        (&Method::POST, ["goods-note", "drop-ship", id, "event"]) => {
            drop_ship::post_event(inner, request, id)
        }
        _ => plain(request.not_found()),
    }
}

/// Goods-out and drop-ship notes as JSON, for the admin state dump.
pub fn dump(inner: &Inner, state: &State) -> Value {
    json!({
        "goodsOut": state.goods_out.values().map(|note| {
            let mut value = goods_out::render_note(inner, note);
            value["id"] = json!(note.id);
            value
        }).collect::<Vec<_>>(),
        "dropShip": state.drop_ship.values().map(|note| json!({
            "id": note.id, "orderId": note.order_id, "supplierId": note.supplier_id,
            "shipped": note.shipped.is_some(), "trackingReference": note.tracking_reference,
        })).collect::<Vec<_>>(),
        "demo": state.demo_orders.iter().map(|(order_id, order)| json!({
            "orderId": order_id, "ordinal": order.ordinal, "stage": format!("{:?}", order.stage),
        })).collect::<Vec<_>>(),
    })
}
