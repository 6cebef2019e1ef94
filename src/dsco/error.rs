//! `dsco::Error`: every way a DSCO call can fail, classified once (same questions as
//! `brightpearl::Error`: retryable? outcome unknown? definitely not applied?).
//!
//! One deliberate difference from Brightpearl: DSCO's reference says to retry 408, 429, 500, 502,
//! 503 and 504 (dsco-api.md §1.4) and never documents a 5xx that means "your request is wrong", so
//! every 5xx is retryable here, whatever its body.

use reqwest::StatusCode;

use super::model::{ApiResponseMessage, RequestId};
use crate::upstream::{self, BodyFault, ErrorSummary, TransportFault, UpstreamError, excerpt};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 429: the endpoint's rate limit. Not applied.
    #[error("dsco rate-limited {endpoint} (429)")]
    RateLimited { endpoint: String },
    /// 401 even after a fresh token (or with a static API key). Not applied.
    #[error("dsco refused credentials on {endpoint}: {body}")]
    Unauthorized { endpoint: String, body: String },
    /// A definite rejection: a 4xx, or a 2xx whose body reports `failure` / `success: false`.
    #[error("dsco rejected {endpoint} with {status}: {}", format_messages(.messages, .body))]
    Rejected {
        endpoint: String,
        status: StatusCode,
        messages: Vec<ApiResponseMessage>,
        body: String,
    },
    /// 404 on a lookup: no such object (yet: DSCO reads are eventually consistent).
    #[error("dsco has no such object at {endpoint}")]
    NotFound { endpoint: String },
    /// 404 on a `scrollId` follow-up: the 5-minute page cache expired; restart the window.
    #[error("dsco scroll expired on {endpoint}; restart the search")]
    ScrollExpired { endpoint: String },
    /// 408 or 5xx: the server may or may not have acted.
    #[error("dsco server error on {endpoint}: {status}: {body}")]
    Server {
        endpoint: String,
        status: StatusCode,
        body: String,
    },
    #[error("cannot connect to dsco for {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    #[error("dsco timed out on {endpoint}")]
    Timeout { endpoint: String },
    #[error("dsco transport error on {endpoint}: {message}")]
    Transport { endpoint: String, message: String },
    /// A success status whose body we cannot read as the expected shape.
    #[error("cannot decode dsco answer to {endpoint} ({status}): {message}; body: {body}")]
    Decode {
        endpoint: String,
        status: StatusCode,
        message: String,
        body: String,
    },
    /// `POST /oauth2/token` refused the client credentials.
    #[error("dsco token request failed with {status}: {error} {description}")]
    Token {
        status: StatusCode,
        error: String,
        description: String,
    },
    /// A batch was accepted (202) but its change log did not reach COMPLETED in time.
    /// Resume with `Client::poll_change_log`; do not resubmit blindly.
    #[error("dsco batch {request_id} on {endpoint} still processing after the polling deadline")]
    ChangeLogTimeout {
        endpoint: String,
        request_id: RequestId,
    },
    #[error("invalid dsco client configuration: {0}")]
    Config(String),
}

impl Error {
    /// True when the same request may succeed if sent again later. The client retries these only
    /// for idempotent calls, or when [`Error::is_definitely_not_applied`] also holds.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::Server { .. }
            | Error::Connect { .. }
            | Error::Timeout { .. }
            | Error::Transport { .. } => true,
            Error::Token { status, .. } => status.is_server_error(),
            // An unreadable 2xx: a read is sent again (at most `upstream::LIMITED_RETRIES`).
            Error::Decode { status, .. } => status.is_success(),
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
            Error::RateLimited { .. } => "rate_limited",
            Error::Unauthorized { .. } => "unauthorized",
            Error::Rejected { .. } => "rejected",
            Error::NotFound { .. } => "not_found",
            Error::ScrollExpired { .. } => "scroll_expired",
            Error::Server { .. } => "server",
            Error::Connect { .. } => "connect",
            Error::Timeout { .. } => "timeout",
            Error::Transport { .. } => "transport",
            Error::Decode { .. } => "decode",
            Error::Token { .. } => "token",
            Error::ChangeLogTimeout { .. } => "change_log_timeout",
            Error::Config(_) => "config",
        }
    }

    /// True when the request may have been applied although we got no usable answer.
    pub fn is_unknown_outcome(&self) -> bool {
        match self {
            Error::Timeout { .. }
            | Error::Transport { .. }
            | Error::Server { .. }
            | Error::ChangeLogTimeout { .. } => true,
            Error::Decode { status, .. } => status.is_success(),
            _ => false,
        }
    }

    /// True when the server certainly did not act on the request.
    pub fn is_definitely_not_applied(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. }
                | Error::Unauthorized { .. }
                | Error::Connect { .. }
                | Error::Token { .. }
                | Error::Config(_)
        )
    }

    /// DSCO's messages on a definite rejection, empty otherwise.
    pub fn messages(&self) -> &[ApiResponseMessage] {
        match self {
            Error::Rejected { messages, .. } => messages,
            _ => &[],
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Unauthorized { .. } => Some(StatusCode::UNAUTHORIZED),
            Error::NotFound { .. } | Error::ScrollExpired { .. } => Some(StatusCode::NOT_FOUND),
            Error::Rejected { status, .. }
            | Error::Server { status, .. }
            | Error::Decode { status, .. }
            | Error::Token { status, .. } => Some(*status),
            _ => None,
        }
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
        matches!(self, Error::Decode { .. }).then_some(upstream::LIMITED_RETRIES)
    }

    fn refusal(&self) -> (String, Option<String>) {
        let messages = self.messages();
        let body = match self {
            Error::Rejected { body, .. } => body.as_str(),
            _ => "",
        };
        if messages.is_empty() {
            return (format!("DSCO refused it: {self}"), None);
        }
        (
            format!("DSCO refused it: {}", format_messages(messages, body)),
            messages.first().map(|m| m.code.clone()),
        )
    }

    fn summary(&self) -> ErrorSummary {
        let excerpt = match self {
            Error::Rejected { messages, body, .. } => Some(format_messages(messages, body)),
            Error::Server { body, .. } | Error::Unauthorized { body, .. } => Some(body.clone()),
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

fn format_messages(messages: &[ApiResponseMessage], body: &str) -> String {
    if messages.is_empty() {
        return body.to_owned();
    }
    messages
        .iter()
        .map(|m| format!("{} {}", m.code, m.description_text()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Turn a non-success answer into an error.
pub(crate) fn classify_status(endpoint: &str, status: StatusCode, body: &[u8]) -> Error {
    let endpoint = endpoint.to_owned();
    match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized {
            endpoint,
            body: excerpt(body),
        },
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited { endpoint },
        StatusCode::NOT_FOUND => Error::NotFound { endpoint },
        StatusCode::REQUEST_TIMEOUT => Error::Server {
            endpoint,
            status,
            body: excerpt(body),
        },
        s if s.is_server_error() => Error::Server {
            endpoint,
            status,
            body: excerpt(body),
        },
        _ => Error::Rejected {
            endpoint,
            status,
            messages: messages_in(body),
            body: excerpt(body),
        },
    }
}

/// The `messages` of an update-response-shaped body, if any.
pub(crate) fn messages_in(body: &[u8]) -> Vec<ApiResponseMessage> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("messages").cloned())
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        // (status, retryable, unknown outcome, not applied)
        let cases: &[(u16, bool, bool, bool)] = &[
            (429, true, false, true),
            (401, false, false, true),
            (400, false, false, false),
            (403, false, false, false),
            (404, false, false, false),
            (408, true, true, false),
            (500, true, true, false),
            (502, true, true, false),
            (503, true, true, false),
            (504, true, true, false),
        ];
        for &(status, retryable, unknown, not_applied) in cases {
            let e = classify_status("POST /x", StatusCode::from_u16(status).unwrap(), b"{}");
            assert_eq!(e.is_retryable(), retryable, "{status}: {e}");
            assert_eq!(e.is_unknown_outcome(), unknown, "{status}: {e}");
            assert_eq!(e.is_definitely_not_applied(), not_applied, "{status}: {e}");
        }
    }

    /// The one transport rule, case by case: status × body × method → what the client does.
    #[test]
    fn disposition_table() {
        use crate::upstream::Disposition::{Permanent, Retry, UnknownOutcome};
        use crate::upstream::{Disposition, UpstreamError as _, disposition};
        let failure = r#"{"status":"failure","messages":[{"code":"X","severity":"error"}]}"#;
        // (status, body, GET, POST)
        let cases: &[(u16, &str, Disposition, Disposition)] = &[
            (429, "", Retry, Retry),
            (408, "", Retry, UnknownOutcome),
            (500, "", Retry, UnknownOutcome),
            (500, failure, Retry, UnknownOutcome),
            (502, "<html/>", Retry, UnknownOutcome),
            (503, "", Retry, UnknownOutcome),
            (504, "", Retry, UnknownOutcome),
            (400, failure, Permanent, Permanent),
            (403, r#"{"message":"Forbidden"}"#, Permanent, Permanent),
            (404, "", Permanent, Permanent),
            (401, "", Permanent, Permanent),
        ];
        for &(status, body, get, post) in cases {
            let e = classify_status(
                "X /x",
                StatusCode::from_u16(status).unwrap(),
                body.as_bytes(),
            );
            assert_eq!(disposition(&e, true), get, "GET {status} {body}: {e}");
            assert_eq!(disposition(&e, false), post, "POST {status} {body}: {e}");
        }
        let endpoint = "GET /order/";
        let cut = Error::body(
            endpoint,
            StatusCode::OK,
            BodyFault::Unreadable("eof".into()),
        );
        let decode = Error::Decode {
            endpoint: endpoint.into(),
            status: StatusCode::OK,
            message: "EOF while parsing".into(),
            body: "{\"dscoOrderId\":".into(),
        };
        for (e, get, post) in [
            (
                Error::transport(endpoint, TransportFault::Connect("refused".into())),
                Retry,
                Retry,
            ),
            (
                Error::transport(endpoint, TransportFault::Timeout),
                Retry,
                UnknownOutcome,
            ),
            (
                Error::transport(endpoint, TransportFault::Broken("reset".into())),
                Retry,
                UnknownOutcome,
            ),
            (cut, Retry, UnknownOutcome),
        ] {
            assert_eq!(disposition(&e, true), get, "GET {e}");
            assert_eq!(disposition(&e, false), post, "POST {e}");
        }
        assert_eq!(decode.retry_limit(), Some(2));
        assert!(!decode.is_unauthorized() && decode.summary().kind == "decode");
    }

    #[test]
    fn rejection_carries_messages() {
        let body = br#"{"status":"failure","requestId":"r","eventDate":"2025-01-01T00:00:00Z",
            "messages":[{"code":"INVALID_CANCEL_CODE","severity":"error","description":["bad code"]}]}"#;
        let e = classify_status("POST /order/item/cancel", StatusCode::BAD_REQUEST, body);
        assert_eq!(e.messages()[0].code, "INVALID_CANCEL_CODE");
        assert!(
            e.to_string().contains("INVALID_CANCEL_CODE bad code"),
            "{e}"
        );
    }

    #[test]
    fn change_log_timeout_is_an_unknown_outcome() {
        let e = Error::ChangeLogTimeout {
            endpoint: "POST /order/acknowledge".into(),
            request_id: RequestId("r-1".into()),
        };
        assert!(e.is_unknown_outcome() && !e.is_retryable());
    }
}
