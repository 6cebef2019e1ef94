//! The Brightpearl HTTP client: auth headers, the `{response}`/`{errors}` envelopes, the shared
//! quota budget, retries, and one method per API operation the sync flows use.
//!
//! It must not know about the store or the flows: it takes ids and wire models, returns wire
//! models, and classifies failures (see [`Error`]).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use url::Url;

use super::error::{Error, classify_status, excerpt};
use super::idset::{
    AVAILABILITY_ID_CAP, GOODS_OUT_NOTE_ID_CAP, ORDER_ID_CAP, PRODUCT_ID_CAP, chunk_id_sets,
};
use super::model::*;
use super::quota::{Lane, QuotaBudget};
use super::search::{MAX_PAGE_SIZE, SearchPage, SearchQuery, decode_search_page};
use crate::backoff::RetryPolicy;
use crate::secret::Secret;

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

/// Credentials (reference §2).
#[derive(Debug, Clone)]
pub enum Auth {
    /// A private app: `brightpearl-app-ref` plus an account or staff token.
    PrivateApp {
        app_ref: String,
        token: Secret<String>,
        kind: TokenKind,
    },
    /// An OAuth instance app: bearer token plus app and developer references.
    OAuth {
        app_ref: String,
        dev_ref: String,
        access_token: Secret<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `brightpearl-account-token` (system private app).
    Account,
    /// `brightpearl-staff-token` (staff private app).
    Staff,
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
    // Orders

    /// `POST /order-service/sales-order`: create the order and its rows atomically.
    /// Never retried once it may have reached the server: on [`Error::is_unknown_outcome`] the
    /// caller must search by `externalRef` before trying again.
    pub async fn create_sales_order(
        &self,
        lane: Lane,
        order: &SalesOrder,
    ) -> Result<OrderId, Error> {
        let call = Call::new(lane, Method::POST, "order-service/sales-order").json(order)?;
        self.fetch(call).await
    }

    /// `GET /order-service/order/{ID-SET}`, split into calls of at most 200 ids. Unknown ids are
    /// silently absent from the answer.
    pub async fn get_orders(&self, lane: Lane, ids: &[OrderId]) -> Result<Vec<Order>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut orders = Vec::new();
        for set in chunk_id_sets(&raw, ORDER_ID_CAP) {
            let call = Call::new(lane, Method::GET, format!("order-service/order/{set}"));
            let page: Vec<Order> = self.fetch_or_empty(call).await?;
            orders.extend(page);
        }
        Ok(orders)
    }

    /// One page of `/order-service/order-search`.
    pub async fn search_orders(
        &self,
        lane: Lane,
        query: &SearchQuery,
    ) -> Result<SearchPage, Error> {
        self.search(lane, "order-service/order-search", query).await
    }

    /// Orders whose `externalRef` equals `external_ref` (all pages).
    pub async fn search_orders_by_external_ref(
        &self,
        lane: Lane,
        external_ref: &str,
    ) -> Result<Vec<OrderSearchRow>, Error> {
        let query = SearchQuery::new().filter("externalRef", external_ref);
        let rows = self
            .search_all(lane, "order-service/order-search", &query)
            .await?;
        decode_rows("order-service/order-search", rows)
    }

    /// Sales orders whose `customerRef` is any of `refs` (STRING_SET filter `customerRefs`),
    /// in calls of at most 50 refs.
    pub async fn search_sales_orders_by_customer_refs(
        &self,
        lane: Lane,
        refs: &[String],
    ) -> Result<Vec<SalesOrderSearchRow>, Error> {
        const PATH: &str = "order-service/sales-order-search";
        let mut found = Vec::new();
        for chunk in refs.chunks(50) {
            let query = SearchQuery::new().filter("customerRefs", chunk.join(","));
            let rows = self.search_all(lane, PATH, &query).await?;
            found.extend(decode_rows::<SalesOrderSearchRow>(PATH, rows)?);
        }
        Ok(found)
    }

    /// `PUT /order-service/order/{ID}/status`; Brightpearl always adds a note.
    pub async fn update_order_status(
        &self,
        lane: Lane,
        order_id: OrderId,
        update: &OrderStatusUpdate,
    ) -> Result<(), Error> {
        let call = Call::new(
            lane,
            Method::PUT,
            format!("order-service/order/{order_id}/status"),
        )
        .json(update)?;
        self.execute(call).await.map(drop)
    }

    /// `POST /order-service/order/{ID}/note`.
    pub async fn add_order_note(
        &self,
        lane: Lane,
        order_id: OrderId,
        note: &OrderNote,
    ) -> Result<NoteId, Error> {
        let call = Call::new(
            lane,
            Method::POST,
            format!("order-service/order/{order_id}/note"),
        )
        .json(note)?;
        self.fetch(call).await
    }

    /// `GET /order-service/order-status`.
    pub async fn list_order_statuses(&self, lane: Lane) -> Result<Vec<OrderStatus>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "order-service/order-status"))
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Products and stock

    /// `GET /product-service/product/{ID-SET}` in calls of at most 200 ids.
    pub async fn get_products(&self, lane: Lane, ids: &[ProductId]) -> Result<Vec<Product>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut products = Vec::new();
        for set in chunk_id_sets(&raw, PRODUCT_ID_CAP) {
            let call = Call::new(lane, Method::GET, format!("product-service/product/{set}"));
            let page: Vec<Product> = self.fetch_or_empty(call).await?;
            products.extend(page);
        }
        Ok(products)
    }

    /// `GET /product-service/product-price/{ID-SET}` in chunks of the product cap: each product's
    /// price per price list (reference §4.10).
    pub async fn get_product_prices(
        &self,
        lane: Lane,
        ids: &[ProductId],
    ) -> Result<Vec<ProductPrices>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut prices = Vec::new();
        for set in chunk_id_sets(&raw, PRODUCT_ID_CAP) {
            let call = Call::new(
                lane,
                Method::GET,
                format!("product-service/product-price/{set}"),
            );
            let page: Vec<ProductPrices> = self.fetch_or_empty(call).await?;
            prices.extend(page);
        }
        Ok(prices)
    }

    /// Products whose identifier column equals `value` (all pages).
    pub async fn search_products(
        &self,
        lane: Lane,
        identifier: ProductIdentifier,
        value: &str,
    ) -> Result<Vec<ProductSearchRow>, Error> {
        const PATH: &str = "product-service/product-search";
        let query = SearchQuery::new().filter(identifier.column(), value);
        let rows = self.search_all(lane, PATH, &query).await?;
        decode_rows(PATH, rows)
    }

    /// Every product of the account: `OPTIONS /product-service/product` hands out the GET URIs
    /// (each under the 200-id cap, reference §1.4), then one GET per URI.
    pub async fn list_all_products(&self, lane: Lane) -> Result<Vec<Product>, Error> {
        let uris = self
            .options_get_uris(lane, "product-service", "product")
            .await?;
        let mut products = Vec::new();
        for uri in uris {
            let path = format!("product-service/{}", uri.trim_start_matches('/'));
            let page: Vec<Product> = self
                .fetch_or_empty(Call::new(lane, Method::GET, path))
                .await?;
            products.extend(page);
        }
        Ok(products)
    }

    /// `OPTIONS /{service}/{resource}`: the GET URIs (relative to the service) covering the
    /// resource's ids, or the given ID set when `resource` carries one (`order/1-500`).
    pub async fn options_get_uris(
        &self,
        lane: Lane,
        service: &str,
        resource: &str,
    ) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Uris {
            #[serde(default)]
            get_uris: Vec<String>,
        }
        let call = Call::new(lane, Method::OPTIONS, format!("{service}/{resource}"));
        let uris: Uris = self.fetch(call).await?;
        Ok(uris.get_uris)
    }

    /// `GET /warehouse-service/product-availability/{ID-SET}`, keyed by product id.
    pub async fn get_product_availability(
        &self,
        lane: Lane,
        ids: &[ProductId],
    ) -> Result<BTreeMap<ProductId, ProductAvailability>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut all = BTreeMap::new();
        for set in chunk_id_sets(&raw, AVAILABILITY_ID_CAP) {
            let path = format!("warehouse-service/product-availability/{set}");
            let endpoint = format!("GET {path}");
            let page: BTreeMap<String, ProductAvailability> = self
                .fetch_or_empty(Call::new(lane, Method::GET, path))
                .await?;
            for (key, availability) in page {
                all.insert(ProductId(parse_key(&endpoint, &key)?), availability);
            }
        }
        Ok(all)
    }

    // -----------------------------------------------------------------------------------------
    // Reference data

    pub async fn list_warehouses(&self, lane: Lane) -> Result<Vec<Warehouse>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "warehouse-service/warehouse"))
            .await
    }

    pub async fn list_shipping_methods(&self, lane: Lane) -> Result<Vec<ShippingMethod>, Error> {
        self.fetch_or_empty(Call::new(
            lane,
            Method::GET,
            "warehouse-service/shipping-method",
        ))
        .await
    }

    pub async fn list_channels(&self, lane: Lane) -> Result<Vec<Channel>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "product-service/channel"))
            .await
    }

    pub async fn list_price_lists(&self, lane: Lane) -> Result<Vec<PriceList>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "product-service/price-list"))
            .await
    }

    pub async fn list_tax_codes(&self, lane: Lane) -> Result<Vec<TaxCode>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "accounting-service/tax-code"))
            .await
    }

    /// A cheap authenticated GET (the warehouse list) to test the connection and credentials.
    pub async fn ping(&self) -> Result<(), Error> {
        self.execute(Call::new(
            Lane::Reference,
            Method::GET,
            "warehouse-service/warehouse",
        ))
        .await
        .map(drop)
    }

    // -----------------------------------------------------------------------------------------
    // Contacts

    /// `/contact-service/contact-search` with any filters (e.g. `primaryEmail`), all pages.
    pub async fn search_contacts(
        &self,
        lane: Lane,
        query: &SearchQuery,
    ) -> Result<Vec<ContactSearchRow>, Error> {
        const PATH: &str = "contact-service/contact-search";
        let rows = self.search_all(lane, PATH, query).await?;
        decode_rows(PATH, rows)
    }

    /// Contacts whose `primaryEmail` matches (the match may be partial: compare before use).
    pub async fn search_contacts_by_email(
        &self,
        lane: Lane,
        email: &str,
    ) -> Result<Vec<ContactSearchRow>, Error> {
        self.search_contacts(lane, &SearchQuery::new().filter("primaryEmail", email))
            .await
    }

    /// `POST /contact-service/contact`; not retried once it may have reached the server.
    pub async fn create_contact(
        &self,
        lane: Lane,
        contact: &NewContact,
    ) -> Result<ContactId, Error> {
        let call = Call::new(lane, Method::POST, "contact-service/contact").json(contact)?;
        self.fetch(call).await
    }

    /// `POST /contact-service/postal-address`.
    pub async fn create_postal_address(
        &self,
        lane: Lane,
        address: &Address,
    ) -> Result<PostalAddressId, Error> {
        let call = Call::new(lane, Method::POST, "contact-service/postal-address").json(address)?;
        self.fetch(call).await
    }

    // -----------------------------------------------------------------------------------------
    // Goods-out notes

    /// `GET /warehouse-service/order/*/goods-note/goods-out/{ID-SET}` in calls of ≤ 500 ids.
    pub async fn get_goods_out_notes(
        &self,
        lane: Lane,
        ids: &[GoodsOutNoteId],
    ) -> Result<BTreeMap<GoodsOutNoteId, GoodsOutNote>, Error> {
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        let mut all = BTreeMap::new();
        for set in chunk_id_sets(&raw, GOODS_OUT_NOTE_ID_CAP) {
            let path = format!("warehouse-service/order/*/goods-note/goods-out/{set}");
            all.extend(self.fetch_goods_out_notes(lane, path).await?);
        }
        Ok(all)
    }

    /// All goods-out notes of one order.
    pub async fn get_order_goods_out_notes(
        &self,
        lane: Lane,
        order_id: OrderId,
    ) -> Result<BTreeMap<GoodsOutNoteId, GoodsOutNote>, Error> {
        let path = format!("warehouse-service/order/{order_id}/goods-note/goods-out/");
        self.fetch_goods_out_notes(lane, path).await
    }

    /// `/warehouse-service/goods-note/goods-out-search` (e.g. `shippedOn=<since>/`), all pages.
    pub async fn search_goods_out_notes(
        &self,
        lane: Lane,
        query: &SearchQuery,
    ) -> Result<Vec<GoodsOutNoteSearchRow>, Error> {
        const PATH: &str = "warehouse-service/goods-note/goods-out-search";
        let rows = self.search_all(lane, PATH, query).await?;
        decode_rows(PATH, rows)
    }

    async fn fetch_goods_out_notes(
        &self,
        lane: Lane,
        path: String,
    ) -> Result<BTreeMap<GoodsOutNoteId, GoodsOutNote>, Error> {
        let endpoint = format!("GET {path}");
        let page: BTreeMap<String, GoodsOutNote> = self
            .fetch_or_empty(Call::new(lane, Method::GET, path))
            .await?;
        page.into_iter()
            .map(|(key, note)| Ok((GoodsOutNoteId(parse_key(&endpoint, &key)?), note)))
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Webhooks

    /// `POST /integration-service/webhook`.
    pub async fn create_webhook(&self, lane: Lane, webhook: &Webhook) -> Result<WebhookId, Error> {
        let call = Call::new(lane, Method::POST, "integration-service/webhook").json(webhook)?;
        self.fetch(call).await
    }

    /// `GET /integration-service/webhook`; an account without webhooks gives an empty list.
    pub async fn list_webhooks(&self, lane: Lane) -> Result<Vec<Webhook>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "integration-service/webhook"))
            .await
    }

    /// `DELETE /integration-service/webhook/{ID}`.
    pub async fn delete_webhook(&self, lane: Lane, id: WebhookId) -> Result<(), Error> {
        let call = Call::new(
            lane,
            Method::DELETE,
            format!("integration-service/webhook/{id}"),
        );
        self.execute(call).await.map(drop)
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
        let body = self.execute(call).await?;
        decode_search_page(&body).map_err(|message| Error::Decode {
            endpoint,
            status: StatusCode::OK,
            message,
            body: excerpt(&body),
        })
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
        let body = self.execute(call).await?;
        decode_envelope(&endpoint, &body).map_err(|error| match error {
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
        let url = self
            .account_base
            .join(&call.path)
            .map_err(|e| Error::Config(format!("bad path {}: {e}", call.path)))?;
        let endpoint = call.endpoint();
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            self.quota.acquire(call.lane).await;
            let generation = self.auth_generation.load(Ordering::SeqCst);
            let error = match self.send_once(&url, &call, &endpoint).await {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            if matches!(error, Error::Unauthorized { .. }) && self.refresher.is_some() && !refreshed
            {
                // Refresh once and retry; a second 401 is reported (reference §2.5).
                refreshed = true;
                attempt -= 1;
                self.refresh_token(generation).await?;
                continue;
            }
            let may_retry = error.is_retryable()
                && (call.idempotent || error.is_definitely_not_applied())
                && attempt < self.retry.max_attempts;
            if !may_retry {
                if error.is_unknown_outcome() && !call.idempotent {
                    tracing::warn!(endpoint = %endpoint, error = %error, "brightpearl write outcome unknown");
                }
                return Err(error);
            }
            // After a throttle the budget already waits for the next window; add only jitter.
            let delay = match &error {
                Error::Throttled { .. } => self.retry.delay(1),
                _ => self.retry.delay(attempt),
            };
            tracing::warn!(endpoint = %endpoint, attempt, error = %error, "retrying brightpearl call");
            tokio::time::sleep(delay).await;
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
            .map_err(|e| classify_transport(endpoint, &e))?;
        let status = response.status();
        let remaining = header_u64(response.headers(), REQUESTS_REMAINING)
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX));
        let period =
            header_u64(response.headers(), NEXT_THROTTLE_PERIOD).map(Duration::from_millis);
        self.quota.observe(remaining, period);
        let body = response.bytes().await.map_err(|e| {
            if status.is_success() {
                Error::Decode {
                    endpoint: endpoint.to_owned(),
                    status,
                    message: format!("cannot read body: {e}"),
                    body: String::new(),
                }
            } else {
                classify_transport(endpoint, &e)
            }
        })?;
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

// ---------------------------------------------------------------------------------------------
// OAuth token exchange (reference §2.3)

/// A grant for `POST /token/{account}`.
#[derive(Debug, Clone)]
pub enum TokenGrant {
    AuthorizationCode {
        code: Secret<String>,
        /// The app reference.
        client_id: String,
        client_secret: Option<Secret<String>>,
        redirect_uri: String,
    },
    RefreshToken {
        refresh_token: Secret<String>,
        client_id: String,
        client_secret: Option<Secret<String>>,
    },
}

/// The token endpoint for an account on the host the current docs name
/// (`https://oauth.brightpearlapp.com/token/{account}`); the sources disagree on the host, so
/// callers may pass another one to [`exchange_token`].
pub fn default_token_url(account: &str) -> Result<Url, Error> {
    Url::parse(&format!("https://oauth.brightpearlapp.com/token/{account}"))
        .map_err(|e| Error::Config(format!("bad account for token url: {e}")))
}

/// Exchange an authorization code or a refresh token (form-encoded, snake_case answer).
/// The refresh token rotates: persist the new one before using the new access token.
pub async fn exchange_token(
    token_url: &Url,
    grant: &TokenGrant,
    request_timeout: Duration,
) -> Result<TokenResponse, Error> {
    crate::tls::ensure_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(request_timeout)
        .build()
        .map_err(|e| Error::Config(format!("cannot build http client: {e}")))?;
    let mut form: Vec<(&str, &str)> = Vec::new();
    let secret = match grant {
        TokenGrant::AuthorizationCode {
            code,
            client_id,
            client_secret,
            redirect_uri,
        } => {
            form.push(("grant_type", "authorization_code"));
            form.push(("code", code.expose()));
            form.push(("client_id", client_id));
            form.push(("redirect_uri", redirect_uri));
            client_secret
        }
        TokenGrant::RefreshToken {
            refresh_token,
            client_id,
            client_secret,
        } => {
            form.push(("grant_type", "refresh_token"));
            form.push(("refresh_token", refresh_token.expose()));
            form.push(("client_id", client_id));
            client_secret
        }
    };
    if let Some(secret) = secret {
        form.push(("client_secret", secret.expose()));
    }
    let endpoint = format!("POST {}", token_url.path());
    let response = http
        .post(token_url.clone())
        .form(&form)
        .send()
        .await
        .map_err(|e| classify_transport(&endpoint, &e))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| classify_transport(&endpoint, &e))?;
    if !status.is_success() {
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        return Err(Error::Token {
            status,
            error: parsed["error"].as_str().unwrap_or("unknown").to_owned(),
            description: parsed["error_description"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    if parsed.is_null() {
                        excerpt(&body)
                    } else {
                        String::new()
                    }
                }),
        });
    }
    // Never put the body in the error: it holds tokens.
    serde_json::from_slice(&body).map_err(|e| Error::Decode {
        endpoint,
        status,
        message: e.to_string(),
        body: String::from("<token response withheld>"),
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers

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

fn sensitive(value: &str) -> Result<HeaderValue, Error> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| Error::Config("credential is not a valid header value".into()))?;
    header.set_sensitive(true);
    Ok(header)
}

fn plain(value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value).map_err(|_| Error::Config(format!("bad header value {value:?}")))
}

fn auth_headers(auth: &Auth) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    match auth {
        Auth::PrivateApp {
            app_ref,
            token,
            kind,
        } => {
            headers.insert(
                HeaderName::from_static("brightpearl-app-ref"),
                plain(app_ref)?,
            );
            let name = match kind {
                TokenKind::Account => "brightpearl-account-token",
                TokenKind::Staff => "brightpearl-staff-token",
            };
            headers.insert(HeaderName::from_static(name), sensitive(token.expose())?);
        }
        Auth::OAuth {
            app_ref,
            dev_ref,
            access_token,
        } => {
            headers.insert(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", access_token.expose()))?,
            );
            headers.insert(
                HeaderName::from_static("brightpearl-app-ref"),
                plain(app_ref)?,
            );
            headers.insert(
                HeaderName::from_static("brightpearl-dev-ref"),
                plain(dev_ref)?,
            );
        }
    }
    Ok(headers)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn classify_transport(endpoint: &str, error: &reqwest::Error) -> Error {
    let endpoint = endpoint.to_owned();
    let message = error_chain(error);
    if error.is_connect() {
        Error::Connect { endpoint, message }
    } else if error.is_timeout() {
        Error::Timeout { endpoint }
    } else {
        Error::Transport { endpoint, message }
    }
}

/// The error and its sources on one line (reqwest hides the interesting part in the sources).
fn error_chain(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

fn decode_envelope<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, Error> {
    #[derive(serde::Deserialize)]
    struct Envelope<T> {
        response: T,
    }
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|e| e.response)
        .map_err(|e| Error::Decode {
            endpoint: endpoint.to_owned(),
            status: StatusCode::OK,
            message: e.to_string(),
            body: excerpt(body),
        })
}

fn errors_in_success(endpoint: &str, status: StatusCode, body: &[u8]) -> Option<Error> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let errors = value.get("errors")?.as_array()?;
    if errors.is_empty() {
        return None;
    }
    Some(classify_status(endpoint, status, body, None, None))
        .filter(|e| matches!(e, Error::Rejected { .. }))
        .or(Some(Error::Decode {
            endpoint: endpoint.to_owned(),
            status,
            message: "success status with an errors body".into(),
            body: excerpt(body),
        }))
}

fn decode_rows<T: DeserializeOwned>(
    path: &str,
    rows: Vec<Map<String, Value>>,
) -> Result<Vec<T>, Error> {
    rows.into_iter()
        .map(|row| {
            T::deserialize(Value::Object(row)).map_err(|e| Error::Decode {
                endpoint: format!("GET {path}"),
                status: StatusCode::OK,
                message: format!("search row: {e}"),
                body: String::new(),
            })
        })
        .collect()
}

fn parse_key(endpoint: &str, key: &str) -> Result<u64, Error> {
    key.parse().map_err(|_| Error::Decode {
        endpoint: endpoint.to_owned(),
        status: StatusCode::OK,
        message: format!("map key {key:?} is not an id"),
        body: String::new(),
    })
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

    #[test]
    fn auth_headers_are_sensitive() {
        let headers = auth_headers(&Auth::OAuth {
            app_ref: "acme_app".into(),
            dev_ref: "dev".into(),
            access_token: Secret::from("abc"),
        })
        .unwrap();
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[AUTHORIZATION], "Bearer abc");
        assert_eq!(headers["brightpearl-dev-ref"], "dev");
        assert!(!format!("{headers:?}").contains("abc"));
    }
}
