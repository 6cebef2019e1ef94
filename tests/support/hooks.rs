//! Deliveries to the daemon's public listener, as Brightpearl's webhooks send them (the body of
//! our `bodyTemplate`), and what the daemon's webhook inbox holds.

use dsco_brightpearl::flow_name::FlowName;
use dsco_brightpearl::store::{InboxEntry, Install};
use serde_json::{Value, json};

use super::{TestApp, http};

/// This install's identity (the `install=` and `key=` of our hooks).
pub fn install(app: &TestApp) -> Install {
    app.running().webhooks.install().clone()
}

/// A delivery body for `event` and `id` (one id or an ID set) from `account`.
pub fn body(event: &str, id: &str, account: &str) -> String {
    let (resource, rest) = event.split_once('.').unwrap();
    let lifecycle = rest.split('.').next().unwrap();
    json!({"accountCode": account, "resourceType": resource, "id": id,
           "lifecycleEvent": lifecycle, "fullEvent": event,
           "raisedOn": "2026-05-01T10:00:00.000Z", "brightpearlVersion": "5.0.0"})
    .to_string()
}

/// The query our hooks carry.
pub fn good_query(install: &Install) -> String {
    format!("key={}&install={}", install.key.expose(), install.id)
}

/// POST a delivery to the public listener.
pub async fn deliver(app: &TestApp, query: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let url = app.public_url.as_ref().unwrap();
    let r = http()
        .post(format!("{url}/hooks/brightpearl?{query}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A good delivery (right key, install and account), answered 200.
pub async fn deliver_ok(app: &TestApp, event: &str, id: &str) -> Value {
    let (status, answer) =
        deliver(app, &good_query(&install(app)), body(event, id, "sandbox")).await;
    assert_eq!(status, 200, "{event} {id}: {answer}");
    answer
}

/// The inbox entries of `flow`, oldest first.
pub fn inbox(app: &TestApp, flow: FlowName) -> Vec<InboxEntry> {
    app.running()
        .store
        .read(|tx| tx.inbox(flow, 10_000))
        .unwrap()
}
