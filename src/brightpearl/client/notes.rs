//! Order notes of many orders at once (`/order-service/order-note-search`, brightpearl-api.md
//! §4.7): one search per ID set instead of one note GET per order.

use super::Client;
use super::response::decode_rows;
use crate::brightpearl::error::Error;
use crate::brightpearl::idset::{ORDER_ID_CAP, chunk_id_sets};
use crate::brightpearl::model::{OrderId, OrderNoteSearchRow};
use crate::brightpearl::quota::Lane;
use crate::brightpearl::search::SearchQuery;

const PATH: &str = "order-service/order-note-search";

impl Client {
    /// Every note of `orders` (all pages), by the `orderId` column as an ID set (guess: the
    /// column filters like the order search's `orderId`, brightpearl-api.md §4.5).
    pub async fn search_order_notes(
        &self,
        lane: Lane,
        orders: &[OrderId],
    ) -> Result<Vec<OrderNoteSearchRow>, Error> {
        let raw: Vec<u64> = orders.iter().map(|id| id.0).collect();
        let mut out = Vec::new();
        for set in chunk_id_sets(&raw, ORDER_ID_CAP) {
            let query = SearchQuery::new().filter("orderId", set.to_string());
            let rows = self.search_all(lane, PATH, &query).await?;
            out.extend(decode_rows::<OrderNoteSearchRow>(PATH, rows)?);
        }
        Ok(out)
    }
}
