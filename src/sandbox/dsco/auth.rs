//! `POST /oauth2/token` (client credentials) and the bearer check in front of every data route
//! (dsco-api.md §1.3). Both the short-lived OAuth tokens and the legacy static key are accepted.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::sim::DscoSim;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /oauth2/token`, form-encoded `grant_type`, `client_id`, `client_secret`, `scope`.
pub(crate) async fn token(
    State(sim): State<DscoSim>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request body must be application/x-www-form-urlencoded",
        );
    }
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let (Some(grant_type), Some(client_id), Some(client_secret)) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
    ) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type, client_id and client_secret are required",
        );
    };
    if grant_type != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type must be client_credentials",
        );
    }
    // guess: any non-empty scope is a "bad scope" since scopes are unused today (dsco-api.md §1.3).
    if field("scope").is_some() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "invalid scope");
    }
    let config = sim.config();
    if client_id != config.client_id || client_secret != config.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let ttl = config.token_ttl;
    let token = format!("eyJzaW0.{}", uuid::Uuid::new_v4().simple());
    let expires = sim.clock().now() + chrono::Duration::milliseconds(ttl.as_millis() as i64);
    sim.with_state(|state, _| {
        state.tokens.insert(token.clone(), expires);
    });
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
    }))
    .into_response()
}

/// Middleware: a valid `Authorization: bearer <token>` (scheme word in any case) or 401.
pub(crate) async fn require_bearer(
    State(sim): State<DscoSim>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    if presented
        .as_deref()
        .is_some_and(|token| sim.token_is_valid(token))
    {
        return next.run(request).await;
    }
    // guess: the gateway's authorizer answer, `{"message":"Unauthorized"}` (dsco-api.md §1.3 only
    // says 401).
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Unauthorized"})),
    )
        .into_response()
}

impl DscoSim {
    fn token_is_valid(&self, token: &str) -> bool {
        if token == self.config().legacy_api_key {
            return true;
        }
        let now = self.clock().now();
        self.with_state(|state, _| state.tokens.get(token).is_some_and(|exp| *exp > now))
    }
}
