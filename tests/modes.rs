//! Run modes and queued runs through `POST /v1/sync/{flow}/run` and `run-once --mode`.

use serde_json::{Value, json};

use crate::support::flows::GatedFlow;
use crate::support::{self, TestApp};
use dsco_brightpearl::flow_name::FlowName;

async fn post_run(app: &TestApp, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.post(path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_mode_the_flow_lacks_or_an_unknown_field_is_a_400_naming_it() {
    let (orders, orders_gate) = GatedFlow::new(FlowName::Orders, 1);
    let (inventory, inventory_gate) = GatedFlow::new(FlowName::Inventory, 1);
    orders_gate.add_permits(100);
    inventory_gate.add_permits(100);
    let app = TestApp::start("", vec![orders, inventory]).await;

    let (status, body) = post_run(&app, "/v1/sync/orders/run", Some(json!({"mode": "full"}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("flow orders has modes: default"),
        "{body}"
    );
    let (status, body) = post_run(
        &app,
        "/v1/sync/inventory/run",
        Some(json!({"mode": "everything"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("flow inventory has modes: delta, full, reconcile"),
        "{body}"
    );
    let (status, body) = post_run(
        &app,
        "/v1/sync/inventory/run",
        Some(json!({"mode": "full", "colour": "blue"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    let (status, body) = post_run(&app, "/v1/sync/inventory/run?queue=maybe", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("queue"),
        "{body}"
    );
    assert_eq!(app.json("/v1/runs").await["items"], json!([]));

    // No body: the flow's first mode; a body picks another.
    let (status, body) = post_run(&app, "/v1/sync/inventory/run", None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["mode"], "delta");
    assert_eq!(body["queued"], false);
    let run = app.wait_run(body["run_id"].as_u64().unwrap()).await;
    assert_eq!(run["mode"], "delta");
    let (status, body) = post_run(
        &app,
        "/v1/sync/inventory/run",
        Some(json!({"mode": "reconcile"})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let run = app.wait_run(body["run_id"].as_u64().unwrap()).await;
    assert_eq!(run["mode"], "reconcile");
    let (status, body) = post_run(&app, "/v1/sync/orders/run", Some(json!({}))).await;
    assert_eq!(status, 202, "{body}");
    let run = app.wait_run(body["run_id"].as_u64().unwrap()).await;
    assert_eq!(run["mode"], "default");
    app.stop().await;
}

#[tokio::test]
async fn queued_requests_while_running_collapse_into_one_follow_up_in_the_later_mode() {
    let (inventory, gate) = GatedFlow::new(FlowName::Inventory, 1);
    let app = TestApp::start("", vec![inventory]).await;
    let (status, body) = post_run(&app, "/v1/sync/inventory/run?queue=true", None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["queued"], false);
    let first = body["run_id"].as_u64().unwrap();

    // Without queue=true the guard answers 409, and nothing is queued.
    let (status, body) = post_run(&app, "/v1/sync/inventory/run", None).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        !app.running()
            .scheduler
            .follow_up_pending(FlowName::Inventory)
    );
    // With it: queued, collapsing to the later mode of the flow's list.
    for (mode, collapsed) in [("delta", "delta"), ("full", "full"), ("delta", "full")] {
        let (status, body) = post_run(
            &app,
            "/v1/sync/inventory/run?queue=true",
            Some(json!({ "mode": mode })),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["queued"], true, "{body}");
        assert_eq!(body["run_id"], Value::Null, "{body}");
        assert_eq!(body["mode"], collapsed, "{body}");
    }

    gate.add_permits(1);
    app.wait_run(first).await;
    let follow_up = support::wait_for(std::time::Duration::from_secs(30), || async {
        let runs = app.json("/v1/runs").await;
        let items = runs["items"].as_array().unwrap().clone();
        (items.len() == 2).then(|| items[0].clone())
    })
    .await;
    assert_eq!(follow_up["trigger"], "follow_up");
    assert_eq!(follow_up["mode"], "full");
    gate.add_permits(1);
    let follow_up = app.wait_run(follow_up["id"].as_u64().unwrap()).await;
    assert_eq!(follow_up["status"], "succeeded");
    // One follow-up, not three.
    let runs = app.json("/v1/runs").await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 2, "{runs}");
    // Idle again: a queued request starts a run at once.
    gate.add_permits(1);
    let (status, body) = post_run(
        &app,
        "/v1/sync/inventory/run?queue=true",
        Some(json!({"mode": "reconcile"})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["queued"], false);
    assert_eq!(body["mode"], "reconcile");
    app.wait_run(body["run_id"].as_u64().unwrap()).await;
    app.stop().await;
}

#[test]
fn run_once_with_a_mode_the_flow_lacks_fails_naming_its_modes() {
    for (flow, mode, modes) in [
        ("shipments", "full", "flow shipments has modes: default"),
        (
            "inventory",
            "all",
            "flow inventory has modes: delta, full, reconcile",
        ),
    ] {
        let out = std::process::Command::new(support::binary())
            .args(["run-once", flow, "--mode", mode])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(modes), "{err}");
    }
}

/// The inventory flow's entry of `/v1/status`.
async fn inventory_status(app: &TestApp) -> Value {
    let status = app.json("/v1/status").await;
    status["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "inventory")
        .cloned()
        .unwrap()
}

/// The runs of the app, oldest first.
async fn runs_oldest_first(app: &TestApp) -> Vec<Value> {
    let runs = app.json("/v1/runs").await;
    let mut items = runs["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

#[tokio::test]
async fn a_tick_of_flow_mode_runs_that_mode_and_a_plain_tick_the_first_mode() {
    // `inventory_full` ticks every second; `inventory` has no schedule of its own.
    let (inventory, gate) = GatedFlow::new(FlowName::Inventory, 1);
    let app = TestApp::start(
        &format!(
            "[schedules]\ninventory_full = \"* * * * * *\"\ninventory_reconcile = \"{}\"\n",
            support::NEVER
        ),
        vec![inventory],
    )
    .await;
    // Enabled by a mode's schedule alone: for the webhook registry and in `/v1/status`.
    assert!(
        app.running()
            .webhooks
            .enabled()
            .contains(&FlowName::Inventory)
    );
    let status = inventory_status(&app).await;
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["schedule"], Value::Null, "{status}");
    assert!(status["next_run"].is_string(), "{status}");
    let schedules = status["schedules"].as_array().unwrap();
    assert_eq!(schedules.len(), 2, "{status}");
    assert_eq!(schedules[0]["mode"], "full");
    assert_eq!(schedules[0]["schedule"], "* * * * * *");
    assert!(schedules[0]["next_run"].is_string(), "{status}");
    assert_eq!(schedules[1]["mode"], "reconcile");
    assert_eq!(schedules[1]["schedule"], support::NEVER);
    // The flow's next run is its earliest tick: the full read's, not the reconcile's.
    assert_eq!(status["next_run"], schedules[0]["next_run"], "{status}");

    let first = support::wait_for(std::time::Duration::from_secs(30), || async {
        runs_oldest_first(&app).await.first().cloned()
    })
    .await;
    assert_eq!(first["trigger"], "schedule", "{first}");
    assert_eq!(first["mode"], "full", "{first}");
    // A tick while the run is held queues one follow-up in its mode, like any queued request;
    // a wider request then wins, and later ticks of the narrower mode do not narrow it.
    let scheduler = &app.running().scheduler;
    let full = FlowName::Inventory.mode("full").unwrap();
    support::wait_for(std::time::Duration::from_secs(30), || async {
        (scheduler.pending_mode(FlowName::Inventory) == Some(full)).then_some(())
    })
    .await;
    let (status, body) = post_run(
        &app,
        "/v1/sync/inventory/run?queue=true",
        Some(json!({"mode": "reconcile"})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["mode"], "reconcile", "{body}");
    gate.add_permits(1);
    app.wait_run(first["id"].as_u64().unwrap()).await;
    let follow_up = support::wait_for(std::time::Duration::from_secs(30), || async {
        runs_oldest_first(&app).await.get(1).cloned()
    })
    .await;
    assert_eq!(follow_up["trigger"], "follow_up", "{follow_up}");
    assert_eq!(follow_up["mode"], "reconcile", "{follow_up}");
    // Ticks running freely: every run they start or queue is a full read.
    gate.add_permits(1000);
    let runs = support::wait_for(std::time::Duration::from_secs(30), || async {
        let runs = runs_oldest_first(&app).await;
        (runs.len() >= 4).then_some(runs)
    })
    .await;
    for run in &runs[2..] {
        assert_eq!(run["mode"], "full", "{run}");
    }
    app.stop().await;

    // A plain `inventory` key ticks in the flow's first mode.
    let (inventory, gate) = GatedFlow::new(FlowName::Inventory, 1);
    gate.add_permits(1000);
    let app = TestApp::start(
        "[schedules]\ninventory = \"* * * * * *\"\n",
        vec![inventory],
    )
    .await;
    let status = inventory_status(&app).await;
    assert_eq!(status["schedule"], "* * * * * *", "{status}");
    assert_eq!(status["schedules"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(status["schedules"][0]["mode"], "delta", "{status}");
    let first = support::wait_for(std::time::Duration::from_secs(30), || async {
        runs_oldest_first(&app).await.first().cloned()
    })
    .await;
    assert_eq!(first["trigger"], "schedule", "{first}");
    assert_eq!(first["mode"], "delta", "{first}");
    app.stop().await;
}
