//! The DSCO API v3 HTTP client: OAuth2 client-credentials tokens (cached, refreshed before
//! expiry, refreshed once on a 401), per-endpoint 429 cool-downs, retries for retryable errors,
//! and one method per API operation the sync flows use. Batch writes are one operation each:
//! submit, then poll the change log until COMPLETED, then return per-object outcomes.
//!
//! It must not know about the store or the flows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

mod changelog;
mod pace;

use super::batch::{ChangeLog, ChangeLogPolling, ObjectOutcome, keys_of};
use super::error::{Error, classify_status, messages_in};
use super::model::*;
use crate::backoff::RetryPolicy;
use crate::secret::Secret;
use crate::upstream::{Retrier, TransportFault, Verdict, excerpt, read_body};

/// Where and how to reach DSCO.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API v3 base, e.g. `https://api.dsco.io/api/v3`.
    pub base_url: Url,
    pub auth: Auth,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// Credentials (dsco-api.md §1.3).
#[derive(Debug, Clone)]
pub enum Auth {
    /// OAuth2 client credentials exchanged at `{base}/oauth2/token` for hour-long tokens.
    ClientCredentials {
        client_id: String,
        client_secret: Secret<String>,
    },
    /// Legacy long-lived bearer token issued by Rithum support.
    ApiKey(Secret<String>),
}

/// Refresh a cached token when less than this is left (public clients use 30–60 s).
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Where an order page search starts (dsco-api.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderWindowStart {
    /// `ordersCreatedSince` (inclusive).
    CreatedSince(DateTime<Utc>),
    /// `ordersUpdatedSince` (exclusive).
    UpdatedSince(DateTime<Utc>),
}

/// The filters of a first `GET /order/page` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQuery {
    pub since: OrderWindowStart,
    /// Must be at least 5 s in the past; callers use now − 10 s.
    pub until: DateTime<Utc>,
    /// `created`, `shipment_pending`, `shipped`, `cancelled` (repeatable).
    pub statuses: Vec<String>,
    /// 10–1000; DSCO's default is 1000.
    pub orders_per_page: Option<u32>,
    pub include_test_orders: bool,
}

/// One `GET /order/page` call: a first search or a follow-up by `scrollId` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderPageRequest {
    Search(OrderQuery),
    Scroll(String),
}

/// The result of a batch write: DSCO's request id and one outcome per submitted object.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult {
    pub request_id: RequestId,
    pub outcomes: Vec<ObjectOutcome>,
}

impl BatchResult {
    pub fn all_succeeded(&self) -> bool {
        self.outcomes.iter().all(ObjectOutcome::is_success)
    }
}

/// The asynchronous batch writes, each with its endpoint and the change log that reports on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncWrite {
    /// `POST /order/acknowledge` → `/order/log`.
    Acknowledgements,
    /// `POST /order/shipment/batch/small` → `/order/log`.
    Shipments,
    /// `POST /inventory/batch/small` → `/inventory/log`; with `skip_unknown`,
    /// `?skipItemsThatDontExist=true` (DSCO drops SKUs it does not know instead of failing them).
    Inventory { skip_unknown: bool },
    /// `POST /invoice/batch/small` → `/invoice/log`.
    Invoices,
    /// `POST /order/item/cancel/batch/small` → `/order/log`.
    ItemCancels,
}

impl AsyncWrite {
    fn endpoint(self) -> (&'static str, &'static str) {
        match self {
            AsyncWrite::Acknowledgements => ("POST /order/acknowledge", "order/acknowledge"),
            AsyncWrite::Shipments => (
                "POST /order/shipment/batch/small",
                "order/shipment/batch/small",
            ),
            AsyncWrite::Inventory { .. } => {
                ("POST /inventory/batch/small", "inventory/batch/small")
            }
            AsyncWrite::Invoices => ("POST /invoice/batch/small", "invoice/batch/small"),
            AsyncWrite::ItemCancels => (
                "POST /order/item/cancel/batch/small",
                "order/item/cancel/batch/small",
            ),
        }
    }

    /// The change log that reports on this write.
    pub fn log(self) -> ChangeLog {
        match self {
            AsyncWrite::Acknowledgements | AsyncWrite::Shipments | AsyncWrite::ItemCancels => {
                ChangeLog::Order
            }
            AsyncWrite::Inventory { .. } => ChangeLog::Inventory,
            AsyncWrite::Invoices => ChangeLog::Invoice,
        }
    }
}

#[derive(Debug)]
struct CachedToken {
    token: Secret<String>,
    refresh_after: Instant,
}

#[derive(Debug, Default, Clone, Copy)]
struct Cooldown {
    until: Option<Instant>,
    strikes: u32,
}

/// One request as the retry loop sees it.
struct Call {
    /// Stable operation name for logs, errors and 429 cool-downs, e.g. `GET /order/page`.
    endpoint: &'static str,
    method: Method,
    /// Relative to the base, e.g. `order/page`.
    path: &'static str,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    idempotent: bool,
}

impl Call {
    fn get(endpoint: &'static str, path: &'static str, query: Vec<(String, String)>) -> Self {
        Call {
            endpoint,
            method: Method::GET,
            path,
            query,
            body: None,
            idempotent: true,
        }
    }

    fn post<B: Serialize + ?Sized>(
        endpoint: &'static str,
        path: &'static str,
        body: &B,
    ) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("cannot encode request body: {e}")))?;
        Ok(Call {
            endpoint,
            method: Method::POST,
            path,
            query: Vec::new(),
            body: Some(bytes),
            idempotent: false,
        })
    }
}

/// A DSCO API client. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    /// Always ends in `/`.
    base: Url,
    auth: Auth,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    cooldowns: Mutex<HashMap<&'static str, Cooldown>>,
    /// Calls spread to each endpoint's documented rate (dsco-api.md §1.5).
    pacer: Mutex<pace::Pacer>,
    retry: RetryPolicy,
    polling: ChangeLogPolling,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| Error::Config(format!("cannot build http client: {e}")))?;
        let mut base = config.base_url.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        Ok(Client {
            http,
            base,
            auth: config.auth,
            token: tokio::sync::Mutex::new(None),
            cooldowns: Mutex::new(HashMap::new()),
            pacer: Mutex::new(pace::Pacer::default()),
            retry: RetryPolicy::default(),
            polling: ChangeLogPolling::default(),
        })
    }

    /// Replace the retry policy (tests use tiny delays).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replace how change logs are polled after a batch.
    /// How the change log is polled after a batch was accepted.
    pub fn polling(&self) -> &ChangeLogPolling {
        &self.polling
    }

    pub fn with_change_log_polling(mut self, polling: ChangeLogPolling) -> Self {
        self.polling = polling;
        self
    }

    /// Test the connection: fetch a fresh token (client credentials) or call `GET /hello`
    /// (static API key).
    pub async fn ping(&self) -> Result<(), Error> {
        match &self.auth {
            Auth::ClientCredentials { .. } => {
                let mut cache = self.token.lock().await;
                *cache = Some(self.fetch_token().await?);
                Ok(())
            }
            Auth::ApiKey(_) => self
                .execute(Call::get("GET /hello", "hello", Vec::new()))
                .await
                .map(drop),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Orders

    /// One `GET /order/page`. A 404 on a scroll follow-up is [`Error::ScrollExpired`]: restart
    /// the window with a new search.
    pub async fn fetch_orders_page(&self, request: &OrderPageRequest) -> Result<OrderPage, Error> {
        let query = match request {
            OrderPageRequest::Scroll(scroll_id) => vec![("scrollId".to_owned(), scroll_id.clone())],
            OrderPageRequest::Search(query) => order_query_pairs(query),
        };
        let call = Call::get("GET /order/page", "order/page", query);
        match self.fetch(call).await {
            Err(Error::NotFound { endpoint }) if matches!(request, OrderPageRequest::Scroll(_)) => {
                Err(Error::ScrollExpired { endpoint })
            }
            other => other,
        }
    }

    /// A pager over `GET /order/page` that follows `scrollId` until an empty page.
    pub fn order_pager(&self, query: OrderQuery) -> OrderPager<'_> {
        OrderPager {
            client: self,
            next: Some(OrderPageRequest::Search(query)),
        }
    }

    /// `GET /order/?orderKey=&value=`; `None` when DSCO has no such order (yet).
    pub async fn get_order(&self, key: OrderKey, value: &str) -> Result<Option<Order>, Error> {
        let query = vec![
            ("orderKey".to_owned(), key.as_str().to_owned()),
            ("value".to_owned(), value.to_owned()),
        ];
        match self.fetch(Call::get("GET /order/", "order/", query)).await {
            Ok(order) => Ok(Some(order)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /order/shipment/batch/small`, then the order change log.
    pub async fn create_shipments(
        &self,
        shipments: &[ShipmentsForUpdate],
    ) -> Result<BatchResult, Error> {
        self.submit_batch(
            "POST /order/shipment/batch/small",
            "order/shipment/batch/small",
            ChangeLog::Order,
            shipments,
        )
        .await
    }

    /// `POST /order/singleShipment`: synchronous, `201 {"success": true}`.
    pub async fn create_shipment(&self, shipment: &ShipmentsForUpdate) -> Result<(), Error> {
        let call = Call::post(
            "POST /order/singleShipment",
            "order/singleShipment",
            shipment,
        )?;
        self.submit_single(call).await
    }

    /// `POST /order/item/cancel/batch/small`, then the order change log.
    pub async fn cancel_order_items(
        &self,
        cancels: &[OrderForCancel],
    ) -> Result<BatchResult, Error> {
        self.submit_batch(
            "POST /order/item/cancel/batch/small",
            "order/item/cancel/batch/small",
            ChangeLog::Order,
            cancels,
        )
        .await
    }

    /// `POST /order/item/cancel` for one order: `200` (processed) or `202` (queued).
    pub async fn cancel_order_item(
        &self,
        cancel: &OrderForCancel,
    ) -> Result<UpdateResponse, Error> {
        let call = Call::post("POST /order/item/cancel", "order/item/cancel", cancel)?;
        let endpoint = call.endpoint;
        let (status, body) = self.execute(call).await?;
        let response: UpdateResponse = decode(endpoint, status, &body)?;
        if response.status.eq_ignore_ascii_case("failure") {
            return Err(Error::Rejected {
                endpoint: endpoint.to_owned(),
                status,
                messages: response.messages,
                body: excerpt(&body),
            });
        }
        Ok(response)
    }

    // -----------------------------------------------------------------------------------------
    // Inventory, invoices

    /// `POST /inventory/batch/small[?skipItemsThatDontExist=true]`, then the inventory log.
    pub async fn update_inventory(
        &self,
        items: &[ItemInventory],
        skip_items_that_dont_exist: bool,
    ) -> Result<BatchResult, Error> {
        let mut call = Call::post(
            "POST /inventory/batch/small",
            "inventory/batch/small",
            items,
        )?;
        if skip_items_that_dont_exist {
            call.query
                .push(("skipItemsThatDontExist".into(), "true".into()));
        }
        self.submit_batch_call(call, ChangeLog::Inventory, keys_of(items))
            .await
    }

    /// `POST /inventory/singleItem`: synchronous, `201 {"success": true}`.
    pub async fn update_inventory_item(&self, item: &ItemInventory) -> Result<(), Error> {
        let call = Call::post("POST /inventory/singleItem", "inventory/singleItem", item)?;
        self.submit_single(call).await
    }

    /// `GET /inventory?itemKey=&value=`; `None` when unknown.
    pub async fn get_inventory(
        &self,
        key: ItemKey,
        value: &str,
    ) -> Result<Option<ItemInventory>, Error> {
        let query = item_query(key, value);
        match self
            .fetch(Call::get("GET /inventory", "inventory", query))
            .await
        {
            Ok(item) => Ok(Some(item)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /invoice/batch/small`, then the invoice log.
    pub async fn create_invoices(&self, invoices: &[Invoice]) -> Result<BatchResult, Error> {
        self.submit_batch(
            "POST /invoice/batch/small",
            "invoice/batch/small",
            ChangeLog::Invoice,
            invoices,
        )
        .await
    }

    /// `POST /invoice`: synchronous, `201 {"success": true}`.
    pub async fn create_invoice(&self, invoice: &Invoice) -> Result<(), Error> {
        self.submit_single(Call::post("POST /invoice", "invoice", invoice)?)
            .await
    }

    /// `GET /invoice?key=invoiceId&value=`: the invoices DSCO shows under that id (empty when
    /// none — which proves nothing right after a write, DSCO being eventually consistent).
    pub async fn find_invoices(&self, invoice_id: &str) -> Result<Vec<Invoice>, Error> {
        let query = vec![
            ("key".to_owned(), "invoiceId".to_owned()),
            ("value".to_owned(), invoice_id.to_owned()),
        ];
        match self
            .fetch::<InvoicePage>(Call::get("GET /invoice", "invoice", query))
            .await
        {
            Ok(page) => Ok(page.invoices),
            Err(Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Catalog, warehouses, trading partners

    /// `GET /catalog?itemKey=&value=`; `None` when unknown.
    pub async fn get_catalog_item(
        &self,
        key: ItemKey,
        value: &str,
    ) -> Result<Option<CatalogItem>, Error> {
        let query = item_query(key, value);
        match self
            .fetch(Call::get("GET /catalog", "catalog", query))
            .await
        {
            Ok(item) => Ok(Some(item)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every warehouse of the supplier (`GET /warehouse/page`, following `scrollId`).
    pub async fn list_warehouses(&self) -> Result<Vec<Warehouse>, Error> {
        let mut warehouses = Vec::new();
        let mut query: Vec<(String, String)> = Vec::new();
        loop {
            let page: WarehousePage = self
                .fetch(Call::get("GET /warehouse/page", "warehouse/page", query))
                .await?;
            let done = page.warehouses.is_empty() || page.scroll_id.is_none();
            warehouses.extend(page.warehouses);
            match page.scroll_id {
                Some(scroll_id) if !done => query = vec![("scrollId".to_owned(), scroll_id)],
                _ => return Ok(warehouses),
            }
        }
    }

    /// `GET /tradingpartner`: the connected retailers.
    pub async fn list_trading_partners(&self) -> Result<Vec<TradingPartner>, Error> {
        self.fetch(Call::get(
            "GET /tradingpartner",
            "tradingpartner",
            Vec::new(),
        ))
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Write plumbing

    async fn submit_batch<T: Serialize>(
        &self,
        endpoint: &'static str,
        path: &'static str,
        log: ChangeLog,
        objects: &[T],
    ) -> Result<BatchResult, Error> {
        let call = Call::post(endpoint, path, objects)?;
        self.submit_batch_call(call, log, keys_of(objects)).await
    }

    async fn submit_batch_call(
        &self,
        call: Call,
        log: ChangeLog,
        keys: Vec<String>,
    ) -> Result<BatchResult, Error> {
        if keys.is_empty() {
            return Ok(BatchResult {
                request_id: RequestId(String::new()),
                outcomes: Vec::new(),
            });
        }
        let request_id = self.accepted(call, keys.len()).await?;
        let outcomes = self.poll_change_log(log, &request_id, &keys).await?;
        Ok(BatchResult {
            request_id,
            outcomes,
        })
    }

    async fn submit_single(&self, call: Call) -> Result<(), Error> {
        let endpoint = call.endpoint;
        let (status, body) = self.execute(call).await?;
        let answer: SuccessFailResponse = decode(endpoint, status, &body)?;
        if answer.success {
            Ok(())
        } else {
            Err(Error::Rejected {
                endpoint: endpoint.to_owned(),
                status,
                messages: messages_in(&body),
                body: excerpt(&body),
            })
        }
    }

    // -----------------------------------------------------------------------------------------
    // Request core

    async fn fetch<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let endpoint = call.endpoint;
        self.execute_with(call, |status, body| decode(endpoint, status, body))
            .await
    }

    /// Send with auth, cool-downs, one token refresh on 401, and retries; returns a 2xx answer.
    async fn execute(&self, call: Call) -> Result<(StatusCode, Bytes), Error> {
        self.execute_with(call, |status, body| {
            Ok((status, Bytes::copy_from_slice(body)))
        })
        .await
    }

    /// [`Client::execute`], with the answer read by `read` inside the retry loop: a read whose
    /// 2xx body cannot be decoded is sent again like any transient failure (`upstream` rules).
    async fn execute_with<T>(
        &self,
        call: Call,
        read: impl Fn(StatusCode, &[u8]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let url = self
            .base
            .join(call.path)
            .map_err(|e| Error::Config(format!("bad path {}: {e}", call.path)))?;
        let can_refresh = matches!(self.auth, Auth::ClientCredentials { .. });
        let mut retrier = Retrier::new(&self.retry, call.idempotent, can_refresh);
        loop {
            let attempt = retrier.start();
            let at = self
                .pacer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .book(call.endpoint, Instant::now());
            tokio::time::sleep_until(at).await;
            self.wait_cooldown(call.endpoint).await;
            let token = self.bearer_token().await?;
            let error = match self
                .send_once(&url, &call, &token)
                .await
                .and_then(|(status, body)| read(status, &body))
            {
                Ok(answer) => {
                    self.clear_cooldown(call.endpoint);
                    return Ok(answer);
                }
                Err(error) => error,
            };
            if matches!(error, Error::RateLimited { .. }) {
                self.bump_cooldown(call.endpoint);
            }
            match retrier.next(&error) {
                // The token may have expired early or been revoked: refresh once and retry.
                Verdict::Refresh => self.invalidate_token(&token).await,
                Verdict::Retry(delay) => {
                    tracing::warn!(endpoint = call.endpoint, attempt, error = %error, "retrying dsco call");
                    if !matches!(error, Error::RateLimited { .. }) {
                        // A 429 waits through the endpoint's cool-down instead.
                        tokio::time::sleep(delay).await;
                    }
                }
                Verdict::Stop => {
                    if error.is_unknown_outcome() && !call.idempotent {
                        tracing::warn!(endpoint = call.endpoint, error = %error, "dsco write outcome unknown");
                    }
                    return Err(error);
                }
            }
        }
    }

    async fn send_once(
        &self,
        url: &Url,
        call: &Call,
        token: &Secret<String>,
    ) -> Result<(StatusCode, Bytes), Error> {
        let endpoint = call.endpoint;
        let mut authorization = HeaderValue::from_str(&format!("bearer {}", token.expose()))
            .map_err(|_| Error::Config("token is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        let mut request = self
            .http
            .request(call.method.clone(), url.clone())
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            tracing::trace!(endpoint, body = %excerpt(body), "dsco request body");
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::transport(endpoint, TransportFault::of(&e)))?;
        let (status, body) = read_body(response).await;
        let body = body.map_err(|fault| Error::body(endpoint, status, fault))?;
        tracing::trace!(endpoint, status = status.as_u16(), body = %excerpt(&body), "dsco response");
        tracing::debug!(endpoint, status = status.as_u16(), "dsco call");
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(classify_status(endpoint, status, &body))
        }
    }

    // -----------------------------------------------------------------------------------------
    // Tokens

    async fn bearer_token(&self) -> Result<Secret<String>, Error> {
        match &self.auth {
            Auth::ApiKey(key) => Ok(key.clone()),
            Auth::ClientCredentials { .. } => {
                // Holding the lock across the fetch makes concurrent callers share one refresh.
                let mut cache = self.token.lock().await;
                if let Some(cached) = cache.as_ref()
                    && Instant::now() < cached.refresh_after
                {
                    return Ok(cached.token.clone());
                }
                let fresh = self.fetch_token().await?;
                let token = fresh.token.clone();
                *cache = Some(fresh);
                Ok(token)
            }
        }
    }

    async fn invalidate_token(&self, stale: &Secret<String>) {
        let mut cache = self.token.lock().await;
        if cache.as_ref().is_some_and(|c| c.token == *stale) {
            *cache = None;
        }
    }

    /// `POST {base}/oauth2/token` (form, no auth header), with retries for retryable failures.
    async fn fetch_token(&self) -> Result<CachedToken, Error> {
        let Auth::ClientCredentials {
            client_id,
            client_secret,
        } = &self.auth
        else {
            return Err(Error::Config("no client credentials configured".into()));
        };
        const ENDPOINT: &str = "POST /oauth2/token";
        let url = self
            .base
            .join("oauth2/token")
            .map_err(|e| Error::Config(format!("bad token url: {e}")))?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose().as_str()),
        ];
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self.request_token(&url, &form, ENDPOINT).await;
            match result {
                Ok(token) => return Ok(token),
                Err(error) if error.is_retryable() && attempt < self.retry.max_attempts => {
                    tracing::warn!(endpoint = ENDPOINT, attempt, error = %error, "retrying dsco token request");
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn request_token(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        endpoint: &str,
    ) -> Result<CachedToken, Error> {
        let requested_at = Instant::now();
        let response = self
            .http
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| Error::transport(endpoint, TransportFault::of(&e)))?;
        let (status, body) = read_body(response).await;
        let body = body.map_err(|fault| Error::body(endpoint, status, fault))?;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(classify_status(endpoint, status, &body));
        }
        if !status.is_success() {
            let parsed: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            return Err(Error::Token {
                status,
                error: parsed["error"].as_str().unwrap_or("unknown").to_owned(),
                description: parsed["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        // Never put this body in an error or a log: it holds the token.
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Decode {
            endpoint: endpoint.to_owned(),
            status,
            message: e.to_string(),
            body: "<token response withheld>".into(),
        })?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        let refresh_after = requested_at + lifetime.saturating_sub(TOKEN_REFRESH_MARGIN);
        tracing::debug!(expires_in = lifetime.as_secs(), "dsco token obtained");
        Ok(CachedToken {
            token: token.access_token,
            refresh_after,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Per-endpoint 429 cool-downs (DSCO sends no Retry-After: our own backoff)

    async fn wait_cooldown(&self, endpoint: &'static str) {
        let until = self.cooldowns_lock().get(endpoint).and_then(|c| c.until);
        if let Some(until) = until
            && until > Instant::now()
        {
            tokio::time::sleep_until(until).await;
        }
    }

    fn bump_cooldown(&self, endpoint: &'static str) {
        let mut cooldowns = self.cooldowns_lock();
        let entry = cooldowns.entry(endpoint).or_default();
        entry.strikes += 1;
        entry.until = Some(Instant::now() + self.retry.delay(entry.strikes));
    }

    fn clear_cooldown(&self, endpoint: &'static str) {
        self.cooldowns_lock().remove(endpoint);
    }

    fn cooldowns_lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Cooldown>> {
        // Poisoning only means a panic elsewhere; a cool-down map is still usable.
        self.cooldowns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Pages of orders for one window, following `scrollId` until an empty page.
pub struct OrderPager<'a> {
    client: &'a Client,
    next: Option<OrderPageRequest>,
}

impl OrderPager<'_> {
    /// The next non-empty page, or `None` at the end. [`Error::ScrollExpired`] means: restart
    /// the window.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Order>>, Error> {
        let Some(request) = self.next.take() else {
            return Ok(None);
        };
        let page = self.client.fetch_orders_page(&request).await?;
        if page.orders.is_empty() {
            return Ok(None);
        }
        // Public clients also stop when a page carries no scrollId; handle both ends.
        self.next = page.scroll_id.map(OrderPageRequest::Scroll);
        Ok(Some(page.orders))
    }

    /// Every order of the window.
    pub async fn collect_all(mut self) -> Result<Vec<Order>, Error> {
        let mut orders = Vec::new();
        while let Some(page) = self.next_page().await? {
            orders.extend(page);
        }
        Ok(orders)
    }
}

fn rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn order_query_pairs(query: &OrderQuery) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    match query.since {
        OrderWindowStart::CreatedSince(at) => {
            pairs.push(("ordersCreatedSince".into(), rfc3339(&at)))
        }
        OrderWindowStart::UpdatedSince(at) => {
            pairs.push(("ordersUpdatedSince".into(), rfc3339(&at)))
        }
    }
    pairs.push(("until".into(), rfc3339(&query.until)));
    for status in &query.statuses {
        pairs.push(("status".into(), status.clone()));
    }
    if let Some(per_page) = query.orders_per_page {
        pairs.push(("ordersPerPage".into(), per_page.clamp(10, 1000).to_string()));
    }
    if query.include_test_orders {
        pairs.push(("includeTestOrders".into(), "true".into()));
    }
    pairs
}

fn item_query(key: ItemKey, value: &str) -> Vec<(String, String)> {
    vec![
        ("itemKey".to_owned(), key.as_str().to_owned()),
        ("value".to_owned(), value.to_owned()),
    ]
}

fn decode<T: DeserializeOwned>(
    endpoint: &str,
    status: StatusCode,
    body: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint: endpoint.to_owned(),
        status,
        message: e.to_string(),
        body: excerpt(body),
    })
}

#[cfg(test)]
mod unit_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn order_query_uses_rfc3339_and_repeats_status() {
        let query = OrderQuery {
            since: OrderWindowStart::UpdatedSince(
                Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap(),
            ),
            until: Utc.with_ymd_and_hms(2025, 11, 1, 1, 0, 0).unwrap(),
            statuses: vec!["created".into(), "shipment_pending".into()],
            orders_per_page: Some(5),
            include_test_orders: true,
        };
        assert_eq!(
            order_query_pairs(&query),
            vec![
                (
                    "ordersUpdatedSince".to_string(),
                    "2025-11-01T00:00:00.000Z".to_string()
                ),
                ("until".to_string(), "2025-11-01T01:00:00.000Z".to_string()),
                ("status".to_string(), "created".to_string()),
                ("status".to_string(), "shipment_pending".to_string()),
                ("ordersPerPage".to_string(), "10".to_string()),
                ("includeTestOrders".to_string(), "true".to_string()),
            ]
        );
    }
}
