//! Goods-out note operations (`warehouse-service`, brightpearl-api.md §4.14): get by id, by order, search.

use std::collections::BTreeMap;

use reqwest::Method;

use super::response::{decode_rows, parse_key};
use super::{Call, Client};
use crate::brightpearl::error::Error;
use crate::brightpearl::idset::{GOODS_OUT_NOTE_ID_CAP, chunk_id_sets};
use crate::brightpearl::model::{GoodsOutNote, GoodsOutNoteId, GoodsOutNoteSearchRow, OrderId};
use crate::brightpearl::quota::Lane;
use crate::brightpearl::search::SearchQuery;

impl Client {
    /// `GET /warehouse-service/order/*/goods-note/goods-out/{ID-SET}` in calls of ≤ 500 ids.
    pub async fn get_goods_out_notes(
        &self,
        lane: Lane,
        ids: &[GoodsOutNoteId],
    ) -> Result<BTreeMap<GoodsOutNoteId, GoodsOutNote>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut all = BTreeMap::new();
        for set in chunk_id_sets(&raw, GOODS_OUT_NOTE_ID_CAP) {
            let path = format!("warehouse-service/order/*/goods-note/goods-out/{set}");
            all.extend(self.fetch_goods_out_notes(lane, path).await?);
        }
        Ok(all)
    }

    /// All goods-out notes of these orders (`/order/{ORDER-ID-SET}/goods-note/goods-out/`,
    /// ID sets of at most 500).
    pub async fn get_orders_goods_out_notes(
        &self,
        lane: Lane,
        orders: &[OrderId],
    ) -> Result<BTreeMap<GoodsOutNoteId, GoodsOutNote>, Error> {
        let raw: Vec<u64> = orders.iter().map(|id| id.0).collect();
        let mut all = BTreeMap::new();
        for set in chunk_id_sets(&raw, GOODS_OUT_NOTE_ID_CAP) {
            let path = format!("warehouse-service/order/{set}/goods-note/goods-out/");
            all.extend(self.fetch_goods_out_notes(lane, path).await?);
        }
        Ok(all)
    }

    /// `/warehouse-service/goods-note/goods-out-search` (e.g. `shippedOn=<since>/`), all pages.
    pub async fn search_goods_out_notes(
        &self,
        lane: Lane,
        query: &SearchQuery,
    ) -> Result<Vec<GoodsOutNoteSearchRow>, Error> {
        const PATH: &str = "warehouse-service/goods-note/goods-out-search";
        let rows = self.search_all(lane, PATH, query).await?;
        decode_rows(PATH, rows)
    }

    async fn fetch_goods_out_notes(
        &self,
        lane: Lane,
        path: String,
    ) -> Result<BTreeMap<GoodsOutNoteId, GoodsOutNote>, Error> {
        let endpoint = format!("GET {path}");
        let page: BTreeMap<String, GoodsOutNote> = self
            .fetch_or_empty(Call::new(lane, Method::GET, path))
            .await?;
        page.into_iter()
            .map(|(key, note)| Ok((GoodsOutNoteId(parse_key(&endpoint, &key)?), note)))
            .collect()
    }
}
