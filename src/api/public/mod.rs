//! The `[public]` listener: what the internet may reach, and nothing else. It serves only
//! `POST /hooks/brightpearl` (Brightpearl's webhooks, brightpearl-api.md §4.16); every other path
//! and method is 404. The control API never listens here.
//!
//! A delivery is checked in this order, and refused with nothing stored: a body over 64 KiB
//! → 413; a wrong or missing `key` → 401; an `install` that is not ours → 401; a body that is
//! not our template's JSON, or whose ID set does not parse → 400; an `accountCode` other than
//! the connected Brightpearl account → 401. A good delivery is committed to the inbox (one entry
//! per enabled flow and id; duplicates collapse) with the event's delivery time, answered 200
//! without any upstream call, and then each flow that got entries is asked for a queued run
//! (`Trigger::Webhook`; it collapses into one follow-up while the flow runs). An event no
//! enabled flow takes is answered 200 and dropped.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::routing::post;
use tokio_util::task::TaskTracker;

use super::ApiError;
use super::constant_time_eq;
use crate::connections::Connections;
use crate::flow_name::FlowName;
use crate::scheduler::{Scheduler, TriggerError};
use crate::store::{Store, Trigger};
use crate::sync::webhooks::{Delivery, HOOK_PATH, WebhookRegistry, accept};

/// The largest delivery body accepted. Deliveries are thin (ids only, §4.16); an ID set of a few
/// thousand ids fits with room to spare.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the public listener's handler reaches.
#[derive(Clone)]
pub struct PublicState {
    pub store: Store,
    pub scheduler: Scheduler,
    pub connections: Arc<Connections>,
    /// The install's identity and the enabled flows.
    pub webhooks: Arc<WebhookRegistry>,
    /// The run requests made after answering; awaited at stop.
    pub tasks: TaskTracker,
}

/// The public router: the hook route at `/hooks/brightpearl`, and also under the path of
/// `[public] url` when it has one (a proxy that passes its path prefix through).
pub fn router(state: PublicState) -> Router {
    let prefix = state
        .webhooks
        .public_url()
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .filter(|path| !path.is_empty());
    let hook = || post(brightpearl_hook).fallback(not_found);
    let mut router = Router::new().route(HOOK_PATH, hook());
    if let Some(prefix) = prefix {
        router = router.route(&format!("{prefix}{HOOK_PATH}"), hook());
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(super::request_context))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// The query parameter `name`, decoded.
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `POST /hooks/brightpearl?key=...&install=...`: one webhook delivery.
async fn brightpearl_hook(
    State(state): State<PublicState>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::TooLarge(format!("a webhook body is at most {BODY_LIMIT} bytes"))
        }
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    let install = state.webhooks.install();
    let key_matches = query_param(&uri, "key")
        .is_some_and(|key| constant_time_eq(key.as_bytes(), install.key.expose().as_bytes()));
    if !key_matches {
        tracing::warn!("webhook delivery refused: wrong or missing key");
        return Err(ApiError::Refused("wrong or missing key".into()));
    }
    if query_param(&uri, "install").as_deref() != Some(install.id.as_str()) {
        tracing::warn!("webhook delivery refused: not this install's webhook");
        return Err(ApiError::Refused("not this install's webhook".into()));
    }
    let delivery = Delivery::parse(&body).map_err(ApiError::BadRequest)?;
    let ids = delivery.ids().map_err(ApiError::BadRequest)?;
    let account = state.connections.brightpearl_account();
    if !account
        .as_deref()
        .is_some_and(|account| account.eq_ignore_ascii_case(delivery.account_code.trim()))
    {
        tracing::warn!(account_code = %delivery.account_code, "webhook delivery refused: not the connected Brightpearl account");
        return Err(ApiError::Refused(format!(
            "accountCode {:?} is not the connected Brightpearl account",
            delivery.account_code
        )));
    }
    let enabled = state.webhooks.enabled().clone();
    let now = state.store.now();
    let event = delivery.full_event.clone();
    let accepted = state
        .store
        .call(move |s| s.write(|tx| accept(tx, &delivery, &ids, &enabled, now)))
        .await?;
    tracing::debug!(
        event = %event,
        flows = ?accepted.flows,
        added = accepted.added,
        "webhook delivery accepted"
    );
    if !accepted.flows.is_empty() {
        let scheduler = state.scheduler.clone();
        let flows = accepted.flows.clone();
        state.tasks.spawn(request_runs(scheduler, flows));
    }
    Ok(axum::Json(serde_json::json!({
        "event": event,
        "flows": accepted.flows,
        "added": accepted.added,
    })))
}

/// Order events come in bursts (a person invoices or cancels many orders at once): their flows'
/// runs start this long after the first delivery, with every delivery of that second in one run.
const ORDER_EVENTS_COALESCE: std::time::Duration = std::time::Duration::from_secs(1);

/// A queued run of each flow (one follow-up while it runs; several collapse).
async fn request_runs(scheduler: Scheduler, flows: Vec<FlowName>) {
    for flow in flows {
        if matches!(flow, FlowName::Invoices | FlowName::Cancellations) {
            scheduler.request_after_as(flow, ORDER_EVENTS_COALESCE, Trigger::Webhook);
            continue;
        }
        match scheduler.request(flow, Trigger::Webhook).await {
            Ok(_) | Err(TriggerError::ShuttingDown) => {}
            // Scheduled but not in this build: the start-up log said its schedule is ignored;
            // its entries wait in the inbox for a build that has it.
            Err(error @ TriggerError::NotAvailable(_)) => {
                tracing::debug!(flow = %flow, error = %error, "no run for a webhook delivery")
            }
            Err(error) => {
                tracing::warn!(flow = %flow, error = %error, "run for a webhook delivery not started")
            }
        }
    }
}
