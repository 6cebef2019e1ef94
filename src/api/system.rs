//! `/health`, `/ready`, `/v1/status`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{FlowStatus, Health, LastModes, ModeSchedule, Ready, RunDto, Status};
use super::{ApiError, AppState};
use crate::flow_name::FlowName;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(status))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "system", security(()),
    responses((status = 200, body = Health)))]
async fn health() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness: the store answers and the scheduler is up.
#[utoipa::path(get, path = "/ready", tag = "system", security(()),
    responses((status = 200, body = Ready), (status = 503, body = Ready)))]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.store.call(|s| s.ping()).await.is_ok();
    let scheduler = state.scheduler.is_started().await;
    let body = Ready {
        ready: store && scheduler,
        store,
        scheduler,
    };
    let code = if body.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}

/// Every flow: enabled, its schedules per mode, connection, last and next run, record counts by
/// status.
#[utoipa::path(get, path = "/v1/status", tag = "system",
    responses((status = 200, body = Status), (status = 401, body = super::ErrorBody)))]
async fn status(State(state): State<AppState>) -> Result<axum::Json<Status>, ApiError> {
    let per_flow = state
        .store
        .call(|s| {
            s.read(|tx| {
                FlowName::ALL
                    .into_iter()
                    .map(|f| Ok((f, tx.last_run(f)?, tx.record_counts(f)?)))
                    .collect::<Result<Vec<_>, _>>()
            })
        })
        .await?;
    let last_modes: crate::sync::inventory::LastRuns = state
        .store
        .call(|s| s.read(|tx| tx.cursor(crate::sync::inventory::LAST_RUNS)))
        .await?
        .unwrap_or_default();
    let public = state.webhooks.public_url().is_some();
    let orders_on = state.scheduler.is_scheduled(FlowName::Orders);
    let flows = per_flow
        .into_iter()
        .map(|(flow, last_run, counts)| {
            let mut warnings = Vec::new();
            let inventory = flow == FlowName::Inventory;
            if inventory && state.scheduler.is_scheduled(flow) {
                if !orders_on {
                    warnings.push(
                        "inventory is published without the orders guard: the orders flow is off"
                            .to_owned(),
                    );
                }
                if !public {
                    warnings.push(
                        "no stock webhooks: changes made in Brightpearl are seen by the full read only"
                            .to_owned(),
                    );
                }
            }
            let available = state.scheduler.registry().get(flow).is_some();
            let missing = state.connections.missing_for(flow);
            let schedule = state.scheduler.schedule(flow).map(str::to_owned);
            let schedules: Vec<ModeSchedule> = state
                .scheduler
                .schedules_of(flow)
                .into_iter()
                .map(|(mode, schedule)| ModeSchedule {
                    mode: mode.as_str().to_owned(),
                    schedule: schedule.to_owned(),
                    next_run: if available {
                        state.scheduler.next_run_of(mode)
                    } else {
                        None
                    },
                })
                .collect();
            FlowStatus {
                flow,
                available,
                enabled: available && !schedules.is_empty(),
                next_run: schedules.iter().filter_map(|s| s.next_run).min(),
                schedule,
                schedules,
                connected: missing.is_none(),
                note: match (&missing, available) {
                    (_, false) => Some("not available in this version".into()),
                    (Some(m), true) => Some(format!("not connected: {m}")),
                    (None, true) => None,
                },
                running_run_id: state.scheduler.running(flow),
                progress: state.scheduler.progress(flow),
                last_run: last_run.map(RunDto::from),
                counts,
                warnings,
                last_modes: inventory.then_some(LastModes {
                    delta: last_modes.delta,
                    full: last_modes.full,
                    reconcile: last_modes.reconcile,
                }),
            }
        })
        .collect();
    Ok(axum::Json(Status {
        version: env!("CARGO_PKG_VERSION"),
        flows,
    }))
}
