//! `GET /v1/settings` and `PATCH /v1/settings` (JSON merge patch, validated as a whole).

use axum::extract::State;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Json;
use super::{ApiError, AppState, FieldError};
use crate::problem::Problem;
use crate::settings::{self, Rejection, Settings};
use crate::store;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, patch_settings))
}

/// The wire keeps `field` for a problem's dotted path.
fn invalid(problems: Vec<Problem>) -> ApiError {
    let fields: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    ApiError::Invalid {
        message: format!("invalid settings: {}", fields.join(", ")),
        details: problems
            .into_iter()
            .map(|p| FieldError {
                field: p.path,
                message: p.message,
            })
            .collect(),
    }
}

/// The settings document, with defaults for everything not set.
#[utoipa::path(get, path = "/v1/settings", tag = "settings",
    responses((status = 200, body = Settings)))]
async fn get_settings(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    let settings = state.store.call(|s| s.read(Settings::load)).await?;
    Ok(axum::Json(settings.to_document()))
}

/// Change settings with a JSON merge patch (RFC 7396; `null` resets a field to its default).
/// The result is validated as a whole: a 400 names every bad or unknown field; Brightpearl ids
/// are checked against the retrieved reference data (409 before the first retrieval).
#[utoipa::path(patch, path = "/v1/settings", tag = "settings",
    request_body(content = Value, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Settings), (status = 400, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody, description = "reference data not retrieved yet")))]
async fn patch_settings(
    State(state): State<AppState>,
    Json(patch): Json<Value>,
) -> Result<axum::Json<Value>, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object (a merge patch of the settings document)".into(),
        ));
    }
    let result = state
        .store
        .call(move |s| {
            s.write(|tx| {
                let current: Settings = tx
                    .document(store::SETTINGS_DOCUMENT)?
                    .unwrap_or_default();
                let merged = settings::apply_merge_patch(&current.to_document(), &patch);
                let reference = tx.document(store::REFERENCE_DOCUMENT)?;
                let next = match settings::check_document(&merged, reference.as_ref()) {
                    Ok(next) => next,
                    Err(Rejection::Invalid(problems)) => return Ok(Err(invalid(problems))),
                    Err(Rejection::ReferenceMissing) => {
                        return Ok(Err(ApiError::Conflict(
                            "reference data not retrieved yet; run the reference flow before setting Brightpearl ids".into(),
                        )));
                    }
                };
                tx.put_document(store::SETTINGS_DOCUMENT, &next)?;
                if next.inventory.enabled && !current.inventory.enabled {
                    // Inventory turned on: its next run starts with a reconcile.
                    tx.set_cursor(crate::sync::inventory::ENABLED_SEEN, &false)?;
                }
                Ok(Ok(next.to_document()))
            })
        })
        .await?;
    if result.is_ok() {
        // The trigger and the enabled flows decide the wanted hooks; never fails this request.
        state.webhooks.sync_in_background("settings changed");
    }
    result.map(axum::Json)
}
