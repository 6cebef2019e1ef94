//! The `reference` flow, Brightpearl → local store: warehouses, shipping methods, order statuses,
//! channels, price lists, tax codes and the product catalog (with prices, stock tracking and bundle
//! components). Runs at start when
//! Brightpearl credentials exist, after a Brightpearl connection change, on its schedule and on
//! demand. Uses the low-priority `Reference` lane, so orders and shipments go first.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::brightpearl::{self, Lane};
use crate::flow_name::FlowName;
use crate::reference::{
    BundleComponent, CatalogProduct, NamedId, PriceList, ReferenceData, TaxCode,
};
use crate::store::{Outcome, RecordDetail};
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

/// The reference flow; its run gets the Brightpearl client from the flow context.
pub struct ReferenceFlow;

impl ReferenceFlow {
    pub fn new() -> Arc<ReferenceFlow> {
        Arc::new(ReferenceFlow)
    }
}

fn upstream(what: &str, e: brightpearl::Error) -> FlowError {
    FlowError::brightpearl(format!("retrieving Brightpearl {what}"), e)
}

fn id32(id: u64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

/// Map Brightpearl's product to the catalog entry the matcher uses.
pub fn catalog_product(
    p: &brightpearl::Product,
    prices: Option<&brightpearl::ProductPrices>,
) -> CatalogProduct {
    let name = p
        .sales_channels
        .iter()
        .find_map(|c| c.product_name.clone())
        .unwrap_or_else(|| format!("Product {}", p.id.0));
    let prices: BTreeMap<u32, String> = prices
        .map(|pp| {
            pp.price_lists
                .iter()
                .filter_map(|l| {
                    // The price for a single unit: break quantity "1", else the lowest break.
                    let price = l
                        .quantity_price
                        .get("1")
                        .or_else(|| l.quantity_price.values().next())?;
                    Some((id32(l.price_list_id.0), price.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    CatalogProduct {
        id: id32(p.id.0),
        name,
        sku: p.identity.sku.clone(),
        barcode: p.identity.barcode.clone(),
        ean: p.identity.ean.clone(),
        upc: p.identity.upc.clone(),
        mpn: p.identity.mpn.clone(),
        isbn: p.identity.isbn.clone(),
        custom: BTreeMap::new(),
        prices,
        stock_tracked: Some(stock_tracked(p)),
        bundle_components: Some(bundle_components(p)),
    }
}

fn is_bundle(p: &brightpearl::Product) -> bool {
    p.composition
        .as_ref()
        .and_then(|c| c.bundle)
        .unwrap_or(false)
}

/// `stock.stockTracked`. Bundles are never stock-tracked (brightpearl-api.md §4.10), whatever the
/// product says. A product that does not say is taken as tracked: its stock rows are then
/// published (none means 0), where "untracked" could publish a fixed quantity it does not have.
fn stock_tracked(p: &brightpearl::Product) -> bool {
    !is_bundle(p)
        && p.stock
            .as_ref()
            .and_then(|s| s.stock_tracked)
            .unwrap_or(true)
}

/// A bundle's `composition.bundleComponents`; empty for a product that is not a bundle.
/// A component quantity is a whole number of units on a bundle (order rows of bundles take
/// integers, §4.2); a fractional one is rounded up and one below 1 read as 1, so a bundle never
/// publishes more than its components make.
fn bundle_components(p: &brightpearl::Product) -> Vec<BundleComponent> {
    if !is_bundle(p) {
        return Vec::new();
    }
    let components: Vec<BundleComponent> = p
        .composition
        .iter()
        .flat_map(|c| c.bundle_components.iter().flatten())
        .map(|c| BundleComponent {
            product_id: id32(c.product_id.0),
            quantity: (c.product_quantity.ceil() as i64).max(1),
        })
        .collect();
    if components.is_empty() {
        tracing::warn!(
            product_id = p.id.0,
            "brightpearl product is a bundle but lists no bundleComponents; stored without components"
        );
    }
    components
}

impl Flow for ReferenceFlow {
    fn name(&self) -> FlowName {
        FlowName::Reference
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            let bp = ctx.brightpearl()?;
            let lane = Lane::Reference;
            ctx.progress("retrieving warehouses, shipping methods, statuses, channels, price lists, tax codes");
            let warehouses = bp
                .list_warehouses(lane)
                .await
                .map_err(|e| upstream("warehouses", e))?;
            let methods = bp
                .list_shipping_methods(lane)
                .await
                .map_err(|e| upstream("shipping methods", e))?;
            let statuses = bp
                .list_order_statuses(lane)
                .await
                .map_err(|e| upstream("order statuses", e))?;
            let channels = bp
                .list_channels(lane)
                .await
                .map_err(|e| upstream("channels", e))?;
            let price_lists = bp
                .list_price_lists(lane)
                .await
                .map_err(|e| upstream("price lists", e))?;
            let tax_codes = bp
                .list_tax_codes(lane)
                .await
                .map_err(|e| upstream("tax codes", e))?;
            let reference = ReferenceData {
                retrieved_at: ctx.now(),
                warehouses: warehouses
                    .iter()
                    .map(|w| NamedId {
                        id: id32(w.id.0),
                        name: w.name.clone(),
                    })
                    .collect(),
                shipping_methods: methods
                    .iter()
                    .map(|m| NamedId {
                        id: id32(m.id.0),
                        name: m.name.clone(),
                    })
                    .collect(),
                order_statuses: statuses
                    .iter()
                    .map(|s| NamedId {
                        id: id32(s.status_id.0),
                        name: s.name.clone(),
                    })
                    .collect(),
                channels: channels
                    .iter()
                    .map(|c| NamedId {
                        id: id32(c.id.0),
                        name: c.name.clone(),
                    })
                    .collect(),
                price_lists: price_lists
                    .iter()
                    .map(|p| PriceList {
                        id: id32(p.id.0),
                        name: p.name.text.clone(),
                        code: p.code.clone().unwrap_or_default(),
                        currency: p.currency_code.clone().unwrap_or_default(),
                    })
                    .collect(),
                tax_codes: tax_codes
                    .iter()
                    .map(|t| TaxCode {
                        id: id32(t.id.0),
                        code: t.code.clone(),
                        rate: t.rate.map(|r| format!("{r}")).unwrap_or_else(|| "0".into()),
                    })
                    .collect(),
            };
            ctx.progress("retrieving the product catalog");
            let products = bp
                .list_all_products(lane)
                .await
                .map_err(|e| upstream("products", e))?;
            ctx.progress(format!(
                "retrieved {} products; retrieving their prices",
                products.len()
            ));
            let ids: Vec<brightpearl::ProductId> = products.iter().map(|p| p.id).collect();
            let prices = bp
                .get_product_prices(lane, &ids)
                .await
                .map_err(|e| upstream("product prices", e))?;
            let prices: BTreeMap<u64, brightpearl::ProductPrices> =
                prices.into_iter().map(|p| (p.product_id.0, p)).collect();
            let catalog: Vec<CatalogProduct> = products
                .iter()
                .map(|p| catalog_product(p, prices.get(&p.id.0)))
                .collect();
            let count = catalog.len();
            ctx.progress(format!("storing {count} products"));
            let lists = format!(
                "{} warehouses, {} shipping methods, {} order statuses, {} channels, {} price lists, {} tax codes",
                reference.warehouses.len(),
                reference.shipping_methods.len(),
                reference.order_statuses.len(),
                reference.channels.len(),
                reference.price_lists.len(),
                reference.tax_codes.len()
            );
            ctx.store
                .call(move |s| {
                    s.write(|tx| {
                        tx.put_reference_data(&reference)?;
                        tx.replace_catalog(&catalog)
                    })
                })
                .await?;
            ctx.record(
                "reference_data",
                "brightpearl",
                Outcome::Synced,
                RecordDetail {
                    related: vec![("products".into(), count.to_string())],
                    ..Default::default()
                },
            )
            .await?;
            Ok(RunReport {
                counts: ctx.counts(),
                note: Some(format!("{lists}, {count} products")),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::BundleComponent;

    fn product(json: serde_json::Value) -> brightpearl::Product {
        serde_json::from_value(json).unwrap()
    }

    /// The recorded product of brightpearl-api.md §4.10.
    fn recorded() -> serde_json::Value {
        serde_json::json!({"id":1569,"brandId":83,"productTypeId":1,
         "identity":{"sku":"GUANTO-0","isbn":"","ean":"","upc":"","mpn":"","barcode":""},
         "productGroupId":213,"featured":false,
         "stock":{"stockTracked":true,"weight":{"magnitude":0.0000},
                  "dimensions":{"length":0.00,"height":0.00,"width":0.00,"volume":0.00}},
         "financialDetails":{"taxable":false,"taxCode":{"id":4,"code":"VAT"}},
         "salesChannels":[{"salesChannelName":"Brightpearl","productName":"Guanto","productCondition":"new",
           "categories":[{"categoryCode":"299"}],
           "description":{"languageCode":"en","text":"","format":"HTML_FRAGMENT"},
           "shortDescription":{"languageCode":"en","text":"","format":"HTML_FRAGMENT"}}],
         "composition":{"bundle":false},
         "createdOn":"2020-11-05T16:57:08.000-06:00","updatedOn":"2020-11-23T17:53:01.000-06:00",
         "warehouses":{"2":{"defaultLocationId":0,"overflowLocationId":0,"reorderLevel":0,"reorderQuantity":0}},
         "nominalCodeStock":"1201","nominalCodePurchases":"5000","nominalCodeSales":"4000",
         "seasonIds":[],"reporting":{},"status":"LIVE","salesPopupMessage":"","warehousePopupMessage":"",
         "version":1606175581000u64})
    }

    #[test]
    fn a_recorded_product_is_tracked_and_not_a_bundle() {
        let entry = catalog_product(&product(recorded()), None);
        assert_eq!(entry.id, 1569);
        assert_eq!(entry.name, "Guanto");
        assert_eq!(entry.sku.as_deref(), Some("GUANTO-0"));
        assert_eq!(entry.stock_tracked, Some(true));
        assert_eq!(entry.bundle_components, Some(vec![]));
        assert_eq!(entry.is_bundle(), Some(false));
    }

    #[test]
    fn a_bundle_keeps_its_components_and_is_never_tracked() {
        let mut json = recorded();
        json["id"] = 1600.into();
        // A bundle that claims tracking is still untracked (§4.10).
        json["composition"] = serde_json::json!({"bundle": true, "bundleComponents": [
            {"productId": 1007, "productQuantity": 2},
            {"productId": 1532, "productQuantity": "1"},
            {"productId": 1533, "productQuantity": 1.5}
        ]});
        let entry = catalog_product(&product(json), None);
        assert_eq!(entry.stock_tracked, Some(false));
        assert_eq!(
            entry.bundle_components,
            Some(vec![
                BundleComponent {
                    product_id: 1007,
                    quantity: 2
                },
                BundleComponent {
                    product_id: 1532,
                    quantity: 1
                },
                BundleComponent {
                    product_id: 1533,
                    quantity: 2
                },
            ])
        );
        assert_eq!(entry.is_bundle(), Some(true));
    }

    #[test]
    fn untracked_and_silent_products() {
        let mut json = recorded();
        json["stock"]["stockTracked"] = false.into();
        let entry = catalog_product(&product(json), None);
        assert_eq!(
            (entry.stock_tracked, entry.bundle_components),
            (Some(false), Some(vec![]))
        );
        // Neither stock nor composition: tracked, not a bundle.
        let entry = catalog_product(&product(serde_json::json!({"id": 7})), None);
        assert_eq!(
            (entry.stock_tracked, entry.bundle_components),
            (Some(true), Some(vec![]))
        );
        // Components listed on a product that is not a bundle are not components.
        let mut json = recorded();
        json["composition"] = serde_json::json!({"bundle": false, "bundleComponents": null});
        assert_eq!(
            catalog_product(&product(json), None).bundle_components,
            Some(vec![])
        );
    }

    #[test]
    fn a_catalog_stored_before_the_upgrade_reads_as_not_yet_known() {
        let stored =
            serde_json::json!({"id": 5, "name": "Old", "sku": "OLD-1", "prices": {"1": "2.00"}});
        let entry: CatalogProduct = serde_json::from_value(stored).unwrap();
        assert_eq!(entry.stock_tracked, None);
        assert_eq!(entry.bundle_components, None);
        assert_eq!(entry.is_bundle(), None);
    }
}
