//! `POST /v1/sync/{flow}/run`, `GET /v1/runs`, `GET /v1/runs/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{Page, RunDto, RunStarted, cursor_id, limit};
use super::extract::{Path, Query};
use super::{ApiError, AppState};
use crate::flow_name::FlowName;
use crate::store::Trigger;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trigger_run))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
}

/// Start a run of a flow now, through the same overlap guard as scheduled ticks.
#[utoipa::path(post, path = "/v1/sync/{flow}/run", tag = "runs",
    params(("flow" = String, Path, description = "orders | shipments | inventory | invoices | cancellations | reference")),
    responses((status = 202, body = RunStarted), (status = 404, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody, description = "the flow is running"),
              (status = 501, body = super::ErrorBody, description = "the flow is not in this version")))]
async fn trigger_run(
    State(state): State<AppState>,
    Path(flow): Path<String>,
) -> Result<(StatusCode, axum::Json<RunStarted>), ApiError> {
    let flow: FlowName = flow.parse().map_err(ApiError::NotFound)?;
    let run_id = state.scheduler.trigger(flow, Trigger::Manual).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(RunStarted { run_id: run_id.0 }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct RunsQuery {
    /// Only runs of this flow.
    flow: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Runs, newest first.
#[utoipa::path(get, path = "/v1/runs", tag = "runs", params(RunsQuery),
    responses((status = 200, body = Page<RunDto>)))]
async fn list_runs(
    State(state): State<AppState>,
    Query(q): Query<RunsQuery>,
) -> Result<axum::Json<Page<RunDto>>, ApiError> {
    let flow = q
        .flow
        .as_deref()
        .map(str::parse::<FlowName>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let limit = limit(q.limit)?;
    let before = cursor_id(q.cursor.as_deref())?;
    let mut runs = state
        .store
        .call(move |s| s.read(|tx| tx.runs(flow, before, limit + 1)))
        .await?;
    let next_cursor = (runs.len() > limit).then(|| {
        runs.truncate(limit);
        runs.last().map(|r| r.id.to_string()).unwrap_or_default()
    });
    Ok(axum::Json(Page {
        items: runs.into_iter().map(RunDto::from).collect(),
        next_cursor,
    }))
}

/// One run.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs",
    params(("id" = u64, Path)),
    responses((status = 200, body = RunDto), (status = 404, body = super::ErrorBody)))]
async fn get_run(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<axum::Json<RunDto>, ApiError> {
    state
        .store
        .call(move |s| s.read(|tx| tx.run(id)))
        .await?
        .map(|r| axum::Json(RunDto::from(r)))
        .ok_or_else(|| ApiError::NotFound(format!("run {id} not found")))
}
