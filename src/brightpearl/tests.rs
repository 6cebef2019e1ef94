//! Client behaviour against tiny in-test axum servers on `127.0.0.1:0`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
    Url::parse(&format!("http://{addr}")).unwrap()
}

fn config(base_url: Url) -> ClientConfig {
    ClientConfig {
        base_url,
        account: "acme".into(),
        auth: Auth::PrivateApp {
            app_ref: "acme_sync".into(),
            token: Secret::from("tok-123="),
            kind: TokenKind::Staff,
        },
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

fn client(base_url: Url) -> Client {
    Client::new(config(base_url))
        .unwrap()
        .with_retry_policy(fast_retries())
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A server that counts hits and answers from a script, one entry per hit (the last repeats).
#[derive(Clone)]
struct Script {
    hits: Arc<AtomicU32>,
    answers: Arc<Vec<(StatusCode, String)>>,
}

impl Script {
    fn new(answers: &[(u16, &str)]) -> Self {
        Script {
            hits: Arc::new(AtomicU32::new(0)),
            answers: Arc::new(
                answers
                    .iter()
                    .map(|(s, b)| (StatusCode::from_u16(*s).unwrap(), b.to_string()))
                    .collect(),
            ),
        }
    }

    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn scripted(State(script): State<Script>) -> Response {
    let n = script.hits.fetch_add(1, Ordering::SeqCst) as usize;
    let (status, body) = script.answers[n.min(script.answers.len() - 1)].clone();
    let remaining = if status == StatusCode::SERVICE_UNAVAILABLE && body.is_empty() {
        "0"
    } else {
        "150"
    };
    (
        status,
        [
            ("content-type", "application/json"),
            ("brightpearl-requests-remaining", remaining),
            ("brightpearl-next-throttle-period", "10"),
        ],
        body,
    )
        .into_response()
}

async fn scripted_client(
    path: &str,
    method_post: bool,
    answers: &[(u16, &str)],
) -> (Client, Script) {
    let script = Script::new(answers);
    let route = if method_post {
        post(scripted)
    } else {
        get(scripted)
    };
    let router = Router::new()
        .route(&format!("/public-api/acme/{path}"), route)
        .with_state(script.clone());
    (client(serve(router).await), script)
}

#[tokio::test]
async fn retries_a_get_on_500_without_errors_body() {
    let (client, script) = scripted_client(
        "warehouse-service/warehouse",
        false,
        &[
            (500, "oops"),
            (502, ""),
            (200, r#"{"response":[{"id":2,"name":"Main DC"}]}"#),
        ],
    )
    .await;
    let warehouses = client.list_warehouses(Lane::Reference).await.unwrap();
    assert_eq!(warehouses[0].id, WarehouseId(2));
    assert_eq!(script.hits(), 3);
    assert_eq!(client.quota().snapshot().calls_total, 3);
}

#[tokio::test]
async fn does_not_retry_a_500_with_errors_body() {
    let (client, script) = scripted_client(
        "order-service/order-search",
        false,
        &[(
            500,
            r#"{"errors":[{"code":"CMNC-018","message":"filter cannot be parsed as INTEGER"}]}"#,
        )],
    )
    .await;
    let error = client
        .search_orders(Lane::Orders, &SearchQuery::new().filter("contactId", "x"))
        .await
        .unwrap_err();
    assert_eq!(script.hits(), 1);
    assert!(!error.is_retryable());
    assert!(!error.is_unknown_outcome());
    assert_eq!(error.api_errors()[0].code, "CMNC-018");
}

#[tokio::test]
async fn retries_a_read_on_a_500_with_server_codes_and_an_unreadable_200_at_most_twice_each() {
    // The case seen: an order search answered 500 with an errors body that is not a request
    // mistake, then a 200 whose body was cut short; both pass.
    let ok = r#"{"response":{"metaData":{"resultsAvailable":0,"resultsReturned":0,"firstResult":1,"lastResult":0,"morePagesAvailable":false,"columns":[]},"results":[]}}"#;
    let (client, script) = scripted_client(
        "order-service/order-search",
        false,
        &[
            (
                500,
                r#"{"errors":[{"code":"CMNC-500","message":"internal"}]}"#,
            ),
            (200, r#"{"response":{"metaData":{"resultsAvail"#),
            (200, ok),
        ],
    )
    .await;
    let page = client
        .search_orders(Lane::Orders, &SearchQuery::new().filter("externalRef", "x"))
        .await
        .unwrap();
    assert!(page.rows.is_empty());
    assert_eq!(script.hits(), 3);
    // A lasting fault of that kind stops after two retries (the policy would allow three).
    let (client, script) = scripted_client(
        "warehouse-service/warehouse",
        false,
        &[(200, "{\"response\": [unterminated")],
    )
    .await;
    let error = client.list_warehouses(Lane::Reference).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error}");
    assert_eq!(script.hits(), 3);
}

#[tokio::test]
async fn a_write_answered_500_with_server_codes_is_an_unknown_outcome_and_not_sent_again() {
    let (client, script) = scripted_client(
        "order-service/sales-order",
        true,
        &[(
            500,
            r#"{"errors":[{"code":"CMNC-500","message":"internal"}]}"#,
        )],
    )
    .await;
    let error = client
        .create_sales_order(Lane::Orders, &new_order())
        .await
        .unwrap_err();
    assert_eq!(script.hits(), 1);
    assert!(error.is_unknown_outcome(), "{error}");
}

fn new_order() -> SalesOrder {
    SalesOrder {
        customer: SalesOrderCustomer {
            id: ContactId(4512),
            address: None,
        },
        external_ref: Some("dsco:order:1".into()),
        rows: vec![SalesOrderRow {
            product_id: Some(ProductId(1007)),
            quantity: "2".into(),
            tax_code: "T".into(),
            net: "39.9800".into(),
            tax: "0.0000".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn create_is_retried_after_a_throttle_but_not_after_a_server_error() {
    // A throttle 503 means "not applied": safe to send the create again.
    let (client, script) = scripted_client(
        "order-service/sales-order",
        true,
        &[(503, ""), (200, r#"{"response":88213}"#)],
    )
    .await;
    let id = client
        .create_sales_order(Lane::Orders, &new_order())
        .await
        .unwrap();
    assert_eq!(id, OrderId(88213));
    assert_eq!(script.hits(), 2);
    assert_eq!(client.quota().snapshot().throttled_total, 1);

    // A 500 without an errors body may have created the order: no retry, unknown outcome.
    let (client, script) = scripted_client(
        "order-service/sales-order",
        true,
        &[(500, "upstream reset"), (200, r#"{"response":1}"#)],
    )
    .await;
    let error = client
        .create_sales_order(Lane::Orders, &new_order())
        .await
        .unwrap_err();
    assert_eq!(script.hits(), 1);
    assert!(error.is_unknown_outcome(), "{error}");

    // An unreadable 200 is an unknown outcome too.
    let (client, script) =
        scripted_client("order-service/sales-order", true, &[(200, "<html>")]).await;
    let error = client
        .create_sales_order(Lane::Orders, &new_order())
        .await
        .unwrap_err();
    assert_eq!(script.hits(), 1);
    assert!(error.is_unknown_outcome(), "{error}");
}

#[tokio::test]
async fn validation_rejection_exposes_codes() {
    let (client, script) = scripted_client(
        "order-service/sales-order",
        true,
        &[(
            400,
            r#"{"errors":[{"code":"ORDC-006","message":"Invalid order type code"}]}"#,
        )],
    )
    .await;
    let error = client
        .create_sales_order(Lane::Orders, &new_order())
        .await
        .unwrap_err();
    assert_eq!(script.hits(), 1);
    assert!(!error.is_unknown_outcome() && !error.is_retryable());
    assert_eq!(error.api_errors()[0].code, "ORDC-006");
    assert_eq!(error.status(), Some(reqwest::StatusCode::BAD_REQUEST));
}

#[tokio::test]
async fn create_times_out_with_unknown_outcome_and_no_retry() {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let router = Router::new().route(
        "/public-api/acme/order-service/sales-order",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(5)).await;
                json_response(StatusCode::OK, json!({"response": 1}))
            }
        }),
    );
    let mut cfg = config(serve(router).await);
    cfg.request_timeout = Duration::from_millis(200);
    let client = Client::new(cfg).unwrap().with_retry_policy(fast_retries());
    let error = client
        .create_sales_order(Lane::Orders, &new_order())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(error.is_unknown_outcome());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connection_refused_is_not_applied() {
    // Bind then drop a listener to get a port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut client = client(Url::parse(&format!("http://{addr}")).unwrap());
    client = client.with_retry_policy(RetryPolicy {
        max_attempts: 1,
        ..fast_retries()
    });
    let error = client
        .create_sales_order(Lane::Orders, &new_order())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    assert!(error.is_definitely_not_applied() && !error.is_unknown_outcome());
}

/// A fake pool: `cap` requests per fixed window, 503 beyond, headers on every answer.
#[derive(Clone)]
struct Pool {
    inner: Arc<Mutex<PoolState>>,
}

struct PoolState {
    cap: u32,
    window: Duration,
    used: u32,
    window_end: Option<tokio::time::Instant>,
    served: u32,
    throttled: u32,
}

async fn pooled(State(pool): State<Pool>) -> Response {
    let (status, remaining, period) = {
        let mut state = pool.inner.lock().unwrap();
        let now = tokio::time::Instant::now();
        if state.window_end.is_none_or(|end| now >= end) {
            state.window_end = Some(now + state.window);
            state.used = 0;
        }
        let end = state.window_end.unwrap();
        let period = end.saturating_duration_since(now).as_millis();
        if state.used >= state.cap {
            state.throttled += 1;
            (StatusCode::SERVICE_UNAVAILABLE, 0, period)
        } else {
            state.used += 1;
            state.served += 1;
            (StatusCode::OK, state.cap - state.used, period)
        }
    };
    let body = if status == StatusCode::OK {
        r#"{"response":[{"id":2,"name":"Main DC"}]}"#
    } else {
        r#"{"response":"You have sent too many requests. Please wait before sending another request"}"#
    };
    (
        status,
        [
            ("brightpearl-requests-remaining", remaining.to_string()),
            ("brightpearl-next-throttle-period", period.to_string()),
        ],
        body,
    )
        .into_response()
}

#[tokio::test]
async fn throttle_headers_are_honoured_so_the_503_never_trips() {
    let pool = Pool {
        inner: Arc::new(Mutex::new(PoolState {
            cap: 3,
            window: Duration::from_millis(150),
            used: 0,
            window_end: None,
            served: 0,
            throttled: 0,
        })),
    };
    let router = Router::new()
        .route("/public-api/acme/warehouse-service/warehouse", get(pooled))
        .with_state(pool.clone());
    let quota = Arc::new(QuotaBudget::new(QuotaConfig {
        requests_per_window: 3,
        window: Duration::from_millis(150),
        low_lane_reserve: 0,
        safety_margin: 0,
        max_wait: Duration::from_secs(1),
    }));
    let client = Client::with_quota(config(serve(router).await), quota)
        .unwrap()
        .with_retry_policy(fast_retries());
    for _ in 0..8 {
        client.list_warehouses(Lane::Orders).await.unwrap();
    }
    let state = pool.inner.lock().unwrap();
    assert_eq!(state.served, 8);
    assert_eq!(
        state.throttled, 0,
        "the client must wait for the window, not trip the 503"
    );
    assert_eq!(client.quota().snapshot().throttled_total, 0);
}

#[tokio::test]
async fn search_all_follows_pages_and_decodes_by_column_name() {
    async fn search(Query(q): Query<HashMap<String, String>>) -> Response {
        assert_eq!(
            q.get("externalRef").map(String::as_str),
            Some("dsco:order:9")
        );
        let first: u64 = q
            .get("firstResult")
            .map(|v| v.parse().unwrap())
            .unwrap_or(1);
        let body = if first == 1 {
            json!({"response":{"results":[[11,"dsco:order:9"],[12,"dsco:order:9"]],
                "metaData":{"morePagesAvailable":true,"resultsAvailable":3,"resultsReturned":2,
                  "firstResult":1,"lastResult":2,
                  "columns":[{"name":"orderId"},{"name":"externalRef"}]}},
                "reference":{}})
        } else {
            assert_eq!(first, 3);
            // Columns come back in another order on this page: decoding must follow names.
            json!({"response":{"results":[["dsco:order:9",13]],
                "metaData":{"morePagesAvailable":false,"resultsAvailable":3,"resultsReturned":1,
                  "firstResult":3,"lastResult":3,
                  "columns":[{"name":"externalRef"},{"name":"orderId"}]}}})
        };
        json_response(StatusCode::OK, body)
    }
    let router = Router::new().route("/public-api/acme/order-service/order-search", get(search));
    let client = client(serve(router).await);
    let rows = client
        .search_orders_by_external_ref(Lane::Orders, "dsco:order:9")
        .await
        .unwrap();
    let ids: Vec<OrderId> = rows.iter().map(|r| r.order_id).collect();
    assert_eq!(ids, vec![OrderId(11), OrderId(12), OrderId(13)]);
}

#[tokio::test]
async fn get_orders_splits_id_sets_at_200() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let router = Router::new().route(
        "/public-api/acme/order-service/order/{set}",
        get(move |Path(set): Path<String>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(set.clone());
                let first: u64 = set.split('-').next().unwrap().parse().unwrap();
                json_response(StatusCode::OK, json!({"response":[{"id": first}]}))
            }
        }),
    );
    let client = client(serve(router).await);
    let ids: Vec<OrderId> = (1..=450).rev().map(OrderId).collect();
    let orders = client.get_orders(Lane::Orders, &ids).await.unwrap();
    assert_eq!(orders.len(), 3);
    assert_eq!(*seen.lock().unwrap(), vec!["1-200", "201-400", "401-450"]);
}

#[tokio::test]
async fn sends_private_app_headers_and_never_prints_the_token() {
    async fn check(headers: HeaderMap) -> Response {
        let ok = headers
            .get("brightpearl-app-ref")
            .is_some_and(|v| v == "acme_sync")
            && headers
                .get("brightpearl-staff-token")
                .is_some_and(|v| v == "tok-123=");
        if ok {
            json_response(StatusCode::OK, json!({"response":[]}))
        } else {
            json_response(
                StatusCode::UNAUTHORIZED,
                json!({"response":"Invalid instance token: x"}),
            )
        }
    }
    let router = Router::new().route("/public-api/acme/warehouse-service/warehouse", get(check));
    let client = client(serve(router).await);
    client.ping().await.unwrap();
    let printed = format!("{client:?}");
    assert!(!printed.contains("tok-123"), "{printed}");
}

#[tokio::test]
async fn oauth_401_is_reported_with_its_message() {
    let (client, script) = scripted_client(
        "warehouse-service/warehouse",
        false,
        &[(401, r#"{"response":"Authorization token expired"}"#)],
    )
    .await;
    let error = client.ping().await.unwrap_err();
    assert_eq!(script.hits(), 1);
    match error {
        Error::Unauthorized { message, .. } => assert_eq!(message, "Authorization token expired"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn product_availability_is_keyed_by_product_id() {
    let (client, _script) = scripted_client(
        "warehouse-service/product-availability/1007,1532",
        false,
        &[(200, r#"{"response":{"1532":{"total":{"inStock":60,"onHand":48,"allocated":12,"inTransit":0},
            "warehouses":{"2":{"inStock":60,"onHand":48,"allocated":12,"inTransit":0}}},
            "1007":{"total":{"inStock":4,"onHand":4,"allocated":0,"inTransit":0},"warehouses":{}}}}"#)],
    )
    .await;
    let availability = client
        .get_product_availability(Lane::Inventory, &[ProductId(1532), ProductId(1007)])
        .await
        .unwrap();
    assert_eq!(availability[&ProductId(1532)].total.on_hand, 48);
    assert_eq!(availability[&ProductId(1007)].warehouses.len(), 0);
}

#[tokio::test]
async fn exchanges_and_refreshes_oauth_tokens() {
    async fn token(
        Path(account): Path<String>,
        Form(form): Form<HashMap<String, String>>,
    ) -> Response {
        assert_eq!(account, "acme");
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") if form.get("code").is_some_and(|c| c == "c+/=") => {
                json_response(
                    StatusCode::OK,
                    json!({"access_token":"A1","refresh_token":"R1","installation_instance_id":"13",
                       "api_domain":"ws-use.brightpearl.com","token_type":"Bearer","expires_in":604800}),
                )
            }
            Some("refresh_token") => json_response(
                StatusCode::BAD_REQUEST,
                json!({"error":"invalid_grant","error_description":"The auth token has either expired or does not exist"}),
            ),
            _ => json_response(StatusCode::BAD_REQUEST, json!({"error":"invalid_request"})),
        }
    }
    let base = serve(Router::new().route("/token/{account}", post(token))).await;
    let url = base.join("/token/acme").unwrap();
    let granted = exchange_token(
        &url,
        &TokenGrant::AuthorizationCode {
            code: Secret::from("c+/="),
            client_id: "acme_sync".into(),
            client_secret: None,
            redirect_uri: "https://example.test/cb".into(),
        },
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(granted.access_token.expose(), "A1");
    assert_eq!(granted.installation_instance_id.as_deref(), Some("13"));
    let refused = exchange_token(
        &url,
        &TokenGrant::RefreshToken {
            refresh_token: Secret::from("R0"),
            client_id: "acme_sync".into(),
            client_secret: Some(Secret::from("s")),
        },
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused, Error::Token { ref error, .. } if error == "invalid_grant"),
        "{refused}"
    );
}

#[tokio::test]
async fn list_all_products_follows_the_options_get_uris() {
    let router = Router::new()
        .route(
            "/public-api/acme/product-service/product",
            axum::routing::options(|| async {
                json_response(
                    StatusCode::OK,
                    json!({"response":{"getUris":["/product/1-200","/product/201-202"]}}),
                )
            }),
        )
        .route(
            "/public-api/acme/product-service/product/{set}",
            get(|Path(set): Path<String>| async move {
                let id: u64 = set.split('-').next().unwrap().parse().unwrap();
                json_response(
                    StatusCode::OK,
                    json!({"response":[{"id": id, "identity": {"sku": format!("SKU-{id}")}}]}),
                )
            }),
        );
    let client = client(serve(router).await);
    let products = client.list_all_products(Lane::Reference).await.unwrap();
    let skus: Vec<_> = products
        .iter()
        .map(|p| p.identity.sku.clone().unwrap())
        .collect();
    assert_eq!(skus, ["SKU-1", "SKU-201"]);
    assert_eq!(client.quota().snapshot().calls_by_lane[3], 3);
}

#[tokio::test]
async fn webhook_bodies_stay_out_of_error_excerpts() {
    let (client, _script) = scripted_client(
        "integration-service/webhook",
        false,
        &[(
            200,
            r#"{"response":[{"uriTemplate":"https://d.example/hook?token=SECRET"}]}"#,
        )],
    )
    .await;
    let error = client.list_webhooks(Lane::Reference).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error}");
    assert!(!error.to_string().contains("SECRET"), "{error}");
}

#[tokio::test]
async fn oauth_401_refreshes_once_through_the_refresher() {
    async fn check(headers: HeaderMap) -> Response {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        let refs_ok = headers
            .get("brightpearl-dev-ref")
            .is_some_and(|v| v == "dev1");
        if bearer == Some("Bearer fresh") && refs_ok {
            json_response(StatusCode::OK, json!({"response": 5}))
        } else {
            json_response(
                StatusCode::UNAUTHORIZED,
                json!({"response":"Authorization token expired"}),
            )
        }
    }
    let base =
        serve(Router::new().route("/public-api/acme/order-service/sales-order", post(check))).await;
    let mut cfg = config(base);
    cfg.auth = Auth::OAuth {
        app_ref: "acme_app".into(),
        dev_ref: "dev1".into(),
        access_token: Secret::from("stale"),
    };
    let refreshes = Arc::new(AtomicU32::new(0));
    let counter = refreshes.clone();
    let refresher: TokenRefresher = Arc::new(move || {
        let counter = counter.clone();
        Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Secret::from("fresh"))
        })
    });
    let client = Client::new(cfg)
        .unwrap()
        .with_retry_policy(fast_retries())
        .with_token_refresher(refresher);
    // A create is safe to resend after a 401: it was not applied.
    assert_eq!(
        client
            .create_sales_order(Lane::Orders, &new_order())
            .await
            .unwrap(),
        OrderId(5)
    );
    assert_eq!(
        client
            .create_sales_order(Lane::Orders, &new_order())
            .await
            .unwrap(),
        OrderId(5)
    );
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
}
