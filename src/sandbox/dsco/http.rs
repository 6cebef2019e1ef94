//! Response shapes and request parsing shared by the handlers: the update-response envelope
//! (dsco-api.md §1.7), query strings with repeated keys, JSON bodies parsed by hand so a bad body
//! gets DSCO's failure shape instead of axum's plain-text rejection.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::{fmt_date, new_uuid};

/// Query parameters in order, repeated keys kept (`?status=a&status=b`).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean flag; anything but `true` (case-insensitive) is false.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// One `ApiResponseMessage`.
pub(crate) fn message(code: &str, severity: &str, description: &str) -> Value {
    json!({"code": code, "severity": severity, "description": description})
}

/// `{status, requestId, eventDate, messages}` — the update-response shape (§1.7).
pub(crate) fn update_response(
    status: &str,
    request_id: &str,
    event_date: chrono::DateTime<chrono::Utc>,
    messages: Vec<Value>,
) -> Value {
    json!({
        "status": status,
        "requestId": request_id,
        "eventDate": fmt_date(event_date),
        "messages": messages,
    })
}

/// A failure in the update-response shape.
// guess: validation errors of data endpoints answer 400 with `status:"failure"` and `messages[]`,
// the shape [SPEC] documents for `PUT /order/request/cancel` (dsco-api.md §1.4).
pub(crate) fn failure(status: StatusCode, code: &str, description: &str) -> Response {
    let body = update_response(
        "failure",
        &new_uuid(),
        chrono::Utc::now(),
        vec![message(code, "error", description)],
    );
    (status, Json(body)).into_response()
}

pub(crate) fn bad_request(description: &str) -> Response {
    failure(StatusCode::BAD_REQUEST, "INVALID_REQUEST", description)
}

pub(crate) fn not_found(description: &str) -> Response {
    failure(StatusCode::NOT_FOUND, "NOT_FOUND", description)
}

/// Parse a JSON body, answering 400 in DSCO's shape when it is not JSON.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(bad_request(&format!("request body is not valid JSON: {e}"))))
}

/// Parse a small-batch body: a bare JSON array (dsco-api.md §0.1, §1.7).
pub(crate) fn parse_array(body: &[u8]) -> Result<Vec<Value>, Box<Response>> {
    match parse_json(body)? {
        Value::Array(items) if !items.is_empty() => Ok(items),
        Value::Array(_) => Err(Box::new(bad_request(
            "the request body must be a non-empty JSON array",
        ))),
        _ => Err(Box::new(bad_request(
            "the request body must be a JSON array of objects, not a wrapper object",
        ))),
    }
}

/// Parse a single-object body.
pub(crate) fn parse_object(body: &[u8]) -> Result<Value, Box<Response>> {
    match parse_json(body)? {
        object @ Value::Object(_) => Ok(object),
        _ => Err(Box::new(bad_request(
            "the request body must be a single JSON object",
        ))),
    }
}

/// What AWS API Gateway answers for a route (or method) it does not know; observed for
/// `/order/changelog` (dsco-api.md §1.4).
// guess: a wrong method on a known path gets the same answer, as API Gateway does for unmatched
// method/path pairs (dsco-api.md §9 "wrong method → unconfirmed").
pub(crate) async fn unknown_route() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(json!({
            "message": "Invalid key=value pair (missing equal-sign) in Authorization header"
        })),
    )
        .into_response()
}

/// `201 {"success": true}` — the single-object create answer (SuccessFailResponse, §1.7).
pub(crate) fn created_success() -> Response {
    (StatusCode::CREATED, Json(json!({"success": true}))).into_response()
}

/// Middleware: a write must say `Content-Type: application/json` (dsco-api.md §1.2).
// guess: a missing or different content type answers 415 in the failure shape; the reference
// lists the header as required but records no answer for its absence.
pub(crate) async fn require_json(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let writes = matches!(
        *request.method(),
        axum::http::Method::POST | axum::http::Method::PUT
    );
    let is_json = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if writes && !is_json {
        return failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Content-Type must be application/json",
        );
    }
    next.run(request).await
}
