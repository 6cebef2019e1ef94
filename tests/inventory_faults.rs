//! The inventory flow under transient faults on both sides, and across a SIGKILL of the real
//! binary in the middle of a batch: no update is lost, nothing needs a person.

use std::time::Duration;

use serde_json::{Value, json};

use crate::shipments_faults::any_fault;
use crate::support::real::Real;
use crate::support::world::World;
use crate::support::{NEVER, wait_for};

const WAREHOUSES: &str =
    "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n2,WH-MAIN\n3,WH-EAST\n";
/// More than `[dsco] settle_grace` (15 min) and the record backoff's cap: before each run an
/// unanswered publication's second empty search may come.
const CATCH_UP: Duration = Duration::from_secs(16 * 60);

fn east(inventory: &[Value], sku: &str) -> Option<i64> {
    inventory.iter().find(|i| i["sku"] == sku)?["warehouses"]
        .as_array()?
        .iter()
        .find(|w| w["code"] == "WH-EAST")?["quantity"]
        .as_i64()
}

#[tokio::test]
async fn faults_on_both_sides_lose_no_update_and_need_no_person() {
    let w = World::new(json!({"inventory": {"enabled": true}})).await;
    w.upload("warehouses", WAREHOUSES).await;
    w.run_flow("inventory").await;
    w.sims.brightpearl.faults().add(any_fault(53));
    w.sims.dsco.faults().add(any_fault(59));
    // Stock changes while both sides fail a quarter of the requests; full reads keep going.
    for round in 0..3i64 {
        for p in 11..=20u32 {
            w.sims
                .brightpearl
                .set_stock(p, 3, 40 + round * 10 + i64::from(p));
        }
        w.try_run_flow_mode_any("inventory", "full").await;
        w.advance(Duration::from_secs(30));
    }
    w.sims.brightpearl.faults().clear();
    w.sims.dsco.faults().clear();
    w.idle_flow("inventory").await;
    let expected = |p: u32| 40 + 20 + i64::from(p);
    let mut runs = 0;
    loop {
        let inventory = w.sims.dsco.inventory();
        let wrong: Vec<u32> = (11..=20u32)
            .filter(|p| east(&inventory, &format!("SKU-{p:04}")) != Some(expected(*p)))
            .collect();
        if wrong.is_empty() {
            break;
        }
        assert!(
            runs < 3,
            "after 3 runs without faults products {wrong:?} are not right on DSCO"
        );
        w.advance(CATCH_UP);
        w.run_flow_mode("inventory", "full").await;
        runs += 1;
    }
    let attention = w
        .app
        .json("/v1/records?flow=inventory&status=needs_attention")
        .await;
    assert_eq!(attention["items"], json!([]), "{attention}");
}

#[tokio::test]
async fn sigkill_during_a_batch_leaves_the_confirmed_state_matching_dsco() {
    let mut real = Real::start(&format!("[schedules]\ninventory = \"{NEVER}\"\n"), &[]).await;
    real.api
        .ok(real
            .api
            .http
            .put(format!("{}/v1/mappings/warehouses", real.api.base))
            .header("content-type", "text/csv")
            .body(WAREHOUSES))
        .await;
    real.settings(json!({"inventory": {"enabled": true}})).await;
    let log = real.sims.dsco.requests();
    let submits = || log.count("POST", "inventory/batch/small");
    // DSCO takes the batch (202) but does not process it; the daemon waits for the log.
    real.sims.dsco.hold_batches(true);
    real.api.start_run("inventory").await;
    wait_for(Duration::from_secs(60), || async {
        (submits() == 1).then_some(())
    })
    .await;
    real.daemon.signal("KILL");
    real.daemon.wait_exit().await;
    real.restart(&[]).await;
    // Still held: nothing is sent again.
    real.api.run("inventory").await;
    assert_eq!(
        submits(),
        1,
        "nothing sent again while DSCO has not processed it"
    );
    real.sims.dsco.hold_batches(false);
    let items = wait_for(Duration::from_secs(60), || async {
        real.api.run("inventory").await;
        let page = real.api.get("/v1/inventory?limit=1000").await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty() && items.iter().all(|i| i["state"] == "in_sync")).then_some(items)
    })
    .await;
    assert_eq!(submits(), 1, "the batch was sent once");
    // Every confirmed quantity is what DSCO has.
    let dsco = real.sims.dsco.inventory();
    for item in &items {
        let sku = item["sku"].as_str().unwrap();
        let on_dsco = dsco
            .iter()
            .find(|i| i["sku"] == sku)
            .unwrap_or_else(|| panic!("{sku} not on DSCO"));
        for code in item["codes"].as_array().unwrap() {
            let there = on_dsco["warehouses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["code"] == code["code"])
                .map(|w| w["quantity"].clone());
            assert_eq!(there, Some(code["confirmed"].clone()), "{sku}: {item}");
        }
    }
}

/// DSCO refuses a whole batch because of one item in it: the batch is halved until that item is
/// alone, which needs attention with DSCO's words; every other item is confirmed.
#[tokio::test]
async fn a_batch_refused_for_one_item_is_halved_until_that_item_is_alone() {
    use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
    let w = World::new(json!({"inventory": {"enabled": true}})).await;
    w.upload("warehouses", WAREHOUSES).await;
    w.sims.dsco.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/inventory/batch/small".into(),
        query_contains: None,
        body_contains: Some("\"SKU-0007\"".into()),
        kind: FaultKind::ServerErrorBody { code: 400 },
        mode: FaultMode::Next(1_000),
    });
    let run = w.run_flow("inventory").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let submits = w
        .sims
        .dsco
        .requests()
        .count("POST", "/inventory/batch/small");
    let bad = w.app.json("/v1/inventory?sku=SKU-0007").await["items"][0].clone();
    assert_eq!(bad["state"], "rejected", "{bad}");
    let records = w
        .app
        .json("/v1/records?flow=inventory&status=needs_attention")
        .await;
    let items = records["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{records}");
    assert_eq!(items[0]["source_id"], "SKU-0007", "{records}");
    let page = w.app.json("/v1/inventory?state=in_sync&limit=1000").await;
    let in_sync = page["items"].as_array().unwrap();
    assert!(in_sync.len() > 100, "{page}");
    assert!(in_sync.iter().all(|i| i["sku"] != "SKU-0007"));
    // Halving, not one submit per item: about two submits per level of the split.
    let levels = (in_sync.len() as f64 + 1.0).log2().ceil() as usize + 1;
    assert!(
        submits <= 2 * levels + 1,
        "{submits} submits for {} items",
        in_sync.len()
    );
}
