//! Client behaviour against tiny in-test axum servers on `127.0.0.1:0`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use url::Url;

use super::*;
use crate::secret::Secret;

async fn serve(router: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Url::parse(&format!("http://{addr}/api/v3")).unwrap()
}

fn client_for(base_url: Url, auth: Auth) -> Client {
    Client::new(ClientConfig {
        base_url,
        auth,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    })
    .unwrap()
    .with_retry_policy(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    })
    .with_change_log_polling(ChangeLogPolling {
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        deadline: Duration::from_secs(5),
    })
}

fn credentials() -> Auth {
    Auth::ClientCredentials {
        client_id: "supplier-1".into(),
        client_secret: Secret::from("s3cret"),
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A fake DSCO: issues `tok-1`, `tok-2`, ... with a fixed lifetime, counts everything.
#[derive(Clone, Default)]
struct Fake {
    tokens_issued: Arc<AtomicU32>,
    expires_in: u64,
    /// Tokens the data endpoints accept; empty = any issued token.
    accepted: Arc<Mutex<Vec<String>>>,
    hits: Arc<Mutex<HashMap<String, u32>>>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Fake {
    fn new(expires_in: u64) -> Self {
        Fake {
            expires_in,
            ..Default::default()
        }
    }

    fn hit(&self, name: &str) -> u32 {
        let mut hits = self.hits.lock().unwrap();
        let n = hits.entry(name.to_owned()).or_default();
        *n += 1;
        *n
    }

    fn hits(&self, name: &str) -> u32 {
        self.hits.lock().unwrap().get(name).copied().unwrap_or(0)
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(token) = value.strip_prefix("bearer ") else {
            return false;
        };
        let accepted = self.accepted.lock().unwrap();
        if accepted.is_empty() {
            token.starts_with("tok-")
        } else {
            accepted.iter().any(|t| t == token)
        }
    }
}

async fn token(State(fake): State<Fake>, Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("client_secret").map(String::as_str) != Some("s3cret")
    {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error":"invalid_client","error_description":"bad credentials"}),
        );
    }
    let n = fake.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    json_response(
        StatusCode::OK,
        json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": fake.expires_in}),
    )
}

async fn trading_partners(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    fake.hit("tradingpartner");
    if !fake.authorised(&headers) {
        return json_response(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    }
    json_response(
        StatusCode::OK,
        json!([{"accountId": "1000050000", "tradingPartnerName": "Big Box", "status": "active"}]),
    )
}

fn router(fake: &Fake) -> Router {
    Router::new()
        .route("/api/v3/oauth2/token", post(token))
        .route("/api/v3/tradingpartner", get(trading_partners))
        .with_state(fake.clone())
}

#[tokio::test]
async fn token_is_cached_while_fresh() {
    let fake = Fake::new(3600);
    let client = client_for(serve(router(&fake)).await, credentials());
    for _ in 0..3 {
        let partners = client.list_trading_partners().await.unwrap();
        assert_eq!(partners[0].account_id, "1000050000");
    }
    assert_eq!(fake.tokens_issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn token_is_refreshed_before_expiry() {
    // A 60 s token is inside the refresh margin from the start: every call refreshes first.
    let fake = Fake::new(60);
    let client = client_for(serve(router(&fake)).await, credentials());
    client.list_trading_partners().await.unwrap();
    client.list_trading_partners().await.unwrap();
    assert_eq!(fake.tokens_issued.load(Ordering::SeqCst), 2);
    assert_eq!(
        fake.hits("tradingpartner"),
        2,
        "no call was sent with a stale token"
    );
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let fake = Fake::new(3600);
    // Only the second token is valid: the first call 401s, refreshes, then succeeds.
    fake.accepted.lock().unwrap().push("tok-2".into());
    let client = client_for(serve(router(&fake)).await, credentials());
    client.list_trading_partners().await.unwrap();
    assert_eq!(fake.tokens_issued.load(Ordering::SeqCst), 2);
    assert_eq!(fake.hits("tradingpartner"), 2);

    // A token that never works: exactly one refresh, then a definite Unauthorized.
    let fake = Fake::new(3600);
    fake.accepted.lock().unwrap().push("never".into());
    let client = client_for(serve(router(&fake)).await, credentials());
    let error = client.list_trading_partners().await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error}");
    assert_eq!(fake.hits("tradingpartner"), 2);
    assert!(!format!("{client:?}").contains("s3cret"));
}

#[tokio::test]
async fn bad_client_credentials_fail_the_ping() {
    let fake = Fake::new(3600);
    let client = client_for(
        serve(router(&fake)).await,
        Auth::ClientCredentials {
            client_id: "supplier-1".into(),
            client_secret: Secret::from("wrong"),
        },
    );
    let error = client.ping().await.unwrap_err();
    assert!(
        matches!(error, Error::Token { ref error, .. } if error == "invalid_client"),
        "{error}"
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn api_key_ping_calls_hello_with_the_key() {
    async fn hello(headers: HeaderMap) -> Response {
        if headers
            .get("authorization")
            .is_some_and(|v| v == "bearer legacy-key")
        {
            json_response(StatusCode::OK, json!({"hello": "World!"}))
        } else {
            json_response(StatusCode::UNAUTHORIZED, json!({}))
        }
    }
    let base = serve(Router::new().route("/api/v3/hello", get(hello))).await;
    let client = client_for(base, Auth::ApiKey(Secret::from("legacy-key")));
    client.ping().await.unwrap();
    assert!(!format!("{client:?}").contains("legacy-key"));
}

fn order(id: &str) -> Value {
    json!({"dscoOrderId": id, "poNumber": format!("PO-{id}"), "orderType": "dropship",
           "dscoLifecycle": "created", "shipping": {"name": "Pat", "address": ["1 Main St"],
           "city": "Springfield", "region": "NJ", "postal": "07000", "country": "US"},
           "billTo": {}, "buyer": null,
           "lineItems": [{"lineNumber": 1, "dscoItemId": "129", "sku": "EX-001", "quantity": 1,
                          "expectedCost": 7.7}]})
}

async fn order_page(State(fake): State<Fake>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let n = fake.hit("order/page");
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    match get("scrollId").as_deref() {
        None => {
            assert!(get("ordersUpdatedSince").is_some() && get("until").is_some());
            let statuses: Vec<&String> = q
                .iter()
                .filter(|(k, _)| k == "status")
                .map(|(_, v)| v)
                .collect();
            assert_eq!(statuses, ["created", "shipment_pending"]);
            json_response(
                StatusCode::OK,
                json!({"orders": [order("1"), order("2")], "scrollId": "s1"}),
            )
        }
        Some("s1") if n == 2 => json_response(
            StatusCode::OK,
            json!({"orders": [order("3")], "scrollId": "s1"}),
        ),
        Some("s1") => json_response(StatusCode::OK, json!({"orders": [], "scrollId": "s1"})),
        Some(_) => json_response(StatusCode::NOT_FOUND, json!({"message": "not found"})),
    }
}

#[tokio::test]
async fn order_pager_follows_the_scroll_id_to_the_empty_page() {
    let fake = Fake::new(3600);
    let app = router(&fake).route(
        "/api/v3/order/page",
        get(order_page).with_state(fake.clone()),
    );
    let client = client_for(serve(app).await, credentials());
    let query = OrderQuery {
        since: OrderWindowStart::UpdatedSince(Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap()),
        until: Utc.with_ymd_and_hms(2025, 11, 2, 0, 0, 0).unwrap(),
        statuses: vec!["created".into(), "shipment_pending".into()],
        orders_per_page: Some(100),
        include_test_orders: false,
    };
    let orders = client.order_pager(query).collect_all().await.unwrap();
    let ids: Vec<String> = orders
        .iter()
        .map(|o| o.dsco_order_id.clone().unwrap().0)
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_eq!(orders[0].line_items[0].sku.as_deref(), Some("EX-001"));
    assert_eq!(fake.hits("order/page"), 3, "stops at the empty page");

    let expired = client
        .fetch_orders_page(&OrderPageRequest::Scroll("stale".into()))
        .await
        .unwrap_err();
    assert!(matches!(expired, Error::ScrollExpired { .. }), "{expired}");
}

/// A batch endpoint answering from a script, and an order log that completes on the second look.
#[derive(Clone)]
struct BatchFake {
    fake: Fake,
    batch_answers: Arc<Vec<(StatusCode, Value)>>,
}

async fn shipment_batch(State(state): State<BatchFake>, body: axum::body::Bytes) -> Response {
    let n = state.fake.hit("shipment/batch") as usize;
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    assert!(parsed.is_array(), "batch bodies are bare arrays");
    state.fake.bodies.lock().unwrap().push(parsed);
    let (status, body) = state.batch_answers[(n - 1).min(state.batch_answers.len() - 1)].clone();
    json_response(status, body)
}

async fn order_log(
    State(state): State<BatchFake>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    assert_eq!(q.get("requestId").map(String::as_str), Some("req-1"));
    let n = state.fake.hit("order/log");
    if n == 1 {
        return json_response(StatusCode::OK, json!({"status": "PROCESSING", "logs": []}));
    }
    json_response(
        StatusCode::OK,
        json!({"status": "COMPLETED", "logs": [
            {"payload": {"dscoOrderId": "2", "shipments": []}, "dateProcessed": "2025-11-14T17:02:11+00:00",
             "status": "failure", "requestMethod": "api", "requestId": "req-1",
             "results": [{"code": "INVALID_SHIP_METHOD", "severity": "error", "description": "GCG is not a carrier code"}]},
            {"payload": {"dscoOrderId": "1", "shipments": []}, "dateProcessed": "2025-11-14T17:02:11+00:00",
             "status": "success", "requestMethod": "api", "requestId": "req-1", "results": []}
        ]}),
    )
}

fn shipment(order_id: &str) -> ShipmentsForUpdate {
    ShipmentsForUpdate {
        dsco_order_id: Some(OrderId(order_id.into())),
        shipments: vec![ShipmentForUpdate {
            tracking_number: Some(format!("1Z{order_id}")),
            shipping_service_level_code: Some("UPCG".into()),
            line_items: vec![ShipmentLineItem {
                quantity: 1,
                line_number: Some(1),
                sku: Some("EX-001".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn batch_client(answers: Vec<(StatusCode, Value)>) -> (Client, Fake) {
    let fake = Fake::new(3600);
    let state = BatchFake {
        fake: fake.clone(),
        batch_answers: Arc::new(answers),
    };
    let app = router(&fake).merge(
        Router::new()
            .route("/api/v3/order/shipment/batch/small", post(shipment_batch))
            .route("/api/v3/order/log", get(order_log))
            .with_state(state),
    );
    (client_for(serve(app).await, credentials()), fake)
}

fn accepted() -> (StatusCode, Value) {
    (
        StatusCode::ACCEPTED,
        json!({"status": "pending", "requestId": "req-1", "eventDate": "2025-11-14T17:00:00+00:00", "messages": []}),
    )
}

#[tokio::test]
async fn batch_submit_polls_the_change_log_and_returns_per_object_outcomes() {
    let (client, fake) = batch_client(vec![accepted()]).await;
    let result = client
        .create_shipments(&[shipment("1"), shipment("2"), shipment("3")])
        .await
        .unwrap();
    assert_eq!(result.request_id, RequestId("req-1".into()));
    let statuses: Vec<ObjectStatus> = result.outcomes.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [
            ObjectStatus::Success,
            ObjectStatus::Failure,
            ObjectStatus::NotReported
        ]
    );
    assert_eq!(result.outcomes[1].key, "2");
    assert_eq!(result.outcomes[1].messages[0].code, "INVALID_SHIP_METHOD");
    assert!(!result.all_succeeded());
    assert_eq!(fake.hits("order/log"), 2, "polled until COMPLETED");
    assert_eq!(fake.bodies.lock().unwrap()[0][0]["dscoOrderId"], "1");
}

#[tokio::test]
async fn batch_is_resent_after_429_but_not_after_500() {
    let (client, fake) = batch_client(vec![
        (StatusCode::TOO_MANY_REQUESTS, json!({})),
        (StatusCode::TOO_MANY_REQUESTS, json!({})),
        accepted(),
    ])
    .await;
    let result = client.create_shipments(&[shipment("1")]).await.unwrap();
    assert!(result.all_succeeded());
    assert_eq!(fake.hits("shipment/batch"), 3);

    let (client, fake) = batch_client(vec![
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "boom"}),
        ),
        accepted(),
    ])
    .await;
    let error = client.create_shipments(&[shipment("1")]).await.unwrap_err();
    assert!(
        error.is_unknown_outcome() && error.is_retryable(),
        "{error}"
    );
    assert_eq!(
        fake.hits("shipment/batch"),
        1,
        "a write that may have landed is not resent"
    );
}

#[tokio::test]
async fn gets_are_retried_on_server_errors_and_429() {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/api/v3/warehouse/page",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let counter = counter.clone();
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                match (n, q.get("scrollId").map(String::as_str)) {
                    (0, _) => json_response(StatusCode::TOO_MANY_REQUESTS, json!({})),
                    (1, _) => json_response(StatusCode::BAD_GATEWAY, json!({})),
                    (_, None) => json_response(
                        StatusCode::OK,
                        json!({"scrollId": "w1", "warehouses": [{"code": "MAIN", "warehouseId": "77", "status": "active"}]}),
                    ),
                    (_, Some(_)) => json_response(StatusCode::OK, json!({"scrollId": "w1", "warehouses": []})),
                }
            }
        }),
    );
    let client = client_for(serve(app).await, Auth::ApiKey(Secret::from("k")));
    let warehouses = client.list_warehouses().await.unwrap();
    assert_eq!(warehouses[0].code, "MAIN");
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn single_object_writes_check_the_success_flag() {
    let flag = Arc::new(AtomicU32::new(0));
    let counter = flag.clone();
    let app = Router::new().route(
        "/api/v3/order/singleShipment",
        post(move || {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    json_response(StatusCode::CREATED, json!({"success": true}))
                } else {
                    json_response(StatusCode::CREATED, json!({"success": false}))
                }
            }
        }),
    );
    let client = client_for(serve(app).await, Auth::ApiKey(Secret::from("k")));
    client.create_shipment(&shipment("1")).await.unwrap();
    let error = client.create_shipment(&shipment("1")).await.unwrap_err();
    assert!(matches!(error, Error::Rejected { .. }), "{error}");
    assert!(!error.is_retryable() && !error.is_unknown_outcome());
}

#[tokio::test]
async fn get_order_maps_404_to_none() {
    let app = Router::new().route(
        "/api/v3/order/",
        get(|Query(q): Query<HashMap<String, String>>| async move {
            assert_eq!(q.get("orderKey").map(String::as_str), Some("poNumber"));
            if q.get("value").map(String::as_str) == Some("PO-1") {
                json_response(StatusCode::OK, order("1"))
            } else {
                json_response(StatusCode::NOT_FOUND, json!({}))
            }
        }),
    );
    let client = client_for(serve(app).await, Auth::ApiKey(Secret::from("k")));
    let found = client
        .get_order(OrderKey::PoNumber, "PO-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.po_number, "PO-1");
    assert!(
        client
            .get_order(OrderKey::PoNumber, "PO-9")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn inventory_batch_reads_the_inventory_log() {
    let app = Router::new()
        .route(
            "/api/v3/inventory/batch/small",
            post(|Query(q): Query<HashMap<String, String>>, axum::Json(items): axum::Json<Value>| async move {
                assert_eq!(q.get("skipItemsThatDontExist").map(String::as_str), Some("true"));
                assert_eq!(items[0]["quantityAvailable"], 45);
                json_response(
                    StatusCode::ACCEPTED,
                    json!({"status":"pending","requestId":"inv-1","eventDate":"2025-11-14T17:00:00+00:00"}),
                )
            }),
        )
        .route(
            "/api/v3/inventory/log",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                assert_eq!(q.get("requestId").map(String::as_str), Some("inv-1"));
                json_response(
                    StatusCode::OK,
                    json!({"status":"COMPLETED","logs":[{"payload":{"sku":"ABC123","warehouses":[]},
                      "dateProcessed":"2025-11-14T17:02:11+00:00","status":"success","requestMethod":"api"}]}),
                )
            }),
        );
    let client = client_for(serve(app).await, Auth::ApiKey(Secret::from("k")));
    let item = ItemInventory {
        sku: "ABC123".into(),
        quantity_available: Some(45),
        status: Some("in-stock".into()),
        warehouses: vec![InventoryWarehouse {
            code: "WH01".into(),
            quantity: Some(45),
            ..Default::default()
        }],
        ..Default::default()
    };
    let result = client.update_inventory(&[item], true).await.unwrap();
    assert!(result.all_succeeded());
    assert_eq!(result.outcomes[0].key, "ABC123");
}
