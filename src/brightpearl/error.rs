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

/// One entry of Brightpearl's `{"errors":[{code,message}]}` envelope (reference §1.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 503 because the request cap of the pool is used up (reference §3). Not applied.
    #[error("brightpearl throttled {endpoint}, next window in {retry_after:?}")]
    Throttled {
        endpoint: String,
        retry_after: Duration,
    },
    /// 429 (undocumented for Brightpearl but handled like a throttle). Not applied.
    #[error("brightpearl rate-limited {endpoint} (429)")]
    RateLimited { endpoint: String },
    /// 401 with a string `response` such as "Authorization token expired" (reference §2.5).
    #[error("brightpearl refused credentials on {endpoint}: {message}")]
    Unauthorized { endpoint: String, message: String },
    /// Any status with an `errors` array: a definite rejection, including 500 `CMNC-018`.
    #[error("brightpearl rejected {endpoint} with {status}: {}", format_api_errors(.errors))]
    Rejected {
        endpoint: String,
        status: StatusCode,
        errors: Vec<ApiError>,
    },
    /// A 5xx (or a non-throttle 503) without an `errors` body: the server may or may not have acted.
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
        matches!(
            self,
            Error::Throttled { .. }
                | Error::RateLimited { .. }
                | Error::Server { .. }
                | Error::Connect { .. }
                | Error::Timeout { .. }
                | Error::Transport { .. }
        )
    }

    /// True when the request may have been applied although we did not get a usable answer:
    /// a timeout after sending, a broken connection, a 5xx without an error body, an unreadable 2xx.
    pub fn is_unknown_outcome(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Transport { .. } | Error::Server { .. } => true,
            Error::Decode { status, .. } => status.is_success(),
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

fn format_api_errors(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}", e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Longest body excerpt carried in an error or a log line.
pub(crate) const BODY_EXCERPT_CHARS: usize = 300;

/// A trimmed, single-line excerpt of a response body for errors and logs.
pub(crate) fn excerpt(body: &[u8]) -> String {
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
        // "Invalid instance token: <token>" quotes the credential back (reference §2.5): keep
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
    if status.is_server_error() {
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
/// unconfirmed; reference §3 lists the two wordings clients look for).
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
