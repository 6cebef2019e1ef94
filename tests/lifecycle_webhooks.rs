//! Invoices and supplier cancels on the webhook path: Brightpearl's `order.modified` and
//! `order.modified.order-status` deliveries (each made twice, and replayed out of order) queue
//! runs that send each invoice and each cancel exactly once, with no run started by the test.

use std::time::Duration;

use serde_json::{Value, json};

use crate::invoices::invoices_of;
use crate::shipments::{imported, mapped};
use crate::support::hooks::{deliver_ok, inbox};
use crate::support::wait_for;
use crate::support::world::World;
use dsco_brightpearl::flow_name::FlowName;

const DEADLINE: Duration = Duration::from_secs(30);

async fn record_reaches(w: &World, flow: &str, kind: &str, source: &str, status: &str) -> Value {
    wait_for(DEADLINE, || async {
        let r = w.record_of(flow, kind, source).await;
        (r["status"] == status).then_some(r)
    })
    .await
}

fn count(w: &World, path: &str) -> usize {
    w.sims.dsco.requests().count("POST", path)
}

#[tokio::test]
async fn order_webhooks_invoice_and_cancel_once_whatever_their_number_or_order() {
    let w = mapped(
        World::with_public_flows(
            json!({"cancellations": {"brightpearl_cancel_status_id": 5}}),
            &["shipments", "invoices", "cancellations"],
        )
        .await,
    )
    .await;
    wait_for(DEADLINE, || async {
        let view = w.app.json("/v1/brightpearl/webhooks").await;
        let events: Vec<String> = view["webhooks"]
            .as_array()
            .map(|hooks| {
                hooks
                    .iter()
                    .filter_map(|h| h["subscribe_to"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        (events.iter().any(|e| e == "order.modified")
            && events.iter().any(|e| e == "order.modified.order-status"))
        .then_some(())
    })
    .await;
    let (a, bp_a, rows) = imported(&w, "PO-LW1", json!([{"sku": "SKU-0171", "quantity": 1}])).await;
    let (b, bp_b, _) = imported(&w, "PO-LW2", json!([{"sku": "SKU-0172", "quantity": 2}])).await;
    w.sims.brightpearl.set_webhook_duplicate_delivery(true);
    // Order A ships (its note's webhooks ship it), then is invoiced: `order.modified` invoices it.
    let note = w.new_note(bp_a, &[(rows[0], 1)]);
    w.ship_note(note, Some("1ZLW1"), None);
    record_reaches(&w, "shipments", "shipment", &note.to_string(), "synced").await;
    let reference = w.sims.brightpearl.invoice_order(bp_a).unwrap();
    record_reaches(&w, "invoices", "invoice", &reference, "synced").await;
    // Order B goes to the cancel status: `order.modified.order-status` cancels it.
    w.sims.brightpearl.set_order_status(bp_b, 5).unwrap();
    record_reaches(
        &w,
        "cancellations",
        "supplier_cancel",
        &format!("{b}:1"),
        "synced",
    )
    .await;
    // Replays, out of order and as one ID set, send nothing more.
    let set = format!("{bp_b},{bp_a}");
    for event in [
        "order.modified.order-status",
        "order.modified",
        "order.modified",
    ] {
        deliver_ok(&w.app, event, &set).await;
    }
    wait_for(DEADLINE, || async {
        (inbox(&w.app, FlowName::Invoices).is_empty()
            && inbox(&w.app, FlowName::Cancellations).is_empty())
        .then_some(())
    })
    .await;
    w.idle_flow("invoices").await;
    w.idle_flow("cancellations").await;
    assert_eq!(invoices_of(&w, &a).len(), 1);
    assert_eq!(count(&w, "invoice/batch/small"), 1);
    assert_eq!(count(&w, "order/item/cancel/batch/small"), 1);
    assert_eq!(w.dsco_order(&b)["lineItems"][0]["cancelledQuantity"], 2);
    let runs = w.app.json("/v1/runs?flow=invoices").await;
    assert!(
        runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["trigger"] != "manual"),
        "{runs}"
    );
    assert_eq!(w.view(&a).await["state"], "invoiced");
    assert_eq!(w.view(&b).await["state"], "cancelled");
}
