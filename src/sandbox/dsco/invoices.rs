//! Invoices (dsco-api.md §5): `POST /invoice` (validated at once, 201, but visible only after
//! processing), `POST /invoice/batch/small` (202, outcome in `/invoice/log`) and
//! `GET /invoice?key=&value=`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::changelog;
use super::http::{Params, bad_request, message, not_found};
use super::jobs::{Job, Outcome};
use super::sim::DscoSim;
use super::state::{State as SimState, fmt_date, text};

const KEYS: [&str; 6] = [
    "dscoInvoiceId",
    "invoiceId",
    "poNumber",
    "supplierOrderNumber",
    "consumerOrderNumber",
    "trackingNumber",
];

pub(crate) async fn get(State(sim): State<DscoSim>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let (Some(key), Some(value)) = (params.get("key"), params.get("value")) else {
        return bad_request("key and value are required");
    };
    if !KEYS.contains(&key) {
        return bad_request(&format!("key must be one of {}", KEYS.join(", ")));
    }
    sim.with_state(|state, _| {
        let found: Vec<Value> = state
            .invoices
            .iter()
            .filter(|inv| {
                if key == "trackingNumber" {
                    text(&inv["ship"]["trackingNumber"]).as_deref() == Some(value)
                } else {
                    text(&inv[key]).as_deref() == Some(value)
                }
            })
            .cloned()
            .collect();
        // guess: no match answers 404 like the other look-ups (dsco-api.md §1.4).
        if found.is_empty() {
            not_found(&format!("no invoice found with {key} {value}"))
        } else {
            Json(json!({"invoices": found})).into_response()
        }
    })
}

pub(crate) async fn batch(State(sim): State<DscoSim>, body: Bytes) -> Response {
    changelog::endpoint(Job::Invoice, "createInvoiceSmallBatch").batch(&sim, &body)
}

/// `POST /invoice`: validated synchronously (400 in the update-response shape), then stored
/// after the processing delay, only then visible through `GET /invoice`.
pub(crate) async fn single(State(sim): State<DscoSim>, body: Bytes) -> Response {
    changelog::endpoint(Job::Invoice, "singleInvoice").validate_now(&sim, &body, |state, object| {
        let mut problems = validate(state, object);
        if let Some(id) = text(&object["invoiceId"]) {
            let queued = state.log.iter().any(|e| {
                e.job == Job::Invoice
                    && e.status == "pending"
                    && text(&e.payload["invoiceId"]).as_deref() == Some(id.as_str())
            });
            if queued {
                problems.push(format!("invoiceId {id} has already been used"));
            }
        }
        problems
    })
}

fn validate(state: &SimState, invoice: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match text(&invoice["invoiceId"]) {
        None => problems.push("invoiceId is required".to_owned()),
        // guess: an invoiceId already used by this supplier is refused (dsco-api.md §5.2).
        Some(id)
            if state
                .invoices
                .iter()
                .any(|i| text(&i["invoiceId"]).as_deref() == Some(id.as_str())) =>
        {
            problems.push(format!("invoiceId {id} has already been used"))
        }
        Some(_) => {}
    }
    if !invoice["totalAmount"].is_number() {
        problems.push("totalAmount is required and must be a number".to_owned());
    }
    // guess: the invoice must name an order this supplier has (dsco-api.md §5.2).
    if let Err(problem) = state.resolve_order_by_fields(invoice) {
        problems.push(problem);
    }
    if let Some(lines) = invoice["lineItems"].as_array() {
        for (i, line) in lines.iter().enumerate() {
            if !line["quantity"].is_number() {
                problems.push(format!("lineItems[{i}].quantity is required"));
            }
            if !line["unitPrice"].is_number() {
                problems.push(format!("lineItems[{i}].unitPrice is required"));
            }
            if !["dscoItemId", "sku", "upc", "ean", "mpn", "partnerSku"]
                .iter()
                .any(|k| text(&line[*k]).is_some())
            {
                problems.push(format!(
                    "lineItems[{i}] needs one of dscoItemId, sku, upc, ean, mpn, partnerSku"
                ));
            }
        }
    }
    problems
}

/// Store one invoice, filling DSCO's ids and the order's keys.
pub(crate) fn apply(state: &mut SimState, payload: &Value, now: DateTime<Utc>) -> Outcome {
    let problems = validate(state, payload);
    if !problems.is_empty() {
        return Err(problems);
    }
    let order_id = state
        .resolve_order_by_fields(payload)
        .map_err(|e| vec![e])?;
    let order = state.orders[&order_id].clone();
    let mut invoice = payload.clone();
    invoice["dscoInvoiceId"] = json!(state.new_invoice_id());
    for key in [
        "dscoOrderId",
        "poNumber",
        "supplierOrderNumber",
        "consumerOrderNumber",
    ] {
        if invoice[key].is_null() {
            invoice[key] = order[key].clone();
        }
    }
    if invoice["currencyCode"].is_null() {
        invoice["currencyCode"] = order["currencyCode"].clone();
    }
    invoice["dscoCreateDate"] = json!(fmt_date(now));
    invoice["dscoLastUpdateDate"] = json!(fmt_date(now));
    state.invoices.push(invoice);
    Ok(vec![message("INVOICE_CREATED", "info", "invoice created")])
}

impl DscoSim {
    /// Every processed invoice.
    pub fn invoices(&self) -> Vec<Value> {
        self.with_state(|state, _| state.invoices.clone())
    }
}
