//! Brightpearl wire types: field names, nesting and types exactly as on the wire (reference §4).
//! Money and quantities are strings where Brightpearl sends strings. No business rules here.
//! Unknown fields are ignored on input; optional fields we send are omitted when `None`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }
    )*};
}

id_newtype!(
    /// An order id (sales orders are orders).
    OrderId,
    /// An order row id (keys of `orderRows`).
    OrderRowId,
    ProductId,
    ContactId,
    PostalAddressId,
    WarehouseId,
    ShippingMethodId,
    OrderStatusId,
    ChannelId,
    PriceListId,
    TaxCodeId,
    GoodsOutNoteId,
    WebhookId,
    NoteId,
);

// ---------------------------------------------------------------------------------------------
// Sales order create (POST /order-service/sales-order, reference §4.1)

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
    /// Lead source (reference §4.1 assignment fields).
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
// Order GET (reference §4.3)

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
    /// Not seen in recorded Order GETs (reference §4.3); present when Brightpearl echoes it.
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
    /// Empty until invoiced, `"pending"` while invoicing (reference §4.20).
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
// Order search rows (reference §4.5), decoded by column name

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

/// Body of `PUT /order-service/order/{ID}/status` (reference §4.6).
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

// ---------------------------------------------------------------------------------------------
// Products (reference §4.10, §4.11)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: ProductId,
    #[serde(default)]
    pub brand_id: Option<u64>,
    #[serde(default)]
    pub product_type_id: Option<u64>,
    #[serde(default)]
    pub identity: ProductIdentity,
    #[serde(default)]
    pub stock: Option<ProductStock>,
    #[serde(default)]
    pub financial_details: Option<serde_json::Value>,
    #[serde(default)]
    pub sales_channels: Vec<ProductSalesChannel>,
    #[serde(default)]
    pub composition: Option<ProductComposition>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_on: Option<String>,
    #[serde(default)]
    pub updated_on: Option<String>,
    #[serde(default)]
    pub version: Option<u64>,
}

/// Empty identifiers may be omitted entirely on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductIdentity {
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub isbn: Option<String>,
    #[serde(default)]
    pub ean: Option<String>,
    #[serde(default)]
    pub upc: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductStock {
    #[serde(default)]
    pub stock_tracked: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSalesChannel {
    #[serde(default)]
    pub sales_channel_name: Option<String>,
    #[serde(default)]
    pub product_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductComposition {
    #[serde(default)]
    pub bundle: Option<bool>,
}

/// A row of `/product-service/product-search` (column names as recorded: `SKU`, `EAN`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSearchRow {
    #[serde(rename = "productId")]
    pub product_id: ProductId,
    #[serde(rename = "productName", default)]
    pub product_name: Option<String>,
    #[serde(rename = "SKU", default)]
    pub sku: Option<String>,
    #[serde(rename = "barcode", default)]
    pub barcode: Option<String>,
    #[serde(rename = "EAN", default)]
    pub ean: Option<String>,
    #[serde(rename = "UPC", default)]
    pub upc: Option<String>,
    #[serde(rename = "MPN", default)]
    pub mpn: Option<String>,
    #[serde(rename = "stockTracked", default)]
    pub stock_tracked: Option<bool>,
    #[serde(rename = "productStatus", default)]
    pub product_status: Option<String>,
}

/// Which identifier column a product search filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductIdentifier {
    Sku,
    Ean,
    Upc,
    Barcode,
    Mpn,
}

impl ProductIdentifier {
    /// The search column name, case-sensitive (reference §1.12).
    pub fn column(self) -> &'static str {
        match self {
            ProductIdentifier::Sku => "SKU",
            ProductIdentifier::Ean => "EAN",
            ProductIdentifier::Upc => "UPC",
            ProductIdentifier::Barcode => "barcode",
            ProductIdentifier::Mpn => "MPN",
        }
    }
}

/// One product of `GET /warehouse-service/product-availability/{ID-SET}` (integers on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductAvailability {
    pub total: StockLevels,
    /// Keyed by warehouse id as a string; only warehouses holding the product appear.
    #[serde(default)]
    pub warehouses: BTreeMap<String, StockLevels>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLevels {
    #[serde(default)]
    pub in_stock: i64,
    #[serde(default)]
    pub on_hand: i64,
    #[serde(default)]
    pub allocated: i64,
    #[serde(default)]
    pub in_transit: i64,
}

// ---------------------------------------------------------------------------------------------
// Lookups (reference §4.12, §4.13, §4.18)

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warehouse {
    pub id: WarehouseId,
    pub name: String,
    #[serde(default)]
    pub type_code: Option<String>,
    #[serde(default)]
    pub type_description: Option<String>,
    #[serde(default)]
    pub address: Option<WarehouseAddressRef>,
    #[serde(default)]
    pub click_and_collect_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarehouseAddressRef {
    #[serde(default)]
    pub address_id: Option<PostalAddressId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingMethod {
    pub id: ShippingMethodId,
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub breaks: Option<String>,
    #[serde(default)]
    pub method_type: Option<i64>,
    #[serde(default)]
    pub additional_information_required: Option<bool>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub countries: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
    #[serde(default)]
    pub channel_type_id: Option<u64>,
    #[serde(default)]
    pub channel_brand_id: Option<u64>,
    #[serde(default)]
    pub default_warehouse_id: Option<WarehouseId>,
    #[serde(default)]
    pub default_price_list_id: Option<PriceListId>,
    #[serde(default)]
    pub warehouse_ids: Vec<WarehouseId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceList {
    pub id: PriceListId,
    pub name: LocalisedText,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub price_list_type_code: Option<String>,
    #[serde(default)]
    pub gross: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalisedText {
    #[serde(default)]
    pub language_code: Option<String>,
    pub text: String,
    #[serde(default)]
    pub format: Option<String>,
}

/// `rate` is a JSON number and absent when the code has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxCode {
    pub id: TaxCodeId,
    pub code: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub rate: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Contacts (reference §4.17)

/// A row of `/contact-service/contact-search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactSearchRow {
    pub contact_id: ContactId,
    #[serde(default)]
    pub primary_email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub is_customer: Option<bool>,
    #[serde(default)]
    pub is_supplier: Option<bool>,
}

/// Body of `POST /contact-service/contact`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewContact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salutation: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// `DEF`, `BIL`, `DEL` → postal address id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub post_address_ids: BTreeMap<String, PostalAddressId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communication: Option<ContactCommunication>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship_to_account: Option<RelationshipToAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketing_details: Option<MarketingDetails>,
    /// The company; nesting as on Contact GET (`organisation.name`). Guess: the create nesting
    /// beyond names, addresses and emails is UNCONFIRMED (reference §4.17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<ContactOrganisation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactOrganisation {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCommunication {
    /// `PRI`, `SEC`, `TER` → `{email}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub emails: BTreeMap<String, ContactEmail>,
    /// `PRI`, `SEC`, `MOB`, `FAX` → number.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub telephones: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEmail {
    pub email: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipToAccount {
    pub is_supplier: bool,
    pub is_staff: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketingDetails {
    pub is_receive_email_newsletter: bool,
}

// ---------------------------------------------------------------------------------------------
// Goods-out notes (reference §4.14)

/// One value of the map returned by the goods-out note GET (keyed by note id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsOutNote {
    pub order_id: OrderId,
    #[serde(default)]
    pub warehouse_id: Option<WarehouseId>,
    #[serde(default)]
    pub transfer: Option<bool>,
    #[serde(default)]
    pub priority: Option<bool>,
    #[serde(default)]
    pub status: Option<GoodsOutNoteStatus>,
    #[serde(default)]
    pub shipping: Option<GoodsOutNoteShipping>,
    #[serde(default)]
    pub release_date: Option<String>,
    #[serde(default)]
    pub created_on: Option<String>,
    #[serde(default)]
    pub created_by: Option<u64>,
    /// Order row id (string) → picks, possibly from several locations.
    #[serde(default)]
    pub order_rows: BTreeMap<String, Vec<GoodsOutNoteRow>>,
    #[serde(default)]
    pub sequence: Option<u64>,
    #[serde(default)]
    pub events: Vec<GoodsOutNoteEvent>,
    #[serde(default)]
    pub last_event_version: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsOutNoteStatus {
    #[serde(default)]
    pub shipped: bool,
    #[serde(default)]
    pub packed: bool,
    #[serde(default)]
    pub picked: bool,
    #[serde(default)]
    pub printed: bool,
    #[serde(default)]
    pub shipped_on: Option<String>,
    #[serde(default)]
    pub shipped_by_id: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsOutNoteShipping {
    /// The tracking number.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub shipping_method_id: Option<u64>,
    #[serde(default)]
    pub boxes: Option<u64>,
    #[serde(default)]
    pub weight: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsOutNoteRow {
    pub product_id: ProductId,
    /// A JSON number on the wire.
    pub quantity: f64,
    #[serde(default)]
    pub location_id: Option<u64>,
}

/// `occured` is Brightpearl's spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsOutNoteEvent {
    pub occured: String,
    #[serde(default)]
    pub event_owner_id: Option<u64>,
    pub event_code: String,
}

/// A row of `/warehouse-service/goods-note/goods-out-search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsOutNoteSearchRow {
    pub goods_out_note_id: GoodsOutNoteId,
    #[serde(default)]
    pub order_id: Option<u64>,
    #[serde(default)]
    pub warehouse_id: Option<u64>,
    #[serde(default)]
    pub shipped: Option<bool>,
    #[serde(default)]
    pub shipped_on: Option<String>,
    #[serde(default)]
    pub shipping_method_id: Option<u64>,
    #[serde(default)]
    pub created_on: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Webhooks (reference §4.16)

/// Body of `POST /integration-service/webhook`; GET returns the same plus `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<WebhookId>,
    pub subscribe_to: String,
    pub http_method: String,
    pub uri_template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_set_accepted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_of_service: Option<u8>,
}

// ---------------------------------------------------------------------------------------------
// OAuth token endpoint (reference §2.3): snake_case JSON

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    pub access_token: crate::secret::Secret<String>,
    #[serde(default)]
    pub refresh_token: Option<crate::secret::Secret<String>>,
    /// A string on the wire; absent from refresh answers.
    #[serde(default)]
    pub installation_instance_id: Option<String>,
    #[serde(default)]
    pub api_domain: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}
