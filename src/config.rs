//! Configuration: figment layers (built-in defaults → TOML file → `DSCO_BRIGHTPEARL_*` environment),
//! checked as a whole into a typed [`Config`].
//!
//! Loading never stops at the first mistake: unknown keys, wrong types, bad cron strings, URLs,
//! durations and unreadable `*_file` secrets are all collected into one [`Error::Invalid`], each
//! naming its key. Secrets live in [`Secret`] and never print.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::Figment;
use figment::Provider;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use serde::Serialize;

use crate::flow_name::FlowName;
use crate::secret::Secret;

/// Where the daemon looks for its config file when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/dsco-brightpearl/config.toml";
/// Environment prefix; `__` separates nesting levels (`DSCO_BRIGHTPEARL_API__LISTEN`).
pub const ENV_PREFIX: &str = "DSCO_BRIGHTPEARL_";

/// A configuration that failed to load.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, Problems(.0))]
    Invalid(Vec<Problem>),
}

/// One configuration mistake, naming its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {}: {}", p.key, p.message)?;
        }
        Ok(())
    }
}

impl Error {
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid(p) => p,
        }
    }
}

/// The effective, validated configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub state_dir: PathBuf,
    #[serde(with = "humantime_serde_str")]
    pub shutdown_grace: Duration,
    pub log: LogConfig,
    pub api: ApiConfig,
    pub brightpearl: BrightpearlConfig,
    pub dsco: DscoConfig,
    pub scheduler: SchedulerConfig,
    pub schedules: BTreeMap<FlowName, String>,
    pub records: RecordsConfig,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogConfig {
    pub filter: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    /// `None`: the daemon generates one into `<state_dir>/api.token` at first start.
    pub token: Option<Secret<String>>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BrightpearlConfig {
    pub base_url: Option<url::Url>,
    pub account: Option<String>,
    pub app_ref: Option<String>,
    pub account_token: Option<Secret<String>>,
    pub staff_token: Option<Secret<String>>,
    #[serde(with = "humantime_serde_str")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde_str")]
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DscoConfig {
    pub base_url: Option<url::Url>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
    pub api_key: Option<Secret<String>>,
    #[serde(with = "humantime_serde_str")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde_str")]
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchedulerConfig {
    #[serde(serialize_with = "serialize_display")]
    pub timezone: chrono_tz::Tz,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordsConfig {
    pub retention_days: u32,
}

fn serialize_display<T: fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

mod humantime_serde_str {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }
}

/// What the built-in defaults are, as the TOML layer would spell them.
fn defaults() -> Dict {
    let toml = r#"
state_dir = "/var/lib/dsco-brightpearl"
shutdown_grace = "30s"
[log]
filter = "info"
[api]
listen = "127.0.0.1:8700"
[brightpearl]
connect_timeout = "10s"
request_timeout = "30s"
[dsco]
connect_timeout = "10s"
request_timeout = "30s"
[scheduler]
timezone = "UTC"
[schedules]
[records]
retention_days = 30
"#;
    match Toml::string(toml).data() {
        Ok(mut profiles) => profiles
            .remove(&figment::Profile::Default)
            .unwrap_or_default(),
        Err(_) => Dict::new(),
    }
}

/// The kind of value a key takes.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Int,
    Table,
}

/// Every key the file and the environment may set, with its kind.
const KEYS: &[(&str, Kind)] = &[
    ("state_dir", Kind::Str),
    ("shutdown_grace", Kind::Str),
    ("log", Kind::Table),
    ("log.filter", Kind::Str),
    ("api", Kind::Table),
    ("api.listen", Kind::Str),
    ("api.token", Kind::Str),
    ("api.token_file", Kind::Str),
    ("api.tls_cert", Kind::Str),
    ("api.tls_key", Kind::Str),
    ("brightpearl", Kind::Table),
    ("brightpearl.base_url", Kind::Str),
    ("brightpearl.account", Kind::Str),
    ("brightpearl.app_ref", Kind::Str),
    ("brightpearl.account_token", Kind::Str),
    ("brightpearl.account_token_file", Kind::Str),
    ("brightpearl.staff_token", Kind::Str),
    ("brightpearl.staff_token_file", Kind::Str),
    ("brightpearl.connect_timeout", Kind::Str),
    ("brightpearl.request_timeout", Kind::Str),
    ("dsco", Kind::Table),
    ("dsco.base_url", Kind::Str),
    ("dsco.client_id", Kind::Str),
    ("dsco.client_secret", Kind::Str),
    ("dsco.client_secret_file", Kind::Str),
    ("dsco.api_key", Kind::Str),
    ("dsco.api_key_file", Kind::Str),
    ("dsco.connect_timeout", Kind::Str),
    ("dsco.request_timeout", Kind::Str),
    ("scheduler", Kind::Table),
    ("scheduler.timezone", Kind::Str),
    ("schedules", Kind::Table),
    ("records", Kind::Table),
    ("records.retention_days", Kind::Int),
];

/// Where the configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The file given with `--config`; `None` reads [`DEFAULT_CONFIG_PATH`] if it exists.
    pub file: Option<PathBuf>,
    /// Environment variables to read (the process environment when `None`).
    pub env: Option<Vec<(String, String)>>,
}

impl Config {
    /// Load from the process environment and `file` (or the default path).
    pub fn load(file: Option<&Path>) -> Result<Config, Error> {
        Config::load_from(&Sources {
            file: file.map(Path::to_path_buf),
            env: None,
        })
    }

    /// Load from explicit sources: the layering is defaults → file → environment.
    pub fn load_from(sources: &Sources) -> Result<Config, Error> {
        let mut problems = Vec::new();
        let mut figment = Figment::from(Serialized::defaults(defaults()));
        match &sources.file {
            Some(path) if !path.exists() => problems.push(Problem {
                key: "--config".into(),
                message: format!("file {} does not exist", path.display()),
            }),
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => {
                if Path::new(DEFAULT_CONFIG_PATH).exists() {
                    figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_PATH));
                }
            }
        }
        let env_vars: Vec<(String, String)> = match &sources.env {
            Some(vars) => vars.clone(),
            None => std::env::vars().collect(),
        };
        figment = figment.merge(env_provider(&env_vars));

        let dict = match figment.extract::<Dict>() {
            Ok(d) => d,
            Err(e) => {
                for err in e {
                    problems.push(Problem {
                        key: err.path.join("."),
                        message: err.kind.to_string(),
                    });
                }
                return Err(Error::Invalid(problems));
            }
        };
        check_keys(&dict, "", &mut problems);
        let raw = Raw { dict: &dict };
        let config = build(&raw, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(Error::Invalid(problems))
        }
    }

    /// Whether a flow has a schedule (absent or empty = off).
    pub fn schedule(&self, flow: FlowName) -> Option<&str> {
        self.schedules.get(&flow).map(String::as_str)
    }

    /// The effective configuration as TOML-ish JSON with every secret shown as `***`.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The file the store lives in.
    pub fn store_path(&self) -> PathBuf {
        self.state_dir.join("dsco-brightpearl.redb")
    }
}

/// The environment layer: `DSCO_BRIGHTPEARL_A__B=v` → `a.b = v`.
fn env_provider(vars: &[(String, String)]) -> Serialized<Dict> {
    let mut root = Dict::new();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        let value = if path.last().map(String::as_str) == Some("retention_days") {
            value
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(value.clone()))
        } else {
            Value::from(value.clone())
        };
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

fn check_keys(dict: &Dict, prefix: &str, problems: &mut Vec<Problem>) {
    for (key, value) in dict {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if prefix == "schedules" {
            if FlowName::from_str(key).is_err() {
                problems.push(Problem {
                    key: path,
                    message: format!("unknown flow; flows are {}", FlowName::list()),
                });
            } else if !matches!(value, Value::String(..)) {
                problems.push(Problem {
                    key: path,
                    message: "expected a cron string".into(),
                });
            }
            continue;
        }
        let Some((_, kind)) = KEYS.iter().find(|(k, _)| *k == path) else {
            problems.push(Problem {
                key: path,
                message: "unknown key".into(),
            });
            continue;
        };
        match (kind, value) {
            (Kind::Table, Value::Dict(_, inner)) => check_keys(inner, &path, problems),
            (Kind::Str, Value::String(..)) | (Kind::Int, Value::Num(..)) => {}
            (expected, _) => problems.push(Problem {
                key: path,
                message: match expected {
                    Kind::Str => "expected a string",
                    Kind::Int => "expected a whole number",
                    Kind::Table => "expected a table",
                }
                .into(),
            }),
        }
    }
}

/// Typed reads out of the merged dictionary; every miss or mistake becomes a [`Problem`].
struct Raw<'a> {
    dict: &'a Dict,
}

impl Raw<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        let mut parts = key.split('.');
        let first = parts.next()?;
        let mut value = self.dict.get(first)?;
        for part in parts {
            value = value.as_dict()?.get(part)?;
        }
        Some(value)
    }

    /// A string value; empty strings count as unset.
    fn string(&self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    fn secret(&self, key: &str, problems: &mut Vec<Problem>) -> Option<Secret<String>> {
        let file_key = format!("{key}_file");
        let inline = self.string(key);
        let file = self.string(&file_key);
        match (inline, file) {
            (Some(_), Some(_)) => {
                problems.push(Problem {
                    key: file_key,
                    message: format!("set either {key} or {key}_file, not both"),
                });
                None
            }
            (Some(v), None) => Some(Secret::new(v)),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(contents) if contents.trim().is_empty() => {
                    problems.push(Problem {
                        key: file_key,
                        message: format!("file {path} is empty"),
                    });
                    None
                }
                Ok(contents) => Some(Secret::new(contents.trim().to_owned())),
                Err(e) => {
                    problems.push(Problem {
                        key: file_key,
                        message: format!("cannot read {path}: {e}"),
                    });
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn duration(&self, key: &str, problems: &mut Vec<Problem>) -> Duration {
        let text = self.string(key).unwrap_or_default();
        match humantime::parse_duration(&text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(Problem {
                    key: key.into(),
                    message: format!("{text:?} is not a duration like \"30s\" or \"2m\" ({e})"),
                });
                Duration::ZERO
            }
        }
    }

    fn url(&self, key: &str, problems: &mut Vec<Problem>) -> Option<url::Url> {
        let text = self.string(key)?;
        match url::Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(_) => {
                problems.push(Problem {
                    key: key.into(),
                    message: format!("{text:?} must be an http(s) URL with a host"),
                });
                None
            }
            Err(e) => {
                problems.push(Problem {
                    key: key.into(),
                    message: format!("{text:?} is not a URL ({e})"),
                });
                None
            }
        }
    }
}

fn build(raw: &Raw<'_>, problems: &mut Vec<Problem>) -> Config {
    // Relative paths are allowed (tests, the sandbox); an empty one is not.
    let state_dir = PathBuf::from(raw.string("state_dir").unwrap_or_default());
    if state_dir.as_os_str().is_empty() {
        problems.push(Problem {
            key: "state_dir".into(),
            message: "must not be empty".into(),
        });
    }
    let shutdown_grace = raw.duration("shutdown_grace", problems);

    let listen_text = raw.string("api.listen").unwrap_or_default();
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            problems.push(Problem {
                key: "api.listen".into(),
                message: format!("{listen_text:?} is not an address like 127.0.0.1:8700"),
            });
            SocketAddr::from(([127, 0, 0, 1], 8700))
        }
    };
    let tls_cert = raw.string("api.tls_cert").map(PathBuf::from);
    let tls_key = raw.string("api.tls_key").map(PathBuf::from);
    match (&tls_cert, &tls_key) {
        (Some(_), None) => problems.push(Problem {
            key: "api.tls_key".into(),
            message: "required when api.tls_cert is set".into(),
        }),
        (None, Some(_)) => problems.push(Problem {
            key: "api.tls_cert".into(),
            message: "required when api.tls_key is set".into(),
        }),
        _ => {}
    }
    for (key, path) in [("api.tls_cert", &tls_cert), ("api.tls_key", &tls_key)] {
        if let Some(p) = path
            && !p.is_file()
        {
            problems.push(Problem {
                key: key.into(),
                message: format!("file {} does not exist", p.display()),
            });
        }
    }
    let api = ApiConfig {
        listen,
        token: raw.secret("api.token", problems),
        tls_cert,
        tls_key,
    };

    let brightpearl = BrightpearlConfig {
        base_url: raw.url("brightpearl.base_url", problems),
        account: raw.string("brightpearl.account"),
        app_ref: raw.string("brightpearl.app_ref"),
        account_token: raw.secret("brightpearl.account_token", problems),
        staff_token: raw.secret("brightpearl.staff_token", problems),
        connect_timeout: raw.duration("brightpearl.connect_timeout", problems),
        request_timeout: raw.duration("brightpearl.request_timeout", problems),
    };
    if let Some(url) = &brightpearl.base_url
        && url.path() != "/"
        && !url.path().is_empty()
    {
        problems.push(Problem {
            key: "brightpearl.base_url".into(),
            message: format!(
                "{url} must be scheme and host only (the client adds /public-api/{{account}})"
            ),
        });
    }
    let dsco = DscoConfig {
        base_url: raw.url("dsco.base_url", problems),
        client_id: raw.string("dsco.client_id"),
        client_secret: raw.secret("dsco.client_secret", problems),
        api_key: raw.secret("dsco.api_key", problems),
        connect_timeout: raw.duration("dsco.connect_timeout", problems),
        request_timeout: raw.duration("dsco.request_timeout", problems),
    };

    let tz_text = raw.string("scheduler.timezone").unwrap_or_default();
    let timezone = match tz_text.parse::<chrono_tz::Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            problems.push(Problem {
                key: "scheduler.timezone".into(),
                message: format!(
                    "{tz_text:?} is not an IANA time zone like \"UTC\" or \"America/New_York\""
                ),
            });
            chrono_tz::UTC
        }
    };

    let mut schedules = BTreeMap::new();
    if let Some(table) = raw.get("schedules").and_then(Value::as_dict) {
        for (name, value) in table {
            let (Ok(flow), Some(text)) = (FlowName::from_str(name), value.as_str()) else {
                continue; // reported by check_keys
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match crate::scheduler::parse_cron(text) {
                Ok(_) => {
                    schedules.insert(flow, text.to_owned());
                }
                Err(e) => problems.push(Problem {
                    key: format!("schedules.{name}"),
                    message: format!(
                        "{text:?} is not a six-field cron schedule with seconds, like \"0 */5 * * * *\" ({e})"
                    ),
                }),
            }
        }
    }

    let retention_days = match raw.get("records.retention_days") {
        Some(Value::Num(_, n)) => match n.to_i128().or_else(|| n.to_u128().map(|v| v as i128)) {
            Some(v) if (1..=36_500).contains(&v) => v as u32,
            _ => {
                problems.push(Problem {
                    key: "records.retention_days".into(),
                    message: "must be a whole number of days from 1 to 36500".into(),
                });
                30
            }
        },
        _ => 30,
    };

    Config {
        state_dir,
        shutdown_grace,
        log: LogConfig {
            filter: raw.string("log.filter").unwrap_or_else(|| "info".into()),
        },
        api,
        brightpearl,
        dsco,
        scheduler: SchedulerConfig { timezone },
        schedules,
        records: RecordsConfig { retention_days },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load_from(&Sources {
            file: Some(path),
            env: Some(
                env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        })
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.api.listen.to_string(), "127.0.0.1:8700");
        assert_eq!(c.shutdown_grace, Duration::from_secs(30));
        assert_eq!(c.records.retention_days, 30);
        assert_eq!(c.scheduler.timezone, chrono_tz::UTC);
        assert!(c.schedules.is_empty());
        assert!(c.brightpearl.base_url.is_none());
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let c = load(
            "state_dir = \"/tmp/x\"\n[api]\nlisten = \"127.0.0.1:9000\"\n[log]\nfilter = \"debug\"\n",
            &[
                ("DSCO_BRIGHTPEARL_API__LISTEN", "127.0.0.1:0"),
                ("DSCO_BRIGHTPEARL_RECORDS__RETENTION_DAYS", "7"),
                ("DSCO_BRIGHTPEARL_SCHEDULES__ORDERS", "0 */5 * * * *"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.api.listen.port(), 0);
        assert_eq!(c.log.filter, "debug");
        assert_eq!(c.state_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.records.retention_days, 7);
        assert_eq!(c.schedule(FlowName::Orders), Some("0 */5 * * * *"));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_key() {
        let err = load(
            r#"
shutdown_grace = "soon"
colour = "blue"
[api]
listen = "nowhere"
[brightpearl]
base_url = "not a url"
account_token = "a"
account_token_file = "/nonexistent"
[dsco]
base_url = "ftp://x"
client_secret_file = "/definitely/not/here"
[schedules]
orders = "every five minutes"
shipping = "0 * * * * *"
[scheduler]
timezone = "Mars/Olympus"
[records]
retention_days = "many"
"#,
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
        let expected = [
            "colour",
            "schedules.shipping",
            "records.retention_days",
            "shutdown_grace",
            "api.listen",
            "brightpearl.base_url",
            "brightpearl.account_token_file",
            "dsco.base_url",
            "dsco.client_secret_file",
            "schedules.orders",
            "scheduler.timezone",
        ];
        for key in expected {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert_eq!(keys.len(), expected.len(), "{keys:?}");
        let text = err.to_string();
        assert!(text.contains("11 problems"), "{text}");
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("token");
        std::fs::write(&secret, "s3cr3t-token\n").unwrap();
        let c = load(
            &format!(
                "[brightpearl]\naccount_token_file = \"{}\"\n[api]\ntoken = \"api-s3cr3t\"\n",
                secret.display()
            ),
            &[("DSCO_BRIGHTPEARL_DSCO__CLIENT_SECRET", "dsco-s3cr3t")],
        )
        .unwrap();
        assert_eq!(
            c.brightpearl.account_token.as_ref().unwrap().expose(),
            "s3cr3t-token"
        );
        let shown = format!("{c:?} {}", c.redacted());
        for s in ["s3cr3t-token", "api-s3cr3t", "dsco-s3cr3t"] {
            assert!(!shown.contains(s), "{s} leaked");
        }
    }

    #[test]
    fn empty_schedule_means_off_and_unknown_env_key_is_named() {
        let c = load("[schedules]\norders = \"\"\n", &[]).unwrap();
        assert_eq!(c.schedule(FlowName::Orders), None);
        let err = load("", &[("DSCO_BRIGHTPEARL_API__PORT", "1")]).unwrap_err();
        assert_eq!(err.problems()[0].key, "api.port");
    }

    #[test]
    fn brightpearl_base_url_must_be_host_only() {
        let err = load(
            "[brightpearl]\nbase_url = \"https://use1.brightpearlconnect.com/public-api/x\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(err.problems()[0].key, "brightpearl.base_url");
    }
}
