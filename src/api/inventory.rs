//! `GET /v1/inventory`: per published DSCO SKU what Brightpearl has, what is deducted, what was
//! published and what DSCO confirmed; `GET /v1/inventory/reconcile/latest`: the last reconcile's
//! report (JSON, or CSV with `?format=csv` or `Accept: text/csv`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{Page, limit};
use super::extract::Query;
use super::mappings::{csv_response, wants_csv};
use super::{ApiError, AppState};
use crate::store::{InventoryItem, RECONCILE_DOCUMENT};
use crate::sync::inventory::publish::Report;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_inventory))
        .routes(routes!(latest_reconcile))
}

const STATES: [&str; 5] = ["in_sync", "pending", "rejected", "unmatched", "skipped"];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct InventoryQuery {
    /// One DSCO SKU (case-insensitive).
    sku: Option<String>,
    /// in_sync | pending | rejected | unmatched | skipped
    state: Option<String>,
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One published item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InventoryView {
    sku: String,
    /// The Brightpearl product (none for an `unmatched` item).
    product_id: Option<u32>,
    /// Which rule published it: `item_mapping`, `catalog`, `seen_on_order`; `none` once no
    /// rule publishes it any more (DSCO was sent 0).
    rule: String,
    state: String,
    reason: Option<String>,
    codes: Vec<CodeView>,
    published_at: Option<DateTime<Utc>>,
    confirmed_at: Option<DateTime<Utc>>,
    dsco_request_id: Option<String>,
}

/// One DSCO warehouse code of an item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CodeView {
    code: String,
    /// Σ `onHand` of the Brightpearl warehouses mapped to the code.
    brightpearl: i64,
    /// Units of DSCO orders not yet in Brightpearl.
    pending_orders: i64,
    buffer: i64,
    published: Option<i64>,
    confirmed: Option<i64>,
}

fn view(item: InventoryItem) -> InventoryView {
    let mut codes: Vec<String> = item
        .detail
        .keys()
        .chain(item.published.keys())
        .chain(item.confirmed.keys())
        .cloned()
        .collect();
    codes.sort();
    codes.dedup();
    InventoryView {
        codes: codes
            .into_iter()
            .map(|code| {
                let d = item.detail.get(&code).cloned().unwrap_or_default();
                CodeView {
                    brightpearl: d.brightpearl,
                    pending_orders: d.pending_orders,
                    buffer: d.buffer,
                    published: item.published.get(&code).copied(),
                    confirmed: item.confirmed.get(&code).copied(),
                    code,
                }
            })
            .collect(),
        sku: item.sku,
        product_id: Some(item.product_id),
        rule: item.rule,
        state: item.state,
        reason: item.reason,
        published_at: item.published_at,
        confirmed_at: item.confirmed_at,
        dsco_request_id: item.request_id,
    }
}

/// Published items in SKU order, with what was published and confirmed per DSCO warehouse code.
#[utoipa::path(get, path = "/v1/inventory", tag = "inventory", params(InventoryQuery),
    responses((status = 200, body = Page<InventoryView>), (status = 400, body = super::ErrorBody)))]
async fn list_inventory(
    State(state): State<AppState>,
    Query(q): Query<InventoryQuery>,
) -> Result<axum::Json<Page<InventoryView>>, ApiError> {
    if let Some(s) = q.state.as_deref()
        && !STATES.contains(&s)
    {
        return Err(ApiError::BadRequest(format!(
            "unknown state {s:?}; states are {}",
            STATES.join(", ")
        )));
    }
    let limit = limit(q.limit)?;
    let (mut items, seen, matcher) = state
        .store
        .call(|s| {
            s.read(|tx| {
                Ok((
                    tx.inventory_items()?,
                    tx.dsco_items()?,
                    crate::mapping::items::ItemMatcher::load(tx)?,
                ))
            })
        })
        .await?;
    // DSCO items seen on orders that match no single product: not published, listed as
    // `unmatched` with why.
    let known: std::collections::BTreeSet<String> =
        items.iter().map(|i| i.sku.to_lowercase()).collect();
    for d in seen {
        if known.contains(&d.sku.to_lowercase()) {
            continue;
        }
        let ids = crate::mapping::items::DscoItemIds {
            sku: Some(d.sku.clone()),
            upc: d.upc.clone(),
            ean: d.ean.clone(),
            mpn: d.mpn.clone(),
            dsco_item_id: d.dsco_item_id.clone(),
        };
        let reason = match matcher.resolve(&ids) {
            crate::mapping::items::Resolution::Ambiguous(products) => {
                format!("seen on a DSCO order; matches several Brightpearl products: {products:?}")
            }
            crate::mapping::items::Resolution::Unmatched(why) => {
                format!("seen on a DSCO order; {why}")
            }
            _ => continue,
        };
        items.push(InventoryItem {
            sku: d.sku,
            rule: "seen_on_order".into(),
            state: "unmatched".into(),
            reason: Some(reason),
            ..Default::default()
        });
    }
    let sku = q.sku.as_deref().map(str::to_lowercase);
    let after = q.cursor.as_deref().map(str::to_lowercase);
    let mut items: Vec<InventoryItem> = items
        .into_iter()
        .filter(|i| sku.as_ref().is_none_or(|s| i.sku.to_lowercase() == *s))
        .filter(|i| q.state.as_ref().is_none_or(|s| i.state == *s))
        .filter(|i| after.as_ref().is_none_or(|a| i.sku.to_lowercase() > *a))
        .collect();
    items.sort_by_key(|i| i.sku.to_lowercase());
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        items.last().map(|i| i.sku.clone()).unwrap_or_default()
    });
    Ok(axum::Json(Page {
        items: items
            .into_iter()
            .map(|i| {
                let unmatched = i.state == "unmatched";
                let mut v = view(i);
                if unmatched {
                    v.product_id = None;
                }
                v
            })
            .collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// `csv` (also chosen by `Accept: text/csv`) or `json` (default).
    format: Option<String>,
}

/// The last reconcile: per item and code, the stored (confirmed) quantity, what was published,
/// the outcome.
#[utoipa::path(get, path = "/v1/inventory/reconcile/latest", tag = "inventory", params(ReportQuery),
    responses((status = 200, body = Report, description = "JSON; text/csv (sku,code,stored,published,outcome) when CSV is asked for"),
        (status = 404, body = super::ErrorBody)))]
async fn latest_reconcile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(q.format.as_deref(), &headers)?;
    let report: Report = state
        .store
        .call(|s| s.read(|tx| tx.document(RECONCILE_DOCUMENT)))
        .await?
        .ok_or_else(|| ApiError::NotFound("no reconcile has run yet".into()))?;
    if !csv {
        return Ok(axum::Json(report).into_response());
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: &[String]| {
        out.write_record(row)
            .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
    };
    write(
        &mut out,
        &["sku", "code", "stored", "published", "outcome"].map(String::from),
    )?;
    for r in &report.rows {
        write(
            &mut out,
            &[
                r.sku.clone(),
                r.code.clone(),
                r.stored.map(|s| s.to_string()).unwrap_or_default(),
                r.published.to_string(),
                r.outcome.clone(),
            ],
        )?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))?;
    Ok(csv_response(bytes))
}
