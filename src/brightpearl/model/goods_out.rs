//! Goods-out note wire types (brightpearl-api.md §4.14): the note GET and goods-out search rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{GoodsOutNoteId, OrderId, ProductId, WarehouseId};

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
