//! Product and stock operations (`product-service`, `warehouse-service` availability,
//! brightpearl-api.md §4.10, §4.11).

use std::collections::BTreeMap;

use reqwest::Method;

use super::response::{decode_rows, parse_key};
use super::{Call, Client};
use crate::brightpearl::error::Error;
use crate::brightpearl::idset::{AVAILABILITY_ID_CAP, PRODUCT_ID_CAP, chunk_id_sets};
use crate::brightpearl::model::{
    Product, ProductAvailability, ProductId, ProductIdentifier, ProductPrices, ProductSearchRow,
};
use crate::brightpearl::quota::Lane;
use crate::brightpearl::search::SearchQuery;

impl Client {
    /// `GET /product-service/product/{ID-SET}` in calls of at most 200 ids.
    pub async fn get_products(&self, lane: Lane, ids: &[ProductId]) -> Result<Vec<Product>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut products = Vec::new();
        for set in chunk_id_sets(&raw, PRODUCT_ID_CAP) {
            let call = Call::new(lane, Method::GET, format!("product-service/product/{set}"));
            let page: Vec<Product> = self.fetch_or_empty(call).await?;
            products.extend(page);
        }
        Ok(products)
    }

    /// `GET /product-service/product-price/{ID-SET}` in chunks of the product cap: each product's
    /// price per price list (brightpearl-api.md §4.10).
    pub async fn get_product_prices(
        &self,
        lane: Lane,
        ids: &[ProductId],
    ) -> Result<Vec<ProductPrices>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut prices = Vec::new();
        for set in chunk_id_sets(&raw, PRODUCT_ID_CAP) {
            let call = Call::new(
                lane,
                Method::GET,
                format!("product-service/product-price/{set}"),
            );
            let page: Vec<ProductPrices> = self.fetch_or_empty(call).await?;
            prices.extend(page);
        }
        Ok(prices)
    }

    /// Products whose identifier column equals `value` (all pages).
    pub async fn search_products(
        &self,
        lane: Lane,
        identifier: ProductIdentifier,
        value: &str,
    ) -> Result<Vec<ProductSearchRow>, Error> {
        const PATH: &str = "product-service/product-search";
        let query = SearchQuery::new().filter(identifier.column(), value);
        let rows = self.search_all(lane, PATH, &query).await?;
        decode_rows(PATH, rows)
    }

    /// Every product of the account: `OPTIONS /product-service/product` hands out the GET URIs
    /// (each under the 200-id cap, brightpearl-api.md §1.4), then one GET per URI.
    pub async fn list_all_products(&self, lane: Lane) -> Result<Vec<Product>, Error> {
        let uris = self
            .options_get_uris(lane, "product-service", "product")
            .await?;
        let mut products = Vec::new();
        for uri in uris {
            let path = format!("product-service/{}", uri.trim_start_matches('/'));
            let page: Vec<Product> = self
                .fetch_or_empty(Call::new(lane, Method::GET, path))
                .await?;
            products.extend(page);
        }
        Ok(products)
    }

    /// `OPTIONS /{service}/{resource}`: the GET URIs (relative to the service) covering the
    /// resource's ids, or the given ID set when `resource` carries one (`order/1-500`).
    pub async fn options_get_uris(
        &self,
        lane: Lane,
        service: &str,
        resource: &str,
    ) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Uris {
            #[serde(default)]
            get_uris: Vec<String>,
        }
        let call = Call::new(lane, Method::OPTIONS, format!("{service}/{resource}"));
        let uris: Uris = self.fetch(call).await?;
        Ok(uris.get_uris)
    }

    /// `GET /warehouse-service/product-availability/{ID-SET}`, keyed by product id.
    pub async fn get_product_availability(
        &self,
        lane: Lane,
        ids: &[ProductId],
    ) -> Result<BTreeMap<ProductId, ProductAvailability>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut all = BTreeMap::new();
        for set in chunk_id_sets(&raw, AVAILABILITY_ID_CAP) {
            let path = format!("warehouse-service/product-availability/{set}");
            let endpoint = format!("GET {path}");
            let page: BTreeMap<String, ProductAvailability> = self
                .fetch_or_empty(Call::new(lane, Method::GET, path))
                .await?;
            for (key, availability) in page {
                all.insert(ProductId(parse_key(&endpoint, &key)?), availability);
            }
        }
        Ok(all)
    }
}
