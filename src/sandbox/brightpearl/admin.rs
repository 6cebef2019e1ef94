//! `/_sandbox/...` scenario routes of the Brightpearl simulator: not throttled, not
//! authenticated, not logged. Besides the common clock / faults / requests routes:
//!
//! | Route | Body | Does |
//! |---|---|---|
//! | `POST /_sandbox/seed` | `{"products": N}` | seed the demo world (see `BrightpearlSim::seed_demo`) |
//! | `POST /_sandbox/reset` | – | forget everything |
//! | `GET /_sandbox/state` | – | dump the whole world |
//! | `GET /_sandbox/products` | – | products as Product GET renders them |
//! | `POST /_sandbox/products` | `{"sku","name","barcode","ean","upc","mpn","price","cost","stockTracked","bundleComponents"}` | add a product → `{"id"}`; `bundleComponents` (`[{"productId","productQuantity"}]` or `[[id, quantity]]`, existing non-bundle products, quantity ≥ 1) makes it a bundle, never stock-tracked |
//! | `POST /_sandbox/stock` | `{"productId","warehouseId","onHand"}` | set available stock (not of a bundle) |
//! | `GET /_sandbox/orders`, `GET /_sandbox/orders/{id}` | – | orders as Order GET renders them (with custom fields) |
//! | `POST /_sandbox/orders/{id}/goods-out` | `{"rows": [{"orderRowId","quantity"}]?, "ship": bool?, "tracking"?, "shippingMethodId"?}` | create a goods-out note (all unallocated quantities when `rows` is absent), optionally ship it → `{"id"}` |
//! | `POST /_sandbox/goods-out/{id}/ship` | `{"tracking"?, "shippingMethodId"?}` | set tracking and post `SHW` |
//! | `POST /_sandbox/orders/{id}/status` | `{"statusId"}` | change status (same rules as the PUT) |
//! | `POST /_sandbox/orders/{id}/invoice` | – | invoice → `{"invoiceReference"}` |
//! | `POST /_sandbox/orders/{id}/payment` | `{"amount": "10.00"}` | record a payment |
//! | `POST /_sandbox/oauth/code` | `{"redirect_uri"}` | issue an authorization code → `{"code"}` |
//! | `GET /_sandbox/webhooks/deliveries` | – | webhook calls made so far |
//! | `POST /_sandbox/webhooks/duplicate` | `{"enabled": bool}` | send every webhook call twice |
//! | `POST /_sandbox/webhooks/pause`, `POST /_sandbox/webhooks/resume` | – | hold / release webhook calls |
//!
//! Failures answer `400 {"error": "..."}`.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::seed::NewProduct;
use super::sim::{BrightpearlSim, Inner};
use super::{goods_notes, lookups, webhooks};
use crate::sandbox::common::lock;

type Sim = AxumState<BrightpearlSim>;

pub fn routes() -> axum::Router<BrightpearlSim> {
    axum::Router::new()
        .route("/_sandbox/seed", post(seed))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/products", get(products).post(add_product))
        .route("/_sandbox/stock", post(stock))
        .route("/_sandbox/orders", get(orders))
        .route("/_sandbox/orders/{id}", get(order))
        .route("/_sandbox/orders/{id}/goods-out", post(goods_out_note))
        .route("/_sandbox/goods-out/{id}/ship", post(ship))
        .route("/_sandbox/orders/{id}/status", post(status))
        .route("/_sandbox/orders/{id}/invoice", post(invoice))
        .route("/_sandbox/orders/{id}/payment", post(payment))
        .route("/_sandbox/oauth/code", post(oauth_code))
        .route("/_sandbox/webhooks/deliveries", get(deliveries))
        .route("/_sandbox/webhooks/duplicate", post(duplicate))
        .route("/_sandbox/webhooks/pause", post(pause))
        .route("/_sandbox/webhooks/resume", post(resume))
}

fn failed(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

fn done(result: Result<Value, String>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(message) => failed(message),
    }
}

#[derive(Deserialize)]
struct Seed {
    #[serde(default = "default_products")]
    products: u32,
}

fn default_products() -> u32 {
    100
}

async fn seed(AxumState(sim): Sim, body: Option<Json<Seed>>) -> Response {
    let products = body.map_or(default_products(), |Json(seed)| seed.products);
    sim.seed_demo(products);
    Json(json!({"products": lock(&sim.inner().state).products.len()})).into_response()
}

async fn reset(AxumState(sim): Sim) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

async fn state(AxumState(sim): Sim) -> Json<Value> {
    Json(sim.dump_state())
}

async fn products(AxumState(sim): Sim) -> Json<Value> {
    let inner = sim.inner();
    let ids: Vec<u32> = lock(&inner.state).products.keys().copied().collect();
    let mut all = Vec::new();
    for chunk in ids.chunks(200) {
        let set = super::idset::compress(chunk);
        let request = product_request(&set);
        let (response, _) = super::products::route(inner, &request);
        if let Ok(bytes) = axum::body::to_bytes(response.into_body(), usize::MAX).await
            && let Ok(Value::Object(mut body)) = serde_json::from_slice(&bytes)
            && let Some(Value::Array(items)) = body.remove("response")
        {
            all.extend(items);
        }
    }
    Json(Value::Array(all))
}

fn product_request(set: &str) -> super::request::Req {
    super::request::Req {
        method: axum::http::Method::GET,
        service: "product".into(),
        segments: vec!["product".into(), set.into()],
        query: Vec::new(),
        headers: axum::http::HeaderMap::new(),
        body: axum::body::Bytes::new(),
        path: format!("/_sandbox/products/{set}"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddProduct {
    sku: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    barcode: String,
    #[serde(default)]
    ean: String,
    #[serde(default)]
    upc: String,
    #[serde(default)]
    mpn: String,
    price: Option<String>,
    cost: Option<String>,
    #[serde(alias = "stock_tracked")]
    stock_tracked: Option<bool>,
    #[serde(default, alias = "bundle_components")]
    bundle_components: Vec<Component>,
}

/// A bundle component as Product GET shows it, or as a `[product id, quantity]` pair.
#[derive(Deserialize)]
#[serde(untagged)]
enum Component {
    Wire {
        #[serde(rename = "productId")]
        product_id: u32,
        #[serde(rename = "productQuantity")]
        product_quantity: i64,
    },
    Pair(u32, i64),
}

impl Component {
    fn pair(&self) -> (u32, i64) {
        match *self {
            Component::Wire {
                product_id,
                product_quantity,
            } => (product_id, product_quantity),
            Component::Pair(id, quantity) => (id, quantity),
        }
    }
}

/// Bundle components must be existing products that are not bundles, each at least once.
fn check_components(inner: &Inner, components: &[(u32, i64)]) -> Result<(), String> {
    let state = lock(&inner.state);
    for (id, quantity) in components {
        match state.products.get(id) {
            None => return Err(format!("bundle component product {id} does not exist")),
            // guess: a bundle cannot be a component of another bundle (§4.10 says nothing)
            Some(p) if !p.bundle_components.is_empty() => {
                return Err(format!("bundle component product {id} is itself a bundle"));
            }
            Some(_) => {}
        }
        if *quantity < 1 {
            return Err(format!(
                "bundle component product {id} has quantity {quantity}; it must be 1 or more"
            ));
        }
    }
    Ok(())
}

async fn add_product(AxumState(sim): Sim, Json(body): Json<AddProduct>) -> Response {
    let bundle_components: Vec<(u32, i64)> =
        body.bundle_components.iter().map(Component::pair).collect();
    if let Err(message) = check_components(sim.inner(), &bundle_components) {
        return failed(message);
    }
    let defaults = NewProduct::default();
    let id = sim.add_product(NewProduct {
        name: if body.name.is_empty() {
            body.sku.clone()
        } else {
            body.name
        },
        sku: body.sku,
        barcode: body.barcode,
        ean: body.ean,
        upc: body.upc,
        mpn: body.mpn,
        price: body.price.unwrap_or(defaults.price),
        cost: body.cost.unwrap_or(defaults.cost),
        stock_tracked: body.stock_tracked.unwrap_or(true),
        bundle_components,
    });
    Json(json!({"id": id})).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stock {
    product_id: u32,
    warehouse_id: u32,
    on_hand: i64,
}

async fn stock(AxumState(sim): Sim, Json(body): Json<Stock>) -> Response {
    let inner = sim.inner();
    {
        let state = lock(&inner.state);
        if !state.products.contains_key(&body.product_id) {
            return failed(format!("product {} does not exist", body.product_id));
        }
        if super::products::is_bundle(&state, body.product_id) {
            return failed(format!(
                "product {} is a bundle; set the stock of its components",
                body.product_id
            ));
        }
        if !state.warehouses.contains_key(&body.warehouse_id) {
            return failed(format!("warehouse {} does not exist", body.warehouse_id));
        }
    }
    sim.set_stock(body.product_id, body.warehouse_id, body.on_hand);
    StatusCode::NO_CONTENT.into_response()
}

async fn orders(AxumState(sim): Sim) -> Json<Value> {
    Json(Value::Array(sim.orders()))
}

async fn order(AxumState(sim): Sim, Path(id): Path<u32>) -> Response {
    match sim.order(id) {
        Some(order) => Json(order).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("order {id} not found")})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoodsOutRow {
    order_row_id: u32,
    quantity: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GoodsOut {
    rows: Option<Vec<GoodsOutRow>>,
    #[serde(default)]
    ship: bool,
    tracking: Option<String>,
    shipping_method_id: Option<u32>,
}

async fn goods_out_note(
    AxumState(sim): Sim,
    Path(id): Path<u32>,
    body: Option<Json<GoodsOut>>,
) -> Response {
    let body = body.map(|Json(body)| body).unwrap_or_default();
    let rows: Vec<(u32, u32)> = body
        .rows
        .unwrap_or_default()
        .into_iter()
        .map(|row| (row.order_row_id, row.quantity))
        .collect();
    done(sim.create_goods_out_note(id, &rows).and_then(|note| {
        if body.ship {
            sim.ship_goods_out_note(note, body.tracking.as_deref(), body.shipping_method_id)?;
        }
        Ok(json!({"id": note}))
    }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Ship {
    tracking: Option<String>,
    shipping_method_id: Option<u32>,
}

async fn ship(AxumState(sim): Sim, Path(id): Path<u32>, body: Option<Json<Ship>>) -> Response {
    let body = body.map(|Json(body)| body).unwrap_or_default();
    done(
        sim.ship_goods_out_note(id, body.tracking.as_deref(), body.shipping_method_id)
            .map(|()| json!({"id": id})),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    status_id: u32,
}

async fn status(AxumState(sim): Sim, Path(id): Path<u32>, Json(body): Json<Status>) -> Response {
    done(
        sim.set_order_status(id, body.status_id)
            .map(|()| json!({"id": id})),
    )
}

async fn invoice(AxumState(sim): Sim, Path(id): Path<u32>) -> Response {
    done(
        sim.invoice_order(id)
            .map(|reference| json!({"invoiceReference": reference})),
    )
}

#[derive(Deserialize)]
struct Payment {
    amount: String,
}

async fn payment(AxumState(sim): Sim, Path(id): Path<u32>, Json(body): Json<Payment>) -> Response {
    done(
        sim.add_payment(id, &body.amount)
            .map(|()| json!({"id": id})),
    )
}

#[derive(Deserialize)]
struct CodeRequest {
    redirect_uri: String,
}

async fn oauth_code(AxumState(sim): Sim, Json(body): Json<CodeRequest>) -> Json<Value> {
    Json(json!({"code": sim.issue_authorization_code(&body.redirect_uri)}))
}

async fn deliveries(AxumState(sim): Sim) -> Json<Value> {
    Json(serde_json::to_value(sim.webhook_deliveries()).unwrap_or_default())
}

#[derive(Deserialize)]
struct Duplicate {
    enabled: bool,
}

async fn duplicate(AxumState(sim): Sim, Json(body): Json<Duplicate>) -> StatusCode {
    sim.set_webhook_duplicate_delivery(body.enabled);
    StatusCode::NO_CONTENT
}

async fn pause(AxumState(sim): Sim) -> StatusCode {
    sim.pause_webhooks();
    StatusCode::NO_CONTENT
}

async fn resume(AxumState(sim): Sim) -> StatusCode {
    sim.resume_webhooks().await;
    StatusCode::NO_CONTENT
}

/// The whole world as JSON.
pub fn dump(inner: &Inner) -> Value {
    let state = lock(&inner.state);
    let orders: Vec<Value> = state
        .orders
        .values()
        .map(|order| super::orders::render_order(inner, &state, order, true))
        .collect();
    let contacts: Vec<Value> = state
        .contacts
        .values()
        .map(|contact| super::contacts::render_contact(inner, contact))
        .collect();
    let products: Vec<Value> = state
        .products
        .values()
        .map(|product| {
            json!({"id": product.id, "sku": product.sku, "name": product.name,
            "barcode": product.barcode, "ean": product.ean, "upc": product.upc, "mpn": product.mpn,
            "stockTracked": product.stock_tracked, "bundleComponents": product.bundle_components})
        })
        .collect();
    let stock: Vec<Value> = state
        .products
        .keys()
        .flat_map(|id| {
            super::products::availability_of(&state, *id)
                .into_iter()
                .map(move |(warehouse, (in_stock, allocated))| {
                    json!({"productId": id, "warehouseId": warehouse, "inStock": in_stock,
                           "allocated": allocated, "onHand": in_stock - allocated})
                })
        })
        .collect();
    json!({
        "account": inner.config.account,
        "now": inner.dates.format(inner.now()),
        "orders": orders,
        "contacts": contacts,
        "products": products,
        "stock": stock,
        "notes": goods_notes::dump(inner, &state),
        "webhooks": state.webhooks.values().map(webhooks::render_webhook).collect::<Vec<_>>(),
        "webhookDeliveries": inner.hooks.deliveries().len(),
        "webhooksPending": inner.hooks.pending(),
        "lookups": lookups::dump(&state),
    })
}
