//! Order wire types (`order-service`): the sales-order create body (brightpearl-api.md §4.1), the order
//! GET (§4.3), search rows (§4.5), status updates and notes (§4.6).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{
    ChannelId, ContactId, NoteId, OrderId, OrderStatusId, PriceListId, ProductId, ShippingMethodId,
    WarehouseId,
};

// ---------------------------------------------------------------------------------------------
// Sales order create (POST /order-service/sales-order, brightpearl-api.md §4.1)

/// Body of `POST /order-service/sales-order`: the order and its rows, created atomically.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrder {
    pub customer: SalesOrderCustomer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing: Option<SalesOrderBilling>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placed_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<OrderStatusId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse_id: Option<WarehouseId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_owner_id: Option<ContactId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_list_id: Option<PriceListId>,
    /// Lead source (brightpearl-api.md §4.1 assignment fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_source_id: Option<u64>,
    /// `INC` or `EXC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_mode_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_integration_instance_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<SalesOrderCurrency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<SalesOrderDelivery>,
    pub rows: Vec<SalesOrderRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderCustomer {
    pub id: ContactId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderBilling {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderCurrency {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_exchange_rate: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderDelivery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_method_id: Option<ShippingMethodId>,
}

/// A row of a sales order create. `net` and `tax` are row totals, strings with ≤ 4 dp.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderRow {
    /// Product row; `None` with `name` set makes a free-text row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<ProductId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub quantity: String,
    pub tax_code: String,
    pub net: String,
    pub tax: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nominal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
}

/// Address object used on sales orders and postal-address create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_iso_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_telephone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Order GET (brightpearl-api.md §4.3)

/// One item of `GET /order-service/order/{ID-SET}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: OrderId,
    #[serde(default)]
    pub parent_order_id: Option<u64>,
    #[serde(default)]
    pub order_type_code: Option<String>,
    /// Customer reference (`ref` on the sales-order resource).
    #[serde(default)]
    pub reference: Option<String>,
    /// Not seen in recorded Order GETs (brightpearl-api.md §4.3); present when Brightpearl echoes it.
    #[serde(default)]
    pub external_ref: Option<String>,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub order_status: Option<OrderStatusRef>,
    #[serde(default)]
    pub order_payment_status: Option<String>,
    #[serde(default)]
    pub stock_status_code: Option<String>,
    #[serde(default)]
    pub allocation_status_code: Option<String>,
    #[serde(default)]
    pub shipping_status_code: Option<String>,
    #[serde(default)]
    pub placed_on: Option<String>,
    #[serde(default)]
    pub created_on: Option<String>,
    #[serde(default)]
    pub updated_on: Option<String>,
    #[serde(default)]
    pub closed_on: Option<String>,
    #[serde(default)]
    pub price_list_id: Option<PriceListId>,
    #[serde(default)]
    pub price_mode_code: Option<String>,
    #[serde(default)]
    pub warehouse_id: Option<WarehouseId>,
    #[serde(default)]
    pub delivery: Option<OrderDelivery>,
    #[serde(default)]
    pub invoices: Vec<OrderInvoice>,
    #[serde(default)]
    pub currency: Option<OrderCurrency>,
    #[serde(default)]
    pub total_value: Option<OrderTotalValue>,
    #[serde(default)]
    pub assignment: Option<OrderAssignment>,
    #[serde(default)]
    pub parties: Option<OrderParties>,
    /// Keyed by order row id as a string.
    #[serde(default)]
    pub order_rows: BTreeMap<String, OrderRow>,
    #[serde(default)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Order {
    /// The order's invoice when Brightpearl has invoiced it: `invoices[].invoiceReference` a
    /// non-empty string other than `"pending"` (brightpearl-api.md §4.20; never the status name).
    pub fn invoiced(&self) -> Option<&OrderInvoice> {
        self.invoices.iter().find(|i| {
            i.invoice_reference
                .as_deref()
                .map(str::trim)
                .is_some_and(|r| !r.is_empty() && !r.eq_ignore_ascii_case("pending"))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusRef {
    pub order_status_id: OrderStatusId,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDelivery {
    #[serde(default)]
    pub delivery_date: Option<String>,
    /// 0 means none.
    #[serde(default)]
    pub shipping_method_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderInvoice {
    /// Empty until invoiced, `"pending"` while invoicing (brightpearl-api.md §4.20).
    #[serde(default)]
    pub invoice_reference: Option<String>,
    #[serde(default)]
    pub tax_date: Option<String>,
    #[serde(default)]
    pub due_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCurrency {
    #[serde(default)]
    pub accounting_currency_code: Option<String>,
    #[serde(default)]
    pub order_currency_code: Option<String>,
    #[serde(default)]
    pub exchange_rate: Option<String>,
    #[serde(default)]
    pub fixed_exchange_rate: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderTotalValue {
    #[serde(default)]
    pub net: Option<String>,
    #[serde(default)]
    pub tax_amount: Option<String>,
    #[serde(default)]
    pub base_net: Option<String>,
    #[serde(default)]
    pub base_tax_amount: Option<String>,
    #[serde(default)]
    pub base_total: Option<String>,
    #[serde(default)]
    pub total: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAssignment {
    #[serde(default)]
    pub current: Option<OrderAssignmentCurrent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAssignmentCurrent {
    #[serde(default)]
    pub staff_owner_contact_id: Option<u64>,
    #[serde(default)]
    pub project_id: Option<u64>,
    #[serde(default)]
    pub channel_id: Option<u64>,
    #[serde(default)]
    pub lead_source_id: Option<u64>,
    #[serde(default)]
    pub team_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderParties {
    #[serde(default)]
    pub customer: Option<OrderParty>,
    #[serde(default)]
    pub delivery: Option<OrderParty>,
    #[serde(default)]
    pub billing: Option<OrderParty>,
    #[serde(default)]
    pub supplier: Option<OrderParty>,
}

/// A party on an order GET: flat address keys (no nested `address`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderParty {
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    #[serde(default)]
    pub address_full_name: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub address_line1: Option<String>,
    #[serde(default)]
    pub address_line2: Option<String>,
    #[serde(default)]
    pub address_line3: Option<String>,
    #[serde(default)]
    pub address_line4: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub telephone: Option<String>,
    #[serde(default)]
    pub mobile_telephone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub country_iso_code: Option<String>,
    #[serde(default)]
    pub country_iso_code3: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    #[serde(default)]
    pub order_row_sequence: Option<String>,
    #[serde(default)]
    pub product_id: Option<ProductId>,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub product_sku: Option<String>,
    #[serde(default)]
    pub external_ref: Option<String>,
    #[serde(default)]
    pub quantity: Option<Magnitude>,
    #[serde(default)]
    pub item_cost: Option<Money>,
    #[serde(default)]
    pub product_price: Option<Money>,
    #[serde(default)]
    pub discount_percentage: Option<String>,
    #[serde(default)]
    pub row_value: Option<RowValue>,
    #[serde(default)]
    pub nominal_code: Option<String>,
    #[serde(default)]
    pub composition: Option<RowComposition>,
}

/// `{"magnitude": "1.0000"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Magnitude {
    pub magnitude: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    #[serde(default)]
    pub currency_code: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowValue {
    #[serde(default)]
    pub tax_rate: Option<String>,
    #[serde(default)]
    pub tax_code: Option<String>,
    #[serde(default)]
    pub row_net: Option<Money>,
    #[serde(default)]
    pub row_tax: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowComposition {
    #[serde(default)]
    pub bundle_parent: Option<bool>,
    #[serde(default)]
    pub bundle_child: Option<bool>,
    #[serde(default)]
    pub parent_order_row_id: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Order search rows (brightpearl-api.md §4.5), decoded by column name

/// A row of `/order-service/order-search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderSearchRow {
    pub order_id: OrderId,
    #[serde(default)]
    pub order_type_id: Option<u64>,
    #[serde(default)]
    pub contact_id: Option<u64>,
    #[serde(default)]
    pub order_status_id: Option<u64>,
    #[serde(default)]
    pub customer_ref: Option<String>,
    #[serde(default)]
    pub external_ref: Option<String>,
    #[serde(default)]
    pub created_on: Option<String>,
    #[serde(default)]
    pub updated_on: Option<String>,
    #[serde(default)]
    pub installed_integration_instance_id: Option<u64>,
    #[serde(default)]
    pub warehouse_id: Option<u64>,
}

/// A row of `/order-service/sales-order-search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesOrderSearchRow {
    pub sales_order_id: OrderId,
    #[serde(default)]
    pub customer_id: Option<u64>,
    #[serde(default)]
    pub order_status_id: Option<u64>,
    #[serde(default)]
    pub customer_ref: Option<String>,
    #[serde(default)]
    pub external_ref: Option<String>,
    #[serde(default)]
    pub order_shipping_status: Option<String>,
    #[serde(default)]
    pub created_on: Option<String>,
    #[serde(default)]
    pub updated_on: Option<String>,
    #[serde(default)]
    pub channel_id: Option<u64>,
}

/// Body of `PUT /order-service/order/{ID}/status` (brightpearl-api.md §4.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusUpdate {
    pub order_status_id: OrderStatusId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_note: Option<OrderNote>,
}

/// Body of `POST /order-service/order/{ID}/note`, and the note inside a status update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNote {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_on: Option<String>,
}

/// One note of `GET /order-service/order/{ID}/note` (brightpearl-api.md §4.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNoteEntry {
    pub note_id: NoteId,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub is_public: Option<bool>,
    #[serde(default)]
    pub added_on: Option<String>,
    #[serde(default)]
    pub added_by: Option<u64>,
    #[serde(default)]
    pub contact_id: Option<u64>,
    #[serde(default)]
    pub order_status_id: Option<u64>,
}

/// One of `GET /order-service/order-status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatus {
    pub status_id: OrderStatusId,
    pub name: String,
    #[serde(default)]
    pub order_type_code: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub visible: Option<bool>,
    #[serde(default)]
    pub state: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_notes_read_with_missing_and_null_fields() {
        let notes: Vec<OrderNoteEntry> = serde_json::from_value(serde_json::json!([
            {"noteId": 7, "contactId": 4, "text": "hello", "isPublic": false,
             "addedOn": "2026-01-02T10:00:00.000+00:00", "addedBy": 1, "orderStatusId": 2,
             "fileId": null},
            {"noteId": 8, "text": null}
        ]))
        .unwrap();
        assert_eq!(notes[0].note_id, NoteId(7));
        assert_eq!(notes[0].text.as_deref(), Some("hello"));
        assert_eq!(notes[0].order_status_id, Some(2));
        assert_eq!(notes[1].text, None);
    }

    #[test]
    fn an_order_is_invoiced_by_its_reference_never_by_its_status_name() {
        let order = |invoices: serde_json::Value, status: &str| -> Order {
            serde_json::from_value(serde_json::json!({
                "id": 1,
                "orderStatus": {"orderStatusId": 4, "name": status},
                "invoices": invoices,
            }))
            .unwrap()
        };
        let none = order(serde_json::json!([{"invoiceReference": ""}]), "Invoiced");
        assert!(none.invoiced().is_none());
        let pending = order(serde_json::json!([{"invoiceReference": "pending"}]), "New");
        assert!(pending.invoiced().is_none());
        let done = order(
            serde_json::json!([{"invoiceReference": "SI-1001", "taxDate": "2026-11-21T00:00:00.000+01:00"}]),
            "Complete",
        );
        let invoice = done.invoiced().unwrap();
        assert_eq!(invoice.invoice_reference.as_deref(), Some("SI-1001"));
        assert_eq!(
            invoice.tax_date.as_deref(),
            Some("2026-11-21T00:00:00.000+01:00")
        );
    }
}
