//! The Brightpearl HTTP client: [`Client`], its configuration and the request core (the
//! `{response}`/`{errors}` envelopes, the shared quota budget, retries, token refresh after a
//! 401, search paging). Operation methods live in one file per API area: `orders`, `products`,
//! `lookups`, `contacts`, `goods_out`, `webhooks`; credentials in `auth`, the OAuth token
//! exchange in `token`, answer decoding in `response`.
//!
//! It must not know about the store or the flows: it takes ids and wire models, returns wire
//! models, and classifies failures (see [`Error`]).

mod auth;
mod contacts;
mod goods_out;
mod lookups;
mod notes;
mod orders;
mod products;
mod response;
mod token;
mod webhooks;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use url::Url;

pub use self::auth::{Auth, TokenKind};
pub use self::token::{TokenGrant, default_token_url, exchange_token};

use self::auth::auth_headers;
use self::response::{decode_envelope, errors_in_success, header_u64};
use crate::backoff::RetryPolicy;
use crate::brightpearl::error::{Error, classify_status, excerpt};
use crate::brightpearl::quota::{Lane, QuotaBudget};
use crate::brightpearl::search::{MAX_PAGE_SIZE, SearchPage, SearchQuery, decode_search_page};
use crate::secret::Secret;
use crate::upstream::{Retrier, TransportFault, Verdict, read_body};

/// Where and how to reach one Brightpearl account.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Scheme and host, e.g. `https://use1.brightpearlconnect.com`; the client adds
    /// `/public-api/{account}`.
    pub base_url: Url,
    pub account: String,
    pub auth: Auth,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

const REQUESTS_REMAINING: &str = "brightpearl-requests-remaining";
const NEXT_THROTTLE_PERIOD: &str = "brightpearl-next-throttle-period";

/// A Brightpearl API client for one account. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    /// `{base_url}/public-api/{account}/`, always ending in `/`.
    account_base: Url,
    auth_headers: RwLock<HeaderMap>,
    auth: RwLock<Auth>,
    quota: Arc<QuotaBudget>,
    retry: RetryPolicy,
    refresher: Option<Refresher>,
    /// Bumped whenever the credentials change, so concurrent 401s refresh only once.
    auth_generation: AtomicU64,
    refresh_lock: tokio::sync::Mutex<()>,
}

/// Gets a new OAuth access token (typically: [`exchange_token`] with the stored refresh token,
/// persisting the rotated refresh token before returning). Called at most once per 401 wave.
pub type TokenRefresher = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Secret<String>, Error>> + Send>> + Send + Sync,
>;

#[derive(Clone)]
struct Refresher(TokenRefresher);

impl fmt::Debug for Refresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenRefresher")
    }
}

/// One request as the retry loop sees it.
struct Call {
    lane: Lane,
    method: Method,
    /// Relative to the account base, e.g. `order-service/order/1-3`.
    path: String,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// Safe to send twice: GET, OPTIONS, DELETE.
    idempotent: bool,
    /// Bodies may hold secrets (a webhook's `uriTemplate` carries our callback token), so they
    /// are kept out of logs and error excerpts.
    redact_bodies: bool,
}

impl Call {
    fn new(lane: Lane, method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(method, Method::GET | Method::OPTIONS | Method::DELETE);
        let path: String = path.into();
        let redact_bodies = path.starts_with("integration-service/webhook");
        Call {
            lane,
            method,
            path,
            query: Vec::new(),
            body: None,
            idempotent,
            redact_bodies,
        }
    }

    fn query(mut self, pairs: Vec<(String, String)>) -> Self {
        self.query = pairs;
        self
    }

    fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("cannot encode request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

impl Client {
    /// A client with its own quota budget (default 200 requests per minute).
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        Client::with_quota(config, Arc::new(QuotaBudget::default()))
    }

    /// A client sharing `quota` with other clients of the same Brightpearl pool.
    pub fn with_quota(config: ClientConfig, quota: Arc<QuotaBudget>) -> Result<Self, Error> {
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| Error::Config(format!("cannot build http client: {e}")))?;
        let account_base = account_base(&config.base_url, &config.account)?;
        let auth_headers = auth_headers(&config.auth)?;
        Ok(Client {
            http,
            account_base,
            auth_headers: RwLock::new(auth_headers),
            auth: RwLock::new(config.auth),
            quota,
            retry: RetryPolicy::default(),
            refresher: None,
            auth_generation: AtomicU64::new(0),
            refresh_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Replace the retry policy (tests use tiny delays).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// On a 401 with OAuth credentials, get a new access token from `refresher` once and send
    /// the request again (a 401 was not applied, so this is safe for creates too).
    pub fn with_token_refresher(mut self, refresher: TokenRefresher) -> Self {
        self.refresher = Some(Refresher(refresher));
        self
    }

    /// The quota budget this client spends from (counters for benchmarks and status).
    pub fn quota(&self) -> &Arc<QuotaBudget> {
        &self.quota
    }

    /// Swap in a refreshed OAuth access token; a no-op for private apps.
    pub fn set_access_token(&self, token: Secret<String>) -> Result<(), Error> {
        let mut auth = self.auth.write().unwrap_or_else(|p| p.into_inner());
        if let Auth::OAuth { access_token, .. } = &mut *auth {
            *access_token = token;
            let headers = auth_headers(&auth)?;
            *self.auth_headers.write().unwrap_or_else(|p| p.into_inner()) = headers;
            self.auth_generation.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Refresh the access token unless another task already did since `seen_generation`.
    async fn refresh_token(&self, seen_generation: u64) -> Result<(), Error> {
        let Some(Refresher(refresher)) = &self.refresher else {
            return Ok(());
        };
        let _single_flight = self.refresh_lock.lock().await;
        if self.auth_generation.load(Ordering::SeqCst) != seen_generation {
            return Ok(());
        }
        tracing::info!("refreshing brightpearl access token after a 401");
        let token = refresher().await?;
        self.set_access_token(token)
    }

    // -----------------------------------------------------------------------------------------
    // Search plumbing

    /// One page of any `{service}/{resource}-search`.
    pub async fn search(
        &self,
        lane: Lane,
        path: &str,
        query: &SearchQuery,
    ) -> Result<SearchPage, Error> {
        let call = Call::new(lane, Method::GET, path).query(query.to_pairs());
        let endpoint = call.endpoint();
        self.execute_with(call, |body| {
            decode_search_page(body).map_err(|message| Error::Decode {
                endpoint: endpoint.clone(),
                status: StatusCode::OK,
                message,
                body: excerpt(body),
            })
        })
        .await
    }

    /// Every row of a search, following `morePagesAvailable` with `firstResult = lastResult + 1`.
    pub async fn search_all(
        &self,
        lane: Lane,
        path: &str,
        query: &SearchQuery,
    ) -> Result<Vec<Map<String, Value>>, Error> {
        let mut query = query.clone();
        if query.page_size.is_none() {
            query.page_size = Some(MAX_PAGE_SIZE);
        }
        let mut rows = Vec::new();
        loop {
            let page = self.search(lane, path, &query).await?;
            let next = page.next_first_result();
            rows.extend(page.rows);
            match next {
                // Guard against a server that does not move forward.
                Some(first) if Some(first as u32) > query.first_result => {
                    query.first_result = Some(first as u32);
                }
                _ => return Ok(rows),
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Request core

    /// Execute and decode the `response` member of the envelope.
    async fn fetch<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let endpoint = call.endpoint();
        let redact = call.redact_bodies;
        self.execute_with(call, |body| {
            decode_envelope(&endpoint, body).map_err(|error| match error {
                Error::Decode {
                    endpoint,
                    status,
                    message,
                    ..
                } if redact => Error::Decode {
                    endpoint,
                    status,
                    message,
                    body: REDACTED.into(),
                },
                other => other,
            })
        })
        .await
    }

    /// Like [`Client::fetch`] but a 404 (Brightpearl's "no results for that set") is empty.
    async fn fetch_or_empty<T: DeserializeOwned + Default>(&self, call: Call) -> Result<T, Error> {
        match self.fetch(call).await {
            Err(e) if e.is_not_found() => Ok(T::default()),
            other => other,
        }
    }

    /// Send with quota, retries and classification; returns the body of a 2xx answer.
    async fn execute(&self, call: Call) -> Result<Bytes, Error> {
        self.execute_with(call, |body| Ok(Bytes::copy_from_slice(body)))
            .await
    }

    /// [`Client::execute`], with the answer read by `read` inside the retry loop, so a read whose
    /// 2xx body cannot be decoded is sent again like any transient failure (`upstream` rules).
    async fn execute_with<T>(
        &self,
        call: Call,
        read: impl Fn(&[u8]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let url = self
            .account_base
            .join(&call.path)
            .map_err(|e| Error::Config(format!("bad path {}: {e}", call.path)))?;
        let endpoint = call.endpoint();
        let mut retrier = Retrier::new(&self.retry, call.idempotent, self.refresher.is_some());
        loop {
            let attempt = retrier.start();
            self.quota.acquire(call.lane).await;
            let generation = self.auth_generation.load(Ordering::SeqCst);
            let error = match self
                .send_once(&url, &call, &endpoint)
                .await
                .and_then(|body| read(&body))
            {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            match retrier.next(&error) {
                // Refresh once and retry; a second 401 is reported (brightpearl-api.md §2.5).
                Verdict::Refresh => self.refresh_token(generation).await?,
                Verdict::Retry(delay) => {
                    // After a throttle the budget already waits for the next window; add only
                    // jitter.
                    let delay = match &error {
                        Error::Throttled { .. } => self.retry.delay(1),
                        _ => delay,
                    };
                    tracing::warn!(endpoint = %endpoint, attempt, error = %error, "retrying brightpearl call");
                    tokio::time::sleep(delay).await;
                }
                Verdict::Stop => {
                    if error.is_unknown_outcome() && !call.idempotent {
                        tracing::warn!(endpoint = %endpoint, error = %error, "brightpearl write outcome unknown");
                    }
                    return Err(error);
                }
            }
        }
    }

    async fn send_once(&self, url: &Url, call: &Call, endpoint: &str) -> Result<Bytes, Error> {
        let headers = self
            .auth_headers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut request = self
            .http
            .request(call.method.clone(), url.clone())
            .headers(headers)
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            tracing::trace!(endpoint, body = %loggable(call, body), "brightpearl request body");
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::transport(endpoint, TransportFault::of(&e)))?;
        let remaining = header_u64(response.headers(), REQUESTS_REMAINING)
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX));
        let period =
            header_u64(response.headers(), NEXT_THROTTLE_PERIOD).map(Duration::from_millis);
        self.quota.observe(remaining, period);
        let (status, body) = read_body(response).await;
        let body = body.map_err(|fault| Error::body(endpoint, status, fault))?;
        tracing::trace!(endpoint, status = status.as_u16(), body = %loggable(call, &body), "brightpearl response");
        tracing::debug!(endpoint, status = status.as_u16(), "brightpearl call");
        if status.is_success() {
            // A 2xx whose body carries `errors` (207 multi-status, odd proxies) is a failure.
            if let Some(error) = errors_in_success(endpoint, status, &body) {
                return Err(error);
            }
            return Ok(body);
        }
        let error = classify_status(endpoint, status, &body, period, remaining);
        if matches!(error, Error::Throttled { .. } | Error::RateLimited { .. }) {
            self.quota.observe_throttled(period);
        }
        Err(error)
    }
}

const REDACTED: &str = "<redacted>";

/// A body excerpt fit for a trace line.
fn loggable(call: &Call, body: &[u8]) -> String {
    if call.redact_bodies {
        REDACTED.into()
    } else {
        excerpt(body)
    }
}

fn account_base(base_url: &Url, account: &str) -> Result<Url, Error> {
    if account.is_empty() || account.contains('/') {
        return Err(Error::Config(format!("bad account code {account:?}")));
    }
    // Normally scheme and host only; a path prefix (a sandbox mounted under one) is kept.
    let mut base = base_url.clone();
    let prefix = base.path().trim_end_matches('/').to_owned();
    base.set_path(&format!("{prefix}/public-api/{account}/"));
    base.set_query(None);
    Ok(base)
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn account_base_appends_the_public_api_prefix() {
        let check = |base: &str, expected: &str| {
            let url = account_base(&Url::parse(base).unwrap(), "acme").unwrap();
            assert_eq!(url.as_str(), expected);
        };
        check(
            "https://use1.brightpearlconnect.com",
            "https://use1.brightpearlconnect.com/public-api/acme/",
        );
        check(
            "https://use1.brightpearlconnect.com/",
            "https://use1.brightpearlconnect.com/public-api/acme/",
        );
        check(
            "http://127.0.0.1:9/bp/",
            "http://127.0.0.1:9/bp/public-api/acme/",
        );
        assert!(account_base(&Url::parse("https://x.test").unwrap(), "a/b").is_err());
    }
}
