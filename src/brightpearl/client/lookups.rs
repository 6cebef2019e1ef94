//! Reference-data lookups (warehouses, shipping methods, channels, price lists, tax codes) and
//! the connection check.

use reqwest::Method;

use super::{Call, Client};
use crate::brightpearl::error::Error;
use crate::brightpearl::model::{Channel, PriceList, ShippingMethod, TaxCode, Warehouse};
use crate::brightpearl::quota::Lane;

impl Client {
    pub async fn list_warehouses(&self, lane: Lane) -> Result<Vec<Warehouse>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "warehouse-service/warehouse"))
            .await
    }

    pub async fn list_shipping_methods(&self, lane: Lane) -> Result<Vec<ShippingMethod>, Error> {
        self.fetch_or_empty(Call::new(
            lane,
            Method::GET,
            "warehouse-service/shipping-method",
        ))
        .await
    }

    pub async fn list_channels(&self, lane: Lane) -> Result<Vec<Channel>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "product-service/channel"))
            .await
    }

    pub async fn list_price_lists(&self, lane: Lane) -> Result<Vec<PriceList>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "product-service/price-list"))
            .await
    }

    pub async fn list_tax_codes(&self, lane: Lane) -> Result<Vec<TaxCode>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "accounting-service/tax-code"))
            .await
    }

    /// A cheap authenticated GET (the warehouse list) to test the connection and credentials.
    pub async fn ping(&self) -> Result<(), Error> {
        self.execute(Call::new(
            Lane::Reference,
            Method::GET,
            "warehouse-service/warehouse",
        ))
        .await
        .map(drop)
    }
}
