//! The simulator's world: every resource it holds, in plain structs behind one mutex.
//!
//! Rendering to the wire shapes lives with each resource's module; this file only declares data and
//! the id counters (ids ascend from 1 and are never reused, brightpearl-api.md §1.3).

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::wire::Fixed;

#[derive(Debug, Default)]
pub struct State {
    pub ids: Counters,
    pub products: BTreeMap<u32, Product>,
    /// `inStock` per (product id, warehouse id).
    pub stock: BTreeMap<(u32, u32), i64>,
    pub warehouses: BTreeMap<u32, Value>,
    pub shipping_methods: BTreeMap<u32, Value>,
    pub order_statuses: BTreeMap<u32, OrderStatus>,
    pub channels: BTreeMap<u32, Value>,
    pub price_lists: BTreeMap<u32, Value>,
    pub tax_codes: BTreeMap<u32, TaxCode>,
    pub custom_fields: Vec<CustomFieldMeta>,
    pub orders: BTreeMap<u32, Order>,
    pub contacts: BTreeMap<u32, Contact>,
    pub addresses: BTreeMap<u32, Address>,
    pub goods_out: BTreeMap<u32, GoodsOutNote>,
    pub drop_ship: BTreeMap<u32, DropShipNote>,
    pub webhooks: BTreeMap<u32, Webhook>,
    pub oauth: OAuth,
    /// Request instants per credential pool, for the rolling throttle window.
    pub throttle: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// The account's status settings: default for new sales orders, cancelled, invoiced.
    pub default_status_id: u32,
    pub cancelled_status_id: Option<u32>,
    pub invoiced_status_id: Option<u32>,
    /// The demo warehouse's work: sales orders created through the API, by id (only with the
    /// demo on).
    pub demo_orders: BTreeMap<u32, DemoOrder>,
}

/// One sales order the demo warehouse fulfils (`goods_notes/demo.rs`).
#[derive(Debug, Clone)]
pub struct DemoOrder {
    /// 1-based, in creation order: picks the planted variants.
    pub ordinal: u32,
    pub created: DateTime<Utc>,
    pub stage: DemoStage,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DemoStage {
    /// No note yet; notes appear at `created + note_after`.
    Waiting,
    /// Notes made; each is shipped at its time, with its tracking reference (none = untracked).
    Noted(Vec<DemoShipment>),
    /// Every note shipped: the order is invoiced at this time.
    Shipped(DateTime<Utc>),
    /// Every note shipped (or gone) and the order invoiced.
    Done,
    /// Not fulfilled, and why (cancelled, no product rows, notes made by someone else).
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoShipment {
    pub note_id: u32,
    pub ship_at: DateTime<Utc>,
    pub tracking: Option<String>,
    pub shipped: bool,
}

/// Next-id counters; each starts at 1 (or a realistic base where the reference shows one).
#[derive(Debug)]
pub struct Counters {
    pub product: u32,
    pub order: u32,
    pub row: u32,
    pub contact: u32,
    pub address: u32,
    pub note: u32,
    pub goods_out: u32,
    pub drop_ship: u32,
    pub webhook: u32,
    pub invoice: u32,
    pub event_version: u64,
    pub installation: u32,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            product: 1,
            order: 1,
            row: 1,
            contact: 1,
            address: 1,
            note: 1,
            goods_out: 1,
            drop_ship: 1,
            webhook: 1,
            invoice: 1001,
            event_version: 3_131_000,
            installation: 13,
        }
    }
}

fn next(counter: &mut u32) -> u32 {
    let id = *counter;
    *counter += 1;
    id
}

impl Counters {
    pub fn next_product(&mut self) -> u32 {
        next(&mut self.product)
    }
    pub fn next_order(&mut self) -> u32 {
        next(&mut self.order)
    }
    pub fn next_row(&mut self) -> u32 {
        next(&mut self.row)
    }
    pub fn next_contact(&mut self) -> u32 {
        next(&mut self.contact)
    }
    pub fn next_address(&mut self) -> u32 {
        next(&mut self.address)
    }
    pub fn next_note(&mut self) -> u32 {
        next(&mut self.note)
    }
    pub fn next_goods_out(&mut self) -> u32 {
        next(&mut self.goods_out)
    }
    pub fn next_drop_ship(&mut self) -> u32 {
        next(&mut self.drop_ship)
    }
    pub fn next_webhook(&mut self) -> u32 {
        next(&mut self.webhook)
    }
    pub fn next_invoice(&mut self) -> u32 {
        next(&mut self.invoice)
    }
    pub fn next_event_version(&mut self) -> u64 {
        self.event_version += 1;
        self.event_version
    }
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u32,
    pub sku: String,
    pub name: String,
    pub barcode: String,
    pub ean: String,
    pub upc: String,
    pub mpn: String,
    pub isbn: String,
    pub brand_id: u32,
    pub product_type_id: u32,
    pub product_group_id: u32,
    /// Always false for a bundle (brightpearl-api.md §4.10).
    pub stock_tracked: bool,
    /// A bundle's components as (product id, quantity per bundle); empty for other products.
    pub bundle_components: Vec<(u32, i64)>,
    pub tax_code_id: u32,
    pub status: String,
    /// Sell price and cost, four decimals.
    pub price: Fixed,
    pub cost: Fixed,
    pub created_on: DateTime<Utc>,
    pub updated_on: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct OrderStatus {
    pub id: u32,
    pub name: String,
    pub order_type_code: String,
    pub visible: bool,
    pub state: String,
    pub color: String,
}

#[derive(Debug, Clone)]
pub struct TaxCode {
    pub id: u32,
    pub code: String,
    pub description: String,
    /// Percentage; absent for codes without a rate (§4.18).
    pub rate: Option<Fixed>,
}

#[derive(Debug, Clone)]
pub struct CustomFieldMeta {
    pub id: u32,
    pub code: String,
    pub name: String,
    /// TEXT, TEXTAREA, YESNO, INTEGER, DATE, SELECT.
    pub field_type: String,
    /// SELECT options: id → value.
    pub options: BTreeMap<u32, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Order {
    pub id: u32,
    pub reference: String,
    pub external_ref: Option<String>,
    pub status_id: u32,
    pub version: u32,
    pub customer_id: u32,
    pub billing_contact_id: u32,
    /// Flat address maps as Order GET renders them (without `contactId`).
    pub customer_address: serde_json::Map<String, Value>,
    pub billing_address: serde_json::Map<String, Value>,
    pub delivery_address: serde_json::Map<String, Value>,
    pub delivery_date: Option<DateTime<Utc>>,
    pub shipping_method_id: u32,
    pub placed_on: Option<DateTime<Utc>>,
    pub created_on: Option<DateTime<Utc>>,
    pub updated_on: Option<DateTime<Utc>>,
    pub tax_date: Option<DateTime<Utc>>,
    pub channel_id: u32,
    pub warehouse_id: u32,
    pub staff_owner_id: u32,
    pub project_id: u32,
    pub lead_source_id: u32,
    pub team_id: u32,
    pub price_list_id: u32,
    pub price_mode_code: String,
    pub installed_integration_instance_id: u32,
    pub currency_code: String,
    pub exchange_rate: Fixed,
    pub rows: BTreeMap<u32, OrderRow>,
    pub notes: Vec<OrderNote>,
    pub custom_fields: BTreeMap<String, Value>,
    pub invoice: Option<Invoice>,
    /// Invoicing has begun but is not finished: the reference reads `"pending"` (§4.20).
    pub invoicing: bool,
    /// Sum of payments received.
    pub paid: Fixed,
}

#[derive(Debug, Clone, Default)]
pub struct OrderRow {
    pub id: u32,
    pub sequence: u32,
    pub product_id: Option<u32>,
    pub name: String,
    pub sku: String,
    pub quantity: Fixed,
    /// Row totals (not unit prices).
    pub net: Fixed,
    pub tax: Fixed,
    pub tax_code: String,
    pub tax_rate: Fixed,
    pub nominal_code: String,
    pub external_ref: Option<String>,
    pub item_cost: Fixed,
}

#[derive(Debug, Clone)]
pub struct OrderNote {
    pub id: u32,
    pub text: String,
    pub is_public: bool,
    pub added_on: DateTime<Utc>,
    pub added_by: u32,
    pub order_status_id: u32,
    pub file_id: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Invoice {
    pub reference: String,
    pub tax_date: DateTime<Utc>,
    pub due_date: DateTime<Utc>,
    pub closed_on: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub id: u32,
    pub salutation: String,
    pub first_name: String,
    pub last_name: String,
    pub company_name: String,
    /// PRI / SEC / TER.
    pub emails: BTreeMap<String, String>,
    /// PRI / SEC / MOB / FAX.
    pub telephones: BTreeMap<String, String>,
    /// DEF / BIL / DEL → address id.
    pub post_address_ids: BTreeMap<String, u32>,
    pub is_supplier: bool,
    pub is_staff: bool,
    pub is_customer: bool,
    pub price_list_id: u32,
    pub newsletter: bool,
    pub created_on: Option<DateTime<Utc>>,
    pub updated_on: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct Address {
    pub id: u32,
    pub contact_id: u32,
    /// addressLine1-4, postalCode, plus whatever address keys were sent.
    pub fields: serde_json::Map<String, Value>,
    pub country_iso2: String,
    pub country_iso3: String,
    pub country_id: u32,
    pub country_name: String,
}

#[derive(Debug, Clone)]
pub struct GoodsOutNote {
    pub id: u32,
    pub order_id: u32,
    pub warehouse_id: u32,
    pub priority: bool,
    pub reference: String,
    pub shipping_method_id: u32,
    pub boxes: Option<u32>,
    pub weight: Option<String>,
    pub release_date: DateTime<Utc>,
    pub created_on: DateTime<Utc>,
    pub created_by: u32,
    /// Order row id → (product id, quantity).
    pub rows: BTreeMap<u32, (u32, i64)>,
    pub sequence: u32,
    pub events: Vec<GoodsOutEvent>,
    pub printed: Option<(DateTime<Utc>, u32)>,
    pub picked: Option<(DateTime<Utc>, u32)>,
    pub packed: Option<(DateTime<Utc>, u32)>,
    pub shipped: Option<(DateTime<Utc>, u32)>,
    pub last_event_version: u64,
}

#[derive(Debug, Clone)]
pub struct GoodsOutEvent {
    pub occured: DateTime<Utc>,
    pub owner: u32,
    pub code: String,
}

#[derive(Debug, Clone)]
pub struct DropShipNote {
    pub id: u32,
    pub order_id: u32,
    pub purchase_order_id: u32,
    pub supplier_id: u32,
    pub created_on: DateTime<Utc>,
    /// Sales order row id → (product id, quantity).
    pub rows: BTreeMap<u32, (u32, i64)>,
    pub shipped: Option<(DateTime<Utc>, u32)>,
    pub tracking_reference: String,
    pub shipping_method_id: u32,
    pub events: Vec<GoodsOutEvent>,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: u32,
    pub subscribe_to: String,
    pub http_method: String,
    pub uri_template: String,
    pub body_template: Option<String>,
    pub content_type: Option<String>,
    pub id_set_accepted: bool,
    pub quality_of_service: u8,
}

/// OAuth codes and tokens (brightpearl-api.md §2.3).
#[derive(Debug, Default)]
pub struct OAuth {
    /// code → (redirect uri, expires at).
    pub codes: HashMap<String, (String, DateTime<Utc>)>,
    /// access token → (installation id, expires at).
    pub access_tokens: HashMap<String, (u32, DateTime<Utc>)>,
    /// refresh token → installation id; a refresh token works once (rotation).
    pub refresh_tokens: HashMap<String, u32>,
}
