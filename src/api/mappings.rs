//! Mappings and DSCO's lists: `/v1/mappings/{kind}` (JSON pages or CSV; CSV bulk upload with
//! `?mode=merge|replace`), `/v1/mappings/{kind}/{key}`, `/v1/dsco/warehouses`,
//! `/v1/dsco/ship-methods`, and the two routes that ask DSCO or Brightpearl: `POST
//! /v1/dsco/warehouses/refresh` and `POST /v1/mappings/customers/{id}/create-in-brightpearl`.
//! Parsing, checks and storage live in `mapping`, contact creation in `sync::contacts`;
//! this file only maps HTTP to them.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{Page, limit};
use super::extract::{Json, Path, Query};
use super::{ApiError, AppState, FieldError};
use crate::mapping::{
    self, CustomerMapping, InventoryBuffer, ItemMapping, MappingError, MappingKind, Mode, RowError,
    ShippingMethodMapping, WarehouseMapping, dsco_lists,
};
use crate::reference::{DscoShipMethod, DscoWarehouse};
use crate::store::MappingWriteCounts;
use crate::sync::contacts::{Customer, create_retailer_contact};

/// Uploads of 100,000 rows and more must fit.
const UPLOAD_LIMIT_BYTES: usize = 256 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mappings, upload_mappings))
        .routes(routes!(get_mapping, put_mapping, delete_mapping))
        .routes(routes!(list_dsco_warehouses, upload_dsco_warehouses))
        .routes(routes!(refresh_dsco_warehouses))
        .routes(routes!(create_customer_in_brightpearl))
        .routes(routes!(list_dsco_ship_methods, upload_dsco_ship_methods))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES))
}

impl From<MappingError> for ApiError {
    fn from(e: MappingError) -> Self {
        match e {
            MappingError::ReferenceMissing => ApiError::Conflict(e.to_string()),
            MappingError::Rows(rows) => rows_invalid(rows),
            MappingError::Store(s) => s.into(),
        }
    }
}

/// A 400 listing every bad row as `line N` (or `body` for a single mapping sent as JSON).
pub(super) fn rows_invalid(rows: Vec<RowError>) -> ApiError {
    ApiError::Invalid {
        message: format!("{} bad row(s); nothing was applied", rows.len()),
        details: rows
            .into_iter()
            .map(|r| FieldError {
                field: if r.line == 0 {
                    "body".into()
                } else {
                    format!("line {}", r.line)
                },
                message: r.message,
            })
            .collect(),
    }
}

/// One mapping row; which fields depends on the kind.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Describes the wire shape for the OpenAPI document only.
pub enum MappingDto {
    Item(ItemMapping),
    Customer(CustomerMapping),
    ShippingMethod(ShippingMethodMapping),
    Warehouse(WarehouseMapping),
    InventoryBuffer(InventoryBuffer),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadResult {
    pub kind: String,
    /// merge | replace
    pub mode: String,
    /// Rows in the upload.
    pub rows: u64,
    #[serde(flatten)]
    pub counts: MappingWriteCounts,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListReplaced {
    /// Rows now in the list.
    pub rows: u64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `csv` for the whole list as CSV (also chosen by `Accept: text/csv`), `json` by default.
    format: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// merge (default): add and update; replace: the upload becomes the whole mapping.
    mode: Option<Mode>,
}

fn kind_of(text: &str) -> Result<MappingKind, ApiError> {
    text.parse::<MappingKind>().map_err(ApiError::NotFound)
}

/// Whether the caller asked for CSV.
pub(super) fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::BadRequest(format!(
            "format {other:?} is not csv or json"
        ))),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv"))),
    }
}

/// CSV uploads: anything but a JSON body is read as CSV (curl's default form type included).
fn check_csv_body(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("json") {
        return Err(ApiError::BadRequest(
            "this route takes CSV: send the file with Content-Type: text/csv".into(),
        ));
    }
    Ok(())
}

pub(super) fn csv_response(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response()
}

/// The manual mappings of a kind: a JSON page, or every row as CSV (`?format=csv` or
/// `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/mappings/{kind}", tag = "mappings",
    params(("kind" = String, Path, description = "items | customers | shipping-methods | warehouses | inventory-buffers"), ListQuery),
    responses((status = 200, body = Page<MappingDto>, description = "JSON page; text/csv with the kind's header when CSV is asked for"),
              (status = 404, body = super::ErrorBody)))]
async fn list_mappings(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    if wants_csv(q.format.as_deref(), &headers)? {
        let bytes = state
            .store
            .call(move |s| s.read(|tx| mapping::dynamic::export(tx, kind)))
            .await?;
        return Ok(csv_response(bytes));
    }
    let limit = limit(q.limit)?;
    let cursor = q.cursor.clone();
    let mut rows = state
        .store
        .call(move |s| s.read(|tx| mapping::dynamic::page(tx, kind, cursor.as_deref(), limit + 1)))
        .await?;
    let next_cursor = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last().map(|(k, _)| k.clone()).unwrap_or_default()
    });
    Ok(axum::Json(Page {
        items: rows.into_iter().map(|(_, v)| v).collect::<Vec<Value>>(),
        next_cursor,
    })
    .into_response())
}

/// Bulk upload as CSV (`Content-Type: text/csv`), atomic: when any row is bad nothing is applied
/// and the 400 lists every bad row by line number.
#[utoipa::path(put, path = "/v1/mappings/{kind}", tag = "mappings",
    params(("kind" = String, Path, description = "items | customers | shipping-methods | warehouses | inventory-buffers"), UploadQuery),
    request_body(content = String, content_type = "text/csv", description = "The kind's header, then one row per mapping; a UTF-8 BOM is accepted"),
    responses((status = 200, body = UploadResult), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody, description = "reference data not retrieved yet")))]
async fn upload_mappings(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<UploadResult>, ApiError> {
    let kind = kind_of(&kind)?;
    check_csv_body(&headers)?;
    let mode = q.mode.unwrap_or_default();
    let counts = state
        .store
        .call(move |s| Ok(mapping::dynamic::upload(s, kind, &body, mode)))
        .await??;
    Ok(axum::Json(UploadResult {
        kind: kind.as_str().into(),
        mode: match mode {
            Mode::Merge => "merge".into(),
            Mode::Replace => "replace".into(),
        },
        rows: counts.created + counts.updated + counts.unchanged,
        counts,
    }))
}

/// One mapping by key (the key columns joined by `|`).
#[utoipa::path(get, path = "/v1/mappings/{kind}/{key}", tag = "mappings",
    params(("kind" = String, Path), ("key" = String, Path, description = "Key columns joined by |")),
    responses((status = 200, body = MappingDto), (status = 404, body = super::ErrorBody)))]
async fn get_mapping(
    State(state): State<AppState>,
    Path((kind, key)): Path<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    let kind = kind_of(&kind)?;
    let lookup = key.clone();
    state
        .store
        .call(move |s| s.read(|tx| mapping::dynamic::get(tx, kind, &lookup)))
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no {kind} mapping with key {key:?}")))
}

/// Create or replace one mapping; key columns may be left out of the body.
#[utoipa::path(put, path = "/v1/mappings/{kind}/{key}", tag = "mappings",
    params(("kind" = String, Path), ("key" = String, Path, description = "Key columns joined by |")),
    request_body = MappingDto,
    responses((status = 200, body = MappingDto), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
async fn put_mapping(
    State(state): State<AppState>,
    Path((kind, key)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Result<axum::Json<Value>, ApiError> {
    let kind = kind_of(&kind)?;
    let row = state
        .store
        .call(move |s| Ok(mapping::dynamic::put(s, kind, &key, &body)))
        .await??;
    Ok(axum::Json(row))
}

/// Delete one mapping.
#[utoipa::path(delete, path = "/v1/mappings/{kind}/{key}", tag = "mappings",
    params(("kind" = String, Path), ("key" = String, Path, description = "Key columns joined by |")),
    responses((status = 204), (status = 404, body = super::ErrorBody)))]
async fn delete_mapping(
    State(state): State<AppState>,
    Path((kind, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let kind = kind_of(&kind)?;
    let stored = mapping::dynamic::normalize_key(kind, &key);
    let existed = state
        .store
        .call(move |s| s.write(|tx| tx.delete_mapping(kind.as_str(), &stored)))
        .await?;
    if existed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no {kind} mapping with key {key:?}"
        )))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct FormatQuery {
    /// `csv` for CSV (also chosen by `Accept: text/csv`), `json` by default.
    format: Option<String>,
}

/// A whole DSCO list as CSV or as one JSON page.
fn list_response<T: serde::Serialize>(
    csv: bool,
    list: Vec<T>,
    to_csv: fn(&[T]) -> Vec<u8>,
) -> Response {
    if csv {
        csv_response(to_csv(&list))
    } else {
        axum::Json(Page {
            items: list,
            next_cursor: None,
        })
        .into_response()
    }
}

/// The supplier's DSCO warehouses (CSV `code,name`), which warehouse mappings are checked against.
#[utoipa::path(get, path = "/v1/dsco/warehouses", tag = "dsco", params(FormatQuery),
    responses((status = 200, body = Page<DscoWarehouse>, description = "or text/csv")))]
async fn list_dsco_warehouses(
    State(state): State<AppState>,
    Query(q): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let csv = wants_csv(q.format.as_deref(), &headers)?;
    let list = state
        .store
        .call(|s| s.read(|tx| tx.dsco_warehouses()))
        .await?;
    Ok(list_response(csv, list, dsco_lists::warehouses_csv))
}

/// Replace the DSCO warehouse list from CSV `code,name`; atomic, every bad row listed.
#[utoipa::path(put, path = "/v1/dsco/warehouses", tag = "dsco",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ListReplaced), (status = 400, body = super::ErrorBody)))]
async fn upload_dsco_warehouses(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<ListReplaced>, ApiError> {
    check_csv_body(&headers)?;
    let list = dsco_lists::parse_warehouses(&body).map_err(rows_invalid)?;
    let rows = list.len() as u64;
    state
        .store
        .call(move |s| s.write(|tx| tx.replace_dsco_warehouses(&list)))
        .await?;
    Ok(axum::Json(ListReplaced { rows }))
}

/// The ship methods the retailers accept (CSV `carrier,method,service_level_code,description`).
#[utoipa::path(get, path = "/v1/dsco/ship-methods", tag = "dsco", params(FormatQuery),
    responses((status = 200, body = Page<DscoShipMethod>, description = "or text/csv")))]
async fn list_dsco_ship_methods(
    State(state): State<AppState>,
    Query(q): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let csv = wants_csv(q.format.as_deref(), &headers)?;
    let list = state
        .store
        .call(|s| s.read(|tx| tx.dsco_ship_methods()))
        .await?;
    Ok(list_response(csv, list, dsco_lists::ship_methods_csv))
}

/// Replace the ship-methods list from CSV; atomic, every bad row listed.
#[utoipa::path(put, path = "/v1/dsco/ship-methods", tag = "dsco",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ListReplaced), (status = 400, body = super::ErrorBody)))]
async fn upload_dsco_ship_methods(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<ListReplaced>, ApiError> {
    check_csv_body(&headers)?;
    let list = dsco_lists::parse_ship_methods(&body).map_err(rows_invalid)?;
    let rows = list.len() as u64;
    state
        .store
        .call(move |s| s.write(|tx| tx.replace_dsco_ship_methods(&list)))
        .await?;
    Ok(axum::Json(ListReplaced { rows }))
}

/// Fetch the supplier's warehouses from DSCO (`GET /warehouse/page`, every scroll page) and make
/// them the stored list; answers the new list as `GET /v1/dsco/warehouses` does.
#[utoipa::path(post, path = "/v1/dsco/warehouses/refresh", tag = "dsco",
    responses((status = 200, body = Page<DscoWarehouse>),
              (status = 409, body = super::ErrorBody, description = "DSCO credentials are not set; the message names what is missing"),
              (status = 502, body = super::ErrorBody, description = "DSCO failed; the message names the endpoint and status")))]
async fn refresh_dsco_warehouses(
    State(state): State<AppState>,
) -> Result<axum::Json<Page<DscoWarehouse>>, ApiError> {
    let client = state.connections.dsco().map_err(ApiError::Conflict)?;
    let fetched = client.list_warehouses().await.map_err(|e| {
        ApiError::BadGateway(
            state
                .connections
                .redact(format!("retrieving DSCO's warehouses failed: {e}")),
        )
    })?;
    let mut list: Vec<DscoWarehouse> = fetched
        .into_iter()
        .filter(|w| !w.code.trim().is_empty())
        .map(|w| DscoWarehouse {
            code: w.code.trim().to_owned(),
            name: w.name.unwrap_or_default(),
        })
        .collect();
    list.sort_by(|a, b| a.code.cmp(&b.code));
    list.dedup_by(|a, b| a.code == b.code);
    let stored = list.clone();
    state
        .store
        .call(move |s| s.write(|tx| tx.replace_dsco_warehouses(&stored)))
        .await?;
    tracing::info!(warehouses = list.len(), "dsco warehouses refreshed");
    Ok(axum::Json(Page {
        items: list,
        next_cursor: None,
    }))
}

/// The answer of `create-in-brightpearl`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedCustomer {
    pub dsco_retailer_id: String,
    pub brightpearl_contact_id: u64,
    /// The name the contact was created with.
    pub name: String,
}

/// Create the Brightpearl contact of a DSCO retailer and map it (`customers` mapping), exactly
/// once, the way the orders flow does. The name comes from DSCO's trading partners, else the
/// name seen on the retailer's orders, else `DSCO retailer <id>`.
#[utoipa::path(post, path = "/v1/mappings/customers/{dsco_retailer_id}/create-in-brightpearl",
    tag = "mappings",
    params(("dsco_retailer_id" = String, Path, description = "DSCO's retailer (account) id")),
    responses((status = 201, body = CreatedCustomer),
              (status = 400, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody, description = "already mapped (the message names the contact), or Brightpearl credentials are not set"),
              (status = 502, body = super::ErrorBody, description = "Brightpearl refused the contact or gave no clear answer; an unanswered create is checked for before any new attempt"),
              (status = 503, body = super::ErrorBody, description = "an earlier create was not answered and its grace period has not passed; call again later")))]
async fn create_customer_in_brightpearl(
    State(state): State<AppState>,
    Path(dsco_retailer_id): Path<String>,
) -> Result<(StatusCode, axum::Json<CreatedCustomer>), ApiError> {
    let retailer = dsco_retailer_id.trim().to_owned();
    if retailer.is_empty() {
        return Err(ApiError::BadRequest("dsco_retailer_id is empty".into()));
    }
    let lookup = retailer.clone();
    let (mapped, seen_name) = state
        .store
        .call(move |s| {
            s.read(|tx| {
                let mapped = mapping::customers::contact_for(tx, &lookup)?;
                let seen = tx
                    .retailers()?
                    .into_iter()
                    .find(|r| r.dsco_retailer_id == lookup)
                    .and_then(|r| r.name);
                Ok((mapped, seen))
            })
        })
        .await?;
    if let Some(contact) = mapped {
        return Err(ApiError::Conflict(format!(
            "retailer {retailer} is already mapped to Brightpearl contact {contact}"
        )));
    }
    let client = state
        .connections
        .brightpearl()
        .map_err(ApiError::Conflict)?;
    let name = match trading_partner_name(&state, &retailer).await {
        Some(name) => name,
        None => seen_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("DSCO retailer {retailer}")),
    };
    let grace = state.connections.brightpearl_create_grace();
    let customer = create_retailer_contact(
        &client,
        &state.store,
        &state.contacts,
        &retailer,
        &name,
        None,
        grace,
    )
    .await?;
    match customer {
        Customer::Contact(brightpearl_contact_id) => Ok((
            StatusCode::CREATED,
            axum::Json(CreatedCustomer {
                dsco_retailer_id: retailer,
                brightpearl_contact_id,
                name,
            }),
        )),
        Customer::Waiting(why) => Err(ApiError::Unavailable(why)),
        Customer::NeedsAttention { reason, .. } => {
            Err(ApiError::BadGateway(state.connections.redact(reason)))
        }
        Customer::Retry(why) => Err(ApiError::BadGateway(state.connections.redact(why))),
    }
}

/// The retailer's name in DSCO's trading partners, when DSCO is connected and answers.
async fn trading_partner_name(state: &AppState, retailer: &str) -> Option<String> {
    let client = state.connections.dsco().ok()?;
    match client.list_trading_partners().await {
        Ok(partners) => partners
            .into_iter()
            .find(|p| p.account_id.trim() == retailer)
            .and_then(|p| p.trading_partner_name)
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
        Err(e) => {
            tracing::warn!(error = %e, "dsco trading partners unavailable; naming the contact without them");
            None
        }
    }
}
