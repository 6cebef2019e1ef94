//! Units of DSCO orders not yet in Brightpearl, against both simulators over real HTTP: they
//! lower every item their stock feeds (the other SKUs of the product, the bundle and its
//! components), and an order DSCO took while the orders guard waited is deducted.

use serde_json::{Value, json};

use crate::support::world::{RETAILER, World};

/// Brightpearl warehouses 1 and 2 feed `WH-MAIN`, 3 feeds `WH-EAST`.
const WAREHOUSES: &str =
    "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n2,WH-MAIN\n3,WH-EAST\n";

/// What DSCO has on `WH-MAIN` for a SKU.
fn main_on_dsco(w: &World, sku: &str) -> Option<i64> {
    let item = w
        .sims
        .dsco
        .inventory()
        .into_iter()
        .find(|i| i["sku"] == sku)?;
    item["warehouses"]
        .as_array()?
        .iter()
        .find(|c| c["code"] == "WH-MAIN")?["quantity"]
        .as_i64()
}

async fn main_code(w: &World, sku: &str) -> Value {
    let page = w.app.json(&format!("/v1/inventory?sku={sku}")).await;
    page["items"][0]["codes"]
        .as_array()
        .unwrap_or_else(|| panic!("{sku}: {page}"))
        .iter()
        .find(|c| c["code"] == "WH-MAIN")
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_pending_order_lowers_every_item_its_stock_feeds() {
    use dsco_brightpearl::sandbox::brightpearl::NewProduct;
    let w = World::new(json!({"inventory": {"enabled": true}})).await;
    w.upload("warehouses", WAREHOUSES).await;
    // Two of product 1 and one of product 2 make a bundle, published as SKU-0040; product 3 is
    // also published as SKU-0041 (its catalog SKU SKU-0003 is the lower one and gets it all).
    let bundle = w.sims.brightpearl.add_product(NewProduct {
        sku: "BUNDLE-1".into(),
        name: "Bundle".into(),
        bundle_components: vec![(1, 2), (2, 1)],
        ..Default::default()
    });
    w.run_flow("reference").await;
    w.upload(
        "items",
        &format!("dsco_sku,brightpearl_product_id\nSKU-0040,{bundle}\nSKU-0041,3\n"),
    )
    .await;
    // BUNDLE-1 is not on DSCO: skipped, then SKU-0040 gets the bundle's quantity.
    w.run_flow("inventory").await;
    w.run_flow("inventory").await;
    // WH-MAIN: product 1 has 30, product 2 has 40, product 3 has 50; the bundle 15.
    assert_eq!(main_on_dsco(&w, "SKU-0001"), Some(30));
    assert_eq!(main_on_dsco(&w, "SKU-0002"), Some(40));
    assert_eq!(main_on_dsco(&w, "SKU-0040"), Some(15));
    assert_eq!(main_on_dsco(&w, "SKU-0003"), Some(50));
    assert_eq!(main_on_dsco(&w, "SKU-0041"), Some(0));
    // DSCO orders the orders flow has seen but cannot import yet (no tax code): two bundles,
    // and four units of product 3 under its second SKU.
    w.patch_settings(json!({"orders": {"tax_code": null}}))
        .await;
    w.order(
        RETAILER,
        "PO-PEND-1",
        json!([{"sku": "SKU-0040", "quantity": 2, "warehouseCode": "WH-MAIN"}]),
        json!({}),
    );
    w.order(
        RETAILER,
        "PO-PEND-2",
        json!([{"sku": "SKU-0041", "quantity": 4, "warehouseCode": "WH-MAIN"}]),
        json!({}),
    );
    w.run().await;
    w.run_flow("inventory").await;
    // The bundles take four of product 1 and two of product 2 from their own SKUs; the bundle
    // then makes min(26 / 2, 38) = 13; the other SKU's order comes off SKU-0003.
    assert_eq!(main_on_dsco(&w, "SKU-0001"), Some(26));
    assert_eq!(main_on_dsco(&w, "SKU-0002"), Some(38));
    assert_eq!(main_on_dsco(&w, "SKU-0040"), Some(13));
    assert_eq!(main_on_dsco(&w, "SKU-0003"), Some(46));
    assert_eq!(main_on_dsco(&w, "SKU-0041"), Some(0));
    let one = main_code(&w, "SKU-0001").await;
    assert_eq!(one["pending_orders"], 4, "{one}");
    let b = main_code(&w, "SKU-0040").await;
    assert_eq!(
        (b["brightpearl"].as_i64(), b["pending_orders"].as_i64()),
        (Some(15), Some(2)),
        "{b}"
    );
    // Imported: nothing is held any more.
    w.patch_settings(json!({"orders": {"tax_code": "T"}})).await;
    w.retry_all().await;
    w.run().await;
    w.run_flow("inventory").await;
    assert_eq!(main_on_dsco(&w, "SKU-0001"), Some(30));
    assert_eq!(main_on_dsco(&w, "SKU-0040"), Some(15));
    assert_eq!(main_on_dsco(&w, "SKU-0003"), Some(50));
}

#[tokio::test]
async fn an_order_dsco_takes_while_the_guard_waits_is_deducted() {
    let toml = format!(
        "\n[schedules]\norders = \"{0}\"\ninventory = \"{0}\"\n",
        crate::support::NEVER
    );
    let w = World::with_sims(
        crate::support::Sims::start().await,
        json!({"inventory": {"enabled": true}, "orders": {"tax_code": null}}),
        &toml,
    )
    .await;
    w.upload("warehouses", WAREHOUSES).await;
    let reads = || {
        w.sims
            .brightpearl
            .requests()
            .count("GET", "product-availability")
    };
    let before = reads();
    let r = w
        .app
        .post("/v1/sync/inventory/run")
        .json(&json!({"mode": "full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    // The stock is read; the run now waits for an orders window covering the read. DSCO
    // takes an order meanwhile (and decrements its own quantity).
    crate::support::wait_for(std::time::Duration::from_secs(30), || async {
        (reads() > before).then_some(())
    })
    .await;
    w.order(
        RETAILER,
        "PO-GUARD-1",
        json!([{"sku": "SKU-0001", "quantity": 3, "warehouseCode": "WH-MAIN"}]),
        json!({}),
    );
    w.advance(std::time::Duration::from_secs(12));
    let run = w.app.wait_run(id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    // Product 1 has 30 on WH-MAIN: the order's 3 units are held back.
    assert_eq!(main_on_dsco(&w, "SKU-0001"), Some(27), "{run}");
    assert_eq!(main_code(&w, "SKU-0001").await["pending_orders"], 3);
}
