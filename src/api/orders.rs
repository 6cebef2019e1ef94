//! `GET /v1/orders`, `GET /v1/orders/{dsco_order_id}`: what became of each DSCO order.

use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{Page, limit};
use super::extract::{Path, Query};
use super::{ApiError, AppState};
use crate::sync::order_view::{self, OrderState, OrderView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct OrdersQuery {
    /// pending | imported | acknowledged | partially_shipped | shipped | invoiced | needs_attention | failed | cancelled | skipped
    state: Option<String>,
    /// `true`: only orders with an open retailer cancel request.
    cancel_requested: Option<bool>,
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// DSCO orders the `orders` flow has seen, in DSCO-id order, with their state.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(OrdersQuery),
    responses((status = 200, body = Page<OrderView>), (status = 400, body = super::ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    Query(q): Query<OrdersQuery>,
) -> Result<axum::Json<Page<OrderView>>, ApiError> {
    let wanted = q
        .state
        .as_deref()
        .map(str::parse::<OrderState>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let limit = limit(q.limit)?;
    let after = q.cursor.clone();
    let requested = q.cancel_requested == Some(true);
    let mut items = state
        .store
        .call(move |s| {
            s.read(|tx| {
                if requested {
                    order_view::list_cancel_requested(tx, wanted, after.as_deref(), limit + 1)
                } else {
                    order_view::list(tx, wanted, after.as_deref(), limit + 1)
                }
            })
        })
        .await?;
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        items
            .last()
            .map(|v| v.dsco_order_id.clone())
            .unwrap_or_default()
    });
    Ok(axum::Json(Page { items, next_cursor }))
}

/// One DSCO order: ids, state, reason and the timeline of what was sent and received.
#[utoipa::path(get, path = "/v1/orders/{dsco_order_id}", tag = "orders",
    params(("dsco_order_id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = super::ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<OrderView>, ApiError> {
    let key = id.clone();
    state
        .store
        .call(move |s| s.read(|tx| order_view::load(tx, &key)))
        .await?
        .map(axum::Json)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "DSCO order {id} has not been seen by the orders flow"
            ))
        })
}
