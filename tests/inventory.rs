//! The `inventory` flow against both simulators over real HTTP: quantities per DSCO warehouse
//! code, only what changed, pending-order deductions, refusals, unknown SKUs, drift.

use serde_json::{Value, json};

use crate::support::world::{RETAILER, World};

/// Brightpearl warehouses 1 and 2 feed `WH-MAIN`, 3 feeds `WH-EAST`.
const WAREHOUSES: &str =
    "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n2,WH-MAIN\n3,WH-EAST\n";

async fn world(settings: Value) -> World {
    let mut s = json!({"inventory": {"enabled": true}});
    crate::support::world::merge(&mut s, settings);
    let w = World::new(s).await;
    w.upload("warehouses", WAREHOUSES).await;
    w
}

/// What DSCO has for a SKU: (code → quantity, quantityAvailable).
fn on_dsco(w: &World, sku: &str) -> Option<(Vec<(String, i64)>, i64)> {
    let item = w
        .sims
        .dsco
        .inventory()
        .into_iter()
        .find(|i| i["sku"] == sku)?;
    let mut codes: Vec<(String, i64)> = item["warehouses"]
        .as_array()?
        .iter()
        .map(|w| {
            (
                w["code"].as_str().unwrap_or("").to_owned(),
                w["quantity"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    codes.sort();
    Some((codes, item["quantityAvailable"].as_i64().unwrap_or(-1)))
}

fn submits(w: &World) -> usize {
    w.sims
        .dsco
        .requests()
        .count("POST", "/inventory/batch/small")
}

async fn item(w: &World, sku: &str) -> Value {
    let page = w.app.json(&format!("/v1/inventory?sku={sku}")).await;
    page["items"][0].clone()
}

#[tokio::test]
async fn warehouses_add_up_per_code_and_only_what_changed_is_sent() {
    let w = world(json!({})).await;
    // Turning inventory on starts with a reconcile of every item.
    let run = w.run_flow("inventory").await;
    assert!(
        run["note"].as_str().unwrap().starts_with("reconcile:"),
        "{run}"
    );
    // Product 1: 27 + 3 in warehouses 1 and 2, 1 in warehouse 3.
    assert_eq!(
        on_dsco(&w, "SKU-0001"),
        Some((vec![("WH-EAST".into(), 1), ("WH-MAIN".into(), 30)], 31))
    );
    let view = item(&w, "SKU-0001").await;
    assert_eq!(view["state"], "in_sync", "{view}");
    assert_eq!(view["rule"], "catalog");
    // Nothing changed: a delta reads nothing and sends nothing; a full read sends nothing.
    let before = submits(&w);
    w.run_flow("inventory").await;
    w.run_flow_mode("inventory", "full").await;
    assert_eq!(submits(&w), before, "no change, no DSCO write");
    // One change: exactly that item goes.
    w.sims.brightpearl.set_stock(5, 3, 9);
    let run = w.run_flow_mode("inventory", "full").await;
    assert!(
        run["note"].as_str().unwrap().contains("1 items sent"),
        "{run}"
    );
    assert_eq!(submits(&w), before + 1);
    assert_eq!(on_dsco(&w, "SKU-0005").unwrap().0[0], ("WH-EAST".into(), 9));
}

#[tokio::test]
async fn the_buffer_and_a_pending_order_lower_the_quantity_until_the_order_is_imported() {
    let w = world(json!({"inventory": {"safety_buffer": 2}})).await;
    w.run_flow("inventory").await;
    // Product 2: warehouse 1 has 34, 2 has 6, 3 has 2. Less the buffer: 38 and 0.
    assert_eq!(
        on_dsco(&w, "SKU-0002"),
        Some((vec![("WH-EAST".into(), 0), ("WH-MAIN".into(), 38)], 38))
    );
    // A DSCO order of 3 the orders flow has seen but cannot import yet (no customer).
    w.patch_settings(json!({"orders": {"tax_code": null}}))
        .await;
    let id = w.order(
        RETAILER,
        "PO-INV-1",
        json!([{"sku": "SKU-0002", "quantity": 3, "warehouseCode": "WH-MAIN"}]),
        json!({}),
    );
    w.run().await;
    assert!(!w.view(&id).await["bp_order_id"].is_u64());
    w.run_flow("inventory").await;
    let view = item(&w, "SKU-0002").await;
    let main = view["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "WH-MAIN")
        .cloned()
        .unwrap();
    assert_eq!(main["pending_orders"], 3, "{view}");
    assert_eq!(main["published"], 35, "{view}");
    assert_eq!(
        on_dsco(&w, "SKU-0002").unwrap().0[1],
        ("WH-MAIN".into(), 35)
    );
    // Once it is a Brightpearl order it no longer lowers the quantity.
    w.patch_settings(json!({"orders": {"tax_code": "T"}})).await;
    w.retry_all().await;
    w.run().await;
    assert!(w.view(&id).await["bp_order_id"].is_u64());
    w.run_flow("inventory").await;
    assert_eq!(
        on_dsco(&w, "SKU-0002").unwrap().0[1],
        ("WH-MAIN".into(), 38)
    );
}

#[tokio::test]
async fn an_unknown_sku_is_skipped_and_not_sent_again_until_the_next_reconcile() {
    let w = world(json!({})).await;
    w.upload("items", "dsco_sku,brightpearl_product_id\nNOT-ON-DSCO,3\n")
        .await;
    w.run_flow("inventory").await;
    let view = item(&w, "NOT-ON-DSCO").await;
    assert_eq!(view["state"], "skipped", "{view}");
    assert_eq!(view["rule"], "item_mapping");
    let record = w.record_of("inventory", "inventory", "NOT-ON-DSCO").await;
    assert_eq!(record["status"], "skipped", "{record}");
    assert_eq!(record["reason"], "SKU not on DSCO");
    // A full read does not send it again; a reconcile does.
    w.sims.brightpearl.set_stock(3, 1, 1);
    let run = w.run_flow_mode("inventory", "full").await;
    assert!(
        run["note"].as_str().unwrap().contains("1 items sent"),
        "{run}"
    );
    let run = w.run_flow_mode("inventory", "reconcile").await;
    assert!(
        run["note"].as_str().unwrap().contains("items sent"),
        "{run}"
    );
    let report = w.app.json("/v1/inventory/reconcile/latest").await;
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["sku"] == "NOT-ON-DSCO"),
        "{report}"
    );
}

#[tokio::test]
async fn a_reconcile_corrects_a_drift_made_on_dsco_and_reports_it() {
    let w = world(json!({})).await;
    w.run_flow("inventory").await;
    let (codes, _) = on_dsco(&w, "SKU-0004").unwrap();
    // Someone sets SKU-0004 to 999 on DSCO directly.
    w.sims
        .dsco
        .set_inventory(json!({"sku": "SKU-0004", "quantityAvailable": 999,
            "warehouses": [{"code": "WH-MAIN", "quantity": 999}, {"code": "WH-EAST", "quantity": 0}]}))
        .unwrap();
    // A full read compares with what DSCO confirmed to us: it does not see the drift.
    w.run_flow_mode("inventory", "full").await;
    assert_eq!(on_dsco(&w, "SKU-0004").unwrap().1, 999);
    w.run_flow_mode("inventory", "reconcile").await;
    assert_eq!(on_dsco(&w, "SKU-0004").unwrap().0, codes);
    let r = w
        .app
        .get("/v1/inventory/reconcile/latest?format=csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with("sku,code,stored,published,outcome\n"),
        "{csv}"
    );
    assert!(csv.contains("SKU-0004,WH-MAIN,"), "{csv}");
}

#[tokio::test]
async fn a_product_brightpearl_refuses_needs_attention_and_the_others_are_published() {
    let w = world(json!({})).await;
    // A product deleted in Brightpearl after the catalog was read: its set is refused (400),
    // halved until it is alone.
    w.sims.brightpearl.delete_product(6);
    w.run_flow("inventory").await;
    let record = w.record_of("inventory", "inventory", "product:6").await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .starts_with("Brightpearl refused availability for product 6:"),
        "{record}"
    );
    assert_eq!(item(&w, "SKU-0005").await["state"], "in_sync");
    assert_eq!(item(&w, "SKU-0007").await["state"], "in_sync");
    assert!(on_dsco(&w, "SKU-0007").is_some());
    // Left out until the next reference run: a full read is one request, not a halving.
    let reads = || {
        w.sims
            .brightpearl
            .requests()
            .count("GET", "product-availability")
    };
    let before = reads();
    w.run_flow_mode("inventory", "full").await;
    assert_eq!(reads() - before, 1);
    // The next reference run finds it gone from the catalog: it is no longer published.
    w.run_flow("reference").await;
    let before = reads();
    w.run_flow_mode("inventory", "full").await;
    assert_eq!(reads() - before, 1);
}

#[tokio::test]
async fn bundles_untracked_products_per_item_buffers_and_the_cap() {
    use dsco_brightpearl::sandbox::brightpearl::NewProduct;
    let w = world(json!({"inventory": {"untracked": 7, "max_quantity": 20}})).await;
    // Two of product 1 and one of product 2 make a bundle; another product is not stock-tracked.
    let bundle = w.sims.brightpearl.add_product(NewProduct {
        sku: "BUNDLE-1".into(),
        name: "Bundle".into(),
        bundle_components: vec![(1, 2), (2, 1)],
        ..Default::default()
    });
    let loose = w.sims.brightpearl.add_product(NewProduct {
        sku: "LOOSE-1".into(),
        name: "Service".into(),
        stock_tracked: false,
        ..Default::default()
    });
    w.run_flow("reference").await;
    // DSCO knows SKU-0040 and SKU-0080 (Brightpearl does not have those demo products).
    w.upload(
        "items",
        &format!("dsco_sku,brightpearl_product_id\nSKU-0040,{bundle}\nSKU-0080,{loose}\n"),
    )
    .await;
    w.upload("inventory-buffers", "dsco_sku,buffer\nSKU-0003,5\n")
        .await;
    // The first run also publishes BUNDLE-1 and LOOSE-1 (the catalog's SKUs of the same
    // products), which DSCO drops as unknown; the next delta gives their quantity to the
    // SKUs DSCO knows.
    w.run_flow("inventory").await;
    assert_eq!(item(&w, "BUNDLE-1").await["state"], "skipped");
    w.run_flow("inventory").await;
    let main_east = |sku: &str| {
        let (codes, _) = on_dsco(&w, sku).unwrap_or_else(|| panic!("{sku} not on DSCO"));
        (codes[1].1, codes[0].1)
    };
    // The bundle: WH-MAIN min(30 / 2, 40 / 1) = 15; WH-EAST min(1 / 2, 2) = 0.
    assert_eq!(main_east("SKU-0040"), (15, 0));
    assert_eq!(item(&w, "SKU-0040").await["state"], "in_sync");
    // Not stock-tracked: inventory.untracked = 7 on every code.
    assert_eq!(main_east("SKU-0080"), (7, 7));
    // Its own buffer of 5 (not the global 0): 50 - 5 = 45, capped at 20; 3 - 5 floors at 0.
    assert_eq!(main_east("SKU-0003"), (20, 0));
    // The cap: 30 → 20.
    assert_eq!(main_east("SKU-0001"), (20, 1));
}

/// A stock webhook queues a delta that reads only that product; the same delivery three times
/// (and inside an ID set) while a run is going collapses into one follow-up that reads it once.
#[tokio::test]
async fn stock_webhooks_queue_a_delta_and_repeated_deliveries_are_one_read() {
    let s = json!({"inventory": {"enabled": true}});
    let w = World::with_public_flows(s, &["inventory"]).await;
    w.upload("warehouses", WAREHOUSES).await;
    w.run_flow("inventory").await;
    w.idle_flow("inventory").await;
    let reads = || {
        w.sims
            .brightpearl
            .requests()
            .count("GET", "product-availability")
    };
    let runs = || async {
        w.app.json("/v1/runs?flow=inventory&limit=100").await["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    // One webhook: a delta reading that product alone.
    let before = reads();
    w.sims.brightpearl.set_stock(8, 3, 11);
    crate::support::wait_for(std::time::Duration::from_secs(60), || async {
        (on_dsco(&w, "SKU-0008").is_some_and(|(codes, _)| codes[0] == ("WH-EAST".into(), 11)))
            .then_some(())
    })
    .await;
    w.idle_flow("inventory").await;
    assert_eq!(reads() - before, 1);
    let latest = runs().await[0].clone();
    assert_eq!(latest["trigger"], "webhook", "{latest}");
    assert!(
        latest["note"]
            .as_str()
            .unwrap()
            .starts_with("delta: 1 products read"),
        "{latest}"
    );
    // Brightpearl holds its deliveries back; while a full read runs we deliver one change
    // three times: they wait for one follow-up run.
    let runs_before = runs().await.len();
    let before = reads();
    w.sims.brightpearl.pause_webhooks();
    w.sims.brightpearl.set_stock(9, 3, 12);
    let r = w
        .app
        .post("/v1/sync/inventory/run")
        .json(&json!({"mode": "full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    for id in ["9", "9", "9-9"] {
        crate::support::hooks::deliver_ok(&w.app, "product.modified.on-hand-modified", id).await;
    }
    w.idle_flow("inventory").await;
    crate::support::wait_for(std::time::Duration::from_secs(30), || async {
        (runs().await.len() <= runs_before + 2
            && w.app.json("/v1/status").await["flows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["running_run_id"].is_null()))
        .then_some(())
    })
    .await;
    let new_runs = runs().await.len() - runs_before;
    assert!(
        new_runs <= 2,
        "the full run and at most one follow-up: {new_runs}"
    );
    assert!(reads() - before <= 2, "{} reads", reads() - before);
    assert_eq!(
        on_dsco(&w, "SKU-0009").unwrap().0[0],
        ("WH-EAST".into(), 12)
    );
}

/// With `inventory.skip_unknown_on_dsco` off, DSCO rejects a SKU it does not know: that item
/// needs attention with DSCO's words, the others are confirmed.
#[tokio::test]
async fn a_dsco_rejection_needs_attention_for_that_sku_only() {
    let w = world(json!({"inventory": {"skip_unknown_on_dsco": false}})).await;
    w.upload("items", "dsco_sku,brightpearl_product_id\nNOT-ON-DSCO,9\n")
        .await;
    w.run_flow("inventory").await;
    let record = w.record_of("inventory", "inventory", "NOT-ON-DSCO").await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .starts_with("DSCO rejected the quantity:"),
        "{record}"
    );
    assert!(record["error_code"].is_string(), "{record}");
    assert_eq!(item(&w, "NOT-ON-DSCO").await["state"], "rejected");
    assert_eq!(item(&w, "SKU-0009").await["state"], "in_sync");
    assert_eq!(item(&w, "SKU-0010").await["state"], "in_sync");
}

/// With the orders flow scheduled, an inventory run publishes only once an orders window covers
/// the time it read the stock (it asks for that orders run); when that orders run fails it
/// publishes nothing and fails, naming it.
#[tokio::test]
async fn the_orders_guard_waits_for_an_orders_window_covering_the_read() {
    use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
    let toml = format!(
        "\n[schedules]\norders = \"{0}\"\ninventory = \"{0}\"\n",
        crate::support::NEVER
    );
    let w = World::with_sims(
        crate::support::Sims::start().await,
        json!({"inventory": {"enabled": true}}),
        &toml,
    )
    .await;
    w.upload("warehouses", WAREHOUSES).await;
    let orders_runs = || async {
        w.app.json("/v1/runs?flow=orders&limit=100").await["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    let before = orders_runs().await.len();
    let id = start_full(&w).await;
    // The covering orders window ends 10 s before its run starts: move the clock on.
    w.advance(std::time::Duration::from_secs(12));
    let run = w.app.wait_run(id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(
        !run["note"]
            .as_str()
            .unwrap()
            .contains("without the orders guard"),
        "{run}"
    );
    let runs = orders_runs().await;
    assert!(runs.len() > before, "an orders run was asked for: {runs:?}");
    assert!(on_dsco(&w, "SKU-0001").is_some());
    // The orders flow cannot read DSCO now: the inventory run publishes nothing.
    w.sims.dsco.faults().add(FaultRule {
        method: Some("GET".into()),
        path_contains: "/order/page".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::ServerErrorBody { code: 500 },
        mode: FaultMode::Next(10_000),
    });
    w.sims.brightpearl.set_stock(12, 3, 33);
    let submits = w
        .sims
        .dsco
        .requests()
        .count("POST", "/inventory/batch/small");
    let id = start_full(&w).await;
    w.advance(std::time::Duration::from_secs(12));
    let run = w.app.wait_run(id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("orders run") && error.contains("nothing published"),
        "{run}"
    );
    assert_eq!(
        w.sims
            .dsco
            .requests()
            .count("POST", "/inventory/batch/small"),
        submits,
        "nothing published"
    );
}

async fn start_full(w: &World) -> u64 {
    let r = w
        .app
        .post("/v1/sync/inventory/run")
        .json(&json!({"mode": "full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap()
}

/// An untracked product with `inventory.untracked = "skip"` is not published, and
/// `/v1/inventory` says why.
#[tokio::test]
async fn an_untracked_product_is_not_published_by_default_and_the_list_says_why() {
    use dsco_brightpearl::sandbox::brightpearl::NewProduct;
    let w = world(json!({})).await;
    let loose = w.sims.brightpearl.add_product(NewProduct {
        sku: "LOOSE-2".into(),
        name: "Service".into(),
        stock_tracked: false,
        ..Default::default()
    });
    w.run_flow("reference").await;
    w.upload(
        "items",
        &format!("dsco_sku,brightpearl_product_id\nSKU-0120,{loose}\n"),
    )
    .await;
    let before = on_dsco(&w, "SKU-0120");
    w.run_flow("inventory").await;
    let view = item(&w, "SKU-0120").await;
    assert_eq!(view["state"], "skipped", "{view}");
    assert!(
        view["reason"]
            .as_str()
            .unwrap()
            .contains("not stock-tracked"),
        "{view}"
    );
    assert_eq!(on_dsco(&w, "SKU-0120"), before, "SKU-0120 was not sent");
    let page = w.app.json("/v1/inventory?state=skipped").await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["sku"] == "SKU-0120"),
        "{page}"
    );
    let r = w.app.get("/v1/inventory?state=bogus").send().await.unwrap();
    assert_eq!(r.status(), 400);
    // The setting changes: the next delta reads everything again and publishes it.
    w.patch_settings(json!({"inventory": {"untracked": 4}}))
        .await;
    let run = w.run_flow("inventory").await;
    assert!(
        run["note"]
            .as_str()
            .unwrap()
            .contains("a full read instead of a delta"),
        "{run}"
    );
    // LOOSE-2, the catalog's SKU of the same product, came first and DSCO dropped it; the
    // next delta gives the quantity to SKU-0120.
    assert_eq!(item(&w, "LOOSE-2").await["state"], "skipped");
    w.run_flow("inventory").await;
    assert_eq!(
        on_dsco(&w, "SKU-0120"),
        Some((vec![("WH-EAST".into(), 4), ("WH-MAIN".into(), 4)], 8))
    );
    assert_eq!(item(&w, "SKU-0120").await["state"], "in_sync");
    // Nothing changed since: a plain delta again.
    let run = w.run_flow("inventory").await;
    assert!(run["note"].as_str().unwrap().starts_with("delta:"), "{run}");
    // A DSCO item seen on an order that matches no product is listed as unmatched.
    w.order(
        RETAILER,
        "PO-INV-UNMATCHED",
        json!([{"sku": "NO-SUCH-SKU", "quantity": 1}]),
        json!({}),
    );
    w.run().await;
    let page = w.app.json("/v1/inventory?state=unmatched").await;
    let unmatched = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sku"] == "NO-SUCH-SKU")
        .cloned()
        .unwrap_or_else(|| panic!("{page}"));
    assert_eq!(unmatched["product_id"], Value::Null);
    assert!(
        unmatched["reason"]
            .as_str()
            .unwrap()
            .starts_with("seen on a DSCO order")
    );
}

#[tokio::test]
async fn nothing_is_read_or_sent_while_inventory_is_off() {
    let w = World::new(json!({})).await;
    w.upload("warehouses", WAREHOUSES).await;
    let reads = w
        .sims
        .brightpearl
        .requests()
        .count("GET", "product-availability");
    let run = w.run_flow("inventory").await;
    assert_eq!(
        run["note"], "inventory.enabled is false: nothing read or sent",
        "{run}"
    );
    assert_eq!(submits(&w), 0);
    assert_eq!(
        w.sims
            .brightpearl
            .requests()
            .count("GET", "product-availability"),
        reads
    );
    // Turned on, its first run is a reconcile; the next is a delta.
    w.patch_settings(json!({"inventory": {"enabled": true}}))
        .await;
    let run = w.run_flow("inventory").await;
    assert!(
        run["note"].as_str().unwrap().starts_with("reconcile:"),
        "{run}"
    );
    let report = w.app.json("/v1/inventory/reconcile/latest").await;
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "confirmed" || r["outcome"] == "skipped"),
        "{report}"
    );
    let run = w.run_flow("inventory").await;
    assert!(run["note"].as_str().unwrap().starts_with("delta:"), "{run}");
    // Off and on again (no run in between): a reconcile again.
    w.patch_settings(json!({"inventory": {"enabled": false}}))
        .await;
    w.patch_settings(json!({"inventory": {"enabled": true}}))
        .await;
    let run = w.run_flow("inventory").await;
    assert!(
        run["note"].as_str().unwrap().starts_with("reconcile:"),
        "{run}"
    );
}

/// Brightpearl capped at 20 requests a window: while a full read of 6,000 products (more calls than one window holds) queues on
/// the low lane, an orders run's calls are each granted before any inventory call queued with
/// them (asserted on the budget's grant order, not on time).
#[tokio::test]
async fn orders_calls_go_before_queued_inventory_calls_when_the_quota_is_short() {
    use dsco_brightpearl::brightpearl::Lane;
    use dsco_brightpearl::sandbox::brightpearl::BrightpearlSimConfig;
    let sims = crate::support::Sims::start_with(
        BrightpearlSimConfig {
            throttle_cap: 20,
            throttle_window: std::time::Duration::from_secs(10),
            ..Default::default()
        },
        Default::default(),
    )
    .await;
    sims.brightpearl.seed_demo(6000);
    let w = World::with_sims(sims, json!({"inventory": {"enabled": true}}), "").await;
    w.upload("warehouses", WAREHOUSES).await;
    let ids: Vec<String> = (0..5)
        .map(|k| {
            w.order(
                RETAILER,
                &format!("PO-Q{k}"),
                json!([{"sku": format!("SKU-{:04}", 150 + k), "quantity": 1}]),
                json!({}),
            )
        })
        .collect();
    w.window_catches_up().await;
    let quota = w.app.running().connections.quota().clone();
    let first = quota.recent_grants().last().map_or(0, |g| g.granted);
    let inventory = start_full(&w).await;
    // The read has used up the window (its next calls queue) before the orders run starts, so
    // the two compete however busy the machine is.
    crate::support::wait_for(std::time::Duration::from_secs(120), || async {
        let used = quota
            .recent_grants()
            .iter()
            .filter(|g| g.granted > first && g.lane == Lane::Inventory)
            .count();
        (used >= 20).then_some(())
    })
    .await;
    let orders = w.start_run().await;
    let run = w.app.wait_run(orders).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let run = w.app.wait_run(inventory).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    for id in &ids {
        assert!(w.view(id).await["bp_order_id"].is_u64());
    }
    let grants: Vec<_> = quota
        .recent_grants()
        .into_iter()
        .filter(|g| g.granted > first)
        .collect();
    let inventory_calls = grants.iter().filter(|g| g.lane == Lane::Inventory).count();
    assert!(inventory_calls >= 30, "{grants:?}");
    // The read and the orders run did compete: an inventory call queued before an orders call
    // was granted after it.
    let overtaken = grants.iter().filter(|g| g.lane == Lane::Orders).any(|o| {
        grants.iter().any(|i| {
            i.lane == Lane::Inventory && i.requested < o.requested && i.granted > o.granted
        })
    });
    assert!(overtaken, "no contention seen: {grants:?}");
    for o in grants.iter().filter(|g| g.lane == Lane::Orders) {
        let cut_in = grants
            .iter()
            .filter(|i| i.lane == Lane::Inventory)
            .any(|i| i.requested < o.requested && i.granted > o.requested && i.granted < o.granted);
        assert!(
            !cut_in,
            "an inventory call queued before this orders call went first: {o:?}"
        );
    }
}

/// A newer quantity computed while the older publication is still unconfirmed waits for it,
/// and the next delta sends it once DSCO confirms the older one: no update is lost.
#[tokio::test]
async fn a_newer_quantity_behind_an_unconfirmed_publication_is_sent_after_it() {
    let w = world(json!({})).await;
    w.run_flow("inventory").await;
    // DSCO takes the next batch but does not process it.
    w.sims.dsco.hold_batches(true);
    w.sims.brightpearl.set_stock(14, 3, 21);
    w.run_flow_mode("inventory", "full").await;
    assert_eq!(item(&w, "SKU-0014").await["state"], "pending");
    // Another change while that one is unconfirmed: not sent yet (one in flight per SKU).
    w.sims.brightpearl.set_stock(14, 3, 22);
    let before = submits(&w);
    w.run_flow_mode("inventory", "full").await;
    assert_eq!(submits(&w), before, "one unconfirmed publication per SKU");
    w.sims.dsco.hold_batches(false);
    // A delta confirms the older one, then sends the newer one.
    let mut runs = 0;
    while on_dsco(&w, "SKU-0014").map(|(c, _)| c[0].1) != Some(22) {
        runs += 1;
        assert!(runs <= 3, "the newer quantity never reached DSCO");
        w.advance(std::time::Duration::from_secs(6));
        w.run_flow("inventory").await;
    }
    assert_eq!(item(&w, "SKU-0014").await["state"], "in_sync");
}

/// A SKU no rule publishes any more (here its product was deleted in Brightpearl) is sent 0
/// once, so DSCO stops selling it, and then left alone.
#[tokio::test]
async fn a_sku_that_stops_being_published_is_sent_zero_once() {
    let w = world(json!({})).await;
    w.run_flow("inventory").await;
    assert_eq!(
        on_dsco(&w, "SKU-0004").map(|(_, total)| total > 0),
        Some(true)
    );
    w.sims.brightpearl.delete_product(4);
    w.run_flow("reference").await;
    let run = w.run_flow("inventory").await;
    assert!(
        run["note"]
            .as_str()
            .unwrap()
            .contains("1 items no longer published"),
        "{run}"
    );
    assert_eq!(
        on_dsco(&w, "SKU-0004"),
        Some((vec![("WH-EAST".into(), 0), ("WH-MAIN".into(), 0)], 0))
    );
    let view = item(&w, "SKU-0004").await;
    assert_eq!(
        (view["rule"].as_str(), view["state"].as_str()),
        (Some("none"), Some("in_sync")),
        "{view}"
    );
    assert!(
        view["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no longer published")),
        "{view}"
    );
    let before = submits(&w);
    w.run_flow_mode("inventory", "full").await;
    w.run_flow("inventory").await;
    assert_eq!(submits(&w), before, "sent once");
}
