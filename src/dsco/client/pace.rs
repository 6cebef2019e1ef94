//! Per-endpoint pacing to DSCO's documented rate limits (dsco-api.md §1.5): a call waits until it
//! fits every window of its endpoint, so a burst (200 orders read for 200 shipments) is spread
//! over time instead of being answered 429 and retried. A 429 still cools the endpoint down
//! (`Client::bump_cooldown`): the table is what is documented, not what DSCO enforces.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// The documented windows of an endpoint: (calls, per). Endpoints without a stated rate: none.
pub(super) fn limits(endpoint: &str) -> &'static [(usize, Duration)] {
    match endpoint {
        "GET /order/page" | "GET /order/" => &[(10, SECOND), (500, MINUTE)],
        "POST /order/acknowledge" => &[(15, SECOND), (1000, MINUTE)],
        "POST /order/singleShipment" => &[(15, SECOND), (300, MINUTE)],
        // The small-batch family: 10/s per the KB (dsco-api.md §1.5).
        "POST /order/shipment/batch/small"
        | "POST /order/item/cancel/batch/small"
        | "POST /invoice/batch/small"
        | "POST /inventory/batch/small" => &[(10, SECOND)],
        "GET /inventory" => &[(15, SECOND), (300, MINUTE)],
        "POST /inventory/singleItem" => &[(5, SECOND), (300, MINUTE)],
        "GET /catalog" => &[(10, SECOND), (10_000, HOUR)],
        "POST /invoice" | "GET /invoice" => &[(15, SECOND), (1000, MINUTE)],
        _ => &[],
    }
}

/// When each endpoint's recent calls were (or are booked to be) sent.
#[derive(Debug, Default)]
pub(super) struct Pacer {
    sent: HashMap<&'static str, VecDeque<Instant>>,
}

impl Pacer {
    /// Book the earliest moment at or after `now` at which one more call of `endpoint` fits
    /// every window, and return it.
    pub(super) fn book(&mut self, endpoint: &'static str, now: Instant) -> Instant {
        let windows = limits(endpoint);
        if windows.is_empty() {
            return now;
        }
        let longest = windows.iter().map(|(_, per)| *per).max().unwrap_or(SECOND);
        let sent = self.sent.entry(endpoint).or_default();
        while sent.front().is_some_and(|t| *t + longest <= now) {
            sent.pop_front();
        }
        let mut at = now;
        for (calls, per) in windows {
            // The call fits once the calls-th most recent one has left the window.
            if sent.len() >= *calls {
                let oldest_in = sent[sent.len() - calls];
                at = at.max(oldest_in + *per);
            }
        }
        sent.push_back(at);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_spread_to_ten_a_second_and_unknown_endpoints_are_not_paced() {
        let mut pacer = Pacer::default();
        let now = Instant::now();
        let times: Vec<Instant> = (0..25).map(|_| pacer.book("GET /order/", now)).collect();
        assert!(times[..10].iter().all(|t| *t == now));
        assert_eq!(times[10], now + SECOND);
        assert_eq!(times[20], now + 2 * SECOND);
        assert_eq!(pacer.book("GET /hello", now), now);
    }

    #[test]
    fn the_minute_window_holds_too() {
        let mut pacer = Pacer::default();
        let now = Instant::now();
        let last = (0..501)
            .map(|_| pacer.book("GET /order/", now))
            .last()
            .unwrap();
        // 500 per minute: the 501st waits for the first to leave the minute.
        assert_eq!(last, now + MINUTE);
    }
}
