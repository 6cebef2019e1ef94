//! Retry policy both API clients use: jittered exponential backoff, bounded attempts. DSCO sends
//! no Retry-After on 429 (dsco-api.md §1.5), so for DSCO this backoff is all there is.

use std::time::Duration;

use rand::Rng;

/// How many times and how patiently a call is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub base_delay: Duration,
    /// Upper bound on any single delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The ceiling for the delay after failed attempt `attempt` (1-based): base · 2^(attempt-1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// "Equal jitter": half the ceiling plus a random share of the other half, so retries from
    /// several tasks spread out but never collapse to zero.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = ceiling - half;
        let jitter = rand::rng().random_range(0.0..=1.0);
        half + spread.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps_and_stays_in_bounds() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        assert_eq!(policy.ceiling(1), Duration::from_millis(100));
        assert_eq!(policy.ceiling(2), Duration::from_millis(200));
        assert_eq!(policy.ceiling(4), Duration::from_millis(800));
        assert_eq!(policy.ceiling(6), Duration::from_secs(2));
        assert_eq!(policy.ceiling(60), Duration::from_secs(2));
        for attempt in 1..12 {
            for _ in 0..50 {
                let d = policy.delay(attempt);
                assert!(d >= policy.ceiling(attempt) / 2 && d <= policy.ceiling(attempt));
            }
        }
    }
}
