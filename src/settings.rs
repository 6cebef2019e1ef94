//! The settings document: one JSON document, edited with a JSON merge patch (RFC 7396) and
//! validated as a whole, so a PATCH either applies entirely or names every field at fault.
//!
//! [`Settings`] is the typed form the flows read (`Settings::load`); [`Settings::from_document`]
//! turns a merged JSON document into it, naming unknown fields and wrong types by dotted path;
//! [`validate`] checks values and Brightpearl ids against the retrieved [`ReferenceData`].
//! Schedules are not settings (they live in the config file). This module never writes the store.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::reference::ReferenceData;
use crate::store::{self, ReadTx};

/// One problem with a field, named by its dotted path (`orders.price_source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The whole settings document. `Default` is the documented default document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Settings {
    pub customers: CustomersSettings,
    pub items: ItemsSettings,
    pub orders: OrdersSettings,
    pub inventory: InventorySettings,
    pub shipments: ShipmentsSettings,
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
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OrdersSettings {
    #[serde(flatten)]
    pub defaults: OrdersDefaults,
    /// Overrides by `dscoRetailerId`.
    pub per_retailer: BTreeMap<String, OrdersOverride>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InventorySettings {
    pub enabled: bool,
    /// Units held back from the quantity sent to DSCO (0 or more).
    pub safety_buffer: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ShipmentsSettings {
    pub trigger: ShipmentTrigger,
    pub goods_out_note_moment: GoodsOutNoteMoment,
    /// Required when `trigger` is `order_status`.
    pub order_status_id: Option<u32>,
    pub allow_untracked: bool,
}

impl Default for ShipmentsSettings {
    fn default() -> Self {
        ShipmentsSettings {
            trigger: ShipmentTrigger::GoodsOutNote,
            goods_out_note_moment: GoodsOutNoteMoment::Created,
            order_status_id: None,
            allow_untracked: false,
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

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CancellationsSettings {
    /// The Brightpearl order status set when DSCO cancels an order.
    pub dsco_cancelled_status_id: Option<u32>,
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

    /// Turn a (merged) document into settings, naming every unknown field and wrong type.
    /// Absent fields take their defaults.
    pub fn from_document(document: &Value) -> Result<Settings, Vec<Problem>> {
        let (settings, problems) = Settings::from_document_lenient(document);
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// Like [`Settings::from_document`], but also return the settings built from the fields that
    /// are fine (unknown and mistyped fields dropped), so values can be checked in the same
    /// answer.
    pub fn from_document_lenient(document: &Value) -> (Settings, Vec<Problem>) {
        let defaults = Settings::default().to_document();
        let Value::Object(document_map) = document else {
            return (
                Settings::default(),
                vec![Problem::new("", "settings must be a JSON object")],
            );
        };
        let mut problems = Vec::new();
        let mut cleaned = Map::new();
        for (section, value) in document_map {
            let Some(Value::Object(default_section)) = defaults.get(section) else {
                problems.push(Problem::new(section.clone(), "unknown field"));
                continue;
            };
            let Value::Object(fields) = value else {
                problems.push(Problem::new(section.clone(), "must be an object"));
                continue;
            };
            let mut cleaned_section = Map::new();
            for (field, field_value) in fields {
                let path = format!("{section}.{field}");
                if !default_section.contains_key(field) {
                    problems.push(Problem::new(path, "unknown field"));
                    continue;
                }
                if section == "orders" && field == "per_retailer" {
                    let kept = check_per_retailer(field_value, &mut problems);
                    cleaned_section.insert(field.clone(), kept);
                    continue;
                }
                // Type-check this one field by putting it into the default section.
                let mut probe = default_section.clone();
                probe.insert(field.clone(), field_value.clone());
                let probe = Value::Object(probe);
                let result = match section.as_str() {
                    "customers" => check_type::<CustomersSettings>(probe),
                    "items" => check_type::<ItemsSettings>(probe),
                    "orders" => check_type::<OrdersSettings>(probe),
                    "inventory" => check_type::<InventorySettings>(probe),
                    "shipments" => check_type::<ShipmentsSettings>(probe),
                    "cancellations" => check_type::<CancellationsSettings>(probe),
                    _ => Ok(()),
                };
                match result {
                    Ok(()) => {
                        cleaned_section.insert(field.clone(), field_value.clone());
                    }
                    Err(message) => problems.push(Problem::new(path, message)),
                }
            }
            cleaned.insert(section.clone(), Value::Object(cleaned_section));
        }
        match serde_json::from_value(Value::Object(cleaned)) {
            Ok(settings) => (settings, problems),
            Err(e) => {
                problems.push(Problem::new("", e.to_string()));
                (Settings::default(), problems)
            }
        }
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
    }
}

fn check_type<T: DeserializeOwned>(value: Value) -> Result<(), String> {
    serde_json::from_value::<T>(value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Check `orders.per_retailer`; what is fine of it, for checking values.
fn check_per_retailer(value: &Value, problems: &mut Vec<Problem>) -> Value {
    let Value::Object(retailers) = value else {
        problems.push(Problem::new(
            "orders.per_retailer",
            "must be an object of dscoRetailerId → orders overrides",
        ));
        return Value::Object(Map::new());
    };
    let allowed = Settings::default().to_document()["orders"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut kept = Map::new();
    for (retailer, overrides) in retailers {
        let base = format!("orders.per_retailer.{retailer}");
        if retailer.trim().is_empty() {
            problems.push(Problem::new(base.clone(), "retailer id must not be empty"));
        }
        let Value::Object(fields) = overrides else {
            problems.push(Problem::new(base, "must be an object"));
            continue;
        };
        let mut kept_fields = Map::new();
        for (field, field_value) in fields {
            let path = format!("{base}.{field}");
            if field == "per_retailer" || !allowed.contains_key(field) {
                problems.push(Problem::new(path, "unknown field"));
                continue;
            }
            let probe = Value::Object(Map::from_iter([(field.clone(), field_value.clone())]));
            match check_type::<OrdersOverride>(probe) {
                Ok(()) => {
                    kept_fields.insert(field.clone(), field_value.clone());
                }
                Err(message) => problems.push(Problem::new(path, message)),
            }
        }
        kept.insert(retailer.clone(), Value::Object(kept_fields));
    }
    Value::Object(kept)
}

/// Apply a JSON merge patch (RFC 7396) to `current`.
pub fn apply_merge_patch(current: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(patch_map) => {
            let mut target = match current {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            for (key, value) in patch_map {
                if value.is_null() {
                    target.remove(key);
                } else {
                    let existing = target.get(key).cloned().unwrap_or(Value::Null);
                    target.insert(key.clone(), apply_merge_patch(&existing, value));
                }
            }
            Value::Object(target)
        }
        other => other.clone(),
    }
}

/// What a PATCH found wrong.
#[derive(Debug)]
pub enum Rejection {
    /// Fields at fault, all of them.
    Invalid(Vec<Problem>),
    /// Brightpearl ids are set but no reference data has been retrieved to check them.
    ReferenceMissing,
}

/// Check a whole merged document: structure, types, values and ids, reporting every problem
/// once per field. Brightpearl ids without reference data are a [`Rejection::ReferenceMissing`].
pub fn check_document(
    document: &Value,
    reference: Option<&ReferenceData>,
) -> Result<Settings, Rejection> {
    let (settings, mut problems) = Settings::from_document_lenient(document);
    if problems.is_empty() && reference.is_none() && settings.uses_reference_ids() {
        return Err(Rejection::ReferenceMissing);
    }
    if let Err(more) = validate(&settings, reference) {
        for problem in more {
            if !problems.iter().any(|p| p.field == problem.field) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(Rejection::Invalid(problems))
    }
}

/// Check values and, when `reference` is given, Brightpearl ids against it. Every problem is
/// reported. Without reference data ids are not checked; the API refuses such changes before
/// the first retrieval (see [`Settings::uses_reference_ids`]).
pub fn validate(
    settings: &Settings,
    reference: Option<&ReferenceData>,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    check_orders(
        "orders",
        &settings.orders.defaults,
        &OrdersOverride::default(),
        reference,
        &mut problems,
    );
    for (retailer, o) in &settings.orders.per_retailer {
        let base = format!("orders.per_retailer.{retailer}");
        let effective = settings.orders_for_retailer(retailer);
        let mut own = Vec::new();
        check_orders(&base, &effective, o, reference, &mut own);
        // Only report what the override itself sets, or a rule its override breaks.
        problems.extend(own);
    }
    if settings.inventory.safety_buffer < 0 {
        problems.push(Problem::new("inventory.safety_buffer", "must be 0 or more"));
    }
    if settings.shipments.trigger == ShipmentTrigger::OrderStatus
        && settings.shipments.order_status_id.is_none()
    {
        problems.push(Problem::new(
            "shipments.order_status_id",
            "is required when shipments.trigger is order_status",
        ));
    }
    check_status(
        "shipments.order_status_id",
        settings.shipments.order_status_id,
        reference,
        &mut problems,
    );
    check_status(
        "cancellations.dsco_cancelled_status_id",
        settings.cancellations.dsco_cancelled_status_id,
        reference,
        &mut problems,
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_status(
    field: &str,
    id: Option<u32>,
    reference: Option<&ReferenceData>,
    problems: &mut Vec<Problem>,
) {
    if let Some(id) = id {
        if id == 0 {
            problems.push(Problem::new(field, "must be a positive id"));
        } else if let Some(r) = reference
            && !r.has_order_status(id)
        {
            problems.push(Problem::new(
                field,
                format!("Brightpearl order status {id} does not exist"),
            ));
        }
    }
}

/// Check one set of orders values. For the defaults `own` is empty and every field is checked;
/// for a retailer, `effective` is the merged result and only fields `own` sets are checked, plus
/// the rules that combine fields when the override takes part in them.
fn check_orders(
    base: &str,
    effective: &OrdersDefaults,
    own: &OrdersOverride,
    reference: Option<&ReferenceData>,
    problems: &mut Vec<Problem>,
) {
    let is_defaults = base == "orders";
    let checked = |set: bool| is_defaults || set;
    let field = |name: &str| format!("{base}.{name}");
    type Exists = fn(&ReferenceData, u32) -> bool;
    let ids: [(&str, Option<u32>, bool, &str, Exists); 5] = [
        (
            "status_id",
            effective.status_id,
            own.status_id.is_some(),
            "order status",
            ReferenceData::has_order_status,
        ),
        (
            "channel_id",
            effective.channel_id,
            own.channel_id.is_some(),
            "channel",
            ReferenceData::has_channel,
        ),
        (
            "warehouse_id",
            effective.warehouse_id,
            own.warehouse_id.is_some(),
            "warehouse",
            ReferenceData::has_warehouse,
        ),
        (
            "price_list_id",
            effective.price_list_id,
            own.price_list_id.is_some(),
            "price list",
            ReferenceData::has_price_list,
        ),
        (
            "shipping_method_id",
            effective.shipping_method_id,
            own.shipping_method_id.is_some(),
            "shipping method",
            ReferenceData::has_shipping_method,
        ),
    ];
    for (name, id, set, what, exists) in ids {
        let (Some(id), true) = (id, checked(set)) else {
            continue;
        };
        if id == 0 {
            problems.push(Problem::new(field(name), "must be a positive id"));
        } else if let Some(r) = reference
            && !exists(r, id)
        {
            problems.push(Problem::new(
                field(name),
                format!("Brightpearl {what} {id} does not exist"),
            ));
        }
    }
    for (name, id, set) in [
        (
            "staff_owner_id",
            effective.staff_owner_id,
            own.staff_owner_id.is_some(),
        ),
        (
            "lead_source_id",
            effective.lead_source_id,
            own.lead_source_id.is_some(),
        ),
    ] {
        if id == Some(0) && checked(set) {
            problems.push(Problem::new(field(name), "must be a positive id"));
        }
    }
    if let (Some(code), true) = (&effective.tax_code, checked(own.tax_code.is_some())) {
        if code.trim().is_empty() {
            problems.push(Problem::new(field("tax_code"), "must not be empty"));
        } else if let Some(r) = reference
            && !r.has_tax_code(code)
        {
            problems.push(Problem::new(
                field("tax_code"),
                format!("Brightpearl tax code {code:?} does not exist"),
            ));
        }
    }
    if let (Some(currency), true) = (&effective.currency, checked(own.currency.is_some()))
        && !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()))
    {
        problems.push(Problem::new(
            field("currency"),
            format!("{currency:?} is not a 3-letter ISO 4217 code such as USD"),
        ));
    }
    if let (Some(code), true) = (
        &effective.shipping_charge_nominal_code,
        checked(own.shipping_charge_nominal_code.is_some()),
    ) && code.trim().is_empty()
    {
        problems.push(Problem::new(
            field("shipping_charge_nominal_code"),
            "must not be empty",
        ));
    }
    if effective.price_source == PriceSource::PriceList
        && effective.price_list_id.is_none()
        && checked(own.price_source.is_some())
    {
        problems.push(Problem::new(
            field("price_list_id"),
            "is required when price_source is price_list",
        ));
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::reference::{NamedId, PriceList, TaxCode};

    fn reference() -> ReferenceData {
        let named = |id, name: &str| NamedId {
            id,
            name: name.into(),
        };
        ReferenceData {
            warehouses: vec![named(2, "Main")],
            shipping_methods: vec![named(7, "Ground")],
            order_statuses: vec![named(1, "New"), named(5, "Shipped"), named(9, "Cancelled")],
            channels: vec![named(3, "DSCO")],
            price_lists: vec![PriceList {
                id: 4,
                name: "Cost".into(),
                code: "COST".into(),
                currency: "USD".into(),
            }],
            tax_codes: vec![TaxCode {
                id: 1,
                code: "T20".into(),
                rate: "20.0".into(),
            }],
            ..ReferenceData::empty(Utc::now())
        }
    }

    /// Merge `patch` into the defaults and validate; the problem fields, sorted.
    fn problems(patch: Value, reference: Option<&ReferenceData>) -> Vec<String> {
        let merged = apply_merge_patch(&Settings::default().to_document(), &patch);
        let result =
            Settings::from_document(&merged).and_then(|s| validate(&s, reference).map(|()| s));
        let mut fields: Vec<String> = match result {
            Ok(_) => Vec::new(),
            Err(p) => p.into_iter().map(|p| p.field).collect(),
        };
        fields.sort();
        fields
    }

    #[test]
    fn the_default_document_is_the_documented_one() {
        let expected = json!({
          "customers": {"mode": "per_retailer", "auto_create": true},
          "items": {"dsco_match_field": "sku", "brightpearl_match_field": "SKU"},
          "orders": {"import_from": null, "include_test_orders": false, "status_id": null,
                     "channel_id": null, "warehouse_id": null, "price_source": "expected_cost",
                     "price_list_id": null, "tax_code": null, "currency": null,
                     "shipping_method_id": null, "staff_owner_id": null, "lead_source_id": null,
                     "shipping_charge_nominal_code": null, "per_retailer": {}},
          "inventory": {"enabled": false, "safety_buffer": 0},
          "shipments": {"trigger": "goods_out_note", "goods_out_note_moment": "created",
                        "order_status_id": null, "allow_untracked": false},
          "cancellations": {"dsco_cancelled_status_id": null}
        });
        assert_eq!(Settings::default().to_document(), expected);
        assert_eq!(
            Settings::from_document(&expected).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            assert_eq!(apply_merge_patch(&target, &patch), expected, "{patch}");
        }
    }

    #[test]
    fn null_resets_a_field_to_its_default() {
        let current = apply_merge_patch(
            &Settings::default().to_document(),
            &json!({"customers": {"mode": "per_consumer"}, "orders": {"currency": "USD"}}),
        );
        let merged = apply_merge_patch(
            &current,
            &json!({"customers": {"mode": null}, "orders": {"currency": null}}),
        );
        assert_eq!(
            Settings::from_document(&merged).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn unknown_fields_are_named_at_every_level() {
        assert_eq!(
            problems(
                json!({"colour": 1, "orders": {"colour": 2, "per_retailer": {"R1": {"colour": 3, "per_retailer": {}}}},
                       "items": 5}),
                None
            ),
            vec![
                "colour",
                "items",
                "orders.colour",
                "orders.per_retailer.R1.colour",
                "orders.per_retailer.R1.per_retailer"
            ]
        );
    }

    #[test]
    fn each_value_is_checked_and_named() {
        let r = reference();
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"customers": {"mode": "per_order"}}),
                "customers.mode",
            ),
            (
                json!({"customers": {"auto_create": "yes"}}),
                "customers.auto_create",
            ),
            (
                json!({"items": {"dsco_match_field": "gtin"}}),
                "items.dsco_match_field",
            ),
            (
                json!({"items": {"brightpearl_match_field": "sku"}}),
                "items.brightpearl_match_field",
            ),
            (
                json!({"items": {"brightpearl_match_field": "custom:"}}),
                "items.brightpearl_match_field",
            ),
            (
                json!({"orders": {"import_from": "yesterday"}}),
                "orders.import_from",
            ),
            (
                json!({"orders": {"include_test_orders": 1}}),
                "orders.include_test_orders",
            ),
            (
                json!({"orders": {"price_source": "msrp"}}),
                "orders.price_source",
            ),
            (
                json!({"orders": {"price_source": "price_list"}}),
                "orders.price_list_id",
            ),
            (json!({"orders": {"currency": "usd"}}), "orders.currency"),
            (json!({"orders": {"currency": "DOLLAR"}}), "orders.currency"),
            (json!({"orders": {"status_id": 99}}), "orders.status_id"),
            (json!({"orders": {"status_id": -1}}), "orders.status_id"),
            (json!({"orders": {"channel_id": 99}}), "orders.channel_id"),
            (
                json!({"orders": {"warehouse_id": 99}}),
                "orders.warehouse_id",
            ),
            (
                json!({"orders": {"price_list_id": 99}}),
                "orders.price_list_id",
            ),
            (
                json!({"orders": {"shipping_method_id": 99}}),
                "orders.shipping_method_id",
            ),
            (json!({"orders": {"tax_code": "T99"}}), "orders.tax_code"),
            (
                json!({"orders": {"staff_owner_id": 0}}),
                "orders.staff_owner_id",
            ),
            (
                json!({"orders": {"lead_source_id": "x"}}),
                "orders.lead_source_id",
            ),
            (
                json!({"orders": {"shipping_charge_nominal_code": " "}}),
                "orders.shipping_charge_nominal_code",
            ),
            (
                json!({"orders": {"per_retailer": []}}),
                "orders.per_retailer",
            ),
            (
                json!({"orders": {"per_retailer": {"R1": {"status_id": 99}}}}),
                "orders.per_retailer.R1.status_id",
            ),
            (
                json!({"orders": {"per_retailer": {"R1": {"currency": "eur"}}}}),
                "orders.per_retailer.R1.currency",
            ),
            (
                json!({"orders": {"per_retailer": {"R1": {"price_source": "price_list"}}}}),
                "orders.per_retailer.R1.price_list_id",
            ),
            (
                json!({"orders": {"per_retailer": {"R1": 3}}}),
                "orders.per_retailer.R1",
            ),
            (json!({"inventory": {"enabled": "no"}}), "inventory.enabled"),
            (
                json!({"inventory": {"safety_buffer": -1}}),
                "inventory.safety_buffer",
            ),
            (
                json!({"inventory": {"safety_buffer": 1.5}}),
                "inventory.safety_buffer",
            ),
            (
                json!({"shipments": {"trigger": "invoice"}}),
                "shipments.trigger",
            ),
            (
                json!({"shipments": {"trigger": "order_status"}}),
                "shipments.order_status_id",
            ),
            (
                json!({"shipments": {"order_status_id": 99}}),
                "shipments.order_status_id",
            ),
            (
                json!({"shipments": {"goods_out_note_moment": "packed"}}),
                "shipments.goods_out_note_moment",
            ),
            (
                json!({"shipments": {"allow_untracked": null, "order_status_id": "5"}}),
                "shipments.order_status_id",
            ),
            (
                json!({"cancellations": {"dsco_cancelled_status_id": 99}}),
                "cancellations.dsco_cancelled_status_id",
            ),
        ];
        for (patch, field) in cases {
            assert_eq!(problems(patch.clone(), Some(&r)), vec![field], "{patch}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        assert_eq!(
            problems(
                json!({"orders": {"currency": "usd", "status_id": 99},
                       "inventory": {"safety_buffer": -3},
                       "shipments": {"trigger": "order_status"}}),
                Some(&reference())
            ),
            vec![
                "inventory.safety_buffer",
                "orders.currency",
                "orders.status_id",
                "shipments.order_status_id"
            ]
        );
    }

    #[test]
    fn valid_values_pass_and_per_retailer_overrides_apply() {
        let r = reference();
        let patch = json!({
            "customers": {"mode": "per_consumer", "auto_create": false},
            "items": {"dsco_match_field": "dscoItemId", "brightpearl_match_field": "custom:PCF_DSCO"},
            "orders": {"import_from": "2026-01-31", "status_id": 1, "channel_id": 3, "warehouse_id": 2,
                       "price_source": "price_list", "price_list_id": 4, "tax_code": "T20",
                       "currency": "USD", "shipping_method_id": 7, "staff_owner_id": 12,
                       "lead_source_id": 13, "shipping_charge_nominal_code": "4040",
                       "per_retailer": {"R1": {"status_id": 5, "price_source": "consumer_price",
                                               "import_from": "2026-02-01T10:00:00+02:00"}}},
            "inventory": {"enabled": true, "safety_buffer": 2},
            "shipments": {"trigger": "order_status", "order_status_id": 5, "goods_out_note_moment": "shipped",
                          "allow_untracked": true},
            "cancellations": {"dsco_cancelled_status_id": 9}
        });
        assert_eq!(problems(patch.clone(), Some(&r)), Vec::<String>::new());
        let merged = apply_merge_patch(&Settings::default().to_document(), &patch);
        let settings = Settings::from_document(&merged).unwrap();
        assert_eq!(
            settings.items.brightpearl_match_field,
            BrightpearlMatchField::Custom("PCF_DSCO".into())
        );
        assert_eq!(
            settings.orders.defaults.import_from.unwrap().to_rfc3339(),
            "2026-01-31T00:00:00+00:00"
        );
        let r1 = settings.orders_for_retailer("R1");
        assert_eq!(r1.status_id, Some(5));
        assert_eq!(r1.price_source, PriceSource::ConsumerPrice);
        assert_eq!(r1.channel_id, Some(3));
        assert_eq!(
            r1.import_from.unwrap().to_rfc3339(),
            "2026-02-01T08:00:00+00:00"
        );
        assert_eq!(settings.orders_for_retailer("R2"), settings.orders.defaults);
        assert!(settings.uses_reference_ids());
        assert!(!Settings::default().uses_reference_ids());
        // The document round-trips through its JSON form.
        assert_eq!(
            Settings::from_document(&settings.to_document()).unwrap(),
            settings
        );
    }

    #[test]
    fn without_reference_data_ids_are_not_checked_here() {
        assert_eq!(
            problems(json!({"orders": {"status_id": 99}}), None),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_whole_document_check_reports_structure_and_values_together_once_per_field() {
        let r = reference();
        let merged = apply_merge_patch(
            &Settings::default().to_document(),
            &json!({"colour": 1, "orders": {"currency": "usd"},
                    "shipments": {"trigger": "order_status", "order_status_id": "five"}}),
        );
        let Err(Rejection::Invalid(problems)) = check_document(&merged, Some(&r)) else {
            panic!("expected problems");
        };
        let mut fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            vec!["colour", "orders.currency", "shipments.order_status_id"]
        );
        let ids = apply_merge_patch(
            &Settings::default().to_document(),
            &json!({"orders": {"per_retailer": {"R1": {"price_list_id": 4}}}}),
        );
        assert!(matches!(
            check_document(&ids, None),
            Err(Rejection::ReferenceMissing)
        ));
        assert!(check_document(&ids, Some(&r)).is_ok());
    }
}
