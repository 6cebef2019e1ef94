//! Configuration: figment layers (serde defaults → TOML file → `DSCO_BRIGHTPEARL_*` environment
//! → `*_file` secrets), read into a [`RawConfig`] and checked as a whole into a typed [`Config`].
//!
//! Loading never stops at the first mistake: unknown keys, wrong types, bad cron strings, URLs,
//! durations and unreadable `*_file` secrets are all collected into one [`Error::Invalid`], each
//! naming its key. Secrets live in [`Secret`] and never print. `raw.rs` holds every key and its
//! default; `convert.rs` the checks.

mod convert;
mod raw;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use figment::value::Dict;
use serde::Serialize;

pub use self::raw::{
    RawApi, RawBrightpearl, RawConfig, RawDsco, RawLog, RawPublic, RawRecords, RawScheduler,
};
use crate::flow_name::{FlowName, Mode};
use crate::problem::Problem;
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

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {p}")?;
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
    pub public: PublicConfig,
    pub brightpearl: BrightpearlConfig,
    pub dsco: DscoConfig,
    pub scheduler: SchedulerConfig,
    /// Flow mode → its six-field cron schedule (`[schedules] <flow>` is the flow's first mode,
    /// `<flow>_<mode>` another); modes without one are absent. Shown by its config keys.
    #[serde(serialize_with = "serialize_schedules")]
    pub schedules: BTreeMap<Mode, String>,
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

/// `[public]`: the listener for Brightpearl's webhooks. `listen` unset = none (the flows' sweeps
/// still find every change, later); when set, `url` is set too (checked at load).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PublicConfig {
    pub listen: Option<SocketAddr>,
    /// Where Brightpearl reaches the listener: `https://`, or `http://` on a loopback host.
    pub url: Option<url::Url>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl PublicConfig {
    /// The public URL, when the listener is on (no listener, no hooks).
    pub fn enabled_url(&self) -> Option<&url::Url> {
        self.listen.and(self.url.as_ref())
    }
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
    /// How long after a first empty change-log search an unanswered write is searched again
    /// before it may be sent again (`[dsco] settle_grace`).
    #[serde(with = "humantime_serde_str")]
    pub settle_grace: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchedulerConfig {
    #[serde(serialize_with = "serialize_display")]
    pub timezone: chrono_tz::Tz,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordsConfig {
    pub retention_days: u32,
    /// A streak of transient failures this long makes a record `needs_attention`.
    #[serde(with = "humantime_serde_str")]
    pub give_up_after: Duration,
    /// A run ending with records due within this long schedules one follow-up run.
    #[serde(with = "humantime_serde_str")]
    pub retry_soon: Duration,
}

/// The schedules under their `[schedules]` keys (`inventory`, `inventory_full`).
fn serialize_schedules<S: serde::Serializer>(
    schedules: &BTreeMap<Mode, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(
        schedules
            .iter()
            .map(|(mode, schedule)| (mode.schedule_key(), schedule)),
    )
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
        let mut figment = Figment::new();
        match &sources.file {
            Some(path) if !path.exists() => problems.push(Problem::new(
                "--config",
                format!("file {} does not exist", path.display()),
            )),
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
        figment = figment.merge(raw::env_layer(&env_vars));

        // Only a file that is not TOML fails here; keys and types are checked by `raw::read`.
        let dict = match figment.extract::<Dict>() {
            Ok(dict) => dict,
            Err(e) => {
                for err in e {
                    problems.push(Problem::new(err.path.join("."), err.kind.to_string()));
                }
                return Err(Error::Invalid(problems));
            }
        };
        let raw = raw::read(dict, &mut problems);
        match Config::try_from(raw) {
            Ok(config) if problems.is_empty() => Ok(config),
            Ok(_) => Err(Error::Invalid(problems)),
            Err(more) => {
                problems.extend(more);
                Err(Error::Invalid(problems))
            }
        }
    }

    /// The schedule of the flow's first mode, `[schedules] <flow>` (absent or empty = off).
    pub fn schedule(&self, flow: FlowName) -> Option<&str> {
        self.mode_schedule(flow.default_mode())
    }

    /// The schedule of one mode of a flow (`[schedules] <flow>_<mode>`, or `<flow>` for its
    /// first mode).
    pub fn mode_schedule(&self, mode: Mode) -> Option<&str> {
        self.schedules.get(&mode).map(String::as_str)
    }

    /// Every scheduled mode with its schedule, by flow then mode (one cron job each).
    pub fn mode_schedules(&self) -> Vec<(Mode, String)> {
        self.schedules
            .iter()
            .map(|(mode, schedule)| (*mode, schedule.clone()))
            .collect()
    }

    /// The flows with at least one scheduled mode: the enabled flows (webhooks are registered
    /// and stored for them).
    pub fn scheduled_flows(&self) -> BTreeSet<FlowName> {
        self.schedules.keys().map(|mode| mode.flow()).collect()
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

/// Parse a six-field cron schedule (seconds first) exactly as the scheduler will.
pub fn parse_cron(s: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(s)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
