//! `ApiError`: the only place HTTP statuses are chosen. Error bodies are
//! `{"error": code, "message": ..., "request_id": ...}`; a 500 never carries internal text.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

tokio::task_local! {
    /// The id of the request being handled (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "unknown".into())
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// A body or field that failed validation; `details` names each field.
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// A public-listener request without the right credentials (webhook key, install, account).
    #[error("{0}")]
    Refused(String),
    /// A body over the route's limit.
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Unavailable(String),
    /// An upstream API (DSCO, Brightpearl) failed or refused; the message names the endpoint.
    #[error("{0}")]
    BadGateway(String),
    /// Anything unexpected: logged with the request id, answered without detail.
    #[error("internal error")]
    Internal(String),
}

/// One invalid field or row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field name, or `line N` for CSV rows.
    pub field: String,
    pub message: String,
}

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Refused(_) => (StatusCode::UNAUTHORIZED, "refused"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "not_implemented"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "upstream"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = current_request_id();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(request_id = %request_id, error = %detail, "request failed");
                format!("internal error; quote request id {request_id} when reporting it")
            }
            other => other.to_string(),
        };
        let details = match self {
            ApiError::Invalid { details, .. } => details,
            _ => Vec::new(),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: code.into(),
                message,
                request_id,
                details,
            }),
        )
            .into_response();
        if code == "unauthorized" {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(e: crate::store::Error) -> Self {
        use crate::store::Error as E;
        match e {
            E::NotFound { .. } => ApiError::NotFound(e.to_string()),
            E::Conflict(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::scheduler::TriggerError> for ApiError {
    fn from(e: crate::scheduler::TriggerError) -> Self {
        use crate::scheduler::TriggerError as T;
        match e {
            T::AlreadyRunning { .. } => ApiError::Conflict(e.to_string()),
            T::NotAvailable(_) => ApiError::NotImplemented(e.to_string()),
            T::ShuttingDown => ApiError::Unavailable(e.to_string()),
            T::WrongFlowMode { .. } => ApiError::BadRequest(e.to_string()),
            T::Store(s) => s.into(),
        }
    }
}
