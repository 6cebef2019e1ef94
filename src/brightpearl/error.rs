//! `brightpearl::Error`: every way a Brightpearl call can fail, classified once.
//!
//! Three questions a caller asks of a failed call, answered here and nowhere else:
//! - [`Error::is_retryable`]: would the same request plausibly succeed later?
//! - [`Error::is_unknown_outcome`]: may the request have been applied even though we got no answer?
//!   For a non-idempotent POST this means "reconcile (search by externalRef) before trying again".
//! - [`Error::is_definitely_not_applied`]: the server certainly did not act on the request.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::upstream::{self, BodyFault, ErrorSummary, TransportFault, UpstreamError};

/// Codes that say the request itself is wrong even on a 5xx (brightpearl-api.md §1.6): such an
/// answer is final; a 5xx with any other code is a server fault and may pass.
const REQUEST_MISTAKE_CODES: [&str; 2] = ["CMNC-018", "CMNC-044"];

/// One entry of Brightpearl's `{"errors":[{code,message}]}` envelope (brightpearl-api.md §1.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 503 because the request cap of the pool is used up (brightpearl-api.md §3). Not applied.
    #[error("brightpearl throttled {endpoint}, next window in {retry_after:?}")]
    Throttled {
        endpoint: String,
        retry_after: Duration,
    },
    /// 429 (undocumented for Brightpearl but handled like a throttle). Not applied.
    #[error("brightpearl rate-limited {endpoint} (429)")]
    RateLimited { endpoint: String },
    /// 401 with a string `response` such as "Authorization token expired" (brightpearl-api.md §2.5).
    #[error("brightpearl refused credentials on {endpoint}: {message}")]
    Unauthorized { endpoint: String, message: String },
    /// Any status with an `errors` array: a definite rejection, including 500 `CMNC-018`.
    #[error("brightpearl rejected {endpoint} with {status}: {}", format_api_errors(.errors))]
    Rejected {
        endpoint: String,
        status: StatusCode,
        errors: Vec<ApiError>,
    },
    /// A 408, or a 5xx (or a non-throttle 503) without an `errors` body: the server may or may not have acted.
    #[error("brightpearl server error on {endpoint}: {status}: {body}")]
    Server {
        endpoint: String,
        status: StatusCode,
        body: String,
    },
    /// A 4xx other than 401/429 without an `errors` body.
    #[error("brightpearl answered {endpoint} with unexpected {status}: {body}")]
    UnexpectedStatus {
        endpoint: String,
        status: StatusCode,
        body: String,
    },
    /// The TCP/TLS connection could not be made. Not applied.
    #[error("cannot connect to brightpearl for {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    /// No answer in time after the request was sent.
    #[error("brightpearl timed out on {endpoint}")]
    Timeout { endpoint: String },
    /// The connection broke after the request may have been sent (reset, closed early).
    #[error("brightpearl transport error on {endpoint}: {message}")]
    Transport { endpoint: String, message: String },
    /// A success status whose body we cannot read as the expected shape.
    #[error("cannot decode brightpearl answer to {endpoint} ({status}): {message}; body: {body}")]
    Decode {
        endpoint: String,
        status: StatusCode,
        message: String,
        body: String,
    },
    /// The OAuth token endpoint refused the exchange (`invalid_grant`, `invalid_client`, ...).
    #[error("brightpearl token exchange failed with {status}: {error} {description}")]
    Token {
        status: StatusCode,
        error: String,
        description: String,
    },
    /// The client was configured with something unusable (bad base URL, bad header value).
    #[error("invalid brightpearl client configuration: {0}")]
    Config(String),
}

impl Error {
    /// True when the same request may succeed if sent again later. The client retries these only
    /// for idempotent calls, or when [`Error::is_definitely_not_applied`] also holds.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. }
            | Error::RateLimited { .. }
            | Error::Server { .. }
            | Error::Connect { .. }
            | Error::Timeout { .. }
            | Error::Transport { .. } => true,
            // A 5xx whose codes are not request mistakes, and an unreadable 2xx: retried at most
            // `upstream::LIMITED_RETRIES` times.
            Error::Rejected { .. } => self.is_server_fault_with_codes(),
            Error::Decode { status, .. } => status.is_success(),
            _ => false,
        }
    }

    /// A 5xx that carries `errors` none of which says the request is wrong.
    fn is_server_fault_with_codes(&self) -> bool {
        match self {
            Error::Rejected { status, errors, .. } => {
                status.is_server_error()
                    && !errors
                        .iter()
                        .any(|e| REQUEST_MISTAKE_CODES.contains(&e.code.as_str()))
            }
            _ => false,
        }
    }

    /// The error for a failure below HTTP.
    pub(crate) fn transport(endpoint: &str, fault: TransportFault) -> Error {
        let endpoint = endpoint.to_owned();
        match fault {
            TransportFault::Connect(message) => Error::Connect { endpoint, message },
            TransportFault::Timeout => Error::Timeout { endpoint },
            TransportFault::Broken(message) => Error::Transport { endpoint, message },
        }
    }

    /// The error for an answer whose body could not be read.
    pub(crate) fn body(endpoint: &str, status: StatusCode, fault: BodyFault) -> Error {
        match fault {
            BodyFault::Unreadable(message) => Error::Decode {
                endpoint: endpoint.to_owned(),
                status,
                message,
                body: String::new(),
            },
            BodyFault::Transport(fault) => Error::transport(endpoint, fault),
        }
    }

    /// A short name of the failure's kind, for records.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Throttled { .. } => "throttled",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unauthorized { .. } => "unauthorized",
            Error::Rejected { .. } => "rejected",
            Error::Server { .. } => "server",
            Error::UnexpectedStatus { .. } => "unexpected_status",
            Error::Connect { .. } => "connect",
            Error::Timeout { .. } => "timeout",
            Error::Transport { .. } => "transport",
            Error::Decode { .. } => "decode",
            Error::Token { .. } => "token",
            Error::Config(_) => "config",
        }
    }

    /// True when the request may have been applied although we did not get a usable answer:
    /// a timeout after sending, a broken connection, a 5xx without an error body, an unreadable 2xx.
    pub fn is_unknown_outcome(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Transport { .. } | Error::Server { .. } => true,
            Error::Decode { status, .. } => status.is_success(),
            Error::Rejected { .. } => self.is_server_fault_with_codes(),
            _ => false,
        }
    }

    /// True when the server certainly did not act on the request (throttle, refused connection,
    /// bad credentials), so even a non-idempotent call can be sent again.
    pub fn is_definitely_not_applied(&self) -> bool {
        matches!(
            self,
            Error::Throttled { .. }
                | Error::RateLimited { .. }
                | Error::Unauthorized { .. }
                | Error::Connect { .. }
                | Error::Config(_)
        )
    }

    /// The `errors` of a definite rejection (codes such as `ORDC-006`), empty otherwise.
    pub fn api_errors(&self) -> &[ApiError] {
        match self {
            Error::Rejected { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Throttled { .. } => Some(StatusCode::SERVICE_UNAVAILABLE),
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Unauthorized { .. } => Some(StatusCode::UNAUTHORIZED),
            Error::Rejected { status, .. }
            | Error::Server { status, .. }
            | Error::UnexpectedStatus { status, .. }
            | Error::Decode { status, .. }
            | Error::Token { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for a definite "no such resource" answer (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

impl UpstreamError for Error {
    fn is_retryable(&self) -> bool {
        Error::is_retryable(self)
    }

    fn is_unknown_outcome(&self) -> bool {
        Error::is_unknown_outcome(self)
    }

    fn is_definitely_not_applied(&self) -> bool {
        Error::is_definitely_not_applied(self)
    }

    fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Unauthorized { .. })
    }

    fn retry_limit(&self) -> Option<u32> {
        matches!(self, Error::Decode { .. } | Error::Rejected { .. })
            .then_some(upstream::LIMITED_RETRIES)
    }

    fn refusal(&self) -> (String, Option<String>) {
        let errors = self.api_errors();
        if errors.is_empty() {
            return (format!("Brightpearl refused it: {self}"), None);
        }
        (
            format!("Brightpearl refused it: {}", format_api_errors(errors)),
            errors.first().map(|a| a.code.clone()),
        )
    }

    fn summary(&self) -> ErrorSummary {
        let excerpt = match self {
            Error::Rejected { errors, .. } => Some(format_api_errors(errors)),
            Error::Unauthorized { message, .. } => Some(message.clone()),
            Error::Server { body, .. } | Error::UnexpectedStatus { body, .. } => Some(body.clone()),
            Error::Decode { message, body, .. } => Some(format!("{message}; body: {body}")),
            Error::Connect { message, .. } | Error::Transport { message, .. } => {
                Some(message.clone())
            }
            Error::Token {
                error, description, ..
            } => Some(format!("{error} {description}")),
            _ => None,
        };
        ErrorSummary::new(
            self.kind(),
            self.status().map(|s| s.as_u16()),
            excerpt.map(|e| upstream::excerpt(e.as_bytes())),
        )
    }
}

fn format_api_errors(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}", e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
use crate::upstream::BODY_EXCERPT_CHARS;
pub(crate) use crate::upstream::excerpt;

/// Turn a non-success answer into an error. `throttle_hint` is the `next-throttle-period` header.
pub(crate) fn classify_status(
    endpoint: &str,
    status: StatusCode,
    body: &[u8],
    throttle_hint: Option<Duration>,
    remaining_hint: Option<u32>,
) -> Error {
    let endpoint = endpoint.to_owned();
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let errors: Option<Vec<ApiError>> = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .filter(|e: &Vec<ApiError>| !e.is_empty());
    if status == StatusCode::UNAUTHORIZED {
        let message = parsed
            .as_ref()
            .and_then(|v| v.get("response"))
            .and_then(|r| r.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| excerpt(body));
        // "Invalid instance token: <token>" quotes the credential back (brightpearl-api.md §2.5): keep
        // only the words before the colon, so the token never reaches a log or a record.
        let message = match message.split_once(':') {
            Some((words, _)) => format!("{words}: ***"),
            None => message,
        };
        return Error::Unauthorized { endpoint, message };
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Error::RateLimited { endpoint };
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && is_throttle_503(body, remaining_hint) {
        return Error::Throttled {
            endpoint,
            retry_after: throttle_hint.unwrap_or(Duration::from_secs(60)),
        };
    }
    if let Some(errors) = errors {
        return Error::Rejected {
            endpoint,
            status,
            errors,
        };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return Error::Server {
            endpoint,
            status,
            body: excerpt(body),
        };
    }
    Error::UnexpectedStatus {
        endpoint,
        status,
        body: excerpt(body),
    }
}

/// A 503 is a throttle when the pool reports nothing left or the body says so (the exact text is
/// unconfirmed; brightpearl-api.md §3 lists the two wordings clients look for).
fn is_throttle_503(body: &[u8], remaining_hint: Option<u32>) -> bool {
    if remaining_hint == Some(0) {
        return true;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    text.contains("too many requests") || text.contains("please wait before sending")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str, remaining: Option<u32>) -> Error {
        classify_status(
            "GET /x",
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            Some(Duration::from_millis(1500)),
            remaining,
        )
    }

    #[test]
    fn classification_table() {
        // (status, body, remaining header, retryable, unknown outcome, not applied)
        type Case = (u16, &'static str, Option<u32>, bool, bool, bool);
        let cases: &[Case] = &[
            (503, "", Some(0), true, false, true),
            (
                503,
                "{\"response\":\"Too many requests\"}",
                Some(3),
                true,
                false,
                true,
            ),
            (503, "gateway down", Some(40), true, true, false),
            (429, "", None, true, false, true),
            (
                401,
                "{\"response\":\"Authorization token expired\"}",
                None,
                false,
                false,
                true,
            ),
            (
                400,
                r#"{"errors":[{"code":"ORDC-006","message":"bad type"}]}"#,
                None,
                false,
                false,
                false,
            ),
            (
                500,
                r#"{"errors":[{"code":"CMNC-018","message":"cannot parse"}]}"#,
                None,
                false,
                false,
                false,
            ),
            (500, "oops", None, true, true, false),
            (502, "", None, true, true, false),
            (
                404,
                r#"{"errors":[{"code":"CMNC-404","message":"No Contact Found"}]}"#,
                None,
                false,
                false,
                false,
            ),
            (405, "", None, false, false, false),
        ];
        for &(status, body, remaining, retryable, unknown, not_applied) in cases {
            let e = classify(status, body, remaining);
            assert_eq!(e.is_retryable(), retryable, "{status} {body}: {e}");
            assert_eq!(e.is_unknown_outcome(), unknown, "{status} {body}: {e}");
            assert_eq!(
                e.is_definitely_not_applied(),
                not_applied,
                "{status} {body}: {e}"
            );
        }
    }

    /// The one transport rule, case by case: status × body × method → what the client does.
    #[test]
    fn disposition_table() {
        use crate::upstream::Disposition::{Permanent, Retry, UnknownOutcome};
        use crate::upstream::{Disposition, disposition};
        const CODES: &str = r#"{"errors":[{"code":"CMNC-500","message":"internal"}]}"#;
        // (status, body, remaining header, GET, POST)
        type Case = (u16, &'static str, Option<u32>, Disposition, Disposition);
        let cases: &[Case] = &[
            (503, "", Some(0), Retry, Retry),
            (503, "gateway down", Some(40), Retry, UnknownOutcome),
            (429, "", None, Retry, Retry),
            (408, "", None, Retry, UnknownOutcome),
            (500, "", None, Retry, UnknownOutcome),
            (502, "<html>bad gateway</html>", None, Retry, UnknownOutcome),
            (504, "", None, Retry, UnknownOutcome),
            (500, CODES, None, Retry, UnknownOutcome),
            (
                500,
                r#"{"errors":[{"code":"CMNC-018","message":"cannot parse"}]}"#,
                None,
                Permanent,
                Permanent,
            ),
            (
                500,
                r#"{"errors":[{"code":"CMNC-044","message":"bad request"}]}"#,
                None,
                Permanent,
                Permanent,
            ),
            (
                400,
                r#"{"errors":[{"code":"ORDC-006","message":"bad type"}]}"#,
                None,
                Permanent,
                Permanent,
            ),
            (404, "", None, Permanent, Permanent),
            (405, "", None, Permanent, Permanent),
        ];
        for &(status, body, remaining, get, post) in cases {
            let e = classify(status, body, remaining);
            assert_eq!(disposition(&e, true), get, "GET {status} {body}: {e}");
            assert_eq!(disposition(&e, false), post, "POST {status} {body}: {e}");
        }
        // Transport faults and unreadable answers.
        let endpoint = "GET /x";
        let connect = Error::transport(endpoint, TransportFault::Connect("refused".into()));
        let timeout = Error::transport(endpoint, TransportFault::Timeout);
        let reset = Error::transport(endpoint, TransportFault::Broken("reset".into()));
        let cut = Error::body(
            endpoint,
            StatusCode::OK,
            BodyFault::Unreadable("eof".into()),
        );
        let bad_json = decode_error(StatusCode::OK);
        for (e, get, post) in [
            (&connect, Retry, Retry),
            (&timeout, Retry, UnknownOutcome),
            (&reset, Retry, UnknownOutcome),
            (&cut, Retry, UnknownOutcome),
            (&bad_json, Retry, UnknownOutcome),
        ] {
            assert_eq!(disposition(e, true), get, "GET {e}");
            assert_eq!(disposition(e, false), post, "POST {e}");
        }
        // A 5xx with codes and an unreadable 2xx are retried at most twice; others by policy.
        use crate::upstream::UpstreamError as _;
        assert_eq!(classify(500, CODES, None).retry_limit(), Some(2));
        assert_eq!(bad_json.retry_limit(), Some(2));
        assert_eq!(classify(500, "", None).retry_limit(), None);
    }

    fn decode_error(status: StatusCode) -> Error {
        Error::Decode {
            endpoint: "GET /x".into(),
            status,
            message: "EOF while parsing".into(),
            body: "{\"response\":[".into(),
        }
    }

    #[test]
    fn summaries_name_kind_status_and_excerpt() {
        use crate::upstream::UpstreamError as _;
        let s = classify(
            500,
            r#"{"errors":[{"code":"CMNC-500","message":"internal"}]}"#,
            None,
        )
        .summary();
        assert_eq!((s.kind.as_str(), s.status), ("rejected", Some(500)));
        assert_eq!(s.excerpt.as_deref(), Some("CMNC-500 internal"));
        let s = classify(401, r#"{"response":"Invalid instance token: abc"}"#, None).summary();
        assert!(!s.excerpt.unwrap().contains("abc"));
    }

    #[test]
    fn rejection_exposes_codes_and_401_message() {
        let e = classify(
            400,
            r#"{"errors":[{"code":"ORDC-005","message":"no type"},{"code":"X","message":"y"}]}"#,
            None,
        );
        assert_eq!(e.api_errors().len(), 2);
        assert_eq!(e.api_errors()[0].code, "ORDC-005");
        assert!(e.to_string().contains("ORDC-005 no type"));
        match classify(401, r#"{"response":"Invalid instance token: abc"}"#, None) {
            Error::Unauthorized { message, .. } => assert!(message.starts_with("Invalid instance")),
            other => panic!("unexpected {other:?}"),
        }
        match classify(503, "", Some(0)) {
            Error::Throttled { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_millis(1500))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn excerpt_is_trimmed_and_single_line() {
        let long = "a\n".repeat(1000);
        let e = excerpt(long.as_bytes());
        assert!(e.chars().count() <= BODY_EXCERPT_CHARS + 1);
        assert!(!e.contains('\n'));
    }
}
