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

impl Name {
    /// This connection's fields, in display order.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Name::Brightpearl => BRIGHTPEARL_FIELDS,
            Name::Dsco => DSCO_FIELDS,
        }
    }

    /// The config file table that sets this connection's fields.
    fn section(self) -> &'static str {
        match self {
            Name::Brightpearl => "brightpearl",
            Name::Dsco => "dsco",
        }
    }
}

/// One credential field: its name (in the API, the store and the config table) and whether its
/// value is a secret, which is never shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub secret: bool,
}

impl FieldSpec {
    const fn plain(name: &'static str) -> FieldSpec {
        FieldSpec {
            name,
            secret: false,
        }
    }

    const fn secret(name: &'static str) -> FieldSpec {
        FieldSpec { name, secret: true }
    }
}

/// Brightpearl's fields. A token is either the account token or a staff token.
pub const BRIGHTPEARL_FIELDS: &[FieldSpec] = &[
    FieldSpec::plain("base_url"),
    FieldSpec::plain("account"),
    FieldSpec::plain("app_ref"),
    FieldSpec::secret("account_token"),
    FieldSpec::secret("staff_token"),
];

/// DSCO's fields: OAuth2 client credentials, or the legacy API key.
pub const DSCO_FIELDS: &[FieldSpec] = &[
    FieldSpec::plain("base_url"),
    FieldSpec::plain("client_id"),
    FieldSpec::secret("client_secret"),
    FieldSpec::secret("api_key"),
];

/// Brightpearl credentials as stored through the API. Every value is held as a [`Secret`] and
/// written in clear only into the store document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredBrightpearl {
    #[serde(with = "in_clear")]
    pub base_url: Option<Secret<String>>,
    #[serde(with = "in_clear")]
    pub account: Option<Secret<String>>,
    #[serde(with = "in_clear")]
    pub app_ref: Option<Secret<String>>,
    #[serde(with = "in_clear")]
    pub account_token: Option<Secret<String>>,
    #[serde(with = "in_clear")]
    pub staff_token: Option<Secret<String>>,
}

impl StoredBrightpearl {
    /// The stored value of a field of [`BRIGHTPEARL_FIELDS`].
    fn slot(&mut self, field: &str) -> Option<&mut Option<Secret<String>>> {
        match field {
            "base_url" => Some(&mut self.base_url),
            "account" => Some(&mut self.account),
            "app_ref" => Some(&mut self.app_ref),
            "account_token" => Some(&mut self.account_token),
            "staff_token" => Some(&mut self.staff_token),
            _ => None,
        }
    }
}

/// DSCO credentials as stored through the API, held like [`StoredBrightpearl`]'s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredDsco {
    #[serde(with = "in_clear")]
    pub base_url: Option<Secret<String>>,
    #[serde(with = "in_clear")]
    pub client_id: Option<Secret<String>>,
    #[serde(with = "in_clear")]
    pub client_secret: Option<Secret<String>>,
    #[serde(with = "in_clear")]
    pub api_key: Option<Secret<String>>,
}

impl StoredDsco {
    /// The stored value of a field of [`DSCO_FIELDS`].
    fn slot(&mut self, field: &str) -> Option<&mut Option<Secret<String>>> {
        match field {
            "base_url" => Some(&mut self.base_url),
            "client_id" => Some(&mut self.client_id),
            "client_secret" => Some(&mut self.client_secret),
            "api_key" => Some(&mut self.api_key),
            _ => None,
        }
    }
}

/// Store documents keep the value itself: `Secret`'s own `Serialize` would write `***`.
mod in_clear {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::secret::Secret;

    pub fn serialize<S: Serializer>(
        value: &Option<Secret<String>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_ref().map(Secret::expose).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Secret<String>>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(Secret::new))
    }
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
    spec: FieldSpec,
    value: Option<Secret<String>>,
    source: Option<Source>,
}

/// The config's value wins; a stored one counts unless it is blank.
fn field(
    spec: FieldSpec,
    config: Option<Secret<String>>,
    stored: Option<&Secret<String>>,
) -> Field {
    let (value, source) = match (config, stored) {
        (Some(v), _) => (Some(v), Some(Source::Config)),
        (None, Some(v)) if !v.expose().trim().is_empty() => (Some(v.clone()), Some(Source::Store)),
        _ => (None, None),
    };
    Field {
        spec,
        value,
        source,
    }
}

/// Effective fields of one connection, in display order.
struct Effective {
    fields: Vec<Field>,
}

impl Effective {
    fn get(&self, name: &str) -> Option<&Secret<String>> {
        self.fields
            .iter()
            .find(|f| f.spec.name == name)
            .and_then(|f| f.value.as_ref())
    }

    /// The value of a field that is not a secret (ids, names, URLs).
    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.expose().clone())
    }

    fn view(&self, name: Name, missing: Option<String>) -> ConnectionView {
        ConnectionView {
            name,
            configured: missing.is_none(),
            missing,
            fields: self
                .fields
                .iter()
                .map(|f| {
                    (
                        f.spec.name.to_owned(),
                        FieldView {
                            set: f.value.is_some(),
                            source: f.source,
                            secret: f.spec.secret,
                            value: match f.spec.secret {
                                true => None,
                                false => f.value.as_ref().map(|v| v.expose().clone()),
                            },
                        },
                    )
                })
                .collect(),
        }
    }
}

/// The effective `base_url` parsed, or what is missing noted.
fn base_url(e: &Effective, missing: &mut Vec<&'static str>) -> Option<url::Url> {
    match e.get("base_url").map(|u| url::Url::parse(u.expose())) {
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

/// A `base_url` sent to the API, without its trailing slash; Brightpearl's is scheme and host only.
fn check_base_url(name: Name, text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            if name == Name::Brightpearl && u.path() != "/" {
                return Err(
                    "must be scheme and host only (the client adds /public-api/{account})".into(),
                );
            }
            Ok(text.trim_end_matches('/').to_owned())
        }
        _ => Err(format!("{text:?} is not an http(s) URL")),
    }
}

/// What the config file sets for a connection's field.
fn config_value(config: &Config, name: Name, field: &str) -> Option<Secret<String>> {
    fn url(u: &Option<url::Url>) -> Option<Secret<String>> {
        u.as_ref()
            .map(|u| Secret::new(u.as_str().trim_end_matches('/').to_owned()))
    }
    fn text(t: &Option<String>) -> Option<Secret<String>> {
        t.clone().map(Secret::new)
    }
    let (bp, dsco) = (&config.brightpearl, &config.dsco);
    match (name, field) {
        (Name::Brightpearl, "base_url") => url(&bp.base_url),
        (Name::Brightpearl, "account") => text(&bp.account),
        (Name::Brightpearl, "app_ref") => text(&bp.app_ref),
        (Name::Brightpearl, "account_token") => bp.account_token.clone(),
        (Name::Brightpearl, "staff_token") => bp.staff_token.clone(),
        (Name::Dsco, "base_url") => url(&dsco.base_url),
        (Name::Dsco, "client_id") => text(&dsco.client_id),
        (Name::Dsco, "client_secret") => dsco.client_secret.clone(),
        (Name::Dsco, "api_key") => dsco.api_key.clone(),
        _ => None,
    }
}

#[derive(Clone)]
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

    /// Each field of a connection: from the config, else from the store.
    fn effective(&self, name: Name) -> Effective {
        // A copy, so the lock is not held while the fields are built.
        let mut state = self
            .stored
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let fields = name
            .fields()
            .iter()
            .map(|spec| {
                let stored = match name {
                    Name::Brightpearl => state.brightpearl.slot(spec.name),
                    Name::Dsco => state.dsco.slot(spec.name),
                };
                field(
                    *spec,
                    config_value(&self.config, name, spec.name),
                    stored.and_then(|v| v.as_ref()),
                )
            })
            .collect();
        Effective { fields }
    }

    /// The Brightpearl client config, or what is missing.
    pub fn brightpearl_config(&self) -> Result<brightpearl::ClientConfig, String> {
        let e = self.effective(Name::Brightpearl);
        let mut missing = Vec::new();
        let base_url = base_url(&e, &mut missing);
        let account = e.text("account");
        if account.is_none() {
            missing.push("account");
        }
        let app_ref = e.text("app_ref");
        if app_ref.is_none() {
            missing.push("app_ref");
        }
        let token = match (e.get("account_token"), e.get("staff_token")) {
            (Some(t), _) => Some((t.clone(), brightpearl::TokenKind::Account)),
            (None, Some(t)) => Some((t.clone(), brightpearl::TokenKind::Staff)),
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
                        token,
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

    /// The connected Brightpearl account code (config or store), when set.
    pub fn brightpearl_account(&self) -> Option<String> {
        self.effective(Name::Brightpearl).text("account")
    }

    /// The DSCO client config, or what is missing.
    pub fn dsco_config(&self) -> Result<dsco::ClientConfig, String> {
        let e = self.effective(Name::Dsco);
        let mut missing = Vec::new();
        let base_url = base_url(&e, &mut missing);
        let auth = match (
            e.text("client_id"),
            e.get("client_secret"),
            e.get("api_key"),
        ) {
            (Some(client_id), Some(secret), _) => Some(dsco::Auth::ClientCredentials {
                client_id,
                client_secret: secret.clone(),
            }),
            (_, _, Some(key)) => Some(dsco::Auth::ApiKey(key.clone())),
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
        crate::sync::exactly_once::brightpearl_grace(self.config.brightpearl.request_timeout)
    }

    /// `[dsco] settle_grace`: how long after a first empty change-log search an unanswered
    /// DSCO write is searched again before it may be re-sent.
    pub fn dsco_settle_grace(&self) -> Duration {
        self.config.dsco.settle_grace
    }

    pub fn view(&self, name: Name) -> ConnectionView {
        match name {
            Name::Brightpearl => self
                .effective(name)
                .view(name, self.brightpearl_config().err()),
            Name::Dsco => self.effective(name).view(name, self.dsco_config().err()),
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
        let effective = self.effective(name);
        let mut values = Vec::new();
        for (key, value) in changes {
            let Some(current) = effective.fields.iter().find(|f| f.spec.name == key) else {
                return Err(ChangeError::Invalid {
                    field: key.clone(),
                    message: format!(
                        "unknown field; fields are {}",
                        name.fields()
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            };
            if current.source == Some(Source::Config) {
                return Err(ChangeError::SetInConfig {
                    key: format!("{}.{key}", name.section()),
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
            let value = match (current.spec.name, value) {
                ("base_url", Some(v)) => {
                    Some(
                        check_base_url(name, &v).map_err(|message| ChangeError::Invalid {
                            field: key.clone(),
                            message,
                        })?,
                    )
                }
                (_, value) => value,
            };
            values.push((current.spec.name, value.map(Secret::new)));
        }
        let mut state = self.stored.write().unwrap_or_else(|p| p.into_inner());
        match name {
            Name::Brightpearl => {
                let mut next = state.brightpearl.clone();
                for (field, value) in values {
                    if let Some(slot) = next.slot(field) {
                        *slot = value;
                    }
                }
                self.store
                    .write(|tx| tx.put_document(BRIGHTPEARL_DOC, &next))?;
                state.brightpearl = next;
            }
            Name::Dsco => {
                let mut next = state.dsco.clone();
                for (field, value) in values {
                    if let Some(slot) = next.slot(field) {
                        *slot = value;
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
        for name in [Name::Brightpearl, Name::Dsco] {
            for field in self.effective(name).fields {
                if let (true, Some(secret)) = (field.spec.secret, &field.value)
                    && secret.expose().len() >= 4
                {
                    text = text.replace(secret.expose().as_str(), "***");
                }
            }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn stored_documents_keep_values_in_clear_and_never_print_them() {
        let doc = StoredBrightpearl {
            account: Some("acme".into()),
            staff_token: Some("s3cr3t-staff".into()),
            ..StoredBrightpearl::default()
        };
        let stored = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            stored,
            json!({"base_url": null, "account": "acme", "app_ref": null,
                   "account_token": null, "staff_token": "s3cr3t-staff"})
        );
        assert_eq!(
            serde_json::from_value::<StoredBrightpearl>(stored).unwrap(),
            doc
        );
        assert_eq!(
            serde_json::from_value::<StoredDsco>(json!({"api_key": "k"})).unwrap(),
            StoredDsco {
                api_key: Some("k".into()),
                ..StoredDsco::default()
            }
        );
        assert!(!format!("{doc:?}").contains("s3cr3t"));
    }

    #[test]
    fn every_field_in_the_tables_has_a_stored_slot() {
        for spec in BRIGHTPEARL_FIELDS {
            assert!(StoredBrightpearl::default().slot(spec.name).is_some());
        }
        for spec in DSCO_FIELDS {
            assert!(StoredDsco::default().slot(spec.name).is_some());
        }
        let secrets: Vec<&str> = [BRIGHTPEARL_FIELDS, DSCO_FIELDS]
            .concat()
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            secrets,
            ["account_token", "staff_token", "client_secret", "api_key"]
        );
    }
}
