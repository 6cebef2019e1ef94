//! `GET /v1/brightpearl/webhooks` (this install's hooks as Brightpearl lists them, the secret
//! shown as `***`, the last delivery time per event and the last reconcile) and
//! `POST /v1/brightpearl/webhooks/sync` (reconcile now; answers what it did).

use std::collections::BTreeMap;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState};
use crate::brightpearl::Webhook;
use crate::sync::webhooks::{LastSync, ReconcileReport, SyncError, redacted_uri};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks))
        .routes(routes!(sync_webhooks))
}

/// One of our hooks as Brightpearl has it, the secret in the URI shown as `***`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDto {
    pub id: Option<u64>,
    pub subscribe_to: String,
    pub http_method: String,
    pub uri_template: String,
    pub body_template: Option<String>,
    pub content_type: Option<String>,
    pub id_set_accepted: Option<bool>,
    pub quality_of_service: Option<u8>,
}

impl From<Webhook> for WebhookDto {
    fn from(hook: Webhook) -> Self {
        WebhookDto {
            id: hook.id.map(u64::from),
            subscribe_to: hook.subscribe_to,
            http_method: hook.http_method,
            uri_template: redacted_uri(&hook.uri_template),
            body_template: hook.body_template,
            content_type: hook.content_type,
            id_set_accepted: hook.id_set_accepted,
            quality_of_service: hook.quality_of_service,
        }
    }
}

/// What `GET /v1/brightpearl/webhooks` shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhooksView {
    /// `[public] url`; `null` without a public listener (then no hooks are wanted).
    pub public_url: Option<String>,
    /// The `install=` our hooks carry.
    pub install_id: String,
    /// The events the enabled flows want.
    pub wanted: Vec<String>,
    /// Ours as Brightpearl lists them now; `null` when the list could not be read (see
    /// `list_error`).
    pub webhooks: Option<Vec<WebhookDto>>,
    pub list_error: Option<String>,
    /// Event → when a delivery of it was last accepted.
    pub last_delivery: BTreeMap<String, DateTime<Utc>>,
    /// The last reconcile (since start): when, why, what it did or why it failed.
    pub last_sync: Option<LastSync>,
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::NotConnected(_) => ApiError::Conflict(e.to_string()),
            SyncError::Brightpearl(_) => ApiError::BadGateway(e.to_string()),
            SyncError::Store(s) => s.into(),
        }
    }
}

/// This install's Brightpearl webhooks, the last delivery per event and the last reconcile.
#[utoipa::path(get, path = "/v1/brightpearl/webhooks", tag = "brightpearl",
    responses((status = 200, body = WebhooksView)))]
async fn list_webhooks(
    State(state): State<AppState>,
) -> Result<axum::Json<WebhooksView>, ApiError> {
    let registry = &state.webhooks;
    let wanted = registry
        .desired()
        .await?
        .into_iter()
        .map(|hook| hook.subscribe_to)
        .collect();
    let (webhooks, list_error) = match registry.registered().await {
        Ok(hooks) => (
            Some(hooks.into_iter().map(WebhookDto::from).collect()),
            None,
        ),
        Err(SyncError::Store(e)) => return Err(e.into()),
        Err(e) => (None, Some(registry.redact(e.to_string()))),
    };
    Ok(axum::Json(WebhooksView {
        public_url: registry.public_url().map(|url| url.to_string()),
        install_id: registry.install().id.clone(),
        wanted,
        webhooks,
        list_error,
        last_delivery: registry.deliveries().await?,
        last_sync: registry.last_sync(),
    }))
}

/// Reconcile Brightpearl's webhooks with what the enabled flows want now: ours that differ are
/// deleted and created again, missing ones created, others' hooks left alone.
#[utoipa::path(post, path = "/v1/brightpearl/webhooks/sync", tag = "brightpearl",
    responses((status = 200, body = ReconcileReport),
              (status = 409, body = super::ErrorBody, description = "Brightpearl not connected"),
              (status = 502, body = super::ErrorBody)))]
async fn sync_webhooks(
    State(state): State<AppState>,
) -> Result<axum::Json<ReconcileReport>, ApiError> {
    Ok(axum::Json(state.webhooks.sync("requested").await?))
}
