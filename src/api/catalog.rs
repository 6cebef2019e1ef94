//! Brightpearl's lists from the stored reference data (`/v1/brightpearl/...`), and the views that
//! join them with what DSCO sent: `/v1/items` (match state of every item) and `/v1/retailers`.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{Page, limit};
use super::extract::Query;
use super::{ApiError, AppState};
use crate::mapping::customers::CustomerMap;
use crate::mapping::items::{DscoItemIds, ItemMatcher, Resolution, product_field};
use crate::mapping::{ItemMapping, MappingKind};
use crate::reference::{CatalogProduct, NamedId, PriceList, ReferenceData, TaxCode};
use crate::settings::Settings;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(brightpearl_warehouses))
        .routes(routes!(brightpearl_shipping_methods))
        .routes(routes!(brightpearl_order_statuses))
        .routes(routes!(brightpearl_channels))
        .routes(routes!(brightpearl_price_lists))
        .routes(routes!(brightpearl_tax_codes))
        .routes(routes!(brightpearl_products))
        .routes(routes!(items))
        .routes(routes!(retailers))
}

const NOT_RETRIEVED: &str = "reference data not retrieved yet; run the reference flow first";

async fn reference(state: &AppState) -> Result<ReferenceData, ApiError> {
    state
        .store
        .call(|s| s.read(|tx| tx.reference_data()))
        .await?
        .ok_or_else(|| ApiError::Conflict(NOT_RETRIEVED.into()))
}

fn whole<T>(items: Vec<T>) -> axum::Json<Page<T>> {
    axum::Json(Page {
        items,
        next_cursor: None,
    })
}

/// Brightpearl warehouses, as last retrieved.
#[utoipa::path(get, path = "/v1/brightpearl/warehouses", tag = "brightpearl",
    responses((status = 200, body = Page<NamedId>), (status = 409, body = super::ErrorBody)))]
async fn brightpearl_warehouses(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<NamedId>>, ApiError> {
    Ok(whole(reference(&state).await?.warehouses))
}

/// Brightpearl shipping methods, as last retrieved.
#[utoipa::path(get, path = "/v1/brightpearl/shipping-methods", tag = "brightpearl",
    responses((status = 200, body = Page<NamedId>), (status = 409, body = super::ErrorBody)))]
async fn brightpearl_shipping_methods(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<NamedId>>, ApiError> {
    Ok(whole(reference(&state).await?.shipping_methods))
}

/// Brightpearl sales order statuses, as last retrieved.
#[utoipa::path(get, path = "/v1/brightpearl/order-statuses", tag = "brightpearl",
    responses((status = 200, body = Page<NamedId>), (status = 409, body = super::ErrorBody)))]
async fn brightpearl_order_statuses(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<NamedId>>, ApiError> {
    Ok(whole(reference(&state).await?.order_statuses))
}

/// Brightpearl channels, as last retrieved.
#[utoipa::path(get, path = "/v1/brightpearl/channels", tag = "brightpearl",
    responses((status = 200, body = Page<NamedId>), (status = 409, body = super::ErrorBody)))]
async fn brightpearl_channels(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<NamedId>>, ApiError> {
    Ok(whole(reference(&state).await?.channels))
}

/// Brightpearl price lists, as last retrieved.
#[utoipa::path(get, path = "/v1/brightpearl/price-lists", tag = "brightpearl",
    responses((status = 200, body = Page<PriceList>), (status = 409, body = super::ErrorBody)))]
async fn brightpearl_price_lists(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<PriceList>>, ApiError> {
    Ok(whole(reference(&state).await?.price_lists))
}

/// Brightpearl tax codes, as last retrieved.
#[utoipa::path(get, path = "/v1/brightpearl/tax-codes", tag = "brightpearl",
    responses((status = 200, body = Page<TaxCode>), (status = 409, body = super::ErrorBody)))]
async fn brightpearl_tax_codes(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<TaxCode>>, ApiError> {
    Ok(whole(reference(&state).await?.tax_codes))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct ProductsQuery {
    /// Only products with this SKU (trimmed, case-insensitive).
    sku: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// The Brightpearl product catalog, by product id.
#[utoipa::path(get, path = "/v1/brightpearl/products", tag = "brightpearl", params(ProductsQuery),
    responses((status = 200, body = Page<CatalogProduct>), (status = 400, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
async fn brightpearl_products(
    State(state): State<AppState>,
    Query(q): Query<ProductsQuery>,
) -> Result<axum::Json<Page<CatalogProduct>>, ApiError> {
    let limit = limit(q.limit)?;
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<u32>().map_err(|_| {
                ApiError::BadRequest(format!("cursor {c:?} is not one this API gave out"))
            })
        })
        .transpose()?;
    reference(&state).await?;
    let sku = q.sku.clone();
    let mut products = state
        .store
        .call(move |s| s.read(|tx| tx.products(after, limit + 1, sku.as_deref())))
        .await?;
    let next_cursor = (products.len() > limit).then(|| {
        products.truncate(limit);
        products
            .last()
            .map(|p| p.id.to_string())
            .unwrap_or_default()
    });
    Ok(axum::Json(Page {
        items: products,
        next_cursor,
    }))
}

/// A product as a candidate of a match.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductRef {
    pub id: u32,
    pub name: String,
    pub sku: Option<String>,
    /// The value of the Brightpearl match field.
    pub match_value: Option<String>,
}

/// One row of the items view: a DSCO item seen, or a Brightpearl product no DSCO item matched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    /// `dsco` (an item seen on an order) or `brightpearl` (a product no DSCO item matched).
    pub source: &'static str,
    /// auto | manual | ambiguous | unmatched
    pub state: &'static str,
    pub dsco_sku: Option<String>,
    pub dsco_item_id: Option<String>,
    pub upc: Option<String>,
    pub ean: Option<String>,
    pub mpn: Option<String>,
    pub title: Option<String>,
    pub seen_at: Option<DateTime<Utc>>,
    /// The product the item resolves to (manual or auto), or the unmatched product itself.
    pub brightpearl_product_id: Option<u32>,
    pub candidates: Vec<ProductRef>,
    /// Why the item is unmatched or ambiguous.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct ItemsQuery {
    /// auto | manual | ambiguous | unmatched
    state: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Every DSCO item seen and every Brightpearl product, with its match state and candidates.
#[utoipa::path(get, path = "/v1/items", tag = "mappings", params(ItemsQuery),
    responses((status = 200, body = Page<ItemView>), (status = 400, body = super::ErrorBody)))]
async fn items(
    State(state): State<AppState>,
    Query(q): Query<ItemsQuery>,
) -> Result<axum::Json<Page<ItemView>>, ApiError> {
    let wanted = match q.state.as_deref() {
        None => None,
        Some(s @ ("auto" | "manual" | "ambiguous" | "unmatched")) => Some(s.to_owned()),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "state {other:?} is not one of auto, manual, ambiguous, unmatched"
            )));
        }
    };
    let limit = limit(q.limit)?;
    let offset = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<usize>().map_err(|_| {
                ApiError::BadRequest(format!("cursor {c:?} is not one this API gave out"))
            })
        })
        .transpose()?
        .unwrap_or(0);
    let views = state
        .store
        .call(move |s| {
            let (settings, catalog, manual, seen) = s.read(|tx| {
                Ok((
                    Settings::load(tx)?,
                    tx.catalog()?,
                    tx.mappings::<ItemMapping>(MappingKind::Items.as_str())?,
                    tx.dsco_items()?,
                ))
            })?;
            let manual: Vec<ItemMapping> = manual.into_iter().map(|(_, m)| m).collect();
            Ok(item_views(&settings, &catalog, &manual, &seen))
        })
        .await?;
    let mut matching: Vec<ItemView> = views
        .into_iter()
        .filter(|v| wanted.as_deref().is_none_or(|w| v.state == w))
        .skip(offset)
        .take(limit + 1)
        .collect();
    let next_cursor = (matching.len() > limit).then(|| {
        matching.truncate(limit);
        (offset + limit).to_string()
    });
    Ok(axum::Json(Page {
        items: matching,
        next_cursor,
    }))
}

/// Resolve every DSCO item seen; then list the products none of them reached.
fn item_views(
    settings: &Settings,
    catalog: &[CatalogProduct],
    manual: &[ItemMapping],
    seen: &[crate::reference::DscoItem],
) -> Vec<ItemView> {
    let matcher = ItemMatcher::new(catalog, manual, &settings.items);
    let by_id: HashMap<u32, &CatalogProduct> = catalog.iter().map(|p| (p.id, p)).collect();
    let field = &settings.items.brightpearl_match_field;
    let reference = |id: u32| -> ProductRef {
        match by_id.get(&id) {
            Some(p) => ProductRef {
                id,
                name: p.name.clone(),
                sku: p.sku.clone(),
                match_value: product_field(p, field).map(str::to_owned),
            },
            None => ProductRef {
                id,
                name: String::new(),
                sku: None,
                match_value: None,
            },
        }
    };
    let mut reached: HashSet<u32> = HashSet::new();
    let mut views = Vec::with_capacity(seen.len() + catalog.len());
    for item in seen {
        let resolution = matcher.resolve(&DscoItemIds {
            sku: Some(item.sku.clone()),
            upc: item.upc.clone(),
            ean: item.ean.clone(),
            mpn: item.mpn.clone(),
            dsco_item_id: item.dsco_item_id.clone(),
        });
        let (product, candidates, reason) = match &resolution {
            Resolution::Manual(id) | Resolution::Auto(id) => (Some(*id), vec![*id], None),
            Resolution::Ambiguous(ids) => (
                None,
                ids.clone(),
                Some(format!(
                    "{} Brightpearl products match; map the SKU manually",
                    ids.len()
                )),
            ),
            Resolution::Unmatched(why) => (None, Vec::new(), Some(why.clone())),
        };
        reached.extend(candidates.iter().copied());
        views.push(ItemView {
            source: "dsco",
            state: resolution.state(),
            dsco_sku: Some(item.sku.clone()),
            dsco_item_id: item.dsco_item_id.clone(),
            upc: item.upc.clone(),
            ean: item.ean.clone(),
            mpn: item.mpn.clone(),
            title: item.title.clone(),
            seen_at: Some(item.seen_at),
            brightpearl_product_id: product,
            candidates: candidates.into_iter().map(reference).collect(),
            reason,
        });
    }
    for product in catalog {
        if reached.contains(&product.id) {
            continue;
        }
        views.push(ItemView {
            source: "brightpearl",
            state: "unmatched",
            dsco_sku: None,
            dsco_item_id: None,
            upc: None,
            ean: None,
            mpn: None,
            title: None,
            seen_at: None,
            brightpearl_product_id: Some(product.id),
            candidates: Vec::new(),
            reason: Some("no DSCO item seen on an order matches this product".into()),
        });
    }
    views
}

/// A DSCO retailer seen on an order, with the Brightpearl contact it is mapped to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetailerView {
    pub dsco_retailer_id: String,
    pub name: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub brightpearl_contact_id: Option<u32>,
}

/// The DSCO retailers seen, with their mapped contact.
#[utoipa::path(get, path = "/v1/retailers", tag = "mappings",
    responses((status = 200, body = Page<RetailerView>)))]
async fn retailers(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<RetailerView>>, ApiError> {
    let views = state
        .store
        .call(|s| {
            s.read(|tx| {
                let contacts = CustomerMap::load(tx)?;
                Ok(tx
                    .retailers()?
                    .into_iter()
                    .map(|r| RetailerView {
                        brightpearl_contact_id: contacts.contact_for(&r.dsco_retailer_id),
                        dsco_retailer_id: r.dsco_retailer_id,
                        name: r.name,
                        first_seen_at: r.first_seen_at,
                        last_seen_at: r.last_seen_at,
                    })
                    .collect::<Vec<_>>())
            })
        })
        .await?;
    Ok(whole(views))
}
