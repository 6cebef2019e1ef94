//! `dsco::Error`: every way a DSCO call can fail, classified once (same questions as
//! `brightpearl::Error`: retryable? outcome unknown? definitely not applied?).
//!
//! One deliberate difference from Brightpearl: DSCO's reference says to retry 408, 429, 500, 502,
//! 503 and 504 (dsco-api.md §1.4) and never documents a 5xx that means "your request is wrong", so
//! every 5xx is retryable here, whatever its body.

use reqwest::StatusCode;

use super::model::{ApiResponseMessage, RequestId};

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
            _ => false,
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

pub(crate) const BODY_EXCERPT_CHARS: usize = 300;

/// A trimmed, single-line excerpt of a body for errors and logs.
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
