//! Product wire types (brightpearl-api.md §4.10, §4.11): products, prices, product search rows and
//! warehouse availability.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{PriceListId, ProductId};

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

/// One product's prices (`GET /product-service/product-price/{ID-SET}`, brightpearl-api.md §4.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPrices {
    pub product_id: ProductId,
    #[serde(default)]
    pub price_lists: Vec<ProductPriceList>,
}

/// A product's price in one price list: `quantityPrice` maps a break quantity to a price string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPriceList {
    pub price_list_id: PriceListId,
    #[serde(default)]
    pub quantity_price: std::collections::BTreeMap<String, String>,
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

/// `composition` of a product (§4.10): a bundle has `bundle: true` and its components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductComposition {
    #[serde(default)]
    pub bundle: Option<bool>,
    #[serde(default)]
    pub bundle_components: Option<Vec<ProductBundleComponent>>,
}

/// One `bundleComponents[]` entry: `productQuantity` units of `productId` make one bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductBundleComponent {
    pub product_id: ProductId,
    /// A number on the wire; quantities elsewhere are documented as strings (§5.3), so a
    /// numeric string is read too.
    #[serde(deserialize_with = "number_or_string")]
    pub product_quantity: f64,
}

fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Number(f64),
        Text(String),
    }
    match Wire::deserialize(d)? {
        Wire::Number(n) => Ok(n),
        Wire::Text(text) => text.trim().parse::<f64>().map_err(|_| {
            serde::de::Error::custom(format!("productQuantity {text:?} is not a number"))
        }),
    }
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
    /// The search column name, case-sensitive (brightpearl-api.md §1.12).
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
