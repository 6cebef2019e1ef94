//! Order operations (`order-service`, brightpearl-api.md §4.1–§4.7): create, get, search, status, notes.

use reqwest::Method;

use super::response::decode_rows;
use super::{Call, Client};
use crate::brightpearl::error::Error;
use crate::brightpearl::idset::{ORDER_ID_CAP, chunk_id_sets};
use crate::brightpearl::model::{
    NoteId, Order, OrderId, OrderNote, OrderNoteEntry, OrderSearchRow, OrderStatus,
    OrderStatusUpdate, SalesOrder, SalesOrderSearchRow,
};
use crate::brightpearl::quota::Lane;
use crate::brightpearl::search::{SearchPage, SearchQuery};

impl Client {
    /// `POST /order-service/sales-order`: create the order and its rows atomically.
    /// Never retried once it may have reached the server: on [`Error::is_unknown_outcome`] the
    /// caller must search by `externalRef` before trying again.
    pub async fn create_sales_order(
        &self,
        lane: Lane,
        order: &SalesOrder,
    ) -> Result<OrderId, Error> {
        let call = Call::new(lane, Method::POST, "order-service/sales-order").json(order)?;
        self.fetch(call).await
    }

    /// `GET /order-service/order/{ID-SET}`, split into calls of at most 200 ids. Unknown ids are
    /// silently absent from the answer.
    pub async fn get_orders(&self, lane: Lane, ids: &[OrderId]) -> Result<Vec<Order>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut orders = Vec::new();
        for set in chunk_id_sets(&raw, ORDER_ID_CAP) {
            let call = Call::new(lane, Method::GET, format!("order-service/order/{set}"));
            let page: Vec<Order> = self.fetch_or_empty(call).await?;
            orders.extend(page);
        }
        Ok(orders)
    }

    /// One page of `/order-service/order-search`.
    pub async fn search_orders(
        &self,
        lane: Lane,
        query: &SearchQuery,
    ) -> Result<SearchPage, Error> {
        self.search(lane, "order-service/order-search", query).await
    }

    /// Orders whose `externalRef` equals `external_ref` (all pages).
    pub async fn search_orders_by_external_ref(
        &self,
        lane: Lane,
        external_ref: &str,
    ) -> Result<Vec<OrderSearchRow>, Error> {
        let query = SearchQuery::new().filter("externalRef", external_ref);
        let rows = self
            .search_all(lane, "order-service/order-search", &query)
            .await?;
        decode_rows("order-service/order-search", rows)
    }

    /// Sales orders whose `customerRef` is any of `refs` (STRING_SET filter `customerRefs`),
    /// in calls of at most 50 refs.
    pub async fn search_sales_orders_by_customer_refs(
        &self,
        lane: Lane,
        refs: &[String],
    ) -> Result<Vec<SalesOrderSearchRow>, Error> {
        const PATH: &str = "order-service/sales-order-search";
        let mut found = Vec::new();
        for chunk in refs.chunks(50) {
            let query = SearchQuery::new().filter("customerRefs", chunk.join(","));
            let rows = self.search_all(lane, PATH, &query).await?;
            found.extend(decode_rows::<SalesOrderSearchRow>(PATH, rows)?);
        }
        Ok(found)
    }

    /// `PUT /order-service/order/{ID}/status`; Brightpearl always adds a note.
    pub async fn update_order_status(
        &self,
        lane: Lane,
        order_id: OrderId,
        update: &OrderStatusUpdate,
    ) -> Result<(), Error> {
        let call = Call::new(
            lane,
            Method::PUT,
            format!("order-service/order/{order_id}/status"),
        )
        .json(update)?;
        self.execute(call).await.map(drop)
    }

    /// `POST /order-service/order/{ID}/note`.
    pub async fn add_order_note(
        &self,
        lane: Lane,
        order_id: OrderId,
        note: &OrderNote,
    ) -> Result<NoteId, Error> {
        let call = Call::new(
            lane,
            Method::POST,
            format!("order-service/order/{order_id}/note"),
        )
        .json(note)?;
        self.fetch(call).await
    }

    /// `GET /order-service/order/{ID}/note`: every note on the order, oldest first (§4.7). A 404
    /// (an order with nothing to show) reads as no notes.
    pub async fn get_order_notes(
        &self,
        lane: Lane,
        order_id: OrderId,
    ) -> Result<Vec<OrderNoteEntry>, Error> {
        let call = Call::new(
            lane,
            Method::GET,
            format!("order-service/order/{order_id}/note"),
        );
        self.fetch_or_empty(call).await
    }

    /// `GET /order-service/order-status`.
    pub async fn list_order_statuses(&self, lane: Lane) -> Result<Vec<OrderStatus>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "order-service/order-status"))
            .await
    }
}
