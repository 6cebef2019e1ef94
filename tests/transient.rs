//! Transient upstream faults cost seconds, never a person: the orders flow against both
//! simulators over real HTTP with one seeded rule per API failing 20 % of calls with any kind of
//! fault (before or after the request took effect), then the faults stop. Liveness is asserted by
//! run count, not wall time.

use std::collections::BTreeMap;
use std::time::Duration;

use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
use serde_json::json;

use crate::support::world::{OTHER_RETAILER, RETAILER, World};

const ORDERS: usize = 60;
/// Runs with the faults on.
const FAULTY_RUNS: usize = 4;
/// Runs after the faults stop within which every order must be imported and acknowledged.
const RUNS_AFTER: usize = 3;
/// The record backoff's cap plus the create grace (2 s request timeout × 1.25 + 1 s), so before
/// each run every failed record is due and every open intent may be settled.
const CATCH_UP: Duration = Duration::from_millis(5 * 60_000 + 3_500);

fn any_fault(seed: u64) -> FaultRule {
    FaultRule {
        method: None,
        path_contains: "/".into(),
        query_contains: None,
        body_contains: None,
        // Slower than the daemon's 2 s request timeout: the effect happens, the answer is lost.
        kind: FaultKind::Any {
            slow_ms: 2_500,
            throttle_ms: 1_000,
        },
        mode: FaultMode::Seeded {
            probability: 0.2,
            seed,
        },
    }
}

/// The orders not acknowledged yet, with their view and record, for a failure message.
async fn lagging(w: &World, ids: &[String]) -> String {
    let mut out = String::new();
    for id in ids {
        let view = w.view(id).await;
        if view["state"] != "acknowledged" {
            out.push_str(&format!("\n{id}: {view}\n  record: {}", w.record(id).await));
        }
    }
    out
}

async fn acknowledged(w: &World) -> usize {
    let listed = w.app.json("/v1/orders?state=acknowledged&limit=500").await;
    listed["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn every_order_syncs_within_three_runs_after_faults_stop_with_no_duplicate_and_no_attention()
{
    let w = World::new(json!({})).await;
    let contacts_before = w.sims.brightpearl.contacts().len();
    let mut ids = Vec::new();
    for i in 0..ORDERS {
        let retailer = if i % 2 == 0 { RETAILER } else { OTHER_RETAILER };
        ids.push(w.order(
            retailer,
            &format!("PO-T{i:02}"),
            json!([{"sku": format!("SKU-{:04}", 100 + i % 12), "quantity": 1 + i % 3}]),
            json!({}),
        ));
    }
    w.sims.brightpearl.faults().add(any_fault(11));
    w.sims.dsco.faults().add(any_fault(23));
    for _ in 0..FAULTY_RUNS {
        w.window_catches_up().await;
        let run = w.start_run().await;
        w.app.wait_run(run).await;
    }
    let bp_faults = w
        .sims
        .brightpearl
        .requests()
        .all()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    let dsco_faults = w
        .sims
        .dsco
        .requests()
        .all()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert!(
        bp_faults > 0 && dsco_faults > 0,
        "faults were injected: {bp_faults} {dsco_faults}"
    );
    w.sims.brightpearl.faults().clear();
    w.sims.dsco.faults().clear();
    // Any run already going (a follow-up the daemon timed itself) ends before the count starts.
    w.idle().await;

    let mut runs_after = 0;
    while acknowledged(&w).await < ORDERS {
        assert!(
            runs_after < RUNS_AFTER,
            "after {RUNS_AFTER} runs without faults only {} of {ORDERS} orders are acknowledged: {}",
            acknowledged(&w).await,
            lagging(&w, &ids).await
        );
        w.advance(CATCH_UP);
        w.run().await;
        runs_after += 1;
    }

    // No person is needed for a transient cause: nothing needs attention.
    let attention = w
        .app
        .json("/v1/records?flow=orders&status=needs_attention")
        .await;
    assert_eq!(attention["items"], json!([]), "{attention}");
    // Exactly one sales order per purchase order.
    for i in 0..ORDERS {
        let po = format!("PO-T{i:02}");
        assert_eq!(w.bp_orders_for(&po).len(), 1, "{po} exactly once");
    }
    // One contact per retailer at most, created once.
    let contacts = w.sims.brightpearl.contacts();
    assert!(
        contacts.len() - contacts_before <= 2,
        "{} new contacts",
        contacts.len() - contacts_before
    );
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for c in &contacts {
        *by_name
            .entry(format!(
                "{} {} {}",
                c["firstName"], c["lastName"], c["emails"]
            ))
            .or_default() += 1;
    }
    assert!(
        by_name.values().all(|n| *n == 1),
        "duplicate contacts: {by_name:?}"
    );
    // Each order acknowledged once on DSCO: one successful change-log entry per order.
    let state = w.sims.dsco.dump_state();
    let mut acks: BTreeMap<String, usize> = BTreeMap::new();
    for entry in state["changeLog"].as_array().unwrap() {
        if entry["requestMethodDetail"] == "acknowledgeOrders" && entry["status"] == "success" {
            let id = entry["payload"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *acks.entry(id).or_default() += 1;
        }
    }
    for id in &ids {
        assert_eq!(
            acks.get(id).copied().unwrap_or(0),
            1,
            "order {id} acknowledged once: {acks:?}"
        );
    }
}

/// A record's detail names each failed attempt (kind, status, a short excerpt of the answer),
/// when the streak began and when it is tried again, and the retry comes within seconds.
#[tokio::test]
async fn a_record_shows_each_attempt_error_and_is_retried_within_seconds() {
    let w = World::new(json!({})).await;
    let id = w.order(
        RETAILER,
        "PO-ERR",
        json!([{"sku": "SKU-0100", "quantity": 1}]),
        json!({}),
    );
    // DSCO answers the acknowledgement with 500 and its failure body, more times than the
    // client retries.
    w.sims.dsco.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order/acknowledge".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::ServerErrorBody { code: 500 },
        mode: FaultMode::Next(3),
    });
    w.window_catches_up().await;
    let run = w.start_run().await;
    w.app.wait_run(run).await;
    w.idle().await;
    let record = w.record(&id).await;
    assert_eq!(record["status"], "failed", "{record}");
    let errors = record["attempt_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{record}");
    assert_eq!(errors[0]["attempt"], 1);
    assert_eq!(errors[0]["kind"], "server", "{record}");
    assert_eq!(errors[0]["status"], 500, "{record}");
    let excerpt = errors[0]["excerpt"].as_str().unwrap();
    assert!(!excerpt.is_empty(), "{record}");
    let token = w.sims.dsco.config().client_secret.clone();
    assert!(
        !record.to_string().contains(&token),
        "no secret in {record}"
    );
    let first = record["first_failed_at"].as_str().unwrap();
    let next = record["next_retry_at"].as_str().unwrap();
    let first = chrono::DateTime::parse_from_rfc3339(first).unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    let wait = (next - first).num_milliseconds();
    assert!(
        (2_500..=5_000).contains(&wait),
        "first retry after {wait} ms"
    );
    // DSCO answers again: the next run acknowledges it.
    w.sims.dsco.faults().clear();
    w.advance(Duration::from_secs(5));
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "acknowledged");
    let record = w.record(&id).await;
    assert_eq!(
        record["first_failed_at"],
        serde_json::Value::Null,
        "{record}"
    );
}

/// Unanswered creates of one run are settled with one bulk `customerRefs` search, not one search
/// each: the one whose create took effect is linked, the one whose create did not is sent again.
#[tokio::test]
async fn unanswered_creates_are_settled_by_one_bulk_search() {
    let w = World::new(json!({})).await;
    let line = |sku: &str| json!([{"sku": sku, "quantity": 1}]);
    let made = [
        w.order(RETAILER, "PO-BULK-A", line("SKU-0100"), json!({})),
        w.order(RETAILER, "PO-BULK-B", line("SKU-0101"), json!({})),
    ];
    let lost = w.order(OTHER_RETAILER, "PO-BULK-C", line("SKU-0102"), json!({}));
    let post = |kind, n| FaultRule {
        method: Some("POST".into()),
        path_contains: "/order-service/sales-order".into(),
        query_contains: None,
        body_contains: None,
        kind,
        mode: FaultMode::Next(n),
    };
    // A and B are created but answered after the 2 s timeout; C's create answers 500 unhandled.
    w.sims
        .brightpearl
        .faults()
        .add(post(FaultKind::Slow { ms: 2_500 }, 2));
    w.sims
        .brightpearl
        .faults()
        .add(post(FaultKind::ServerError, 1));
    w.window_catches_up().await;
    let run = w.start_run().await;
    w.app.wait_run(run).await;
    w.idle().await;
    assert_eq!(w.sims.brightpearl.order_count(), 2);
    for id in made.iter().chain([&lost]) {
        assert_eq!(w.view(id).await["state"], "failed", "{id}");
    }

    let seq = w
        .sims
        .brightpearl
        .requests()
        .all()
        .last()
        .map_or(0, |r| r.seq);
    w.advance(CATCH_UP);
    w.run().await;
    let calls: Vec<String> = w
        .sims
        .brightpearl
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.seq > seq)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let count = |what: &str| calls.iter().filter(|c| c.contains(what)).count();
    assert_eq!(
        count("GET /public-api"),
        count("sales-order-search"),
        "{calls:?}"
    );
    assert_eq!(count("sales-order-search"), 1, "{calls:?}");
    assert_eq!(count("/order-search"), 0, "{calls:?}");
    assert_eq!(count("POST"), 1, "only C is sent again: {calls:?}");
    for (po, id) in [
        ("PO-BULK-A", &made[0]),
        ("PO-BULK-B", &made[1]),
        ("PO-BULK-C", &lost),
    ] {
        assert_eq!(w.bp_orders_for(po).len(), 1, "{po} exactly once");
        assert_ne!(w.view(id).await["state"], "failed", "{id}");
    }
    let timeline = w.view(&made[0]).await["timeline"].to_string();
    assert!(
        timeline.contains("found_after_unanswered_create"),
        "{timeline}"
    );
}
