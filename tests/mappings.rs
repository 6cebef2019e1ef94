//! Settings, mappings, DSCO lists, Brightpearl lists and the items/retailers views, over real
//! HTTP against an in-process daemon, plus the `mappings` and `settings` CLI against the real
//! binary. Reference data and the catalog are seeded through the store's typed methods.

use std::collections::BTreeMap;

use chrono::Utc;
use dsco_brightpearl::reference::{
    CatalogProduct, DscoItem, NamedId, PriceList, ReferenceData, TaxCode,
};
use dsco_brightpearl::store::Store;
use serde_json::{Value, json};

use crate::support::{self, Daemon, TOKEN, TestApp};

fn named(id: u32, name: &str) -> NamedId {
    NamedId {
        id,
        name: name.into(),
    }
}

fn reference() -> ReferenceData {
    ReferenceData {
        warehouses: vec![named(2, "Main"), named(3, "East"), named(4, "West")],
        shipping_methods: vec![named(7, "Ground"), named(8, "Express")],
        order_statuses: vec![named(1, "New"), named(5, "Shipped"), named(9, "Cancelled")],
        channels: vec![named(3, "DSCO")],
        price_lists: vec![PriceList {
            id: 4,
            name: "Cost".into(),
            code: "COST".into(),
            currency: "USD".into(),
        }],
        tax_codes: vec![TaxCode {
            id: 1,
            code: "T20".into(),
            rate: "20.0".into(),
        }],
        ..ReferenceData::empty(Utc::now())
    }
}

fn product(id: u32, sku: &str) -> CatalogProduct {
    CatalogProduct {
        id,
        name: format!("Product {id}"),
        sku: Some(sku.into()),
        prices: BTreeMap::from([(4, "5.00".into())]),
        ..Default::default()
    }
}

/// Reference data and a catalog of products 101..=110 (SKU-1..SKU-10).
fn seed(store: &Store) {
    store
        .write(|tx| {
            tx.put_reference_data(&reference())?;
            let catalog: Vec<CatalogProduct> = (1..=10)
                .map(|i| product(100 + i, &format!("SKU-{i}")))
                .collect();
            tx.replace_catalog(&catalog)
        })
        .unwrap();
}

async fn seeded_app() -> TestApp {
    let app = TestApp::start("", vec![]).await;
    seed(&app.running().store);
    app
}

impl TestApp {
    fn put_csv(&self, path: &str, csv: impl Into<String>) -> reqwest::RequestBuilder {
        self.http
            .put(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .header("content-type", "text/csv")
            .body(csv.into())
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
    }

    async fn csv(&self, path: &str) -> String {
        let r = self
            .get(path)
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        r.text().await.unwrap()
    }

    async fn patch_settings(&self, patch: Value) -> (u16, Value) {
        let r = self
            .request(reqwest::Method::PATCH, "/v1/settings")
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

async fn status_and_json(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The `field` of every error detail.
fn fields(body: &Value) -> Vec<String> {
    body["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn settings_are_read_patched_validated_as_a_whole_and_need_reference_data_for_ids() {
    let app = TestApp::start("", vec![]).await;
    let doc = app.json("/v1/settings").await;
    assert_eq!(doc["customers"]["mode"], "per_retailer");
    assert_eq!(doc["orders"]["price_source"], "expected_cost");
    assert_eq!(doc["shipments"]["trigger"], "goods_out_note");
    assert_eq!(doc["orders"]["per_retailer"], json!({}));

    // Values that need no reference data apply before the first retrieval.
    let (status, doc) = app
        .patch_settings(
            json!({"customers": {"mode": "per_consumer"}, "orders": {"currency": "USD"}}),
        )
        .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["customers"]["mode"], "per_consumer");
    assert_eq!(doc["customers"]["auto_create"], true);
    // Brightpearl ids do not.
    let (status, body) = app
        .patch_settings(json!({"orders": {"status_id": 1}}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("reference data not retrieved yet")
    );
    let (status, _) = app
        .patch_settings(json!({"orders": {"per_retailer": {"R1": {"warehouse_id": 2}}}}))
        .await;
    assert_eq!(status, 409);

    seed(&app.running().store);
    // Unknown fields and bad values: every one is named, and nothing is applied.
    let (status, body) = app
        .patch_settings(json!({
            "colour": "blue",
            "orders": {"price_source": "msrp", "status_id": 99, "currency": "usd", "tax_code": "T99",
                       "per_retailer": {"R1": {"channel_id": 42, "shape": 1}}},
            "items": {"dsco_match_field": "gtin", "brightpearl_match_field": "custom:"},
            "inventory": {"safety_buffer": -1},
            "shipments": {"trigger": "order_status"},
            "cancellations": {"dsco_cancelled_status_id": 77}
        }))
        .await;
    assert_eq!(status, 400, "{body}");
    let mut got = fields(&body);
    got.sort();
    assert_eq!(
        got,
        vec![
            "cancellations.dsco_cancelled_status_id",
            "colour",
            "inventory.safety_buffer",
            "items.brightpearl_match_field",
            "items.dsco_match_field",
            "orders.currency",
            "orders.per_retailer.R1.channel_id",
            "orders.per_retailer.R1.shape",
            "orders.price_source",
            "orders.status_id",
            "orders.tax_code",
            "shipments.order_status_id",
        ],
        "{body}"
    );
    // The same value problems without the structural ones.
    let (status, body) = app
        .patch_settings(json!({
            "orders": {"status_id": 99, "currency": "usd", "tax_code": "T99", "channel_id": 3,
                       "per_retailer": {"R1": {"channel_id": 42}}},
            "inventory": {"safety_buffer": -1},
            "shipments": {"trigger": "order_status"},
            "cancellations": {"dsco_cancelled_status_id": 77}
        }))
        .await;
    assert_eq!(status, 400, "{body}");
    let mut got = fields(&body);
    got.sort();
    assert_eq!(
        got,
        vec![
            "cancellations.dsco_cancelled_status_id",
            "inventory.safety_buffer",
            "orders.currency",
            "orders.per_retailer.R1.channel_id",
            "orders.status_id",
            "orders.tax_code",
            "shipments.order_status_id",
        ],
        "{body}"
    );
    assert_eq!(
        app.json("/v1/settings").await["orders"]["channel_id"],
        Value::Null
    );

    // A valid patch of ids applies, and null resets a field.
    let (status, doc) = app
        .patch_settings(json!({
            "orders": {"status_id": 1, "channel_id": 3, "warehouse_id": 2, "price_source": "price_list",
                       "price_list_id": 4, "tax_code": "T20", "shipping_method_id": 7,
                       "import_from": "2026-01-01T00:00:00Z",
                       "per_retailer": {"R1": {"warehouse_id": 3}}},
            "shipments": {"trigger": "order_status", "order_status_id": 5},
            "cancellations": {"dsco_cancelled_status_id": 9},
            "customers": {"mode": null}
        }))
        .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["customers"]["mode"], "per_retailer");
    assert_eq!(
        doc["orders"]["per_retailer"]["R1"],
        json!({"warehouse_id": 3})
    );
    assert_eq!(app.json("/v1/settings").await, doc);
    let stored = app
        .running()
        .store
        .read(dsco_brightpearl::settings::Settings::load)
        .unwrap();
    assert_eq!(stored.orders_for_retailer("R1").warehouse_id, Some(3));
    assert_eq!(stored.orders_for_retailer("R2").warehouse_id, Some(2));

    let (status, _) = status_and_json(
        app.request(reqwest::Method::PATCH, "/v1/settings")
            .header("content-type", "application/json")
            .body("[1]"),
    )
    .await;
    assert_eq!(status, 400);
    app.stop().await;
}

/// Upload `csv` for `kind`, expecting success; the response.
async fn upload(app: &TestApp, kind: &str, mode: &str, csv: &str) -> Value {
    let (status, body) =
        status_and_json(app.put_csv(&format!("/v1/mappings/{kind}?mode={mode}"), csv)).await;
    assert_eq!(status, 200, "{kind}: {body}");
    body
}

#[tokio::test]
async fn each_kind_round_trips_through_csv_and_json_and_by_key() {
    let app = seeded_app().await;
    app.put_csv("/v1/dsco/warehouses", "code,name\nMAIN,Main\nEAST,East\n")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    app.put_csv(
        "/v1/dsco/ship-methods",
        "carrier,method,service_level_code,description\nGeneric,Ground,GCG,Ground\nUSPS,Ground Advantage,USGA,\nFedEx,Home,,\n",
    )
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();

    let kinds: [(&str, &str, &str, Value); 4] = [
        (
            "items",
            "dsco_sku,brightpearl_product_id\nDS-1,101\nDS-2,102\n",
            "ds-1",
            json!({"dsco_sku": "DS-1", "brightpearl_product_id": 101}),
        ),
        (
            "customers",
            "dsco_retailer_id,brightpearl_contact_id\n1001,500\n1002,501\n",
            "1001",
            json!({"dsco_retailer_id": "1001", "brightpearl_contact_id": 500}),
        ),
        (
            "shipping-methods",
            "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\norders,GCG,,,7\nshipments,,FedEx,Home,8\n",
            "orders|GCG||",
            json!({"use": "orders", "dsco_service_level_code": "GCG", "dsco_ship_carrier": "",
                   "dsco_ship_method": "", "brightpearl_shipping_method_id": 7}),
        ),
        (
            "warehouses",
            "brightpearl_warehouse_id,dsco_warehouse_code\n2,MAIN\n3,MAIN\n",
            "2",
            json!({"brightpearl_warehouse_id": 2, "dsco_warehouse_code": "MAIN"}),
        ),
    ];
    for (kind, csv, key, first) in kinds {
        let result = upload(&app, kind, "merge", csv).await;
        assert_eq!(result["created"], 2, "{kind}: {result}");
        assert_eq!(result["rows"], 2);
        let page = app.json(&format!("/v1/mappings/{kind}")).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2, "{kind}");
        assert!(
            page["items"].as_array().unwrap().contains(&first),
            "{kind}: {page}"
        );
        // Download as CSV (both ways of asking), upload it back: nothing changes.
        let downloaded = app.csv(&format!("/v1/mappings/{kind}")).await;
        let by_query = app
            .get(&format!("/v1/mappings/{kind}?format=csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(by_query.text().await.unwrap(), downloaded);
        assert!(
            downloaded.starts_with(csv.lines().next().unwrap()),
            "{kind}: {downloaded}"
        );
        let again = upload(&app, kind, "replace", &downloaded).await;
        assert_eq!(
            (
                again["created"].as_u64(),
                again["updated"].as_u64(),
                again["removed"].as_u64(),
                again["unchanged"].as_u64()
            ),
            (Some(0), Some(0), Some(0), Some(2)),
            "{kind}: {again}"
        );
        assert_eq!(app.csv(&format!("/v1/mappings/{kind}")).await, downloaded);
        // One mapping by key.
        let path = format!("/v1/mappings/{kind}/{}", key.replace('|', "%7C"));
        assert_eq!(app.json(&path).await, first, "{kind}");
        let (status, _) = status_and_json(app.request(reqwest::Method::DELETE, &path)).await;
        assert_eq!(status, 204, "{kind}");
        let (status, _) = status_and_json(app.get(&path)).await;
        assert_eq!(status, 404, "{kind}");
        let (status, _) = status_and_json(app.request(reqwest::Method::DELETE, &path)).await;
        assert_eq!(status, 404, "{kind}");
        let (status, body) =
            status_and_json(app.request(reqwest::Method::PUT, &path).json(&first)).await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(body, first);
        assert_eq!(app.json(&path).await, first, "{kind}");
    }

    // Single-mapping PUTs take the key from the path and are checked like rows.
    let (status, body) = status_and_json(
        app.request(reqwest::Method::PUT, "/v1/mappings/items/NEW-SKU")
            .json(&json!({"brightpearl_product_id": 103})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dsco_sku"], "NEW-SKU");
    let (status, body) = status_and_json(
        app.request(reqwest::Method::PUT, "/v1/mappings/items/OTHER")
            .json(&json!({"brightpearl_product_id": 999})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown Brightpearl product 999")
    );
    let (status, body) = status_and_json(
        app.request(reqwest::Method::PUT, "/v1/mappings/warehouses/4")
            .json(&json!({"dsco_warehouse_code": "NOWHERE"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown DSCO warehouse code"),
        "{body}"
    );
    // A second Brightpearl method for the same DSCO code (orders) is refused.
    let (status, body) = status_and_json(
        app.request(
            reqwest::Method::PUT,
            "/v1/mappings/shipping-methods/both%7CGCG%7C%7C",
        )
        .json(&json!({"brightpearl_shipping_method_id": 8})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = status_and_json(app.get("/v1/mappings/pallets")).await;
    assert_eq!(status, 404);
    // Paging through JSON.
    let page = app.json("/v1/mappings/items?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = app
        .json(&format!("/v1/mappings/items?limit=10&cursor={cursor}"))
        .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 2);
    assert_eq!(next["next_cursor"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_upload_applies_nothing_and_lists_every_bad_row() {
    let app = seeded_app().await;
    upload(
        &app,
        "items",
        "merge",
        "dsco_sku,brightpearl_product_id\nKEEP,101\n",
    )
    .await;
    let csv = "\u{feff}dsco_sku,brightpearl_product_id\nA,101\nB,999\nC,abc\n,102\nA,103\nD\nE,104,x\nF,105\n";
    let (status, body) = status_and_json(app.put_csv("/v1/mappings/items?mode=replace", csv)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        fields(&body),
        vec!["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"],
        "{body}"
    );
    let messages: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].contains("unknown Brightpearl product 999"));
    assert!(messages[1].contains("not a positive integer"));
    assert!(messages[2].contains("dsco_sku is empty"));
    assert!(messages[3].contains("duplicate key") && messages[3].contains("line 2"));
    assert!(messages[4].contains("missing column"));
    assert!(messages[5].contains("3 fields"));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("nothing was applied")
    );
    // Nothing applied: the replace did not remove KEEP, and A/F are absent.
    let page = app.json("/v1/mappings/items").await;
    assert_eq!(
        page["items"],
        json!([{"dsco_sku": "KEEP", "brightpearl_product_id": 101}])
    );

    let (status, body) =
        status_and_json(app.put_csv("/v1/mappings/items", "sku,product\nA,101\n")).await;
    assert_eq!(status, 400);
    assert_eq!(fields(&body), vec!["line 1"]);
    assert!(
        body["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("wrong header")
    );

    // DSCO codes are checked against DSCO's lists when they are known.
    app.put_csv("/v1/dsco/warehouses", "code,name\nMAIN,Main\n")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(app.put_csv(
        "/v1/mappings/warehouses",
        "brightpearl_warehouse_id,dsco_warehouse_code\n2,MAIN\n3,EAST\n99,MAIN\n2,MAIN\n",
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(fields(&body), vec!["line 3", "line 4", "line 5"], "{body}");
    app.put_csv(
        "/v1/dsco/ship-methods",
        "carrier,method,service_level_code,description\nGeneric,Ground,GCG,\nUPS,Ground,UPCG,\n",
    )
    .send()
    .await
    .unwrap();
    let (status, body) = status_and_json(app.put_csv(
        "/v1/mappings/shipping-methods",
        "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\nshipments,UPCG,,,7\nshipments,XYZ,,,8\norders,XYZ,,,8\nsometimes,UPCG,,,7\nboth,,UPS,,7\nboth,UPCG,,,99\n",
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        fields(&body),
        vec!["line 3", "line 5", "line 6", "line 7"],
        "{body}"
    );
    // An order-only code (shipments.order_only_service_levels) cannot be sent on a package.
    let (status, body) = status_and_json(app.put_csv(
        "/v1/mappings/shipping-methods",
        "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\norders,GCG,,,7\nshipments,GCG,,,8\n",
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(fields(&body), vec!["line 3"], "{body}");
    assert!(
        body.to_string().contains("order_only_service_levels"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn merge_keeps_other_rows_and_replace_removes_them() {
    let app = seeded_app().await;
    upload(
        &app,
        "customers",
        "merge",
        "dsco_retailer_id,brightpearl_contact_id\nR1,1\nR2,2\n",
    )
    .await;
    let merged = upload(
        &app,
        "customers",
        "merge",
        "dsco_retailer_id,brightpearl_contact_id\nR2,20\nR3,3\n",
    )
    .await;
    assert_eq!(
        (merged["created"].as_u64(), merged["updated"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        app.csv("/v1/mappings/customers").await,
        "dsco_retailer_id,brightpearl_contact_id\nR1,1\nR2,20\nR3,3\n"
    );
    // Default mode is merge.
    let r = app
        .put_csv(
            "/v1/mappings/customers",
            "dsco_retailer_id,brightpearl_contact_id\nR4,4\n",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let replaced = upload(
        &app,
        "customers",
        "replace",
        "dsco_retailer_id,brightpearl_contact_id\nR3,3\n",
    )
    .await;
    assert_eq!(replaced["removed"], 3, "{replaced}");
    assert_eq!(
        app.csv("/v1/mappings/customers").await,
        "dsco_retailer_id,brightpearl_contact_id\nR3,3\n"
    );
    let (status, _) =
        status_and_json(app.put_csv("/v1/mappings/customers?mode=sometimes", "x")).await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn uploads_that_check_brightpearl_ids_wait_for_reference_data() {
    let app = TestApp::start("", vec![]).await;
    for (kind, csv) in [
        ("items", "dsco_sku,brightpearl_product_id\nA,1\n"),
        (
            "warehouses",
            "brightpearl_warehouse_id,dsco_warehouse_code\n2,MAIN\n",
        ),
        (
            "shipping-methods",
            "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\norders,GCG,,,7\n",
        ),
    ] {
        let (status, body) =
            status_and_json(app.put_csv(&format!("/v1/mappings/{kind}"), csv)).await;
        assert_eq!(status, 409, "{kind}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("reference data not retrieved yet")
        );
    }
    // Contact ids cannot be checked locally, so customers need no reference data.
    upload(
        &app,
        "customers",
        "merge",
        "dsco_retailer_id,brightpearl_contact_id\nR1,1\n",
    )
    .await;
    let (status, _) = status_and_json(app.get("/v1/brightpearl/warehouses")).await;
    assert_eq!(status, 409);
    app.stop().await;
}

#[tokio::test]
async fn dsco_lists_upload_atomically_and_download_as_csv_or_json() {
    let app = TestApp::start("", vec![]).await;
    let (status, body) = status_and_json(app.put_csv(
        "/v1/dsco/warehouses",
        "code,name\nMAIN,Main\n,Nameless\nmain,Again\n",
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(fields(&body), vec!["line 3", "line 4"]);
    assert_eq!(app.json("/v1/dsco/warehouses").await["items"], json!([]));
    let body = "code,name\nMAIN,Main warehouse\nEAST,East\n";
    let (status, result) = status_and_json(app.put_csv("/v1/dsco/warehouses", body)).await;
    assert_eq!((status, result["rows"].as_u64()), (200, Some(2)));
    assert_eq!(app.csv("/v1/dsco/warehouses").await, body);
    assert_eq!(
        app.json("/v1/dsco/warehouses").await["items"][0]["code"],
        "MAIN"
    );
    // The lead's refresh writes through the same store method.
    app.running()
        .store
        .write(|tx| {
            tx.replace_dsco_warehouses(&[dsco_brightpearl::reference::DscoWarehouse {
                code: "WEST".into(),
                name: "West".into(),
            }])
        })
        .unwrap();
    assert_eq!(
        app.csv("/v1/dsco/warehouses").await,
        "code,name\nWEST,West\n"
    );

    let methods =
        "carrier,method,service_level_code,description\nGeneric,Ground,GCG,Ground\nFedEx,Home,,\n";
    let (status, _) = status_and_json(app.put_csv("/v1/dsco/ship-methods", methods)).await;
    assert_eq!(status, 200);
    assert_eq!(app.csv("/v1/dsco/ship-methods?format=csv").await, methods);
    let (status, _) = status_and_json(
        app.request(reqwest::Method::PUT, "/v1/dsco/ship-methods")
            .json(&json!([])),
    )
    .await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn brightpearl_lists_come_from_reference_data_and_products_page() {
    let app = seeded_app().await;
    for (path, len) in [
        ("warehouses", 3),
        ("shipping-methods", 2),
        ("order-statuses", 3),
        ("channels", 1),
        ("price-lists", 1),
        ("tax-codes", 1),
    ] {
        let page = app.json(&format!("/v1/brightpearl/{path}")).await;
        assert_eq!(page["items"].as_array().unwrap().len(), len, "{path}");
    }
    assert_eq!(
        app.json("/v1/brightpearl/tax-codes").await["items"][0]["rate"],
        "20.0"
    );
    let page = app.json("/v1/brightpearl/products?limit=4").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    assert_eq!(page["next_cursor"], "104");
    let mut seen = 4;
    let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = app
            .json(&format!("/v1/brightpearl/products?limit=4&cursor={c}"))
            .await;
        seen += page["items"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 10);
    let page = app.json("/v1/brightpearl/products?sku=sku-7").await;
    assert_eq!(page["items"][0]["id"], 107);
    assert_eq!(page["items"][0]["prices"]["4"], "5.00");
    app.stop().await;
}

#[tokio::test]
async fn the_items_view_shows_each_match_state_and_retailers_their_contact() {
    let app = seeded_app().await;
    let store = app.running().store.clone();
    store
        .write(|tx| {
            // Two products share SKU-DUP: an ambiguous automatic match.
            let mut catalog: Vec<CatalogProduct> = (1..=4)
                .map(|i| product(100 + i, &format!("SKU-{i}")))
                .collect();
            catalog.push(product(201, "SKU-DUP"));
            catalog.push(product(202, "sku-dup"));
            tx.replace_catalog(&catalog)?;
            for sku in ["SKU-1", "SKU-DUP", "MANUAL", "NOPE"] {
                tx.note_dsco_item(&DscoItem {
                    sku: sku.into(),
                    upc: None,
                    ean: None,
                    mpn: None,
                    dsco_item_id: Some(format!("id-{sku}")),
                    title: Some(format!("Title {sku}")),
                    seen_at: Utc::now(),
                })?;
            }
            tx.note_retailer("R1", Some("Acme Retail"))?;
            tx.note_retailer("R2", None)
        })
        .unwrap();
    upload(
        &app,
        "items",
        "merge",
        "dsco_sku,brightpearl_product_id\nMANUAL,103\n",
    )
    .await;
    upload(
        &app,
        "customers",
        "merge",
        "dsco_retailer_id,brightpearl_contact_id\nR1,77\n",
    )
    .await;

    let all = app.json("/v1/items").await;
    let items = all["items"].as_array().unwrap();
    let by_sku = |sku: &str| items.iter().find(|i| i["dsco_sku"] == sku).unwrap().clone();
    assert_eq!(by_sku("SKU-1")["state"], "auto");
    assert_eq!(by_sku("SKU-1")["brightpearl_product_id"], 101);
    assert_eq!(by_sku("MANUAL")["state"], "manual");
    assert_eq!(by_sku("MANUAL")["brightpearl_product_id"], 103);
    let ambiguous = by_sku("SKU-DUP");
    assert_eq!(ambiguous["state"], "ambiguous");
    let candidates: Vec<u64> = ambiguous["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(candidates, vec![201, 202]);
    assert_eq!(by_sku("NOPE")["state"], "unmatched");
    assert!(
        by_sku("NOPE")["reason"]
            .as_str()
            .unwrap()
            .contains("no Brightpearl product")
    );
    // Products 102 and 104 were reached by no DSCO item.
    let unmatched = app.json("/v1/items?state=unmatched").await;
    let products: Vec<u64> = unmatched["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"] == "brightpearl")
        .map(|i| i["brightpearl_product_id"].as_u64().unwrap())
        .collect();
    assert_eq!(products, vec![102, 104]);
    assert_eq!(unmatched["items"].as_array().unwrap().len(), 3);
    for state in ["auto", "manual", "ambiguous"] {
        let page = app.json(&format!("/v1/items?state={state}")).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{state}");
    }
    let (status, _) = status_and_json(app.get("/v1/items?state=maybe")).await;
    assert_eq!(status, 400);
    let page = app.json("/v1/items?limit=2").await;
    assert_eq!(page["next_cursor"], "2");

    let retailers = app.json("/v1/retailers").await;
    assert_eq!(retailers["items"][0]["dsco_retailer_id"], "R1");
    assert_eq!(retailers["items"][0]["name"], "Acme Retail");
    assert_eq!(retailers["items"][0]["brightpearl_contact_id"], 77);
    assert_eq!(retailers["items"][1]["brightpearl_contact_id"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn the_cli_imports_exports_and_edits_settings_through_the_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    {
        // Seed before the daemon takes the store.
        let store = Store::open(&state.join("dsco-brightpearl.redb")).unwrap();
        seed(&store);
    }
    let toml = format!(
        "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n",
        state.display()
    );
    let daemon = Daemon::start(dir.path(), &toml, &[]).await;
    let config = dir.path().join("config.toml");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(support::binary())
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let good = dir.path().join("items.csv");
    std::fs::write(&good, "dsco_sku,brightpearl_product_id\nA,101\nB,102\n").unwrap();
    let (code, out, err) = cli(&["mappings", "import", "items", good.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("\"created\": 2"), "{out}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "dsco_sku,brightpearl_product_id\nC,999\nD,x\n").unwrap();
    let (code, _, err) = cli(&[
        "mappings",
        "import",
        "items",
        bad.to_str().unwrap(),
        "--mode",
        "replace",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("line 2") && err.contains("unknown Brightpearl product 999"),
        "{err}"
    );
    assert!(
        err.contains("line 3") && err.contains("not a positive integer"),
        "{err}"
    );

    let exported = dir.path().join("out.csv");
    let (code, _, err) = cli(&["mappings", "export", "items", exported.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        "dsco_sku,brightpearl_product_id\nA,101\nB,102\n"
    );

    let (code, out, err) = cli(&[
        "settings",
        "set",
        r#"{"orders":{"currency":"EUR","status_id":5}}"#,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"EUR\""), "{out}");
    let (code, _, err) = cli(&[
        "settings",
        "set",
        r#"{"orders":{"currency":"euro"},"colour":1}"#,
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("orders.currency") && err.contains("colour"),
        "{err}"
    );
    // `-` reads the patch from stdin.
    let mut child = std::process::Command::new(support::binary())
        .arg("--config")
        .arg(&config)
        .args(["settings", "set", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(br#"{"inventory":{"safety_buffer":3}}"#)
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out, _) = cli(&["settings", "get"]);
    assert_eq!(code, Some(0));
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["orders"]["currency"], "EUR");
    assert_eq!(doc["orders"]["status_id"], 5);
    assert_eq!(doc["inventory"]["safety_buffer"], 3);
    let _ = daemon;
}
