//! The Brightpearl webhook registry and the public listener, against the Brightpearl simulator's
//! real webhook routes and delivery machinery over HTTP: registration (idempotent across
//! restarts, foreign hooks untouched, re-created on a settings change), the listener's refusals,
//! what a good delivery stores, and the queued runs it asks for.

use std::sync::Arc;
use std::time::Duration;

use dsco_brightpearl::flow_name::FlowName;
use dsco_brightpearl::store::{InboxEntry, Install};
use dsco_brightpearl::sync::Flow;
use serde_json::{Value, json};

use crate::support::flows::{GatedFlow, NoopFlow};
use crate::support::hooks::{body, deliver, deliver_ok, good_query, inbox, install};
use crate::support::{Daemon, NEVER, SimTime, Sims, TestApp, http, wait_for};

const DEADLINE: Duration = Duration::from_secs(20);
const GOODS_OUT_EVENTS: [&str; 4] = [
    "goods-out-note.created",
    "goods-out-note.destroyed",
    "goods-out-note.modified",
    "goods-out-note.modified.shipped",
];

fn config(sims: &Sims, enabled: &[FlowName]) -> String {
    let schedules: String = enabled
        .iter()
        .map(|flow| format!("{flow} = \"{NEVER}\"\n"))
        .collect();
    format!("{}\n[schedules]\n{schedules}", sims.config_toml())
}

fn noop_flows(enabled: &[FlowName]) -> Vec<Arc<dyn Flow>> {
    enabled
        .iter()
        .map(|flow| NoopFlow::new(*flow) as Arc<dyn Flow>)
        .collect()
}

async fn start(sims: &Sims, enabled: &[FlowName]) -> TestApp {
    TestApp::start_public(
        &config(sims, enabled),
        noop_flows(enabled),
        Some(SimTime::shared(&sims.clock)),
    )
    .await
}

/// Brightpearl's webhook list, through the simulator's own route.
async fn bp_hooks(sims: &Sims) -> Vec<Value> {
    let config = sims.brightpearl.config();
    let r = http()
        .get(format!(
            "{}/public-api/{}/integration-service/webhook",
            sims.brightpearl_url(),
            config.account
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    body["response"].as_array().cloned().unwrap_or_default()
}

async fn create_bp_hook(sims: &Sims, subscribe_to: &str, uri: &str) -> Value {
    let config = sims.brightpearl.config();
    let hook = json!({"subscribeTo": subscribe_to, "httpMethod": "POST", "uriTemplate": uri,
                      "bodyTemplate": "{}", "contentType": "application/json"});
    let r = http()
        .post(format!(
            "{}/public-api/{}/integration-service/webhook",
            sims.brightpearl_url(),
            config.account
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .json(&hook)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["response"].clone();
    bp_hooks(sims)
        .await
        .into_iter()
        .find(|hook| hook["id"] == id)
        .unwrap()
}

fn is_ours(hook: &Value, install: &Install) -> bool {
    hook["uriTemplate"]
        .as_str()
        .unwrap_or_default()
        .ends_with(&format!("&install={}", install.id))
}

async fn our_hooks(sims: &Sims, install: &Install) -> Vec<Value> {
    bp_hooks(sims)
        .await
        .into_iter()
        .filter(|hook| is_ours(hook, install))
        .collect()
}

fn events(hooks: &[Value]) -> Vec<String> {
    let mut events: Vec<String> = hooks
        .iter()
        .map(|hook| hook["subscribeTo"].as_str().unwrap().to_owned())
        .collect();
    events.sort();
    events
}

/// Wait until our hooks on Brightpearl are exactly `expected` (by event).
async fn wait_for_hooks(sims: &Sims, install: &Install, expected: &[&str]) -> Vec<Value> {
    wait_for(DEADLINE, || async {
        let hooks = our_hooks(sims, install).await;
        (events(&hooks) == expected).then_some(hooks)
    })
    .await
}

/// Brightpearl's webhook writes (creates and deletes) so far.
fn hook_writes(sims: &Sims) -> usize {
    let log = sims.brightpearl.requests();
    log.count("POST", "integration-service/webhook")
        + log.count("DELETE", "integration-service/webhook")
}

async fn wait_for_start_sync(app: &TestApp) -> Value {
    wait_for(DEADLINE, || async {
        let sync = app.running().webhooks.last_sync()?;
        (sync.reason == "start").then(|| serde_json::to_value(&sync).unwrap())
    })
    .await
}

fn ids_of(entries: &[InboxEntry], event: &str) -> Vec<u64> {
    entries
        .iter()
        .filter(|entry| entry.event == event)
        .map(|entry| entry.id)
        .collect()
}

async fn runs(app: &TestApp, flow: FlowName) -> Vec<Value> {
    app.json(&format!("/v1/runs?flow={flow}")).await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn registration_creates_our_hooks_leaves_others_alone_and_follows_the_settings() {
    let sims = Sims::start().await;
    sims.brightpearl.seed_demo(10);
    let foreign = vec![
        create_bp_hook(
            &sims,
            "order.modified",
            "https://other.example.com/hook?key=x&install=someone-else",
        )
        .await,
        create_bp_hook(
            &sims,
            "goods-out-note.created",
            "https://other.example.com/bp?token=t",
        )
        .await,
    ];
    let enabled = [FlowName::Shipments, FlowName::Inventory];
    let app = start(&sims, &enabled).await;
    let install = install(&app);
    let mut expected: Vec<&str> = GOODS_OUT_EVENTS.to_vec();
    expected.push("product.modified.on-hand-modified");
    let ours = wait_for_hooks(&sims, &install, &expected).await;
    let sync = wait_for_start_sync(&app).await;
    assert_eq!(
        sync["report"]["created"].as_array().unwrap().len(),
        5,
        "{sync}"
    );
    let uri = format!(
        "{}/hooks/brightpearl?key={}&install={}",
        app.public_url.as_ref().unwrap(),
        install.key.expose(),
        install.id
    );
    for hook in &ours {
        assert_eq!(hook["uriTemplate"], uri);
        assert_eq!(hook["httpMethod"], "POST");
        assert_eq!(hook["idSetAccepted"], true);
        assert_eq!(hook["qualityOfService"], 1);
        assert_eq!(hook["contentType"], "application/json");
        let template: Value = serde_json::from_str(hook["bodyTemplate"].as_str().unwrap()).unwrap();
        assert_eq!(template["id"], "${resource-id}");
        assert_eq!(template["accountCode"], "${account-code}");
        assert_eq!(template.as_object().unwrap().len(), 7, "{template}");
    }
    let others = |hooks: Vec<Value>| -> Vec<Value> {
        hooks
            .into_iter()
            .filter(|h| !is_ours(h, &install))
            .collect()
    };
    assert_eq!(others(bp_hooks(&sims).await), foreign);

    // The listing shows ours with the secret as ***.
    let view = app.json("/v1/brightpearl/webhooks").await;
    assert!(
        !view.to_string().contains(install.key.expose().as_str()),
        "{view}"
    );
    assert_eq!(view["install_id"], install.id.as_str());
    assert_eq!(
        view["public_url"].as_str().unwrap().trim_end_matches('/'),
        app.public_url.as_deref().unwrap()
    );
    let listed = view["webhooks"].as_array().unwrap();
    assert_eq!(listed.len(), 5, "{view}");
    for hook in listed {
        assert_eq!(
            hook["uri_template"],
            format!(
                "{}/hooks/brightpearl?key=***&install={}",
                app.public_url.as_ref().unwrap(),
                install.id
            )
        );
    }

    // Asked again, nothing to do.
    let r = app
        .post("/v1/brightpearl/webhooks/sync")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["created"], json!([]), "{report}");
    assert_eq!(report["deleted"], json!([]), "{report}");
    assert_eq!(report["kept"].as_array().unwrap().len(), 5, "{report}");

    // A settings change re-creates what changed: shipments now follow the order status.
    wait_for(DEADLINE, || async {
        runs(&app, FlowName::Reference)
            .await
            .iter()
            .any(|run| run["status"] == "succeeded")
            .then_some(())
    })
    .await;
    let r = app
        .http
        .patch(format!("{}/v1/settings", app.url))
        .bearer_auth(crate::support::TOKEN)
        .json(&json!({"shipments": {"trigger": "order_status", "order_status_id": 6}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let now = wait_for_hooks(
        &sims,
        &install,
        &[
            "order.modified.order-status",
            "product.modified.on-hand-modified",
        ],
    )
    .await;
    let on_hand = |hooks: &[Value]| {
        hooks
            .iter()
            .find(|h| h["subscribeTo"] == "product.modified.on-hand-modified")
            .unwrap()["id"]
            .clone()
    };
    assert_eq!(on_hand(&now), on_hand(&ours), "an unchanged hook is kept");
    assert_eq!(others(bp_hooks(&sims).await), foreign);
    app.stop().await;
}

/// A free loopback port (bound and released; the daemon binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary's config: the simulators, shipments and inventory scheduled, and the public
/// listener on `port` when given.
fn daemon_toml(dir: &std::path::Path, sims: &Sims, public_port: Option<u16>) -> String {
    let public = public_port
        .map(|port| {
            format!("[public]\nlisten = \"127.0.0.1:{port}\"\nurl = \"http://127.0.0.1:{port}\"\n")
        })
        .unwrap_or_default();
    format!(
        "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{}\"\n{public}{}",
        dir.join("state").display(),
        crate::support::TOKEN,
        config(sims, &[FlowName::Shipments, FlowName::Inventory]),
    )
}

/// The daemon's last reconcile once the one at start is done.
async fn daemon_start_sync(daemon: &Daemon) -> Value {
    wait_for(DEADLINE, || async {
        let r = http()
            .get(format!("{}/v1/brightpearl/webhooks", daemon.url))
            .bearer_auth(crate::support::TOKEN)
            .send()
            .await
            .ok()?;
        let view: Value = r.json().await.ok()?;
        (view["last_sync"]["reason"] == "start").then_some(view)
    })
    .await
}

async fn stop(mut daemon: Daemon) {
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().await, Some(0), "{}", daemon.stderr());
}

/// The real binary, started three times on one state dir: the second start lists the hooks and
/// changes nothing; the third, without `[public]`, deletes ours and nothing else.
#[tokio::test]
async fn registration_is_idempotent_across_restarts_and_without_a_listener_ours_are_deleted() {
    let sims = Sims::start().await;
    let dir = tempfile::tempdir().unwrap();
    let foreign = vec![
        create_bp_hook(
            &sims,
            "order.modified",
            "https://other.example.com/h?key=x&install=other",
        )
        .await,
        create_bp_hook(
            &sims,
            "goods-out-note.created",
            "https://other.example.com/bp?token=t",
        )
        .await,
    ];
    let port = free_port();
    let mut expected: Vec<&str> = GOODS_OUT_EVENTS.to_vec();
    expected.push("product.modified.on-hand-modified");

    let daemon = Daemon::start(dir.path(), &daemon_toml(dir.path(), &sims, Some(port)), &[]).await;
    let view = daemon_start_sync(&daemon).await;
    assert_eq!(
        view["last_sync"]["report"]["created"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "{view}"
    );
    let install_id = view["install_id"].as_str().unwrap().to_owned();
    let ours = |hooks: Vec<Value>| -> Vec<Value> {
        hooks
            .into_iter()
            .filter(|h| {
                h["uriTemplate"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("&install={install_id}"))
            })
            .collect()
    };
    let first = ours(bp_hooks(&sims).await);
    assert_eq!(events(&first), expected);
    stop(daemon).await;

    let writes = hook_writes(&sims);
    let daemon = Daemon::start(dir.path(), &daemon_toml(dir.path(), &sims, Some(port)), &[]).await;
    let view = daemon_start_sync(&daemon).await;
    assert_eq!(view["install_id"], install_id.as_str());
    assert_eq!(view["last_sync"]["error"], Value::Null, "{view}");
    assert_eq!(
        view["last_sync"]["report"]["kept"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "{view}"
    );
    assert_eq!(
        hook_writes(&sims),
        writes,
        "a restart neither deletes nor creates"
    );
    assert_eq!(ours(bp_hooks(&sims).await), first);
    stop(daemon).await;

    let daemon = Daemon::start(dir.path(), &daemon_toml(dir.path(), &sims, None), &[]).await;
    let view = daemon_start_sync(&daemon).await;
    assert_eq!(view["public_url"], Value::Null);
    assert_eq!(view["wanted"], json!([]));
    assert_eq!(
        view["last_sync"]["report"]["deleted"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "{view}"
    );
    assert_eq!(bp_hooks(&sims).await, foreign);
    stop(daemon).await;
}

#[tokio::test]
async fn deliveries_without_the_right_key_install_account_or_body_are_refused_and_nothing_is_stored()
 {
    let sims = Sims::start().await;
    let app = start(&sims, &[FlowName::Shipments]).await;
    let install = install(&app);
    let good = good_query(&install);
    let note = || body("goods-out-note.created", "101", "sandbox");
    let cases: Vec<(&str, String, String, u16)> = vec![
        ("no key", format!("install={}", install.id), note(), 401),
        (
            "wrong key",
            format!("key=wrong&install={}", install.id),
            note(),
            401,
        ),
        (
            "empty key",
            format!("key=&install={}", install.id),
            note(),
            401,
        ),
        (
            "no install",
            format!("key={}", install.key.expose()),
            note(),
            401,
        ),
        (
            "wrong install",
            format!("key={}&install=other", install.key.expose()),
            note(),
            401,
        ),
        ("not JSON", good.clone(), "id=101".into(), 400),
        (
            "not the template",
            good.clone(),
            r#"{"accountCode":"sandbox","id":"101"}"#.into(),
            400,
        ),
        (
            "bad ID set",
            good.clone(),
            body("goods-out-note.created", "5-3", "sandbox"),
            400,
        ),
        (
            "other account",
            good.clone(),
            body("goods-out-note.created", "101", "elsewhere"),
            401,
        ),
        ("64 KiB + 1", good.clone(), "x".repeat(64 * 1024 + 1), 413),
    ];
    for (case, query, body, expected) in cases {
        let (status, answer) = deliver(&app, &query, body).await;
        assert_eq!(status, expected, "{case}: {answer}");
        assert!(
            !answer.to_string().contains(install.key.expose().as_str()),
            "{case}"
        );
    }
    // Only the hook route is served; the control API is not on this listener.
    let public = app.public_url.clone().unwrap();
    for (method, path) in [
        ("GET", "/hooks/brightpearl"),
        ("PUT", "/hooks/brightpearl"),
        ("POST", "/hooks/other"),
        ("GET", "/health"),
        ("GET", "/v1/status"),
        ("POST", "/v1/sync/shipments/run"),
        ("GET", "/"),
    ] {
        let r = http()
            .request(method.parse().unwrap(), format!("{public}{path}?{good}"))
            .bearer_auth(crate::support::TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    assert!(inbox(&app, FlowName::Shipments).is_empty());
    let deliveries = app
        .running()
        .store
        .read(|tx| tx.webhook_deliveries())
        .unwrap();
    assert!(deliveries.is_empty(), "{deliveries:?}");
    assert!(runs(&app, FlowName::Shipments).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_good_delivery_stores_every_id_collapses_duplicates_and_queues_a_webhook_run() {
    let sims = Sims::start().await;
    let app = start(&sims, &[FlowName::Shipments]).await;
    let created = "goods-out-note.created";
    let shipped = "goods-out-note.modified.shipped";

    let answer = deliver_ok(&app, created, "101,102,105-107").await;
    assert_eq!(answer["added"], 5, "{answer}");
    assert_eq!(
        ids_of(&inbox(&app, FlowName::Shipments), created),
        [101, 102, 105, 106, 107]
    );
    // The same ids again (a retry, or a second subscription): nothing new.
    let answer = deliver_ok(&app, created, "105-107,101").await;
    assert_eq!(answer["added"], 0, "{answer}");
    // "shipped" is its own event for the same note.
    deliver_ok(&app, shipped, "101").await;
    let entries = inbox(&app, FlowName::Shipments);
    assert_eq!(entries.len(), 6, "{entries:?}");
    assert_eq!(ids_of(&entries, shipped), [101]);

    // A flow that is not enabled: answered, recorded as delivered, dropped.
    let answer = deliver_ok(&app, "product.modified.on-hand-modified", "7,8").await;
    assert_eq!(answer["flows"], json!([]), "{answer}");
    assert!(inbox(&app, FlowName::Inventory).is_empty());
    // A status change goes to shipments only when they follow the order status.
    deliver_ok(&app, "order.modified.order-status", "300").await;
    assert_eq!(inbox(&app, FlowName::Shipments).len(), 6);

    let view = app.json("/v1/brightpearl/webhooks").await;
    let last = view["last_delivery"].as_object().unwrap();
    for event in [
        created,
        shipped,
        "product.modified.on-hand-modified",
        "order.modified.order-status",
    ] {
        assert!(last.contains_key(event), "{event} missing from {view}");
    }
    // The deliveries asked for queued runs of shipments.
    let webhook_runs = wait_for(DEADLINE, || async {
        let runs = runs(&app, FlowName::Shipments).await;
        let done = runs.iter().all(|run| run["status"] != "running");
        (done && runs.iter().any(|run| run["trigger"] == "webhook")).then_some(runs)
    })
    .await;
    assert!(
        webhook_runs.iter().all(|run| run["status"] == "succeeded"),
        "{webhook_runs:?}"
    );
    assert!(runs(&app, FlowName::Inventory).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn deliveries_while_the_flow_runs_collapse_into_one_follow_up_run() {
    let sims = Sims::start().await;
    let (flow, gate) = GatedFlow::new(FlowName::Shipments, 1);
    let app = TestApp::start_public(
        &config(&sims, &[FlowName::Shipments]),
        vec![flow],
        Some(SimTime::shared(&sims.clock)),
    )
    .await;
    deliver_ok(&app, "goods-out-note.created", "1").await;
    let first = wait_for(DEADLINE, || async {
        let runs = runs(&app, FlowName::Shipments).await;
        runs.first()
            .filter(|run| run["status"] == "running")
            .cloned()
    })
    .await;
    assert_eq!(first["trigger"], "webhook");
    for id in ["2", "3", "4-9"] {
        deliver_ok(&app, "goods-out-note.created", id).await;
    }
    let scheduler = &app.running().scheduler;
    wait_for(DEADLINE, || async {
        scheduler
            .follow_up_pending(FlowName::Shipments)
            .then_some(())
    })
    .await;
    gate.add_permits(2);
    let finished = wait_for(DEADLINE, || async {
        let runs = runs(&app, FlowName::Shipments).await;
        (runs.len() == 2 && runs.iter().all(|run| run["status"] == "succeeded")).then_some(runs)
    })
    .await;
    assert!(!scheduler.follow_up_pending(FlowName::Shipments));
    assert_eq!(finished.len(), 2, "{finished:?}");
    assert_eq!(inbox(&app, FlowName::Shipments).len(), 9);
    app.stop().await;
}

/// The sales-order POST of the reference (§4.1) with the demo world's ids: three units of product 7.
fn order_body() -> Value {
    let address = json!({"addressFullName": "Jane Buyer", "addressLine1": "12 Elm St",
        "addressLine3": "Springfield", "addressLine4": "IL", "postalCode": "62701",
        "countryIsoCode": "USA"});
    json!({
        "customer": {"id": 3, "address": address},
        "ref": "PO-HOOKS-1", "externalRef": "hooks-1", "placedOn": "2026-05-01T10:00:00Z",
        "statusId": 3, "channelId": 2, "warehouseId": 2, "currency": {"code": "USD"},
        "delivery": {"shippingMethodId": 1, "address": address},
        "rows": [{"productId": 7, "quantity": "3", "taxCode": "T", "net": "59.9700", "tax": "0.0000"}]
    })
}

#[tokio::test]
async fn the_simulator_delivers_through_its_own_webhooks_to_the_public_listener() {
    let sims = Sims::start().await;
    sims.brightpearl.seed_demo(10);
    let app = start(&sims, &[FlowName::Shipments]).await;
    let install = install(&app);
    wait_for_hooks(&sims, &install, &GOODS_OUT_EVENTS).await;

    let config = sims.brightpearl.config();
    let r = http()
        .post(format!(
            "{}/public-api/{}/order-service/sales-order",
            sims.brightpearl_url(),
            config.account
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .json(&order_body())
        .send()
        .await
        .unwrap();
    let created: Value = r.json().await.unwrap();
    let order_id = created["response"].as_u64().unwrap() as u32;
    let order = sims.brightpearl.order(order_id).unwrap();
    let row: u32 = order["orderRows"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // Three partial notes in one batch, each call sent twice (QoS 1 is at-least-once).
    sims.brightpearl.set_webhook_duplicate_delivery(true);
    sims.brightpearl.pause_webhooks();
    let notes: Vec<u64> = (0..3)
        .map(|_| {
            u64::from(
                sims.brightpearl
                    .create_goods_out_note(order_id, &[(row, 1)])
                    .unwrap(),
            )
        })
        .collect();
    sims.brightpearl.resume_webhooks().await;
    let entries = wait_for(DEADLINE, || async {
        let entries = inbox(&app, FlowName::Shipments);
        (ids_of(&entries, "goods-out-note.created").len() == 3).then_some(entries)
    })
    .await;
    let mut ids = ids_of(&entries, "goods-out-note.created");
    ids.sort();
    assert_eq!(ids, notes);
    let calls = sims.brightpearl.webhook_deliveries();
    let created_calls: Vec<_> = calls
        .iter()
        .filter(|call| call.event == "goods-out-note.created")
        .collect();
    assert_eq!(created_calls.len(), 2, "{calls:?}");
    assert!(
        created_calls.iter().all(|call| call.status == Some(200)),
        "{calls:?}"
    );

    // Shipping one note arrives as its own event.
    sims.brightpearl
        .ship_goods_out_note(notes[1] as u32, Some("1Z999"), None)
        .unwrap();
    wait_for(DEADLINE, || async {
        let entries = inbox(&app, FlowName::Shipments);
        (ids_of(&entries, "goods-out-note.modified.shipped") == [notes[1]]).then_some(())
    })
    .await;
    wait_for(DEADLINE, || async {
        runs(&app, FlowName::Shipments)
            .await
            .iter()
            .any(|run| run["trigger"] == "webhook" && run["status"] == "succeeded")
            .then_some(())
    })
    .await;
    app.stop().await;
}
