//! Connections: the credentials for Brightpearl and DSCO, from the config file or stored through
//! the control API (the config wins, field by field), and the API clients built from them.
//!
//! Clients are built on first use and rebuilt after a change. Every Brightpearl client shares one
//! [`QuotaBudget`], so all flows draw on one request budget with priority lanes.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::brightpearl::{self, QuotaBudget};
use crate::config::Config;
use crate::dsco;
use crate::flow_name::FlowName;
use crate::secret::Secret;
use crate::store::{self, Store, lock};

const BRIGHTPEARL_DOC: &str = "connection.brightpearl";
const DSCO_DOC: &str = "connection.dsco";

/// Which connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Name {
    Brightpearl,
    Dsco,
}

impl std::str::FromStr for Name {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "brightpearl" => Ok(Name::Brightpearl),
            "dsco" => Ok(Name::Dsco),
            other => Err(format!(
                "unknown connection {other:?}; connections are brightpearl and dsco"
            )),
        }
    }
}

/// Brightpearl credentials as stored through the API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredBrightpearl {
    pub base_url: Option<String>,
    pub account: Option<String>,
    pub app_ref: Option<String>,
    pub account_token: Option<String>,
    pub staff_token: Option<String>,
}

/// DSCO credentials as stored through the API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredDsco {
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub api_key: Option<String>,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Config,
    Store,
}

/// One field as `GET /v1/connections/{name}` shows it: never the value of a secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldView {
    pub set: bool,
    pub source: Option<Source>,
    pub secret: bool,
    /// The value, for fields that are not secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A connection as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub name: Name,
    /// Whether every field a client needs is set.
    pub configured: bool,
    /// What is missing, in plain words.
    pub missing: Option<String>,
    pub fields: std::collections::BTreeMap<String, FieldView>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{key} is set in the config file, which wins over the API; change it there")]
    SetInConfig { key: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The result of `POST /v1/connections/{name}/test`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub ok: bool,
    pub detail: String,
}

/// A field's effective value and where it came from.
#[derive(Debug, Clone)]
struct Field {
    value: Option<String>,
    source: Option<Source>,
}

fn field(config: Option<String>, stored: &Option<String>) -> Field {
    match (config, stored) {
        (Some(v), _) => Field {
            value: Some(v),
            source: Some(Source::Config),
        },
        (None, Some(v)) if !v.trim().is_empty() => Field {
            value: Some(v.clone()),
            source: Some(Source::Store),
        },
        _ => Field {
            value: None,
            source: None,
        },
    }
}

/// Effective fields of one connection, in display order, with whether each is secret.
struct Effective {
    fields: Vec<(&'static str, bool, Field)>,
}

impl Effective {
    fn get(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(n, _, _)| *n == name)
            .and_then(|(_, _, f)| f.value.clone())
    }

    fn view(&self, name: Name, missing: Option<String>) -> ConnectionView {
        ConnectionView {
            name,
            configured: missing.is_none(),
            missing,
            fields: self
                .fields
                .iter()
                .map(|(n, secret, f)| {
                    (
                        (*n).to_owned(),
                        FieldView {
                            set: f.value.is_some(),
                            source: f.source,
                            secret: *secret,
                            value: if *secret { None } else { f.value.clone() },
                        },
                    )
                })
                .collect(),
        }
    }
}

/// The effective `base_url` parsed, or what is missing noted.
fn base_url(e: &Effective, missing: &mut Vec<&'static str>) -> Option<url::Url> {
    match e.get("base_url").as_deref().map(url::Url::parse) {
        Some(Ok(u)) => Some(u),
        Some(Err(_)) => {
            missing.push("a valid base_url");
            None
        }
        None => {
            missing.push("base_url");
            None
        }
    }
}

struct State {
    brightpearl: StoredBrightpearl,
    dsco: StoredDsco,
}

/// Credentials and clients for both APIs.
pub struct Connections {
    config: Arc<Config>,
    store: Store,
    stored: RwLock<State>,
    quota: Arc<QuotaBudget>,
    brightpearl_client: Mutex<Option<Arc<brightpearl::Client>>>,
    dsco_client: Mutex<Option<Arc<dsco::Client>>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}

impl Connections {
    /// Load the stored credentials (blocking: call at start-up, off the async workers).
    pub fn load(config: Arc<Config>, store: Store) -> Result<Connections, store::Error> {
        let (brightpearl, dsco) = store.read(|tx| {
            Ok((
                tx.document::<StoredBrightpearl>(BRIGHTPEARL_DOC)?
                    .unwrap_or_default(),
                tx.document::<StoredDsco>(DSCO_DOC)?.unwrap_or_default(),
            ))
        })?;
        Ok(Connections {
            config,
            store,
            stored: RwLock::new(State { brightpearl, dsco }),
            quota: Arc::new(QuotaBudget::default()),
            brightpearl_client: Mutex::new(None),
            dsco_client: Mutex::new(None),
        })
    }

    /// The shared Brightpearl request budget (benchmarks read its counters).
    pub fn quota(&self) -> &Arc<QuotaBudget> {
        &self.quota
    }

    /// Replace the shared budget (tests and benchmarks with a capped simulator).
    pub fn with_quota(mut self, quota: Arc<QuotaBudget>) -> Self {
        self.quota = quota;
        self
    }

    fn brightpearl_effective(&self) -> Effective {
        let c = &self.config.brightpearl;
        let state = self.stored.read().unwrap_or_else(|p| p.into_inner());
        let s = &state.brightpearl;
        Effective {
            fields: vec![
                (
                    "base_url",
                    false,
                    field(
                        c.base_url
                            .as_ref()
                            .map(|u| u.as_str().trim_end_matches('/').to_owned()),
                        &s.base_url,
                    ),
                ),
                ("account", false, field(c.account.clone(), &s.account)),
                ("app_ref", false, field(c.app_ref.clone(), &s.app_ref)),
                (
                    "account_token",
                    true,
                    field(
                        c.account_token.as_ref().map(|t| t.expose().clone()),
                        &s.account_token,
                    ),
                ),
                (
                    "staff_token",
                    true,
                    field(
                        c.staff_token.as_ref().map(|t| t.expose().clone()),
                        &s.staff_token,
                    ),
                ),
            ],
        }
    }

    fn dsco_effective(&self) -> Effective {
        let c = &self.config.dsco;
        let state = self.stored.read().unwrap_or_else(|p| p.into_inner());
        let s = &state.dsco;
        Effective {
            fields: vec![
                (
                    "base_url",
                    false,
                    field(
                        c.base_url
                            .as_ref()
                            .map(|u| u.as_str().trim_end_matches('/').to_owned()),
                        &s.base_url,
                    ),
                ),
                ("client_id", false, field(c.client_id.clone(), &s.client_id)),
                (
                    "client_secret",
                    true,
                    field(
                        c.client_secret.as_ref().map(|t| t.expose().clone()),
                        &s.client_secret,
                    ),
                ),
                (
                    "api_key",
                    true,
                    field(c.api_key.as_ref().map(|t| t.expose().clone()), &s.api_key),
                ),
            ],
        }
    }

    /// The Brightpearl client config, or what is missing.
    pub fn brightpearl_config(&self) -> Result<brightpearl::ClientConfig, String> {
        let e = self.brightpearl_effective();
        let mut missing = Vec::new();
        let base_url = base_url(&e, &mut missing);
        let account = e.get("account");
        if account.is_none() {
            missing.push("account");
        }
        let app_ref = e.get("app_ref");
        if app_ref.is_none() {
            missing.push("app_ref");
        }
        let token = match (e.get("account_token"), e.get("staff_token")) {
            (Some(t), _) => Some((t, brightpearl::TokenKind::Account)),
            (None, Some(t)) => Some((t, brightpearl::TokenKind::Staff)),
            (None, None) => {
                missing.push("account_token or staff_token");
                None
            }
        };
        match (base_url, account, app_ref, token) {
            (Some(base_url), Some(account), Some(app_ref), Some((token, kind))) => {
                Ok(brightpearl::ClientConfig {
                    base_url,
                    account,
                    auth: brightpearl::Auth::PrivateApp {
                        app_ref,
                        token: Secret::new(token),
                        kind,
                    },
                    connect_timeout: self.config.brightpearl.connect_timeout,
                    request_timeout: self.config.brightpearl.request_timeout,
                })
            }
            _ => Err(format!(
                "Brightpearl credentials are not set ({})",
                missing.join(", ")
            )),
        }
    }

    /// The DSCO client config, or what is missing.
    pub fn dsco_config(&self) -> Result<dsco::ClientConfig, String> {
        let e = self.dsco_effective();
        let mut missing = Vec::new();
        let base_url = base_url(&e, &mut missing);
        let auth = match (e.get("client_id"), e.get("client_secret"), e.get("api_key")) {
            (Some(client_id), Some(secret), _) => Some(dsco::Auth::ClientCredentials {
                client_id,
                client_secret: Secret::new(secret),
            }),
            (_, _, Some(key)) => Some(dsco::Auth::ApiKey(Secret::new(key))),
            _ => {
                missing.push("client_id and client_secret, or api_key");
                None
            }
        };
        match (base_url, auth) {
            (Some(base_url), Some(auth)) => Ok(dsco::ClientConfig {
                base_url,
                auth,
                connect_timeout: self.config.dsco.connect_timeout,
                request_timeout: self.config.dsco.request_timeout,
            }),
            _ => Err(format!(
                "DSCO credentials are not set ({})",
                missing.join(", ")
            )),
        }
    }

    /// The shared Brightpearl client, built on first use.
    pub fn brightpearl(&self) -> Result<Arc<brightpearl::Client>, String> {
        let mut cached = lock(&self.brightpearl_client);
        if let Some(client) = cached.as_ref() {
            return Ok(client.clone());
        }
        let config = self.brightpearl_config()?;
        let client = Arc::new(
            brightpearl::Client::with_quota(config, self.quota.clone())
                .map_err(|e| format!("cannot build the Brightpearl client: {e}"))?,
        );
        *cached = Some(client.clone());
        Ok(client)
    }

    /// The shared DSCO client, built on first use.
    pub fn dsco(&self) -> Result<Arc<dsco::Client>, String> {
        let mut cached = lock(&self.dsco_client);
        if let Some(client) = cached.as_ref() {
            return Ok(client.clone());
        }
        let config = self.dsco_config()?;
        let client = Arc::new(
            dsco::Client::new(config).map_err(|e| format!("cannot build the DSCO client: {e}"))?,
        );
        *cached = Some(client.clone());
        Ok(client)
    }

    /// How long to wait after an unanswered create before searching for its effect: longer than
    /// the request timeout, because the first request may still be running upstream.
    pub fn brightpearl_create_grace(&self) -> Duration {
        let timeout = self.config.brightpearl.request_timeout;
        timeout + timeout / 4 + Duration::from_secs(1)
    }

    pub fn view(&self, name: Name) -> ConnectionView {
        match name {
            Name::Brightpearl => self
                .brightpearl_effective()
                .view(name, self.brightpearl_config().err()),
            Name::Dsco => self.dsco_effective().view(name, self.dsco_config().err()),
        }
    }

    /// What a flow lacks to run, in plain words.
    pub fn missing_for(&self, flow: FlowName) -> Option<String> {
        let bp = self.brightpearl_config().err();
        let dsco = if flow == FlowName::Reference {
            None
        } else {
            self.dsco_config().err()
        };
        match (bp, dsco) {
            (None, None) => None,
            (Some(b), None) => Some(b),
            (None, Some(d)) => Some(d),
            (Some(b), Some(d)) => Some(format!("{b}; {d}")),
        }
    }

    /// Apply a change from `PUT /v1/connections/{name}`: each present key sets (a string) or
    /// clears (null) the stored value. Keys the config sets are refused. Blocking.
    pub fn update(
        &self,
        name: Name,
        changes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ConnectionView, ChangeError> {
        let effective = match name {
            Name::Brightpearl => self.brightpearl_effective(),
            Name::Dsco => self.dsco_effective(),
        };
        let mut values = Vec::new();
        for (key, value) in changes {
            let Some((_, _, current)) = effective.fields.iter().find(|(n, _, _)| n == key) else {
                return Err(ChangeError::Invalid {
                    field: key.clone(),
                    message: format!(
                        "unknown field; fields are {}",
                        effective
                            .fields
                            .iter()
                            .map(|(n, _, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            };
            if current.source == Some(Source::Config) {
                let section = match name {
                    Name::Brightpearl => "brightpearl",
                    Name::Dsco => "dsco",
                };
                return Err(ChangeError::SetInConfig {
                    key: format!("{section}.{key}"),
                });
            }
            let value = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) if s.trim().is_empty() => None,
                serde_json::Value::String(s) => Some(s.trim().to_owned()),
                _ => {
                    return Err(ChangeError::Invalid {
                        field: key.clone(),
                        message: "expected a string or null".into(),
                    });
                }
            };
            if key == "base_url"
                && let Some(v) = &value
            {
                match url::Url::parse(v) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        if name == Name::Brightpearl && u.path() != "/" {
                            return Err(ChangeError::Invalid {
                                field: key.clone(),
                                message: "must be scheme and host only (the client adds /public-api/{account})".into(),
                            });
                        }
                    }
                    _ => {
                        return Err(ChangeError::Invalid {
                            field: key.clone(),
                            message: format!("{v:?} is not an http(s) URL"),
                        });
                    }
                }
            }
            values.push((key.clone(), value));
        }
        let mut state = self.stored.write().unwrap_or_else(|p| p.into_inner());
        match name {
            Name::Brightpearl => {
                let mut next = state.brightpearl.clone();
                for (key, value) in values {
                    match key.as_str() {
                        "base_url" => {
                            next.base_url = value.map(|v| v.trim_end_matches('/').to_owned())
                        }
                        "account" => next.account = value,
                        "app_ref" => next.app_ref = value,
                        "account_token" => next.account_token = value,
                        "staff_token" => next.staff_token = value,
                        _ => {}
                    }
                }
                self.store
                    .write(|tx| tx.put_document(BRIGHTPEARL_DOC, &next))?;
                state.brightpearl = next;
                *lock(&self.brightpearl_client) = None;
            }
            Name::Dsco => {
                let mut next = state.dsco.clone();
                for (key, value) in values {
                    match key.as_str() {
                        "base_url" => {
                            next.base_url = value.map(|v| v.trim_end_matches('/').to_owned())
                        }
                        "client_id" => next.client_id = value,
                        "client_secret" => next.client_secret = value,
                        "api_key" => next.api_key = value,
                        _ => {}
                    }
                }
                self.store.write(|tx| tx.put_document(DSCO_DOC, &next))?;
                state.dsco = next;
            }
        }
        // Clients are dropped only after the credentials lock is released: `brightpearl()` and
        // `dsco()` take the client lock first, then the credentials, so the order must match.
        drop(state);
        match name {
            Name::Brightpearl => *lock(&self.brightpearl_client) = None,
            Name::Dsco => *lock(&self.dsco_client) = None,
        }
        Ok(self.view(name))
    }

    /// Upstream messages may quote a credential back (Brightpearl's "Invalid instance token: …"):
    /// mask every secret we know before the text leaves the process.
    pub fn redact(&self, mut text: String) -> String {
        let secrets: Vec<String> = ["account_token", "staff_token"]
            .iter()
            .filter_map(|k| self.brightpearl_effective().get(k))
            .chain(
                ["client_secret", "api_key"]
                    .iter()
                    .filter_map(|k| self.dsco_effective().get(k)),
            )
            .filter(|s| s.len() >= 4)
            .collect();
        for secret in secrets {
            text = text.replace(&secret, "***");
        }
        text
    }

    /// Make one real call with the current credentials and say what happened.
    pub async fn test(&self, name: Name) -> TestResult {
        match name {
            Name::Brightpearl => match self.brightpearl() {
                Err(missing) => TestResult {
                    ok: false,
                    detail: missing,
                },
                Ok(client) => match client.ping().await {
                    Ok(()) => TestResult {
                        ok: true,
                        detail: "Brightpearl answered with these credentials".into(),
                    },
                    Err(e) => TestResult {
                        ok: false,
                        detail: self.redact(format!("Brightpearl refused or failed: {e}")),
                    },
                },
            },
            Name::Dsco => match self.dsco() {
                Err(missing) => TestResult {
                    ok: false,
                    detail: missing,
                },
                Ok(client) => match client.ping().await {
                    Ok(()) => TestResult {
                        ok: true,
                        detail: "DSCO issued a token for these credentials".into(),
                    },
                    Err(e) => TestResult {
                        ok: false,
                        detail: self.redact(format!("DSCO refused or failed: {e}")),
                    },
                },
            },
        }
    }
}
