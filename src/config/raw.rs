//! The configuration as written: [`RawConfig`] and its sections, one serde struct per TOML table
//! with `deny_unknown_fields`, each key with its default in its section's `Default`. Adding a key
//! is one field here (plus a check in `convert.rs` if it needs one).
//!
//! Also the environment layer, and [`read`], which turns the merged layers into a `RawConfig`
//! while naming every unknown key and wrong type, not just the first.

use std::collections::BTreeMap;

use figment::error::Kind;
use figment::providers::Serialized;
use figment::value::{Dict, Num, Value};
use serde::{Deserialize, Serialize};

use super::ENV_PREFIX;
use crate::problem::Problem;
use crate::secret::Secret;

/// The whole file. Strings stay strings here; `convert.rs` parses them and says what is wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// Where the store, `api.addr` and a generated `api.token` live.
    pub state_dir: String,
    /// How long a stop waits for running flows (humantime).
    pub shutdown_grace: String,
    pub log: RawLog,
    pub api: RawApi,
    pub public: RawPublic,
    pub brightpearl: RawBrightpearl,
    pub dsco: RawDsco,
    pub scheduler: RawScheduler,
    /// `<flow>` (its first mode) or `<flow>_<mode>` → six-field cron schedule; absent or
    /// empty = off.
    pub schedules: BTreeMap<String, String>,
    pub records: RawRecords,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            state_dir: "/var/lib/dsco-brightpearl".into(),
            shutdown_grace: "30s".into(),
            log: RawLog::default(),
            api: RawApi::default(),
            public: RawPublic::default(),
            brightpearl: RawBrightpearl::default(),
            dsco: RawDsco::default(),
            scheduler: RawScheduler::default(),
            schedules: BTreeMap::new(),
            records: RawRecords::default(),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLog {
    /// tracing filter; an empty one means this default.
    pub filter: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            filter: "info".into(),
        }
    }
}

/// `[api]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawApi {
    pub listen: String,
    pub token: Option<Secret<String>>,
    pub token_file: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
}

impl Default for RawApi {
    fn default() -> Self {
        RawApi {
            listen: "127.0.0.1:8700".into(),
            token: None,
            token_file: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// `[public]`: the listener Brightpearl's webhooks reach. Everything unset = no listener.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawPublic {
    pub listen: Option<String>,
    /// The address Brightpearl calls, as seen from outside (a TLS proxy's, usually).
    pub url: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
}

const CONNECT_TIMEOUT: &str = "10s";
const REQUEST_TIMEOUT: &str = "30s";

/// `[brightpearl]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBrightpearl {
    pub base_url: Option<String>,
    pub account: Option<String>,
    pub app_ref: Option<String>,
    pub account_token: Option<Secret<String>>,
    pub account_token_file: Option<String>,
    pub staff_token: Option<Secret<String>>,
    pub staff_token_file: Option<String>,
    pub connect_timeout: String,
    pub request_timeout: String,
}

impl Default for RawBrightpearl {
    fn default() -> Self {
        RawBrightpearl {
            base_url: None,
            account: None,
            app_ref: None,
            account_token: None,
            account_token_file: None,
            staff_token: None,
            staff_token_file: None,
            connect_timeout: CONNECT_TIMEOUT.into(),
            request_timeout: REQUEST_TIMEOUT.into(),
        }
    }
}

/// `[dsco]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawDsco {
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
    pub client_secret_file: Option<String>,
    pub api_key: Option<Secret<String>>,
    pub api_key_file: Option<String>,
    pub connect_timeout: String,
    pub request_timeout: String,
    /// An unanswered batch write found nowhere in the change log is sent again only when a
    /// second search this long after the first still finds nothing.
    pub settle_grace: String,
}

impl Default for RawDsco {
    fn default() -> Self {
        RawDsco {
            base_url: None,
            client_id: None,
            client_secret: None,
            client_secret_file: None,
            api_key: None,
            api_key_file: None,
            connect_timeout: CONNECT_TIMEOUT.into(),
            request_timeout: REQUEST_TIMEOUT.into(),
            settle_grace: "15m".into(),
        }
    }
}

/// `[scheduler]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawScheduler {
    /// IANA time zone the schedules are read in.
    pub timezone: String,
}

impl Default for RawScheduler {
    fn default() -> Self {
        RawScheduler {
            timezone: "UTC".into(),
        }
    }
}

/// `[records]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawRecords {
    /// Signed, so a negative number is told its range rather than its type.
    pub retention_days: i64,
    /// How long a record's transient failures are retried before a person is asked (humantime).
    pub give_up_after: String,
    /// A run ending with records due within this long is followed by one more run (humantime).
    pub retry_soon: String,
}

impl Default for RawRecords {
    fn default() -> Self {
        RawRecords {
            retention_days: 30,
            give_up_after: "24h".into(),
            retry_soon: "30s".into(),
        }
    }
}

/// Deserialize the merged layers into a [`RawConfig`], naming every unknown key and wrong type.
///
/// serde stops at the first error, so each failure is recorded with its dotted key and that key
/// is dropped (its default applies) before the next attempt; every attempt removes one key, so
/// this ends.
pub(super) fn read(mut dict: Dict, problems: &mut Vec<Problem>) -> RawConfig {
    loop {
        let error = match Value::from(dict.clone()).deserialize::<RawConfig>() {
            Ok(raw) => return raw,
            Err(error) => error,
        };
        problems.push(Problem::new(error.path.join("."), describe(&error.kind)));
        if !remove(&mut dict, &error.path) {
            // Nothing left to drop (an error about the document itself): the problem is
            // recorded, so the defaults stand in and loading fails anyway.
            return RawConfig::default();
        }
    }
}

/// A serde error in the words the example config uses.
fn describe(kind: &Kind) -> String {
    match kind {
        Kind::UnknownField(..) => "unknown key".into(),
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
            let expected = match expected.as_str() {
                "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => "a whole number",
                "a map" => "a table",
                other if other.starts_with("struct ") => "a table",
                other => other,
            };
            format!("expected {expected}")
        }
        other => other.to_string(),
    }
}

/// Drop the entry at `path`; inside an array or a non-table, the whole entry that holds it.
fn remove(dict: &mut Dict, path: &[String]) -> bool {
    match path {
        [] => false,
        [key] => dict.remove(key).is_some(),
        [key, rest @ ..] => {
            let removed_inside = match dict.get_mut(key) {
                Some(Value::Dict(_, inner)) => remove(inner, rest),
                _ => false,
            };
            removed_inside || dict.remove(key).is_some()
        }
    }
}

/// The environment layer: `DSCO_BRIGHTPEARL_A__B=v` → `a.b = v`. The environment only speaks
/// strings, so a value becomes a number or a boolean where the key's default is one.
pub(super) fn env_layer(vars: &[(String, String)]) -> Serialized<Dict> {
    let defaults = Value::serialize(RawConfig::default()).ok();
    let mut root = Dict::new();
    for (name, text) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        let default = defaults.as_ref().and_then(|d| d.find_ref(&path.join(".")));
        let value = match default {
            Some(Value::Num(..)) => text.parse::<Num>().map(Value::from).ok(),
            Some(Value::Bool(..)) => text.parse::<bool>().map(Value::from).ok(),
            _ => None,
        }
        .unwrap_or_else(|| Value::from(text.clone()));
        insert_path(&mut root, &path, value);
    }
    Serialized::defaults(root)
}

fn insert_path(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [head, rest @ ..] => {
            let entry = dict
                .entry(head.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}
