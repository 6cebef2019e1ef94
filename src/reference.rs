//! Reference data both sides provide, as the store keeps it: Brightpearl's lists (warehouses,
//! shipping methods, order statuses, channels, price lists, tax codes) and product catalog (with
//! each product's stock tracking and bundle components), which
//! the `reference` flow retrieves; DSCO's warehouses and ship methods, which the user uploads or
//! the DSCO client refreshes; and the DSCO items and retailers the orders flow has seen.
//!
//! Plain data only: storage lives in `store` (`ReadTx::reference_data`, `WriteTx::replace_catalog`,
//! ...), checks against it in `settings` and `mapping`. Nothing here talks to either API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The Brightpearl lists settings and mappings are checked against, retrieved as one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReferenceData {
    pub retrieved_at: DateTime<Utc>,
    #[serde(default)]
    pub warehouses: Vec<NamedId>,
    #[serde(default)]
    pub shipping_methods: Vec<NamedId>,
    #[serde(default)]
    pub order_statuses: Vec<NamedId>,
    #[serde(default)]
    pub channels: Vec<NamedId>,
    #[serde(default)]
    pub price_lists: Vec<PriceList>,
    #[serde(default)]
    pub tax_codes: Vec<TaxCode>,
}

/// A Brightpearl object known by id and name (warehouse, shipping method, order status, channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamedId {
    pub id: u32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceList {
    pub id: u32,
    pub name: String,
    pub code: String,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxCode {
    pub id: u32,
    pub code: String,
    /// The rate in percent as a decimal string, e.g. `"20.0"`.
    pub rate: String,
}

impl ReferenceData {
    /// Empty lists retrieved at `retrieved_at` (tests and the first retrieval start from this).
    pub fn empty(retrieved_at: DateTime<Utc>) -> ReferenceData {
        ReferenceData {
            retrieved_at,
            warehouses: Vec::new(),
            shipping_methods: Vec::new(),
            order_statuses: Vec::new(),
            channels: Vec::new(),
            price_lists: Vec::new(),
            tax_codes: Vec::new(),
        }
    }

    pub fn has_warehouse(&self, id: u32) -> bool {
        self.warehouses.iter().any(|w| w.id == id)
    }

    pub fn has_shipping_method(&self, id: u32) -> bool {
        self.shipping_methods.iter().any(|m| m.id == id)
    }

    pub fn has_order_status(&self, id: u32) -> bool {
        self.order_statuses.iter().any(|s| s.id == id)
    }

    pub fn has_channel(&self, id: u32) -> bool {
        self.channels.iter().any(|c| c.id == id)
    }

    pub fn has_price_list(&self, id: u32) -> bool {
        self.price_lists.iter().any(|p| p.id == id)
    }

    pub fn has_tax_code(&self, code: &str) -> bool {
        self.tax_codes.iter().any(|t| t.code == code.trim())
    }
}

/// One Brightpearl product of the catalog, with the identifiers items are matched on and its
/// prices by price list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CatalogProduct {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    pub ean: Option<String>,
    #[serde(default)]
    pub upc: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
    #[serde(default)]
    pub isbn: Option<String>,
    /// Custom field values by field code (`PCF_...`), for `custom:<field code>` matching.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    /// Price by price list id, as a decimal string.
    #[serde(default)]
    pub prices: BTreeMap<u32, String>,
    /// Whether Brightpearl tracks the product's stock (`stock.stockTracked`). `None`: not read
    /// yet, for a catalog stored before the reference flow read it; the next reference run sets it.
    #[serde(default)]
    pub stock_tracked: Option<bool>,
    /// The components of a bundle (`composition.bundleComponents`), `Some(vec![])` for a product
    /// that is not a bundle; `None` like `stock_tracked`: not read yet.
    #[serde(default)]
    pub bundle_components: Option<Vec<BundleComponent>>,
}

impl CatalogProduct {
    /// Whether the product is a bundle; `None` until a reference run has read its composition.
    pub fn is_bundle(&self) -> Option<bool> {
        self.bundle_components.as_ref().map(|c| !c.is_empty())
    }
}

/// One component of a bundle product: `quantity` units of `product_id` make one bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleComponent {
    pub product_id: u32,
    pub quantity: i64,
}

/// A DSCO item the orders flow has seen on an order line, keyed by `sku`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DscoItem {
    pub sku: String,
    #[serde(default)]
    pub upc: Option<String>,
    #[serde(default)]
    pub ean: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
    #[serde(default)]
    pub dsco_item_id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    pub seen_at: DateTime<Utc>,
}

/// A DSCO retailer the orders flow has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Retailer {
    pub dsco_retailer_id: String,
    pub name: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A DSCO warehouse of the supplier account (`GET/PUT /v1/dsco/warehouses`, CSV `code,name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DscoWarehouse {
    pub code: String,
    #[serde(default)]
    pub name: String,
}

/// A ship method the user's retailers accept (`GET/PUT /v1/dsco/ship-methods`, CSV
/// `carrier,method,service_level_code,description`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DscoShipMethod {
    #[serde(default)]
    pub carrier: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub service_level_code: String,
    #[serde(default)]
    pub description: String,
}
