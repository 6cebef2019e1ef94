//! The sales-order POST (brightpearl-api.md §4.1): atomic, rows inline, every problem reported at
//! once; contact addresses fill the parties the body leaves out.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::input::{Problems, id_of, read_address, text};
use super::render::ACCOUNT_CURRENCY;
use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::request::{Outcome, Req, plain};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::{Order, OrderRow, State};
use crate::sandbox::brightpearl::wire::{self, Fixed, limits};
use crate::sandbox::common::lock;

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

pub(super) fn create_sales_order(inner: &Inner, request: &Req) -> Outcome {
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
    if inner.config.demo.is_some() {
        crate::sandbox::brightpearl::goods_notes::enroll_demo_order(&mut state, id, now);
    }
    // guess: `order.modified` fires on creation as well (brightpearl-api.md §4.16, ryansmiller)
    (
        wire::ok(json!(id)),
        vec![
            Event::new("sales-order.created", id),
            Event::new("order.modified", id),
        ],
    )
}
