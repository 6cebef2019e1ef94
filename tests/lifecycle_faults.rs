//! Invoices and supplier cancels through transient faults and a crash: 429s, 5xx, timeouts and
//! resets on both sides cost runs, never a person, and nothing reaches DSCO twice; a SIGKILL of
//! the real binary between the submit and DSCO's log confirmation (batch processing held) ends,
//! after a restart and the release, in exactly one invoice and one cancellation on DSCO.

use std::time::Duration;

use serde_json::{Value, json};

use crate::invoices::{invoices_of, shipped};
use crate::shipments::{imported, world};
use crate::shipments_faults::any_fault;
use crate::support::real::Real;
use crate::support::world::World;
use crate::support::{NEVER, wait_for};

const ORDERS: usize = 4;
const FAULTY_RUNS: usize = 4;
const RUNS_AFTER: usize = 3;
/// More than the record backoff's cap and `[dsco] settle_grace`.
const CATCH_UP: Duration = Duration::from_secs(16 * 60);

async fn records(w: &World, flow: &str, status: &str) -> Vec<Value> {
    w.app
        .json(&format!(
            "/v1/records?flow={flow}&status={status}&limit=500"
        ))
        .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn faults_on_both_sides_cost_runs_and_nothing_is_invoiced_or_cancelled_twice() {
    let w = world(json!({"cancellations": {"brightpearl_cancel_status_id": 5}})).await;
    let mut invoiced = Vec::new();
    let mut cancelled = Vec::new();
    for k in 0..ORDERS {
        let (id, bp, _) = shipped(
            &w,
            &format!("PO-LF{k}"),
            json!([{"sku": format!("SKU-018{k}"), "quantity": 1}]),
        )
        .await;
        w.sims.brightpearl.invoice_order(bp).unwrap();
        invoiced.push(id);
        let (id, bp, _) = imported(
            &w,
            &format!("PO-LC{k}"),
            json!([{"sku": format!("SKU-019{k}"), "quantity": 2}]),
        )
        .await;
        w.sims.brightpearl.set_order_status(bp, 5).unwrap();
        cancelled.push(id);
    }
    w.sims.brightpearl.faults().add(any_fault(53));
    w.sims.dsco.faults().add(any_fault(59));
    for _ in 0..FAULTY_RUNS {
        w.try_run_flow("invoices").await;
        w.try_run_flow("cancellations").await;
        w.advance(Duration::from_secs(30));
    }
    let faulted = |log: Vec<dsco_brightpearl::sandbox::common::LoggedRequest>| {
        log.iter().filter(|r| r.fault.is_some()).count()
    };
    assert!(faulted(w.sims.brightpearl.requests().all()) > 0);
    assert!(faulted(w.sims.dsco.requests().all()) > 0);
    w.sims.brightpearl.faults().clear();
    w.sims.dsco.faults().clear();
    w.idle_flow("invoices").await;
    w.idle_flow("cancellations").await;
    let mut runs_after = 0;
    loop {
        let done = records(&w, "invoices", "synced").await.len() == ORDERS
            && records(&w, "cancellations", "synced").await.len() == ORDERS;
        if done {
            break;
        }
        assert!(
            runs_after < RUNS_AFTER,
            "after {RUNS_AFTER} runs without faults: {} {}",
            w.app.json("/v1/records?flow=invoices&limit=500").await,
            w.app.json("/v1/records?flow=cancellations&limit=500").await
        );
        w.advance(CATCH_UP);
        w.run_flow("invoices").await;
        w.run_flow("cancellations").await;
        runs_after += 1;
    }
    assert!(records(&w, "invoices", "needs_attention").await.is_empty());
    assert!(
        records(&w, "cancellations", "needs_attention")
            .await
            .is_empty()
    );
    for id in &invoiced {
        assert_eq!(invoices_of(&w, id).len(), 1, "order {id}: one invoice");
    }
    for id in &cancelled {
        let line = &w.dsco_order(id)["lineItems"][0];
        assert_eq!(
            line["cancelledQuantity"], 2,
            "order {id}: cancelled once: {line}"
        );
    }
}

fn submits(real: &Real, path: &str) -> usize {
    real.sims.dsco.requests().count("POST", path)
}

#[tokio::test]
async fn sigkill_between_submit_and_confirmation_yields_one_invoice_and_one_cancellation() {
    let mut real = Real::start(
        &format!(
            "[schedules]\nshipments = \"{NEVER}\"\ninvoices = \"{NEVER}\"\ncancellations = \"{NEVER}\"\n"
        ),
        &[],
    )
    .await;
    real.ready_to_ship().await;
    real.settings(json!({"cancellations": {"brightpearl_cancel_status_id": 5}}))
        .await;
    let (invoice_order, bp, row) = real.imported("PO-KI", "SKU-0185").await;
    real.shipped_note(bp, row, "1ZKI");
    wait_for(Duration::from_secs(60), || async {
        real.api.run("shipments").await;
        let v = real.api.get(&format!("/v1/orders/{invoice_order}")).await;
        (v["state"] == "shipped").then_some(())
    })
    .await;
    let (cancel_order, bp_cancel, _) = real.imported("PO-KC", "SKU-0186").await;
    let reference = real.sims.brightpearl.invoice_order(bp).unwrap();
    real.sims
        .brightpearl
        .set_order_status(bp_cancel, 5)
        .unwrap();

    // DSCO takes each batch (202) but does not process it; the daemon dies waiting.
    real.sims.dsco.hold_batches(true);
    for (flow, path) in [
        ("invoices", "invoice/batch/small"),
        ("cancellations", "order/item/cancel/batch/small"),
    ] {
        real.api.start_run(flow).await;
        wait_for(Duration::from_secs(30), || async {
            (submits(&real, path) == 1).then_some(())
        })
        .await;
        real.daemon.signal("KILL");
        real.daemon.wait_exit().await;
        real.restart(&[]).await;
        // Still held: the restarted daemon settles and sends nothing again.
        real.api.run(flow).await;
        assert_eq!(
            submits(&real, path),
            1,
            "{flow}: nothing sent again while held"
        );
    }
    real.sims.dsco.hold_batches(false);
    wait_for(Duration::from_secs(90), || async {
        real.api.run("invoices").await;
        real.api.run("cancellations").await;
        let i = real.api.record("invoices", &reference).await;
        let c = real
            .api
            .record("cancellations", &format!("{cancel_order}:1"))
            .await;
        (i["status"] == "synced" && c["status"] == "synced").then_some(())
    })
    .await;
    assert_eq!(submits(&real, "invoice/batch/small"), 1);
    assert_eq!(submits(&real, "order/item/cancel/batch/small"), 1);
    let on_dsco: Vec<Value> = real
        .sims
        .dsco
        .invoices()
        .into_iter()
        .filter(|i| i["invoiceId"] == reference.as_str())
        .collect();
    assert_eq!(on_dsco.len(), 1, "{on_dsco:?}");
    let order = real.sims.dsco.order(&cancel_order).unwrap();
    assert_eq!(order["lineItems"][0]["cancelledQuantity"], 1);
}
