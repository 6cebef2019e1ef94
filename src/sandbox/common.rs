//! Pieces both simulators share: an adjustable clock, per-endpoint fault injection, a request log.
//!
//! Nothing here knows about DSCO or Brightpearl wire formats; each simulator decides which of its
//! routes a fault rule matches by the request path, and what "now" means through [`SimClock`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Wall clock plus an adjustable offset, so tests can move simulated time forward (token expiry,
/// scroll expiry, DSCO's "until at least 5 s ago" rule, async processing delays) without sleeping.
#[derive(Debug, Default)]
pub struct SimClock {
    offset_ms: AtomicI64,
}

impl SimClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }

    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst).max(0) as u64)
    }
}

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// Answer 429 without handling the request.
    TooManyRequests,
    /// Answer 500 with an empty body (no error envelope) without handling the request.
    ServerError,
    /// Answer 503 as an exhausted throttle would, without handling the request.
    Throttle,
    /// [`FaultKind::Throttle`], announcing a wait of `period_ms` where the API has such a header.
    ThrottleFor { period_ms: u64 },
    /// Answer this status (a 5xx, or a 4xx refusal) with the simulator's error body
    /// (Brightpearl's `errors` envelope, DSCO's failure response) without handling the request.
    ServerErrorBody { code: u16 },
    /// Handle the request (its effect happens), then hold the response for `ms` milliseconds:
    /// a client with a shorter timeout sees an unknown outcome.
    Slow { ms: u64 },
    /// Handle the request (its effect happens), then break the response body mid-stream: the client
    /// sees a transport error instead of an answer.
    Reset,
    /// Handle the request (its effect happens), then answer 200 with a body that is not JSON.
    MalformedJson,
    /// Handle the request (its effect happens), then answer its status with the body cut in half:
    /// a truncated JSON body.
    Truncated,
    /// Answer this status with an empty body without handling the request (e.g. 404 for an
    /// expired scroll, 502 from a proxy).
    Status { code: u16 },
    /// Each time, one of every other kind, drawn uniformly by the rule's RNG (seeded with the
    /// rule's `seed`): 429, 500 empty, 500/502/503 with an error body, throttle (announcing
    /// `throttle_ms`), slow by `slow_ms`, reset, malformed JSON, truncated, 502, 503, 504.
    Any {
        #[serde(default = "default_slow_ms")]
        slow_ms: u64,
        #[serde(default = "default_throttle_ms")]
        throttle_ms: u64,
    },
}

fn default_slow_ms() -> u64 {
    3_000
}

fn default_throttle_ms() -> u64 {
    1_000
}

impl FaultKind {
    /// The kinds [`FaultKind::Any`] draws from.
    fn every(slow_ms: u64, throttle_ms: u64) -> [FaultKind; 14] {
        [
            FaultKind::TooManyRequests,
            FaultKind::ServerError,
            FaultKind::ServerErrorBody { code: 500 },
            FaultKind::ServerErrorBody { code: 502 },
            FaultKind::ServerErrorBody { code: 503 },
            FaultKind::ThrottleFor {
                period_ms: throttle_ms,
            },
            FaultKind::Slow { ms: slow_ms },
            FaultKind::Reset,
            FaultKind::MalformedJson,
            FaultKind::Truncated,
            FaultKind::Status { code: 500 },
            FaultKind::Status { code: 502 },
            FaultKind::Status { code: 503 },
            FaultKind::Status { code: 504 },
        ]
    }
}

/// When a fault fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// The next `n` matching requests.
    Next(u32),
    /// Each matching request with this probability (0.0–1.0).
    Probability(f64),
    /// [`FaultMode::Probability`] drawn by an RNG seeded with `seed` (it also draws the kind of
    /// an `any` rule), so a run can be repeated.
    Seeded { probability: f64, seed: u64 },
}

/// One fault rule: requests whose method matches (or any, when `None`), whose path contains
/// `path_contains` and whose query contains `query_contains` (when set) get `kind`, as `mode` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(default)]
    pub method: Option<String>,
    pub path_contains: String,
    #[serde(default)]
    pub query_contains: Option<String>,
    /// Only requests whose body contains this text (e.g. one SKU inside a batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(flatten)]
    pub kind: FaultKind,
    pub mode: FaultMode,
}

/// The fault rules in force; shared by a simulator's router and its admin surface.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<(FaultRule, StdRng)>>,
}

impl Faults {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn add(&self, rule: FaultRule) {
        let rng = match rule.mode {
            FaultMode::Seeded { seed, .. } => StdRng::seed_from_u64(seed),
            _ => StdRng::from_os_rng(),
        };
        lock(&self.rules).push((rule, rng));
    }

    pub fn clear(&self) {
        lock(&self.rules).clear();
    }

    pub fn list(&self) -> Vec<FaultRule> {
        lock(&self.rules).iter().map(|(r, _)| r.clone()).collect()
    }

    /// The fault to apply to this request, if any; consumes one use of a `Next(n)` rule.
    pub fn take(&self, method: &str, path: &str) -> Option<FaultKind> {
        self.take_for(method, path, "")
    }

    /// [`Faults::take`] with the request's query string.
    pub fn take_for(&self, method: &str, path: &str, query: &str) -> Option<FaultKind> {
        self.take_with_body(method, path, query, None)
    }

    /// Whether any rule looks at request bodies (the middleware then reads them first).
    pub fn wants_body(&self) -> bool {
        lock(&self.rules)
            .iter()
            .any(|(r, _)| r.body_contains.is_some())
    }

    /// [`Faults::take_for`] with the request's body; a rule with `body_contains` matches only
    /// a body that contains it.
    pub fn take_with_body(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Option<&[u8]>,
    ) -> Option<FaultKind> {
        let mut rules = lock(&self.rules);
        let mut fired = None;
        for (rule, rng) in rules.iter_mut() {
            let method_matches = rule
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
            let query_matches = rule
                .query_contains
                .as_deref()
                .is_none_or(|q| query.contains(q));
            let body_matches = rule.body_contains.as_deref().is_none_or(|want| {
                body.is_some_and(|b| {
                    !want.is_empty() && b.windows(want.len()).any(|w| w == want.as_bytes())
                })
            });
            if !method_matches
                || !path.contains(&rule.path_contains)
                || !query_matches
                || !body_matches
            {
                continue;
            }
            match &mut rule.mode {
                FaultMode::Next(n) if *n > 0 => *n -= 1,
                FaultMode::Probability(p) if rng.random::<f64>() < *p => {}
                FaultMode::Seeded { probability, .. } if rng.random::<f64>() < *probability => {}
                _ => continue,
            }
            fired = Some(match &rule.kind {
                FaultKind::Any {
                    slow_ms,
                    throttle_ms,
                } => {
                    let every = FaultKind::every(*slow_ms, *throttle_ms);
                    every[rng.random_range(0..every.len())].clone()
                }
                kind => kind.clone(),
            });
            break;
        }
        rules.retain(|(r, _)| !matches!(r.mode, FaultMode::Next(0)));
        fired
    }
}

/// One request as a simulator saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// The fault applied, if one fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultKind>,
}

/// A bounded log of the requests a simulator answered (the admin routes are not logged).
#[derive(Debug)]
pub struct RequestLog {
    entries: Mutex<(u64, VecDeque<LoggedRequest>)>,
    capacity: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self {
            entries: Mutex::new((0, VecDeque::new())),
            capacity: 100_000,
        }
    }
}

impl RequestLog {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn push(&self, mut entry: LoggedRequest) {
        let mut guard = lock(&self.entries);
        guard.0 += 1;
        entry.seq = guard.0;
        if guard.1.len() == self.capacity {
            guard.1.pop_front();
        }
        guard.1.push_back(entry);
    }

    pub fn all(&self) -> Vec<LoggedRequest> {
        lock(&self.entries).1.iter().cloned().collect()
    }

    /// Requests whose method matches and whose path contains `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        lock(&self.entries)
            .1
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.contains(path_contains))
            .count()
    }

    pub fn clear(&self) {
        lock(&self.entries).1.clear();
    }
}

/// State the fault/log middleware needs.
#[derive(Clone)]
pub struct Instrumentation {
    pub faults: Arc<Faults>,
    pub log: Arc<RequestLog>,
    pub clock: Arc<SimClock>,
    /// Status and body a `Throttle` fault answers with (each simulator knows its own shape),
    /// announcing the given wait when set.
    pub throttle_response: fn(Option<u64>) -> Response,
    /// The answer of a `ServerErrorBody` fault: this status with the simulator's error body.
    pub error_body_response: fn(StatusCode) -> Response,
}

/// axum middleware: applies fault rules and records every request outside `/_sandbox`.
pub async fn instrument(
    State(inst): State<Instrumentation>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    if path.starts_with("/_sandbox") {
        return next.run(request).await;
    }
    // Bodies are read first only while a rule looks at them.
    let (request, body) = if inst.faults.wants_body() {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
            .await
            .unwrap_or_default();
        (
            Request::from_parts(parts, Body::from(bytes.clone())),
            Some(bytes),
        )
    } else {
        (request, None)
    };
    let fault = inst.faults.take_with_body(
        &method,
        &path,
        query.as_deref().unwrap_or(""),
        body.as_deref(),
    );
    let response = match &fault {
        Some(FaultKind::TooManyRequests) => StatusCode::TOO_MANY_REQUESTS.into_response(),
        Some(FaultKind::ServerError) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Some(FaultKind::Throttle) => (inst.throttle_response)(None),
        Some(FaultKind::ThrottleFor { period_ms }) => (inst.throttle_response)(Some(*period_ms)),
        Some(FaultKind::ServerErrorBody { code }) => (inst.error_body_response)(
            StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        ),
        Some(FaultKind::Truncated) => {
            let (mut parts, body) = next.run(request).await.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        // Drawn into a concrete kind by `Faults::take_for`.
        Some(FaultKind::Any { .. }) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Some(FaultKind::Status { code }) => StatusCode::from_u16(*code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Some(FaultKind::Slow { ms }) => {
            let response = next.run(request).await;
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            response
        }
        Some(FaultKind::Reset) => {
            let (parts, _) = next.run(request).await.into_parts();
            let broken = futures_util::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "sandbox fault: connection reset",
                ))
            });
            Response::from_parts(parts, Body::from_stream(broken))
        }
        Some(FaultKind::MalformedJson) => {
            let (mut parts, _) = next.run(request).await.into_parts();
            parts.status = StatusCode::OK;
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            parts.headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Response::from_parts(parts, Body::from("{\"response\": [unterminated"))
        }
        None => next.run(request).await,
    };
    inst.log.push(LoggedRequest {
        seq: 0,
        at: inst.clock.now(),
        method,
        path,
        query,
        status: response.status().as_u16(),
        fault,
    });
    response
}

/// Lock a mutex, recovering the data if a panicking thread poisoned it: simulator state stays
/// usable for the rest of a test run.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Admin routes every simulator mounts under `/_sandbox`: clock, faults, request log.
pub fn admin_routes<S: Clone + Send + Sync + 'static>(inst: Instrumentation) -> axum::Router<S> {
    use axum::Json;
    use axum::routing::{get, post};

    #[derive(Deserialize)]
    struct Advance {
        seconds: f64,
    }

    let clock_get = {
        let clock = inst.clock.clone();
        move || async move {
            Json(
                serde_json::json!({"now": clock.now(), "offset_ms": clock.offset().as_millis() as u64}),
            )
        }
    };
    let clock_advance = {
        let clock = inst.clock.clone();
        move |Json(body): Json<Advance>| async move {
            clock.advance(Duration::from_secs_f64(body.seconds.max(0.0)));
            Json(serde_json::json!({"now": clock.now()}))
        }
    };
    let faults_get = {
        let faults = inst.faults.clone();
        move || async move { Json(faults.list()) }
    };
    let faults_add = {
        let faults = inst.faults.clone();
        move |Json(rule): Json<FaultRule>| async move {
            faults.add(rule);
            StatusCode::NO_CONTENT
        }
    };
    let faults_clear = {
        let faults = inst.faults.clone();
        move || async move {
            faults.clear();
            StatusCode::NO_CONTENT
        }
    };
    let requests_get = {
        let log = inst.log.clone();
        move || async move { Json(log.all()) }
    };
    let requests_clear = {
        let log = inst.log.clone();
        move || async move {
            log.clear();
            StatusCode::NO_CONTENT
        }
    };
    axum::Router::new()
        .route("/_sandbox/clock", get(clock_get))
        .route("/_sandbox/clock/advance", post(clock_advance))
        .route(
            "/_sandbox/faults",
            get(faults_get).post(faults_add).delete(faults_clear),
        )
        .route(
            "/_sandbox/requests",
            get(requests_get).delete(requests_clear),
        )
}

/// A simulator serving on a loopback port until dropped or shut down.
pub struct SimServer {
    addr: std::net::SocketAddr,
    shutdown: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl SimServer {
    /// Serve `router` on `addr` (port 0 picks a free port).
    pub async fn start(
        router: axum::Router,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        Ok(SimServer {
            addr,
            shutdown,
            task: Some(task),
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, finish open requests, and wait for the server task.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_n_fault_fires_n_times_then_disappears() {
        let faults = Faults::default();
        faults.add(FaultRule {
            method: Some("POST".into()),
            path_contains: "/sales-order".into(),
            query_contains: None,
            body_contains: None,
            kind: FaultKind::ServerError,
            mode: FaultMode::Next(2),
        });
        assert_eq!(faults.take("GET", "/x/sales-order"), None);
        assert_eq!(
            faults.take("POST", "/x/sales-order"),
            Some(FaultKind::ServerError)
        );
        assert_eq!(
            faults.take("post", "/x/sales-order"),
            Some(FaultKind::ServerError)
        );
        assert_eq!(faults.take("POST", "/x/sales-order"), None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn clock_advances() {
        let clock = SimClock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() - before >= chrono::Duration::seconds(3600));
    }

    #[test]
    fn fault_rule_json_shape() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"path_contains":"/order/page","kind":"slow","ms":5000,"mode":{"probability":0.5}}"#,
        )
        .unwrap();
        assert_eq!(rule.kind, FaultKind::Slow { ms: 5000 });
        assert_eq!(rule.mode, FaultMode::Probability(0.5));
    }

    #[test]
    fn a_seeded_any_rule_repeats_and_draws_every_kind() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"path_contains":"/","kind":"any","mode":{"seeded":{"probability":0.2,"seed":7}}}"#,
        )
        .unwrap();
        let draw = || {
            let faults = Faults::new();
            faults.add(rule.clone());
            (0..2000)
                .map(|_| faults.take("GET", "/order/"))
                .collect::<Vec<_>>()
        };
        let (a, b) = (draw(), draw());
        assert_eq!(a, b, "the same seed draws the same faults");
        let fired: Vec<&FaultKind> = a.iter().flatten().collect();
        assert!((300..500).contains(&fired.len()), "{} of 2000", fired.len());
        for kind in FaultKind::every(default_slow_ms(), default_throttle_ms()) {
            assert!(fired.contains(&&kind), "{kind:?} never drawn");
        }
    }
}
