//! The settings document: one JSON document, edited with a JSON merge patch (RFC 7396) and
//! validated as a whole, so a PATCH either applies entirely or names every field at fault.
//!
//! [`Settings`] is the typed form the flows read (`Settings::load`); `document.rs` turns a merged
//! JSON document into it ([`Settings::from_document`]), naming unknown fields and wrong types by
//! dotted path, and applies merge patches; `validate.rs` ([`validate`]) checks values and
//! Brightpearl ids against the retrieved [`ReferenceData`](crate::reference::ReferenceData).
//! Schedules are not settings (they live in the config file). This module never writes the store.

mod document;
mod validate;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use self::document::{Rejection, apply_merge_patch, check_document};
pub use self::validate::validate;
use crate::store::{self, ReadTx};

/// The whole settings document. `Default` is the documented default document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Settings {
    pub customers: CustomersSettings,
    pub items: ItemsSettings,
    pub orders: OrdersSettings,
    pub inventory: InventorySettings,
    pub shipments: ShipmentsSettings,
    pub invoices: InvoicesSettings,
    pub cancellations: CancellationsSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CustomersSettings {
    pub mode: CustomerMode,
    /// Create a Brightpearl contact when none is mapped or found.
    pub auto_create: bool,
}

impl Default for CustomersSettings {
    fn default() -> Self {
        CustomersSettings {
            mode: CustomerMode::PerRetailer,
            auto_create: true,
        }
    }
}

/// Whose contact a sales order is for: one per retailer, or one per consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerMode {
    PerRetailer,
    PerConsumer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ItemsSettings {
    pub dsco_match_field: DscoMatchField,
    #[schema(value_type = String, example = "SKU")]
    pub brightpearl_match_field: BrightpearlMatchField,
}

impl Default for ItemsSettings {
    fn default() -> Self {
        ItemsSettings {
            dsco_match_field: DscoMatchField::Sku,
            brightpearl_match_field: BrightpearlMatchField::Sku,
        }
    }
}

/// The DSCO order-line identifier items are matched by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DscoMatchField {
    #[serde(rename = "sku")]
    Sku,
    #[serde(rename = "upc")]
    Upc,
    #[serde(rename = "ean")]
    Ean,
    #[serde(rename = "mpn")]
    Mpn,
    #[serde(rename = "dscoItemId")]
    DscoItemId,
}

impl DscoMatchField {
    pub fn as_str(self) -> &'static str {
        match self {
            DscoMatchField::Sku => "sku",
            DscoMatchField::Upc => "upc",
            DscoMatchField::Ean => "ean",
            DscoMatchField::Mpn => "mpn",
            DscoMatchField::DscoItemId => "dscoItemId",
        }
    }
}

/// The Brightpearl product identifier items are matched against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum BrightpearlMatchField {
    Sku,
    Barcode,
    Ean,
    Upc,
    Mpn,
    Isbn,
    /// A product custom field, by its code.
    Custom(String),
}

impl TryFrom<String> for BrightpearlMatchField {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ok(match value.as_str() {
            "SKU" => BrightpearlMatchField::Sku,
            "barcode" => BrightpearlMatchField::Barcode,
            "EAN" => BrightpearlMatchField::Ean,
            "UPC" => BrightpearlMatchField::Upc,
            "MPN" => BrightpearlMatchField::Mpn,
            "ISBN" => BrightpearlMatchField::Isbn,
            other => match other.strip_prefix("custom:") {
                Some(code) if !code.trim().is_empty() => {
                    BrightpearlMatchField::Custom(code.trim().to_owned())
                }
                _ => {
                    return Err(format!(
                        "{other:?} is not one of SKU, barcode, EAN, UPC, MPN, ISBN, custom:<field code>"
                    ));
                }
            },
        })
    }
}

impl From<BrightpearlMatchField> for String {
    fn from(field: BrightpearlMatchField) -> String {
        match field {
            BrightpearlMatchField::Sku => "SKU".into(),
            BrightpearlMatchField::Barcode => "barcode".into(),
            BrightpearlMatchField::Ean => "EAN".into(),
            BrightpearlMatchField::Upc => "UPC".into(),
            BrightpearlMatchField::Mpn => "MPN".into(),
            BrightpearlMatchField::Isbn => "ISBN".into(),
            BrightpearlMatchField::Custom(code) => format!("custom:{code}"),
        }
    }
}

/// Where an order line's price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    ExpectedCost,
    ConsumerPrice,
    PriceList,
}

/// How DSCO orders become Brightpearl sales orders; the defaults, which `per_retailer` overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OrdersDefaults {
    /// Import only orders created at or after this time (ISO 8601).
    #[serde(deserialize_with = "iso8601_opt")]
    pub import_from: Option<DateTime<Utc>>,
    pub include_test_orders: bool,
    pub status_id: Option<u32>,
    pub channel_id: Option<u32>,
    pub warehouse_id: Option<u32>,
    pub price_source: PriceSource,
    pub price_list_id: Option<u32>,
    pub tax_code: Option<String>,
    pub currency: Option<String>,
    pub shipping_method_id: Option<u32>,
    pub staff_owner_id: Option<u32>,
    pub lead_source_id: Option<u32>,
    pub shipping_charge_nominal_code: Option<String>,
    /// The Brightpearl order status set when the retailer asks to cancel (DSCO
    /// `cancelRequested`); none: only a note is added.
    pub cancel_request_status_id: Option<u32>,
}

impl Default for OrdersDefaults {
    fn default() -> Self {
        OrdersDefaults {
            import_from: None,
            include_test_orders: false,
            status_id: None,
            channel_id: None,
            warehouse_id: None,
            price_source: PriceSource::ExpectedCost,
            price_list_id: None,
            tax_code: None,
            currency: None,
            shipping_method_id: None,
            staff_owner_id: None,
            lead_source_id: None,
            shipping_charge_nominal_code: None,
            cancel_request_status_id: None,
        }
    }
}

/// The orders defaults a retailer overrides; absent fields keep the default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OrdersOverride {
    #[serde(
        deserialize_with = "iso8601_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub import_from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_test_orders: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_source: Option<PriceSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_list_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_method_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_owner_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_source_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_charge_nominal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_request_status_id: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OrdersSettings {
    #[serde(flatten)]
    pub defaults: OrdersDefaults,
    /// Overrides by `dscoRetailerId`.
    pub per_retailer: BTreeMap<String, OrdersOverride>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InventorySettings {
    pub enabled: bool,
    /// Units held back from the quantity sent to DSCO (0 or more).
    pub safety_buffer: i64,
    /// Ask DSCO to drop SKUs it does not know (`skipItemsThatDontExist=true`) instead of
    /// refusing the batch; such items are `skipped` until the next reconcile.
    pub skip_unknown_on_dsco: bool,
    /// Which of several published SKUs naming one product gets its quantity.
    pub shared_product: SharedProduct,
    /// What non-bundle products with `stockTracked: false` publish: `"skip"` or a quantity.
    pub untracked: UntrackedPolicy,
    /// The most units ever published for one item and warehouse code (0 or more); none when null.
    pub max_quantity: Option<i64>,
    /// How old the latest orders run may be before an inventory run waits for a new one, as a
    /// duration such as `"2m"`.
    pub max_orders_lag: String,
}

impl Default for InventorySettings {
    fn default() -> Self {
        InventorySettings {
            enabled: false,
            safety_buffer: 0,
            skip_unknown_on_dsco: true,
            shared_product: SharedProduct::First,
            untracked: UntrackedPolicy::Skip,
            max_quantity: None,
            max_orders_lag: DEFAULT_MAX_ORDERS_LAG.into(),
        }
    }
}

const DEFAULT_MAX_ORDERS_LAG: &str = "2m";

impl InventorySettings {
    /// `max_orders_lag` as a duration. Stored settings are validated, so the fallback to the
    /// default (2 minutes) only serves a document that was never checked.
    pub fn max_orders_lag(&self) -> std::time::Duration {
        parse_lag(&self.max_orders_lag).unwrap_or(std::time::Duration::from_secs(120))
    }
}

/// Parse `inventory.max_orders_lag`: a humantime duration (the parser the config file's
/// durations use) longer than zero.
fn parse_lag(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err(format!(
            "{text:?} must be longer than zero, like \"30s\" or \"2m\""
        )),
        Ok(d) => Ok(d),
        Err(e) => Err(format!(
            "{text:?} is not a duration like \"30s\" or \"2m\" ({e})"
        )),
    }
}

/// A product reached by several published SKUs: `first` (the lowest SKU gets the quantity, the
/// others 0) or `each` (every SKU gets it, which can oversell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SharedProduct {
    #[default]
    First,
    Each,
}

/// What a non-bundle product that Brightpearl does not track stock for publishes: nothing
/// (`"skip"` on the wire) or a fixed quantity (an integer 0 or more on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UntrackedPolicy {
    #[default]
    Skip,
    Quantity(i64),
}

impl Serialize for UntrackedPolicy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            UntrackedPolicy::Skip => serializer.serialize_str("skip"),
            UntrackedPolicy::Quantity(n) => serializer.serialize_i64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for UntrackedPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = UntrackedPolicy;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"skip\" or an integer 0 or more")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<UntrackedPolicy, E> {
                if v == "skip" {
                    Ok(UntrackedPolicy::Skip)
                } else {
                    Err(E::custom(format!(
                        "{v:?} is not \"skip\" or an integer 0 or more"
                    )))
                }
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<UntrackedPolicy, E> {
                Ok(UntrackedPolicy::Quantity(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<UntrackedPolicy, E> {
                i64::try_from(v)
                    .map(UntrackedPolicy::Quantity)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl utoipa::PartialSchema for UntrackedPolicy {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["skip"])),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .description(Some(
                "\"skip\" (untracked products are not published) or the quantity they publish",
            ))
            .into()
    }
}

impl utoipa::ToSchema for UntrackedPolicy {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ShipmentsSettings {
    pub trigger: ShipmentTrigger,
    pub goods_out_note_moment: GoodsOutNoteMoment,
    /// Required when `trigger` is `order_status`.
    pub order_status_id: Option<u32>,
    pub allow_untracked: bool,
    /// DSCO service level codes that name an order's generic level and are refused on a
    /// package (a guess from dsco-api.md §3.3 and §8.4: `GCG`, `GCP`, `GCE`); a shipment whose
    /// mapping sends one needs attention, and a mapping upload that would is refused.
    pub order_only_service_levels: Vec<String>,
}

impl Default for ShipmentsSettings {
    fn default() -> Self {
        ShipmentsSettings {
            trigger: ShipmentTrigger::GoodsOutNote,
            goods_out_note_moment: GoodsOutNoteMoment::Created,
            order_status_id: None,
            allow_untracked: false,
            order_only_service_levels: vec!["GCG".into(), "GCP".into(), "GCE".into()],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentTrigger {
    GoodsOutNote,
    OrderStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoodsOutNoteMoment {
    Created,
    Shipped,
}

/// How Brightpearl invoices become DSCO invoices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InvoicesSettings {
    pub policy: InvoicePolicy,
    /// Per order: send only once the order is fully shipped or cancelled on DSCO.
    pub wait_for_shipment: bool,
}

impl Default for InvoicesSettings {
    fn default() -> Self {
        InvoicesSettings {
            policy: InvoicePolicy::PerOrder,
            wait_for_shipment: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoicePolicy {
    /// One invoice per order.
    PerOrder,
    /// One invoice per confirmed shipment (`{invoiceReference}-{n}`).
    PerShipment,
}

/// DSCO's supplier cancel codes (dsco-api.md §2.6).
pub const CANCEL_CODES: [&str; 8] = [
    "CXSS", "CXSD", "CXSN", "CXSB", "CXSI", "CXST", "CXSC", "CXSO",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CancellationsSettings {
    /// The Brightpearl order status set when DSCO cancels an order.
    pub dsco_cancelled_status_id: Option<u32>,
    /// The Brightpearl order status that cancels what is not shipped yet on DSCO.
    pub brightpearl_cancel_status_id: Option<u32>,
    /// The code such a cancel is sent with (one of [`CANCEL_CODES`]).
    pub cancel_code: String,
}

impl Default for CancellationsSettings {
    fn default() -> Self {
        CancellationsSettings {
            dsco_cancelled_status_id: None,
            brightpearl_cancel_status_id: None,
            cancel_code: "CXSO".into(),
        }
    }
}

impl Settings {
    /// The stored settings, or the defaults when none were saved.
    pub fn load(tx: &ReadTx) -> Result<Settings, store::Error> {
        Ok(tx.document(store::SETTINGS_DOCUMENT)?.unwrap_or_default())
    }

    /// The settings as the JSON document the API shows.
    pub fn to_document(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The orders defaults for a retailer: its `per_retailer` overrides over the defaults.
    pub fn orders_for_retailer(&self, dsco_retailer_id: &str) -> OrdersDefaults {
        let mut out = self.orders.defaults.clone();
        if let Some(o) = self.orders.per_retailer.get(dsco_retailer_id.trim()) {
            o.apply_to(&mut out);
        }
        out
    }

    /// Whether any Brightpearl id that is checked against reference data is set.
    pub fn uses_reference_ids(&self) -> bool {
        fn orders_use(o: &OrdersDefaults) -> bool {
            o.status_id.is_some()
                || o.channel_id.is_some()
                || o.warehouse_id.is_some()
                || o.price_list_id.is_some()
                || o.shipping_method_id.is_some()
                || o.tax_code.is_some()
        }
        orders_use(&self.orders.defaults)
            || self.orders.per_retailer.values().any(|o| {
                o.status_id.is_some()
                    || o.channel_id.is_some()
                    || o.warehouse_id.is_some()
                    || o.price_list_id.is_some()
                    || o.shipping_method_id.is_some()
                    || o.tax_code.is_some()
            })
            || self.shipments.order_status_id.is_some()
            || self.cancellations.dsco_cancelled_status_id.is_some()
            || self.cancellations.brightpearl_cancel_status_id.is_some()
            || self.orders.defaults.cancel_request_status_id.is_some()
            || self
                .orders
                .per_retailer
                .values()
                .any(|o| o.cancel_request_status_id.is_some())
    }
}

impl OrdersOverride {
    fn apply_to(&self, out: &mut OrdersDefaults) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *target = v.clone();
            }
        }
        fn set_opt<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
            if value.is_some() {
                *target = value.clone();
            }
        }
        set_opt(&mut out.import_from, &self.import_from);
        set(&mut out.include_test_orders, &self.include_test_orders);
        set_opt(&mut out.status_id, &self.status_id);
        set_opt(&mut out.channel_id, &self.channel_id);
        set_opt(&mut out.warehouse_id, &self.warehouse_id);
        set(&mut out.price_source, &self.price_source);
        set_opt(&mut out.price_list_id, &self.price_list_id);
        set_opt(&mut out.tax_code, &self.tax_code);
        set_opt(&mut out.currency, &self.currency);
        set_opt(&mut out.shipping_method_id, &self.shipping_method_id);
        set_opt(&mut out.staff_owner_id, &self.staff_owner_id);
        set_opt(&mut out.lead_source_id, &self.lead_source_id);
        set_opt(
            &mut out.shipping_charge_nominal_code,
            &self.shipping_charge_nominal_code,
        );
        set_opt(
            &mut out.cancel_request_status_id,
            &self.cancel_request_status_id,
        );
    }
}

/// ISO 8601: a date-time with offset (RFC 3339) or a plain date (midnight UTC).
fn iso8601_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    let Some(text) = text else {
        return Ok(None);
    };
    let trimmed = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    if let Ok(date) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
        && let Some(t) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(Some(t.and_utc()));
    }
    Err(serde::de::Error::custom(format!(
        "{text:?} is not an ISO 8601 date-time such as 2026-01-31T00:00:00Z"
    )))
}

#[cfg(test)]
mod tests;
