//! `POST /v1/sync/{flow}/run`, `GET /v1/runs`, `GET /v1/runs/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{Page, RunDto, RunRequest, RunStarted, cursor_id, limit};
use super::extract::{OptionalJson, Path, Query};
use super::{ApiError, AppState};
use crate::flow_name::FlowName;
use crate::scheduler::Queued;
use crate::store::Trigger;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trigger_run))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct RunQuery {
    /// While the flow runs, queue one follow-up run (202 with `queued: true`, `run_id` null)
    /// instead of answering 409; queued requests collapse into one, in the later mode.
    queue: Option<bool>,
}

/// Start a run of a flow now, through the same overlap guard as scheduled ticks. The optional
/// body `{"mode": "..."}` picks one of the flow's modes (its first when absent; an empty body is
/// allowed).
#[utoipa::path(post, path = "/v1/sync/{flow}/run", tag = "runs",
    params(("flow" = String, Path, description = "orders | shipments | inventory | invoices | cancellations | reference"),
           RunQuery),
    request_body(content = Option<RunRequest>, content_type = "application/json",
        description = "optional; `mode` is one of the flow's modes (inventory: delta, full, reconcile; others: default)"),
    responses((status = 202, body = RunStarted,
                description = "the run started (`run_id` set), or with `?queue=true` while the flow runs a follow-up run was queued (`queued: true`, `run_id` null)"),
              (status = 400, body = super::ErrorBody, description = "a mode the flow lacks (the message names its modes) or an unknown body field"),
              (status = 404, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody, description = "the flow is running (without `?queue=true`)"),
              (status = 501, body = super::ErrorBody, description = "the flow is not in this version")))]
async fn trigger_run(
    State(state): State<AppState>,
    Path(flow): Path<String>,
    Query(query): Query<RunQuery>,
    OptionalJson(body): OptionalJson<RunRequest>,
) -> Result<(StatusCode, axum::Json<RunStarted>), ApiError> {
    let flow: FlowName = flow.parse().map_err(ApiError::NotFound)?;
    let mode = match body.mode.as_deref() {
        Some(name) => flow.mode(name).map_err(ApiError::BadRequest)?,
        None => flow.default_mode(),
    };
    let answer = if query.queue.unwrap_or(false) {
        match state
            .scheduler
            .request_mode(flow, Trigger::Manual, mode)
            .await?
        {
            Queued::Started(run_id) => RunStarted {
                run_id: Some(run_id.0),
                queued: false,
                mode: mode.to_string(),
            },
            Queued::Pending(follow_up) => RunStarted {
                run_id: None,
                queued: true,
                mode: follow_up.to_string(),
            },
        }
    } else {
        let run_id = state
            .scheduler
            .trigger_mode(flow, Trigger::Manual, mode)
            .await?;
        RunStarted {
            run_id: Some(run_id.0),
            queued: false,
            mode: mode.to_string(),
        }
    };
    Ok((StatusCode::ACCEPTED, axum::Json(answer)))
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
