//! The flow-test harness: both simulators seeded with the demo world, the daemon connected to
//! them, and helpers to seed DSCO orders, run a flow and read what it recorded.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Sims, TOKEN, TestApp, wait_for};

/// Both simulators seeded with the demo world, the daemon connected to them, reference data
/// retrieved, and settings with workable defaults plus `settings`.
pub struct World {
    pub sims: Sims,
    pub app: TestApp,
    /// When the newest DSCO order was created (on the shared clock): DSCO's `until` must lie
    /// 10 s in the past, so before a run the clock moves on until the order is inside the window.
    last_order: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
}

/// How long after its creation an order is inside the orders flow's window (`until` = now − 10 s).
pub const WINDOW_LAG: Duration = Duration::from_millis(10_500);

pub const RETAILER: &str = "1000001";
pub const OTHER_RETAILER: &str = "1000002";

impl World {
    pub async fn new(settings: Value) -> World {
        World::with_sims(Sims::start().await, settings, "").await
    }

    pub async fn with_sims(sims: Sims, settings: Value, extra_toml: &str) -> World {
        World::launch(sims, settings, extra_toml, false).await
    }

    /// The world with the daemon's public listener on loopback and the shipments flow enabled
    /// (a schedule that never comes round): Brightpearl's webhooks reach the daemon and queue
    /// shipments runs; the test runs the orders flow itself.
    pub async fn with_public(settings: Value) -> World {
        World::with_public_flows(settings, &["shipments"]).await
    }

    /// [`World::with_public`] with these flows enabled (schedules that never come round).
    pub async fn with_public_flows(settings: Value, flows: &[&str]) -> World {
        let mut toml = "\n[schedules]\n".to_owned();
        for flow in flows {
            toml.push_str(&format!("{flow} = \"{}\"\n", super::NEVER));
        }
        World::launch(Sims::start().await, settings, &toml, true).await
    }

    async fn launch(sims: Sims, settings: Value, extra_toml: &str, public: bool) -> World {
        sims.brightpearl.seed_demo(200);
        sims.dsco.seed_demo(200, 0, 1);
        let toml = format!("{}{extra_toml}", sims.config_toml());
        let clock = Some(super::SimTime::shared(&sims.clock));
        let app = if public {
            TestApp::start_public(&toml, vec![], clock).await
        } else {
            TestApp::start_with_clock(&toml, vec![], clock).await
        };
        let world = World {
            sims,
            app,
            last_order: std::sync::Mutex::new(None),
        };
        world.wait_reference().await;
        let mut base = json!({
            "orders": {"import_from": "2020-01-01T00:00:00Z", "tax_code": "T",
                       "shipping_method_id": 1, "status_id": 2, "channel_id": 2, "warehouse_id": 1},
            "cancellations": {"dsco_cancelled_status_id": 5}
        });
        merge(&mut base, settings);
        world.patch_settings(base).await;
        world
    }

    pub async fn wait_reference(&self) {
        wait_for(Duration::from_secs(180), || async {
            let runs = self.app.json("/v1/runs?flow=reference").await;
            let done = runs["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["status"] == "succeeded");
            done.then_some(())
        })
        .await;
    }

    pub async fn patch_settings(&self, patch: Value) {
        let r = self
            .app
            .http
            .patch(format!("{}/v1/settings", self.app.url))
            .bearer_auth(TOKEN)
            .json(&patch)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(
            status.is_success(),
            "PATCH /v1/settings {patch}: {status} {body}"
        );
    }

    pub async fn upload(&self, kind: &str, csv: &str) {
        let r = self
            .app
            .http
            .put(format!("{}/v1/mappings/{kind}", self.app.url))
            .bearer_auth(TOKEN)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(
            status.is_success(),
            "PUT /v1/mappings/{kind}: {status} {body}"
        );
    }

    /// A retailer order on DSCO; the simulator fills what is not given from its catalog.
    pub fn order(&self, retailer: &str, po: &str, lines: Value, extra: Value) -> String {
        let mut order = json!({
            "poNumber": po,
            "dscoRetailerId": retailer,
            "shipping": {"firstName": "Zoë", "lastName": "Müller", "address1": "12 Elm St",
                          "city": "Springfield", "region": "IL", "postal": "62701", "country": "US",
                          "email": "zoe@example.com"},
            "lineItems": lines,
        });
        merge(&mut order, extra);
        self.created();
        self.sims.dsco.create_order(order).unwrap()
    }

    /// Note that an order was just created on DSCO.
    pub fn created(&self) {
        *self.last_order.lock().unwrap() = Some(self.sims.clock.now());
    }

    /// Move the shared clock until every order created so far is inside the flow's window.
    pub async fn window_catches_up(&self) {
        let last = *self.last_order.lock().unwrap();
        if let Some(at) = last {
            let ready = at + chrono::Duration::from_std(WINDOW_LAG).unwrap();
            let now = self.sims.clock.now();
            if ready > now {
                self.advance((ready - now).to_std().unwrap());
            }
        }
    }

    /// A goods-out note of `rows` (`(order row id, quantity)`) on Brightpearl order `bp`.
    pub fn new_note(&self, bp: u32, rows: &[(u32, u32)]) -> u32 {
        self.sims
            .brightpearl
            .create_goods_out_note(bp, rows)
            .unwrap()
    }

    /// Ship a goods-out note (its tracking and shipping method set when given).
    pub fn ship_note(&self, note: u32, tracking: Option<&str>, method: Option<u32>) {
        self.sims
            .brightpearl
            .ship_goods_out_note(note, tracking, method)
            .unwrap()
    }

    /// Move the clock the daemon and both simulators share.
    pub fn advance(&self, by: Duration) {
        self.sims.clock.advance(by);
    }

    /// One run of the orders flow, started by the test. A follow-up run the daemon started by
    /// itself (records coming due) is waited for first.
    pub async fn run(&self) -> Value {
        self.window_catches_up().await;
        let id = self.start_run().await;
        let run = self.app.wait_run(id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        run
    }

    /// Start a run of the orders flow (after any follow-up run the daemon started by itself)
    /// and return its id without waiting for it.
    pub async fn start_run(&self) -> u64 {
        loop {
            let r = self.app.post("/v1/sync/orders/run").send().await.unwrap();
            if r.status() == 409 {
                self.idle().await;
                continue;
            }
            assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
            return r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
        }
    }

    /// One run of `flow`, started by the test, after any run the daemon started by itself.
    pub async fn run_flow(&self, flow: &str) -> Value {
        let run = self.try_run_flow(flow).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        run
    }

    /// One run of `flow` in `mode`, started by the test.
    pub async fn run_flow_mode(&self, flow: &str, mode: &str) -> Value {
        let run = self.try_run_flow_with(flow, Some(mode)).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        run
    }

    /// [`World::run_flow_mode`] without asserting how the run ended.
    pub async fn try_run_flow_mode_any(&self, flow: &str, mode: &str) -> Value {
        self.try_run_flow_with(flow, Some(mode)).await
    }

    /// [`World::run_flow`] without asserting how the run ended.
    pub async fn try_run_flow(&self, flow: &str) -> Value {
        self.try_run_flow_with(flow, None).await
    }

    async fn try_run_flow_with(&self, flow: &str, mode: Option<&str>) -> Value {
        let id = loop {
            let mut request = self.app.post(&format!("/v1/sync/{flow}/run"));
            if let Some(mode) = mode {
                request = request.json(&json!({ "mode": mode }));
            }
            let r = request.send().await.unwrap();
            if r.status() == 409 {
                self.idle_flow(flow).await;
                continue;
            }
            assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
            break r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
        };
        self.app.wait_run(id).await
    }

    /// Wait until no run of `flow` is going.
    pub async fn idle_flow(&self, flow: &str) {
        wait_for(Duration::from_secs(180), || async {
            let status = self.app.json("/v1/status").await;
            let busy = status["flows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["flow"] == flow && !f["running_run_id"].is_null());
            (!busy).then_some(())
        })
        .await;
    }

    /// The record of `kind` and `source_id` in `flow`.
    pub async fn record_of(&self, flow: &str, kind: &str, source_id: &str) -> Value {
        let page = self
            .app
            .json(&format!("/v1/records?flow={flow}&source_id={source_id}"))
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Wait until no run of the orders flow is going.
    pub async fn idle(&self) {
        wait_for(Duration::from_secs(180), || async {
            let status = self.app.json("/v1/status").await;
            let busy = status["flows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["flow"] == "orders" && !f["running_run_id"].is_null());
            (!busy).then_some(())
        })
        .await;
    }

    pub async fn view(&self, dsco_order_id: &str) -> Value {
        self.app.json(&format!("/v1/orders/{dsco_order_id}")).await
    }

    /// Brightpearl orders whose ref is `po`.
    pub fn bp_orders_for(&self, po: &str) -> Vec<Value> {
        self.sims
            .brightpearl
            .orders()
            .into_iter()
            .filter(|o| o["reference"] == po)
            .collect()
    }

    pub fn dsco_order(&self, id: &str) -> Value {
        self.sims.dsco.order(id).unwrap()
    }

    pub async fn record(&self, source_id: &str) -> Value {
        let page = self
            .app
            .json(&format!("/v1/records?flow=orders&source_id={source_id}"))
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "order")
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub async fn retry_all(&self) {
        for status in ["failed", "needs_attention", "pending"] {
            let r = self
                .app
                .post(&format!("/v1/records/retry?flow=orders&status={status}"))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    }
}

pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}
