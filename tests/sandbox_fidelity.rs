//! Simulator fidelity, measured against recorded real traffic and Rithum's OpenAPI: the shapes
//! both simulators answer with (every party key on Brightpearl's Order GET, DSCO's change-log
//! entries and warehouses), and the DSCO simulator's processing switches (hold, delay).

use std::time::Duration;

use dsco_brightpearl::sandbox::brightpearl::{BrightpearlSim, BrightpearlSimConfig};
use dsco_brightpearl::sandbox::common::SimServer;
use dsco_brightpearl::sandbox::dsco::{DscoSim, DscoSimConfig};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Brightpearl Order GET parties (brightpearl-api.md §4.3)

const ACCOUNT: &str = "sandbox";

async fn brightpearl() -> (BrightpearlSim, SimServer, reqwest::Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = BrightpearlSim::new(BrightpearlSimConfig::default());
    sim.seed_demo(20);
    let server = sim.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (sim, server, reqwest::Client::new())
}

async fn bp_call(sim: &BrightpearlSim, request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request
        .header("brightpearl-app-ref", &sim.config().app_ref)
        .header("brightpearl-account-token", &sim.config().account_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every text key of a party in the recorded real orders.
const PARTY_KEYS: &[&str] = &[
    "addressFullName",
    "companyName",
    "addressLine1",
    "addressLine2",
    "addressLine3",
    "addressLine4",
    "postalCode",
    "country",
    "telephone",
    "mobileTelephone",
    "fax",
    "email",
    "countryIsoCode",
    "countryIsoCode3",
];

#[tokio::test]
async fn order_get_parties_send_every_key_with_empty_strings() {
    let (sim, server, http) = brightpearl().await;
    let url = |path: &str| format!("{}/public-api/{ACCOUNT}{path}", server.url());
    // Addresses with gaps: no addressLine2, mobileTelephone, fax or companyName.
    let body = json!({
        "customer": {"id": 3, "address": {"addressFullName": "Jane Buyer", "addressLine1": "12 Elm St",
            "addressLine3": "Springfield", "addressLine4": "IL", "postalCode": "62701",
            "countryIsoCode": "USA", "email": "jane@example.com"}},
        "ref": "PO-PARTIES", "placedOn": "2025-03-01T14:05:00Z", "statusId": 3, "channelId": 2,
        "warehouseId": 2, "currency": {"code": "USD"},
        "delivery": {"shippingMethodId": 1, "address": {"addressFullName": "Jane Buyer",
            "addressLine1": "12 Elm St", "postalCode": "62701", "countryIsoCode": "USA"}},
        "rows": [{"productId": 7, "quantity": "1", "taxCode": "T", "net": "19.99", "tax": "0.00"}]
    });
    let (status, created) = bp_call(
        &sim,
        http.post(url("/order-service/sales-order")).json(&body),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["response"].as_u64().unwrap();
    let (status, orders) =
        bp_call(&sim, http.get(url(&format!("/order-service/order/{id}")))).await;
    assert_eq!(status, 200, "{orders}");
    let order = &orders["response"][0];
    for party in ["customer", "delivery", "billing"] {
        let party_value = &order["parties"][party];
        for key in PARTY_KEYS {
            assert!(
                party_value[key].is_string(),
                "parties.{party}.{key} missing or not text: {party_value}"
            );
        }
    }
    let delivery = &order["parties"]["delivery"];
    assert_eq!(delivery["addressLine2"], "");
    assert_eq!(delivery["mobileTelephone"], "");
    assert_eq!(delivery["fax"], "");
    assert_eq!(delivery["companyName"], "");
    assert_eq!(delivery["addressLine1"], "12 Elm St");
    assert_eq!(order["parties"]["customer"]["contactId"], 3);
    // Our client still reads it.
    let parsed: dsco_brightpearl::brightpearl::Order =
        serde_json::from_value(order.clone()).unwrap();
    let delivery = parsed.parties.unwrap().delivery.unwrap();
    assert_eq!(delivery.address_line2.as_deref(), Some(""));
    assert_eq!(delivery.address_line1.as_deref(), Some("12 Elm St"));
}

// ---------------------------------------------------------------------------------------------
// DSCO change logs and warehouses (dsco-api.md §1.8, §6)

struct Dsco {
    sim: DscoSim,
    server: SimServer,
    http: reqwest::Client,
    token: String,
}

impl Dsco {
    async fn start(config: DscoSimConfig) -> Dsco {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = DscoSim::new(config);
        sim.seed_demo(5, 0, 1);
        let server = sim.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = reqwest::Client::new();
        let config = sim.config();
        let token: Value = http
            .post(format!("{}/api/v3/oauth2/token", server.url()))
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
        let token = token["access_token"].as_str().unwrap().to_owned();
        Dsco {
            sim,
            server,
            http,
            token,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}/api/v3{path}", self.server.url())))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}/api/v3{path}", self.server.url()))
                .json(&body),
        )
        .await
    }

    fn order(&self, po: &str) -> String {
        self.sim
            .create_order(json!({
                "poNumber": po,
                "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "quantity": 1}],
            }))
            .unwrap()
    }

    /// Acknowledge `id` (sent as a number) in a small batch; the request id of the 202.
    async fn acknowledge(&self, id: &str) -> String {
        let (status, body) = self
            .post(
                "/order/acknowledge",
                json!([{"id": id.parse::<u64>().unwrap(), "type": "DSCO_ORDER_ID"}]),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        body["requestId"].as_str().unwrap().to_owned()
    }

    async fn log(&self, request_id: &str) -> Value {
        let (status, log) = self
            .get(&format!("/order/log?requestId={request_id}"))
            .await;
        assert_eq!(status, 200, "{log}");
        log
    }

    fn advance(&self, seconds: u64) {
        self.sim.clock().advance(Duration::from_secs(seconds));
    }
}

#[tokio::test]
async fn change_log_entries_carry_the_id_as_text_and_no_process_id() {
    let d = Dsco::start(DscoSimConfig::default()).await;
    let id = d.order("PO-LOG-ID");
    let request_id = d.acknowledge(&id).await;
    let log = d.log(&request_id).await;
    assert_eq!(log["status"], "COMPLETED", "{log}");
    let entry = &log["logs"][0];
    assert_eq!(entry["status"], "success", "{entry}");
    assert_eq!(entry["payload"]["id"], json!(id), "{entry}");
    assert_eq!(entry["requestMethod"], "api");
    assert!(
        entry.as_object().unwrap().get("processId").is_none(),
        "API-made entries carry no processId: {entry}"
    );
    // Our client still reads the entry.
    let parsed: dsco_brightpearl::dsco::ChangeLogEntry =
        serde_json::from_value(entry.clone()).unwrap();
    assert_eq!(parsed.payload["id"], json!(id));
}

#[tokio::test]
async fn warehouses_omit_the_retailer_code() {
    let d = Dsco::start(DscoSimConfig::default()).await;
    let (status, page) = d.get("/warehouse/page").await;
    assert_eq!(status, 200, "{page}");
    let warehouses = page["warehouses"].as_array().unwrap();
    assert!(!warehouses.is_empty());
    for warehouse in warehouses {
        let fields = warehouse.as_object().unwrap();
        assert!(fields.get("retailerCode").is_none(), "{warehouse}");
        assert!(fields["code"].is_string(), "{warehouse}");
    }
}

#[tokio::test]
async fn held_batches_stay_pending_until_released() {
    let d = Dsco::start(DscoSimConfig::default()).await;
    let id = d.order("PO-HOLD");
    d.sim.hold_batches(true);
    let request_id = d.acknowledge(&id).await;
    d.advance(600);
    d.sim.process_pending();
    let log = d.log(&request_id).await;
    assert_eq!(log["status"], "PROCESSING", "{log}");
    assert_eq!(log["logs"][0]["status"], "pending", "{log}");
    assert_eq!(d.sim.order(&id).unwrap()["dscoStatus"], "created");
    // Released: the next request processes what is due.
    d.sim.hold_batches(false);
    let log = d.log(&request_id).await;
    assert_eq!(log["status"], "COMPLETED", "{log}");
    assert_eq!(log["logs"][0]["status"], "success", "{log}");
    assert_eq!(d.sim.order(&id).unwrap()["dscoStatus"], "shipment_pending");
}

#[tokio::test]
async fn processing_switches_are_settable_over_http_and_the_delay_holds() {
    let d = Dsco::start(DscoSimConfig::default()).await;
    let admin = format!("{}/_sandbox/processing", d.server.url());
    let switches: Value = d
        .http
        .post(&admin)
        .json(&json!({"held": true, "delaySeconds": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(switches, json!({"held": true, "delaySeconds": 2.0}));
    assert!(d.sim.processing().held);
    let id = d.order("PO-DELAY-2");
    let request_id = d.acknowledge(&id).await;
    d.advance(5);
    assert_eq!(d.log(&request_id).await["status"], "PROCESSING");
    let response = d
        .http
        .post(&admin)
        .json(&json!({"held": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(d.log(&request_id).await["status"], "COMPLETED");
    // The 2 s delay stays for work submitted from now on.
    let second = d.order("PO-DELAY-2B");
    let request_id = d.acknowledge(&second).await;
    d.advance(1);
    assert_eq!(d.log(&request_id).await["status"], "PROCESSING");
    d.advance(1);
    assert_eq!(d.log(&request_id).await["status"], "COMPLETED");
    let refused = d
        .http
        .post(&admin)
        .json(&json!({"hold": true}))
        .send()
        .await
        .unwrap();
    assert!(
        refused.status().is_client_error(),
        "an unknown field is refused"
    );
    let current: Value = d
        .http
        .get(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current, json!({"held": false, "delaySeconds": 2.0}));
    // The delay at start comes from the config.
    let d = Dsco::start(DscoSimConfig {
        processing_delay: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    assert_eq!(d.sim.processing().delay, Duration::from_secs(2));
}

#[tokio::test]
async fn order_reads_can_leave_out_the_stream_only_line_quantities() {
    let d = Dsco::start(DscoSimConfig::default()).await;
    let id = d.order("PO-STREAM");
    let path = format!("/order/?orderKey=dscoOrderId&value={id}");
    let (status, order) = d.get(&path).await;
    assert_eq!(status, 200, "{order}");
    let line = order["lineItems"][0].clone();
    assert_eq!(line["shippedQuantity"], 0, "{line}");
    assert_eq!(line["remainingQuantity"], 1, "{line}");
    d.sim.hide_stream_quantities(true);
    let (status, order) = d.get(&path).await;
    assert_eq!(status, 200, "{order}");
    let line = order["lineItems"][0].clone();
    assert!(
        line.get("shippedQuantity").is_none() && line.get("remainingQuantity").is_none(),
        "{line}"
    );
    assert_eq!(line["quantity"], 1, "{line}");
}
