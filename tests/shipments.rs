//! The shipments flow against both simulators over real HTTP: goods-out notes of imported orders
//! become DSCO packages, partial notes several packages, each confirmed by DSCO's change log;
//! every pre-flight failure and a DSCO rejection need attention with their reasons.

use serde_json::{Value, json};

use crate::support::world::{RETAILER, World};

const WAREHOUSES: &str = "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n";
/// Method 2 sends a code DSCO does not know (its change log rejects it); 3 is unmapped; 4 sends
/// an order-only code (stored before the setting flags it is not possible: it is uploaded as
/// `orders` and checked by the builder through a `both` row on method 5 below).
const METHODS: &str = "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\n\
    both,UPCG,UPS,Ground,1\nshipments,ZZZZ,Acme,Teleport,2\n";

pub(crate) async fn world(settings: Value) -> World {
    mapped(World::new(settings).await).await
}

/// The warehouse and shipping-method mappings every shipments test uses.
pub(crate) async fn mapped(w: World) -> World {
    w.upload("warehouses", WAREHOUSES).await;
    w.upload("shipping-methods", METHODS).await;
    w
}

/// Import one DSCO order with `lines` and return (DSCO id, Brightpearl id, row ids in line order).
pub(crate) async fn imported(w: &World, po: &str, lines: Value) -> (String, u32, Vec<u32>) {
    let id = w.order(RETAILER, po, lines, json!({}));
    w.run().await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "acknowledged", "{view}");
    let bp = view["bp_order_id"].as_u64().unwrap() as u32;
    let order = w.sims.brightpearl.order(bp).unwrap();
    let mut rows: Vec<(String, u32)> = order["orderRows"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["productId"].as_u64().is_some())
        .map(|(id, r)| {
            (
                r["externalRef"].as_str().unwrap_or_default().to_owned(),
                id.parse().unwrap(),
            )
        })
        .collect();
    rows.sort();
    (id, bp, rows.into_iter().map(|(_, id)| id).collect())
}

/// Another tool ships one unit of line 1 through DSCO's single-shipment endpoint.
async fn ship_elsewhere(w: &World, id: &str, tracking: &str, sku: &str) {
    let http = reqwest::Client::new();
    let config = w.sims.dsco.config();
    let token: Value = http
        .post(format!("{}/oauth2/token", w.sims.dsco_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .post(format!("{}/order/singleShipment", w.sims.dsco_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(
            &json!({"dscoOrderId": id, "shipments": [{"trackingNumber": tracking,
            "shippingServiceLevelCode": "UPCG",
            "lineItems": [{"lineNumber": 1, "sku": sku, "quantity": 1}]}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

pub(crate) fn packages(w: &World, id: &str) -> Vec<Value> {
    w.dsco_order(id)["packages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn partial_notes_become_packages_confirmed_by_the_change_log_and_the_order_ships() {
    let w = world(json!({})).await;
    let (id, bp, rows) = imported(
        &w,
        "PO-S1",
        json!([{"sku": "SKU-0101", "quantity": 3}, {"sku": "SKU-0102", "quantity": 1}]),
    )
    .await;
    // Three partial notes; the first has no tracking yet (moment `created`).
    let n1 = w
        .sims
        .brightpearl
        .create_goods_out_note(bp, &[(rows[0], 1)])
        .unwrap();
    let n2 = w
        .sims
        .brightpearl
        .create_goods_out_note(bp, &[(rows[0], 1), (rows[1], 1)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(n2, Some("1ZS1-B"), None)
        .unwrap();
    w.run_flow("shipments").await;
    let r1 = w.record_of("shipments", "shipment", &n1.to_string()).await;
    assert_eq!(r1["status"], "pending", "{r1}");
    assert_eq!(
        r1["reason"],
        format!("no tracking number yet on goods-out note {n1}")
    );
    let r2 = w.record_of("shipments", "shipment", &n2.to_string()).await;
    assert_eq!(r2["status"], "synced", "{r2}");
    assert_eq!(r2["related"]["tracking"], "1ZS1-B");
    assert!(r2["related"]["dsco_request_id"].is_string(), "{r2}");
    assert_eq!(w.view(&id).await["state"], "partially_shipped");
    // Tracking arrives later on the first note; a third note ships the rest.
    w.sims
        .brightpearl
        .ship_goods_out_note(n1, Some("1ZS1-A"), None)
        .unwrap();
    let n3 = w
        .sims
        .brightpearl
        .create_goods_out_note(bp, &[(rows[0], 1)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(n3, Some("1ZS1-C"), None)
        .unwrap();
    w.run_flow("shipments").await;
    // A run with nothing new sends nothing again.
    w.run_flow("shipments").await;
    let got = packages(&w, &id);
    let mut tracking: Vec<&str> = got
        .iter()
        .map(|p| p["trackingNumber"].as_str().unwrap())
        .collect();
    tracking.sort();
    assert_eq!(tracking, vec!["1ZS1-A", "1ZS1-B", "1ZS1-C"], "{got:?}");
    let b = got
        .iter()
        .find(|p| p["trackingNumber"] == "1ZS1-B")
        .unwrap();
    let lines: Vec<(u64, u64)> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["lineNumber"].as_u64().unwrap(),
                i["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, vec![(1, 1), (2, 1)]);
    assert_eq!(b["shipCarrier"], "UPS");
    assert_eq!(b["shippingServiceLevelCode"], "UPCG");
    assert_eq!(b["warehouseCode"], "WH-MAIN");
    let view = w.view(&id).await;
    assert_eq!(view["state"], "shipped", "{view}");
    let shipments = view["shipments"].as_array().unwrap();
    assert_eq!(shipments.len(), 3, "{view}");
    assert!(shipments.iter().all(|s| s["state"] == "synced"), "{view}");
    let s2 = shipments
        .iter()
        .find(|s| s["goods_out_note_id"] == n2)
        .unwrap();
    assert_eq!(s2["tracking"], "1ZS1-B");
    assert_eq!(s2["warehouse_code"], "WH-MAIN");
    assert_eq!(s2["lines"][1]["sku"], "SKU-0102");
    assert!(s2["dsco_request_id"].is_string());
}

#[tokio::test]
async fn pre_flight_failures_and_a_dsco_rejection_need_attention_with_their_reasons() {
    let w = world(json!({})).await;
    let (a, bp_a, rows_a) =
        imported(&w, "PO-S2", json!([{"sku": "SKU-0103", "quantity": 1}])).await;
    let (b, bp_b, rows_b) =
        imported(&w, "PO-S3", json!([{"sku": "SKU-0104", "quantity": 1}])).await;
    let (c, bp_c, rows_c) =
        imported(&w, "PO-S4", json!([{"sku": "SKU-0105", "quantity": 2}])).await;
    // A: its method sends a code DSCO does not know: the change log rejects it.
    let na = w
        .sims
        .brightpearl
        .create_goods_out_note(bp_a, &[(rows_a[0], 1)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(na, Some("1ZS2"), Some(2))
        .unwrap();
    // B: its method has no mapping.
    let nb = w
        .sims
        .brightpearl
        .create_goods_out_note(bp_b, &[(rows_b[0], 1)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(nb, Some("1ZS3"), Some(3))
        .unwrap();
    // C: shipped elsewhere first, so more than is unshipped remains on the note.
    let nc = w
        .sims
        .brightpearl
        .create_goods_out_note(bp_c, &[(rows_c[0], 2)])
        .unwrap();
    ship_elsewhere(&w, &c, "OTHER-TOOL", "SKU-0105").await;
    w.sims
        .brightpearl
        .ship_goods_out_note(nc, Some("1ZS4"), None)
        .unwrap();
    w.run_flow("shipments").await;
    let ra = w.record_of("shipments", "shipment", &na.to_string()).await;
    assert_eq!(ra["status"], "needs_attention", "{ra}");
    let reason = ra["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("DSCO rejected the shipment:") && reason.contains("ZZZZ"),
        "{ra}"
    );
    assert!(ra["error_code"].is_string(), "{ra}");
    let rb = w.record_of("shipments", "shipment", &nb.to_string()).await;
    assert_eq!(rb["status"], "needs_attention");
    assert!(
        rb["reason"]
            .as_str()
            .unwrap()
            .contains("no shipping-method mapping"),
        "{rb}"
    );
    let rc = w.record_of("shipments", "shipment", &nc.to_string()).await;
    assert_eq!(rc["status"], "needs_attention");
    assert!(
        rc["reason"]
            .as_str()
            .unwrap()
            .contains("but only 1 are unshipped"),
        "{rc}"
    );
    assert!(packages(&w, &a).is_empty() && packages(&w, &b).is_empty());
    let view = w.view(&b).await;
    assert_eq!(view["state"], "needs_attention", "{view}");
    assert!(
        view["reason"].as_str().unwrap().contains("shipment:"),
        "{view}"
    );
}

/// Delete a goods-out note through Brightpearl's API, as a warehouse user would.
pub(crate) async fn delete_note(w: &World, order: u32, note: u32) {
    let config = w.sims.brightpearl.config();
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/public-api/{}/warehouse-service/order/{order}/goods-note/goods-out/{note}",
            w.sims.brightpearl_url(),
            config.account
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_note_deleted_before_it_was_sent_sends_nothing() {
    let w = world(json!({})).await;
    let (id, bp, rows) = imported(&w, "PO-S5", json!([{"sku": "SKU-0106", "quantity": 1}])).await;
    let note = w
        .sims
        .brightpearl
        .create_goods_out_note(bp, &[(rows[0], 1)])
        .unwrap();
    w.run_flow("shipments").await;
    assert_eq!(
        w.record_of("shipments", "shipment", &note.to_string())
            .await["status"],
        "pending"
    );
    delete_note(&w, bp, note).await;
    w.run_flow("shipments").await;
    let r = w
        .record_of("shipments", "shipment", &note.to_string())
        .await;
    assert_eq!(r["status"], "skipped", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("deleted in Brightpearl before it was sent")
    );
    assert!(packages(&w, &id).is_empty());
    assert_eq!(w.view(&id).await["state"], "acknowledged");
}

#[tokio::test]
async fn the_status_trigger_ships_each_note_and_an_order_without_one_only_when_untracked_is_allowed()
 {
    let w = world(json!({"shipments": {"trigger": "order_status", "order_status_id": 6}})).await;
    let (a, bp_a, rows_a) =
        imported(&w, "PO-S6", json!([{"sku": "SKU-0107", "quantity": 2}])).await;
    let (b, bp_b, _) = imported(&w, "PO-S7", json!([{"sku": "SKU-0108", "quantity": 1}])).await;
    let note = w
        .sims
        .brightpearl
        .create_goods_out_note(bp_a, &[(rows_a[0], 2)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(note, Some("1ZS6"), None)
        .unwrap();
    // Not at the ship status yet: nothing goes.
    w.run_flow("shipments").await;
    assert!(packages(&w, &a).is_empty());
    w.sims.brightpearl.set_order_status(bp_a, 6).unwrap();
    w.sims.brightpearl.set_order_status(bp_b, 6).unwrap();
    w.run_flow("shipments").await;
    let got = packages(&w, &a);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["trackingNumber"], "1ZS6");
    assert_eq!(w.view(&a).await["state"], "shipped");
    let source = format!("order:{bp_b}");
    let r = w.record_of("shipments", "shipment", &source).await;
    assert_eq!(r["status"], "pending", "{r}");
    assert_eq!(
        r["reason"],
        format!(
            "order {bp_b} reached the ship status but has no goods-out note with a tracking number"
        )
    );
    w.patch_settings(json!({"shipments": {"allow_untracked": true}}))
        .await;
    w.run_flow("shipments").await;
    let got = packages(&w, &b);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["untracked"], true);
    assert_eq!(
        w.record_of("shipments", "shipment", &source).await["status"],
        "synced"
    );
    assert_eq!(w.view(&b).await["state"], "shipped");
}

fn fault_on_shipments(
    kind: dsco_brightpearl::sandbox::common::FaultKind,
) -> dsco_brightpearl::sandbox::common::FaultRule {
    dsco_brightpearl::sandbox::common::FaultRule {
        method: Some("POST".into()),
        path_contains: "/order/shipment/batch/small".into(),
        query_contains: None,
        kind,
        mode: dsco_brightpearl::sandbox::common::FaultMode::Next(1),
    }
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_the_change_log_and_a_lost_request_is_sent_again_only_after_two_empty_searches()
 {
    use dsco_brightpearl::sandbox::common::FaultKind;
    use std::time::Duration;
    let w = world(json!({})).await;
    let (a, bp_a, rows_a) =
        imported(&w, "PO-S8", json!([{"sku": "SKU-0109", "quantity": 1}])).await;
    let (b, bp_b, rows_b) =
        imported(&w, "PO-S9", json!([{"sku": "SKU-0110", "quantity": 1}])).await;
    // A: DSCO takes the batch but the answer is slower than the 2 s timeout.
    let na = w
        .sims
        .brightpearl
        .create_goods_out_note(bp_a, &[(rows_a[0], 1)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(na, Some("1ZS8"), None)
        .unwrap();
    w.sims
        .dsco
        .faults()
        .add(fault_on_shipments(FaultKind::Slow { ms: 2_500 }));
    w.run_flow("shipments").await;
    let r = w.record_of("shipments", "shipment", &na.to_string()).await;
    assert_eq!(r["status"], "failed", "{r}");
    w.advance(Duration::from_secs(10));
    w.run_flow("shipments").await;
    let r = w.record_of("shipments", "shipment", &na.to_string()).await;
    assert_eq!(
        r["status"],
        "synced",
        "settled by the change log: {r}\nDSCO: {}",
        w.sims.dsco.dump_state()
    );
    assert_eq!(packages(&w, &a).len(), 1);
    // B: the batch never reaches DSCO (500 before handling it).
    let nb = w
        .sims
        .brightpearl
        .create_goods_out_note(bp_b, &[(rows_b[0], 1)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(nb, Some("1ZS9"), None)
        .unwrap();
    w.sims
        .dsco
        .faults()
        .add(fault_on_shipments(FaultKind::ServerError));
    w.run_flow("shipments").await;
    let submits = || {
        w.sims
            .dsco
            .requests()
            .count("POST", "/order/shipment/batch/small")
    };
    let before = submits();
    // An empty search right after proves nothing: nothing is sent again within the grace.
    for _ in 0..2 {
        w.advance(Duration::from_secs(10));
        w.run_flow("shipments").await;
        let r = w.record_of("shipments", "shipment", &nb.to_string()).await;
        assert_ne!(r["status"], "synced", "{r}");
        assert_eq!(submits(), before, "re-sent before the settle grace: {r}");
    }
    assert!(packages(&w, &b).is_empty());
    // After `[dsco] settle_grace` (15 minutes) the second empty search lets it go again.
    w.advance(Duration::from_secs(15 * 60));
    let mut runs = 0;
    while w.record_of("shipments", "shipment", &nb.to_string()).await["status"] != "synced" {
        runs += 1;
        assert!(runs <= 3, "not synced within 3 runs after the grace");
        w.advance(Duration::from_secs(10));
        w.run_flow("shipments").await;
    }
    assert_eq!(packages(&w, &b).len(), 1);
    assert_eq!(packages(&w, &a).len(), 1);
}

/// DSCO's `shippedQuantity`/`remainingQuantity` are OrderStream fields in Rithum's OpenAPI: with
/// the simulator leaving them out, what is unshipped still comes from `packages[]`.
#[tokio::test]
async fn without_the_stream_quantities_unshipped_units_come_from_the_packages() {
    let w = world(json!({})).await;
    w.sims.dsco.hide_stream_quantities(true);
    let (id, bp, rows) = imported(&w, "PO-S9", json!([{"sku": "SKU-0107", "quantity": 3}])).await;
    // Another tool ships one unit on DSCO; a note for all three is one too many.
    ship_elsewhere(&w, &id, "OTHER-TOOL-9", "SKU-0107").await;
    let first = w
        .sims
        .brightpearl
        .create_goods_out_note(bp, &[(rows[0], 3)])
        .unwrap();
    w.sims
        .brightpearl
        .ship_goods_out_note(first, Some("1ZS9-A"), None)
        .unwrap();
    w.run_flow("shipments").await;
    let r = w
        .record_of("shipments", "shipment", &first.to_string())
        .await;
    assert_eq!(r["status"], "needs_attention", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("ships 3 of DSCO line 1 but only 2 are unshipped"),
        "{r}"
    );
    assert_eq!(packages(&w, &id).len(), 1);
}
