//! Retailer cancel requests (DSCO `cancelRequested`) against both simulators over real HTTP: the
//! orders poll sees the order again when DSCO bumps it, notes the request once on the Brightpearl
//! order (or moves it to `orders.cancel_request_status_id` with the note), records it as a
//! `cancel_request`, shows it on the order's view and in `GET /v1/orders?cancel_requested=true`,
//! survives an unanswered note call without a second note, and closes when the order ships.

use std::time::Duration;

use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
use serde_json::{Value, json};

use crate::shipments::{imported, world};
use crate::support::world::{OTHER_RETAILER, RETAILER, World};

/// The record backoff's first waits and the note grace (2 s request timeout × 1.25 + 1 s) are
/// both passed, so before each run a failed record is due and an open intent may be settled.
const CATCH_UP: Duration = Duration::from_millis(5 * 60_000 + 3_500);

fn line(sku: &str, quantity: i64) -> Value {
    json!({"sku": sku, "quantity": quantity})
}

/// The notes of Brightpearl order `bp`, as its API answers them.
async fn notes(w: &World, bp: u64) -> Vec<Value> {
    let config = w.sims.brightpearl.config();
    let body: Value = w
        .app
        .http
        .get(format!(
            "{}/public-api/{}/order-service/order/{bp}/note",
            w.sims.brightpearl_url(),
            config.account
        ))
        .header("brightpearl-app-ref", &config.app_ref)
        .header("brightpearl-account-token", &config.account_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["response"].as_array().cloned().unwrap_or_default()
}

/// The notes of `bp` that name the cancel request `source`.
async fn request_notes(w: &World, bp: u64, source: &str) -> Vec<Value> {
    let marker = format!("[cancel request {source}]");
    notes(w, bp)
        .await
        .into_iter()
        .filter(|n| n["text"].as_str().is_some_and(|t| t.contains(&marker)))
        .collect()
}

/// The `cancel_request` record of `source` (`+` sent as `%2B`).
async fn request_record(w: &World, source: &str) -> Value {
    w.record_of("orders", "cancel_request", &source.replace('+', "%2B"))
        .await
}

/// The DSCO ids `GET /v1/orders?cancel_requested=true` lists.
async fn requested(w: &World) -> Vec<String> {
    w.app.json("/v1/orders?cancel_requested=true").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["dsco_order_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Calls to Brightpearl that write notes or statuses on `bp`.
fn note_writes(w: &World, bp: u64) -> usize {
    let note = format!("/order/{bp}/note");
    let status = format!("/order/{bp}/status");
    w.sims
        .brightpearl
        .requests()
        .all()
        .iter()
        .filter(|r| {
            (r.method == "POST" && r.path.ends_with(&note))
                || (r.method == "PUT" && r.path.ends_with(&status))
        })
        .count()
}

/// Import an order of `lines` for `retailer`; its DSCO id and Brightpearl id.
async fn import(w: &World, retailer: &str, po: &str, lines: Value) -> (String, u64) {
    let id = w.order(retailer, po, lines, json!({}));
    w.run().await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "acknowledged", "{view}");
    (id, view["bp_order_id"].as_u64().unwrap())
}

/// The retailer asks DSCO to cancel `lines` of `id` (none: the whole order); the next run's
/// window reaches the bump.
fn request(w: &World, id: &str, code: &str, lines: &[u32]) {
    w.sims.dsco.request_cancel(id, code, lines).unwrap();
    w.created();
}

fn bp_status(w: &World, bp: u64) -> Value {
    w.sims.brightpearl.order(bp as u32).unwrap()["orderStatus"]["orderStatusId"].clone()
}

#[tokio::test]
async fn cancel_request_noted_once_across_repeated_order_pages() {
    let w = World::new(json!({})).await;
    let (id, bp) = import(
        &w,
        RETAILER,
        "PO-CR1",
        json!([line("SKU-0021", 1), line("SKU-0022", 2)]),
    )
    .await;
    let (other, _) = import(&w, RETAILER, "PO-CR2", json!([line("SKU-0023", 1)])).await;
    assert!(requested(&w).await.is_empty());

    request(&w, &id, "CXRR", &[]);
    let dsco = w.dsco_order(&id);
    assert_eq!(dsco["cancelRequested"], true, "{dsco}");
    w.run().await;
    let source = format!("{id}:CXRR:1+2");
    assert_eq!(request_notes(&w, bp, &source).await.len(), 1);
    let note = &request_notes(&w, bp, &source).await[0];
    assert!(
        note["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("The retailer asked DSCO to cancel DSCO order {id} (PO PO-CR1): code CXRR, lines 1, 2 (the whole order).")),
        "{note}"
    );
    let record = request_record(&w, &source).await;
    assert_eq!(record["status"], "synced", "{record}");
    assert_eq!(record["source_id"], source);
    assert_eq!(record["related"]["cancel_code"], "CXRR", "{record}");
    let view = w.view(&id).await;
    let shown = &view["cancel_request"];
    assert_eq!(shown["source_id"], source, "{view}");
    assert_eq!(shown["open"], true);
    assert_eq!(shown["code"], "CXRR");
    assert_eq!(shown["lines"], json!([]), "the whole order names no lines");
    assert!(shown["answer"].is_null());
    // A request is not an order state, and without a status set the order keeps its own.
    assert_eq!(view["state"], "acknowledged", "{view}");
    assert_eq!(bp_status(&w, bp), 2);
    assert_eq!(requested(&w).await, vec![id.clone()]);
    assert!(w.view(&other).await["cancel_request"].is_null());
    let writes = note_writes(&w, bp);
    assert_eq!(writes, 1);

    // More runs inside the window's overlap, and DSCO showing the request again on a later page.
    for _ in 0..3 {
        w.advance(Duration::from_secs(20));
        w.run().await;
    }
    request(&w, &id, "CXRR", &[]);
    w.run().await;
    w.advance(Duration::from_secs(20));
    w.run().await;
    assert_eq!(request_notes(&w, bp, &source).await.len(), 1);
    assert_eq!(note_writes(&w, bp), writes, "nothing more was sent");
    let again = request_record(&w, &source).await;
    assert_eq!(again["status"], "synced");
    assert_eq!(again["updated_at"], record["updated_at"], "{again}");
    let page = w
        .app
        .json("/v1/records?flow=orders&kind=cancel_request")
        .await;
    let ours: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "cancel_request")
        .collect();
    assert_eq!(ours.len(), 1, "{page}");
    assert_eq!(w.view(&id).await["cancel_request"], view["cancel_request"]);
    assert_eq!(requested(&w).await, vec![id]);
}

#[tokio::test]
async fn a_configured_status_takes_the_note_and_line_requests_name_their_lines() {
    let w = World::new(
        json!({"orders": {"per_retailer": {RETAILER: {"cancel_request_status_id": 3}}}}),
    )
    .await;
    let (id, bp) = import(
        &w,
        RETAILER,
        "PO-CR3",
        json!([
            line("SKU-0031", 1),
            line("SKU-0032", 1),
            line("SKU-0033", 1)
        ]),
    )
    .await;
    // The other retailer has no status set: a note alone.
    let (plain, plain_bp) =
        import(&w, OTHER_RETAILER, "PO-CR4", json!([line("SKU-0034", 1)])).await;
    request(&w, &id, "CXSO", &[3, 2]);
    request(&w, &plain, "CXRR", &[1]);
    let run = w.run().await;
    assert_eq!(run["counts"]["synced"], 2, "{run}");

    let source = format!("{id}:CXSO:2+3");
    let record = request_record(&w, &source).await;
    assert_eq!(record["status"], "synced", "{record}");
    assert_eq!(record["related"]["order_status_id"], "3", "{record}");
    assert_eq!(bp_status(&w, bp), 3, "moved to the configured status");
    // One call: the status change carries the note.
    assert_eq!(note_writes(&w, bp), 1);
    let noted = request_notes(&w, bp, &source).await;
    assert_eq!(noted.len(), 1);
    assert_eq!(noted[0]["orderStatusId"], 3, "{noted:?}");
    let view = w.view(&id).await;
    assert_eq!(view["cancel_request"]["lines"], json!([2, 3]), "{view}");
    assert_eq!(view["state"], "acknowledged", "{view}");

    let plain_source = format!("{plain}:CXRR:1");
    assert_eq!(request_record(&w, &plain_source).await["status"], "synced");
    assert_eq!(bp_status(&w, plain_bp), 2);
    assert_eq!(request_notes(&w, plain_bp, &plain_source).await.len(), 1);
    let mut listed = requested(&w).await;
    listed.sort();
    let mut both = vec![id.clone(), plain.clone()];
    both.sort();
    assert_eq!(listed, both);

    w.advance(Duration::from_secs(20));
    w.run().await;
    assert_eq!(note_writes(&w, bp), 1);
    assert_eq!(note_writes(&w, plain_bp), 1);
}

#[tokio::test]
async fn an_unanswered_note_call_ends_with_exactly_one_note_within_three_runs() {
    let w = World::new(json!({})).await;
    let (lost, lost_bp) = import(&w, RETAILER, "PO-CR5", json!([line("SKU-0041", 1)])).await;
    let (refused, refused_bp) = import(&w, RETAILER, "PO-CR6", json!([line("SKU-0042", 1)])).await;
    // The note is made but its answer is lost; the other call fails before Brightpearl acts.
    w.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: format!("/order/{lost_bp}/note"),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Reset,
        mode: FaultMode::Next(1),
    });
    w.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: format!("/order/{refused_bp}/note"),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::ServerErrorBody { code: 503 },
        mode: FaultMode::Next(1),
    });
    request(&w, &lost, "CXRR", &[]);
    request(&w, &refused, "CXRR", &[]);
    // A new order in the same run is not held up by the failing notes.
    let fresh = w.order(RETAILER, "PO-CR7", json!([line("SKU-0043", 1)]), json!({}));
    w.run().await;
    assert_eq!(w.view(&fresh).await["state"], "acknowledged");
    let faults = w
        .sims
        .brightpearl
        .requests()
        .all()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert_eq!(faults, 2, "both faults fired");
    let lost_source = format!("{lost}:CXRR:1");
    let refused_source = format!("{refused}:CXRR:1");
    for source in [&lost_source, &refused_source] {
        let r = request_record(&w, source).await;
        assert_eq!(r["status"], "failed", "{r}");
    }
    // Open requests show while their note is retried.
    assert_eq!(w.view(&lost).await["cancel_request"]["open"], true);
    w.sims.brightpearl.faults().clear();
    w.idle().await;

    let mut runs_after = 0;
    loop {
        let done = request_record(&w, &lost_source).await["status"] == "synced"
            && request_record(&w, &refused_source).await["status"] == "synced";
        if done {
            break;
        }
        assert!(
            runs_after < 3,
            "after 3 runs: {} {}",
            request_record(&w, &lost_source).await,
            request_record(&w, &refused_source).await
        );
        w.advance(CATCH_UP);
        w.run().await;
        runs_after += 1;
    }
    assert_eq!(request_notes(&w, lost_bp, &lost_source).await.len(), 1);
    assert_eq!(
        request_notes(&w, refused_bp, &refused_source).await.len(),
        1
    );
    // The lost answer was settled by reading the notes, never by sending again.
    assert_eq!(note_writes(&w, lost_bp), 1);
    assert_eq!(note_writes(&w, refused_bp), 2);
    for id in [&lost, &refused] {
        let view = w.view(id).await;
        assert_eq!(view["state"], "acknowledged", "{view}");
    }
    w.advance(CATCH_UP);
    w.run().await;
    assert_eq!(note_writes(&w, lost_bp), 1);
    assert_eq!(note_writes(&w, refused_bp), 2);
}

#[tokio::test]
async fn shipping_the_order_answers_its_cancel_request() {
    let w = world(json!({})).await;
    let (id, bp, rows) = imported(&w, "PO-CR8", json!([line("SKU-0051", 2)])).await;
    request(&w, &id, "CXRR", &[1]);
    w.run().await;
    assert_eq!(requested(&w).await, vec![id.clone()]);
    let note = w.new_note(bp, &[(rows[0], 2)]);
    w.ship_note(note, Some("1ZCR8"), None);
    w.run_flow("shipments").await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "shipped", "{view}");
    assert_eq!(view["cancel_request"]["open"], false, "{view}");
    assert_eq!(view["cancel_request"]["answer"], "shipped", "{view}");
    assert!(requested(&w).await.is_empty());
    // The orders poll seeing the order again changes nothing.
    w.advance(Duration::from_secs(20));
    w.run().await;
    assert!(requested(&w).await.is_empty());
    assert_eq!(note_writes(&w, u64::from(bp)), 1);
    assert_eq!(w.view(&id).await["cancel_request"]["answer"], "shipped");
}
