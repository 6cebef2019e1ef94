//! What both API clients share about talking to an upstream service, written once: how a failed
//! call is judged ([`UpstreamError`], [`disposition`]), whether it is sent again ([`Retrier`]),
//! how a transport failure is named ([`TransportFault`]), how a body is read ([`read_body`]) and
//! how an answer is cut down for errors and logs ([`excerpt`]).
//!
//! The rule every call follows:
//! - a **read** (GET, OPTIONS, searches, change-log reads) is sent again on every transient
//!   answer, with jittered backoff from [`RetryPolicy`];
//! - a **write** is sent again only when the error proves the server did not act on it
//!   (a throttle, a refused connection, refused credentials);
//! - refused credentials are refreshed once, and the call sent again;
//! - some transient answers are retried at most [`LIMITED_RETRIES`] times (an unreadable 2xx, a
//!   5xx that carries error codes): they are as likely to be a lasting fault as a passing one.
//!
//! Each vendor keeps its own throttle and cool-down rules in its client; this module knows no
//! vendor. It is a leaf: it imports nothing from the crate but [`crate::backoff`].

use std::time::Duration;

use bytes::Bytes;

pub use crate::backoff::RetryPolicy;

/// Longest body excerpt carried in an error or a log line.
pub const BODY_EXCERPT_CHARS: usize = 300;

/// Retries allowed for a transient answer that may also be a lasting fault.
pub const LIMITED_RETRIES: u32 = 2;

/// What a failed call means for the request that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The same request may be sent again (now, after a backoff).
    Retry,
    /// The request may have been applied: settle it by reading the upstream before sending again.
    UnknownOutcome,
    /// Sending the same request again will not help (bad data, refused, not found).
    Permanent,
}

/// The three questions every client's error answers, and what a record shows of it.
pub trait UpstreamError: std::error::Error + Send + Sync + 'static {
    /// Would the same request plausibly succeed if sent again later?
    fn is_retryable(&self) -> bool;
    /// May the request have been applied although no usable answer came back?
    fn is_unknown_outcome(&self) -> bool;
    /// Did the server certainly not act on the request?
    fn is_definitely_not_applied(&self) -> bool;
    /// Refused credentials, which a fresh token may cure.
    fn is_unauthorized(&self) -> bool;
    /// Retries allowed for this error when fewer than the policy's: [`LIMITED_RETRIES`] for an
    /// answer that may be a lasting fault.
    fn retry_limit(&self) -> Option<u32> {
        None
    }
    /// What an attempt's record shows: a kind, the status and a short excerpt (never a secret).
    fn summary(&self) -> ErrorSummary;
    /// A definite refusal in plain words with the upstream's first error code, for a
    /// `needs_attention` record.
    fn refusal(&self) -> (String, Option<String>) {
        (format!("refused: {self}"), None)
    }
}

/// One failed attempt as a record shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorSummary {
    /// `throttled`, `rate_limited`, `server`, `timeout`, `transport`, `connect`, `decode`,
    /// `rejected`, `unauthorized`, `not_found`, ...
    pub kind: String,
    /// The HTTP status, when the server answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A short excerpt of the answer or the transport message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

impl ErrorSummary {
    pub fn new(kind: &str, status: Option<u16>, excerpt: Option<String>) -> ErrorSummary {
        ErrorSummary {
            kind: kind.to_owned(),
            status,
            excerpt: excerpt.filter(|e| !e.is_empty()),
        }
    }
}

/// The one rule: what a failure of a read (`idempotent`) or a write means.
pub fn disposition(error: &impl UpstreamError, idempotent: bool) -> Disposition {
    if error.is_retryable() && (idempotent || error.is_definitely_not_applied()) {
        Disposition::Retry
    } else if !idempotent && error.is_unknown_outcome() {
        Disposition::UnknownOutcome
    } else if error.is_retryable() && !error.is_definitely_not_applied() {
        // A transient failure of a write that may have been applied.
        Disposition::UnknownOutcome
    } else {
        Disposition::Permanent
    }
}

/// What a client's retry loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wait this long, then send again.
    Retry(Duration),
    /// Get fresh credentials, then send again at once (not counted as an attempt).
    Refresh,
    /// Give the error to the caller.
    Stop,
}

/// The state of one call's retries: attempts made, whether credentials were refreshed, how many
/// limited retries were spent. Each client's loop asks [`Retrier::next`] after every failure.
#[derive(Debug)]
pub struct Retrier<'p> {
    policy: &'p RetryPolicy,
    idempotent: bool,
    can_refresh: bool,
    attempt: u32,
    refreshed: bool,
    limited: u32,
}

impl<'p> Retrier<'p> {
    /// `can_refresh`: the client has a way to get fresh credentials after a 401.
    pub fn new(policy: &'p RetryPolicy, idempotent: bool, can_refresh: bool) -> Self {
        Retrier {
            policy,
            idempotent,
            can_refresh,
            attempt: 0,
            refreshed: false,
            limited: 0,
        }
    }

    /// Call before each send; returns the attempt number (1-based).
    pub fn start(&mut self) -> u32 {
        self.attempt += 1;
        self.attempt
    }

    /// The attempt in progress or last made.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Decide after a failed attempt.
    pub fn next(&mut self, error: &impl UpstreamError) -> Verdict {
        if error.is_unauthorized() && self.can_refresh && !self.refreshed {
            self.refreshed = true;
            self.attempt -= 1;
            return Verdict::Refresh;
        }
        if disposition(error, self.idempotent) != Disposition::Retry
            || self.attempt >= self.policy.max_attempts
        {
            return Verdict::Stop;
        }
        if let Some(limit) = error.retry_limit() {
            if self.limited >= limit {
                return Verdict::Stop;
            }
            self.limited += 1;
        }
        Verdict::Retry(self.policy.delay(self.attempt))
    }
}

/// A failure below HTTP: no connection, no answer in time, or a connection that broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFault {
    /// The TCP/TLS connection could not be made: the request never left.
    Connect(String),
    /// No answer in time after the request was sent.
    Timeout,
    /// The connection broke after the request may have been sent (reset, closed early).
    Broken(String),
}

impl TransportFault {
    pub fn of(error: &reqwest::Error) -> TransportFault {
        let message = error_chain(error);
        if error.is_connect() {
            TransportFault::Connect(message)
        } else if error.is_timeout() {
            TransportFault::Timeout
        } else {
            TransportFault::Broken(message)
        }
    }
}

/// The error and its sources on one line (reqwest keeps the telling part in the sources).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

/// How reading an answer's body failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyFault {
    /// A success status whose body could not be read to the end: an unreadable 2xx.
    Unreadable(String),
    /// A failure status whose body broke off: the transport failed.
    Transport(TransportFault),
}

/// Read an answer's body. A 2xx cut short is an unreadable answer (the request reached the
/// server); any other status cut short is a transport fault.
pub async fn read_body(
    response: reqwest::Response,
) -> (reqwest::StatusCode, Result<Bytes, BodyFault>) {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| {
        if status.is_success() {
            BodyFault::Unreadable(format!("cannot read body: {}", error_chain(&e)))
        } else {
            BodyFault::Transport(TransportFault::of(&e))
        }
    });
    (status, body)
}

/// A trimmed, single-line excerpt of a body for errors and logs.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = flat.trim();
    if trimmed.chars().count() > BODY_EXCERPT_CHARS {
        let cut: String = trimmed.chars().take(BODY_EXCERPT_CHARS).collect();
        format!("{cut}…")
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("fake")]
    struct Fake {
        retryable: bool,
        unknown: bool,
        not_applied: bool,
        unauthorized: bool,
        limit: Option<u32>,
    }

    impl UpstreamError for Fake {
        fn is_retryable(&self) -> bool {
            self.retryable
        }
        fn is_unknown_outcome(&self) -> bool {
            self.unknown
        }
        fn is_definitely_not_applied(&self) -> bool {
            self.not_applied
        }
        fn is_unauthorized(&self) -> bool {
            self.unauthorized
        }
        fn retry_limit(&self) -> Option<u32> {
            self.limit
        }
        fn summary(&self) -> ErrorSummary {
            ErrorSummary::new("fake", None, None)
        }
    }

    const TRANSIENT: Fake = Fake {
        retryable: true,
        unknown: true,
        not_applied: false,
        unauthorized: false,
        limit: None,
    };

    #[test]
    fn reads_retry_transient_writes_only_when_not_applied() {
        assert_eq!(disposition(&TRANSIENT, true), Disposition::Retry);
        assert_eq!(disposition(&TRANSIENT, false), Disposition::UnknownOutcome);
        let throttle = Fake {
            not_applied: true,
            unknown: false,
            ..TRANSIENT
        };
        assert_eq!(disposition(&throttle, false), Disposition::Retry);
        let bad = Fake {
            retryable: false,
            unknown: false,
            ..TRANSIENT
        };
        assert_eq!(disposition(&bad, true), Disposition::Permanent);
        assert_eq!(disposition(&bad, false), Disposition::Permanent);
    }

    #[test]
    fn the_retrier_refreshes_once_caps_attempts_and_limited_retries() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let unauthorized = Fake {
            retryable: false,
            unknown: false,
            not_applied: true,
            unauthorized: true,
            limit: None,
        };
        let mut r = Retrier::new(&policy, false, true);
        r.start();
        assert_eq!(r.next(&unauthorized), Verdict::Refresh);
        r.start();
        assert_eq!(r.next(&unauthorized), Verdict::Stop);
        assert_eq!(r.attempt(), 1);

        let mut r = Retrier::new(&policy, true, false);
        let mut retries = 0;
        loop {
            r.start();
            match r.next(&TRANSIENT) {
                Verdict::Retry(_) => retries += 1,
                _ => break,
            }
        }
        assert_eq!(retries, 4, "five attempts in all");

        let limited = Fake {
            limit: Some(LIMITED_RETRIES),
            ..TRANSIENT
        };
        let mut r = Retrier::new(&policy, true, false);
        let mut retries = 0;
        loop {
            r.start();
            match r.next(&limited) {
                Verdict::Retry(_) => retries += 1,
                _ => break,
            }
        }
        assert_eq!(retries, LIMITED_RETRIES);
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt(b"  a\nb\t "), "a b");
        let long = "x".repeat(BODY_EXCERPT_CHARS + 10);
        assert_eq!(
            excerpt(long.as_bytes()).chars().count(),
            BODY_EXCERPT_CHARS + 1
        );
    }
}
