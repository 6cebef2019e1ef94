//! DSCO API v3 wire types: names and types as in `dsco-openapi-v3.yaml` (camelCase, ids as
//! strings, money and quantities as JSON numbers). No business rules. Rithum only adds fields, so
//! unknown fields are ignored; enum-like strings (`dscoLifecycle`, `orderType`, ...) stay strings
//! because casing varies in practice (dsco-api.md §8.8).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! string_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

string_id!(
    /// `dscoOrderId`.
    OrderId,
    /// `dscoItemId`.
    ItemId,
    /// `requestId` of an asynchronous update.
    RequestId,
);

/// Observed payloads carry explicit `null` where the spec has arrays or objects
/// (dsco-api.md §2.4): read `null` as the empty value instead of failing the whole page.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Shared response shapes (dsco-api.md §1.7)

/// `ApiResponseMessage`: `description` may be a string, an object or an array of strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResponseMessage {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Value>,
}

impl ApiResponseMessage {
    /// The description as one line, whatever its JSON form.
    pub fn description_text(&self) -> String {
        match &self.description {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join("; "),
            Some(other) => other.to_string(),
        }
    }
}

/// `AsyncUpdateResponse` / `SyncUpdateResponse` (identical fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateResponse {
    /// `success`, `failure` or `pending`.
    pub status: String,
    pub request_id: RequestId,
    pub event_date: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<ApiResponseMessage>,
}

/// `SuccessFailResponse` of the single-object creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuccessFailResponse {
    pub success: bool,
}

/// A change-log answer (`/order/log`, `/inventory/log`, `/invoice/log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeLogResponse {
    #[serde(default)]
    pub scroll_id: Option<String>,
    /// `PROCESSING` or `COMPLETED`, only when queried by `requestId`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub logs: Vec<ChangeLogEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeLogEntry {
    /// The object as submitted.
    pub payload: Value,
    pub date_processed: String,
    /// `pending`, `success` or `failure`.
    pub status: String,
    /// `api`, `portal` or `file`.
    pub request_method: String,
    #[serde(default)]
    pub request_method_detail: Option<Value>,
    #[serde(default)]
    pub request_id: Option<RequestId>,
    #[serde(default)]
    pub process_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<ApiResponseMessage>,
}

// ---------------------------------------------------------------------------------------------
// Orders (dsco-api.md §2)

/// `PagedOrderResult` of `GET /order/page`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    #[serde(default, deserialize_with = "null_as_default")]
    pub orders: Vec<Order>,
    #[serde(default)]
    pub scroll_id: Option<String>,
}

/// A DSCO order as a supplier sees it. `poNumber`, `lineItems` and `shipping` are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(default)]
    pub dsco_order_id: Option<OrderId>,
    pub po_number: String,
    #[serde(default)]
    pub supplier_order_number: Option<String>,
    #[serde(default)]
    pub consumer_order_number: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub order_type: Option<String>,
    #[serde(default)]
    pub test_flag: Option<bool>,
    /// `received`, `created`, `acknowledged`, `completed`.
    #[serde(default)]
    pub dsco_lifecycle: Option<String>,
    /// Deprecated but still sent: `created`, `shipment_pending`, `shipped`, `cancelled`.
    #[serde(default)]
    pub dsco_status: Option<String>,
    #[serde(default)]
    pub dsco_retailer_id: Option<String>,
    #[serde(default)]
    pub dsco_supplier_id: Option<String>,
    #[serde(default)]
    pub dsco_trading_partner_id: Option<String>,
    #[serde(default)]
    pub dsco_trading_partner_name: Option<String>,
    #[serde(default)]
    pub dsco_create_date: Option<String>,
    #[serde(default)]
    pub dsco_last_update: Option<String>,
    #[serde(default)]
    pub retailer_create_date: Option<String>,
    #[serde(default)]
    pub consumer_order_date: Option<String>,
    #[serde(default)]
    pub acknowledge_by_date: Option<String>,
    #[serde(default)]
    pub ship_by_date: Option<String>,
    #[serde(default)]
    pub cancel_after_date: Option<String>,
    #[serde(default)]
    pub expected_delivery_date: Option<String>,
    #[serde(default)]
    pub required_delivery_date: Option<String>,
    #[serde(default)]
    pub ship_carrier: Option<String>,
    #[serde(default)]
    pub ship_method: Option<String>,
    #[serde(default)]
    pub shipping_service_level_code: Option<String>,
    #[serde(default)]
    pub requested_ship_carrier: Option<String>,
    #[serde(default)]
    pub requested_ship_method: Option<String>,
    #[serde(default)]
    pub requested_shipping_service_level_code: Option<String>,
    #[serde(default)]
    pub ship_warehouse_code: Option<String>,
    #[serde(default)]
    pub requested_warehouse_code: Option<String>,
    #[serde(default)]
    pub signature_required_flag: Option<bool>,
    #[serde(default)]
    pub ship_instructions: Option<String>,
    #[serde(default)]
    pub gift_flag: Option<bool>,
    #[serde(default)]
    pub gift_message: Option<String>,
    #[serde(default)]
    pub packing_instructions: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub shipping_surcharge: Option<f64>,
    #[serde(default)]
    pub order_total_amount: Option<f64>,
    #[serde(default)]
    pub extended_expected_cost_total: Option<f64>,
    #[serde(default)]
    pub cancel_requested: Option<bool>,
    #[serde(default)]
    pub cancel_requested_code: Option<String>,
    /// Required by the spec; `null` (seen on other address blocks) reads as empty.
    #[serde(deserialize_with = "null_as_default")]
    pub shipping: OrderAddress,
    #[serde(default)]
    pub bill_to: Option<OrderAddress>,
    #[serde(deserialize_with = "null_as_default")]
    pub line_items: Vec<OrderLineItem>,
    #[serde(default)]
    pub number_of_line_items: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub packages: Vec<Package>,
}

/// Where a DSCO order is in its life: `dscoLifecycle`, else the deprecated `dscoStatus` mapped
/// onto it (dsco-api.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Created,
    Acknowledged,
    Completed,
    Cancelled,
    /// Neither field names a state we know.
    Unknown,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Created => "created",
            Lifecycle::Acknowledged => "acknowledged",
            Lifecycle::Completed => "completed",
            Lifecycle::Cancelled => "cancelled",
            Lifecycle::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Order {
    /// The order's [`Lifecycle`]; a completed order whose status says `cancelled` is cancelled.
    pub fn lifecycle(&self) -> Lifecycle {
        let lifecycle = self
            .dsco_lifecycle
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase();
        match lifecycle.as_str() {
            "created" => return Lifecycle::Created,
            "acknowledged" | "received" => return Lifecycle::Acknowledged,
            "completed" => {
                return match self.dsco_status.as_deref() {
                    Some("cancelled") => Lifecycle::Cancelled,
                    _ => Lifecycle::Completed,
                };
            }
            "cancelled" => return Lifecycle::Cancelled,
            _ => {}
        }
        match self.dsco_status.as_deref().unwrap_or("") {
            "created" => Lifecycle::Created,
            "shipment_pending" => Lifecycle::Acknowledged,
            "shipped" => Lifecycle::Completed,
            "cancelled" => Lifecycle::Cancelled,
            _ => Lifecycle::Unknown,
        }
    }
}

/// `shipping` / `billTo`: new fields and their deprecated twins are both populated in practice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAddress {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub attention: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub address: Vec<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address_type: Option<String>,
    #[serde(default)]
    pub store_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineItem {
    #[serde(default)]
    pub line_number: Option<u32>,
    #[serde(default)]
    pub dsco_item_id: Option<ItemId>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub partner_sku: Option<String>,
    #[serde(default)]
    pub upc: Option<String>,
    #[serde(default)]
    pub ean: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
    #[serde(default)]
    pub isbn: Option<String>,
    #[serde(default)]
    pub gtin: Option<String>,
    pub quantity: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub expected_cost: Option<f64>,
    #[serde(default)]
    pub consumer_price: Option<f64>,
    #[serde(default)]
    pub retail_price: Option<f64>,
    #[serde(default)]
    pub warehouse_code: Option<String>,
    #[serde(default)]
    pub personalization: Option<String>,
    #[serde(default)]
    pub gift_message: Option<String>,
    /// `accepted`, `rejected`, `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub accepted_quantity: Option<i64>,
    #[serde(default)]
    pub cancelled_quantity: Option<i64>,
    #[serde(default)]
    pub rejected_quantity: Option<i64>,
    /// Stream-only in the OpenAPI; used only when present.
    #[serde(default)]
    pub shipped_quantity: Option<i64>,
    /// Stream-only in the OpenAPI; used only when present.
    #[serde(default)]
    pub remaining_quantity: Option<i64>,
    #[serde(default)]
    pub cancel_code: Option<String>,
    #[serde(default)]
    pub cancel_requested: Option<bool>,
    #[serde(default)]
    pub cancel_requested_code: Option<String>,
    #[serde(default)]
    pub retailer_line_id: Option<String>,
}

/// A shipment already recorded on an order (`packages[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub ship_carrier: Option<String>,
    #[serde(default)]
    pub ship_method: Option<String>,
    #[serde(default)]
    pub shipping_service_level_code: Option<String>,
    #[serde(default)]
    pub ship_date: Option<String>,
    #[serde(default)]
    pub dsco_package_id: Option<i64>,
    #[serde(default)]
    pub untracked: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<Value>,
}

impl Package {
    /// `(lineNumber, quantity)` of each item that names both.
    pub fn line_quantities(&self) -> Vec<(u32, i64)> {
        self.items
            .iter()
            .filter_map(|item| {
                let line = item.get("lineNumber")?.as_u64()?;
                let quantity = item.get("quantity")?.as_i64()?;
                Some((u32::try_from(line).ok()?, quantity))
            })
            .collect()
    }
}

/// Which identifier `GET /order/` looks an order up by (`orderKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    DscoOrderId,
    PoNumber,
    SupplierOrderNumber,
}

impl OrderKey {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKey::DscoOrderId => "dscoOrderId",
            OrderKey::PoNumber => "poNumber",
            OrderKey::SupplierOrderNumber => "supplierOrderNumber",
        }
    }
}

/// `type` of an `OrderId` / `OrderForCancel` (upper-case on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderIdType {
    DscoOrderId,
    PoNumber,
    SupplierOrderNumber,
}

/// One element of the `POST /order/acknowledge` array (the spec's `OrderId` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acknowledgement {
    pub id: String,
    #[serde(rename = "type")]
    pub id_type: OrderIdType,
    /// Stored on the order: the natural place for the Brightpearl order id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_order_number: Option<String>,
}

/// `OrderForCancel`: the supplier cancels lines of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderForCancel {
    /// A string: must be the numeric id when `type` is `DSCO_ORDER_ID`.
    pub id: String,
    #[serde(rename = "type")]
    pub id_type: OrderIdType,
    pub line_items: Vec<LineItemForCancel>,
}

/// `OrderLineItemForCancel`: `cancelledQuantity`, `cancelCode` and one item id are required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemForCancel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsco_item_id: Option<ItemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    pub cancelled_quantity: i64,
    /// e.g. `CXSS` (out of stock).
    pub cancel_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_reason: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Shipments (dsco-api.md §3)

/// `ShipmentsForUpdate`: one order (by one of three ids) and its packages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentsForUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsco_order_id: Option<OrderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub po_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_order_number: Option<String>,
    pub shipments: Vec<ShipmentForUpdate>,
}

/// `ShipmentForUpdate`: one package; `trackingNumber` and `lineItems` are required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentForUpdate {
    /// Required unless `untracked` is true (dsco-api.md §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    pub line_items: Vec<ShipmentLineItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_service_level_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_weight_units: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untracked: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentLineItem {
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsco_item_id: Option<ItemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Inventory (dsco-api.md §4)

/// `ItemInventory`: `sku` and at least one warehouse are required; `quantityAvailable` must equal
/// the sum of the warehouse quantities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemInventory {
    pub sku: String,
    pub warehouses: Vec<InventoryWarehouse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_available: Option<i64>,
    /// `in-stock`, `out-of-stock`, `discontinued`, `hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsco_item_id: Option<ItemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_availability_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryWarehouse {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_on_order: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

/// `itemKey` of `GET /inventory` and `GET /catalog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKey {
    DscoItemId,
    Sku,
    PartnerSku,
    Upc,
    Ean,
    Mpn,
    Isbn,
    Gtin,
}

impl ItemKey {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKey::DscoItemId => "dscoItemId",
            ItemKey::Sku => "sku",
            ItemKey::PartnerSku => "partnerSku",
            ItemKey::Upc => "upc",
            ItemKey::Ean => "ean",
            ItemKey::Mpn => "mpn",
            ItemKey::Isbn => "isbn",
            ItemKey::Gtin => "gtin",
        }
    }
}

/// `ItemCatalog`, the fields a supplier integration looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    pub sku: String,
    #[serde(default)]
    pub title: Option<String>,
    /// `pending`, `active`, `discontinued_sell_through`, `discontinued`.
    #[serde(default)]
    pub product_status: Option<String>,
    #[serde(default)]
    pub dsco_item_id: Option<ItemId>,
    #[serde(default)]
    pub upc: Option<String>,
    #[serde(default)]
    pub ean: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
    #[serde(default)]
    pub gtin: Option<String>,
    #[serde(default)]
    pub cost: Option<f64>,
    #[serde(default)]
    pub brand: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Invoices (dsco-api.md §5)

/// `Invoice`: `invoiceId` and `totalAmount` required, plus one order id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub invoice_id: String,
    pub total_amount: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsco_order_id: Option<OrderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub po_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_order_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_items_subtotal: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling_amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_tax_amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<InvoiceTerms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship: Option<InvoiceShip>,
    #[serde(default)]
    pub line_items: Vec<InvoiceLineItem>,
}

/// `GET /invoice` answers `{"invoices": [Invoice…]}` (dsco-api.md §4.6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvoicePage {
    #[serde(default)]
    pub invoices: Vec<Invoice>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceTerms {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    pub terms_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_due_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceShip {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level_code: Option<String>,
}

/// `quantity` and `unitPrice` are required (since Jan 2025), plus one item id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLineItem {
    pub quantity: i64,
    pub unit_price: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsco_item_id: Option<ItemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_service_level_code: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Warehouses and trading partners (dsco-api.md §6)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarehousePage {
    #[serde(default)]
    pub scroll_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub warehouses: Vec<Warehouse>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warehouse {
    #[serde(default)]
    pub warehouse_id: Option<String>,
    /// The supplier's warehouse code (what inventory and shipments use).
    pub code: String,
    #[serde(default)]
    pub supplier_id: Option<String>,
    #[serde(default)]
    pub retailer_code: Option<String>,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub address: Vec<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradingPartner {
    pub account_id: String,
    #[serde(default)]
    pub trading_partner_id: Option<String>,
    #[serde(default)]
    pub trading_partner_name: Option<String>,
    /// `onboarding`, `active`, `paused`, `terminated`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub default_retail_model: Option<String>,
    #[serde(default)]
    pub active_date: Option<String>,
    #[serde(default)]
    pub terminate_date: Option<String>,
}

/// `POST /oauth2/token` success.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    pub access_token: crate::secret::Secret<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_nulls_do_not_fail_an_order() {
        let body = r#"{"dscoOrderId":"1","poNumber":"PO-1","orderType":"dropship","billTo":{},
            "buyer":null,"packages":null,"shipping":{"name":"Pat","address":null,"city":"X"},
            "lineItems":[{"lineNumber":1,"sku":"EX-001","quantity":2,"expectedCost":7.7,
                          "someFutureField":{"a":1}}]}"#;
        let order: Order = serde_json::from_str(body).unwrap();
        assert!(order.packages.is_empty());
        assert!(order.shipping.address.is_empty());
        assert_eq!(order.line_items[0].quantity, 2);
        assert_eq!(order.bill_to, Some(OrderAddress::default()));
    }

    #[test]
    fn acknowledgement_wire_shape() {
        let ack = Acknowledgement {
            id: "1022000001".into(),
            id_type: OrderIdType::DscoOrderId,
            supplier_order_number: Some("BP-SO-10045".into()),
        };
        assert_eq!(
            serde_json::to_value(&ack).unwrap(),
            serde_json::json!({"id":"1022000001","type":"DSCO_ORDER_ID","supplierOrderNumber":"BP-SO-10045"})
        );
    }
}
