//! Invoicing (brightpearl-api.md §4.20: `sales-order/{id}/close`) and customer payments (§4.6).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::request::{Outcome, Req, plain, single_id};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::{Invoice, State};
use crate::sandbox::brightpearl::wire::{self, Fixed};
use crate::sandbox::common::lock;

/// Invoice an order (§4.20): sets the invoice reference, tax date, due date and `closedOn`.
// guess: invoicing leaves the order status alone; status names are account labels (brightpearl-api.md §4.20)
pub fn invoice(
    inner: &Inner,
    order_id: u32,
    tax_date: Option<DateTime<Utc>>,
) -> Result<(String, Vec<Event>), String> {
    invoice_as(inner, order_id, tax_date, None)
}

/// [`invoice`] under a reference given by hand (guess: accounts may number invoices
/// themselves; the sandbox uses it to show a reference used twice).
pub fn invoice_as(
    inner: &Inner,
    order_id: u32,
    tax_date: Option<DateTime<Utc>>,
    reference: Option<String>,
) -> Result<(String, Vec<Event>), String> {
    let now = inner.now();
    let mut state = lock(&inner.state);
    invoice_in(&mut state, now, order_id, tax_date, reference)
}

/// [`invoice_as`] on the state itself (the demo warehouse invoices from its ticker).
pub fn invoice_in(
    state: &mut State,
    now: DateTime<Utc>,
    order_id: u32,
    tax_date: Option<DateTime<Utc>>,
    reference: Option<String>,
) -> Result<(String, Vec<Event>), String> {
    match state.orders.get(&order_id) {
        None => return Err(format!("Order {order_id} not found")),
        Some(order) if order.invoice.is_some() => {
            return Err(format!("Order {order_id} has already been invoiced"));
        }
        Some(_) => {}
    }
    let reference = match reference {
        Some(r) => r,
        None => format!("SI-{}", state.ids.next_invoice()),
    };
    let order = state.orders.get_mut(&order_id).expect("checked above");
    let tax_date = tax_date.or(order.tax_date).unwrap_or(now);
    order.invoice = Some(Invoice {
        reference: reference.clone(),
        tax_date,
        // guess: due 30 days after the tax date (brightpearl-api.md §4.20 shows a due date only)
        due_date: tax_date + chrono::Duration::days(30),
        closed_on: now,
    });
    order.tax_date = Some(tax_date);
    order.invoicing = false;
    order.version += 1;
    order.updated_on = Some(now);
    Ok((reference, vec![Event::new("order.modified", order_id)]))
}

/// Invoicing begins but does not finish (§4.20: the reference reads `"pending"` meanwhile);
/// [`invoice`] finishes it.
pub fn begin_invoicing(inner: &Inner, order_id: u32) -> Result<Vec<Event>, String> {
    let now = inner.now();
    let mut state = lock(&inner.state);
    let Some(order) = state.orders.get_mut(&order_id) else {
        return Err(format!("Order {order_id} not found"));
    };
    if order.invoice.is_some() {
        return Err(format!("Order {order_id} has already been invoiced"));
    }
    order.invoicing = true;
    order.version += 1;
    order.updated_on = Some(now);
    Ok(vec![Event::new("order.modified", order_id)])
}

pub(super) fn close(inner: &Inner, request: &Req, id: &str) -> Outcome {
    let Some(order_id) = single_id(Some(id)) else {
        return plain(request.not_found());
    };
    let body = if request.body.is_empty() {
        json!({})
    } else {
        match request.json() {
            Ok(body) => body,
            Err(response) => return plain(response),
        }
    };
    let tax_date = match body.get("taxDate").and_then(Value::as_str) {
        Some(text) => match inner.dates.parse(text) {
            Some(at) => Some(at),
            None => {
                return plain(wire::bad_request(
                    "ORDC-020",
                    format!("taxDate '{text}' is not a date"),
                ));
            }
        },
        None => None,
    };
    if !lock(&inner.state).orders.contains_key(&order_id) {
        return plain(wire::not_found(format!("Order {order_id} not found")));
    }
    match invoice(inner, order_id, tax_date) {
        Ok((_, events)) => (wire::empty(), events),
        Err(message) => plain(wire::bad_request("ORDC-060", message)),
    }
}

pub fn add_payment(inner: &Inner, order_id: u32, amount: &str) -> Result<(), String> {
    let amount = Fixed::parse(amount).ok_or_else(|| format!("{amount} is not an amount"))?;
    let mut state = lock(&inner.state);
    let order = state
        .orders
        .get_mut(&order_id)
        .ok_or_else(|| format!("Order {order_id} not found"))?;
    order.paid = Fixed(order.paid.0 + amount.0);
    order.version += 1;
    Ok(())
}
