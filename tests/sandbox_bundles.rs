//! Bundles and untracked products in the Brightpearl simulator (brightpearl-api.md §4.10,
//! §4.11), over plain HTTP, and the reference flow storing what Product GET says of them in the
//! catalog.

use std::time::Duration;

use dsco_brightpearl::reference::BundleComponent;
use dsco_brightpearl::sandbox::brightpearl::NewProduct;
use serde_json::{Value, json};

use crate::support::{self, Sims, TestApp, wait_for};

/// A Brightpearl public-API GET with the simulator's private-app headers; (status, body).
async fn bp_get(sims: &Sims, path: &str) -> (u16, Value) {
    let config = sims.brightpearl.config();
    let response = support::http()
        .get(format!(
            "{}/public-api/{}{path}",
            sims.brightpearl_url(),
            config.account
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A `/_sandbox/...` POST; (status, body).
async fn admin_post(sims: &Sims, path: &str, body: Value) -> (u16, Value) {
    let response = support::http()
        .post(format!("{}{path}", sims.brightpearl_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn add(sims: &Sims, body: Value) -> u64 {
    let (status, reply) = admin_post(sims, "/_sandbox/products", body.clone()).await;
    assert_eq!(status, 200, "{body}: {reply}");
    reply["id"].as_u64().unwrap()
}

/// Products by id, as Product GET renders them.
async fn products(sims: &Sims, ids: &[u64]) -> Vec<Value> {
    let set: Vec<String> = ids.iter().map(u64::to_string).collect();
    let (status, body) = bp_get(sims, &format!("/product-service/product/{}", set.join(","))).await;
    assert_eq!(status, 200, "{body}");
    let mut found = body["response"].as_array().unwrap().clone();
    found.sort_by_key(|p| p["id"].as_u64());
    found
}

#[tokio::test]
async fn the_simulator_renders_bundles_and_gives_them_no_stock_of_their_own() {
    let sims = Sims::start().await;
    sims.brightpearl.seed_demo(3);
    let part_a = add(&sims, json!({"sku": "PART-A"})).await;
    let part_b = add(&sims, json!({"sku": "PART-B", "stockTracked": false})).await;
    // Both spellings of the admin body: the wire's components, [id, quantity] pairs, snake_case.
    let kit = add(
        &sims,
        json!({"sku": "KIT-1", "stockTracked": true,
               "bundleComponents": [{"productId": part_a, "productQuantity": 2}, [part_b, 1]]}),
    )
    .await;
    let kit_2 = add(
        &sims,
        json!({"sku": "KIT-2", "bundle_components": [[part_a, 3]]}),
    )
    .await;
    let kit_3 = sims.brightpearl.add_product(NewProduct {
        sku: "KIT-3".into(),
        bundle_components: vec![(part_a as u32, 1), (part_b as u32, 4)],
        ..NewProduct::default()
    });

    let rendered = products(&sims, &[part_a, part_b, kit, kit_2, u64::from(kit_3)]).await;
    let summary: Vec<(Value, Value)> = rendered
        .iter()
        .map(|p| (p["stock"]["stockTracked"].clone(), p["composition"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(true), json!({"bundle": false})),
            (json!(false), json!({"bundle": false})),
            // A bundle is never stock-tracked, whatever it was created with (§4.10).
            (
                json!(false),
                json!({"bundle": true, "bundleComponents": [
                    {"productId": part_a, "productQuantity": 2},
                    {"productId": part_b, "productQuantity": 1}]})
            ),
            (
                json!(false),
                json!({"bundle": true, "bundleComponents": [
                    {"productId": part_a, "productQuantity": 3}]})
            ),
            (
                json!(false),
                json!({"bundle": true, "bundleComponents": [
                    {"productId": part_a, "productQuantity": 1},
                    {"productId": part_b, "productQuantity": 4}]})
            ),
        ],
    );

    // Stock is set on components; a bundle refuses it and answers like a product with no rows.
    let (status, _) = admin_post(
        &sims,
        "/_sandbox/stock",
        json!({"productId": part_a, "warehouseId": 1, "onHand": 10}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = admin_post(
        &sims,
        "/_sandbox/stock",
        json!({"productId": kit, "warehouseId": 1, "onHand": 10}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("is a bundle"));
    let (status, body) = bp_get(
        &sims,
        &format!("/warehouse-service/product-availability/{part_a},{kit}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let counts = json!({"inStock": 10, "onHand": 10, "allocated": 0, "inTransit": 0});
    assert_eq!(
        body["response"][part_a.to_string()],
        json!({"total": counts, "warehouses": {"1": counts}})
    );
    let zero = json!({"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 0});
    assert_eq!(
        body["response"][kit.to_string()],
        json!({"total": zero, "warehouses": {}})
    );

    // Bad bundles are refused, naming the component.
    for (components, expected) in [
        (json!([[9999, 1]]), "product 9999 does not exist"),
        (json!([[kit, 1]]), "is itself a bundle"),
        (json!([[part_a, 0]]), "quantity 0"),
    ] {
        let (status, body) = admin_post(
            &sims,
            "/_sandbox/products",
            json!({"sku": "BAD-KIT", "bundleComponents": components}),
        )
        .await;
        assert_eq!(status, 400, "{components}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(expected),
            "{components}: {body}"
        );
    }
}

#[tokio::test]
async fn a_reference_run_stores_stock_tracking_and_bundle_components_for_every_product() {
    let sims = Sims::start().await;
    sims.brightpearl.seed_demo(5);
    let part = sims.brightpearl.add_product(NewProduct {
        sku: "PART-A".into(),
        ..NewProduct::default()
    });
    let untracked = sims.brightpearl.add_product(NewProduct {
        sku: "SERVICE-1".into(),
        stock_tracked: false,
        ..NewProduct::default()
    });
    let kit = sims.brightpearl.add_product(NewProduct {
        sku: "KIT-1".into(),
        bundle_components: vec![(part, 2), (untracked, 1)],
        ..NewProduct::default()
    });
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    wait_for(Duration::from_secs(120), || async {
        let runs = app.json("/v1/runs?flow=reference").await;
        runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] == "succeeded")
            .cloned()
    })
    .await;
    let catalog = app.running().store.read(|tx| tx.catalog()).unwrap();
    assert!(catalog.len() > 3, "{catalog:?}");
    for product in &catalog {
        assert!(
            product.stock_tracked.is_some() && product.bundle_components.is_some(),
            "read by the reference run: {product:?}"
        );
    }
    let of = |id: u32| catalog.iter().find(|p| p.id == id).unwrap();
    assert_eq!(
        (of(part).stock_tracked, of(part).bundle_components.clone()),
        (Some(true), Some(vec![]))
    );
    assert_eq!(
        (
            of(untracked).stock_tracked,
            of(untracked).bundle_components.clone()
        ),
        (Some(false), Some(vec![]))
    );
    assert_eq!(
        (of(kit).stock_tracked, of(kit).bundle_components.clone()),
        (
            Some(false),
            Some(vec![
                BundleComponent {
                    product_id: part,
                    quantity: 2
                },
                BundleComponent {
                    product_id: untracked,
                    quantity: 1
                },
            ])
        )
    );
    // The catalog route shows the same.
    let page = app.json("/v1/brightpearl/products?sku=KIT-1").await;
    assert_eq!(
        page["items"][0]["bundle_components"],
        json!([{"product_id": part, "quantity": 2}, {"product_id": untracked, "quantity": 1}]),
        "{page}"
    );
    app.stop().await;
}
