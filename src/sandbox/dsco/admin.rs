//! Scenario surface of the DSCO simulator, under `/_sandbox` (no auth, no rate limits, not in the
//! request log). Besides the shared routes (`GET /_sandbox/clock`, `POST /_sandbox/clock/advance`
//! `{"seconds": n}`, `GET|POST|DELETE /_sandbox/faults`, `GET|DELETE /_sandbox/requests`):
//!
//! | Route | Body | Effect / answer |
//! |---|---|---|
//! | `POST /_sandbox/seed` | `{"products": 50, "orders": 20, "seed": 1}` (all optional) | `seed_demo`; 204 |
//! | `POST /_sandbox/orders` | an Order (fields missing are defaulted) | retailer create; 201 `{"dscoOrderId"}` |
//! | `POST /_sandbox/orders/raw` | any JSON object | stored as-is (malformed orders); 201 `{"dscoOrderId"}` |
//! | `GET /_sandbox/orders` | – | every order, test orders included |
//! | `GET /_sandbox/orders/{id}` | – | one order or 404 |
//! | `POST /_sandbox/orders/{id}/cancel` | – | retailer cancels a `created` order (CXRR); 204, or 409 `{"error"}` |
//! | `POST /_sandbox/orders/{id}/lines/{line}/cancel` | `{"quantity": n}` | retailer cancels units of a line; 204 / 409 |
//! | `POST /_sandbox/orders/{id}/cancel-request` | `{"cancelCode": "CXRR", "lineNumbers": [1]}` | retailer cancel request; 204 / 409 |
//! | `POST /_sandbox/process` | – | run due async work now; 204 |
//! | `GET /_sandbox/processing` | – | `{"held": false, "delaySeconds": 0.0}` |
//! | `POST /_sandbox/processing` | `{"held": true, "delaySeconds": 2}` (each optional) | hold or release async work, set the delay of work submitted from now; 200 with the switches |
//! | `GET /_sandbox/state` | – | the state dump |
//! | `POST /_sandbox/reset` | – | drop all data (tokens stay valid); 204 |

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::sim::DscoSim;

pub(crate) fn routes() -> Router<DscoSim> {
    Router::new()
        .route("/_sandbox/seed", post(seed))
        .route("/_sandbox/orders", get(list).post(create))
        .route("/_sandbox/orders/raw", post(create_raw))
        .route("/_sandbox/orders/{id}", get(one))
        .route("/_sandbox/orders/{id}/cancel", post(cancel_order))
        .route(
            "/_sandbox/orders/{id}/lines/{line}/cancel",
            post(cancel_line),
        )
        .route("/_sandbox/orders/{id}/cancel-request", post(cancel_request))
        .route("/_sandbox/process", post(process))
        .route("/_sandbox/processing", get(processing).post(set_processing))
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/reset", post(reset))
}

#[derive(Deserialize, Default)]
struct Seed {
    #[serde(default = "default_products")]
    products: u32,
    #[serde(default = "default_orders")]
    orders: u32,
    #[serde(default)]
    seed: u64,
}

fn default_products() -> u32 {
    50
}

fn default_orders() -> u32 {
    20
}

fn conflict(message: String) -> Response {
    (StatusCode::CONFLICT, Json(json!({"error": message}))).into_response()
}

fn done(result: Result<(), String>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => conflict(e),
    }
}

async fn seed(State(sim): State<DscoSim>, body: Option<Json<Seed>>) -> StatusCode {
    let Seed {
        products,
        orders,
        seed,
    } = body.map(|Json(b)| b).unwrap_or(Seed {
        products: default_products(),
        orders: default_orders(),
        seed: 0,
    });
    sim.seed_demo(products, orders, seed);
    StatusCode::NO_CONTENT
}

async fn list(State(sim): State<DscoSim>) -> Json<Vec<Value>> {
    Json(sim.orders())
}

async fn one(State(sim): State<DscoSim>, Path(id): Path<String>) -> Response {
    match sim.order(&id) {
        Some(order) => Json(order).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such order"})),
        )
            .into_response(),
    }
}

async fn create(State(sim): State<DscoSim>, Json(order): Json<Value>) -> Response {
    match sim.create_order(order) {
        Ok(id) => (StatusCode::CREATED, Json(json!({"dscoOrderId": id}))).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn create_raw(State(sim): State<DscoSim>, Json(order): Json<Value>) -> Response {
    match sim.create_raw_order(order) {
        Ok(id) => (StatusCode::CREATED, Json(json!({"dscoOrderId": id}))).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn cancel_order(State(sim): State<DscoSim>, Path(id): Path<String>) -> Response {
    done(sim.cancel_order(&id))
}

#[derive(Deserialize)]
struct LineCancel {
    quantity: u32,
}

async fn cancel_line(
    State(sim): State<DscoSim>,
    Path((id, line)): Path<(String, u32)>,
    Json(body): Json<LineCancel>,
) -> Response {
    done(sim.cancel_line(&id, line, body.quantity))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelRequest {
    cancel_code: String,
    #[serde(default)]
    line_numbers: Vec<u32>,
}

async fn cancel_request(
    State(sim): State<DscoSim>,
    Path(id): Path<String>,
    Json(body): Json<CancelRequest>,
) -> Response {
    done(sim.request_cancel(&id, &body.cancel_code, &body.line_numbers))
}

async fn process(State(sim): State<DscoSim>) -> StatusCode {
    sim.process_pending();
    StatusCode::NO_CONTENT
}

fn processing_view(sim: &DscoSim) -> Json<Value> {
    let now = sim.processing();
    Json(json!({"held": now.held, "delaySeconds": now.delay.as_secs_f64()}))
}

async fn processing(State(sim): State<DscoSim>) -> Json<Value> {
    processing_view(&sim)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProcessingChange {
    held: Option<bool>,
    delay_seconds: Option<f64>,
}

async fn set_processing(
    State(sim): State<DscoSim>,
    Json(body): Json<ProcessingChange>,
) -> Response {
    if let Some(seconds) = body.delay_seconds {
        match std::time::Duration::try_from_secs_f64(seconds) {
            Ok(delay) => sim.set_processing_delay(delay),
            Err(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": format!("delaySeconds {seconds} is not a duration")})),
                )
                    .into_response();
            }
        }
    }
    if let Some(held) = body.held {
        sim.hold_batches(held);
    }
    processing_view(&sim).into_response()
}

async fn state(State(sim): State<DscoSim>) -> Json<Value> {
    Json(sim.dump_state())
}

async fn reset(State(sim): State<DscoSim>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}
