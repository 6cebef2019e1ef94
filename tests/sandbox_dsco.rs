//! DSCO simulator tests: one per item of dsco-api.md §9, over plain HTTP.
//!
//! Time-based behaviour (token expiry, scroll expiry, the 5-second `until` rule, processing delay)
//! moves the simulator's `SimClock` instead of sleeping.

use std::time::Duration;

use dsco_brightpearl::sandbox::common::{SimClock, SimServer};
use dsco_brightpearl::sandbox::dsco::{DscoSim, DscoSimConfig, EndpointLimit};
use serde_json::{Value, json};

struct Harness {
    sim: DscoSim,
    server: SimServer,
    http: reqwest::Client,
    token: String,
}

impl Harness {
    async fn start(config: DscoSimConfig) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = DscoSim::new(config);
        let server = sim.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = reqwest::Client::builder().build().unwrap();
        let mut harness = Harness {
            sim,
            server,
            http,
            token: String::new(),
        };
        harness.token = harness.fetch_token().await;
        harness
    }

    /// Default config, the demo world with 20 products and no orders.
    async fn seeded() -> Self {
        let harness = Self::start(DscoSimConfig::default()).await;
        harness.sim.seed_demo(20, 0, 1);
        harness
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v3{path}", self.server.url())
    }

    async fn fetch_token(&self) -> String {
        let config = self.sim.config();
        let response = self
            .http
            .post(self.url("/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", config.client_id.as_str()),
                ("client_secret", config.client_secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .header("Authorization", format!("bearer {}", self.token))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path_and_query))).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.put(self.url(path)).json(&body)).await
    }

    fn advance(&self, seconds: u64) {
        self.sim.clock().advance(Duration::from_secs(seconds));
    }

    /// An RFC 3339 timestamp `offset_seconds` from the simulator's now.
    fn at(&self, offset_seconds: i64) -> String {
        let t = self.sim.clock().now() + chrono::Duration::seconds(offset_seconds);
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// A created order with the given PO, one line of SKU-0001 × `qty` and one of SKU-0002 × 1.
    fn order(&self, po: &str, qty: u32) -> String {
        self.sim
            .create_order(json!({
                "poNumber": po,
                "lineItems": [
                    {"lineNumber": 1, "sku": "SKU-0001", "quantity": qty},
                    {"lineNumber": 2, "sku": "SKU-0002", "quantity": 1},
                ],
            }))
            .unwrap()
    }

    async fn acknowledge(&self, id: &str) {
        let (status, _) = self
            .post(
                "/order/acknowledge",
                json!([{"id": id, "type": "DSCO_ORDER_ID", "supplierOrderNumber": format!("SO-{id}")}]),
            )
            .await;
        assert_eq!(status, 202);
        self.sim.process_pending();
    }

    /// The change-log entries of one request.
    async fn log(&self, which: &str, request_id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/{which}/log?requestId={request_id}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn q(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn line(order: &Value, number: u64) -> &Value {
    order["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lineNumber"] == json!(number))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Auth (§1.3, §9 "Auth")

#[tokio::test]
async fn token_endpoint_issues_bearer_tokens_with_the_configured_lifetime() {
    let h = Harness::start(DscoSimConfig {
        token_ttl: Duration::from_secs(120),
        ..Default::default()
    })
    .await;
    let response = h
        .http
        .post(h.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sandbox-client"),
            ("client_secret", "sandbox-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 120);
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        DscoSimConfig::default().token_ttl,
        Duration::from_secs(3600)
    );
}

#[tokio::test]
async fn token_endpoint_errors_have_the_oauth_shapes() {
    let h = Harness::start(DscoSimConfig::default()).await;
    let call = |form: Vec<(&'static str, &'static str)>| {
        h.http.post(h.url("/oauth2/token")).form(&form).send()
    };
    let missing = call(vec![
        ("grant_type", "client_credentials"),
        ("client_id", "sandbox-client"),
    ])
    .await
    .unwrap();
    assert_eq!(missing.status(), 400);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].is_string());

    let grant = call(vec![
        ("grant_type", "password"),
        ("client_id", "sandbox-client"),
        ("client_secret", "sandbox-secret"),
    ])
    .await
    .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let wrong = call(vec![
        ("grant_type", "client_credentials"),
        ("client_id", "sandbox-client"),
        ("client_secret", "nope"),
    ])
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string());

    // JSON instead of a form is not accepted.
    let json_body = h
        .http
        .post(h.url("/oauth2/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "sandbox-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
}

#[tokio::test]
async fn expired_or_unknown_bearer_gets_401() {
    let h = Harness::start(DscoSimConfig::default()).await;
    assert_eq!(h.get("/hello").await.0, 200);
    h.advance(3601);
    assert_eq!(h.get("/hello").await.0, 401);
    let unknown = h
        .http
        .get(h.url("/hello"))
        .header("Authorization", "bearer not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let missing = h.http.get(h.url("/hello")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    // A fresh token works again after the old one expired.
    let fresh = h.fetch_token().await;
    let ok = h
        .http
        .get(h.url("/hello"))
        .header("Authorization", format!("Bearer {fresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<Value>().await.unwrap(),
        json!({"hello": "World!"})
    );
}

#[tokio::test]
async fn legacy_key_is_accepted_and_the_scheme_word_is_case_insensitive() {
    let h = Harness::start(DscoSimConfig::default()).await;
    let key = h.sim.config().legacy_api_key.clone();
    for scheme in ["bearer", "Bearer", "BEARER"] {
        let response = h
            .http
            .get(h.url("/hello"))
            .header("Authorization", format!("{scheme} {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
    // The legacy key does not expire with the clock.
    h.advance(10 * 3600);
    let later = h
        .http
        .get(h.url("/hello"))
        .header("Authorization", format!("bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), 200);
    let basic = h
        .http
        .get(h.url("/hello"))
        .header("Authorization", format!("Basic {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
}

// ---------------------------------------------------------------------------------------------
// Routing (§1.4, §9 "Routing")

#[tokio::test]
async fn unknown_routes_get_the_api_gateway_403() {
    let h = Harness::start(DscoSimConfig::default()).await;
    let (status, body) = h.get("/order/changelog").await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "Invalid key=value pair (missing equal-sign) in Authorization header"
    );
    // Wrong method on a known path: same answer (a guess, flagged in the code).
    let (status, _) = h.send(h.http.delete(h.url("/order/page"))).await;
    assert_eq!(status, 403);
    // Outside the prefix too.
    let outside = h
        .http
        .get(format!("{}/order/page", h.server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 403);
}

// ---------------------------------------------------------------------------------------------
// Rate limiting (§1.5, §9 "Rate limiting")

#[tokio::test]
async fn per_endpoint_buckets_answer_429_without_headers_and_refill_on_the_clock() {
    let h = Harness::start(DscoSimConfig {
        limits: vec![EndpointLimit::new("GET", "/order/", None, Some(3))],
        ..Default::default()
    })
    .await;
    h.order_via_sim_default();
    let id = h.sim.orders()[0]["dscoOrderId"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        assert_eq!(
            h.get(&format!("/order/?orderKey=dscoOrderId&value={id}"))
                .await
                .0,
            200
        );
    }
    let response = h
        .http
        .get(h.url(&format!("/order?orderKey=dscoOrderId&value={id}")))
        .header("Authorization", format!("bearer {}", h.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_none());
    assert!(
        !response
            .headers()
            .keys()
            .any(|k| k.as_str().starts_with("x-ratelimit"))
    );
    // Other endpoints have their own buckets.
    assert_eq!(h.get("/hello").await.0, 200);
    h.advance(60);
    assert_eq!(
        h.get(&format!("/order/?orderKey=dscoOrderId&value={id}"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn rate_limits_can_be_switched_off_and_default_to_the_reference_table() {
    let limits = DscoSimConfig::default().limits;
    let page = limits.iter().find(|l| l.path == "/order/page").unwrap();
    assert_eq!((page.per_second, page.per_minute), (Some(10), Some(500)));
    let single = limits
        .iter()
        .find(|l| l.path == "/inventory/singleItem")
        .unwrap();
    assert_eq!((single.per_second, single.per_minute), (Some(5), Some(300)));

    let h = Harness::start(DscoSimConfig {
        rate_limits: false,
        limits: vec![EndpointLimit::new("GET", "/tradingpartner", None, Some(1))],
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(h.get("/tradingpartner").await.0, 200);
    }
}

impl Harness {
    fn order_via_sim_default(&self) -> String {
        self.sim.seed_demo(5, 0, 1);
        self.order("PO-RATE", 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Orders: retailer create (§9 "Orders")

#[tokio::test]
async fn retailer_create_answers_201_then_200_for_an_existing_po() {
    let h = Harness::seeded().await;
    // The synthetic order of dsco-api.md §2.4, trimmed to what a retailer sends.
    let order = json!({
        "poNumber": "BOX.70000001.60000001", "channel": "2504AAAAA", "orderType": "dropship",
        "testFlag": false, "dscoRetailerId": "1000002",
        "requestedShipCarrier": "Generic", "requestedShipMethod": "Ground", "requestedShippingServiceLevelCode": "GCG",
        "shipCarrier": "Generic", "shipMethod": "Ground", "shippingServiceLevelCode": "GCG",
        "giftMessage": "Happy birthday", "packingInstructions": "No invoice in the box",
        "shipping": {"name": "Pat Example", "address": ["1 Main St Apt B"], "city": "Springfield",
                     "region": "NJ", "postal": "07000", "country": "US", "phone": "15550000000"},
        "lineItems": [{"lineNumber": 1, "sku": "SKU-0003", "quantity": 2, "expectedCost": 7.7, "consumerPrice": 21}]
    });
    let (status, body) = h.post("/order/", order.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "success");
    assert!(body["eventDate"].is_string());
    let id = body["dscoOrderIds"][0].as_str().unwrap().to_owned();
    assert_eq!(body["dscoOrders"][0]["dscoOrderId"], json!(id));
    let (status, again) = h.post("/order", order).await;
    assert_eq!(status, 200);
    assert_eq!(again["dscoOrderIds"], json!([id]));
    assert_eq!(h.sim.orders().len(), 1);
}

#[tokio::test]
async fn retailer_create_rejects_orders_missing_required_fields() {
    let h = Harness::seeded().await;
    let ok_line = json!([{"sku": "SKU-0001", "quantity": 1}]);
    let shipping = json!({"name": "A", "city": "X", "region": "NJ", "postal": "07000"});
    for bad in [
        json!({"lineItems": ok_line, "shipping": shipping}),
        json!({"poNumber": "P1", "shipping": shipping}),
        json!({"poNumber": "P1", "lineItems": [{"sku": "SKU-0001", "quantity": 0}], "shipping": shipping}),
        json!({"poNumber": "P1", "lineItems": [{"quantity": 1}], "shipping": shipping}),
        json!({"poNumber": "P1", "lineItems": ok_line}),
        json!({"poNumber": "P1", "lineItems": ok_line, "shipping": {"name": "A", "city": "X"}}),
    ] {
        let (status, body) = h.post("/order/", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["status"], "failure");
        assert_eq!(body["messages"][0]["severity"], "error");
    }
    assert!(h.sim.orders().is_empty());
}

#[tokio::test]
async fn orders_carry_the_openapi_field_names() {
    let h = Harness::seeded().await;
    let id = h
        .sim
        .create_order(json!({
            "poNumber": "PO-FIELDS", "giftMessage": "Enjoy", "packingInstructions": "Fragile",
            "lineItems": [{"sku": "SKU-0004", "quantity": 2}],
        }))
        .unwrap();
    let (status, order) = h
        .get(&format!("/order/?orderKey=dscoOrderId&value={id}"))
        .await;
    assert_eq!(status, 200);
    for field in [
        "dscoOrderId",
        "poNumber",
        "dscoRetailerId",
        "dscoSupplierId",
        "dscoLifecycle",
        "dscoStatus",
        "dscoCreateDate",
        "dscoLastUpdate",
        "testFlag",
        "currencyCode",
        "shippingServiceLevelCode",
        "shipCarrier",
        "shipMethod",
        "giftMessage",
        "packingInstructions",
        "consumerOrderNumber",
        "packages",
        "cancelRequested",
    ] {
        assert!(order.get(field).is_some(), "missing {field}");
    }
    assert_eq!(order["dscoLifecycle"], "created");
    assert_eq!(order["dscoStatus"], "created");
    for field in [
        "name", "address", "address1", "city", "region", "state", "postal", "country",
    ] {
        assert!(
            order["shipping"].get(field).is_some(),
            "missing shipping.{field}"
        );
    }
    let l = line(&order, 1);
    let product = dsco_brightpearl::sandbox::demo::product(4);
    assert_eq!(l["sku"], "SKU-0004");
    assert_eq!(l["upc"], json!(product.dsco_upc));
    assert_eq!(l["ean"], json!(product.ean));
    assert_eq!(l["mpn"], json!(product.mpn));
    assert!(l["dscoItemId"].is_string());
    assert_eq!(l["quantity"], 2);
    assert_eq!(
        l["expectedCost"],
        json!(product.cost.parse::<f64>().unwrap())
    );
    assert!(l["consumerPrice"].is_number());
    assert_eq!(l["cancelledQuantity"], 0);
    assert_eq!(l["rejectedQuantity"], 0);
    assert_eq!(l["activity"][0]["action"], "add");
    // Dates in DSCO's style: seconds and +00:00.
    assert!(
        order["dscoCreateDate"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
}

// ---------------------------------------------------------------------------------------------
// Orders: /order/page (§2.2)

#[tokio::test]
async fn page_requires_a_since_and_an_until_at_least_5_seconds_old() {
    let h = Harness::seeded().await;
    let since = q(&h.at(-3600));
    let (status, body) = h
        .get(&format!(
            "/order/page?ordersCreatedSince={since}&until={}",
            q(&h.at(-2))
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "failure");
    assert_eq!(
        h.get(&format!("/order/page?ordersCreatedSince={since}"))
            .await
            .0,
        400
    );
    assert_eq!(
        h.get(&format!("/order/page?until={}", q(&h.at(-10))))
            .await
            .0,
        400
    );
    assert_eq!(
        h.get(&format!(
            "/order/page?ordersCreatedSince=yesterday&until={}",
            q(&h.at(-10))
        ))
        .await
        .0,
        400
    );
    let (status, body) = h
        .get(&format!(
            "/order/page?ordersCreatedSince={since}&until={}",
            q(&h.at(-6))
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["orders"], json!([]));
}

#[tokio::test]
async fn created_since_is_inclusive_and_updated_since_exclusive() {
    let h = Harness::seeded().await;
    let id = h.order("PO-WINDOW", 1);
    let created = h.sim.order(&id).unwrap()["dscoCreateDate"]
        .as_str()
        .unwrap()
        .to_owned();
    h.advance(10);
    let until = q(&h.at(-5));
    let (_, inclusive) = h
        .get(&format!(
            "/order/page?ordersCreatedSince={}&until={until}",
            q(&created)
        ))
        .await;
    assert_eq!(inclusive["orders"].as_array().unwrap().len(), 1);
    let (_, exclusive) = h
        .get(&format!(
            "/order/page?ordersUpdatedSince={}&until={until}",
            q(&created)
        ))
        .await;
    assert_eq!(exclusive["orders"], json!([]));
    // An update moves dscoLastUpdate, and the order shows up for an updated-since window.
    h.acknowledge(&id).await;
    h.advance(10);
    let (_, updated) = h
        .get(&format!(
            "/order/page?ordersUpdatedSince={}&until={}",
            q(&created),
            q(&h.at(-5))
        ))
        .await;
    assert_eq!(updated["orders"][0]["dscoOrderId"], json!(id));
    // Both given: ordersCreatedSince wins (a guess): created window after the order → nothing.
    let (_, both) = h
        .get(&format!(
            "/order/page?ordersCreatedSince={}&ordersUpdatedSince={}&until={}",
            q(&h.at(-6)),
            q(&created),
            q(&h.at(-5))
        ))
        .await;
    assert_eq!(both["orders"], json!([]));
}

#[tokio::test]
async fn page_status_is_repeatable() {
    let h = Harness::seeded().await;
    let a = h.order("PO-A", 1);
    let b = h.order("PO-B", 1);
    let c = h.order("PO-C", 1);
    h.acknowledge(&b).await;
    h.sim.cancel_order(&c).unwrap();
    h.advance(10);
    let window = format!(
        "ordersCreatedSince={}&until={}",
        q(&h.at(-3600)),
        q(&h.at(-5))
    );
    let ids = |body: &Value| -> Vec<String> {
        let mut ids: Vec<String> = body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["dscoOrderId"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let (_, one) = h.get(&format!("/order/page?{window}&status=created")).await;
    assert_eq!(ids(&one), vec![a.clone()]);
    let (_, two) = h
        .get(&format!(
            "/order/page?{window}&status=shipment_pending&status=cancelled"
        ))
        .await;
    assert_eq!(ids(&two), vec![b.clone(), c.clone()]);
    let (_, all) = h.get(&format!("/order/page?{window}")).await;
    assert_eq!(ids(&all).len(), 3);
    assert_eq!(
        h.get(&format!("/order/page?{window}&status=acknowledged"))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn orders_per_page_must_be_between_10_and_1000() {
    let h = Harness::seeded().await;
    let window = format!(
        "ordersCreatedSince={}&until={}",
        q(&h.at(-3600)),
        q(&h.at(-5))
    );
    assert_eq!(
        h.get(&format!("/order/page?{window}&ordersPerPage=9"))
            .await
            .0,
        400
    );
    assert_eq!(
        h.get(&format!("/order/page?{window}&ordersPerPage=1001"))
            .await
            .0,
        400
    );
    assert_eq!(
        h.get(&format!("/order/page?{window}&ordersPerPage=ten"))
            .await
            .0,
        400
    );
    assert_eq!(
        h.get(&format!("/order/page?{window}&ordersPerPage=10"))
            .await
            .0,
        200
    );
    assert_eq!(
        h.get(&format!("/order/page?{window}&ordersPerPage=1000"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn scroll_pages_follow_by_scroll_id_alone_and_end_with_an_empty_page() {
    let h = Harness::seeded().await;
    for n in 0..25 {
        h.order(&format!("PO-S{n:02}"), 1);
    }
    h.advance(10);
    let (status, first) = h
        .get(&format!(
            "/order/page?ordersCreatedSince={}&until={}&ordersPerPage=10",
            q(&h.at(-3600)),
            q(&h.at(-5))
        ))
        .await;
    assert_eq!(status, 200);
    let scroll = first["scrollId"].as_str().unwrap().to_owned();
    let mut seen: Vec<Value> = first["orders"].as_array().unwrap().clone();
    assert_eq!(seen.len(), 10);
    let mut sizes = vec![];
    loop {
        let (status, page) = h.get(&format!("/order/page?scrollId={}", q(&scroll))).await;
        assert_eq!(status, 200);
        let orders = page["orders"].as_array().unwrap();
        sizes.push(orders.len());
        if orders.is_empty() {
            assert!(page.get("scrollId").is_none_or(Value::is_null));
            break;
        }
        assert_eq!(
            page["scrollId"],
            json!(scroll),
            "the scroll id stays the same"
        );
        seen.extend(orders.iter().cloned());
    }
    assert_eq!(sizes, vec![10, 5, 0]);
    let mut ids: Vec<&str> = seen
        .iter()
        .map(|o| o["dscoOrderId"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25);
}

#[tokio::test]
async fn scroll_ids_expire_after_five_idle_minutes() {
    let h = Harness::seeded().await;
    for n in 0..12 {
        h.order(&format!("PO-E{n:02}"), 1);
    }
    h.advance(10);
    let (_, first) = h
        .get(&format!(
            "/order/page?ordersCreatedSince={}&until={}&ordersPerPage=10",
            q(&h.at(-3600)),
            q(&h.at(-5))
        ))
        .await;
    let scroll = q(first["scrollId"].as_str().unwrap());
    h.advance(299);
    assert_eq!(
        h.get(&format!("/order/page?scrollId={scroll}")).await.0,
        200
    );
    h.advance(301);
    let (status, _) = h.get(&format!("/order/page?scrollId={scroll}")).await;
    assert_eq!(status, 404);
    assert_eq!(h.get("/order/page?scrollId=never-issued").await.0, 404);
}

#[tokio::test]
async fn test_orders_are_hidden_unless_asked_for() {
    let h = Harness::seeded().await;
    h.order("PO-REAL", 1);
    h.sim
        .create_order(json!({"poNumber": "PO-TEST", "testFlag": true}))
        .unwrap();
    h.advance(10);
    let window = format!(
        "ordersCreatedSince={}&until={}",
        q(&h.at(-3600)),
        q(&h.at(-5))
    );
    let (_, hidden) = h.get(&format!("/order/page?{window}")).await;
    assert_eq!(hidden["orders"].as_array().unwrap().len(), 1);
    assert_eq!(hidden["orders"][0]["poNumber"], "PO-REAL");
    let (_, shown) = h
        .get(&format!("/order/page?{window}&includeTestOrders=true"))
        .await;
    assert_eq!(shown["orders"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn scroll_id_then_consumer_order_number_take_precedence_over_dates() {
    let h = Harness::seeded().await;
    h.sim
        .create_order(json!({"poNumber": "PO-CON1", "consumerOrderNumber": "CON-42"}))
        .unwrap();
    h.sim
        .create_order(json!({"poNumber": "PO-CON2", "consumerOrderNumber": "CON-43"}))
        .unwrap();
    // No dates and no until: the consumer-number search needs neither.
    let (status, body) = h.get("/order/page?consumerOrderNumber=CON-42").await;
    assert_eq!(status, 200);
    assert_eq!(body["orders"].as_array().unwrap().len(), 1);
    assert_eq!(body["orders"][0]["poNumber"], "PO-CON1");
    // With a scrollId, the other (even invalid) params are ignored.
    let scroll = q(body["scrollId"].as_str().unwrap());
    let (status, next) = h
        .get(&format!(
            "/order/page?scrollId={scroll}&ordersPerPage=5&until=garbage"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(next["orders"], json!([]));
}

#[tokio::test]
async fn get_order_by_each_of_the_three_keys_or_404() {
    let h = Harness::seeded().await;
    let id = h.order("PO-KEYS", 1);
    assert_eq!(
        h.get("/order/?orderKey=supplierOrderNumber&value=SO-X")
            .await
            .0,
        404
    );
    h.acknowledge(&id).await;
    for (key, value) in [
        ("dscoOrderId", id.clone()),
        ("poNumber", "PO-KEYS".to_owned()),
        ("supplierOrderNumber", format!("SO-{id}")),
    ] {
        let (status, order) = h
            .get(&format!("/order/?orderKey={key}&value={value}"))
            .await;
        assert_eq!(status, 200, "{key}");
        assert_eq!(order["dscoOrderId"], json!(id));
    }
    let (status, many) = h
        .get("/order?orderKey=poNumber&value=PO-KEYS&returnMultiple=true")
        .await;
    assert_eq!(status, 200);
    assert_eq!(many.as_array().unwrap().len(), 1);
    assert_eq!(h.get("/order/?orderKey=dscoOrderId&value=1").await.0, 404);
    assert_eq!(h.get("/order/?orderKey=id&value=1").await.0, 400);
}

// ---------------------------------------------------------------------------------------------
// State machine (§2.3, §9 "State machine")

#[tokio::test]
async fn acknowledge_moves_the_order_to_shipment_pending() {
    let h = Harness::seeded().await;
    let a = h.order("PO-ACK1", 2);
    let b = h.order("BOX.70000002.60000002", 1);
    // The reference's example body (§2.5), ids replaced.
    let (status, body) = h
        .post(
            "/order/acknowledge",
            json!([{"id": a, "type": "DSCO_ORDER_ID", "supplierOrderNumber": "BP-SO-10045"},
                   {"id": "BOX.70000002.60000002", "type": "PO_NUMBER"}]),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["messages"], json!([]));
    assert!(body["eventDate"].is_string());
    let request_id = body["requestId"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok());
    let log = h.log("order", &request_id).await;
    assert_eq!(log["status"], "COMPLETED");
    assert!(
        log["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "success")
    );
    let order = h.sim.order(&a).unwrap();
    assert_eq!(order["dscoLifecycle"], "acknowledged");
    assert_eq!(order["dscoStatus"], "shipment_pending");
    assert_eq!(order["supplierOrderNumber"], "BP-SO-10045");
    assert_eq!(line(&order, 1)["acceptedQuantity"], 2);
    assert_eq!(h.sim.order(&b).unwrap()["dscoStatus"], "shipment_pending");
    // A public client's wrong shape ({id, idType}) fails in the log (§8 item 9).
    let (_, body) = h
        .post(
            "/order/acknowledge",
            json!([{"id": a, "idType": "dscoOrderId"}]),
        )
        .await;
    let log = h.log("order", body["requestId"].as_str().unwrap()).await;
    assert_eq!(log["logs"][0]["status"], "failure");
    // A wrapper object instead of a bare array is refused outright.
    let (status, _) = h
        .post(
            "/order/acknowledge",
            json!({"orderIds": [{"id": a, "type": "DSCO_ORDER_ID"}]}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn shipments_record_packages_and_complete_the_order_when_every_unit_ships() {
    let h = Harness::seeded().await;
    let id = h.order("PO-SHIP", 3);
    h.acknowledge(&id).await;
    // Partial: two of line 1, via the batch endpoint (example body of §3.1).
    let (status, body) = h
        .post(
            "/order/shipment/batch/small",
            json!([{"dscoOrderId": id,
                    "shipments": [{"trackingNumber": "9400100000000000000001", "shipDate": "2025-11-11T22:38:59Z",
                                   "shipCarrier": "USPS", "shipMethod": "Ground Advantage", "shippingServiceLevelCode": "USGA",
                                   "warehouseCode": "WH-MAIN", "shipWeight": 1, "shipWeightUnits": "LB", "shipCost": 0,
                                   "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "quantity": 2}]}]}]),
        )
        .await;
    assert_eq!(status, 202);
    let log = h.log("order", body["requestId"].as_str().unwrap()).await;
    assert_eq!(log["logs"][0]["status"], "success", "{log}");
    let order = h.sim.order(&id).unwrap();
    assert_eq!(order["dscoStatus"], "shipment_pending");
    assert_eq!(order["dscoLifecycle"], "acknowledged");
    let package = &order["packages"][0];
    assert!(package["dscoPackageId"].is_u64());
    assert_eq!(package["trackingNumber"], "9400100000000000000001");
    assert_eq!(package["items"][0]["quantity"], 2);
    assert_eq!(package["shipDate"], "2025-11-11T22:38:59+00:00");
    let l1 = line(&order, 1);
    assert_eq!(l1["status"], "accepted");
    assert_eq!(
        l1["statusReason"],
        "Tracking # 9400100000000000000001 added"
    );
    let ship = l1["activity"].as_array().unwrap().last().unwrap();
    assert_eq!(ship["action"], "ship");
    assert_eq!(ship["reason"], "Tracking # 9400100000000000000001 added");
    // The rest through the single endpoint, using poNumber and a carrier + method instead of a code.
    let (status, body) = h
        .post(
            "/order/singleShipment",
            json!({"poNumber": "PO-SHIP",
                   "shipments": [{"trackingNumber": "1Z999", "shipCarrier": "UPS", "shipMethod": "Ground",
                                  "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "quantity": 1},
                                                {"sku": "SKU-0002", "quantity": 1}]}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"success": true}));
    let order = h.sim.order(&id).unwrap();
    assert_eq!(order["dscoStatus"], "shipped");
    assert_eq!(order["dscoLifecycle"], "completed");
    let packages = order["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2);
    assert_ne!(packages[0]["dscoPackageId"], packages[1]["dscoPackageId"]);
}

#[tokio::test]
async fn cancelling_every_unit_cancels_the_order() {
    let h = Harness::seeded().await;
    let id = h.order("PO-CXL", 2);
    h.acknowledge(&id).await;
    // Single item cancel answers with the update-response shape.
    let (status, body) = h
        .post(
            "/order/item/cancel",
            json!({"id": id, "type": "DSCO_ORDER_ID",
                   "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "cancelledQuantity": 1,
                                  "cancelCode": "CXSS", "cancelledReason": "out of stock at all warehouses"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert!(body["requestId"].is_string() && body["eventDate"].is_string());
    assert_eq!(body["messages"], json!([]));
    let order = h.sim.order(&id).unwrap();
    assert_eq!(order["dscoStatus"], "shipment_pending");
    let l1 = line(&order, 1);
    assert_eq!(l1["cancelledQuantity"], 1);
    assert_eq!(l1["cancelCode"], "CXSS");
    assert_eq!(l1["acceptedQuantity"], 1);
    assert_eq!(
        l1["activity"].as_array().unwrap().last().unwrap()["action"],
        "cancel"
    );
    // The rest through the batch endpoint (example body of §2.6).
    let (status, body) = h
        .post(
            "/order/item/cancel/batch/small",
            json!([{"id": id, "type": "DSCO_ORDER_ID",
                    "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "cancelledQuantity": 1, "cancelCode": "CXSS"},
                                  {"lineNumber": 2, "sku": "SKU-0002", "cancelledQuantity": 1, "cancelCode": "CXSD"}]}]),
        )
        .await;
    assert_eq!(status, 202);
    let log = h.log("order", body["requestId"].as_str().unwrap()).await;
    assert_eq!(log["logs"][0]["status"], "success", "{log}");
    let order = h.sim.order(&id).unwrap();
    assert_eq!(order["dscoStatus"], "cancelled");
    assert_eq!(order["dscoLifecycle"], "completed");
    assert_eq!(line(&order, 2)["status"], "cancelled");
    // Nothing more to cancel: refused, with a failure body.
    let (status, body) = h
        .post(
            "/order/item/cancel",
            json!({"id": id, "type": "DSCO_ORDER_ID",
                   "lineItems": [{"sku": "SKU-0001", "cancelledQuantity": 1, "cancelCode": "CXSS"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "failure");
}

#[tokio::test]
async fn item_cancel_refuses_unknown_codes_and_over_cancelling() {
    let h = Harness::seeded().await;
    let id = h.order("PO-CXL2", 1);
    for lines in [
        json!([{"sku": "SKU-0001", "cancelledQuantity": 1, "cancelCode": "NOPE"}]),
        json!([{"sku": "SKU-0001", "cancelledQuantity": 5, "cancelCode": "CXSS"}]),
        json!([{"sku": "SKU-0001", "cancelledQuantity": 1}]),
        json!([{"lineNumber": 1, "cancelledQuantity": 1, "cancelCode": "CXSS"}]),
    ] {
        let (status, body) = h
            .post(
                "/order/item/cancel",
                json!({"id": id, "type": "DSCO_ORDER_ID", "lineItems": lines}),
            )
            .await;
        assert_eq!(status, 400, "{lines}");
        assert_eq!(body["status"], "failure");
        assert!(!body["messages"].as_array().unwrap().is_empty());
    }
    assert_eq!(line(&h.sim.order(&id).unwrap(), 1)["cancelledQuantity"], 0);
}

// ---------------------------------------------------------------------------------------------
// Async processing and change logs (§1.8, §9 "Async processing")

#[tokio::test]
async fn async_work_waits_for_the_processing_delay() {
    let h = Harness::start(DscoSimConfig {
        processing_delay: Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    h.sim.seed_demo(5, 0, 1);
    let id = h.order("PO-DELAY", 1);
    let (status, body) = h
        .post(
            "/order/acknowledge",
            json!([{"id": id, "type": "DSCO_ORDER_ID"}]),
        )
        .await;
    assert_eq!(status, 202);
    let request_id = body["requestId"].as_str().unwrap().to_owned();
    let log = h.log("order", &request_id).await;
    assert_eq!(log["status"], "PROCESSING");
    assert_eq!(log["logs"][0]["status"], "pending");
    let received = log["logs"][0]["dateProcessed"].as_str().unwrap().to_owned();
    assert_eq!(h.sim.order(&id).unwrap()["dscoStatus"], "created");
    h.advance(29);
    assert_eq!(h.log("order", &request_id).await["status"], "PROCESSING");
    h.advance(2);
    let log = h.log("order", &request_id).await;
    assert_eq!(log["status"], "COMPLETED");
    let entry = &log["logs"][0];
    assert_eq!(entry["status"], "success");
    assert_eq!(entry["requestMethod"], "api");
    assert_eq!(entry["requestId"], json!(request_id));
    assert_eq!(entry["payload"]["id"], json!(id));
    assert_ne!(entry["dateProcessed"].as_str().unwrap(), received);
    assert_eq!(h.sim.order(&id).unwrap()["dscoStatus"], "shipment_pending");
}

#[tokio::test]
async fn change_log_filters_by_request_dates_and_status() {
    let h = Harness::seeded().await;
    let id = h.order("PO-LOG", 1);
    let (_, good) = h
        .post("/inventory/batch/small", json!([{"sku": "SKU-0001", "quantityAvailable": 4, "status": "in-stock",
                                                "warehouses": [{"code": "WH-MAIN", "quantity": 4}]}]))
        .await;
    let (_, bad) = h
        .post("/inventory/batch/small", json!([{"sku": "SKU-0002", "quantityAvailable": 9,
                                                "warehouses": [{"code": "WH-MAIN", "quantity": 4}]}]))
        .await;
    h.sim.process_pending();
    let window = format!("startDate={}&endDate={}", q(&h.at(-60)), q(&h.at(60)));
    let (status, all) = h.get(&format!("/inventory/log?{window}")).await;
    assert_eq!(status, 200);
    assert_eq!(all["logs"].as_array().unwrap().len(), 2);
    assert!(
        all.get("status").is_none(),
        "the flag is only given with requestId"
    );
    let (_, failures) = h
        .get(&format!("/inventory/log?{window}&status=failure"))
        .await;
    assert_eq!(failures["logs"].as_array().unwrap().len(), 1);
    assert_eq!(failures["logs"][0]["requestId"], bad["requestId"]);
    let (_, both) = h
        .get(&format!(
            "/inventory/log?{window}&status=success_or_failure"
        ))
        .await;
    assert_eq!(both["logs"].as_array().unwrap().len(), 2);
    let (_, by_id) = h
        .get(&format!(
            "/inventory/log?requestId={}",
            good["requestId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_id["logs"].as_array().unwrap().len(), 1);
    assert_eq!(by_id["logs"][0]["status"], "success");
    // A window in the past holds nothing; inventory entries are not in the order log.
    let (_, old) = h
        .get(&format!(
            "/inventory/log?startDate={}&endDate={}",
            q(&h.at(-7200)),
            q(&h.at(-3600))
        ))
        .await;
    assert_eq!(old["logs"], json!([]));
    let (_, order_log) = h.get(&format!("/order/log?{window}")).await;
    assert_eq!(order_log["logs"], json!([]));
    // Either requestId or both dates.
    assert_eq!(
        h.get(&format!("/inventory/log?startDate={}", q(&h.at(-60))))
            .await
            .0,
        400
    );
    assert_eq!(h.get("/invoice/log").await.0, 400);
    assert_eq!(
        h.get(&format!("/order/log?{window}&status=done")).await.0,
        400
    );
    let _ = id;
}

#[tokio::test]
async fn rejected_shipments_fail_in_the_log_not_in_the_response() {
    let h = Harness::seeded().await;
    let id = h.order("PO-BADSHIP", 1);
    h.acknowledge(&id).await;
    let shipment = |extra: Value| {
        let mut s = json!({"trackingNumber": "T-1", "shippingServiceLevelCode": "UPCG",
                           "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "quantity": 1}]});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                s.as_object_mut().unwrap().remove(k);
            } else {
                s[k] = v.clone();
            }
        }
        json!([{"dscoOrderId": id, "shipments": [s]}])
    };
    let cases = [
        (
            "missing tracking",
            json!({"trackingNumber": null}),
            "trackingNumber",
        ),
        (
            "order-level code",
            json!({"shippingServiceLevelCode": "GCG"}),
            "order-level",
        ),
        (
            "unknown code",
            json!({"shippingServiceLevelCode": "ZZZZ"}),
            "unknown shippingServiceLevelCode",
        ),
        (
            "over-shipping",
            json!({"lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "quantity": 2}]}),
            "only 1",
        ),
        (
            "unknown line",
            json!({"lineItems": [{"sku": "SKU-0019", "quantity": 1}]}),
            "no line",
        ),
    ];
    for (name, extra, text) in cases {
        let (status, body) = h.post("/order/shipment/batch/small", shipment(extra)).await;
        assert_eq!(status, 202, "{name}");
        let log = h.log("order", body["requestId"].as_str().unwrap()).await;
        let entry = &log["logs"][0];
        assert_eq!(entry["status"], "failure", "{name}");
        let description = entry["results"][0]["description"].as_str().unwrap();
        assert!(description.contains(text), "{name}: {description}");
        assert_eq!(entry["results"][0]["severity"], "error");
    }
    assert_eq!(h.sim.order(&id).unwrap()["packages"], json!([]));
    // Untracked shipments need no tracking number.
    let (_, body) = h
        .post(
            "/order/shipment/batch/small",
            shipment(json!({"trackingNumber": null, "untracked": true})),
        )
        .await;
    let log = h.log("order", body["requestId"].as_str().unwrap()).await;
    assert_eq!(log["logs"][0]["status"], "success", "{log}");
}

#[tokio::test]
async fn single_shipment_fails_synchronously() {
    let h = Harness::seeded().await;
    let id = h.order("PO-SYNC", 1);
    let (status, body) = h
        .post(
            "/order/singleShipment",
            json!({"dscoOrderId": id, "shipments": [{"shippingServiceLevelCode": "GCG",
                   "lineItems": [{"sku": "SKU-0001", "quantity": 1}]}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "failure");
    assert_eq!(body["messages"].as_array().unwrap().len(), 2, "{body}");
    let (status, _) = h
        .post(
            "/order/singleShipment",
            json!({"dscoOrderId": "999", "shipments": []}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(h.sim.order(&id).unwrap()["packages"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// Inventory (§4, §9 "inventory")

#[tokio::test]
async fn inventory_enforces_the_sum_and_warehouse_rules_and_infers_status() {
    let h = Harness::seeded().await;
    // The reference's JSON Lines sample, SKUs and codes mapped to the demo world.
    let (status, body) = h
        .post(
            "/inventory/batch/small",
            json!([
                {"sku": "SKU-0001", "quantityAvailable": 45, "status": "in-stock",
                 "warehouses": [{"code": "WH-MAIN", "quantity": 40}, {"code": "WH-EAST", "quantity": 5}]},
                {"sku": "SKU-0002", "quantityAvailable": 0, "status": "in-stock",
                 "warehouses": [{"code": "WH-MAIN", "quantity": 0}, {"code": "WH-EAST", "quantity": 0}]},
                {"sku": "SKU-0003", "quantityAvailable": 3, "status": "discontinued",
                 "warehouses": [{"code": "WH-MAIN", "quantity": 3}]},
                {"sku": "SKU-0004", "quantityAvailable": 10, "status": "in-stock",
                 "warehouses": [{"code": "WH-MAIN", "quantity": 4}]},
                {"sku": "SKU-0005", "quantityAvailable": 0, "status": "out-of-stock", "warehouses": []},
                {"sku": "SKU-0006", "quantityAvailable": 1, "warehouses": [{"code": "WH-NOWHERE", "quantity": 1}]},
            ]),
        )
        .await;
    assert_eq!(status, 202);
    let log = h
        .log("inventory", body["requestId"].as_str().unwrap())
        .await;
    let statuses: Vec<&str> = log["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "success", "success", "success", "failure", "failure", "failure"
        ]
    );
    let get = |sku: &'static str| {
        h.get(Box::leak(
            format!("/inventory?itemKey=sku&value={sku}").into_boxed_str(),
        ))
    };
    let (status, one) = get("SKU-0001").await;
    assert_eq!(status, 200);
    assert_eq!(one["quantityAvailable"], 45);
    assert_eq!(get("SKU-0002").await.1["status"], "out-of-stock");
    assert_eq!(get("SKU-0003").await.1["status"], "in-stock");
    // Single item: 201 or a synchronous failure.
    let (status, body) = h
        .post(
            "/inventory/singleItem",
            json!({"sku": "SKU-0007", "quantityAvailable": 2, "status": "in-stock",
                                               "warehouses": [{"code": "WH-WEST", "quantity": 2}]}),
        )
        .await;
    assert_eq!((status, body), (201, json!({"success": true})));
    let (status, body) = h
        .post(
            "/inventory/singleItem",
            json!({"sku": "SKU-0007", "quantityAvailable": 3,
                                               "warehouses": [{"code": "WH-WEST", "quantity": 2}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "failure");
    assert_eq!(get("SKU-0007").await.1["quantityAvailable"], 2);
    assert_eq!(h.get("/inventory?itemKey=sku&value=NOPE").await.0, 404);
}

#[tokio::test]
async fn unknown_skus_fail_unless_skipped() {
    let h = Harness::seeded().await;
    let item = json!([{"sku": "NOT-IN-CATALOG", "quantityAvailable": 1, "warehouses": [{"code": "WH-MAIN", "quantity": 1}]}]);
    let (_, body) = h.post("/inventory/batch/small", item.clone()).await;
    assert_eq!(
        h.log("inventory", body["requestId"].as_str().unwrap())
            .await["logs"][0]["status"],
        "failure"
    );
    let (_, body) = h
        .post("/inventory/batch/small?skipItemsThatDontExist=true", item)
        .await;
    assert_eq!(
        h.log("inventory", body["requestId"].as_str().unwrap())
            .await["logs"][0]["status"],
        "success"
    );
    assert_eq!(
        h.get("/inventory?itemKey=sku&value=NOT-IN-CATALOG").await.0,
        404
    );
}

#[tokio::test]
async fn incoming_orders_decrement_inventory() {
    let h = Harness::seeded().await;
    let before = h.get("/inventory?itemKey=sku&value=SKU-0001").await.1["quantityAvailable"]
        .as_i64()
        .unwrap();
    assert!(before >= 3);
    h.order("PO-DEC", 3);
    let (_, after) = h.get("/inventory?itemKey=sku&value=SKU-0001").await;
    assert_eq!(after["quantityAvailable"].as_i64().unwrap(), before - 3);
    let sum: i64 = after["warehouses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, before - 3);
    // Ordering more than is left floors at zero and flips the status.
    h.order("PO-DEC2", 500);
    let (_, empty) = h.get("/inventory?itemKey=sku&value=SKU-0001").await;
    assert_eq!(empty["quantityAvailable"], 0);
    assert_eq!(empty["status"], "out-of-stock");
}

// ---------------------------------------------------------------------------------------------
// Invoices (§5, §9 "invoices")

#[tokio::test]
async fn invoices_are_visible_only_after_processing() {
    let h = Harness::start(DscoSimConfig {
        processing_delay: Duration::from_secs(20),
        ..Default::default()
    })
    .await;
    h.sim.seed_demo(5, 0, 1);
    h.sim
        .create_order(json!({"poNumber": "BOX.70000001.60000001",
                             "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "quantity": 1},
                                           {"lineNumber": 2, "sku": "SKU-0002", "quantity": 1}]}))
        .unwrap();
    // The reference's example invoice (§5.2), SKUs mapped to the demo world.
    let invoice = json!({"invoiceId": "INV-10045", "poNumber": "BOX.70000001.60000001", "invoiceDate": "2025-11-12T00:00:00Z",
        "currencyCode": "USD", "totalAmount": 20.4, "lineItemsSubtotal": 15.4, "freightAmount": 5.0,
        "terms": {"type": "Net", "netDays": 30},
        "ship": {"date": "2025-11-11T22:38:59Z", "trackingNumber": "9400100000000000000001", "serviceLevelCode": "USGA"},
        "lineItems": [{"lineNumber": 1, "sku": "SKU-0001", "quantity": 1, "unitPrice": 7.7},
                      {"lineNumber": 2, "sku": "SKU-0002", "quantity": 1, "unitPrice": 7.7}]});
    let (status, body) = h.post("/invoice", invoice).await;
    assert_eq!((status, body), (201, json!({"success": true})));
    assert_eq!(h.get("/invoice?key=invoiceId&value=INV-10045").await.0, 404);
    h.advance(21);
    let (status, found) = h.get("/invoice?key=invoiceId&value=INV-10045").await;
    assert_eq!(status, 200);
    let inv = &found["invoices"][0];
    assert!(inv["dscoInvoiceId"].is_string());
    assert!(inv["dscoOrderId"].is_string());
    for key in ["poNumber", "dscoInvoiceId", "trackingNumber"] {
        let value = if key == "trackingNumber" {
            "9400100000000000000001".to_owned()
        } else {
            inv[key].as_str().unwrap().to_owned()
        };
        let (status, by) = h.get(&format!("/invoice?key={key}&value={value}")).await;
        assert_eq!(status, 200, "{key}");
        assert_eq!(by["invoices"].as_array().unwrap().len(), 1);
    }
    assert_eq!(h.sim.invoices().len(), 1);
    assert_eq!(h.get("/invoice?key=amount&value=1").await.0, 400);
}

#[tokio::test]
async fn invoice_rejections_missing_unit_price_and_reused_id() {
    let h = Harness::seeded().await;
    h.order("PO-INV", 1);
    let invoice = |id: &str, unit_price: Option<f64>| {
        let mut line = json!({"lineNumber": 1, "sku": "SKU-0001", "quantity": 1});
        if let Some(p) = unit_price {
            line["unitPrice"] = json!(p);
        }
        json!({"invoiceId": id, "poNumber": "PO-INV", "totalAmount": 10.0, "lineItems": [line]})
    };
    let (status, body) = h
        .post(
            "/invoice/batch/small",
            json!([
                invoice("INV-1", None),
                invoice("INV-2", Some(5.0)),
                invoice("INV-2", Some(5.0))
            ]),
        )
        .await;
    assert_eq!(status, 202);
    let log = h.log("invoice", body["requestId"].as_str().unwrap()).await;
    let entries = log["logs"].as_array().unwrap();
    assert_eq!(entries[0]["status"], "failure");
    assert!(
        entries[0]["results"][0]["description"]
            .as_str()
            .unwrap()
            .contains("unitPrice")
    );
    assert_eq!(entries[1]["status"], "success");
    assert_eq!(entries[2]["status"], "failure");
    assert!(
        entries[2]["results"][0]["description"]
            .as_str()
            .unwrap()
            .contains("already been used")
    );
    // The single endpoint refuses at once; so does a public client's wrong field names (§8 item 9).
    let (status, body) = h.post("/invoice", invoice("INV-2", Some(5.0))).await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "failure");
    let (status, _) = h
        .post(
            "/invoice",
            json!({"invoiceNumber": "X", "invoiceTotal": 1.0, "poNumber": "PO-INV"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = h.post("/invoice", invoice("INV-3", None)).await;
    assert_eq!(status, 400);
}

// ---------------------------------------------------------------------------------------------
// Warehouses, catalog, trading partners (§6)

#[tokio::test]
async fn warehouses_catalog_and_trading_partners() {
    let h = Harness::seeded().await;
    let (status, page) = h.get("/warehouse/page").await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = page["warehouses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["WH-MAIN", "WH-EAST", "WH-WEST"]);
    let (_, next) = h
        .get(&format!(
            "/warehouse/page?scrollId={}",
            q(page["scrollId"].as_str().unwrap())
        ))
        .await;
    assert_eq!(next["warehouses"], json!([]));
    let (_, one) = h.get("/warehouse/page?idType=code&idValue=WH-EAST").await;
    assert_eq!(one["warehouses"].as_array().unwrap().len(), 1);
    assert_eq!(one["warehouses"][0]["status"], "active");

    let product = dsco_brightpearl::sandbox::demo::product(30);
    let (status, item) = h
        .get(&format!("/catalog?itemKey=upc&value={}", product.dsco_upc))
        .await;
    assert_eq!(status, 404, "only 20 products are seeded: {item}");
    let product = dsco_brightpearl::sandbox::demo::product(7);
    let (status, item) = h
        .get(&format!("/catalog?itemKey=upc&value={}", product.dsco_upc))
        .await;
    assert_eq!(status, 200);
    assert_eq!(item["sku"], "SKU-0007");
    assert_eq!(item["productStatus"], "active");
    assert_eq!(
        h.get("/catalog?itemKey=partnerSku&value=R-SKU-0007")
            .await
            .0,
        400
    );
    assert_eq!(
        h.get("/catalog?itemKey=partnerSku&value=R-SKU-0007&dscoRetailerId=1000001")
            .await
            .0,
        200
    );

    let (status, partners) = h.get("/tradingpartner").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = partners
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tradingPartnerName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Northwind Outfitters",
            "Blue Harbor Home",
            "Café Müller Gifts"
        ]
    );
    let (_, one) = h.get("/tradingpartner?accountId=1000002").await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(
        h.get("/tradingpartner?accountId=1000002&status=active")
            .await
            .0,
        400
    );
}

// ---------------------------------------------------------------------------------------------
// Retailer cancellations (§2.8)

#[tokio::test]
async fn retailer_cancels_created_orders_and_requests_cancellation_later() {
    let h = Harness::seeded().await;
    let created = h.order("PO-RC1", 1);
    let (status, body) = h
        .put(
            "/order/request/cancel",
            json!({"poNumber": "PO-RC1", "cancelCode": "CXRR", "reason": "regret"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert!(body["message"].is_string());
    let order = h.sim.order(&created).unwrap();
    assert_eq!(order["dscoStatus"], "cancelled");
    assert_eq!(line(&order, 1)["cancelCode"], "CXRR");

    let pending = h.order("PO-RC2", 2);
    h.acknowledge(&pending).await;
    let (status, _) = h
        .put(
            "/order/request/cancel",
            json!({"dscoOrderId": pending, "cancelCode": "CXRF"}),
        )
        .await;
    assert_eq!(status, 201);
    let order = h.sim.order(&pending).unwrap();
    assert_eq!(
        order["dscoStatus"], "shipment_pending",
        "a request is a flag, not a state change"
    );
    assert_eq!(order["cancelRequested"], true);
    assert_eq!(order["cancelRequestedCode"], "CXRF");
    assert_eq!(line(&order, 1)["cancelRequested"], true);
    assert_eq!(
        h.put("/order/request/cancel", json!({"poNumber": "PO-RC2"}))
            .await
            .0,
        400
    );

    // In-process handles.
    assert!(
        h.sim.cancel_order(&pending).is_err(),
        "only created orders can be cancelled outright"
    );
    let lines = h.order("PO-RC3", 3);
    h.sim.cancel_line(&lines, 1, 2).unwrap();
    let order = h.sim.order(&lines).unwrap();
    assert_eq!(line(&order, 1)["cancelledQuantity"], 2);
    assert_eq!(order["dscoStatus"], "created");
    assert!(
        h.sim.cancel_line(&lines, 1, 2).is_err(),
        "only one unit is left"
    );
    h.sim.request_cancel(&lines, "CXRO", &[2]).unwrap();
    assert_eq!(
        line(&h.sim.order(&lines).unwrap(), 2)["status"],
        "cancelled"
    );
}

// ---------------------------------------------------------------------------------------------
// Seeding and the admin surface

#[tokio::test]
async fn seed_demo_is_deterministic_and_plants_awkward_orders() {
    let a = DscoSim::new(DscoSimConfig::default());
    let b = DscoSim::new(DscoSimConfig {
        clock: SimClock::new(),
        ..Default::default()
    });
    a.seed_demo(40, 20, 7);
    b.seed_demo(40, 20, 7);
    let skus = |sim: &DscoSim| -> Vec<Value> {
        sim.orders()
            .iter()
            .map(|o| {
                json!([
                    o["poNumber"],
                    o["dscoRetailerId"],
                    o["lineItems"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|l| json!([l["sku"], l["quantity"]]))
                        .collect::<Vec<_>>()
                ])
            })
            .collect()
    };
    assert_eq!(skus(&a), skus(&b));
    let orders = a.orders();
    assert_eq!(orders.len(), 20);
    let has = |pred: &dyn Fn(&Value) -> bool| orders.iter().any(pred);
    assert!(has(&|o| o["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["sku"] == "UNKNOWN-SKU-9999")));
    assert!(has(&|o| o["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["quantity"] == 0)));
    assert!(has(&|o| o["shipping"].get("postal").is_none()));
    assert!(has(&|o| o["shipping"]["name"] == "Zoë Müller"));
    assert!(has(&|o| o["shipping"]["name"] == "山田太郎"));
    assert!(has(&|o| o["shipping"]["name"]
        .as_str()
        .is_some_and(|n| n.len() > 200)));
    assert!(has(&|o| o["testFlag"] == true));
    assert_eq!(a.inventory().len(), 40);
    assert_eq!(
        a.dump_state()["tradingPartners"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn admin_routes_drive_scenarios_without_auth() {
    let h = Harness::start(DscoSimConfig::default()).await;
    let admin = |path: &str| format!("{}/_sandbox{path}", h.server.url());
    let response = h
        .http
        .post(admin("/seed"))
        .json(&json!({"products": 10, "orders": 3, "seed": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let created: Value = h
        .http
        .post(admin("/orders"))
        .json(&json!({"poNumber": "PO-ADMIN"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["dscoOrderId"].as_str().unwrap().to_owned();
    let raw: Value = h
        .http
        .post(admin("/orders/raw"))
        .json(&json!({"poNumber": "PO-BROKEN", "lineItems": "not a list"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, broken) = h
        .get(&format!(
            "/order/?orderKey=dscoOrderId&value={}",
            raw["dscoOrderId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(broken["lineItems"], "not a list");
    let response = h
        .http
        .post(admin(&format!("/orders/{id}/lines/1/cancel")))
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = h
        .http
        .post(admin(&format!("/orders/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409, "already cancelled");
    let listed: Value = h
        .http
        .get(admin("/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 5);
    let one: Value = h
        .http
        .get(admin(&format!("/orders/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["dscoStatus"], "cancelled");
    let pending = h.order_admin_ack().await;
    let response = h
        .http
        .post(admin(&format!("/orders/{pending}/cancel-request")))
        .json(&json!({"cancelCode": "CXRR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(h.sim.order(&pending).unwrap()["cancelRequested"], true);
    assert_eq!(
        h.http
            .post(admin("/process"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let state: Value = h
        .http
        .get(admin("/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["orders"].as_array().unwrap().len(), 6);
    assert!(state["changeLog"].as_array().is_some());
    let clock: Value = h
        .http
        .get(admin("/clock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(clock["now"].is_string());
    assert_eq!(
        h.http.post(admin("/reset")).send().await.unwrap().status(),
        204
    );
    assert!(h.sim.orders().is_empty());
    // Tokens survive a reset; admin calls are not in the request log.
    assert_eq!(h.get("/hello").await.0, 200);
    assert!(
        h.sim
            .requests()
            .all()
            .iter()
            .all(|r| !r.path.starts_with("/_sandbox"))
    );
    assert!(h.sim.requests().count("GET", "/api/v3/hello") >= 1);
}

impl Harness {
    async fn order_admin_ack(&self) -> String {
        let id = self
            .sim
            .create_order(json!({"poNumber": "PO-ADMIN-ACK"}))
            .unwrap();
        self.acknowledge(&id).await;
        id
    }
}

#[tokio::test]
async fn faults_from_the_shared_layer_apply_to_dsco_routes() {
    use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
    let h = Harness::start(DscoSimConfig::default()).await;
    h.sim.faults().add(FaultRule {
        method: Some("GET".into()),
        path_contains: "/hello".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Throttle,
        mode: FaultMode::Next(1),
    });
    let (status, body) = h.get("/hello").await;
    assert_eq!(status, 429);
    assert_eq!(body["message"], "Too Many Requests");
    assert_eq!(h.get("/hello").await.0, 200);
}

#[tokio::test]
async fn batch_bodies_up_to_5_mb_are_read_and_larger_ones_refused() {
    let h = Harness::seeded().await;
    let filler = "x".repeat(3 * 1024 * 1024);
    let (status, _) = h
        .post(
            "/order/acknowledge",
            json!([{"id": "1", "type": "DSCO_ORDER_ID", "note": filler}]),
        )
        .await;
    assert_eq!(status, 202, "3 MB is within the 5 MB cap");
    let filler = "x".repeat(6 * 1024 * 1024);
    let (status, _) = h
        .post(
            "/order/acknowledge",
            json!([{"id": "1", "type": "DSCO_ORDER_ID", "note": filler}]),
        )
        .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn in_process_inventory_updates_follow_the_api_rules() {
    let h = Harness::seeded().await;
    assert!(
        h.sim
            .set_inventory(json!({"sku": "SKU-0003", "quantityAvailable": 5,
                                  "warehouses": [{"code": "WH-MAIN", "quantity": 4}]}))
            .is_err()
    );
    h.sim
        .set_inventory(
            json!({"sku": "SKU-0003", "quantityAvailable": 0, "status": "in-stock",
                              "warehouses": [{"code": "WH-MAIN", "quantity": 0}]}),
        )
        .unwrap();
    let (_, item) = h.get("/inventory?itemKey=sku&value=SKU-0003").await;
    assert_eq!(item["status"], "out-of-stock");
}

#[tokio::test]
async fn writes_without_a_json_content_type_are_refused() {
    let h = Harness::seeded().await;
    let response = h
        .http
        .post(h.url("/order/acknowledge"))
        .header("Authorization", format!("bearer {}", h.token))
        .body(r#"[{"id":"1","type":"DSCO_ORDER_ID"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "failure");
}

#[tokio::test]
async fn change_logs_scroll_in_pages() {
    let h = Harness::start(DscoSimConfig {
        log_page_size: 2,
        ..Default::default()
    })
    .await;
    h.sim.seed_demo(10, 0, 1);
    let items: Vec<Value> = (1..=5)
        .map(|n| {
            json!({"sku": format!("SKU-{n:04}"), "quantityAvailable": 1,
                        "warehouses": [{"code": "WH-MAIN", "quantity": 1}]})
        })
        .collect();
    let (_, body) = h.post("/inventory/batch/small", Value::Array(items)).await;
    let first = h
        .log("inventory", body["requestId"].as_str().unwrap())
        .await;
    assert_eq!(first["logs"].as_array().unwrap().len(), 2);
    assert_eq!(first["status"], "COMPLETED");
    let scroll = q(first["scrollId"].as_str().unwrap());
    let mut sizes = vec![];
    loop {
        let (status, page) = h.get(&format!("/inventory/log?scrollId={scroll}")).await;
        assert_eq!(status, 200);
        let n = page["logs"].as_array().unwrap().len();
        sizes.push(n);
        if n == 0 {
            break;
        }
    }
    assert_eq!(sizes, vec![2, 1, 0]);
    // A change-log scroll id is not an order search's.
    assert_eq!(
        h.get(&format!("/order/page?scrollId={scroll}")).await.0,
        404
    );
}
