//! Brightpearl API simulator (see ../shared/reference/brightpearl-api.md).
//!
//! Owns a stateful fake of the Brightpearl public REST API: routing on
//! `/public-api/{account}/{service}-service/...` on any host, both auth styles, the OAuth token
//! endpoint, throttling, ID sets, orders, products, stock, contacts, goods-out and drop-ship notes,
//! webhooks and lookups, plus `/_sandbox/...` scenario routes (see `admin.rs`). With
//! `BrightpearlSimConfig::demo` on, a demo warehouse fulfils orders created through the API by
//! itself (`goods_notes/demo.rs`).
//!
//! It is written from the reference, never from our client: it imports nothing from the crate
//! outside `crate::sandbox`, so it catches the client's misreadings. Behaviour the reference leaves
//! open is marked `// guess:` with the section it extends.
//!
//! This file holds construction, routing and the scenario API on [`BrightpearlSim`]. The resource
//! modules (`orders/`, `goods_notes/`, `products`, `contacts`, `lookups`, `webhooks`, ...) depend
//! only on the leaf modules below them: `sim` (the shared world), `request`, `hooks`, `state`,
//! `wire`, `idset`, `search`, `config`.

// Handlers pass ready-made error responses up with `?`; boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod admin;
mod auth;
mod config;
mod contacts;
mod goods_notes;
mod hooks;
pub mod idset;
mod lookups;
mod orders;
mod products;
mod request;
mod search;
mod seed;
mod sim;
mod state;
mod throttle;
mod webhooks;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{any, get, post};
use serde_json::Value;

use super::common::{self, Faults, Instrumentation, RequestLog, SimServer, lock};
use hooks::Hooks;
use request::{Req, percent_decode};
use sim::Inner;
use wire::Dates;

pub use config::{BrightpearlSimConfig, DemoFulfilment};
pub use hooks::WebhookDelivery;
pub use seed::NewProduct;
pub use sim::BrightpearlSim;

impl BrightpearlSim {
    pub fn new(config: BrightpearlSimConfig) -> Self {
        let dates = Dates::new(config.account_utc_offset_minutes);
        let hooks = Hooks::new(config.webhook_duplicate_delivery);
        let state = seed::empty_state();
        BrightpearlSim::from_inner(Inner {
            config,
            state: Mutex::new(state),
            faults: Faults::new(),
            log: RequestLog::new(),
            dates,
            hooks,
        })
    }

    /// The API, the OAuth endpoints and the `/_sandbox` admin routes, wrapped in
    /// [`common::instrument`].
    pub fn router(&self) -> axum::Router {
        let instrumentation = Instrumentation {
            faults: self.inner().faults.clone(),
            log: self.inner().log.clone(),
            clock: self.inner().config.clock.clone(),
            throttle_response: wire::throttle_fault_response,
            error_body_response: wire::server_error_body_response,
        };
        axum::Router::new()
            .route("/public-api/{*rest}", any(api))
            .route("/token/{account}", post(auth::token))
            .route("/authorize/{account}", get(auth::authorize))
            .merge(admin::routes())
            .merge(common::admin_routes(instrumentation.clone()))
            .fallback(fallback)
            .layer(axum::middleware::from_fn_with_state(
                instrumentation,
                common::instrument,
            ))
            .with_state(self.clone())
    }

    pub async fn start(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        SimServer::start(self.router(), addr).await
    }

    /// Seed the demo world: `products` demo products (those Brightpearl has), warehouses, stock,
    /// lookups and a few contacts. Calling it again adds only what is missing.
    pub fn seed_demo(&self, products: u32) {
        let events = seed::seed_demo(self.inner(), products);
        self.raise(events);
    }

    /// Add a product; returns its id. With `bundle_components` it is a bundle (never
    /// stock-tracked, no stock of its own); the components are taken as given, while
    /// `POST /_sandbox/products` checks that they exist.
    pub fn add_product(&self, product: NewProduct) -> u32 {
        let (id, events) = seed::add_product(self.inner(), product);
        self.raise(events);
        id
    }

    /// Delete a product, as a person does in Brightpearl: its reads answer "does not exist".
    pub fn delete_product(&self, product_id: u32) {
        let mut state = lock(&self.inner().state);
        state.products.remove(&product_id);
        state.stock.retain(|(p, _), _| *p != product_id);
    }

    /// Set the available (`onHand`) quantity of a product in a warehouse; `inStock` becomes
    /// `on_hand + allocated`.
    pub fn set_stock(&self, product_id: u32, warehouse_id: u32, on_hand: i64) {
        let events = products::set_stock(self.inner(), product_id, warehouse_id, on_hand);
        self.raise(events);
    }

    /// Goods in: `quantity` more units of a product in a warehouse.
    pub fn receive_stock(&self, product_id: u32, warehouse_id: u32, quantity: i64) {
        let events = products::receive_stock(self.inner(), product_id, warehouse_id, quantity);
        self.raise(events);
    }

    /// The order as Order GET renders it, with `customFields` always included.
    pub fn order(&self, id: u32) -> Option<Value> {
        let state = lock(&self.inner().state);
        state
            .orders
            .get(&id)
            .map(|order| orders::render_order(self.inner(), &state, order, true))
    }

    pub fn orders(&self) -> Vec<Value> {
        let state = lock(&self.inner().state);
        state
            .orders
            .values()
            .map(|order| orders::render_order(self.inner(), &state, order, true))
            .collect()
    }

    pub fn order_count(&self) -> usize {
        lock(&self.inner().state).orders.len()
    }

    /// Contacts as Contact GET renders them.
    pub fn contacts(&self) -> Vec<Value> {
        let state = lock(&self.inner().state);
        state
            .contacts
            .values()
            .map(|contact| contacts::render_contact(self.inner(), contact))
            .collect()
    }

    pub fn contact_count(&self) -> usize {
        lock(&self.inner().state).contacts.len()
    }

    /// Create a goods-out note for `rows` (order row id, quantity) in the order's warehouse; an
    /// empty slice takes every unallocated quantity of the order.
    pub fn create_goods_out_note(&self, order_id: u32, rows: &[(u32, u32)]) -> Result<u32, String> {
        let (id, events) = goods_notes::create_for_order(self.inner(), order_id, rows)?;
        self.raise(events);
        Ok(id)
    }

    /// Set tracking / shipping method (when given) and post `SHW`.
    pub fn ship_goods_out_note(
        &self,
        note_id: u32,
        tracking: Option<&str>,
        shipping_method_id: Option<u32>,
    ) -> Result<(), String> {
        let events = goods_notes::ship(self.inner(), note_id, tracking, shipping_method_id)?;
        self.raise(events);
        Ok(())
    }

    /// Let the demo warehouse (`BrightpearlSimConfig::demo`) do what has come due on the clock:
    /// goods-out notes for orders created long enough ago, shipping for notes whose time has
    /// come, with their webhook events. Runs before every API request as well; a no-op with the
    /// demo off.
    pub fn run_demo_due(&self) {
        let Some(demo) = &self.inner().config.demo else {
            return;
        };
        let now = self.inner().now();
        let events = {
            let mut state = lock(&self.inner().state);
            goods_notes::run_demo_due(&mut state, demo, now)
        };
        self.raise(events);
    }

    /// Change an order's status with the same rules as the status PUT.
    pub fn set_order_status(&self, order_id: u32, status_id: u32) -> Result<(), String> {
        let events = orders::change_status(self.inner(), order_id, status_id, None)
            .map_err(|(_, _, message)| message)?;
        self.raise(events);
        Ok(())
    }

    /// [`BrightpearlSim::set_order_status`] with the note a person types with the change.
    pub fn set_order_status_with_note(
        &self,
        order_id: u32,
        status_id: u32,
        note: &str,
    ) -> Result<(), String> {
        let events = orders::change_status(
            self.inner(),
            order_id,
            status_id,
            Some((note.into(), false)),
        )
        .map_err(|(_, _, message)| message)?;
        self.raise(events);
        Ok(())
    }

    /// Invoice an order; returns the invoice reference.
    pub fn invoice_order(&self, order_id: u32) -> Result<String, String> {
        let (reference, events) = orders::invoice(self.inner(), order_id, None)?;
        self.raise(events);
        Ok(reference)
    }

    /// Invoice an order under a reference given by hand.
    pub fn invoice_order_as(&self, order_id: u32, reference: &str) -> Result<(), String> {
        let (_, events) = orders::invoice_as(self.inner(), order_id, None, Some(reference.into()))?;
        self.raise(events);
        Ok(())
    }

    /// Begin invoicing an order without finishing it: its reference reads `"pending"`.
    pub fn begin_invoicing(&self, order_id: u32) -> Result<(), String> {
        let events = orders::begin_invoicing(self.inner(), order_id)?;
        self.raise(events);
        Ok(())
    }

    /// Record a customer payment against an order (it then cannot be cancelled, §4.6).
    pub fn add_payment(&self, order_id: u32, amount: &str) -> Result<(), String> {
        orders::add_payment(self.inner(), order_id, amount)
    }

    /// Issue an OAuth authorization code, as the consent screen would (§2.3 step 1).
    pub fn issue_authorization_code(&self, redirect_uri: &str) -> String {
        auth::issue_code(self.inner(), redirect_uri)
    }

    /// Every webhook call made so far (including failed attempts).
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner().hooks.deliveries()
    }

    /// Turn duplicate webhook delivery on or off at run time.
    pub fn set_webhook_duplicate_delivery(&self, enabled: bool) {
        self.inner().hooks.set_duplicate(enabled);
    }

    /// Hold webhook calls (events keep queueing) until [`Self::resume_webhooks`]; lets a test
    /// raise several events and see them batched into one call deterministically.
    pub fn pause_webhooks(&self) {
        self.inner().hooks.pause();
    }

    /// Release held webhook calls and deliver them now.
    pub async fn resume_webhooks(&self) {
        self.inner().hooks.resume();
        webhooks::deliver_pending(self.inner().clone()).await;
    }

    /// The whole world as JSON, for debugging and the admin state dump.
    pub fn dump_state(&self) -> Value {
        admin::dump(self.inner())
    }

    /// Forget everything (orders, contacts, catalog, lookups, tokens, webhooks, throttle windows,
    /// request log, faults); seed again to get the demo world back.
    pub fn reset(&self) {
        *lock(&self.inner().state) = seed::empty_state();
        self.inner().hooks.reset();
        self.inner().faults.clear();
        self.inner().log.clear();
    }

    fn raise(&self, events: Vec<hooks::Event>) {
        webhooks::raise(self.inner(), events);
    }
}

async fn api(
    AxumState(sim): AxumState<BrightpearlSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.run_demo_due();
    let inner = sim.inner().clone();
    let path = uri.path().to_owned();
    let rest = path.trim_start_matches("/public-api/");
    let mut parts = rest.split('/');
    let account = percent_decode(parts.next().unwrap_or_default());
    let service_segment = parts.next().unwrap_or_default().to_owned();
    let mut segments: Vec<String> = parts.map(percent_decode).collect();
    if segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }

    let pool = auth::pool_key(&inner.config, &account, &headers);
    let window = throttle::admit(&inner, &pool);
    let mut response = if !window.admitted {
        wire::json_response(StatusCode::SERVICE_UNAVAILABLE, wire::throttled_body())
    } else if account != inner.config.account {
        // guess: an unknown account code answers like an unknown resource, 404 CMNC-404
        // (brightpearl-api.md §1.6 "bad URI")
        wire::not_found(format!("Cannot find the resource {path}"))
    } else {
        match auth::authenticate(&inner, &headers) {
            Err(response) => response,
            Ok(identity) => {
                let query = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                    .into_owned()
                    .collect();
                let request = Req {
                    method,
                    service: service_segment
                        .strip_suffix("-service")
                        .unwrap_or("")
                        .to_owned(),
                    segments,
                    query,
                    headers,
                    body,
                    path: path.clone(),
                };
                let mut response = route(&sim, &request).await;
                if let Some(installation) = identity.installation_id {
                    response.headers_mut().insert(
                        "brightpearl-installed-integration-instance-id",
                        installation.into(),
                    );
                }
                response
            }
        }
    };
    throttle::add_headers(&mut response, &window);
    response
}

async fn route(sim: &BrightpearlSim, request: &Req) -> Response {
    let inner = sim.inner();
    let (response, events) = match request.service.as_str() {
        "order" => orders::route(inner, request),
        "product" => products::route(inner, request),
        "warehouse" => match request.segments.iter().any(|s| s == "goods-note") {
            true => goods_notes::route(inner, request),
            false => products::route_warehouse(inner, request),
        },
        "contact" => contacts::route(inner, request),
        "accounting" => lookups::route_accounting(inner, request),
        "integration" => webhooks::route(inner, request),
        _ => (request.not_found(), Vec::new()),
    };
    sim.raise(events);
    response
}

async fn fallback(uri: Uri) -> Response {
    wire::not_found(format!("Cannot find the resource {}", uri.path()))
}
