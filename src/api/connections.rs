//! `GET/PUT /v1/connections/{name}`, `POST /v1/connections/{name}/test`.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path};
use super::{ApiError, AppState};
use crate::connections::{ChangeError, ConnectionView, Name, TestResult};
use crate::flow_name::FlowName;
use crate::store::Trigger;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_connection, put_connection))
        .routes(routes!(test_connection))
}

fn name(raw: &str) -> Result<Name, ApiError> {
    raw.parse().map_err(ApiError::NotFound)
}

/// A connection's fields: whether each is set and where from (`config` or `store`); never a
/// secret's value.
#[utoipa::path(get, path = "/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path, description = "brightpearl | dsco")),
    responses((status = 200, body = ConnectionView), (status = 404, body = super::ErrorBody)))]
async fn get_connection(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<ConnectionView>, ApiError> {
    Ok(axum::Json(state.connections.view(name(&raw)?)))
}

/// Store credentials: each key present sets (string) or clears (null) the stored value. A key the
/// config file sets answers 409 naming it. A Brightpearl change starts the `reference` flow.
#[utoipa::path(put, path = "/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path, description = "brightpearl | dsco")),
    request_body(content = Object, description = "Brightpearl: base_url, account, app_ref, account_token, staff_token. DSCO: base_url, client_id, client_secret, api_key."),
    responses((status = 200, body = ConnectionView), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
async fn put_connection(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Json(body): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<axum::Json<ConnectionView>, ApiError> {
    let name = name(&raw)?;
    let connections = state.connections.clone();
    let view = tokio::task::spawn_blocking(move || connections.update(name, &body))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| match e {
            ChangeError::SetInConfig { .. } => ApiError::Conflict(e.to_string()),
            ChangeError::Invalid { field, message } => ApiError::Invalid {
                message: format!("{field}: {message}"),
                details: vec![super::FieldError { field, message }],
            },
            ChangeError::Store(s) => s.into(),
        })?;
    if name == Name::Brightpearl {
        // Another account or new credentials: register there (in the background; a failure
        // is shown by GET /v1/brightpearl/webhooks, never fails this request).
        state.webhooks.sync_in_background("connection changed");
    }
    if name == Name::Brightpearl && view.configured {
        match state
            .scheduler
            .trigger(FlowName::Reference, Trigger::Manual)
            .await
        {
            Ok(run_id) => tracing::info!(
                run_id = run_id.0,
                "Brightpearl credentials changed: reference data retrieval started"
            ),
            Err(e) => {
                tracing::info!(error = %e, "Brightpearl credentials changed; reference retrieval not started now")
            }
        }
    }
    Ok(axum::Json(view))
}

/// Make one real call (Brightpearl: a cheap GET; DSCO: a token fetch) and say what failed.
#[utoipa::path(post, path = "/v1/connections/{name}/test", tag = "connections",
    params(("name" = String, Path, description = "brightpearl | dsco")),
    responses((status = 200, body = TestResult), (status = 404, body = super::ErrorBody)))]
async fn test_connection(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<TestResult>, ApiError> {
    Ok(axum::Json(state.connections.test(name(&raw)?).await))
}
