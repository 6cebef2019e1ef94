//! How orders read back (brightpearl-api.md §4.3, §4.4): Order GET and Sales Order GET, OPTIONS,
//! and the status codes derived from goods-out and drop-ship notes.

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::sandbox::brightpearl::idset::get_uris;
use crate::sandbox::brightpearl::request::{Req, id_set};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::{Order, OrderRow, State};
use crate::sandbox::brightpearl::wire::{self, Fixed};
use crate::sandbox::common::lock;

/// The account's base currency.
pub const ACCOUNT_CURRENCY: &str = "USD";

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

pub(super) fn totals(order: &Order) -> (Fixed, Fixed) {
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

/// The text keys of a party on Order GET, in the recorded order (brightpearl-api.md §4.3).
const PARTY_TEXT_KEYS: &[&str] = &[
    "addressFullName",
    "companyName",
    "addressLine1",
    "addressLine2",
    "addressLine3",
    "addressLine4",
    "postalCode",
    "country",
    "telephone",
    "mobileTelephone",
    "fax",
    "email",
    "countryIsoCode",
    "countryIsoCode3",
];

/// A party as Order GET shows it: every text key present, `""` when empty, as in every recorded
/// real order (brightpearl-api.md §4.3: `"mobileTelephone": ""`, `"fax": ""`).
fn party(contact_id: Option<u32>, address: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    if let Some(id) = contact_id {
        out.insert("contactId".into(), json!(id));
    }
    for key in PARTY_TEXT_KEYS {
        let value = address.get(*key).cloned().unwrap_or_else(|| json!(""));
        out.insert((*key).into(), value);
    }
    // guess: `countryId` (a number) is left out when the party has no country, rather than sent
    // as 0 or "" (every recorded party has a country)
    for (key, value) in address {
        out.entry(key.clone()).or_insert_with(|| value.clone());
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
        None if order.invoicing => json!([{"invoiceReference": "pending"}]),
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

pub(super) fn get_orders(inner: &Inner, request: &Req, ids: &str) -> Response {
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
pub(super) fn get_sales_orders(inner: &Inner, ids: &str) -> Response {
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

pub(super) fn options(inner: &Inner, resource: &str, ids: Option<&str>) -> Response {
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let ids = set.select(state.orders.keys().copied());
    wire::ok(json!({"getUris": get_uris(resource, &ids, 200)}))
}

pub(super) fn render_custom_fields(order: &Order) -> Value {
    let map: Map<String, Value> = order
        .custom_fields
        .iter()
        .map(|(code, value)| (code.clone(), value.clone()))
        .collect();
    Value::Object(map)
}
