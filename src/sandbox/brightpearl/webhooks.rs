//! Webhooks (brightpearl-api.md §4.16): create, list, delete (no update: none is documented),
//! resource events matched against subscriptions, templates rendered, and delivery by HTTP to the
//! registered URL with QoS retries, ID-set batching and an optional duplicate of every call.
//!
//! Events raised by handlers are queued; a short batch window (or an explicit resume) turns them
//! into calls: one per event for `idSetAccepted: false`, one per (webhook, event name) carrying an
//! ID set otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::hooks::{Event, Pending, WebhookDelivery};
use super::idset::compress;
use super::request::{Outcome, Req, id_set, plain, single_id};
use super::sim::Inner;
use super::state::Webhook;
use super::wire::{self, format_utc_millis};
use crate::sandbox::common::lock;

/// The version string sent as `${brightpearl-version}`.
pub const BRIGHTPEARL_VERSION: &str = "5.0.0-sandbox";

/// Events a webhook can subscribe to (§4.16 table). A subscription may also name a prefix of
/// these at a dot boundary (`product`, `order.modified`).
pub const EVENTS: &[&str] = &[
    "goods-out-note.created",
    "goods-out-note.destroyed",
    "goods-out-note.modified",
    "goods-out-note.modified.printed",
    "goods-out-note.modified.picked",
    "goods-out-note.modified.packed",
    "goods-out-note.modified.shipped",
    "goods-out-note.modified.un-printed",
    "goods-out-note.modified.un-picked",
    "goods-out-note.modified.un-packed",
    "drop-ship-note.created",
    "drop-ship-note.destroyed",
    "drop-ship-note.modified.shipped",
    "goods-in-note.created",
    "quarantine-release.created",
    "order.modified",
    "order.modified.fully-shipped",
    "order.modified.order-status",
    "sales-order.created",
    "product.created",
    "product.modified",
    "product.destroyed",
    "product.modified.on-hand-modified",
];

// guess: a subscription matches its own event and every more specific one below it, so
// `order.modified` also receives `order.modified.order-status` (brightpearl-api.md §4.16 shows only
// the resource-type form `product`)
fn subscribed(subscription: &str, full: &str) -> bool {
    full == subscription
        || full
            .strip_prefix(subscription)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Queue `events` for every matching webhook and schedule delivery.
pub fn raise(inner: &Arc<Inner>, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let now = inner.now();
    let hooks: Vec<Webhook> = lock(&inner.state).webhooks.values().cloned().collect();
    let mut matched = Vec::new();
    for event in events {
        for hook in hooks
            .iter()
            .filter(|hook| subscribed(&hook.subscribe_to, &event.full))
        {
            matched.push(Pending {
                hook: hook.clone(),
                full: event.full.clone(),
                id: event.id,
                raised_on: now,
            });
        }
    }
    if !inner.hooks.enqueue(matched) {
        return;
    }
    schedule(inner);
}

fn schedule(inner: &Arc<Inner>) {
    if !inner.hooks.claim_schedule() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // No runtime: events wait for `resume_webhooks`.
        inner.hooks.release_schedule();
        return;
    };
    let inner = inner.clone();
    runtime.spawn(async move {
        tokio::time::sleep(inner.config.webhook_batch_window).await;
        inner.hooks.release_schedule();
        deliver_pending(inner).await;
    });
}

struct Call {
    hook: Webhook,
    full: String,
    resource_id: String,
    raised_on: DateTime<Utc>,
}

/// Deliver everything queued (unless paused), batching ID-set webhooks per (webhook, event).
pub async fn deliver_pending(inner: Arc<Inner>) {
    if inner.hooks.is_paused() {
        return;
    }
    let pending: Vec<Pending> = inner.hooks.take_queue();
    let mut calls: Vec<Call> = Vec::new();
    let mut batches: BTreeMap<(u32, String), usize> = BTreeMap::new();
    let mut batch_ids: Vec<Vec<u32>> = Vec::new();
    for item in pending {
        if item.hook.id_set_accepted {
            let key = (item.hook.id, item.full.clone());
            match batches.get(&key) {
                Some(index) => batch_ids[*index].push(item.id),
                None => {
                    batches.insert(key, calls.len());
                    batch_ids.resize(calls.len() + 1, Vec::new());
                    batch_ids[calls.len()].push(item.id);
                    calls.push(Call {
                        hook: item.hook,
                        full: item.full,
                        resource_id: String::new(),
                        raised_on: item.raised_on,
                    });
                }
            }
        } else {
            batch_ids.resize(calls.len() + 1, Vec::new());
            calls.push(Call {
                hook: item.hook,
                full: item.full,
                resource_id: item.id.to_string(),
                raised_on: item.raised_on,
            });
        }
    }
    for (index, call) in calls.iter_mut().enumerate() {
        if call.resource_id.is_empty() {
            // guess: batched ids are sent in compact ID-set syntax, ranges included
            // (brightpearl-api.md §4.16: comma lists seen, ranges possible)
            call.resource_id = compress(&batch_ids[index]);
        }
    }
    let duplicate = inner.hooks.duplicate();
    for call in &calls {
        deliver(&inner, call, false).await;
        if duplicate {
            deliver(&inner, call, true).await;
        }
    }
}

fn render(template: &str, inner: &Inner, call: &Call) -> String {
    let mut parts = call.full.splitn(3, '.');
    let resource_type = parts.next().unwrap_or_default();
    let lifecycle = parts.next().unwrap_or_default();
    template
        .replace("${account-code}", &inner.config.account)
        .replace("${resource-type}", resource_type)
        .replace("${resource-id}", &call.resource_id)
        .replace("${lifecycle-event}", lifecycle)
        .replace("${full-event}", &call.full)
        .replace("${raised-on}", &format_utc_millis(call.raised_on))
        .replace("${brightpearl-version}", BRIGHTPEARL_VERSION)
}

/// One call with QoS retries: QoS 0 retries only on 503, QoS 1 on anything but 2xx/4xx (§4.16).
async fn deliver(inner: &Arc<Inner>, call: &Call, duplicate: bool) {
    let client = inner.hooks.client();
    let url = render(&call.hook.uri_template, inner, call);
    let with_body = matches!(call.hook.http_method.as_str(), "POST" | "PUT");
    let body = with_body.then(|| {
        render(
            call.hook.body_template.as_deref().unwrap_or(""),
            inner,
            call,
        )
    });
    let method = Method::from_bytes(call.hook.http_method.as_bytes()).unwrap_or(Method::POST);
    let attempts = inner.config.webhook_max_attempts.max(1);
    for attempt in 1..=attempts {
        let mut request = client.request(method.clone(), &url);
        if let Some(body) = &body {
            request = request
                .header(
                    "content-type",
                    call.hook
                        .content_type
                        .as_deref()
                        .unwrap_or("application/json"),
                )
                .body(body.clone());
        }
        let outcome = request.send().await;
        let (status, error) = match &outcome {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(error) => (None, Some(error.to_string())),
        };
        inner.hooks.record(WebhookDelivery {
            webhook_id: call.hook.id,
            event: call.full.clone(),
            resource_id: call.resource_id.clone(),
            method: call.hook.http_method.clone(),
            url: url.clone(),
            body: body.clone(),
            attempt,
            status,
            error,
            duplicate,
        });
        let retry = match (call.hook.quality_of_service, status) {
            (0, Some(503)) => true,
            (0, _) => false,
            (_, Some(code)) => !(200..300).contains(&code) && !(400..500).contains(&code),
            (_, None) => true,
        };
        if !retry {
            return;
        }
        // guess: retries back off 100 ms, 200 ms, … (brightpearl-api.md §4.16: schedule UNCONFIRMED)
        if attempt < attempts {
            tokio::time::sleep(Duration::from_millis(100 << (attempt - 1).min(6))).await;
        }
    }
}

pub fn route(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    plain(match (&request.method, segments.as_slice()) {
        (&Method::POST, ["webhook"]) => create(inner, request),
        (&Method::GET, ["webhook", rest @ ..]) => list(inner, rest.first().copied()),
        (&Method::DELETE, ["webhook", id]) => delete(inner, id),
        _ => request.not_found(),
    })
}

fn valid_subscription(subscription: &str) -> bool {
    EVENTS.iter().any(|event| subscribed(subscription, event))
}

fn create(inner: &Inner, request: &Req) -> Response {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return response,
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let subscribe_to = text("subscribeTo").unwrap_or_default();
    if !valid_subscription(&subscribe_to) {
        return wire::bad_request(
            "INTC-064",
            format!("{subscribe_to} does not exist or cannot be subscribed to"),
        );
    }
    // guess: INTC-065..067 for the other field checks (brightpearl-api.md §4.16 lists INTC-064 only)
    let http_method = text("httpMethod").unwrap_or_default().to_ascii_uppercase();
    if !matches!(http_method.as_str(), "GET" | "POST" | "PUT" | "DELETE") {
        return wire::bad_request(
            "INTC-065",
            format!("httpMethod '{http_method}' must be GET, POST, PUT or DELETE"),
        );
    }
    let Some(uri_template) = text("uriTemplate").filter(|uri| url::Url::parse(uri).is_ok()) else {
        return wire::bad_request("INTC-066", "uriTemplate must be an absolute URL");
    };
    let body_template = text("bodyTemplate");
    let content_type = text("contentType");
    if matches!(http_method.as_str(), "POST" | "PUT")
        && (body_template.is_none() || content_type.is_none())
    {
        return wire::bad_request(
            "INTC-067",
            "bodyTemplate and contentType are required for POST and PUT",
        );
    }
    let quality_of_service = match body.get("qualityOfService") {
        None | Some(Value::Null) => 0,
        Some(value) => match value.as_u64() {
            Some(qos @ 0..=1) => qos as u8,
            _ => {
                return wire::bad_request(
                    "INTC-067",
                    format!("qualityOfService {value} must be 0 or 1"),
                );
            }
        },
    };
    let mut state = lock(&inner.state);
    let id = state.ids.next_webhook();
    state.webhooks.insert(
        id,
        Webhook {
            id,
            subscribe_to,
            http_method,
            uri_template,
            body_template,
            content_type,
            id_set_accepted: body
                .get("idSetAccepted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            quality_of_service,
        },
    );
    wire::ok(json!(id))
}

pub fn render_webhook(hook: &Webhook) -> Value {
    json!({
        "id": hook.id,
        "subscribeTo": hook.subscribe_to,
        "httpMethod": hook.http_method,
        "uriTemplate": hook.uri_template,
        "bodyTemplate": hook.body_template,
        "contentType": hook.content_type,
        "idSetAccepted": hook.id_set_accepted,
        "qualityOfService": hook.quality_of_service,
    })
}

fn list(inner: &Inner, ids: Option<&str>) -> Response {
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let hooks: Vec<Value> = set
        .select(state.webhooks.keys().copied())
        .into_iter()
        .filter_map(|id| state.webhooks.get(&id))
        .map(render_webhook)
        .collect();
    if let (true, Some(ids)) = (hooks.is_empty(), ids) {
        return wire::not_found(format!("No webhooks in ID set {ids}"));
    }
    wire::ok(Value::Array(hooks))
}

fn delete(inner: &Inner, id: &str) -> Response {
    let mut state = lock(&inner.state);
    match single_id(Some(id)).and_then(|id| state.webhooks.remove(&id)) {
        Some(_) => wire::empty(),
        None => wire::error(
            StatusCode::NOT_FOUND,
            "CMNC-404",
            format!("Cannot find webhook {id}"),
        ),
    }
}
