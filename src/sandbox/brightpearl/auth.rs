//! Authentication (brightpearl-api.md §2): private-app headers, OAuth bearer tokens, and the OAuth
//! endpoints `/authorize/{account}` and `/token/{account}`.
//!
//! Tokens live in the simulator state and expire on the [`SimClock`](crate::sandbox::common::SimClock), so
//! tests move time instead of waiting.

use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration as ChronoDuration;
use rand::Rng;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

use super::config::BrightpearlSimConfig;
use super::sim::{BrightpearlSim, Inner};
use super::wire;
use crate::sandbox::common::lock;

/// Who made an authenticated call.
pub struct Identity {
    /// Set for OAuth calls: echoed as `brightpearl-installed-integration-instance-id` (§1.8).
    pub installation_id: Option<u32>,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = header(headers, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The throttle pool a request draws from (§3): one per account for private apps, one per
/// (account, developer) for OAuth apps.
pub fn pool_key(config: &BrightpearlSimConfig, account: &str, headers: &HeaderMap) -> String {
    match bearer(headers) {
        Some(_) => format!(
            "oauth:{account}:{}",
            header(headers, "brightpearl-dev-ref").unwrap_or(&config.dev_ref)
        ),
        None => format!("private:{account}"),
    }
}

/// Check the credentials of an API call; the error is the 401 to send.
pub fn authenticate(inner: &Inner, headers: &HeaderMap) -> Result<Identity, Response> {
    let config = &inner.config;
    let app_ref = header(headers, "brightpearl-app-ref");
    if let Some(token) = bearer(headers) {
        let state = lock(&inner.state);
        let Some((installation, expires)) = state.oauth.access_tokens.get(token).copied() else {
            return Err(wire::unauthorized(format!(
                "Invalid instance token: {token}"
            )));
        };
        if inner.now() >= expires {
            return Err(wire::unauthorized("Authorization token expired"));
        }
        // OAuth calls must also name the app and the developer (§2.4).
        // guess: a missing or wrong app-ref / dev-ref with a valid token answers 401 with the
        // "Invalid instance token" text (brightpearl-api.md §2.4, §2.5)
        if app_ref != Some(config.oauth_client_id.as_str())
            || header(headers, "brightpearl-dev-ref") != Some(config.dev_ref.as_str())
        {
            return Err(wire::unauthorized(format!(
                "Invalid instance token: {token} (brightpearl-app-ref and brightpearl-dev-ref must name the app and developer)"
            )));
        }
        return Ok(Identity {
            installation_id: Some(installation),
        });
    }
    let account_token = header(headers, "brightpearl-account-token");
    let staff_token = header(headers, "brightpearl-staff-token");
    let token = account_token.or(staff_token).unwrap_or_default();
    let token_ok = account_token == Some(config.account_token.as_str())
        || staff_token == Some(config.staff_token.as_str());
    if app_ref == Some(config.app_ref.as_str()) && token_ok {
        Ok(Identity {
            installation_id: None,
        })
    } else {
        // guess: missing headers and a wrong app-ref answer like a bad token (brightpearl-api.md §2.5)
        Err(wire::unauthorized(format!(
            "Invalid instance token: {token}"
        )))
    }
}

/// A random token shaped like Brightpearl's (base64, 44 characters ending in `=`, §2.2).
fn random_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    let body: String = (0..43)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{body}=")
}

/// Issue an authorization code bound to `redirect_uri`.
pub fn issue_code(inner: &Inner, redirect_uri: &str) -> String {
    let code = random_token();
    // guess: codes live 10 minutes and work once (brightpearl-api.md §2.3 does not say)
    let expires = inner.now() + ChronoDuration::minutes(10);
    lock(&inner.state)
        .oauth
        .codes
        .insert(code.clone(), (redirect_uri.to_owned(), expires));
    code
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /authorize/{account}`: the consent screen, approved at once; redirects with `code` and
/// `state` (§2.3 step 1; parameter names assumed standard there).
pub async fn authorize(
    AxumState(sim): AxumState<BrightpearlSim>,
    Path(account): Path<String>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let inner = sim.inner();
    let Some(redirect_uri) = query.redirect_uri else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is required").into_response();
    };
    if account != inner.config.account
        || query.client_id.as_deref() != Some(inner.config.oauth_client_id.as_str())
    {
        return (StatusCode::BAD_REQUEST, "unknown account or client_id").into_response();
    }
    let code = issue_code(inner, &redirect_uri);
    let mut location = url::Url::parse(&redirect_uri)
        .map(|mut url| {
            url.query_pairs_mut().append_pair("code", &code);
            if let Some(state) = &query.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            url.to_string()
        })
        .unwrap_or(redirect_uri);
    if location.is_empty() {
        location.push('/');
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn oauth_error(error: &str, description: Option<&str>) -> Response {
    let mut body = json!({ "error": error });
    if let Some(description) = description {
        body["error_description"] = json!(description);
    }
    wire::json_response(StatusCode::BAD_REQUEST, body)
}

/// `POST /token/{account}` (form-encoded, snake_case JSON, §2.3 steps 2 and 3).
pub async fn token(
    AxumState(sim): AxumState<BrightpearlSim>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let inner = sim.inner();
    let config = &inner.config;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if account != config.account || field("client_id") != Some(config.oauth_client_id.as_str()) {
        return oauth_error("invalid_client", None);
    }
    if !config.oauth_client_secret.is_empty()
        && field("client_secret") != Some(config.oauth_client_secret.as_str())
    {
        return oauth_error("invalid_client", None);
    }
    let now = inner.now();
    let ttl = ChronoDuration::from_std(config.access_token_ttl)
        .unwrap_or_else(|_| ChronoDuration::days(7));
    let api_domain = config
        .api_domain
        .clone()
        .unwrap_or_else(|| header(&headers, "host").unwrap_or("127.0.0.1").to_owned());
    let mut state = lock(&inner.state);
    match field("grant_type") {
        Some("authorization_code") => {
            let code = field("code").unwrap_or_default();
            let Some((redirect_uri, expires)) = state.oauth.codes.get(code).cloned() else {
                return oauth_error(
                    "invalid_grant",
                    Some("The auth token has either expired or does not exist"),
                );
            };
            if now >= expires {
                state.oauth.codes.remove(code);
                return oauth_error(
                    "invalid_grant",
                    Some("The auth token has either expired or does not exist"),
                );
            }
            if field("redirect_uri").unwrap_or_default() != redirect_uri {
                return oauth_error(
                    "invalid_grant",
                    Some("Redirect uri does not match that used to request auth token"),
                );
            }
            state.oauth.codes.remove(code);
            let installation = state.ids.installation;
            let access = random_token();
            let refresh = random_token();
            state
                .oauth
                .access_tokens
                .insert(access.clone(), (installation, now + ttl));
            state
                .oauth
                .refresh_tokens
                .insert(refresh.clone(), installation);
            wire::json_response(
                StatusCode::OK,
                json!({
                    "access_token": access,
                    "refresh_token": refresh,
                    "installation_instance_id": installation.to_string(),
                    "api_domain": api_domain,
                    "token_type": "Bearer",
                    "expires_in": ttl.num_seconds(),
                }),
            )
        }
        Some("refresh_token") => {
            let presented = field("refresh_token").unwrap_or_default();
            // Refresh tokens rotate: the one presented stops working (§2.3 step 3).
            let Some(installation) = state.oauth.refresh_tokens.remove(presented) else {
                return oauth_error(
                    "invalid_grant",
                    Some("The auth token has either expired or does not exist"),
                );
            };
            // guess: a refreshed access token gets a fresh full lifetime, and earlier access
            // tokens stay valid until they expire (brightpearl-api.md §2.3 leaves both open)
            let access = random_token();
            let refresh = random_token();
            state
                .oauth
                .access_tokens
                .insert(access.clone(), (installation, now + ttl));
            state
                .oauth
                .refresh_tokens
                .insert(refresh.clone(), installation);
            // No installation_instance_id on refresh (§2.3, recorded).
            wire::json_response(
                StatusCode::OK,
                json!({
                    "access_token": access,
                    "refresh_token": refresh,
                    "api_domain": api_domain,
                    "token_type": "Bearer",
                    "expires_in": ttl.num_seconds(),
                }),
            )
        }
        // guess: an unknown grant type answers 400 unsupported_grant_type (standard OAuth;
        // brightpearl-api.md §2.3 records only invalid_client / invalid_grant)
        _ => oauth_error("unsupported_grant_type", None),
    }
}
