//! Orders (brightpearl-api.md §4.1–§4.9, §4.20): sales-order POST (atomic, rows inline), Order GET
//! and Sales Order GET, OPTIONS, the two order searches, status PUT with the cancel rules, notes,
//! custom fields, Order PATCH, and invoicing (`sales-order/{id}/close`). This file routes; one file
//! per responsibility below it (`create`, `render`, `status`, `patch`, `invoice`, `search`), with
//! request-body reading in `input`.
//!
//! Error codes the reference does not list are guesses, all `ORDC-`:
//! 007 customer missing, 008 unknown contact, 009 bad status, 010 unknown warehouse, 011 unknown
//! channel, 012 unknown shipping method, 013 unknown price list, 014 unknown product, 015 row without
//! productId or name, 016 bad taxCode, 017 bad quantity, 018 bad net/tax, 019 text over its §5.3a
//! limit, 020 unparsable date, 021 bad currency, 030–035 status change refusals, 040 note text
//! missing, 050/051 custom fields, 060 already invoiced.

// guess: every ORDC code above except those brightpearl-api.md §1.6 lists (brightpearl-api.md §1.6)

mod create;
mod input;
mod invoice;
mod patch;
mod render;
mod rows;
mod search;
mod status;

use axum::http::Method;

use crate::sandbox::brightpearl::lookups;
use crate::sandbox::brightpearl::request::{Outcome, Req, plain};
use crate::sandbox::brightpearl::sim::Inner;

pub use invoice::{add_payment, begin_invoicing, invoice, invoice_as, invoice_in};
pub use render::{render_order, status_codes};
pub use status::{change_status, change_status_in};

pub fn route(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let method = &request.method;
    match (method, segments.as_slice()) {
        (&Method::POST, ["sales-order"]) => create::create_sales_order(inner, request),
        (&Method::GET, ["sales-order", ids]) => plain(render::get_sales_orders(inner, ids)),
        (&Method::OPTIONS, ["sales-order", rest @ ..]) => {
            plain(render::options(inner, "sales-order", rest.first().copied()))
        }
        (&Method::POST, ["sales-order", id, "close"]) => invoice::close(inner, request, id),
        (&Method::GET, ["order", ids]) => plain(render::get_orders(inner, request, ids)),
        (&Method::OPTIONS, ["order", rest @ ..]) => {
            plain(render::options(inner, "order", rest.first().copied()))
        }
        (&Method::PATCH, ["order", id]) => patch::patch_order(inner, request, id),
        (&Method::PUT, ["order", id, "status"]) => status::put_status(inner, request, id),
        (&Method::POST, ["order", id, "row"]) => rows::post_row(inner, request, id),
        (&Method::PATCH, ["order", id, "row", row]) => rows::patch_row(inner, request, id, row),
        (&Method::DELETE, ["order", id, "row", row]) => rows::delete_row(inner, request, id, row),
        (&Method::POST, ["order", id, "note"]) => status::post_note(inner, request, id),
        (&Method::GET, ["order", id, "note", rest @ ..]) => {
            plain(status::get_notes(inner, id, rest.first().copied()))
        }
        (&Method::GET, ["order", id, "custom-field"]) => plain(patch::get_custom_fields(inner, id)),
        (&Method::PATCH, ["order", id, "custom-field"]) => {
            patch::patch_custom_fields(inner, request, id)
        }
        (&Method::GET, ["order-search"]) => plain(search::order_search(inner, request)),
        (&Method::GET, ["order-note-search"]) => plain(search::order_note_search(inner, request)),
        (&Method::GET, ["sales-order-search"]) => plain(search::sales_order_search(inner, request)),
        (&Method::GET, ["order-status", rest @ ..]) => {
            plain(lookups::order_statuses(inner, rest.first().copied()))
        }
        (&Method::GET, ["sale", "custom-field-meta-data", rest @ ..]) => {
            plain(lookups::custom_field_meta(inner, rest.first().copied()))
        }
        _ => plain(request.not_found()),
    }
}
