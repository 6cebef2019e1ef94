//! The shipments flow driven by Brightpearl's webhooks through the daemon's public listener:
//! each delivery queues a run that ships seconds later; duplicate, out-of-order and ID-set
//! deliveries give the same result as one clean delivery; tracking added later arrives as
//! `goods-out-note.modified`; a note deleted after it was sent needs attention; a webhook that
//! never arrives only delays a shipment until the sweep.

use std::time::Duration;

use serde_json::{Value, json};

use crate::shipments::{delete_note, imported, mapped, packages};
use crate::support::hooks::{deliver_ok, inbox};
use crate::support::wait_for;
use crate::support::world::World;
use dsco_brightpearl::flow_name::FlowName;

const DEADLINE: Duration = Duration::from_secs(30);

async fn world() -> World {
    world_with(json!({})).await
}

async fn world_with(settings: Value) -> World {
    let w = mapped(World::with_public(settings).await).await;
    // Registration runs at start and again after the settings change: wait for our four hooks.
    wait_for(DEADLINE, || async {
        let view = w.app.json("/v1/brightpearl/webhooks").await;
        let hooks = view["webhooks"].as_array().map_or(0, Vec::len);
        (hooks == 4).then_some(())
    })
    .await;
    w
}

/// Wait until the record of note `note` has `status`.
async fn record_reaches(w: &World, note: u32, status: &str) -> Value {
    wait_for(DEADLINE, || async {
        let r = w
            .record_of("shipments", "shipment", &note.to_string())
            .await;
        (r["status"] == status).then_some(r)
    })
    .await
}

/// Change a note's tracking through Brightpearl's API (raises `goods-out-note.modified`).
async fn set_tracking(w: &World, note: u32, tracking: &str) {
    let config = w.sims.brightpearl.config();
    let r = reqwest::Client::new()
        .put(format!(
            "{}/public-api/{}/warehouse-service/goods-note/goods-out/{note}",
            w.sims.brightpearl_url(),
            config.account
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .json(&json!({"shipping": {"reference": tracking}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

async fn runs(w: &World) -> Vec<Value> {
    w.app.json("/v1/runs?flow=shipments").await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn trackings(w: &World, id: &str) -> Vec<String> {
    let mut out: Vec<String> = packages(w, id)
        .iter()
        .map(|p| p["trackingNumber"].as_str().unwrap_or("").to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn webhooks_ship_each_note_once_whatever_their_order_number_or_grouping() {
    let w = world().await;
    let (id, bp, rows) = imported(
        &w,
        "PO-W1",
        json!([{"sku": "SKU-0111", "quantity": 2}, {"sku": "SKU-0112", "quantity": 1},
               {"sku": "SKU-0113", "quantity": 1}]),
    )
    .await;
    // Every call Brightpearl makes is made twice (quality of service 1 is at-least-once).
    w.sims.brightpearl.set_webhook_duplicate_delivery(true);
    let n1 = w.new_note(bp, &[(rows[0], 1)]);
    let r1 = record_reaches(&w, n1, "pending").await;
    assert_eq!(
        r1["reason"],
        format!("no tracking number yet on goods-out note {n1}")
    );
    // Tracking added later: `goods-out-note.modified` ships it, with no run started by the test.
    set_tracking(&w, n1, "1ZW1-A").await;
    record_reaches(&w, n1, "synced").await;
    assert_eq!(trackings(&w, &id), ["1ZW1-A"]);
    assert!(
        runs(&w).await.iter().all(|r| r["trigger"] != "manual"),
        "{:?}",
        runs(&w).await
    );
    assert!(runs(&w).await.iter().any(|r| r["trigger"] == "webhook"));

    // Two more notes whose webhooks Brightpearl holds back; we deliver "shipped" before
    // "created", as one ID set, and each twice.
    w.sims.brightpearl.pause_webhooks();
    let n2 = w.new_note(bp, &[(rows[0], 1)]);
    let n3 = w.new_note(bp, &[(rows[1], 1), (rows[2], 1)]);
    for (note, tracking) in [(n2, "1ZW1-B"), (n3, "1ZW1-C")] {
        w.ship_note(note, Some(tracking), None);
    }
    let set = format!("{n2},{n3}");
    for event in [
        "goods-out-note.modified.shipped",
        "goods-out-note.modified.shipped",
        "goods-out-note.created",
    ] {
        deliver_ok(&w.app, event, &set).await;
    }
    record_reaches(&w, n2, "synced").await;
    record_reaches(&w, n3, "synced").await;
    // Brightpearl's own (doubled) deliveries arrive late: nothing is sent again.
    w.sims.brightpearl.resume_webhooks().await;
    wait_for(DEADLINE, || async {
        let idle = inbox(&w.app, FlowName::Shipments).is_empty();
        idle.then_some(())
    })
    .await;
    w.idle_flow("shipments").await;
    w.run_flow("shipments").await;
    assert_eq!(trackings(&w, &id), ["1ZW1-A", "1ZW1-B", "1ZW1-C"]);
    let submits = w
        .sims
        .dsco
        .requests()
        .count("POST", "order/shipment/batch/small");
    assert_eq!(w.view(&id).await["state"], "shipped");
    assert!(inbox(&w.app, FlowName::Shipments).is_empty());

    // A note deleted after it was sent (only its `destroyed` webhook tells): a person must look.
    delete_note(&w, bp, n1).await;
    let r = record_reaches(&w, n1, "needs_attention").await;
    assert_eq!(
        r["reason"],
        format!("goods-out note {n1} deleted after it was sent to DSCO")
    );
    assert_eq!(
        w.sims
            .dsco
            .requests()
            .count("POST", "order/shipment/batch/small"),
        submits
    );
}

#[tokio::test]
async fn a_lost_webhook_only_delays_the_shipment_until_the_sweep() {
    let w = world().await;
    let (id, bp, rows) = imported(&w, "PO-W2", json!([{"sku": "SKU-0114", "quantity": 1}])).await;
    // Brightpearl never delivers this note's webhooks.
    w.sims.brightpearl.pause_webhooks();
    let note = w.new_note(bp, &[(rows[0], 1)]);
    w.ship_note(note, Some("1ZW2-A"), None);
    w.advance(Duration::from_secs(60));
    assert!(
        w.record_of("shipments", "shipment", &note.to_string())
            .await
            .is_null()
    );
    // The next scheduled sweep (started here) finds it.
    w.run_flow("shipments").await;
    record_reaches(&w, note, "synced").await;
    assert_eq!(trackings(&w, &id), ["1ZW2-A"]);
}

#[tokio::test]
async fn with_the_moment_shipped_a_note_is_sent_when_it_ships_not_when_it_has_tracking() {
    let w = world_with(json!({"shipments": {"goods_out_note_moment": "shipped"}})).await;
    let (id, bp, rows) = imported(&w, "PO-W3", json!([{"sku": "SKU-0115", "quantity": 1}])).await;
    let note = w.new_note(bp, &[(rows[0], 1)]);
    set_tracking(&w, note, "1ZW3-A").await;
    // The created and modified webhooks queue runs; the note has tracking but has not shipped.
    wait_for(DEADLINE, || async {
        let runs = runs(&w).await;
        let done = runs.iter().filter(|r| r["trigger"] == "webhook").count() >= 1
            && runs.iter().all(|r| r["status"] != "running");
        (done && inbox(&w.app, FlowName::Shipments).is_empty()).then_some(())
    })
    .await;
    w.run_flow("shipments").await;
    assert!(packages(&w, &id).is_empty());
    assert!(
        w.record_of("shipments", "shipment", &note.to_string())
            .await
            .is_null()
    );
    w.ship_note(note, None, None);
    let r = record_reaches(&w, note, "synced").await;
    assert_eq!(r["related"]["tracking"], "1ZW3-A");
    assert_eq!(trackings(&w, &id), ["1ZW3-A"]);
    assert_eq!(w.view(&id).await["state"], "shipped");
}
