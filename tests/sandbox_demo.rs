//! The Brightpearl simulator's demo warehouse (`BrightpearlSimConfig::demo`): orders created
//! through the API get goods-out notes and are shipped by themselves on the simulator's clock,
//! with the planted variants (two partial notes, one untracked, one on an unmapped method), and
//! the goods-out-note webhooks go out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use dsco_brightpearl::sandbox::brightpearl::{
    BrightpearlSim, BrightpearlSimConfig, DemoFulfilment,
};
use dsco_brightpearl::sandbox::common::SimServer;
use serde_json::{Value, json};

struct Bp {
    sim: BrightpearlSim,
    server: SimServer,
    http: reqwest::Client,
}

impl Bp {
    async fn start(demo: Option<DemoFulfilment>) -> Bp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = BrightpearlSim::new(BrightpearlSimConfig {
            demo,
            ..Default::default()
        });
        sim.seed_demo(20);
        let server = sim.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Bp {
            sim,
            server,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request
            .header("brightpearl-app-ref", &self.sim.config().app_ref)
            .header(
                "brightpearl-account-token",
                &self.sim.config().account_token,
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success() || status == 404, "{status}: {body}");
        body
    }

    fn url(&self, path: &str) -> String {
        format!("{}/public-api/sandbox{path}", self.server.url())
    }

    /// A sales order of two units of product 7 (plus a shipping row) on shipping method 1.
    async fn create_order(&self, reference: &str) -> u32 {
        let body = json!({
            "customer": {"id": 3}, "ref": reference, "placedOn": "2025-03-01T14:05:00Z",
            "statusId": 2, "channelId": 2, "warehouseId": 1, "currency": {"code": "USD"},
            "delivery": {"shippingMethodId": 1},
            "rows": [
                {"productId": 7, "quantity": "2", "taxCode": "T", "net": "39.98", "tax": "0.00"},
                {"name": "Shipping", "quantity": "1", "taxCode": "N", "net": "5.00", "tax": "0.00"}
            ]
        });
        let created = self
            .call(
                self.http
                    .post(self.url("/order-service/sales-order"))
                    .json(&body),
            )
            .await;
        created["response"].as_u64().unwrap() as u32
    }

    /// The order's goods-out notes by id, as the API answers them (none: empty).
    async fn notes(&self, order_id: u32) -> serde_json::Map<String, Value> {
        let notes = self
            .call(self.http.get(self.url(&format!(
                "/warehouse-service/order/{order_id}/goods-note/goods-out"
            ))))
            .await;
        notes["response"].as_object().cloned().unwrap_or_default()
    }

    fn advance(&self, seconds: u64) {
        self.sim.clock().advance(Duration::from_secs(seconds));
        self.sim.run_demo_due();
    }
}

fn shipped(note: &Value) -> bool {
    note["status"]["shipped"] == true
}

fn tracking(note: &Value) -> &str {
    note["shipping"]["reference"].as_str().unwrap_or_default()
}

/// Records the `fullEvent` of every webhook call.
async fn receiver() -> (Arc<Mutex<Vec<String>>>, SimServer) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let router = axum::Router::new().fallback(move |body: Bytes| {
        let seen = seen.clone();
        async move {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            seen.lock()
                .unwrap()
                .push(body["fullEvent"].as_str().unwrap_or_default().to_owned());
            axum::http::StatusCode::OK
        }
    });
    let server = SimServer::start(router, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (events, server)
}

#[tokio::test]
async fn the_demo_warehouse_makes_partial_untracked_and_unmapped_notes_and_ships_them() {
    let demo = DemoFulfilment {
        note_after: Duration::from_secs(15),
        ship_after: Duration::from_secs(15),
        invoice_after: Duration::from_secs(20),
    };
    let bp = Bp::start(Some(demo)).await;
    let (events, hook_server) = receiver().await;
    bp.call(
        bp.http
            .post(bp.url("/integration-service/webhook"))
            .json(&json!({
                "subscribeTo": "goods-out-note", "httpMethod": "POST",
                "uriTemplate": format!("{}/hook", hook_server.url()),
                "bodyTemplate": "{\"id\":\"${resource-id}\",\"fullEvent\":\"${full-event}\"}",
                "contentType": "application/json", "idSetAccepted": false, "qualityOfService": 1,
            })),
    )
    .await;
    let mut orders = Vec::new();
    for k in 1..=8 {
        orders.push(bp.create_order(&format!("DEMO-{k}")).await);
    }
    // The 8th is cancelled before its notes are due: it is never fulfilled.
    bp.sim.set_order_status(orders[7], 5).unwrap();

    bp.advance(14);
    for order in &orders {
        assert!(
            bp.notes(*order).await.is_empty(),
            "no note before note_after"
        );
    }
    bp.advance(2);
    let mut first_notes = Vec::new();
    for (index, order) in orders.iter().enumerate() {
        let notes = bp.notes(*order).await;
        let k = index + 1;
        match k {
            2 | 6 => assert_eq!(notes.len(), 2, "order {k} has two partial notes"),
            8 => assert!(notes.is_empty(), "the cancelled order has no note"),
            _ => assert_eq!(notes.len(), 1, "order {k}"),
        }
        for note in notes.values() {
            assert!(!shipped(note), "{note}");
            assert_eq!(tracking(note), "", "no tracking before shipping: {note}");
        }
        first_notes.push(notes);
    }
    // The partial notes split the two units one and one.
    let quantities: Vec<i64> = first_notes[5]
        .values()
        .map(|note| {
            note["orderRows"]
                .as_object()
                .unwrap()
                .values()
                .map(|row| row[0]["quantity"].as_i64().unwrap())
                .sum()
        })
        .collect();
    assert_eq!(quantities, [1, 1]);
    // The 7th is on the shipping method the sandbox leaves unmapped.
    for (index, notes) in first_notes.iter().enumerate().take(7) {
        let method = notes.values().next().unwrap()["shipping"]["shippingMethodId"].clone();
        let expected = if index == 6 {
            DemoFulfilment::UNMAPPED_SHIPPING_METHOD_ID
        } else {
            1
        };
        assert_eq!(method, expected, "order {}", index + 1);
    }

    bp.advance(15);
    for (index, order) in orders.iter().enumerate().take(7) {
        let notes = bp.notes(*order).await;
        let k = index + 1;
        let shipped_notes: Vec<&Value> = notes.values().filter(|n| shipped(n)).collect();
        assert_eq!(shipped_notes.len(), 1, "order {k}: one note shipped so far");
        let note = shipped_notes[0];
        if k == 3 {
            assert_eq!(tracking(note), "", "the 3rd ships untracked: {note}");
        } else {
            assert!(!tracking(note).is_empty(), "order {k}: {note}");
        }
    }
    for partial in [orders[1], orders[5]] {
        let order = bp.sim.order(partial).unwrap();
        assert_eq!(order["shippingStatusCode"], "SPS", "partly shipped");
    }

    bp.advance(15);
    for partial in [orders[1], orders[5]] {
        let notes = bp.notes(partial).await;
        assert!(notes.values().all(shipped), "{notes:?}");
        let references: std::collections::BTreeSet<&str> = notes.values().map(tracking).collect();
        assert_eq!(
            references.len(),
            2,
            "each partial note has its own tracking"
        );
    }
    for order in &orders[..7] {
        assert_eq!(bp.sim.order(*order).unwrap()["shippingStatusCode"], "ASS");
    }
    assert_eq!(
        bp.sim.order(orders[7]).unwrap()["shippingStatusCode"],
        "SNS"
    );

    // The webhooks went out: 9 notes created, 9 shipped, tracking set on all but the untracked.
    let count = |events: &[String], name: &str| events.iter().filter(|e| *e == name).count();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = events.lock().unwrap().clone();
        if count(&seen, "goods-out-note.modified.shipped") == 9 {
            assert_eq!(count(&seen, "goods-out-note.created"), 9, "{seen:?}");
            assert_eq!(count(&seen, "goods-out-note.modified"), 8, "{seen:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks not delivered: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn without_the_demo_orders_wait_for_the_test_to_ship_them() {
    let bp = Bp::start(None).await;
    let order = bp.create_order("NO-DEMO").await;
    bp.advance(3600);
    assert!(bp.notes(order).await.is_empty());
    let methods = bp
        .call(bp.http.get(bp.url("/warehouse-service/shipping-method")))
        .await;
    let ids: Vec<u64> = methods["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4],
        "the demo's extra method is seeded only with the demo on"
    );
}
