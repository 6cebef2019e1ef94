//! Reference-data wire types (brightpearl-api.md §4.12, §4.13, §4.18): warehouses, shipping methods,
//! channels, price lists, tax codes.

use serde::{Deserialize, Serialize};

use super::ids::{
    ChannelId, PostalAddressId, PriceListId, ShippingMethodId, TaxCodeId, WarehouseId,
};

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
