//! DSCO API v3 simulator, written from `shared/reference/dsco-api.md` and Rithum's published
//! OpenAPI description, never from our client.
//!
//! It owns an in-memory DSCO account (one supplier): orders, catalog items, inventory, invoices,
//! warehouses, trading partners, OAuth tokens, scroll searches and the change logs that report the
//! outcome of asynchronous writes. Everything is mounted under `/api/v3`, so the product's
//! `[dsco] base_url` is `http://127.0.0.1:PORT/api/v3`; the scenario surface lives under
//! `/_sandbox` (see `admin.rs`). Time is the [`SimClock`]: token expiry, scroll expiry, the
//! 5-second `until` rule and the processing delay of asynchronous writes all read it.
//!
//! It must not import anything from the crate outside `crate::sandbox`.

mod acknowledge;
mod admin;
mod auth;
mod cancel;
mod catalog;
mod changelog;
mod http;
mod inventory;
mod invoices;
mod limits;
mod orders;
mod seed;
mod shipments;
mod state;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post, put};

use super::common::{self, Faults, Instrumentation, RequestLog, SimClock, SimServer};
pub use cancel::CANCEL_CODES;
pub use limits::EndpointLimit;
use state::State;

/// The path prefix of every DSCO API route (dsco-api.md §1.1).
pub const API_PREFIX: &str = "/api/v3";

/// The small-batch body cap (dsco-api.md §1.5).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// How the simulated DSCO account behaves.
#[derive(Debug, Clone)]
pub struct DscoSimConfig {
    /// OAuth client id accepted by `POST /oauth2/token`.
    pub client_id: String,
    /// OAuth client secret accepted by `POST /oauth2/token`.
    pub client_secret: String,
    /// The legacy long-lived bearer key (DscoAuth scheme, dsco-api.md §1.3).
    pub legacy_api_key: String,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_ttl: Duration,
    /// How long after submission asynchronous work is processed (measured on the clock).
    pub processing_delay: Duration,
    pub clock: Arc<SimClock>,
    /// Our supplier account id (`dscoSupplierId`).
    pub supplier_id: String,
    /// Whether the per-endpoint 429 buckets are on.
    pub rate_limits: bool,
    /// The per-endpoint limits (defaults: dsco-api.md §1.5); tests shrink them to hit them.
    pub limits: Vec<EndpointLimit>,
    /// Service level codes accepted on shipments (dsco-api.md §3.3).
    pub shipment_service_levels: Vec<String>,
    /// Generic order-level codes that a retailer puts on orders but that are refused on packages.
    pub order_only_service_levels: Vec<String>,
    /// Page size used by the change-log and warehouse searches.
    pub log_page_size: usize,
}

impl Default for DscoSimConfig {
    fn default() -> Self {
        let codes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect();
        Self {
            client_id: "sandbox-client".into(),
            client_secret: "sandbox-secret".into(),
            legacy_api_key: "222222-22222-2222-2222-222222222".into(),
            token_ttl: Duration::from_secs(3600),
            processing_delay: Duration::ZERO,
            clock: SimClock::new(),
            supplier_id: "1000060000".into(),
            rate_limits: true,
            limits: limits::default_limits(),
            // dsco-api.md §3.3: the KB FedEx block plus the codes observed on real shipments.
            shipment_service_levels: codes(&[
                "FESD", "FSDC", "FEFO", "FEPO", "FESO", "F2DA", "FE2D", "FEES", "FECG", "FEHD",
                "FESP", "UPCG", "USGA", "USPM", "ASEE", "ASEP", "ASEL", "ASET", "ONCG", "PSDD",
                "UPSV", "UPSP",
            ]),
            // guess: the generic retailer codes are refused on packages; [MW] lost a shipment
            // sent with GCG (dsco-api.md §8 item 4, §3.3).
            order_only_service_levels: codes(&["GCG", "GCP", "GCE"]),
            log_page_size: 1000,
        }
    }
}

/// A running DSCO simulator; cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct DscoSim {
    inner: Arc<Inner>,
}

struct Inner {
    config: DscoSimConfig,
    state: Mutex<State>,
    faults: Arc<Faults>,
    requests: Arc<RequestLog>,
}

impl DscoSim {
    pub fn new(config: DscoSimConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State::default()),
                faults: Faults::new(),
                requests: RequestLog::new(),
            }),
        }
    }

    pub fn config(&self) -> &DscoSimConfig {
        &self.inner.config
    }

    pub fn faults(&self) -> Arc<Faults> {
        self.inner.faults.clone()
    }

    pub fn requests(&self) -> Arc<RequestLog> {
        self.inner.requests.clone()
    }

    pub fn clock(&self) -> Arc<SimClock> {
        self.inner.config.clock.clone()
    }

    /// `/api/v3/...` plus the `/_sandbox` admin routes, wrapped in the shared fault/log middleware.
    pub fn router(&self) -> Router {
        let p = |path: &str| format!("{API_PREFIX}{path}");
        let api = Router::new()
            .route(&p("/hello"), get(orders::hello))
            .route(&p("/order/page"), get(orders::page))
            .route(&p("/order/"), get(orders::get_one).post(orders::create))
            .route(&p("/order"), get(orders::get_one).post(orders::create))
            .route(&p("/order/log"), get(changelog::order_log))
            .route(&p("/order/acknowledge"), post(acknowledge::batch))
            .route(&p("/order/singleShipment"), post(shipments::single))
            .route(&p("/order/shipment/batch/small"), post(shipments::batch))
            .route(&p("/order/item/cancel"), post(cancel::single))
            .route(&p("/order/item/cancel/batch/small"), post(cancel::batch))
            .route(&p("/order/request/cancel"), put(orders::request_cancel))
            .route(&p("/inventory"), get(inventory::get_one))
            .route(&p("/inventory/singleItem"), post(inventory::single))
            .route(&p("/inventory/batch/small"), post(inventory::batch))
            .route(&p("/inventory/log"), get(changelog::inventory_log))
            .route(&p("/invoice"), get(invoices::get).post(invoices::single))
            .route(&p("/invoice/batch/small"), post(invoices::batch))
            .route(&p("/invoice/log"), get(changelog::invoice_log))
            .route(&p("/warehouse/page"), get(catalog::warehouses))
            .route(&p("/tradingpartner"), get(catalog::trading_partners))
            .route(&p("/catalog"), get(catalog::item))
            // Bodies up to the 5 MB the reference allows small batches (dsco-api.md §1.5);
            // axum's default is 2 MB. Larger bodies get axum's 413.
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
            .route_layer(axum::middleware::from_fn(http::require_json))
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                limits::enforce,
            ))
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                auth::require_bearer,
            ));
        let token = Router::new().route(&p("/oauth2/token"), post(auth::token));
        let inst = Instrumentation {
            faults: self.faults(),
            log: self.requests(),
            clock: self.clock(),
            throttle_response: limits::throttled_fault,
            error_body_response: limits::server_error_body,
        };
        api.merge(token)
            .merge(admin::routes())
            .merge(common::admin_routes(inst.clone()))
            .fallback(http::unknown_route)
            .method_not_allowed_fallback(http::unknown_route)
            .with_state(self.clone())
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                process_due_first,
            ))
            .layer(axum::middleware::from_fn_with_state(
                inst,
                common::instrument,
            ))
    }

    /// Serve [`DscoSim::router`] on `addr` (port 0 picks a free port).
    pub async fn start(&self, addr: std::net::SocketAddr) -> std::io::Result<SimServer> {
        SimServer::start(self.router(), addr).await
    }

    /// Run the asynchronous work that is due now (also happens before every request).
    pub fn process_pending(&self) {
        let now = self.clock().now();
        let mut state = common::lock(&self.inner.state);
        changelog::process_due(&mut state, &self.inner.config, now);
    }

    /// Run `f` on the state after processing due work: the one door to the data.
    fn with_state<T>(&self, f: impl FnOnce(&mut State, &DscoSimConfig) -> T) -> T {
        let now = self.clock().now();
        let mut state = common::lock(&self.inner.state);
        changelog::process_due(&mut state, &self.inner.config, now);
        f(&mut state, &self.inner.config)
    }

    /// Drop every order, item, inventory record, invoice, log entry and scroll; issued tokens stay
    /// valid so connected clients keep working.
    pub fn reset(&self) {
        let mut state = common::lock(&self.inner.state);
        let tokens = std::mem::take(&mut state.tokens);
        *state = State::default();
        state.tokens = tokens;
    }
}

async fn process_due_first(
    axum::extract::State(sim): axum::extract::State<DscoSim>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    sim.process_pending();
    next.run(request).await
}
