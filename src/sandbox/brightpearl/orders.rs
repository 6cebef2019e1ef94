//! Orders (brightpearl-api.md §4.1–§4.9, §4.20): sales-order POST (atomic, rows inline), Order GET
//! and Sales Order GET, OPTIONS, the two order searches, status PUT with the cancel rules, notes,
//! custom fields, Order PATCH, and invoicing (`sales-order/{id}/close`).
//!
//! Error codes the reference does not list are guesses, all `ORDC-`:
//! 007 customer missing, 008 unknown contact, 009 bad status, 010 unknown warehouse, 011 unknown
//! channel, 012 unknown shipping method, 013 unknown price list, 014 unknown product, 015 row without
//! productId or name, 016 bad taxCode, 017 bad quantity, 018 bad net/tax, 019 text over its §5.3a
//! limit, 020 unparsable date, 021 bad currency, 030–035 status change refusals, 040 note text
//! missing, 050/051 custom fields, 060 already invoiced.

// guess: every ORDC code above except those brightpearl-api.md §1.6 lists (brightpearl-api.md §1.6)

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::hooks::Event;
use super::idset::get_uris;
use super::request::{Outcome, Req, id_set, plain, single_id};
use super::search::{Column, Kind, col, col_ref, search};
use super::sim::Inner;
use super::state::{Invoice, Order, OrderNote, OrderRow, State};
use super::wire::{self, Fixed, limits, too_long};
use crate::sandbox::common::lock;

/// The account's base currency.
pub const ACCOUNT_CURRENCY: &str = "USD";

pub fn route(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let method = &request.method;
    match (method, segments.as_slice()) {
        (&Method::POST, ["sales-order"]) => create_sales_order(inner, request),
        (&Method::GET, ["sales-order", ids]) => plain(get_sales_orders(inner, ids)),
        (&Method::OPTIONS, ["sales-order", rest @ ..]) => {
            plain(options(inner, "sales-order", rest.first().copied()))
        }
        (&Method::POST, ["sales-order", id, "close"]) => close(inner, request, id),
        (&Method::GET, ["order", ids]) => plain(get_orders(inner, request, ids)),
        (&Method::OPTIONS, ["order", rest @ ..]) => {
            plain(options(inner, "order", rest.first().copied()))
        }
        (&Method::PATCH, ["order", id]) => patch_order(inner, request, id),
        (&Method::PUT, ["order", id, "status"]) => put_status(inner, request, id),
        (&Method::POST, ["order", id, "note"]) => post_note(inner, request, id),
        (&Method::GET, ["order", id, "note", rest @ ..]) => {
            plain(get_notes(inner, id, rest.first().copied()))
        }
        (&Method::GET, ["order", id, "custom-field"]) => plain(get_custom_fields(inner, id)),
        (&Method::PATCH, ["order", id, "custom-field"]) => patch_custom_fields(inner, request, id),
        (&Method::GET, ["order-search"]) => plain(order_search(inner, request)),
        (&Method::GET, ["sales-order-search"]) => plain(sales_order_search(inner, request)),
        (&Method::GET, ["order-status", rest @ ..]) => {
            plain(super::lookups::order_statuses(inner, rest.first().copied()))
        }
        (&Method::GET, ["sale", "custom-field-meta-data", rest @ ..]) => plain(
            super::lookups::custom_field_meta(inner, rest.first().copied()),
        ),
        _ => plain(request.not_found()),
    }
}

/// Collects validation errors so several can be reported at once (§1.6).
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn add(&mut self, code: &str, message: impl Into<String>) {
        self.0.push((code.to_owned(), message.into()));
    }

    fn check_length(&mut self, field: &str, value: &str, limit: usize) {
        if let Some(message) = too_long(field, value, limit) {
            self.add("ORDC-019", message);
        }
    }

    fn into_response(self) -> Option<Response> {
        (!self.0.is_empty()).then(|| wire::errors(StatusCode::BAD_REQUEST, self.0))
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn id_of(value: &Value) -> Option<u32> {
    match value {
        Value::Number(number) => number.as_u64().and_then(|id| u32::try_from(id).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

/// Read an address object sent on an order, checking the §5.3a limits; returns the flat map Order
/// GET renders.
pub fn read_address(
    value: &Value,
    field: &str,
    problems: &mut Vec<(String, String)>,
    code: &str,
) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(object) = value.as_object() else {
        return out;
    };
    for (key, limit) in limits::ADDRESS_FIELDS {
        if let Some(text) = object.get(*key).and_then(text) {
            if let Some(message) = too_long(&format!("{field}.{key}"), &text, *limit) {
                problems.push((code.to_owned(), message));
            }
            out.insert((*key).to_owned(), Value::String(text));
        }
    }
    let country_code = object
        .get("countryIsoCode")
        .and_then(text)
        .or_else(|| object.get("countryId").and_then(text));
    if let Some(code_text) = country_code {
        match wire::country(&code_text) {
            Some((two, three, name, id)) => {
                out.insert("country".into(), json!(name));
                out.insert("countryId".into(), json!(id));
                out.insert("countryIsoCode".into(), json!(two));
                out.insert("countryIsoCode3".into(), json!(three));
            }
            // guess: an unknown country code is kept as sent rather than refused
            // (brightpearl-api.md §4.1 leaves 2- vs 3-letter acceptance open)
            None => {
                out.insert("countryIsoCode".into(), json!(code_text));
            }
        }
    }
    out
}

/// The flat party map of a contact's address of `kind` (DEF/BIL/DEL), as Order GET shows it.
fn contact_party(state: &State, contact_id: u32, kind: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(contact) = state.contacts.get(&contact_id) else {
        return out;
    };
    let full_name = format!("{} {}", contact.first_name, contact.last_name)
        .trim()
        .to_owned();
    out.insert("addressFullName".into(), json!(full_name));
    out.insert("companyName".into(), json!(contact.company_name));
    let address_id = contact
        .post_address_ids
        .get(kind)
        .or_else(|| contact.post_address_ids.get("DEF"));
    if let Some(address) = address_id.and_then(|id| state.addresses.get(id)) {
        for (key, value) in &address.fields {
            out.insert(key.clone(), value.clone());
        }
        out.insert("country".into(), json!(address.country_name));
        out.insert("countryId".into(), json!(address.country_id));
        out.insert("countryIsoCode".into(), json!(address.country_iso2));
        out.insert("countryIsoCode3".into(), json!(address.country_iso3));
    }
    if let Some(phone) = contact.telephones.get("PRI") {
        out.insert("telephone".into(), json!(phone));
    }
    if let Some(email) = contact.emails.get("PRI") {
        out.insert("email".into(), json!(email));
    }
    out
}

fn create_sales_order(inner: &Inner, request: &Req) -> Outcome {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return plain(response),
    };
    let now = inner.now();
    let mut state = lock(&inner.state);
    let mut problems = Problems::default();
    let mut address_problems = Vec::new();

    let customer_id = body
        .pointer("/customer/id")
        .or_else(|| body.get("customerId"))
        .and_then(id_of);
    match customer_id {
        None => problems.add("ORDC-007", "customer.id is required"),
        Some(id) if !state.contacts.contains_key(&id) => {
            problems.add("ORDC-008", format!("Contact {id} does not exist"))
        }
        Some(_) => {}
    }
    let customer_id = customer_id.unwrap_or_default();
    let billing_contact_id = match body.pointer("/billing/contactId").and_then(id_of) {
        Some(id) if !state.contacts.contains_key(&id) => {
            problems.add("ORDC-008", format!("billing.contactId {id} does not exist"));
            id
        }
        Some(id) => id,
        None => customer_id,
    };

    let reference = body.get("ref").and_then(text).unwrap_or_default();
    problems.check_length("ref", &reference, limits::ORDER_REF);
    let external_ref = body.get("externalRef").and_then(text);
    if let Some(external_ref) = &external_ref {
        problems.check_length("externalRef", external_ref, limits::ORDER_EXTERNAL_REF);
    }

    let status_id = match body.get("statusId").filter(|v| !v.is_null()) {
        None => state.default_status_id,
        Some(value) => match id_of(value) {
            Some(id)
                if state
                    .order_statuses
                    .get(&id)
                    .is_some_and(|status| status.order_type_code == "SO") =>
            {
                id
            }
            _ => {
                problems.add(
                    "ORDC-009",
                    format!("statusId {value} is not a sales order status"),
                );
                0
            }
        },
    };

    let mut lookup = |key: &str, code: &str, what: &str, exists: &dyn Fn(u32) -> bool| -> u32 {
        match body.pointer(key).filter(|v| !v.is_null()) {
            None => 0,
            Some(value) => match id_of(value) {
                Some(id) if exists(id) => id,
                // An explicit 0 means "none", as Order GET renders unset ids.
                None if value.as_u64() == Some(0) => 0,
                _ => {
                    problems.add(code, format!("{what} {value} does not exist"));
                    0
                }
            },
        }
    };
    let warehouse_id = lookup("/warehouseId", "ORDC-010", "warehouseId", &|id| {
        state.warehouses.contains_key(&id)
    });
    let channel_id = lookup("/channelId", "ORDC-011", "channelId", &|id| {
        state.channels.contains_key(&id)
    });
    let shipping_method_id = lookup(
        "/delivery/shippingMethodId",
        "ORDC-012",
        "delivery.shippingMethodId",
        &|id| state.shipping_methods.contains_key(&id),
    );
    let price_list_id = lookup("/priceListId", "ORDC-013", "priceListId", &|id| {
        state.price_lists.contains_key(&id)
    });
    let warehouse_id = if warehouse_id == 0 {
        // guess: without warehouseId the order goes to the account's first warehouse
        // (brightpearl-api.md §4.1 lists warehouseId as optional)
        state.warehouses.keys().next().copied().unwrap_or_default()
    } else {
        warehouse_id
    };

    let mut date = |key: &str| -> Option<DateTime<Utc>> {
        let value = body.pointer(key).filter(|v| !v.is_null())?;
        match value.as_str().and_then(|text| inner.dates.parse(text)) {
            Some(at) => Some(at),
            None => {
                problems.add(
                    "ORDC-020",
                    format!("{} {value} is not a date", key.trim_start_matches('/')),
                );
                None
            }
        }
    };
    let placed_on = date("/placedOn").unwrap_or(now);
    let tax_date = date("/taxDate");
    let delivery_date = date("/delivery/date");

    let currency_code = body
        .pointer("/currency/code")
        .and_then(Value::as_str)
        .unwrap_or(ACCOUNT_CURRENCY)
        .to_owned();
    if currency_code.len() != 3 || !currency_code.chars().all(|c| c.is_ascii_uppercase()) {
        problems.add(
            "ORDC-021",
            format!("currency.code '{currency_code}' is not an ISO currency code"),
        );
    }
    let exchange_rate = body
        .pointer("/currency/exchangeRate")
        .and_then(Fixed::from_json)
        .unwrap_or(Fixed::from_int(1));

    let customer_address = match body.pointer("/customer/address") {
        Some(value) => read_address(value, "customer.address", &mut address_problems, "ORDC-019"),
        None => contact_party(&state, customer_id, "DEF"),
    };
    let billing_address = match body.pointer("/billing/address") {
        Some(value) => read_address(value, "billing.address", &mut address_problems, "ORDC-019"),
        None => contact_party(&state, billing_contact_id, "BIL"),
    };
    let delivery_address = match body.pointer("/delivery/address") {
        Some(value) => read_address(value, "delivery.address", &mut address_problems, "ORDC-019"),
        None => customer_address.clone(),
    };
    problems.0.extend(address_problems);

    let mut rows = Vec::new();
    let empty = Vec::new();
    let row_values = body.get("rows").and_then(Value::as_array).unwrap_or(&empty);
    for (index, row) in row_values.iter().enumerate() {
        let field = |name: &str| format!("rows[{index}].{name}");
        let product = match row.get("productId").filter(|v| !v.is_null()) {
            Some(value) => match id_of(value).and_then(|id| state.products.get(&id)) {
                Some(product) => Some(product.clone()),
                None => {
                    problems.add(
                        "ORDC-014",
                        format!("{} {value} does not exist", field("productId")),
                    );
                    None
                }
            },
            None => None,
        };
        let name = row.get("name").and_then(text);
        if row.get("productId").is_none_or(Value::is_null) && name.is_none() {
            problems.add(
                "ORDC-015",
                format!("{} or {} is required", field("productId"), field("name")),
            );
        }
        if let Some(name) = &name {
            problems.check_length(&field("name"), name, limits::ROW_NAME);
        }
        let row_external_ref = row.get("externalRef").and_then(text);
        if let Some(external_ref) = &row_external_ref {
            problems.check_length(
                &field("externalRef"),
                external_ref,
                limits::ROW_EXTERNAL_REF,
            );
        }
        let tax_code = row.get("taxCode").and_then(text);
        let tax_rate = match &tax_code {
            None => {
                problems.add("ORDC-016", format!("{} is required", field("taxCode")));
                Fixed(0)
            }
            Some(code) => match state.tax_codes.values().find(|tax| tax.code == *code) {
                Some(tax) => tax.rate.unwrap_or_default(),
                None => {
                    problems.add(
                        "ORDC-016",
                        format!("{} '{code}' does not exist", field("taxCode")),
                    );
                    Fixed(0)
                }
            },
        };
        let quantity = row.get("quantity").and_then(Fixed::from_json);
        match quantity {
            None => problems.add(
                "ORDC-017",
                format!("{} is missing or not a number", field("quantity")),
            ),
            Some(quantity) if quantity.0 <= 0 => problems.add(
                "ORDC-017",
                format!("{} must be positive", field("quantity")),
            ),
            // Stock-tracked products take whole quantities (§4.1).
            Some(quantity)
                if !quantity.is_integer()
                    && product
                        .as_ref()
                        .is_some_and(|product| product.stock_tracked) =>
            {
                problems.add(
                    "ORDC-017",
                    format!(
                        "{} must be a whole number for a stock-tracked product",
                        field("quantity")
                    ),
                )
            }
            Some(_) => {}
        }
        // guess: `net` (the row total) is required; `tax` defaults to net × the tax code's rate
        // (brightpearl-api.md §4.1 and §5.3 advise sending both)
        let net = row.get("net").and_then(Fixed::from_json);
        if net.is_none() {
            problems.add(
                "ORDC-018",
                format!(
                    "{} is missing or not a number with at most 4 decimals",
                    field("net")
                ),
            );
        }
        let net = net.unwrap_or_default();
        let tax = match row.get("tax").filter(|v| !v.is_null()) {
            None => Fixed((net.0 * tax_rate.0) / (100 * Fixed::SCALE)),
            Some(value) => Fixed::from_json(value).unwrap_or_else(|| {
                problems.add(
                    "ORDC-018",
                    format!("{} is not a number with at most 4 decimals", field("tax")),
                );
                Fixed(0)
            }),
        };
        rows.push(OrderRow {
            id: 0,
            sequence: 0,
            product_id: product.as_ref().map(|product| product.id),
            name: name
                .or_else(|| product.as_ref().map(|product| product.name.clone()))
                .unwrap_or_default(),
            sku: product
                .as_ref()
                .map(|product| product.sku.clone())
                .unwrap_or_default(),
            quantity: quantity.unwrap_or_default(),
            net,
            tax,
            tax_code: tax_code.unwrap_or_default(),
            tax_rate,
            nominal_code: row
                .get("nominalCode")
                .and_then(text)
                .unwrap_or_else(|| "4000".into()),
            external_ref: row_external_ref,
            item_cost: product
                .as_ref()
                .map(|product| product.cost)
                .unwrap_or_default(),
        });
    }
    if let Some(response) = problems.into_response() {
        // Atomic: nothing is created when anything is wrong (§4.1).
        return plain(response);
    }

    let id = state.ids.next_order();
    let mut order = Order {
        id,
        reference,
        external_ref,
        status_id,
        version: 1,
        customer_id,
        billing_contact_id,
        customer_address,
        billing_address,
        delivery_address,
        delivery_date,
        shipping_method_id,
        placed_on: Some(placed_on),
        created_on: Some(now),
        updated_on: Some(now),
        tax_date,
        channel_id,
        warehouse_id,
        staff_owner_id: body.get("staffOwnerId").and_then(id_of).unwrap_or_default(),
        project_id: body.get("projectId").and_then(id_of).unwrap_or_default(),
        lead_source_id: body.get("leadSourceId").and_then(id_of).unwrap_or_default(),
        team_id: body.get("teamId").and_then(id_of).unwrap_or_default(),
        price_list_id,
        // guess: EXC when priceModeCode is absent (brightpearl-api.md §4.1)
        price_mode_code: body
            .get("priceModeCode")
            .and_then(Value::as_str)
            .unwrap_or("EXC")
            .to_owned(),
        installed_integration_instance_id: body
            .get("installedIntegrationInstanceId")
            .and_then(id_of)
            .unwrap_or_default(),
        currency_code,
        exchange_rate,
        ..Order::default()
    };
    for (index, mut row) in rows.into_iter().enumerate() {
        row.id = state.ids.next_row();
        row.sequence = (index as u32 + 1) * 10;
        order.rows.insert(row.id, row);
    }
    state.orders.insert(id, order);
    // guess: `order.modified` fires on creation as well (brightpearl-api.md §4.16, ryansmiller)
    (
        wire::ok(json!(id)),
        vec![
            Event::new("sales-order.created", id),
            Event::new("order.modified", id),
        ],
    )
}

/// Quantities per order row: (allocated on goods-out notes, shipped).
fn fulfilment(state: &State, order_id: u32) -> BTreeMap<u32, (i64, i64)> {
    let mut out: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
    for note in state
        .goods_out
        .values()
        .filter(|note| note.order_id == order_id)
    {
        for (row_id, (_, quantity)) in &note.rows {
            let entry = out.entry(*row_id).or_default();
            entry.0 += quantity;
            if note.shipped.is_some() {
                entry.1 += quantity;
            }
        }
    }
    for note in state
        .drop_ship
        .values()
        .filter(|note| note.order_id == order_id)
    {
        for (row_id, (_, quantity)) in &note.rows {
            let entry = out.entry(*row_id).or_default();
            entry.0 += quantity;
            if note.shipped.is_some() {
                entry.1 += quantity;
            }
        }
    }
    out
}

/// Status codes derived from goods-out notes: (stock, allocation, shipping) (§4.3).
// guess: stockStatusCode SOA/SOP/SON/NON mirrors allocation; allocation AAA/APA/ANA/ANR
// (brightpearl-api.md §4.3 lists the codes without their rules)
pub fn status_codes(state: &State, order: &Order) -> (&'static str, &'static str, &'static str) {
    let done = fulfilment(state, order.id);
    let tracked: Vec<&OrderRow> = order
        .rows
        .values()
        .filter(|row| {
            row.product_id
                .and_then(|id| state.products.get(&id))
                .is_some_and(|product| product.stock_tracked)
        })
        .collect();
    if tracked.is_empty() {
        return ("NON", "ANR", "NST");
    }
    let needed = |row: &OrderRow| row.quantity.whole();
    let allocated_all = tracked
        .iter()
        .all(|row| done.get(&row.id).map_or(0, |q| q.0) >= needed(row));
    let allocated_any = tracked
        .iter()
        .any(|row| done.get(&row.id).is_some_and(|q| q.0 > 0));
    let shipped_all = tracked
        .iter()
        .all(|row| done.get(&row.id).map_or(0, |q| q.1) >= needed(row));
    let shipped_any = tracked
        .iter()
        .any(|row| done.get(&row.id).is_some_and(|q| q.1 > 0));
    let (stock, allocation) = match (allocated_all, allocated_any) {
        (true, _) => ("SOA", "AAA"),
        (false, true) => ("SOP", "APA"),
        (false, false) => ("SON", "ANA"),
    };
    let shipping = match (shipped_all, shipped_any) {
        (true, _) => "ASS",
        (false, true) => "SPS",
        (false, false) => "SNS",
    };
    (stock, allocation, shipping)
}

fn totals(order: &Order) -> (Fixed, Fixed) {
    order
        .rows
        .values()
        .fold((Fixed(0), Fixed(0)), |(net, tax), row| {
            (Fixed(net.0 + row.net.0), Fixed(tax.0 + row.tax.0))
        })
}

pub fn payment_status(order: &Order) -> &'static str {
    let (net, tax) = totals(order);
    let total = net.0 + tax.0;
    if order.paid.0 <= 0 {
        "UNPAID"
    } else if order.paid.0 >= total {
        "PAID"
    } else {
        "PARTIALLY_PAID"
    }
}

fn party(contact_id: Option<u32>, address: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    if let Some(id) = contact_id {
        out.insert("contactId".into(), json!(id));
    }
    for (key, value) in address {
        out.insert(key.clone(), value.clone());
    }
    Value::Object(out)
}

/// Render an order as Order GET does (§4.3).
pub fn render_order(inner: &Inner, state: &State, order: &Order, custom_fields: bool) -> Value {
    let dates = &inner.dates;
    let (stock, allocation, shipping) = status_codes(state, order);
    let (net, tax) = totals(order);
    let base = |value: Fixed| value.div(order.exchange_rate);
    let status_name = state
        .order_statuses
        .get(&order.status_id)
        .map(|status| status.name.clone())
        .unwrap_or_default();
    let currency = &order.currency_code;
    let rows: Map<String, Value> = order
        .rows
        .values()
        .map(|row| {
            let unit = row.net.div(row.quantity);
            (
                row.id.to_string(),
                json!({
                    "orderRowSequence": row.sequence.to_string(),
                    "productId": row.product_id.unwrap_or_default(),
                    "productName": row.name,
                    "productSku": row.sku,
                    "quantity": {"magnitude": row.quantity.format(4)},
                    "itemCost": {"currencyCode": currency, "value": row.item_cost.format(4)},
                    "productPrice": {"currencyCode": currency, "value": unit.format(4)},
                    "discountPercentage": "0.00",
                    "rowValue": {
                        "taxRate": row.tax_rate.format(4),
                        "taxCode": row.tax_code,
                        "taxCalculator": "brightpearl",
                        "rowNet": {"currencyCode": currency, "value": row.net.format(4)},
                        "rowTax": {"currencyCode": currency, "value": row.tax.format(2)},
                        "taxClassId": 2,
                    },
                    "nominalCode": row.nominal_code,
                    "composition": {"bundleParent": false, "bundleChild": false, "parentOrderRowId": 0},
                    "clonedFromId": 0,
                }),
            )
        })
        .collect();
    // Uninvoiced orders still carry `invoices` with an empty reference (§4.20).
    let invoices = match &order.invoice {
        Some(invoice) => json!([{
            "invoiceReference": invoice.reference,
            "taxDate": dates.format(invoice.tax_date),
            "dueDate": dates.format(invoice.due_date),
        }]),
        None => json!([{"invoiceReference": ""}]),
    };
    let mut out = json!({
        "id": order.id,
        "parentOrderId": 0,
        "orderTypeCode": "SO",
        "reference": order.reference,
        "version": order.version,
        "state": {"tax": if order.invoice.is_some() { "INVOICED" } else { "READY" }},
        "orderStatus": {"orderStatusId": order.status_id, "name": status_name},
        "tax": {"errors": []},
        "orderPaymentStatus": payment_status(order),
        "stockStatusCode": stock,
        "allocationStatusCode": allocation,
        "shippingStatusCode": shipping,
        "placedOn": dates.format_opt(order.placed_on),
        "createdOn": dates.format_opt(order.created_on),
        "updatedOn": dates.format_opt(order.updated_on),
        "closedOn": dates.format_opt(order.invoice.as_ref().map(|invoice| invoice.closed_on)),
        "createdById": 1,
        "priceListId": order.price_list_id,
        "priceModeCode": order.price_mode_code,
        "delivery": {
            "deliveryDate": dates.format_opt(order.delivery_date),
            "shippingMethodId": order.shipping_method_id,
        },
        "invoices": invoices,
        "currency": {
            "accountingCurrencyCode": ACCOUNT_CURRENCY,
            "orderCurrencyCode": order.currency_code,
            "exchangeRate": format!("{}00", order.exchange_rate.format(4)),
            "fixedExchangeRate": false,
        },
        "totalValue": {
            "net": net.format(2),
            "taxAmount": tax.format(2),
            "baseNet": base(net).format(2),
            "baseTaxAmount": base(tax).format(2),
            "baseTotal": base(Fixed(net.0 + tax.0)).format(2),
            "total": Fixed(net.0 + tax.0).format(2),
        },
        "assignment": {"current": {
            "staffOwnerContactId": order.staff_owner_id,
            "projectId": order.project_id,
            "channelId": order.channel_id,
            "leadSourceId": order.lead_source_id,
            "teamId": order.team_id,
        }},
        "parties": {
            "customer": party(Some(order.customer_id), &order.customer_address),
            "delivery": party(None, &order.delivery_address),
            "billing": party(Some(order.billing_contact_id), &order.billing_address),
        },
        "orderRows": rows,
        "warehouseId": order.warehouse_id,
        "acknowledged": 0,
        "costPriceListId": 1,
        "historicalOrder": false,
        "orderWeighting": 100,
    });
    if let Some(tax_date) = order.tax_date {
        out["originalInvoiceDate"] = json!(dates.format(tax_date));
    }
    // guess: Order GET does not echo `installedIntegrationInstanceId` or `externalRef` (neither
    // appears in recorded orders; both are search columns) (brightpearl-api.md §4.3)
    if custom_fields {
        out["customFields"] = render_custom_fields(order);
    }
    out
}

fn get_orders(inner: &Inner, request: &Req, ids: &str) -> Response {
    let set = match id_set(Some(ids), Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let optional = request.query("includeOptional").unwrap_or_default();
    let custom = optional.split(',').any(|item| item == "customFields");
    let null_custom = optional.split(',').any(|item| item == "nullCustomFields");
    let state = lock(&inner.state);
    // Unknown ids are skipped; none known gives `200 []` (§1.3).
    let orders: Vec<Value> = set
        .select(state.orders.keys().copied())
        .into_iter()
        .filter_map(|id| state.orders.get(&id))
        .map(|order| {
            let mut value = render_order(inner, &state, order, custom);
            if null_custom {
                let missing: Vec<&str> = state
                    .custom_fields
                    .iter()
                    .filter(|meta| !order.custom_fields.contains_key(&meta.code))
                    .map(|meta| meta.code.as_str())
                    .collect();
                value["nullCustomFields"] = json!(missing);
            }
            value
        })
        .collect();
    wire::ok(Value::Array(orders))
}

/// Sales Order GET: the flat shape of §4.4.
// guess: Sales Order GET echoes `externalRef` (medusa reads it) while Order GET does not
// (brightpearl-api.md §4.3 marks that UNCONFIRMED)
fn get_sales_orders(inner: &Inner, ids: &str) -> Response {
    let set = match id_set(Some(ids), Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let dates = &inner.dates;
    let orders: Vec<Value> = set
        .select(state.orders.keys().copied())
        .into_iter()
        .filter_map(|id| state.orders.get(&id))
        .map(|order| {
            let (stock, allocation, shipping) = status_codes(&state, order);
            let (net, tax) = totals(order);
            json!({
                "id": order.id,
                "customer": {"id": order.customer_id, "address": order.customer_address},
                "billing": {"contactId": order.billing_contact_id, "address": order.billing_address},
                "ref": order.reference,
                "externalRef": order.external_ref,
                "placedOn": dates.format_opt(order.placed_on),
                "taxDate": dates.format_opt(order.tax_date),
                "statusId": order.status_id,
                "channelId": order.channel_id,
                "warehouseId": order.warehouse_id,
                "staffOwnerId": order.staff_owner_id,
                "priceListId": order.price_list_id,
                "priceModeCode": order.price_mode_code,
                "installedIntegrationInstanceId": order.installed_integration_instance_id,
                "currency": {"code": order.currency_code, "exchangeRate": order.exchange_rate.format(4), "fixedExchangeRate": false},
                "delivery": {"date": dates.format_opt(order.delivery_date), "address": order.delivery_address, "shippingMethodId": order.shipping_method_id},
                "rows": order.rows.values().map(|row| json!({
                    "id": row.id,
                    "productId": row.product_id,
                    "name": row.name,
                    "sku": row.sku,
                    "quantity": row.quantity.format(4),
                    "net": row.net.format(4),
                    "tax": row.tax.format(4),
                    "taxCode": row.tax_code,
                    "nominalCode": row.nominal_code,
                    "externalRef": row.external_ref,
                })).collect::<Vec<_>>(),
                "createdOn": dates.format_opt(order.created_on),
                "createdBy": 1,
                "updatedOn": dates.format_opt(order.updated_on),
                "total": {
                    "net": net.format(4), "tax": tax.format(4), "gross": Fixed(net.0 + tax.0).format(4),
                    "baseNet": net.format(4), "baseTax": tax.format(4), "baseGross": Fixed(net.0 + tax.0).format(4),
                },
                "isCanceled": state.cancelled_status_id.map(|id| id == order.status_id),
                "orderPaymentStatus": payment_status(order),
                "allocationStatusCode": allocation,
                "shippingStatusCode": shipping,
                "stockStatusCode": stock,
            })
        })
        .collect();
    wire::ok(Value::Array(orders))
}

fn options(inner: &Inner, resource: &str, ids: Option<&str>) -> Response {
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let ids = set.select(state.orders.keys().copied());
    wire::ok(json!({"getUris": get_uris(resource, &ids, 200)}))
}

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

fn put_status(inner: &Inner, request: &Req, id: &str) -> Outcome {
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

fn post_note(inner: &Inner, request: &Req, id: &str) -> Outcome {
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

fn get_notes(inner: &Inner, id: &str, ids: Option<&str>) -> Response {
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

fn render_custom_fields(order: &Order) -> Value {
    let map: Map<String, Value> = order
        .custom_fields
        .iter()
        .map(|(code, value)| (code.clone(), value.clone()))
        .collect();
    Value::Object(map)
}

fn get_custom_fields(inner: &Inner, id: &str) -> Response {
    let state = lock(&inner.state);
    match single_id(Some(id)).and_then(|id| state.orders.get(&id)) {
        Some(order) => wire::ok(render_custom_fields(order)),
        None => wire::not_found(format!("Order {id} not found")),
    }
}

/// `PATCH /order/{id}/custom-field` (§4.8): JSON Patch on existing codes; SELECT takes `{id}` and
/// is stored as `{id, value}`.
fn patch_custom_fields(inner: &Inner, request: &Req, id: &str) -> Outcome {
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
fn patch_order(inner: &Inner, request: &Req, id: &str) -> Outcome {
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

/// Invoice an order (§4.20): sets the invoice reference, tax date, due date and `closedOn`.
// guess: invoicing leaves the order status alone; status names are account labels (brightpearl-api.md §4.20)
pub fn invoice(
    inner: &Inner,
    order_id: u32,
    tax_date: Option<DateTime<Utc>>,
) -> Result<(String, Vec<Event>), String> {
    let now = inner.now();
    let mut state = lock(&inner.state);
    match state.orders.get(&order_id) {
        None => return Err(format!("Order {order_id} not found")),
        Some(order) if order.invoice.is_some() => {
            return Err(format!("Order {order_id} has already been invoiced"));
        }
        Some(_) => {}
    }
    let number = state.ids.next_invoice();
    let reference = format!("SI-{number}");
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
    order.version += 1;
    order.updated_on = Some(now);
    Ok((reference, vec![Event::new("order.modified", order_id)]))
}

fn close(inner: &Inner, request: &Req, id: &str) -> Outcome {
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

const ORDER_SEARCH: &[Column] = &[
    col("orderId", Kind::IdSet),
    col_ref("orderTypeId", Kind::IdSet, "orderTypeNames"),
    col("contactId", Kind::Integer),
    col_ref("orderStatusId", Kind::Integer, "orderStatusNames"),
    col_ref("orderStockStatusId", Kind::Integer, "orderStockStatusNames"),
    col("createdOn", Kind::Period),
    col("createdById", Kind::Integer),
    col("customerRef", Kind::Text),
    col_ref(
        "orderPaymentStatusId",
        Kind::Integer,
        "orderPaymentStatusNames",
    ),
    col("updatedOn", Kind::Period),
    col("parentOrderId", Kind::IdSet),
    col_ref(
        "orderShippingStatusId",
        Kind::Integer,
        "orderShippingStatusNames",
    ),
    col("externalRef", Kind::Text),
    col("installedIntegrationInstanceId", Kind::Integer),
    col("warehouseId", Kind::IdSet),
    col("staffOwnerContactId", Kind::Integer),
    col("taxDate", Kind::Period),
    col("departmentId", Kind::Integer),
    col("deliveryDate", Kind::Period),
];

const SALES_ORDER_SEARCH: &[Column] = &[
    col("salesOrderId", Kind::IdSet),
    col("customerId", Kind::Integer),
    col_ref("orderStatusId", Kind::Integer, "orderStatusNames"),
    col("orderStockStatus", Kind::Text),
    col("createdOn", Kind::Period),
    col("createdById", Kind::Integer),
    col("customerRef", Kind::Text),
    col("orderPaymentStatus", Kind::Text),
    col("updatedOn", Kind::Period),
    col("orderShippingStatus", Kind::Text),
    col("externalRef", Kind::Text),
    col("installedIntegrationInstanceId", Kind::Integer),
    col("warehouseId", Kind::IdSet),
    col("staffOwnerId", Kind::Integer),
    col("taxDate", Kind::Period),
    col("channelId", Kind::Integer),
    col("deliveryDate", Kind::Period),
];

// guess: the numeric ids behind the stock/payment status names (brightpearl-api.md §4.5 shows the
// map names only); shipping ids follow the order-shipping-status list of §4.3
const STOCK_STATUSES: &[(u32, &str)] = &[(1, "NON"), (2, "SON"), (3, "SOP"), (4, "SOA")];
const PAYMENT_STATUSES: &[(u32, &str)] = &[
    (1, "PAID"),
    (2, "UNPAID"),
    (3, "PARTIALLY_PAID"),
    (4, "NOT_APPLICABLE"),
];
const SHIPPING_STATUSES: &[(u32, &str)] = &[(1, "NST"), (2, "SNS"), (3, "SPS"), (4, "ASS")];

fn code_id(table: &[(u32, &str)], code: &str) -> u32 {
    table
        .iter()
        .find(|(_, name)| *name == code)
        .map_or(0, |(id, _)| *id)
}

fn label_map(table: &[(u32, &str)]) -> Value {
    Value::Object(
        table
            .iter()
            .map(|(id, name)| (id.to_string(), json!(name)))
            .collect(),
    )
}

fn order_reference(state: &State) -> Map<String, Value> {
    let mut reference = Map::new();
    reference.insert(
        "orderTypeNames".into(),
        json!({"1": "SALES_ORDER", "2": "PURCHASE_ORDER", "3": "SALES_CREDIT", "4": "PURCHASE_CREDIT"}),
    );
    reference.insert(
        "orderStatusNames".into(),
        Value::Object(
            state
                .order_statuses
                .values()
                .map(|status| (status.id.to_string(), json!(status.name)))
                .collect(),
        ),
    );
    reference.insert("orderStockStatusNames".into(), label_map(STOCK_STATUSES));
    reference.insert(
        "orderPaymentStatusNames".into(),
        label_map(PAYMENT_STATUSES),
    );
    reference.insert(
        "orderShippingStatusNames".into(),
        label_map(SHIPPING_STATUSES),
    );
    reference
}

fn order_search(inner: &Inner, request: &Req) -> Response {
    let state = lock(&inner.state);
    let dates = &inner.dates;
    let rows: Vec<Vec<Value>> = state
        .orders
        .values()
        .map(|order| {
            let (stock, _, shipping) = status_codes(&state, order);
            vec![
                json!(order.id),
                json!(1),
                json!(order.customer_id),
                json!(order.status_id),
                json!(code_id(STOCK_STATUSES, stock)),
                dates.format_opt(order.created_on),
                json!(1),
                json!(order.reference),
                json!(code_id(PAYMENT_STATUSES, payment_status(order))),
                dates.format_opt(order.updated_on),
                json!(0),
                json!(code_id(SHIPPING_STATUSES, shipping)),
                json!(order.external_ref),
                json!(order.installed_integration_instance_id),
                json!(order.warehouse_id),
                json!(order.staff_owner_id),
                dates.format_opt(order.tax_date),
                json!(0),
                dates.format_opt(order.delivery_date),
            ]
        })
        .collect();
    search(inner, request, ORDER_SEARCH, rows, &order_reference(&state))
}

fn sales_order_search(inner: &Inner, request: &Req) -> Response {
    let state = lock(&inner.state);
    let dates = &inner.dates;
    // Resource filters (§4.5): customerRefs (STRING_SET), productIds (IDSET), isHistoricalOrder.
    let customer_refs: Option<Vec<&str>> = request
        .query("customerRefs")
        .map(|refs| refs.split(',').map(str::trim).collect());
    let product_ids = match request.query("productIds") {
        Some(value) => match super::idset::IdSet::parse(value) {
            Ok(set) if !value.trim().is_empty() => Some(set),
            _ => return wire::unparsable_filter("productIds", value, "IDSET"),
        },
        None => None,
    };
    if let Some(value) = request.query("isHistoricalOrder")
        && !matches!(value.to_ascii_lowercase().as_str(), "true" | "false")
    {
        return wire::unparsable_filter("isHistoricalOrder", value, "BOOLEAN");
    }
    let historical_only = request
        .query("isHistoricalOrder")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let rows: Vec<Vec<Value>> = state
        .orders
        .values()
        .filter(|order| {
            customer_refs
                .as_ref()
                .is_none_or(|refs| refs.contains(&order.reference.as_str()))
        })
        .filter(|order| {
            product_ids.as_ref().is_none_or(|set| {
                order
                    .rows
                    .values()
                    .any(|row| row.product_id.is_some_and(|id| set.contains(id)))
            })
        })
        .filter(|_| !historical_only)
        .map(|order| {
            let (stock, _, shipping) = status_codes(&state, order);
            vec![
                json!(order.id),
                json!(order.customer_id),
                json!(order.status_id),
                json!(stock),
                dates.format_opt(order.created_on),
                json!(1),
                json!(order.reference),
                json!(payment_status(order)),
                dates.format_opt(order.updated_on),
                json!(shipping),
                json!(order.external_ref),
                json!(order.installed_integration_instance_id),
                json!(order.warehouse_id),
                json!(order.staff_owner_id),
                dates.format_opt(order.tax_date),
                json!(order.channel_id),
                dates.format_opt(order.delivery_date),
            ]
        })
        .collect();
    search(
        inner,
        request,
        SALES_ORDER_SEARCH,
        rows,
        &order_reference(&state),
    )
}
