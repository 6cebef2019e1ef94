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
//! This file holds the router, the two middlewares that need the simulator (rate limits, due work
//! first) and the job → apply dispatch; the per-endpoint modules depend only on the shared ones
//! below them (`changelog`, `sim`, `queue`, `jobs`, `state`, `http`, `lines`, `stock`, `config`).
//!
//! It must not import anything from the crate outside `crate::sandbox`.
//!
//! [`SimClock`]: crate::sandbox::common::SimClock

mod acknowledge;
mod admin;
mod auth;
mod cancel;
mod catalog;
mod changelog;
mod config;
mod http;
mod inventory;
mod invoices;
mod jobs;
mod limits;
mod lines;
mod orders;
mod queue;
mod seed;
mod shipments;
mod sim;
mod state;
mod stock;

use axum::Router;
use axum::extract::{MatchedPath, Request, State as AxumState};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::common::{self, Instrumentation, SimServer};
pub use cancel::CANCEL_CODES;
pub use config::{API_PREFIX, DscoSimConfig, MAX_BODY_BYTES};
use jobs::{Job, Outcome};
pub use limits::EndpointLimit;
pub use sim::DscoSim;
pub use state::Processing;
use state::State;

impl DscoSim {
    /// A simulator with an empty account.
    pub fn new(config: DscoSimConfig) -> Self {
        Self::with_dispatch(config, apply_job)
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
                enforce_limits,
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
}

/// Which module applies which job: the one place that knows every asynchronous endpoint.
fn apply_job(
    state: &mut State,
    config: &DscoSimConfig,
    job: Job,
    payload: &Value,
    now: DateTime<Utc>,
) -> Outcome {
    match job {
        Job::Acknowledge => acknowledge::apply(state, payload, now),
        Job::Shipment => shipments::apply(state, config, payload, now),
        Job::Cancel => cancel::apply(state, payload, now),
        Job::Inventory { skip_unknown } => inventory::apply(state, payload, skip_unknown, now),
        Job::Invoice => invoices::apply(state, payload, now),
    }
}

async fn process_due_first(
    AxumState(sim): AxumState<DscoSim>,
    request: Request,
    next: Next,
) -> Response {
    sim.process_pending();
    next.run(request).await
}

/// Middleware: spend one token from each of the endpoint's buckets, or answer 429.
async fn enforce_limits(
    AxumState(sim): AxumState<DscoSim>,
    request: Request,
    next: Next,
) -> Response {
    if !sim.config().rate_limits {
        return next.run(request).await;
    }
    let Some(matched) = request.extensions().get::<MatchedPath>() else {
        return next.run(request).await;
    };
    let mut path = matched.as_str().trim_start_matches(API_PREFIX).to_owned();
    if path == "/order" {
        path = "/order/".into();
    }
    let method = request.method().as_str().to_owned();
    let Some(limit) = sim
        .config()
        .limits
        .iter()
        .find(|l| l.method.eq_ignore_ascii_case(&method) && l.path == path)
        .cloned()
    else {
        return next.run(request).await;
    };
    let now = sim.clock().now();
    let allowed = sim.with_state(|state, _| {
        limits::spend(&mut state.buckets, format!("{method} {path}"), &limit, now)
    });
    if allowed {
        next.run(request).await
    } else {
        limits::throttled()
    }
}
