//! The cancellations flow against both simulators over real HTTP: a linked order moved to the
//! cancel status cancels on DSCO what is not shipped yet, with the configured code and the
//! order's latest note, confirmed by DSCO's order log; a fully shipped order needs attention; an
//! order DSCO cancelled itself is never sent back; a retailer's cancel request is answered with
//! `CXSC`.

use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
use serde_json::{Value, json};

use crate::shipments::{imported, world};
use crate::support::world::{RETAILER, World};

/// Brightpearl's cancelled-sales status (refused once an order has a goods-out note).
const CANCELLED: u32 = 5;
/// A status of the supplier's own for cancelling the rest of a partly shipped order.
const CANCEL_REMAINDER: u32 = 9;

fn item_cancels(w: &World) -> usize {
    w.sims
        .dsco
        .requests()
        .count("POST", "order/item/cancel/batch/small")
}

fn line(w: &World, id: &str, n: usize) -> Value {
    w.dsco_order(id)["lineItems"][n].clone()
}

#[tokio::test]
async fn each_code_cancels_every_open_unit_with_the_latest_note() {
    let w = world(json!({"cancellations": {"brightpearl_cancel_status_id": CANCELLED}})).await;
    let codes = [
        "CXSS", "CXSD", "CXSN", "CXSB", "CXSI", "CXST", "CXSC", "CXSO",
    ];
    let mut orders = Vec::new();
    for (i, _) in codes.iter().enumerate() {
        orders.push(
            imported(
                &w,
                &format!("PO-C{i}"),
                json!([{"sku": format!("SKU-015{i}"), "quantity": 2}]),
            )
            .await,
        );
    }
    for (code, (id, bp, _)) in codes.iter().zip(&orders) {
        w.patch_settings(json!({"cancellations": {"cancel_code": code}}))
            .await;
        w.sims
            .brightpearl
            .set_order_status_with_note(*bp, CANCELLED, &format!("Out of stock ({code})"))
            .unwrap();
        w.run_flow("cancellations").await;
        let record = w
            .record_of("cancellations", "supplier_cancel", &format!("{id}:1"))
            .await;
        assert_eq!(record["status"], "synced", "{code}: {record}");
        let l = line(&w, id, 0);
        assert_eq!(l["cancelledQuantity"], 2, "{code}: {l}");
        assert_eq!(l["cancelCode"], *code, "{l}");
        assert_eq!(
            l["cancelledReason"],
            format!("Out of stock ({code})"),
            "the latest note"
        );
        let view = w.view(id).await;
        assert_eq!(view["state"], "cancelled", "{view}");
        assert_eq!(view["cancellations"][0]["who"], "supplier");
        assert_eq!(view["cancellations"][0]["code"], *code);
        assert_eq!(view["cancellations"][0]["lines"][0]["quantity"], 2);
        assert_eq!(view["cancellations"][0]["state"], "synced");
    }
    assert_eq!(item_cancels(&w), codes.len());
    // Later runs and the same status again send nothing more.
    w.run_flow("cancellations").await;
    assert_eq!(item_cancels(&w), codes.len());
}

#[tokio::test]
async fn a_partly_shipped_order_cancels_the_rest_through_its_own_status_and_a_shipped_one_needs_attention()
 {
    let w =
        world(json!({"cancellations": {"brightpearl_cancel_status_id": CANCEL_REMAINDER}})).await;
    let (id, bp, rows) = imported(
        &w,
        "PO-CP",
        json!([{"sku": "SKU-0161", "quantity": 3}, {"sku": "SKU-0162", "quantity": 1}]),
    )
    .await;
    // Line 1: 1 of 3 shipped; line 2 fully shipped.
    let note = w.new_note(bp, &[(rows[0], 1), (rows[1], 1)]);
    w.ship_note(note, Some("1ZCP"), None);
    w.run_flow("shipments").await;
    // Brightpearl refuses its cancelled-sales status now; the supplier's own status works.
    assert!(w.sims.brightpearl.set_order_status(bp, CANCELLED).is_err());
    w.sims
        .brightpearl
        .set_order_status(bp, CANCEL_REMAINDER)
        .unwrap();
    w.run_flow("cancellations").await;
    let record = w
        .record_of("cancellations", "supplier_cancel", &format!("{id}:1"))
        .await;
    assert_eq!(record["status"], "synced", "{record}");
    assert_eq!(
        line(&w, &id, 0)["cancelledQuantity"],
        2,
        "the open units of line 1"
    );
    assert!(
        line(&w, &id, 1)["cancelledQuantity"].as_i64().unwrap_or(0) == 0,
        "a shipped line is never cancelled"
    );
    assert_eq!(w.view(&id).await["state"], "shipped");

    // A fully shipped order at the status: nothing to cancel.
    let (full, bp_full, rows) =
        imported(&w, "PO-CF", json!([{"sku": "SKU-0163", "quantity": 1}])).await;
    let note = w.new_note(bp_full, &[(rows[0], 1)]);
    w.ship_note(note, Some("1ZCF"), None);
    w.run_flow("shipments").await;
    w.sims
        .brightpearl
        .set_order_status(bp_full, CANCEL_REMAINDER)
        .unwrap();
    let before = item_cancels(&w);
    w.run_flow("cancellations").await;
    let record = w
        .record_of("cancellations", "supplier_cancel", &format!("{full}:1"))
        .await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert_eq!(
        record["reason"],
        format!("order {full} is shipped on DSCO; it cannot be cancelled")
    );
    assert_eq!(item_cancels(&w), before);
    w.run_flow("cancellations").await;
    assert_eq!(item_cancels(&w), before, "nothing sent on later runs");
}

#[tokio::test]
async fn an_order_dsco_cancelled_is_never_sent_back_even_under_the_same_status() {
    // Both settings name status 5.
    let w = world(json!({"cancellations": {"brightpearl_cancel_status_id": CANCELLED}})).await;
    let id = w.order(
        RETAILER,
        "PO-CD",
        json!([{"sku": "SKU-0164", "quantity": 1}]),
        json!({}),
    );
    w.sims.dsco.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order/acknowledge".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::ServerError,
        mode: FaultMode::Next(100),
    });
    w.run().await;
    w.sims.dsco.cancel_order(&id).unwrap();
    w.sims.dsco.faults().clear();
    w.retry_all().await;
    w.run().await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "cancelled", "{view}");
    w.run_flow("cancellations").await;
    w.run_flow("cancellations").await;
    assert_eq!(item_cancels(&w), 0, "DSCO's own cancel is not sent back");
    let record = w
        .record_of("cancellations", "supplier_cancel", &format!("{id}:1"))
        .await;
    assert_eq!(record, Value::Null, "{record}");
}

#[tokio::test]
async fn a_retailers_cancel_request_is_answered_with_cxsc_and_closed() {
    let w = world(json!({"cancellations": {"brightpearl_cancel_status_id": CANCELLED}})).await;
    let (id, bp, _) = imported(&w, "PO-CR", json!([{"sku": "SKU-0165", "quantity": 1}])).await;
    w.sims.dsco.request_cancel(&id, "CXRR", &[]).unwrap();
    // The request's `dscoLastUpdate` must be inside the orders window (`until` = now − 10 s).
    w.advance(crate::support::world::WINDOW_LAG);
    w.run().await;
    let listed = w.app.json("/v1/orders?cancel_requested=true").await;
    assert_eq!(listed["items"][0]["dsco_order_id"], id.as_str(), "{listed}");
    w.sims.brightpearl.set_order_status(bp, CANCELLED).unwrap();
    w.run_flow("cancellations").await;
    assert_eq!(line(&w, &id, 0)["cancelCode"], "CXSC");
    let view = w.view(&id).await;
    assert_eq!(view["cancel_request"]["open"], false, "{view}");
    assert_eq!(view["cancel_request"]["answer"], "cancelled");
    let listed = w.app.json("/v1/orders?cancel_requested=true").await;
    assert_eq!(listed["items"], json!([]), "{listed}");
}

/// A call to Brightpearl's API as a person's other tool would make it.
async fn bp_call(w: &World, method: reqwest::Method, path: &str, body: Option<Value>) {
    let config = w.sims.brightpearl.config();
    let mut request = reqwest::Client::new()
        .request(
            method,
            format!(
                "{}/public-api/{}/{path}",
                w.sims.brightpearl_url(),
                config.account
            ),
        )
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn rows_removed_or_reduced_in_brightpearl_are_recorded_and_not_sent() {
    let w =
        world(json!({"cancellations": {"brightpearl_cancel_status_id": CANCEL_REMAINDER}})).await;
    let (id, bp, rows) = imported(
        &w,
        "PO-CRW",
        json!([{"sku": "SKU-0166", "quantity": 3}, {"sku": "SKU-0167", "quantity": 1}]),
    )
    .await;
    // The first look keeps the rows' quantities.
    w.run_flow("cancellations").await;
    bp_call(
        &w,
        reqwest::Method::PATCH,
        &format!("order-service/order/{bp}/row/{}", rows[0]),
        Some(json!([{"op": "replace", "path": "/quantity/magnitude", "value": 2}])),
    )
    .await;
    bp_call(
        &w,
        reqwest::Method::DELETE,
        &format!("order-service/order/{bp}/row/{}", rows[1]),
        None,
    )
    .await;
    w.run_flow("cancellations").await;
    let reduced = w
        .record_of(
            "cancellations",
            "supplier_cancel",
            &format!("{id}:row:{}:2", rows[0]),
        )
        .await;
    assert_eq!(reduced["status"], "skipped", "{reduced}");
    assert!(
        reduced["reason"]
            .as_str()
            .unwrap()
            .contains("was reduced from 3 to 2 units"),
        "{reduced}"
    );
    let removed = w
        .record_of(
            "cancellations",
            "supplier_cancel",
            &format!("{id}:row:{}", rows[1]),
        )
        .await;
    assert_eq!(removed["status"], "skipped", "{removed}");
    assert!(
        removed["reason"].as_str().unwrap().contains("was removed"),
        "{removed}"
    );
    assert_eq!(item_cancels(&w), 0, "nothing is sent to DSCO");
    assert_eq!(
        line(&w, &id, 0)["cancelledQuantity"].as_i64().unwrap_or(0),
        0
    );
    // Seen again: one record per change.
    w.run_flow("cancellations").await;
    let page = w.app.json("/v1/records?flow=cancellations&limit=100").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
}

#[tokio::test]
async fn a_cancel_waiting_on_a_fault_is_dropped_when_the_order_leaves_the_status() {
    let w = world(json!({"cancellations": {"brightpearl_cancel_status_id": CANCELLED}})).await;
    let (id, bp, _) = imported(&w, "PO-CW", json!([{"sku": "SKU-0168", "quantity": 1}])).await;
    w.sims.brightpearl.set_order_status(bp, CANCELLED).unwrap();
    // DSCO's order cannot be read this run: the cancel waits as failed.
    w.sims.dsco.faults().add(FaultRule {
        method: Some("GET".into()),
        path_contains: "/order/".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::ServerError,
        mode: FaultMode::Next(20),
    });
    w.run_flow("cancellations").await;
    w.sims.dsco.faults().clear();
    let record = w
        .record_of("cancellations", "supplier_cancel", &format!("{id}:1"))
        .await;
    assert_eq!(record["status"], "failed", "{record}");
    // The supplier changes their mind: the order goes back to an open status.
    w.sims.brightpearl.set_order_status(bp, 2).unwrap();
    w.advance(std::time::Duration::from_secs(600));
    w.run_flow("cancellations").await;
    let record = w
        .record_of("cancellations", "supplier_cancel", &format!("{id}:1"))
        .await;
    assert_eq!(record["status"], "skipped", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("left the cancel status"),
        "{record}"
    );
    assert_eq!(item_cancels(&w), 0);
    assert_eq!(
        line(&w, &id, 0)["cancelledQuantity"].as_i64().unwrap_or(0),
        0
    );
}
