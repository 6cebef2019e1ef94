//! The control API: REST/JSON over HTTP(S), bearer-token protected except `/health`, `/ready` and
//! `/openapi.json`.
//!
//! Handlers are thin: parse, call the store (typed methods through `Store::call`) or the
//! scheduler, map to DTOs. Every route is registered through utoipa-axum's `routes!`, so the
//! OpenAPI document is generated from the same list the router is built from.

mod catalog;
mod connections;
mod dto;
pub mod error;
mod extract;
mod inventory;
mod mappings;
mod orders;
pub mod public;
mod records;
mod runs;
mod settings;
mod system;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use dto::RunDto as RunView;
pub use error::{ApiError, ErrorBody, FieldError};

use crate::connections::Connections;
use crate::scheduler::Scheduler;
use crate::secret::Secret;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub scheduler: Scheduler,
    pub token: Arc<Secret<String>>,
    pub connections: Arc<Connections>,
    /// The app's lock on creating retailer contacts, shared with the flows' runs.
    pub contacts: crate::sync::contacts::ContactsLock,
    /// The Brightpearl webhook registry (reconciled after settings and connection changes).
    pub webhooks: Arc<crate::sync::webhooks::WebhookRegistry>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dsco-brightpearl control API",
        description = "Connections, settings, mappings, sync runs and the sync log of a dsco-brightpearl daemon. Every route except /health, /ready and /openapi.json needs `Authorization: Bearer <token>`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and the OpenAPI document built from them.
pub fn router_and_spec(state: AppState) -> (axum::Router, utoipa::openapi::OpenApi) {
    let (router, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::routes())
        .merge(runs::routes())
        .merge(records::routes())
        .merge(settings::routes())
        .merge(mappings::routes())
        .merge(catalog::routes())
        .merge(connections::routes())
        .merge(orders::routes())
        .merge(inventory::routes())
        .merge(webhooks::routes())
        .split_for_parts();
    let spec = Arc::new(spec);
    let spec_for_route = spec.clone();
    let router = router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let spec = spec_for_route.clone();
                async move { axum::Json(spec.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(request_context))
        .with_state(state);
    (router, spec.as_ref().clone())
}

/// The router alone.
pub fn router(state: AppState) -> axum::Router {
    router_and_spec(state).0
}

const OPEN_PATHS: [&str; 3] = ["/health", "/ready", "/openapi.json"];

async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), state.token.expose().as_bytes()) => {
            next.run(request).await
        }
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// Compare without an early exit, so response time does not reveal how much of a guess matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

/// Give each request an id (echoed as `x-request-id` and in error bodies) and log one line.
pub(crate) async fn request_context(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let method = request.method().clone();
    let path = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let started = Instant::now();
    let mut response = error::REQUEST_ID.scope(id.clone(), next.run(request)).await;
    tracing::debug!(
        request_id = %id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "api request"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// TLS material for the listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A bound listener: the address is known before serving starts.
pub struct Listener {
    inner: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Listener {
    /// Bind the control API's listener (`[api]`).
    pub async fn bind(addr: SocketAddr, tls: Option<&TlsFiles>) -> anyhow::Result<Listener> {
        Listener::bind_section("api", addr, tls).await
    }

    /// Bind the listener of config section `section` (`api`, `public`); errors name its keys.
    pub async fn bind_section(
        section: &str,
        addr: SocketAddr,
        tls: Option<&TlsFiles>,
    ) -> anyhow::Result<Listener> {
        let tls = match tls {
            Some(files) => Some(tls_acceptor(section, files)?),
            None => None,
        };
        let inner = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} ({section}.listen): {e}"))?;
        Ok(Listener { inner, tls })
    }

    /// A listener bound by the caller (tests and the sandbox bind port 0 first, to know the
    /// address before the config is written).
    pub fn from_bound(
        section: &str,
        inner: tokio::net::TcpListener,
        tls: Option<&TlsFiles>,
    ) -> anyhow::Result<Listener> {
        let tls = match tls {
            Some(files) => Some(tls_acceptor(section, files)?),
            None => None,
        };
        Ok(Listener { inner, tls })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serve until `shutdown` fires, then finish open requests.
    pub async fn serve(
        self,
        router: axum::Router,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        match self.tls {
            None => {
                axum::serve(self.inner, router)
                    .with_graceful_shutdown(async move { shutdown.cancelled().await })
                    .await
            }
            Some(acceptor) => serve_tls(self.inner, acceptor, router, shutdown).await,
        }
    }
}

fn tls_acceptor(section: &str, files: &TlsFiles) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{section}.tls_cert {}: {e}", files.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| anyhow::anyhow!("{section}.tls_key {}: {e}", files.key.display()))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("{section}.tls_cert/{section}.tls_key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::ServiceExt;

    let graceful = GracefulShutdown::new();
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        connections.spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    router.clone().oneshot(req.map(axum::body::Body::new))
                });
            let builder = Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            let _ = watcher.watch(conn.into_owned()).await;
        });
    }
    graceful.shutdown().await;
    connections.close();
    connections.wait().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(!constant_time_eq(b"a", b""));
    }
}
