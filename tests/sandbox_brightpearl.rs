//! Brightpearl simulator tests: one per item of brightpearl-api.md §6 and per behaviour the
//! product issue adds, over plain HTTP with reqwest (never our own client).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use dsco_brightpearl::sandbox::brightpearl::{BrightpearlSim, BrightpearlSimConfig, NewProduct};
use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule, SimServer};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const ACCOUNT_TOKEN: &str = "c2FuZGJveC1hY2NvdW50LXRva2VuLWZvci10ZXN0cw==";

struct Reply {
    status: u16,
    headers: HeaderMap,
    json: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    fn error_codes(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|error| error["code"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn error_text(&self) -> String {
        self.json["errors"].to_string()
    }
}

struct Bp {
    sim: BrightpearlSim,
    server: SimServer,
    http: reqwest::Client,
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Bp {
    async fn start(config: BrightpearlSimConfig) -> Bp {
        let sim = BrightpearlSim::new(config);
        let server = sim.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Bp {
            sim,
            server,
            http: client(),
        }
    }

    async fn seeded() -> Bp {
        let bp = Bp::start(BrightpearlSimConfig::default()).await;
        bp.sim.seed_demo(100);
        bp
    }

    fn url(&self, path: &str) -> String {
        format!("{}/public-api/sandbox{path}", self.server.url())
    }

    fn private(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder
            .header("brightpearl-app-ref", &self.sim.config().app_ref)
            .header(
                "brightpearl-account-token",
                &self.sim.config().account_token,
            )
    }

    async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            json,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut builder = self.private(self.http.request(method, self.url(path)));
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        self.send(builder).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.server.url()));
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        self.send(builder).await
    }

    async fn create_order(&self, external_ref: &str) -> u32 {
        let reply = self
            .post("/order-service/sales-order", order_body(external_ref))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.json);
        reply.json["response"].as_u64().unwrap() as u32
    }

    async fn token(&self, form: &[(&str, &str)]) -> Reply {
        let builder = self
            .http
            .post(format!("{}/token/sandbox", self.server.url()))
            .form(form);
        self.send(builder).await
    }
}

/// The reference's sales-order POST example (§4.1) with ids from the demo world.
fn order_body(external_ref: &str) -> Value {
    json!({
      "customer": {"id": 3,
        "address": {"addressFullName": "Jane Buyer", "addressLine1": "12 Elm St",
                    "addressLine3": "Springfield", "addressLine4": "IL", "postalCode": "62701",
                    "countryIsoCode": "USA", "email": "jane@example.com"}},
      "ref": "DSCO-PO-778812",
      "externalRef": external_ref,
      "placedOn": "2025-03-01T14:05:00Z",
      "statusId": 3,
      "channelId": 2,
      "warehouseId": 2,
      "installedIntegrationInstanceId": 13,
      "currency": {"code": "USD"},
      "delivery": {"shippingMethodId": 1,
        "address": {"addressFullName": "Jane Buyer", "addressLine1": "12 Elm St",
                    "addressLine3": "Springfield", "addressLine4": "IL", "postalCode": "62701",
                    "countryIsoCode": "USA", "telephone": "555-0100"}},
      "rows": [
        {"productId": 7, "quantity": "2", "taxCode": "T", "net": "39.9800", "tax": "0.0000",
         "externalRef": "dsco:line:1"},
        {"name": "Shipping", "quantity": "1", "taxCode": "N", "net": "5.00", "tax": "0.00",
         "nominalCode": "4040"}
      ]
    })
}

fn product_row_id(order: &Value) -> u32 {
    order["orderRows"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, row)| row["productId"] == 7)
        .map(|(id, _)| id.parse().unwrap())
        .unwrap()
}

/// Poll `check` until it holds or five seconds pass.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// A webhook receiver: records (path and query, body) and answers the queued statuses, then 200.
#[derive(Clone, Default)]
struct Receiver {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> (Receiver, SimServer) {
        let receiver = Receiver::default();
        receiver.statuses.lock().unwrap().extend(statuses);
        let state = receiver.clone();
        let router = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
            let state = state.clone();
            async move {
                state
                    .calls
                    .lock()
                    .unwrap()
                    .push((uri.to_string(), String::from_utf8_lossy(&body).into_owned()));
                let status = state.statuses.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(status).unwrap()
            }
        });
        let server = SimServer::start(router, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        (receiver, server)
    }

    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    fn bodies(&self) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| serde_json::from_str(body).unwrap_or(Value::Null))
            .collect()
    }
}

const BODY_TEMPLATE: &str = "{\"accountCode\":\"${account-code}\",\"resourceType\":\"${resource-type}\",\"id\":\"${resource-id}\",\"lifecycleEvent\":\"${lifecycle-event}\",\"fullEvent\":\"${full-event}\",\"raisedOn\":\"${raised-on}\",\"brightpearlVersion\":\"${brightpearl-version}\"}";

async fn register_webhook(bp: &Bp, url: &str, subscribe_to: &str, id_set: bool, qos: u8) -> u32 {
    let reply = bp
        .post(
            "/integration-service/webhook",
            json!({"subscribeTo": subscribe_to, "httpMethod": "POST",
                   "uriTemplate": format!("{url}/bp/hook?token=SECRET"),
                   "bodyTemplate": BODY_TEMPLATE, "contentType": "application/json",
                   "idSetAccepted": id_set, "qualityOfService": qos}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["response"].as_u64().unwrap() as u32
}

fn assert_no_null_keys(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                assert!(!item.is_null(), "key {key} is null");
                assert_no_null_keys(item);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_null_keys),
        _ => {}
    }
}

// §6: path routing on any host; unknown account.
#[tokio::test]
async fn routes_on_path_for_any_host_and_refuses_unknown_accounts() {
    let bp = Bp::seeded().await;
    let reply = bp
        .send(
            bp.private(bp.http.get(bp.url("/warehouse-service/warehouse/1")))
                .header("host", "euw1.brightpearlconnect.com"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["response"][0]["name"], "Main Warehouse");
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json;charset=UTF-8")
    );

    let other = bp
        .send(bp.private(bp.http.get(format!(
            "{}/public-api/otheraccount/warehouse-service/warehouse",
            bp.server.url()
        ))))
        .await;
    assert_eq!(other.status, 404);
    assert_eq!(other.error_codes(), vec!["CMNC-404"]);

    let unknown = bp.get("/order-service/no-such-thing").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_codes(), vec!["CMNC-404"]);
}

// §6: private-app auth with account or staff token; 401 bodies are strings.
#[tokio::test]
async fn private_app_headers_with_account_or_staff_token() {
    let bp = Bp::seeded().await;
    let config = bp.sim.config().clone();
    let url = bp.url("/warehouse-service/warehouse");
    let with_staff = bp
        .send(
            bp.http
                .get(&url)
                .header("brightpearl-app-ref", &config.app_ref)
                .header("brightpearl-staff-token", &config.staff_token),
        )
        .await;
    assert_eq!(with_staff.status, 200);
    let with_account = bp.get("/warehouse-service/warehouse").await;
    assert_eq!(with_account.status, 200);

    let bad = bp
        .send(
            bp.http
                .get(&url)
                .header("brightpearl-app-ref", &config.app_ref)
                .header("brightpearl-account-token", "bad-token"),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.json,
        json!({"response": "Invalid instance token: bad-token"})
    );
    assert!(bad.header("www-authenticate").is_none());

    let wrong_app = bp
        .send(
            bp.http
                .get(&url)
                .header("brightpearl-app-ref", "sandbox_other")
                .header("brightpearl-account-token", ACCOUNT_TOKEN),
        )
        .await;
    assert_eq!(wrong_app.status, 401);
    let none = bp.send(bp.http.get(&url)).await;
    assert_eq!(none.status, 401);
    assert!(none.json["response"].is_string());
}

async fn oauth_tokens(bp: &Bp) -> Value {
    let code = bp
        .admin(
            Method::POST,
            "/_sandbox/oauth/code",
            Some(json!({"redirect_uri": "https://daemon.example/cb"})),
        )
        .await
        .json["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let config = bp.sim.config().clone();
    let reply = bp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &config.oauth_client_id),
            ("client_secret", &config.oauth_client_secret),
            ("redirect_uri", "https://daemon.example/cb"),
        ])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

async fn bearer_get(bp: &Bp, token: &str, path: &str) -> Reply {
    let config = bp.sim.config();
    bp.send(
        bp.http
            .get(bp.url(path))
            .bearer_auth(token)
            .header("brightpearl-app-ref", &config.oauth_client_id)
            .header("brightpearl-dev-ref", &config.dev_ref),
    )
    .await
}

// §6: token response shape; OAuth headers (Bearer + app-ref + dev-ref).
#[tokio::test]
async fn oauth_code_exchange_gives_the_recorded_token_shape() {
    let bp = Bp::seeded().await;
    let tokens = oauth_tokens(&bp).await;
    assert!(tokens["installation_instance_id"].is_string());
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 604_800);
    assert_eq!(tokens["api_domain"], bp.server.addr().to_string());
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access.len(), 44);

    let reply = bearer_get(&bp, access, "/warehouse-service/warehouse").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("brightpearl-installed-integration-instance-id"),
        tokens["installation_instance_id"]
            .as_str()
            .map(str::to_owned)
    );

    // The dev-ref is required alongside the bearer token.
    let missing = bp
        .send(
            bp.http
                .get(bp.url("/warehouse-service/warehouse"))
                .bearer_auth(access)
                .header("brightpearl-app-ref", &bp.sim.config().oauth_client_id),
        )
        .await;
    assert_eq!(missing.status, 401);

    let garbage = bearer_get(&bp, "not-a-token", "/warehouse-service/warehouse").await;
    assert_eq!(
        garbage.json,
        json!({"response": "Invalid instance token: not-a-token"})
    );
}

// §6: rotating refresh tokens; invalid_grant / invalid_client.
#[tokio::test]
async fn oauth_refresh_rotates_and_errors_are_oauth_shaped() {
    let bp = Bp::seeded().await;
    let config = bp.sim.config().clone();
    let tokens = oauth_tokens(&bp).await;
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let config = config.clone();
        let bp = &bp;
        async move {
            bp.token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
                ("client_id", &config.oauth_client_id),
                ("client_secret", &config.oauth_client_secret),
            ])
            .await
        }
    };
    let refreshed = refresh(first_refresh.clone()).await;
    assert_eq!(refreshed.status, 200);
    let second_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    assert!(refreshed.json.get("installation_instance_id").is_none());
    assert!(refreshed.json["api_domain"].is_string());
    let new_access = refreshed.json["access_token"].as_str().unwrap();
    assert_eq!(
        bearer_get(&bp, new_access, "/warehouse-service/warehouse")
            .await
            .status,
        200
    );

    // The old refresh token was rotated away.
    let reused = refresh(first_refresh).await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.json["error"], "invalid_grant");
    assert_eq!(refresh(second_refresh).await.status, 200);

    let wrong_secret = bp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", &config.oauth_client_id),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(wrong_secret.status, 400);
    assert_eq!(wrong_secret.json, json!({"error": "invalid_client"}));

    let code = bp.sim.issue_authorization_code("https://daemon.example/cb");
    let mismatch = bp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &config.oauth_client_id),
            ("client_secret", &config.oauth_client_secret),
            ("redirect_uri", "https://elsewhere.example/cb"),
        ])
        .await;
    assert_eq!(mismatch.status, 400);
    assert_eq!(
        mismatch.json["error_description"],
        "Redirect uri does not match that used to request auth token"
    );
    let unknown = bp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("client_id", &config.oauth_client_id),
            ("client_secret", &config.oauth_client_secret),
            ("redirect_uri", "https://daemon.example/cb"),
        ])
        .await;
    assert_eq!(
        unknown.json,
        json!({"error": "invalid_grant",
               "error_description": "The auth token has either expired or does not exist"})
    );
}

// §2.5: an expired access token gives "Authorization token expired" (time moved on the SimClock).
#[tokio::test]
async fn expired_access_token_answers_authorization_token_expired() {
    let bp = Bp::seeded().await;
    let tokens = oauth_tokens(&bp).await;
    let access = tokens["access_token"].as_str().unwrap();
    bp.sim.clock().advance(Duration::from_secs(604_800 + 1));
    let reply = bearer_get(&bp, access, "/warehouse-service/warehouse").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json,
        json!({"response": "Authorization token expired"})
    );
    assert!(reply.header("brightpearl-requests-remaining").is_some());
}

// §2.3 step 1: the consent screen redirects with code and state.
#[tokio::test]
async fn authorize_redirects_with_code_and_state() {
    let bp = Bp::seeded().await;
    let config = bp.sim.config().clone();
    let reply = bp
        .send(bp.http.get(format!(
            "{}/authorize/sandbox?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fdaemon.example%2Fcb&state=xyz",
            bp.server.url(),
            config.oauth_client_id
        )))
        .await;
    assert_eq!(reply.status, 302);
    let location = url::Url::parse(&reply.header("location").unwrap()).unwrap();
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "xyz");
    let exchanged = bp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &pairs["code"]),
            ("client_id", &config.oauth_client_id),
            ("client_secret", &config.oauth_client_secret),
            ("redirect_uri", "https://daemon.example/cb"),
        ])
        .await;
    assert_eq!(exchanged.status, 200);
}

// §6: envelopes, null keys omitted, `{}` for empty writes.
#[tokio::test]
async fn envelopes_omit_nulls_and_empty_writes_answer_braces() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("env-1").await;
    let order = bp.get(&format!("/order-service/order/{id}")).await;
    assert!(order.json.get("errors").is_none());
    assert_no_null_keys(&order.json);
    // No delivery date was sent, so the key is absent rather than null.
    assert!(
        order.json["response"][0]["delivery"]
            .get("deliveryDate")
            .is_none()
    );

    let status = bp
        .put(
            &format!("/order-service/order/{id}/status"),
            json!({"orderStatusId": 6}),
        )
        .await;
    assert_eq!(status.status, 200);
    assert_eq!(status.json, json!({}));

    let error = bp
        .post("/order-service/sales-order", json!({"rows": []}))
        .await;
    assert_eq!(error.status, 400);
    assert!(error.json.get("response").is_none());
    let first = &error.json["errors"][0];
    assert!(first["code"].is_string() && first["message"].is_string());

    let no_body = bp
        .send(bp.private(bp.http.post(bp.url("/order-service/sales-order"))))
        .await;
    assert_eq!(no_body.status, 400);
    assert_eq!(no_body.error_codes(), vec!["CMNC-010"]);
}

// §6: throttle headers on every response; rolling-window 503; configurable cap; SimClock window.
#[tokio::test]
async fn throttle_counts_per_pool_and_answers_503_when_exhausted() {
    let config = BrightpearlSimConfig {
        throttle_cap: 5,
        throttle_window: Duration::from_secs(60),
        ..BrightpearlSimConfig::default()
    };
    let bp = Bp::start(config).await;
    bp.sim.seed_demo(10);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let reply = bp.get("/warehouse-service/warehouse").await;
        remaining.push(reply.header("brightpearl-requests-remaining").unwrap());
        let period: i64 = reply
            .header("brightpearl-next-throttle-period")
            .unwrap()
            .parse()
            .unwrap();
        assert!((0..=60_000).contains(&period));
    }
    assert_eq!(remaining, vec!["4", "3", "2"]);
    // 404 and 401 carry the headers too, and count.
    let not_found = bp.get("/order-service/nothing").await;
    assert_eq!(
        not_found
            .header("brightpearl-requests-remaining")
            .as_deref(),
        Some("1")
    );
    let unauthorised = bp
        .send(bp.http.get(bp.url("/warehouse-service/warehouse")))
        .await;
    assert_eq!(unauthorised.status, 401);
    assert_eq!(
        unauthorised
            .header("brightpearl-requests-remaining")
            .as_deref(),
        Some("0")
    );
    let throttled = bp.get("/warehouse-service/warehouse").await;
    assert_eq!(throttled.status, 503);
    assert!(
        throttled.json["response"]
            .as_str()
            .unwrap()
            .contains("too many requests")
    );
    assert_eq!(
        throttled
            .header("brightpearl-requests-remaining")
            .as_deref(),
        Some("0")
    );

    // OAuth apps draw from their own (account, developer) pool.
    let tokens = oauth_tokens(&bp).await;
    let oauth = bearer_get(
        &bp,
        tokens["access_token"].as_str().unwrap(),
        "/warehouse-service/warehouse",
    )
    .await;
    assert_eq!(oauth.status, 200);

    bp.sim.clock().advance(Duration::from_secs(61));
    let after = bp.get("/warehouse-service/warehouse").await;
    assert_eq!(after.status, 200);
    assert_eq!(
        after.header("brightpearl-requests-remaining").as_deref(),
        Some("4")
    );
}

// The common Throttle fault answers like an exhausted window.
#[tokio::test]
async fn throttle_fault_answers_503_with_headers() {
    let bp = Bp::seeded().await;
    bp.sim.faults().add(FaultRule {
        method: None,
        path_contains: "/warehouse".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Throttle,
        mode: FaultMode::Next(1),
    });
    let reply = bp.get("/warehouse-service/warehouse").await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.header("brightpearl-requests-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(bp.get("/warehouse-service/warehouse").await.status, 200);
}

// §6: ID sets (single, list, range, mixture, `*`), per-resource caps.
#[tokio::test]
async fn id_sets_select_and_caps_refuse() {
    let bp = Bp::seeded().await;
    for n in 0..6 {
        bp.create_order(&format!("ids-{n}")).await;
    }
    let ids = |reply: &Reply| -> Vec<u64> {
        reply.json["response"]
            .as_array()
            .unwrap()
            .iter()
            .map(|order| order["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(&bp.get("/order-service/order/2").await), vec![2]);
    assert_eq!(
        ids(&bp.get("/order-service/order/1,3,5").await),
        vec![1, 3, 5]
    );
    assert_eq!(
        ids(&bp.get("/order-service/order/2-4").await),
        vec![2, 3, 4]
    );
    assert_eq!(
        ids(&bp.get("/order-service/order/1,3-4,6-100").await),
        vec![1, 3, 4, 6]
    );
    assert_eq!(ids(&bp.get("/order-service/order/1%2C2").await), vec![1, 2]);
    assert_eq!(bp.get("/order-service/order/4-2").await.status, 400);
    let too_many = bp.get("/order-service/order/1-201").await;
    assert_eq!(too_many.status, 400);
    assert_eq!(too_many.error_codes(), vec!["CMNC-022"]);
    assert_eq!(bp.get("/order-service/order/1-200").await.status, 200);

    // `*` for all orders on goods-out notes; those take up to 500 ids.
    bp.sim.create_goods_out_note(1, &[]).unwrap();
    let all = bp
        .get("/warehouse-service/order/*/goods-note/goods-out/1-500")
        .await;
    assert_eq!(all.status, 200);
    assert!(all.json["response"]["1"].is_object());
    let over = bp
        .get("/warehouse-service/order/*/goods-note/goods-out/1-501")
        .await;
    assert_eq!(over.status, 400);
    assert_eq!(bp.get("/product-service/product/1-201").await.status, 400);
}

// §6: OPTIONS returns getUris chunks of 200 without unknown ids.
#[tokio::test]
async fn options_splits_id_sets_into_get_uris() {
    let bp = Bp::start(BrightpearlSimConfig::default()).await;
    bp.sim.seed_demo(250);
    let reply = bp
        .call(Method::OPTIONS, "/product-service/product/1-250", None)
        .await;
    assert_eq!(reply.status, 200);
    let uris: Vec<String> =
        serde_json::from_value(reply.json["response"]["getUris"].clone()).unwrap();
    assert_eq!(uris.len(), 2);
    assert!(uris[0].starts_with("/product/1-39,41-79,"), "{uris:?}");
    assert_eq!(uris[1], "/product/206-239,241-250");

    let orders = bp
        .call(Method::OPTIONS, "/order-service/order/1-100", None)
        .await;
    assert_eq!(orders.json, json!({"response": {"getUris": []}}));
    let id = bp.create_order("opt-1").await;
    let orders = bp
        .call(Method::OPTIONS, "/order-service/order/1-100,320", None)
        .await;
    assert_eq!(
        orders.json["response"]["getUris"],
        json!([format!("/order/{id}")])
    );
}

// §6: Order GET shape: array, orderRows keyed by row id, string money, invoices; unknown → [].
#[tokio::test]
async fn order_get_renders_the_recorded_shape() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("shape-1").await;
    let reply = bp.get(&format!("/order-service/order/{id}")).await;
    let order = &reply.json["response"][0];
    assert_eq!(order["id"], id);
    assert_eq!(order["orderTypeCode"], "SO");
    assert_eq!(order["reference"], "DSCO-PO-778812");
    assert_eq!(order["orderStatus"]["orderStatusId"], 3);
    assert_eq!(order["assignment"]["current"]["channelId"], 2);
    assert_eq!(order["delivery"]["shippingMethodId"], 1);
    assert_eq!(order["warehouseId"], 2);
    assert_eq!(order["invoices"][0]["invoiceReference"], "");
    assert_eq!(order["totalValue"]["net"], "44.98");
    assert_eq!(order["totalValue"]["total"], "44.98");
    assert_eq!(order["parties"]["delivery"]["addressLine1"], "12 Elm St");
    assert_eq!(order["parties"]["delivery"]["countryIsoCode3"], "USA");
    assert!(order["parties"]["delivery"].get("contactId").is_none());
    assert_eq!(order["parties"]["customer"]["contactId"], 3);
    let rows = order["orderRows"].as_object().unwrap();
    assert_eq!(rows.len(), 2);
    let row_id = product_row_id(order);
    let row = &rows[&row_id.to_string()];
    assert_eq!(row["productSku"], "SKU-0007");
    assert_eq!(row["quantity"]["magnitude"], "2.0000");
    assert_eq!(row["rowValue"]["rowNet"]["value"], "39.9800");
    assert_eq!(row["rowValue"]["rowTax"]["value"], "0.00");
    assert_eq!(row["productPrice"]["value"], "19.9900");
    assert_eq!(row["rowValue"]["taxCode"], "T");
    assert_eq!(
        bp.get("/order-service/order/999").await.json,
        json!({"response": []})
    );
    // Sales Order GET (flat) echoes externalRef.
    let sales = bp.get(&format!("/order-service/sales-order/{id}")).await;
    assert_eq!(sales.json["response"][0]["externalRef"], "shape-1");
    assert_eq!(
        sales.json["response"][0]["rows"][0]["externalRef"],
        "dsco:line:1"
    );
}

// §6: sales-order POST is atomic and reports validation errors as 400 ORDC-…
#[tokio::test]
async fn sales_order_post_validates_everything_and_creates_nothing_on_error() {
    let bp = Bp::seeded().await;
    let mut body = order_body("bad-1");
    body["customer"]["id"] = json!(9999);
    body["rows"][0]["productId"] = json!(40); // a DSCO-only product: not in Brightpearl
    body["rows"][1]["taxCode"] = json!("NOPE");
    body["rows"]
        .as_array_mut()
        .unwrap()
        .push(json!({"quantity": "1", "taxCode": "T", "net": "1"}));
    let reply = bp.post("/order-service/sales-order", body).await;
    assert_eq!(reply.status, 400);
    let codes = reply.error_codes();
    assert!(codes.len() >= 4, "{codes:?}");
    assert!(
        codes.iter().all(|code| code.starts_with("ORDC-")),
        "{codes:?}"
    );
    assert_eq!(bp.sim.order_count(), 0);

    let mut fractional = order_body("bad-2");
    fractional["rows"][0]["quantity"] = json!("1.5");
    let reply = bp.post("/order-service/sales-order", fractional).await;
    assert_eq!(reply.status, 400);
    assert!(reply.error_text().contains("rows[0].quantity"));

    // Numbers are accepted as well as strings.
    let mut numbers = order_body("ok-1");
    numbers["rows"][0]["quantity"] = json!(2);
    numbers["rows"][0]["net"] = json!(39.98);
    assert_eq!(
        bp.post("/order-service/sales-order", numbers).await.status,
        200
    );
    assert_eq!(bp.sim.order_count(), 1);
}

// §5.3a: text over its limit is refused with a 400 naming the field.
#[tokio::test]
async fn text_over_the_limits_is_refused_naming_the_field() {
    let bp = Bp::seeded().await;
    let long = |n: usize| "x".repeat(n);
    let check = |reply: &Reply, field: &str| {
        assert_eq!(reply.status, 400, "{field}: {}", reply.json);
        assert!(
            reply.error_text().contains(field),
            "{field}: {}",
            reply.json
        );
    };
    let mut body = order_body("limits");
    body["ref"] = json!(long(65));
    check(&bp.post("/order-service/sales-order", body).await, "ref");
    let mut body = order_body(&long(65));
    check(
        &bp.post("/order-service/sales-order", body.take()).await,
        "externalRef",
    );
    let mut body = order_body("limits");
    body["delivery"]["address"]["addressLine1"] = json!(long(101));
    check(
        &bp.post("/order-service/sales-order", body).await,
        "delivery.address.addressLine1",
    );
    let mut body = order_body("limits");
    body["delivery"]["address"]["postalCode"] = json!(long(31));
    check(
        &bp.post("/order-service/sales-order", body).await,
        "delivery.address.postalCode",
    );
    let mut body = order_body("limits");
    body["rows"][1]["name"] = json!(long(256));
    check(
        &bp.post("/order-service/sales-order", body).await,
        "rows[1].name",
    );
    let mut body = order_body("limits");
    body["rows"][0]["externalRef"] = json!(long(65));
    check(
        &bp.post("/order-service/sales-order", body).await,
        "rows[0].externalRef",
    );
    // Exactly at the limit is fine.
    let mut body = order_body(&long(64));
    body["ref"] = json!(long(64));
    assert_eq!(
        bp.post("/order-service/sales-order", body).await.status,
        200
    );

    let id = bp.sim.orders()[0]["id"].as_u64().unwrap();
    check(
        &bp.post(
            &format!("/order-service/order/{id}/note"),
            json!({"text": long(10_001)}),
        )
        .await,
        "text",
    );
    check(
        &bp.post(
            "/contact-service/contact",
            json!({"firstName": long(33), "lastName": "B"}),
        )
        .await,
        "firstName",
    );
    check(
        &bp.post(
            "/contact-service/postal-address",
            json!({"addressLine1": "1 St", "postalCode": long(31), "countryIsoCode": "USA"}),
        )
        .await,
        "postalCode",
    );
}

// §6: status PUT with the cancel rules; adds a note; fires order.modified.order-status.
#[tokio::test]
async fn status_put_adds_a_note_fires_a_webhook_and_applies_cancel_rules() {
    let bp = Bp::seeded().await;
    let (receiver, hook_server) = Receiver::start(&[]).await;
    register_webhook(
        &bp,
        &hook_server.url(),
        "order.modified.order-status",
        false,
        1,
    )
    .await;
    let id = bp.create_order("status-1").await;
    let reply = bp
        .put(
            &format!("/order-service/order/{id}/status"),
            json!({"orderStatusId": 6, "orderNote": {"text": "Shipped via DSCO sync", "isPublic": false}}),
        )
        .await;
    assert_eq!(reply.json, json!({}));
    let order = bp.sim.order(id).unwrap();
    assert_eq!(order["orderStatus"]["orderStatusId"], 6);
    let notes = bp.get(&format!("/order-service/order/{id}/note")).await;
    assert_eq!(notes.json["response"][0]["text"], "Shipped via DSCO sync");
    assert!(eventually(|| receiver.count() >= 1).await);
    assert_eq!(
        receiver.bodies()[0]["fullEvent"],
        "order.modified.order-status"
    );
    assert_eq!(receiver.bodies()[0]["id"], id.to_string());

    // Another order type's status, an unknown one and a hidden one are refused.
    for status in [8, 99, 7] {
        let refused = bp
            .put(
                &format!("/order-service/order/{id}/status"),
                json!({"orderStatusId": status}),
            )
            .await;
        assert_eq!(refused.status, 400, "status {status}");
    }

    // Cancel: refused with a goods-out note, when invoiced, when paid; nothing changes.
    let cancel = json!({"orderStatusId": 5});
    let with_note = bp.create_order("status-2").await;
    bp.sim.create_goods_out_note(with_note, &[]).unwrap();
    let invoiced = bp.create_order("status-3").await;
    bp.sim.invoice_order(invoiced).unwrap();
    let paid = bp.create_order("status-4").await;
    bp.sim.add_payment(paid, "10.00").unwrap();
    for order in [with_note, invoiced, paid] {
        let refused = bp
            .put(
                &format!("/order-service/order/{order}/status"),
                cancel.clone(),
            )
            .await;
        assert_eq!(refused.status, 400, "order {order}");
        assert_eq!(
            bp.sim.order(order).unwrap()["orderStatus"]["orderStatusId"],
            3
        );
        let notes = bp.get(&format!("/order-service/order/{order}/note")).await;
        assert_eq!(notes.json["response"], json!([]));
    }
    let plain = bp.create_order("status-5").await;
    let ok = bp
        .put(&format!("/order-service/order/{plain}/status"), cancel)
        .await;
    assert_eq!(ok.status, 200);
    let notes = bp.get(&format!("/order-service/order/{plain}/note")).await;
    assert_eq!(notes.json["response"].as_array().unwrap().len(), 1);
}

// §6: order notes POST and GET.
#[tokio::test]
async fn order_notes_post_and_get() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("notes-1").await;
    let reply = bp
        .post(
            &format!("/order-service/order/{id}/note"),
            json!({"text": "hi", "isPublic": true, "addedOn": "2025-03-01T10:00:00-06:00"}),
        )
        .await;
    let note_id = reply.json["response"].as_u64().unwrap();
    let notes = bp
        .get(&format!("/order-service/order/{id}/note/{note_id}"))
        .await;
    let note = &notes.json["response"][0];
    assert_eq!(note["noteId"], note_id);
    assert_eq!(note["text"], "hi");
    assert_eq!(note["isPublic"], true);
    assert_eq!(note["addedOn"], "2025-03-01T10:00:00.000-06:00");
    assert_eq!(
        bp.post(&format!("/order-service/order/{id}/note"), json!({}))
            .await
            .status,
        400
    );
    assert_eq!(
        bp.post("/order-service/order/999/note", json!({"text": "x"}))
            .await
            .status,
        404
    );
}

// §4.7: the order-note search finds every note of the orders in an ID set, newest included.
#[tokio::test]
async fn order_note_search_finds_the_notes_of_an_id_set() {
    let bp = Bp::seeded().await;
    let a = bp.create_order("ns-1").await;
    let b = bp.create_order("ns-2").await;
    for (id, text) in [(a, "first"), (a, "second"), (b, "other")] {
        bp.post(
            &format!("/order-service/order/{id}/note"),
            json!({"text": text}),
        )
        .await;
    }
    let found = bp
        .get(&format!("/order-service/order-note-search?orderId={a}"))
        .await;
    let columns: Vec<String> = found.json["response"]["metaData"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        &columns[..4],
        ["orderId", "noteId", "contactId", "noteText"]
    );
    let rows = found.json["response"]["results"].as_array().unwrap();
    let texts: Vec<&str> = rows.iter().map(|r| r[3].as_str().unwrap()).collect();
    assert_eq!(texts, ["first", "second"], "{}", found.json);
}

// §4.2: an order row's quantity patched (tax recomputed) and a row deleted.
#[tokio::test]
async fn order_rows_are_patched_and_deleted() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("rows-1").await;
    let order = bp.get(&format!("/order-service/order/{id}")).await;
    let row: String = order.json["response"][0]["orderRows"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let patched = bp
        .call(
            Method::PATCH,
            &format!("/order-service/order/{id}/row/{row}"),
            Some(json!([{"op": "replace", "path": "/quantity/magnitude", "value": 1}])),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.json);
    assert_eq!(patched.json["response"]["quantity"]["magnitude"], "1.0000");
    let bad = bp
        .call(
            Method::PATCH,
            &format!("/order-service/order/{id}/row/{row}"),
            Some(json!([{"op": "remove", "path": "/quantity"}])),
        )
        .await;
    assert_eq!(bad.status, 400);
    let deleted = bp
        .call(
            Method::DELETE,
            &format!("/order-service/order/{id}/row/{row}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json, json!({}));
    let order = bp.get(&format!("/order-service/order/{id}")).await;
    assert!(
        order.json["response"][0]["orderRows"]
            .as_object()
            .is_none_or(|rows| !rows.contains_key(&row)),
        "{}",
        order.json
    );
    let again = bp
        .call(
            Method::DELETE,
            &format!("/order-service/order/{id}/row/{row}"),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
}

// §6: custom-field PATCH; SELECT `{id}` comes back as `{id, value}`.
#[tokio::test]
async fn custom_field_patch_stores_select_options_as_id_and_value() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("cf-1").await;
    let reply = bp
        .call(
            Method::PATCH,
            &format!("/order-service/order/{id}/custom-field"),
            Some(
                json!([{"op":"add","path":"/PCF_DSCOID","value":"1000123456"},
                        {"op":"replace","path":"/PCF_CHANNEL","value":{"id":137}}]),
            ),
        )
        .await;
    assert_eq!(
        reply.json,
        json!({"response":{"PCF_DSCOID":"1000123456","PCF_CHANNEL":{"id":137,"value":"DSCO"}}})
    );
    let order = bp
        .get(&format!(
            "/order-service/order/{id}?includeOptional=customFields"
        ))
        .await;
    assert_eq!(
        order.json["response"][0]["customFields"]["PCF_CHANNEL"]["value"],
        "DSCO"
    );
    let bad_option = bp
        .call(
            Method::PATCH,
            &format!("/order-service/order/{id}/custom-field"),
            Some(json!([{"op":"replace","path":"/PCF_CHANNEL","value":{"id":1}}])),
        )
        .await;
    assert_eq!(bad_option.status, 400);
    let bad_op = bp
        .call(
            Method::PATCH,
            &format!("/order-service/order/{id}/custom-field"),
            Some(json!([{"op":"move","path":"/PCF_DSCOID"}])),
        )
        .await;
    assert_eq!(bad_op.status, 500);
    assert_eq!(bad_op.error_codes(), vec!["CMNC-044"]);
    let meta = bp.get("/order-service/sale/custom-field-meta-data").await;
    assert!(
        meta.json["response"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["code"] == "PCF_CHANNEL" && m["options"]["137"]["value"] == "DSCO")
    );
}

// §1.10 / §4.9: Order PATCH; `add` on /reference is a 500 CMNC-044.
#[tokio::test]
async fn order_patch_replaces_reference_and_refuses_add() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("patch-1").await;
    let path = format!("/order-service/order/{id}");
    let ok = bp
        .call(
            Method::PATCH,
            &path,
            Some(json!([{"op":"replace","path":"/reference","value":"NEW"}])),
        )
        .await;
    assert_eq!(ok.json["response"]["reference"], "NEW");
    let bad = bp
        .call(
            Method::PATCH,
            &path,
            Some(json!([{"op":"add","path":"/reference","value":"X"}])),
        )
        .await;
    assert_eq!(bad.status, 500);
    assert_eq!(bad.error_codes(), vec!["CMNC-044"]);
}

fn column_index(reply: &Reply, name: &str) -> usize {
    reply.json["response"]["metaData"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|column| column["name"] == name)
        .unwrap()
}

fn result_ids(reply: &Reply, column: &str) -> Vec<u64> {
    let index = column_index(reply, column);
    reply.json["response"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[index].as_u64().unwrap())
        .collect()
}

// §6: searches: positional results, metaData, top-level reference, filters, PERIOD, sort, paging.
#[tokio::test]
async fn order_search_filters_sorts_and_pages() {
    let bp = Bp::seeded().await;
    for n in 1..=5 {
        bp.create_order(&format!("dsco:order:{n}")).await;
        bp.sim.clock().advance(Duration::from_secs(3600));
    }
    let by_ref = bp
        .get("/order-service/order-search?externalRef=dsco%3Aorder%3A3")
        .await;
    assert_eq!(result_ids(&by_ref, "orderId"), vec![3]);
    assert!(by_ref.json["response"]["metaData"]["columns"][0]["reportDataType"].is_string());
    assert_eq!(
        by_ref.json["reference"]["orderStatusNames"]["3"],
        "Awaiting fulfilment"
    );
    assert!(by_ref.json["response"].get("reference").is_none());
    let meta = &by_ref.json["response"]["metaData"];
    assert_eq!(meta["firstResult"], 1);
    assert_eq!(meta["lastResult"], 1);
    assert_eq!(meta["resultsAvailable"], 1);

    let by_customer_ref = bp
        .get("/order-service/order-search?customerRef=DSCO-PO-778812")
        .await;
    assert_eq!(result_ids(&by_customer_ref, "orderId").len(), 5);

    let empty = bp.get("/order-service/order-search?externalRef=none").await;
    let meta = &empty.json["response"]["metaData"];
    assert_eq!(meta["resultsReturned"], 0);
    assert_eq!(meta["morePagesAvailable"], false);
    assert!(meta.get("firstResult").is_none() && meta.get("lastResult").is_none());
    assert_eq!(empty.json["response"]["results"], json!([]));

    // Both sort spellings.
    let desc = bp
        .get("/order-service/order-search?sort=orderId.DESC")
        .await;
    assert_eq!(result_ids(&desc, "orderId"), vec![5, 4, 3, 2, 1]);
    let desc = bp
        .get("/order-service/order-search?sort=orderId|DESC")
        .await;
    assert_eq!(result_ids(&desc, "orderId"), vec![5, 4, 3, 2, 1]);
    assert_eq!(
        desc.json["response"]["metaData"]["sorting"][0]["direction"],
        "DESC"
    );

    // Paging.
    let page = bp
        .get("/order-service/order-search?pageSize=2&firstResult=3")
        .await;
    assert_eq!(result_ids(&page, "orderId"), vec![3, 4]);
    let meta = &page.json["response"]["metaData"];
    assert_eq!(meta["morePagesAvailable"], true);
    assert_eq!(meta["firstResult"], 3);
    assert_eq!(meta["lastResult"], 4);
    assert_eq!(meta["resultsAvailable"], 5);

    // PERIOD from/to on createdOn: orders were created an hour apart.
    let third = bp.sim.order(3).unwrap();
    let created = third["createdOn"].as_str().unwrap().to_owned();
    let from = bp
        .get(&format!(
            "/order-service/order-search?createdOn={}/",
            urlencode(&created)
        ))
        .await;
    assert_eq!(result_ids(&from, "orderId"), vec![3, 4, 5]);
    let until = bp
        .get(&format!(
            "/order-service/order-search?createdOn=/{}",
            urlencode(&created)
        ))
        .await;
    assert_eq!(result_ids(&until, "orderId"), vec![1, 2, 3]);

    // `columns=` restricts and orders the columns.
    let columns = bp
        .get("/order-service/order-search?columns=externalRef,orderId&sort=orderId")
        .await;
    assert_eq!(
        columns.json["response"]["results"][0],
        json!(["dsco:order:1", 1])
    );

    // Unparsable filters are 500 CMNC-018.
    for query in [
        "orderId=abc",
        "createdOn=yesterday",
        "contactId=x",
        "orderId=5-",
    ] {
        let bad = bp
            .get(&format!("/order-service/order-search?{query}"))
            .await;
        assert_eq!(bad.status, 500, "{query}");
        assert_eq!(bad.error_codes(), vec!["CMNC-018"], "{query}");
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// §4.5: sales-order search by externalRef and customerRefs.
#[tokio::test]
async fn sales_order_search_finds_by_external_ref_and_customer_refs() {
    let bp = Bp::seeded().await;
    let first = bp.create_order("dsco:order:a").await;
    let mut body = order_body("dsco:order:b");
    body["ref"] = json!("PO-B");
    let second = bp.post("/order-service/sales-order", body).await.json["response"]
        .as_u64()
        .unwrap();
    let reply = bp
        .get("/order-service/sales-order-search?externalRef=dsco%3Aorder%3Ab")
        .await;
    assert_eq!(result_ids(&reply, "salesOrderId"), vec![second]);
    let reply = bp
        .get("/order-service/sales-order-search?customerRefs=PO-B,DSCO-PO-778812")
        .await;
    assert_eq!(
        result_ids(&reply, "salesOrderId"),
        vec![first as u64, second]
    );
}

// §6: product GET and search by SKU / EAN / UPC / barcode / MPN.
#[tokio::test]
async fn product_get_and_search_by_identifiers() {
    let bp = Bp::seeded().await;
    let reply = bp.get("/product-service/product/7").await;
    let product = &reply.json["response"][0];
    assert_eq!(product["identity"]["sku"], "SKU-0007");
    assert_eq!(product["salesChannels"][0]["productName"], "Demo product 7");
    assert_eq!(bp.get("/product-service/product/40").await.status, 404);

    let demo = dsco_brightpearl::sandbox::demo::product(7);
    for (column, value) in [
        ("SKU", demo.sku.clone()),
        ("EAN", demo.ean.clone()),
        ("UPC", demo.upc.clone()),
        ("barcode", demo.barcode.clone()),
        ("MPN", demo.mpn.clone()),
    ] {
        let reply = bp
            .get(&format!("/product-service/product-search?{column}={value}"))
            .await;
        assert_eq!(result_ids(&reply, "productId"), vec![7], "{column}");
    }
    // The planted duplicate barcode matches two products.
    let shared = dsco_brightpearl::sandbox::demo::product(50).barcode;
    let reply = bp
        .get(&format!("/product-service/product-search?barcode={shared}"))
        .await;
    assert_eq!(result_ids(&reply, "productId"), vec![50, 51]);
    // A DSCO-only SKU is not found.
    let none = bp.get("/product-service/product-search?SKU=SKU-0040").await;
    assert_eq!(none.json["response"]["results"], json!([]));

    let id = bp.sim.add_product(NewProduct {
        sku: "NEW-1".into(),
        name: "New one".into(),
        ..NewProduct::default()
    });
    let reply = bp.get("/product-service/product-search?SKU=NEW-1").await;
    assert_eq!(result_ids(&reply, "productId"), vec![id as u64]);
}

// §6: availability per warehouse with onHand = inStock − allocated.
#[tokio::test]
async fn availability_keeps_on_hand_equal_to_in_stock_minus_allocated() {
    let bp = Bp::seeded().await;
    bp.sim.set_stock(7, 2, 10);
    let id = bp.create_order("avail-1").await;
    let row = product_row_id(&bp.sim.order(id).unwrap());
    let note = bp.sim.create_goods_out_note(id, &[(row, 2)]).unwrap();
    let reply = bp.get("/warehouse-service/product-availability/7").await;
    let warehouse = &reply.json["response"]["7"]["warehouses"]["2"];
    assert_eq!(
        warehouse,
        &json!({"inStock": 10, "onHand": 8, "allocated": 2, "inTransit": 0})
    );
    let total = &reply.json["response"]["7"]["total"];
    assert_eq!(
        total["onHand"].as_i64().unwrap(),
        total["inStock"].as_i64().unwrap() - total["allocated"].as_i64().unwrap()
    );
    bp.sim
        .ship_goods_out_note(note, Some("1Z999"), None)
        .unwrap();
    let reply = bp.get("/warehouse-service/product-availability/7").await;
    assert_eq!(
        reply.json["response"]["7"]["warehouses"]["2"],
        json!({"inStock": 8, "onHand": 8, "allocated": 0, "inTransit": 0})
    );
    // One unknown product fails the whole call.
    assert_eq!(
        bp.get("/warehouse-service/product-availability/7,40")
            .await
            .status,
        400
    );
}

// §6: goods-out notes: POST, GET keyed by id, PUT shipping, events with SHW auto-fill, reject
// after shipped, If-Match, lastEventVersion bump.
#[tokio::test]
async fn goods_out_note_lifecycle() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("gon-1").await;
    let row = product_row_id(&bp.sim.order(id).unwrap());
    let created = bp
        .post(
            &format!("/warehouse-service/order/{id}/goods-note/goods-out"),
            json!({"warehouses":[{"releaseDate":"2025-03-02T09:00:00Z","warehouseId":2,"transfer":false,
                   "products":[{"productId":7,"salesOrderRowId":row,"quantity":2}]}],
                   "priority":false,"shippingMethodId":1}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.json);
    let note = created.json["response"][0].as_u64().unwrap();
    // Nothing is left to allocate on that row.
    let again = bp
        .post(
            &format!("/warehouse-service/order/{id}/goods-note/goods-out"),
            json!({"warehouses":[{"warehouseId":2,"products":[{"productId":7,"salesOrderRowId":row,"quantity":1}]}]}),
        )
        .await;
    assert_eq!(again.status, 400);

    let get = bp
        .get(&format!(
            "/warehouse-service/order/{id}/goods-note/goods-out"
        ))
        .await;
    let body = &get.json["response"][note.to_string()];
    assert_eq!(body["orderId"], id);
    assert_eq!(body["orderRows"][row.to_string()][0]["quantity"], 2);
    assert_eq!(body["status"]["shipped"], false);
    assert_eq!(body["events"][0]["eventCode"], "PLA");
    let version = body["lastEventVersion"].as_u64().unwrap();

    let put = bp
        .put(
            &format!("/warehouse-service/goods-note/goods-out/{note}"),
            json!({"priority":false,"shipping":{"reference":"1Z999AA10123456784","shippingMethodId":2,"boxes":1,"weight":"2.5"}}),
        )
        .await;
    assert_eq!(put.json, json!({}));

    let event_path = format!("/warehouse-service/goods-note/goods-out/{note}/event");
    let shw =
        json!({"events":[{"eventCode":"SHW","occured":"2025-03-02T16:10:00Z","eventOwnerId":4}]});
    let stale = bp
        .send(
            bp.private(bp.http.post(bp.url(&event_path)))
                .header("if-match", (version - 1).to_string())
                .json(&shw),
        )
        .await;
    assert_eq!(stale.status, 412);
    let missing_field = bp
        .post(
            &event_path,
            json!({"events":[{"eventCode":"SHW","eventOwnerId":4}]}),
        )
        .await;
    assert_eq!(missing_field.status, 400);
    let shipped = bp
        .send(
            bp.private(bp.http.post(bp.url(&event_path)))
                .header("if-match", version.to_string())
                .json(&shw),
        )
        .await;
    assert_eq!(shipped.json, json!({}));

    let get = bp
        .get(&format!(
            "/warehouse-service/order/*/goods-note/goods-out/{note}"
        ))
        .await;
    let body = &get.json["response"][note.to_string()];
    let codes: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["eventCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["PLA", "PRI", "PIC", "PAC", "SHW"]);
    assert_eq!(body["status"]["shipped"], true);
    assert_eq!(body["status"]["printed"], true);
    assert_eq!(body["status"]["shippedOn"], "2025-03-02T10:10:00.000-06:00");
    assert_eq!(body["shipping"]["reference"], "1Z999AA10123456784");
    assert_eq!(body["shipping"]["shippingMethodId"], 2);
    assert!(body["lastEventVersion"].as_u64().unwrap() > version);

    let after = bp
        .post(&event_path, json!({"events":[{"eventCode":"PAC","occured":"2025-03-02T17:00:00Z","eventOwnerId":4}]}))
        .await;
    assert_eq!(after.status, 400);
    let put_after = bp
        .put(
            &format!("/warehouse-service/goods-note/goods-out/{note}"),
            json!({"shipping":{"reference":"LATE"}}),
        )
        .await;
    assert_eq!(put_after.status, 400);

    let order = bp.sim.order(id).unwrap();
    assert_eq!(order["shippingStatusCode"], "ASS");

    let search = bp
        .get("/warehouse-service/goods-note/goods-out-search?shipped=true&shippedOn=2025-03-01/")
        .await;
    assert_eq!(result_ids(&search, "goodsOutNoteId"), vec![note]);
    let unshipped = bp
        .get("/warehouse-service/goods-note/goods-out-search?shipped=false")
        .await;
    assert_eq!(unshipped.json["response"]["results"], json!([]));
    assert_eq!(
        bp.get("/warehouse-service/order/999/goods-note/goods-out")
            .await
            .status,
        404
    );
}

// §4.15: drop-ship notes.
#[tokio::test]
async fn drop_ship_notes_post_get_and_ship() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("ds-1").await;
    let row = product_row_id(&bp.sim.order(id).unwrap());
    let created = bp
        .post(
            &format!("/warehouse-service/order/{id}/goods-note/drop-ship"),
            json!({"suppliers":[{"supplierId":2,"purchaseOrderId":77,"products":[{"productId":7,
                   "purchaseOrderRowId":1,"salesOrderRowId":row,"quantity":2,
                   "productValue":{"currency":"USD","value":"10.00"}}]}]}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.json);
    let note = created.json["response"][0].as_u64().unwrap();
    assert_eq!(
        bp.get("/warehouse-service/order/*/goods-note/drop-ship")
            .await
            .status,
        400
    );
    let event = bp
        .post(
            &format!("/warehouse-service/goods-note/drop-ship/{note}/event"),
            json!({"trackingReference":"TRK-1","shippingMethodId":1,
                   "events":[{"eventCode":"SHS","occured":"2025-03-03T10:00:00Z","eventOwnerId":1}]}),
        )
        .await;
    assert_eq!(event.json, json!({}));
    let get = bp
        .get(&format!(
            "/warehouse-service/order/{id}/goods-note/drop-ship/{note}"
        ))
        .await;
    let body = &get.json["response"][note.to_string()];
    assert_eq!(body["status"]["shipped"], true);
    assert_eq!(body["supplierId"], 2);
    assert_eq!(body["purchaseOrderId"], 77);
    assert_eq!(bp.sim.order(id).unwrap()["shippingStatusCode"], "ASS");
}

// §6: webhooks create / list / delete; no update; bad subscribeTo.
#[tokio::test]
async fn webhook_create_list_delete() {
    let bp = Bp::seeded().await;
    let created = bp
        .post(
            "/integration-service/webhook",
            json!({"subscribeTo":"goods-out-note.modified.shipped","httpMethod":"POST",
                   "uriTemplate":"https://daemon.example.com/bp/hook?token=SECRET",
                   "bodyTemplate": BODY_TEMPLATE, "contentType":"application/json",
                   "idSetAccepted":true,"qualityOfService":1}),
        )
        .await;
    let id = created.json["response"].as_u64().unwrap();
    let list = bp.get("/integration-service/webhook").await;
    assert_eq!(list.json["response"][0]["id"], id);
    assert_eq!(
        list.json["response"][0]["subscribeTo"],
        "goods-out-note.modified.shipped"
    );
    assert_eq!(list.json["response"][0]["idSetAccepted"], true);
    assert_eq!(
        bp.get(&format!("/integration-service/webhook/{id}"))
            .await
            .status,
        200
    );
    assert_eq!(bp.get("/integration-service/webhook/999").await.status, 404);
    let update = bp
        .put(
            &format!("/integration-service/webhook/{id}"),
            json!({"subscribeTo": "product"}),
        )
        .await;
    assert_ne!(update.status, 200);
    let deleted = bp
        .call(
            Method::DELETE,
            &format!("/integration-service/webhook/{id}"),
            None,
        )
        .await;
    assert_eq!(deleted.json, json!({}));
    let again = bp
        .call(
            Method::DELETE,
            &format!("/integration-service/webhook/{id}"),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    let bad = bp
        .post(
            "/integration-service/webhook",
            json!({"subscribeTo":"contact.created","httpMethod":"POST","uriTemplate":"https://x.example/",
                   "bodyTemplate":"{}","contentType":"application/json"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_codes(), vec!["INTC-064"]);
}

// §6: webhook delivery with rendered templates.
#[tokio::test]
async fn webhook_delivery_renders_the_templates() {
    let bp = Bp::seeded().await;
    let (receiver, hook_server) = Receiver::start(&[]).await;
    bp.post(
        "/integration-service/webhook",
        json!({"subscribeTo":"goods-out-note","httpMethod":"POST",
               "uriTemplate": format!("{}/bp/${{resource-type}}/${{resource-id}}?token=SECRET", hook_server.url()),
               "bodyTemplate": BODY_TEMPLATE, "contentType":"application/json",
               "idSetAccepted":false,"qualityOfService":1}),
    )
    .await;
    let id = bp.create_order("hook-1").await;
    let note = bp.sim.create_goods_out_note(id, &[]).unwrap();
    assert!(eventually(|| receiver.count() >= 1).await);
    let (path, body) = receiver.calls.lock().unwrap()[0].clone();
    assert_eq!(path, format!("/bp/goods-out-note/{note}?token=SECRET"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["accountCode"], "sandbox");
    assert_eq!(body["resourceType"], "goods-out-note");
    assert_eq!(body["id"], note.to_string());
    assert_eq!(body["lifecycleEvent"], "created");
    assert_eq!(body["fullEvent"], "goods-out-note.created");
    let raised = body["raisedOn"].as_str().unwrap();
    assert!(raised.ends_with('Z') && raised.len() == 24, "{raised}");
}

// §6: ID-set batching.
#[tokio::test]
async fn webhook_batches_ids_for_id_set_subscribers() {
    let bp = Bp::seeded().await;
    let (receiver, hook_server) = Receiver::start(&[]).await;
    register_webhook(
        &bp,
        &hook_server.url(),
        "goods-out-note.modified.shipped",
        true,
        1,
    )
    .await;
    let mut notes = Vec::new();
    for n in 0..3 {
        let id = bp.create_order(&format!("batch-{n}")).await;
        notes.push(bp.sim.create_goods_out_note(id, &[]).unwrap());
    }
    bp.sim.pause_webhooks();
    for note in &notes {
        bp.sim.ship_goods_out_note(*note, None, None).unwrap();
    }
    bp.sim.resume_webhooks().await;
    assert!(eventually(|| receiver.count() >= 1).await);
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["id"], format!("{}-{}", notes[0], notes[2]));
    assert_eq!(bodies[0]["fullEvent"], "goods-out-note.modified.shipped");
}

// §6: duplicate deliveries on demand (QoS 1 is at-least-once).
#[tokio::test]
async fn webhook_duplicate_delivery_knob_sends_every_call_twice() {
    let config = BrightpearlSimConfig {
        webhook_duplicate_delivery: true,
        ..BrightpearlSimConfig::default()
    };
    let bp = Bp::start(config).await;
    bp.sim.seed_demo(20);
    let (receiver, hook_server) = Receiver::start(&[]).await;
    register_webhook(&bp, &hook_server.url(), "sales-order.created", false, 1).await;
    let id = bp.create_order("dup-1").await;
    assert!(eventually(|| receiver.count() >= 2).await);
    let bodies = receiver.bodies();
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["id"], id.to_string());
    assert!(
        bp.sim
            .webhook_deliveries()
            .iter()
            .any(|delivery| delivery.duplicate)
    );
}

// §4.16: QoS 1 retries anything but 2xx/4xx; QoS 0 only retries 503.
#[tokio::test]
async fn webhook_quality_of_service_controls_retries() {
    let bp = Bp::seeded().await;
    let (receiver, hook_server) = Receiver::start(&[500]).await;
    register_webhook(&bp, &hook_server.url(), "sales-order.created", false, 1).await;
    bp.create_order("qos-1").await;
    assert!(eventually(|| receiver.count() >= 2).await);

    let (receiver0, hook_server0) = Receiver::start(&[500, 503]).await;
    let bp0 = Bp::seeded().await;
    register_webhook(&bp0, &hook_server0.url(), "sales-order.created", false, 0).await;
    bp0.create_order("qos-0").await;
    assert!(eventually(|| !bp0.sim.webhook_deliveries().is_empty()).await);
    assert_eq!(receiver0.count(), 1);
    let attempts: Vec<Option<u16>> = bp0
        .sim
        .webhook_deliveries()
        .iter()
        .map(|d| d.status)
        .collect();
    assert_eq!(attempts, vec![Some(500)]);
}

// §6: contacts: search by primaryEmail (several hits), postal-address POST, contact POST, GET.
#[tokio::test]
async fn contacts_search_create_and_get() {
    let bp = Bp::seeded().await;
    let hits = bp
        .get("/contact-service/contact-search?primaryEmail=jane@example.com")
        .await;
    assert_eq!(result_ids(&hits, "contactId").len(), 2);

    let address = bp
        .post(
            "/contact-service/postal-address",
            json!({"addressLine1":"12 Elm St","addressLine2":"","addressLine3":"Springfield",
                   "addressLine4":"IL","postalCode":"62701","countryIsoCode":"USA"}),
        )
        .await;
    let address_id = address.json["response"].as_u64().unwrap();
    assert_eq!(
        bp.post(
            "/contact-service/postal-address",
            json!({"postalCode": "1"})
        )
        .await
        .status,
        400
    );
    let contact = bp
        .post(
            "/contact-service/contact",
            json!({"firstName":"Jane","lastName":"Buyer",
                   "postAddressIds":{"DEF":address_id,"BIL":address_id,"DEL":address_id},
                   "communication":{"emails":{"PRI":{"email":"jane.new@example.com"}},"telephones":{"PRI":"555-0100"}},
                   "relationshipToAccount":{"isSupplier":false,"isStaff":false},
                   "marketingDetails":{"isReceiveEmailNewsletter":false}}),
        )
        .await;
    let contact_id = contact.json["response"].as_u64().unwrap();
    let get = bp
        .get(&format!("/contact-service/contact/{contact_id}"))
        .await;
    let body = &get.json["response"][0];
    assert_eq!(
        body["communication"]["emails"]["PRI"]["email"],
        "jane.new@example.com"
    );
    assert_eq!(body["postAddressIds"]["DEL"], address_id);
    assert!(body.get("createdByid").is_some());
    assert_eq!(get.json["pagination"]["resultsReturned"], 1);
    assert_eq!(get.json["sorting"][0]["field"], "contactId");
    // Pages through the requested set (§1.9).
    let page = bp
        .get("/contact-service/contact/1-7?firstResult=3&pageSize=2&sort=contactId.DESC")
        .await;
    let ids: Vec<u64> = page.json["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|contact| contact["contactId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![5, 4]);
    assert_eq!(page.json["pagination"]["morePagesAvailable"], true);
    assert_eq!(page.json["pagination"]["firstResult"], 3);
    assert_eq!(page.json["pagination"]["lastResult"], 4);
    let addresses = bp
        .get(&format!("/contact-service/postal-address/{address_id}"))
        .await;
    assert_eq!(addresses.json["response"][0]["contactId"], contact_id);
    assert_eq!(addresses.json["response"][0]["countryIsoCode"], "USA");

    // The new contact shares the "contains" search with both Janes (SEARCH_STRING).
    let hits = bp
        .get("/contact-service/contact-search?primaryEmail=example.com")
        .await;
    assert!(result_ids(&hits, "contactId").len() >= 3);
    let missing = bp.get("/contact-service/contact/999").await;
    assert_eq!(missing.status, 404);
    assert!(missing.error_text().contains("No Contact Found"));
    assert_eq!(bp.sim.contact_count(), 8);
}

// §6: lookups.
#[tokio::test]
async fn lookups_answer_with_seeded_data() {
    let bp = Bp::seeded().await;
    let warehouses = bp.get("/warehouse-service/warehouse").await;
    assert_eq!(warehouses.json["response"].as_array().unwrap().len(), 3);
    let methods = bp.get("/warehouse-service/shipping-method/1").await;
    assert_eq!(methods.json["response"][0]["code"], "UPSGND");
    let statuses = bp.get("/order-service/order-status").await;
    assert!(
        statuses.json["response"]
            .as_array()
            .unwrap()
            .iter()
            .any(|status| status["name"] == "Cancelled" && status["orderTypeCode"] == "SO")
    );
    let channels = bp.get("/product-service/channel").await;
    assert!(
        channels.json["response"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "DSCO")
    );
    let price_lists = bp.get("/product-service/price-list").await;
    assert_eq!(price_lists.json["response"][0]["priceListTypeCode"], "BUY");
    let tax = bp.get("/accounting-service/tax-code").await;
    let codes = tax.json["response"].as_array().unwrap();
    let taxable = codes.iter().find(|code| code["code"] == "T").unwrap();
    assert!(taxable["rate"].is_number());
    assert_eq!(taxable["rate"].as_f64(), Some(10.0));
    let exempt = codes.iter().find(|code| code["code"] == "Z").unwrap();
    assert!(exempt.get("rate").is_none());
    assert_eq!(bp.get("/warehouse-service/warehouse/99").await.status, 404);
}

// §6: dates in the account offset; `Z` or offset accepted on input.
#[tokio::test]
async fn dates_render_in_the_account_offset_and_accept_z_or_offset() {
    let config = BrightpearlSimConfig {
        account_utc_offset_minutes: 60,
        ..BrightpearlSimConfig::default()
    };
    let bp = Bp::start(config).await;
    bp.sim.seed_demo(10);
    let mut zulu = order_body("date-z");
    zulu["placedOn"] = json!("2025-03-01T14:05:00Z");
    let mut offset = order_body("date-offset");
    offset["placedOn"] = json!("2025-03-01T08:05:00-06:00");
    let a = bp.post("/order-service/sales-order", zulu).await.json["response"]
        .as_u64()
        .unwrap();
    let b = bp.post("/order-service/sales-order", offset).await.json["response"]
        .as_u64()
        .unwrap();
    let a = bp.sim.order(a as u32).unwrap();
    let b = bp.sim.order(b as u32).unwrap();
    assert_eq!(a["placedOn"], "2025-03-01T15:05:00.000+01:00");
    assert_eq!(a["placedOn"], b["placedOn"]);
    let created = a["createdOn"].as_str().unwrap();
    assert_eq!(created.len(), 29);
    assert_eq!(&created[19..20], ".");
    assert!(created.ends_with("+01:00"));
    let mut bad = order_body("date-bad");
    bad["placedOn"] = json!("first of March");
    assert_eq!(bp.post("/order-service/sales-order", bad).await.status, 400);
}

// Invoicing: the close POST makes invoices[0].invoiceReference non-empty.
#[tokio::test]
async fn closing_an_order_invoices_it() {
    let bp = Bp::seeded().await;
    let id = bp.create_order("inv-1").await;
    let closed = bp
        .post(
            &format!("/order-service/sales-order/{id}/close"),
            json!({"taxDate": "2025-03-27T00:00:00.000Z"}),
        )
        .await;
    assert_eq!(closed.json, json!({}));
    let order = bp.get(&format!("/order-service/order/{id}")).await;
    let order = &order.json["response"][0];
    assert!(
        order["invoices"][0]["invoiceReference"]
            .as_str()
            .unwrap()
            .starts_with("SI-")
    );
    assert_eq!(order["state"]["tax"], "INVOICED");
    assert!(order["closedOn"].is_string());
    let again = bp
        .post(&format!("/order-service/sales-order/{id}/close"), json!({}))
        .await;
    assert_eq!(again.status, 400);
    let other = bp.create_order("inv-2").await;
    assert!(bp.sim.invoice_order(other).unwrap().starts_with("SI-"));
}

// Exactly-once: the POST creates the order, the client never hears, externalRef finds it.
#[tokio::test]
async fn spoiled_create_response_still_creates_and_is_found_by_external_ref() {
    let bp = Bp::seeded().await;
    for (n, kind) in [FaultKind::MalformedJson, FaultKind::Reset]
        .into_iter()
        .enumerate()
    {
        bp.sim.faults().add(FaultRule {
            method: Some("POST".into()),
            path_contains: "/sales-order".into(),
            query_contains: None,
            body_contains: None,
            kind,
            mode: FaultMode::Next(1),
        });
        let external_ref = format!("dsco:order:lost-{n}");
        let outcome = bp
            .private(bp.http.post(bp.url("/order-service/sales-order")))
            .json(&order_body(&external_ref))
            .send()
            .await;
        let heard = match outcome {
            Ok(response) => response.json::<Value>().await.ok(),
            Err(_) => None,
        };
        assert!(heard.is_none(), "the client must not hear the id");
        let found = bp
            .get(&format!(
                "/order-service/sales-order-search?externalRef={}",
                urlencode(&external_ref)
            ))
            .await;
        assert_eq!(result_ids(&found, "salesOrderId").len(), 1);
    }
    assert_eq!(bp.sim.order_count(), 2);

    // Slow: the client gives up before the answer comes; the order exists all the same.
    bp.sim.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/sales-order".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Slow { ms: 1_500 },
        mode: FaultMode::Next(1),
    });
    let impatient = bp
        .private(bp.http.post(bp.url("/order-service/sales-order")))
        .timeout(Duration::from_millis(200))
        .json(&order_body("dsco:order:slow"))
        .send()
        .await;
    assert!(impatient.is_err());
    let found = bp
        .get("/order-service/order-search?externalRef=dsco%3Aorder%3Aslow")
        .await;
    assert_eq!(result_ids(&found, "orderId").len(), 1);
}

// The admin surface.
#[tokio::test]
async fn admin_routes_drive_scenarios() {
    let bp = Bp::start(BrightpearlSimConfig::default()).await;
    let seeded = bp
        .admin(
            Method::POST,
            "/_sandbox/seed",
            Some(json!({"products": 20})),
        )
        .await;
    assert_eq!(seeded.json["products"], 20);
    let stock = bp
        .admin(
            Method::POST,
            "/_sandbox/stock",
            Some(json!({"productId": 7, "warehouseId": 1, "onHand": 3})),
        )
        .await;
    assert_eq!(stock.status, 204);
    let id = bp.create_order("admin-1").await;
    let note = bp
        .admin(
            Method::POST,
            &format!("/_sandbox/orders/{id}/goods-out"),
            Some(json!({"ship": true, "tracking": "1ZTRACK", "shippingMethodId": 2})),
        )
        .await;
    assert_eq!(note.status, 200, "{}", note.json);
    let state = bp.admin(Method::GET, "/_sandbox/state", None).await;
    assert_eq!(
        state.json["notes"]["goodsOut"][0]["shipping"]["reference"],
        "1ZTRACK"
    );
    let invoice = bp
        .admin(
            Method::POST,
            &format!("/_sandbox/orders/{id}/invoice"),
            None,
        )
        .await;
    assert!(
        invoice.json["invoiceReference"]
            .as_str()
            .unwrap()
            .starts_with("SI-")
    );
    let status = bp
        .admin(
            Method::POST,
            &format!("/_sandbox/orders/{id}/status"),
            Some(json!({"statusId": 5})),
        )
        .await;
    assert_eq!(
        status.status, 400,
        "cancelling a shipped, invoiced order is refused"
    );
    let order = bp
        .admin(Method::GET, &format!("/_sandbox/orders/{id}"), None)
        .await;
    assert_eq!(order.json["shippingStatusCode"], "ASS");
    let products = bp.admin(Method::GET, "/_sandbox/products", None).await;
    assert_eq!(products.json.as_array().unwrap().len(), 20);
    let added = bp
        .admin(
            Method::POST,
            "/_sandbox/products",
            Some(json!({"sku": "ADM-1"})),
        )
        .await;
    assert!(added.json["id"].as_u64().unwrap() > 20);
    // Admin calls are neither throttled nor logged.
    assert_eq!(bp.sim.requests().count("GET", "/_sandbox"), 0);
    let reset = bp.admin(Method::POST, "/_sandbox/reset", None).await;
    assert_eq!(reset.status, 204);
    assert_eq!(bp.sim.order_count(), 0);
    assert_eq!(bp.sim.dump_state()["products"], json!([]));
}
