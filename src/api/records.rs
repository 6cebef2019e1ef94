//! The sync log: `GET /v1/records`, one record, retry, skip, bulk retry.

use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{BulkRetried, Page, RecordDto, SkipRequest, cursor_id, limit};
use super::extract::{Json, Path, Query};
use super::{ApiError, AppState};
use crate::flow_name::FlowName;
use crate::store::{RecordFilter, RecordStatus};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_records))
        .routes(routes!(get_record))
        .routes(routes!(retry_record))
        .routes(routes!(skip_record))
        .routes(routes!(retry_records))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct RecordsQuery {
    /// orders | shipments | inventory | invoices | cancellations | reference
    flow: Option<String>,
    /// pending | synced | failed | needs_attention | skipped
    status: Option<String>,
    /// Object kind (order, contact, ...).
    kind: Option<String>,
    /// The object's source id (e.g. a DSCO order id).
    source_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

impl RecordsQuery {
    fn filter(&self) -> Result<RecordFilter, ApiError> {
        Ok(RecordFilter {
            flow: self
                .flow
                .as_deref()
                .map(str::parse::<FlowName>)
                .transpose()
                .map_err(ApiError::BadRequest)?,
            status: self
                .status
                .as_deref()
                .map(str::parse::<RecordStatus>)
                .transpose()
                .map_err(ApiError::BadRequest)?,
            kind: self.kind.as_deref().map(Into::into),
            source_id: self.source_id.clone(),
        })
    }
}

/// Sync records, newest first.
#[utoipa::path(get, path = "/v1/records", tag = "records", params(RecordsQuery),
    responses((status = 200, body = Page<RecordDto>), (status = 400, body = super::ErrorBody)))]
async fn list_records(
    State(state): State<AppState>,
    Query(q): Query<RecordsQuery>,
) -> Result<axum::Json<Page<RecordDto>>, ApiError> {
    let filter = q.filter()?;
    let limit = limit(q.limit)?;
    let before = cursor_id(q.cursor.as_deref())?;
    let mut records = state
        .store
        .call(move |s| s.read(|tx| tx.records(&filter, before, limit + 1)))
        .await?;
    let next_cursor = (records.len() > limit).then(|| {
        records.truncate(limit);
        records.last().map(|r| r.id.to_string()).unwrap_or_default()
    });
    Ok(axum::Json(Page {
        items: records.into_iter().map(RecordDto::from).collect(),
        next_cursor,
    }))
}

/// One record.
#[utoipa::path(get, path = "/v1/records/{id}", tag = "records", params(("id" = u64, Path)),
    responses((status = 200, body = RecordDto), (status = 404, body = super::ErrorBody)))]
async fn get_record(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<axum::Json<RecordDto>, ApiError> {
    state
        .store
        .call(move |s| s.read(|tx| tx.record(id)))
        .await?
        .map(|r| axum::Json(RecordDto::from(r)))
        .ok_or_else(|| ApiError::NotFound(format!("record {id} not found")))
}

/// Make a record due for another attempt at the flow's next run.
#[utoipa::path(post, path = "/v1/records/{id}/retry", tag = "records", params(("id" = u64, Path)),
    responses((status = 200, body = RecordDto), (status = 404, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
async fn retry_record(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<axum::Json<RecordDto>, ApiError> {
    let record = state
        .store
        .call(move |s| s.write(|tx| tx.retry_record(id, tx.now())))
        .await?;
    Ok(axum::Json(record.into()))
}

/// Mark a record as needing no sync, with a reason.
#[utoipa::path(post, path = "/v1/records/{id}/skip", tag = "records", params(("id" = u64, Path)),
    request_body = SkipRequest,
    responses((status = 200, body = RecordDto), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
async fn skip_record(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Json(body): Json<SkipRequest>,
) -> Result<axum::Json<RecordDto>, ApiError> {
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::BadRequest("reason must not be empty".into()));
    }
    let record = state
        .store
        .call(move |s| s.write(|tx| tx.skip_record(id, &reason, tx.now())))
        .await?;
    Ok(axum::Json(record.into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct BulkQuery {
    flow: Option<String>,
    /// failed | needs_attention | skipped | pending (default: failed and needs_attention)
    status: Option<String>,
}

/// Retry every unresolved record matching the filter, in one transaction.
#[utoipa::path(post, path = "/v1/records/retry", tag = "records", params(BulkQuery),
    responses((status = 200, body = BulkRetried), (status = 400, body = super::ErrorBody)))]
async fn retry_records(
    State(state): State<AppState>,
    Query(q): Query<BulkQuery>,
) -> Result<axum::Json<BulkRetried>, ApiError> {
    let flow = q
        .flow
        .as_deref()
        .map(str::parse::<FlowName>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let statuses = match q.status.as_deref() {
        Some(s) => {
            let status = s.parse::<RecordStatus>().map_err(ApiError::BadRequest)?;
            if status == RecordStatus::Synced {
                return Err(ApiError::BadRequest(
                    "synced records have nothing to retry".into(),
                ));
            }
            vec![status]
        }
        None => vec![RecordStatus::Failed, RecordStatus::NeedsAttention],
    };
    let retried = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let now = tx.now();
                let mut n = 0;
                for status in statuses {
                    let filter = RecordFilter {
                        flow,
                        status: Some(status),
                        ..Default::default()
                    };
                    for record in tx.records(&filter, None, usize::MAX)? {
                        tx.retry_record(record.id, now)?;
                        n += 1;
                    }
                }
                Ok(n)
            })
        })
        .await?;
    Ok(axum::Json(BulkRetried { retried }))
}
