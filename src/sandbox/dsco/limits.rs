//! Per-endpoint throttling (dsco-api.md §1.5): token buckets on the [`SimClock`], one per window
//! of each limited endpoint, answering 429. No `Retry-After` or rate-limit headers: the reference
//! documents none. The middleware that applies them is in `dsco/mod.rs`.
//!
//! [`SimClock`]: crate::sandbox::common::SimClock

use std::collections::HashMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

/// One endpoint's call limits; `path` is relative to `/api/v3` (`"/order/page"`).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointLimit {
    pub method: String,
    pub path: String,
    pub per_second: Option<u32>,
    pub per_minute: Option<u32>,
    pub per_hour: Option<u32>,
}

impl EndpointLimit {
    pub fn new(method: &str, path: &str, per_second: Option<u32>, per_minute: Option<u32>) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            per_second,
            per_minute,
            per_hour: None,
        }
    }
}

/// The limits of dsco-api.md §1.5.
pub fn default_limits() -> Vec<EndpointLimit> {
    let mut limits = vec![
        EndpointLimit::new("GET", "/order/page", Some(10), Some(500)),
        EndpointLimit::new("GET", "/order/", Some(10), Some(500)),
        EndpointLimit::new("POST", "/order/acknowledge", Some(15), Some(1000)),
        EndpointLimit::new("POST", "/order/singleShipment", Some(15), Some(300)),
        // guess: the small-batch family's 10/s from [KB V3-vs-V2] (dsco-api.md §1.5).
        EndpointLimit::new("POST", "/order/shipment/batch/small", Some(10), None),
        EndpointLimit::new("POST", "/order/item/cancel/batch/small", Some(10), None),
        EndpointLimit::new("POST", "/invoice/batch/small", Some(10), None),
        EndpointLimit::new("POST", "/inventory/batch/small", Some(10), None),
        EndpointLimit::new("GET", "/inventory", Some(15), Some(300)),
        EndpointLimit::new("POST", "/inventory/singleItem", Some(5), Some(300)),
        EndpointLimit::new("POST", "/invoice", Some(15), Some(1000)),
        EndpointLimit::new("GET", "/invoice", Some(15), Some(1000)),
        EndpointLimit::new("POST", "/order/", Some(15), Some(3000)),
    ];
    let mut catalog = EndpointLimit::new("GET", "/catalog", Some(10), None);
    catalog.per_hour = Some(10_000);
    limits.push(catalog);
    limits
}

/// A token bucket: `capacity` calls per `window_seconds`, refilled continuously.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    capacity: f64,
    window_seconds: f64,
    tokens: f64,
    last: DateTime<Utc>,
}

impl Bucket {
    fn new(capacity: u32, window_seconds: f64, now: DateTime<Utc>) -> Self {
        Self {
            capacity: capacity as f64,
            window_seconds,
            tokens: capacity as f64,
            last: now,
        }
    }

    fn refill(&mut self, now: DateTime<Utc>) {
        let elapsed = (now - self.last).num_milliseconds().max(0) as f64 / 1000.0;
        self.tokens =
            (self.tokens + elapsed * self.capacity / self.window_seconds).min(self.capacity);
        self.last = now;
    }
}

/// The answer to a throttled call.
// guess: API Gateway's throttling body (dsco-api.md §1.5 documents only the 429 status).
pub(crate) fn throttled() -> Response {
    throttled_fault(None)
}

/// What the common `Throttle` fault answers: DSCO announces no wait (dsco-api.md §1.5).
pub(crate) fn throttled_fault(_period_ms: Option<u64>) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"message": "Too Many Requests"})),
    )
        .into_response()
}

/// What the common `ServerErrorBody` fault answers: a 5xx with a failure response.
// guess: DSCO documents no 5xx body (dsco-api.md §1.4); this is the `ApiResponse` failure shape
// its 4xx answers use.
pub(crate) fn server_error_body(status: StatusCode) -> Response {
    (
        status,
        Json(json!({
            "status": "failure",
            "messages": [{
                "code": "INTERNAL_SERVER_ERROR",
                "severity": "error",
                "description": "An unexpected error occurred"
            }]
        })),
    )
        .into_response()
}

/// Spend one token from each of an endpoint's buckets (created full on first use); `false`, and
/// nothing spent, when any of them is empty.
pub(crate) fn spend(
    buckets: &mut HashMap<String, Vec<Bucket>>,
    key: String,
    limit: &EndpointLimit,
    now: DateTime<Utc>,
) -> bool {
    let buckets = buckets.entry(key).or_insert_with(|| {
        [
            (limit.per_second, 1.0),
            (limit.per_minute, 60.0),
            (limit.per_hour, 3600.0),
        ]
        .into_iter()
        .filter_map(|(cap, window)| cap.map(|c| Bucket::new(c, window, now)))
        .collect()
    });
    for bucket in buckets.iter_mut() {
        bucket.refill(now);
    }
    if buckets.iter().all(|b| b.tokens >= 1.0) {
        for bucket in buckets.iter_mut() {
            bucket.tokens -= 1.0;
        }
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::Bucket;

    #[test]
    fn bucket_refills_in_proportion_to_elapsed_time() {
        let start = chrono::Utc::now();
        let mut bucket = Bucket::new(60, 60.0, start);
        bucket.tokens = 0.0;
        bucket.refill(start + chrono::Duration::seconds(30));
        assert!((bucket.tokens - 30.0).abs() < 1e-9);
        bucket.refill(start + chrono::Duration::seconds(600));
        assert_eq!(bucket.tokens, 60.0, "never above capacity");
    }
}
