//! Request throttling (brightpearl-api.md §3): a rolling window per credential pool on the
//! [`SimClock`](crate::sandbox::common::SimClock), and the two headers every API response carries.

use axum::http::HeaderValue;
use axum::response::Response;
use chrono::Duration as ChronoDuration;

use super::sim::Inner;
use crate::sandbox::common::lock;

/// The outcome of counting one request against its pool.
pub struct Window {
    pub admitted: bool,
    pub remaining: u32,
    pub next_period_ms: i64,
}

/// Count a request against `pool`; refuse it when the window already holds `throttle_cap`.
// guess: a refused (503) request does not count against the window, unauthenticated requests do
// (brightpearl-api.md §3 does not say)
pub fn admit(inner: &Inner, pool: &str) -> Window {
    let now = inner.now();
    let window = ChronoDuration::from_std(inner.config.throttle_window)
        .unwrap_or_else(|_| ChronoDuration::seconds(60));
    let cap = inner.config.throttle_cap as usize;
    let mut state = lock(&inner.state);
    let instants = state.throttle.entry(pool.to_owned()).or_default();
    while instants.front().is_some_and(|first| *first + window <= now) {
        instants.pop_front();
    }
    let admitted = instants.len() < cap;
    if admitted {
        instants.push_back(now);
    }
    let next_period_ms = instants
        .front()
        .map_or(window, |first| *first + window - now)
        .num_milliseconds()
        .max(0);
    Window {
        admitted,
        remaining: cap.saturating_sub(instants.len()) as u32,
        next_period_ms,
    }
}

pub fn add_headers(response: &mut Response, window: &Window) {
    let headers = response.headers_mut();
    headers.insert(
        "brightpearl-requests-remaining",
        HeaderValue::from(window.remaining),
    );
    headers.insert(
        "brightpearl-next-throttle-period",
        HeaderValue::from(window.next_period_ms),
    );
}
