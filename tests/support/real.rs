//! The real binary against both simulators: one setup shared by the crash tests (SIGKILL and
//! crash points) of the orders and shipments flows.

use std::time::Duration;

use serde_json::{Value, json};

use super::world::{RETAILER, WINDOW_LAG};
use super::{Daemon, Sims, TOKEN, http, wait_for};

/// The control API of a real daemon.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn of(daemon: &Daemon) -> Api {
        Api {
            base: daemon.url.clone(),
            http: http(),
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let r = request.bearer_auth(TOKEN).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> Value {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
            .1
    }

    pub async fn ok(&self, request: reqwest::RequestBuilder) {
        let (status, body) = self.send(request).await;
        assert!((200..300).contains(&status), "{status} {body}");
    }

    /// Start a run of `flow` without waiting for it (202).
    pub async fn start_run(&self, flow: &str) {
        let (status, body) = self
            .send(self.http.post(format!("{}/v1/sync/{flow}/run", self.base)))
            .await;
        assert_eq!(status, 202, "{body}");
    }

    /// Start a run of `flow` (waiting out one already going) and wait for it to end.
    pub async fn run(&self, flow: &str) -> Value {
        let id = wait_for(Duration::from_secs(120), || async {
            let (status, body) = self
                .send(self.http.post(format!("{}/v1/sync/{flow}/run", self.base)))
                .await;
            if status == 409 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return None;
            }
            assert_eq!(status, 202, "{body}");
            body["run_id"].as_u64()
        })
        .await;
        wait_for(Duration::from_secs(120), || async {
            let run = self.get(&format!("/v1/runs/{id}")).await;
            (run["status"] != "running").then_some(run)
        })
        .await
    }

    /// The record of `flow` with this source id (`Null` when none).
    pub async fn record(&self, flow: &str, source_id: &str) -> Value {
        let page = self
            .get(&format!("/v1/records?flow={flow}&source_id={source_id}"))
            .await;
        page["items"][0].clone()
    }
}

/// The real daemon, its simulators and its state directory (kept across restarts).
pub struct Real {
    pub sims: Sims,
    pub dir: tempfile::TempDir,
    pub toml: String,
    pub daemon: Daemon,
    pub api: Api,
}

impl Real {
    /// Fresh simulators (demo catalog) and the real binary with `extra` config appended;
    /// returns once the first reference run succeeded.
    pub async fn start(extra: &str, env: &[(&str, &str)]) -> Real {
        Real::start_with("", extra, env).await
    }

    /// [`Real::start`] with `dsco` more keys of the `[dsco]` section.
    pub async fn start_with(dsco: &str, extra: &str, env: &[(&str, &str)]) -> Real {
        let sims = Sims::start().await;
        sims.brightpearl.seed_demo(200);
        sims.dsco.seed_demo(200, 0, 1);
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            "state_dir = \"{}\"\n{}{dsco}\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n\n{extra}\n",
            dir.path().join("state").display(),
            sims.config_toml()
        );
        let daemon = Daemon::start(dir.path(), &toml, env).await;
        let api = Api::of(&daemon);
        wait_for(Duration::from_secs(60), || async {
            let runs = api.get("/v1/runs?flow=reference").await;
            runs["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["status"] == "succeeded")
                .then_some(())
        })
        .await;
        Real {
            sims,
            dir,
            toml,
            daemon,
            api,
        }
    }

    /// Start the binary again on the same state (the old process is killed if still running).
    pub async fn restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.daemon.child.kill();
        let _ = self.daemon.child.wait();
        self.daemon = Daemon::start(self.dir.path(), &self.toml, env).await;
        self.api = Api::of(&self.daemon);
    }

    pub async fn settings(&self, patch: Value) {
        self.api
            .ok(self
                .api
                .http
                .patch(format!("{}/v1/settings", self.api.base))
                .json(&patch))
            .await;
    }

    /// Orders imported into warehouse 1, which ships as `WH-MAIN` by UPS Ground.
    pub async fn ready_to_ship(&self) {
        self.settings(json!({
            "orders": {"import_from": "2020-01-01T00:00:00Z", "tax_code": "T",
                       "shipping_method_id": 1, "warehouse_id": 1}
        }))
        .await;
        for (kind, csv) in [
            (
                "warehouses",
                "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n",
            ),
            (
                "shipping-methods",
                "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\nboth,UPCG,UPS,Ground,1\n",
            ),
        ] {
            self.api
                .ok(self
                    .api
                    .http
                    .put(format!("{}/v1/mappings/{kind}", self.api.base))
                    .header("content-type", "text/csv")
                    .body(csv))
                .await;
        }
    }

    /// A new DSCO order of one unit of `sku`; returns its DSCO order id.
    pub fn order(&self, po: &str, sku: &str) -> String {
        self.sims
            .dsco
            .create_order(json!({"poNumber": po, "dscoRetailerId": RETAILER,
                "shipping": {"name": "Kim Lee", "address1": "1 St", "city": "C", "postal": "1", "country": "US"},
                "lineItems": [{"sku": sku, "quantity": 1}]}))
            .unwrap()
    }

    /// A DSCO order imported and acknowledged: (DSCO order id, Brightpearl order id, its row).
    pub async fn imported(&self, po: &str, sku: &str) -> (String, u32, u32) {
        let id = self.order(po, sku);
        tokio::time::sleep(WINDOW_LAG).await;
        let view = wait_for(Duration::from_secs(60), || async {
            self.api.run("orders").await;
            let view = self.api.get(&format!("/v1/orders/{id}")).await;
            (view["state"] == "acknowledged").then_some(view)
        })
        .await;
        let bp = view["bp_order_id"].as_u64().unwrap() as u32;
        let order = self.sims.brightpearl.order(bp).unwrap();
        let row: u32 = order["orderRows"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, r)| r["productId"].as_u64().is_some())
            .map(|(id, _)| id.parse().unwrap())
            .unwrap();
        (id, bp, row)
    }

    /// A goods-out note for one unit of `row`, shipped with `tracking`.
    pub fn shipped_note(&self, bp: u32, row: u32, tracking: &str) -> u32 {
        let note = self
            .sims
            .brightpearl
            .create_goods_out_note(bp, &[(row, 1)])
            .unwrap();
        self.sims
            .brightpearl
            .ship_goods_out_note(note, Some(tracking), None)
            .unwrap();
        note
    }

    /// Shipment batches DSCO received.
    pub fn shipment_submits(&self) -> usize {
        self.sims
            .dsco
            .requests()
            .count("POST", "order/shipment/batch/small")
    }

    /// The packages DSCO has on an order.
    pub fn packages(&self, id: &str) -> Vec<Value> {
        let order = self.sims.dsco.order(id).unwrap();
        order["packages"].as_array().cloned().unwrap_or_default()
    }
}
