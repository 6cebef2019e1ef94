//! The `reference` flow, Brightpearl → local store: warehouses, shipping methods, order statuses,
//! channels, price lists, tax codes and the product catalog (with prices). Runs at start when
//! Brightpearl credentials exist, after a Brightpearl connection change, on its schedule and on
//! demand. Uses the low-priority `Reference` lane, so orders and shipments go first.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::brightpearl::{self, Lane};
use crate::flow_name::FlowName;
use crate::reference::{CatalogProduct, NamedId, PriceList, ReferenceData, TaxCode};
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
    }
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
