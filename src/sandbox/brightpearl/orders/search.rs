//! The two order searches (brightpearl-api.md §4.5): `order-search` and `sales-order-search`,
//! with their columns, reference maps and resource filters.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::render::{payment_status, status_codes};
use crate::sandbox::brightpearl::idset::IdSet;
use crate::sandbox::brightpearl::request::Req;
use crate::sandbox::brightpearl::search::{Column, Kind, col, col_ref, search};
use crate::sandbox::brightpearl::sim::Inner;
use crate::sandbox::brightpearl::state::State;
use crate::sandbox::brightpearl::wire;
use crate::sandbox::common::lock;

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

const ORDER_NOTE_SEARCH: &[Column] = &[
    // guess: `orderId` filters as an ID set, like the order search's (brightpearl-api.md §4.7
    // lists the columns only)
    col("orderId", Kind::IdSet),
    col("noteId", Kind::IdSet),
    col("contactId", Kind::Integer),
    col("noteText", Kind::Text),
    col("isPublic", Kind::Boolean),
    col("dateAdded", Kind::Period),
    col("addedBy", Kind::Integer),
    col("orderStatusId", Kind::Integer),
];

/// `GET /order-service/order-note-search` (§4.7): every note of every order.
pub(super) fn order_note_search(inner: &Inner, request: &Req) -> Response {
    let state = lock(&inner.state);
    let dates = &inner.dates;
    let rows: Vec<Vec<Value>> = state
        .orders
        .values()
        .flat_map(|order| {
            order.notes.iter().map(move |note| {
                vec![
                    json!(order.id),
                    json!(note.id),
                    json!(order.customer_id),
                    json!(note.text),
                    json!(note.is_public),
                    dates.format_opt(Some(note.added_on)),
                    json!(note.added_by),
                    json!(note.order_status_id),
                ]
            })
        })
        .collect();
    search(inner, request, ORDER_NOTE_SEARCH, rows, &Map::new())
}

pub(super) fn order_search(inner: &Inner, request: &Req) -> Response {
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

pub(super) fn sales_order_search(inner: &Inner, request: &Req) -> Response {
    let state = lock(&inner.state);
    let dates = &inner.dates;
    // Resource filters (§4.5): customerRefs (STRING_SET), productIds (IDSET), isHistoricalOrder.
    let customer_refs: Option<Vec<&str>> = request
        .query("customerRefs")
        .map(|refs| refs.split(',').map(str::trim).collect());
    let product_ids = match request.query("productIds") {
        Some(value) => match IdSet::parse(value) {
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
