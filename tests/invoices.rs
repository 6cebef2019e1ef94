//! The invoices flow against both simulators over real HTTP: an order invoiced in Brightpearl
//! (by its invoice reference, never its status name) becomes one DSCO invoice per order or per
//! shipment, confirmed by DSCO's invoice log; pre-flight failures and DSCO's rejections need
//! attention with their reasons, and nothing is sent twice.

use serde_json::{Value, json};

use crate::shipments::{imported, world};
use crate::support::world::World;

/// An order of `lines` imported, then shipped in one note per row (tracking `1Z{po}-{i}`) and
/// confirmed on DSCO: (DSCO id, Brightpearl id, rows).
pub(crate) async fn shipped(w: &World, po: &str, lines: Value) -> (String, u32, Vec<u32>) {
    let (id, bp, rows) = imported(w, po, lines.clone()).await;
    for (i, row) in rows.iter().enumerate() {
        let quantity = lines[i]["quantity"].as_u64().unwrap() as u32;
        let note = w.new_note(bp, &[(*row, quantity)]);
        w.ship_note(note, Some(&format!("1Z{po}-{i}")), None);
    }
    w.run_flow("shipments").await;
    assert_eq!(w.view(&id).await["state"], "shipped");
    (id, bp, rows)
}

pub(crate) fn invoices_of(w: &World, id: &str) -> Vec<Value> {
    w.sims
        .dsco
        .invoices()
        .into_iter()
        .filter(|i| i["dscoOrderId"].as_str() == Some(id))
        .collect()
}

fn money(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

#[tokio::test]
async fn an_invoiced_order_becomes_one_dsco_invoice_confirmed_by_the_log() {
    let w = world(json!({})).await;
    let (id, bp, _) = shipped(
        &w,
        "PO-I1",
        json!([{"sku": "SKU-0101", "quantity": 3}, {"sku": "SKU-0102", "quantity": 1}]),
    )
    .await;
    // Not invoiced yet: nothing is sent.
    w.run_flow("invoices").await;
    assert!(invoices_of(&w, &id).is_empty());
    let reference = w.sims.brightpearl.invoice_order(bp).unwrap();
    w.run_flow("invoices").await;
    let record = w.record_of("invoices", "invoice", &reference).await;
    assert_eq!(record["status"], "synced", "{record}");
    assert!(record["related"]["dsco_request_id"].is_string(), "{record}");
    let got = invoices_of(&w, &id);
    assert_eq!(got.len(), 1, "{got:?}");
    let invoice = &got[0];
    assert_eq!(invoice["invoiceId"], reference.as_str());
    let order = w.sims.brightpearl.order(bp).unwrap();
    assert_eq!(
        invoice["invoiceDate"], order["invoices"][0]["taxDate"],
        "the tax date with its own offset"
    );
    assert_eq!(invoice["poNumber"], "PO-I1");
    let lines = invoice["lineItems"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{invoice}");
    assert_eq!(lines[0]["lineNumber"], 1);
    assert_eq!(lines[0]["sku"], "SKU-0101");
    assert_eq!(lines[0]["quantity"], 3);
    assert_eq!(lines[0]["trackingNumber"], "1ZPO-I1-0");
    assert_eq!(lines[1]["trackingNumber"], "1ZPO-I1-1");
    let subtotal: f64 = lines.iter().map(|l| money(&l["extendedAmount"])).sum();
    assert!((subtotal - money(&invoice["lineItemsSubtotal"])).abs() < 0.001);
    let total = money(&order["totalValue"]["total"]);
    assert!(
        (money(&invoice["totalAmount"]) - total).abs() <= 0.005 * 4.0 + 0.01,
        "{invoice} vs {}",
        order["totalValue"]
    );
    assert_eq!(
        invoice["ship"]["trackingNumber"], "1ZPO-I1-1",
        "the latest shipment"
    );
    let view = w.view(&id).await;
    assert_eq!(view["state"], "invoiced", "{view}");
    assert_eq!(view["invoices"][0]["invoice_id"], reference.as_str());
    assert_eq!(view["invoices"][0]["policy"], "per_order");
    assert_eq!(view["invoices"][0]["state"], "synced");
    // Later runs, the order changing again and a repeated webhook send nothing more.
    w.sims.brightpearl.set_order_status(bp, 6).unwrap();
    w.run_flow("invoices").await;
    w.run_flow("invoices").await;
    assert_eq!(invoices_of(&w, &id).len(), 1);
    assert_eq!(
        w.sims.dsco.requests().count("POST", "invoice/batch/small"),
        1
    );
}

#[tokio::test]
async fn a_pending_reference_waits_and_a_status_named_invoiced_sends_nothing() {
    let w = world(json!({})).await;
    let (a, bp_a, _) = shipped(&w, "PO-I2", json!([{"sku": "SKU-0103", "quantity": 1}])).await;
    let (b, bp_b, _) = shipped(&w, "PO-I3", json!([{"sku": "SKU-0104", "quantity": 1}])).await;
    w.sims.brightpearl.begin_invoicing(bp_a).unwrap();
    // Status 4 is named "Invoiced"; the order has no invoice reference.
    w.sims.brightpearl.set_order_status(bp_b, 4).unwrap();
    w.run_flow("invoices").await;
    assert!(invoices_of(&w, &a).is_empty(), "a pending reference waits");
    assert!(
        invoices_of(&w, &b).is_empty(),
        "a status name is not an invoice"
    );
    let page = w.app.json("/v1/records?flow=invoices").await;
    assert_eq!(page["items"], json!([]), "{page}");
    w.sims.brightpearl.invoice_order(bp_a).unwrap();
    w.run_flow("invoices").await;
    assert_eq!(invoices_of(&w, &a).len(), 1);
    assert!(invoices_of(&w, &b).is_empty());
}

#[tokio::test]
async fn an_order_invoiced_before_it_ships_waits_for_its_shipment() {
    let w = world(json!({})).await;
    let (id, bp, rows) = imported(&w, "PO-I4", json!([{"sku": "SKU-0105", "quantity": 2}])).await;
    let reference = w.sims.brightpearl.invoice_order(bp).unwrap();
    w.run_flow("invoices").await;
    let record = w.record_of("invoices", "invoice", &reference).await;
    assert_eq!(record["status"], "pending", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("invoices.wait_for_shipment"),
        "{record}"
    );
    // Half shipped: still waiting.
    let note = w.new_note(bp, &[(rows[0], 1)]);
    w.ship_note(note, Some("1ZI4-A"), None);
    w.run_flow("shipments").await;
    w.run_flow("invoices").await;
    assert!(invoices_of(&w, &id).is_empty());
    let note = w.new_note(bp, &[(rows[0], 1)]);
    w.ship_note(note, Some("1ZI4-B"), None);
    w.run_flow("shipments").await;
    w.run_flow("invoices").await;
    let got = invoices_of(&w, &id);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["lineItems"][0]["quantity"], 2);
    // The line names the shipment that shipped it first.
    assert_eq!(got[0]["lineItems"][0]["trackingNumber"], "1ZI4-A");
    assert_eq!(
        w.record_of("invoices", "invoice", &reference).await["status"],
        "synced"
    );
}

#[tokio::test]
async fn per_shipment_one_invoice_per_confirmed_package_freight_on_the_first() {
    let w = world(json!({"invoices": {"policy": "per_shipment"}})).await;
    let (id, bp, rows) = imported(&w, "PO-I5", json!([{"sku": "SKU-0106", "quantity": 3}])).await;
    let n1 = w.new_note(bp, &[(rows[0], 1)]);
    w.ship_note(n1, Some("1ZI5-A"), None);
    let n2 = w.new_note(bp, &[(rows[0], 2)]);
    w.ship_note(n2, Some("1ZI5-B"), None);
    w.run_flow("shipments").await;
    let reference = w.sims.brightpearl.invoice_order(bp).unwrap();
    w.run_flow("invoices").await;
    let mut got = invoices_of(&w, &id);
    got.sort_by_key(|i| i["invoiceId"].as_str().unwrap().to_owned());
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["invoiceId"], format!("{reference}-1"));
    assert_eq!(got[1]["invoiceId"], format!("{reference}-2"));
    assert_eq!(got[0]["lineItems"][0]["quantity"], 1);
    assert_eq!(got[1]["lineItems"][0]["quantity"], 2);
    assert_eq!(got[0]["ship"]["trackingNumber"], "1ZI5-A");
    assert_eq!(got[1]["ship"]["trackingNumber"], "1ZI5-B");
    assert_eq!(
        money(&got[1]["freightAmount"]),
        0.0,
        "freight on the first only"
    );
    let view = w.view(&id).await;
    assert_eq!(view["state"], "invoiced", "{view}");
    assert_eq!(view["invoices"].as_array().unwrap().len(), 2);
    assert_eq!(view["invoices"][0]["policy"], "per_shipment");
    w.run_flow("invoices").await;
    assert_eq!(invoices_of(&w, &id).len(), 2, "nothing sent twice");
}

#[tokio::test]
async fn pre_flight_refusals_are_named_and_nothing_is_sent() {
    let w = world(json!({"invoices": {"wait_for_shipment": false}})).await;
    // A reference already used by another order.
    let (a, bp_a, _) = shipped(&w, "PO-I6", json!([{"sku": "SKU-0107", "quantity": 1}])).await;
    let (b, bp_b, _) = shipped(&w, "PO-I7", json!([{"sku": "SKU-0108", "quantity": 1}])).await;
    w.sims.brightpearl.invoice_order_as(bp_a, "INV-77").unwrap();
    w.run_flow("invoices").await;
    assert_eq!(invoices_of(&w, &a).len(), 1);
    w.sims.brightpearl.invoice_order_as(bp_b, "INV-77").unwrap();
    w.run_flow("invoices").await;
    assert!(invoices_of(&w, &b).is_empty());
    let record = w
        .record_of("invoices", "invoice", &format!("INV-77:{b}"))
        .await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert!(
        record["reason"].as_str().unwrap().contains(&format!(
            "invoice id INV-77 is already used for DSCO order {a}"
        )),
        "{record}"
    );
    assert_eq!(w.view(&b).await["state"], "needs_attention");
    // Two orders given one reference before a run: one invoice, the other refused.
    let (e, bp_e, _) = shipped(&w, "PO-I11", json!([{"sku": "SKU-0112", "quantity": 1}])).await;
    let (f, bp_f, _) = shipped(&w, "PO-I12", json!([{"sku": "SKU-0113", "quantity": 1}])).await;
    w.sims.brightpearl.invoice_order_as(bp_e, "INV-88").unwrap();
    w.sims.brightpearl.invoice_order_as(bp_f, "INV-88").unwrap();
    w.run_flow("invoices").await;
    let sent: Vec<Value> = w
        .sims
        .dsco
        .invoices()
        .into_iter()
        .filter(|i| i["invoiceId"] == "INV-88")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (second, first) = if sent[0]["dscoOrderId"].as_str() == Some(e.as_str()) {
        (&f, &e)
    } else {
        (&e, &f)
    };
    let refused = w
        .record_of("invoices", "invoice", &format!("INV-88:{second}"))
        .await;
    assert_eq!(refused["status"], "needs_attention", "{refused}");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("already used for DSCO order {first}")),
        "{refused}"
    );
    // Invoiced with a unit not shipped (the wait is off): the total differs from Brightpearl's.
    let (c, bp_c, rows) = imported(&w, "PO-I8", json!([{"sku": "SKU-0109", "quantity": 3}])).await;
    let note = w.new_note(bp_c, &[(rows[0], 1)]);
    w.ship_note(note, Some("1ZI8"), None);
    w.run_flow("shipments").await;
    let reference = w.sims.brightpearl.invoice_order(bp_c).unwrap();
    w.run_flow("invoices").await;
    let record = w.record_of("invoices", "invoice", &reference).await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.contains("the invoice total") && reason.contains("differs from the expected"),
        "{reason}"
    );
    assert!(invoices_of(&w, &c).is_empty());
    // A line whose Brightpearl row lost its price (net 0).
    let (d, bp_d, rows) = shipped(&w, "PO-I10", json!([{"sku": "SKU-0111", "quantity": 1}])).await;
    let config = w.sims.brightpearl.config();
    let r = reqwest::Client::new()
        .patch(format!(
            "{}/public-api/{}/order-service/order/{bp_d}/row/{}",
            w.sims.brightpearl_url(),
            config.account,
            rows[0]
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .json(&json!([{"op": "replace", "path": "/rowValue/rowNet/value", "value": 0}]))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let reference = w.sims.brightpearl.invoice_order(bp_d).unwrap();
    w.run_flow("invoices").await;
    let record = w.record_of("invoices", "invoice", &reference).await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert!(
        record["reason"].as_str().unwrap().contains(&format!(
            "DSCO line 1 (Brightpearl row {}) has no price",
            rows[0]
        )),
        "{record}"
    );
    assert!(invoices_of(&w, &d).is_empty());
}

#[tokio::test]
async fn dsco_rejecting_the_invoice_needs_attention_with_its_code() {
    let w = world(json!({})).await;
    let (id, bp, _) = shipped(&w, "PO-I9", json!([{"sku": "SKU-0110", "quantity": 1}])).await;
    let reference = w.sims.brightpearl.invoice_order(bp).unwrap();
    // Another tool already sent an invoice under this id: DSCO's log rejects ours.
    let (status, body) = crate::shipments::dsco_post(
        &w,
        "/invoice",
        json!({"invoiceId": reference, "poNumber": "PO-I9", "totalAmount": 1.0,
               "lineItems": [{"lineNumber": 1, "sku": "SKU-0110", "quantity": 1, "unitPrice": 1.0}]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    w.advance(std::time::Duration::from_secs(5));
    w.run_flow("invoices").await;
    let record = w.record_of("invoices", "invoice", &reference).await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .starts_with("DSCO rejected the invoice: "),
        "{record}"
    );
    assert!(
        record["error_code"].is_string(),
        "DSCO's code is kept: {record}"
    );
    assert_eq!(w.view(&id).await["state"], "needs_attention");
    assert_eq!(w.view(&id).await["invoices"][0]["state"], "needs_attention");
}
