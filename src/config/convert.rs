//! [`RawConfig`] → [`Config`]: every value parsed and checked, `*_file` secrets read, and every
//! problem collected with its dotted key and how to fix it.
//!
//! Empty strings count as unset, and values are trimmed, in the file and the environment alike.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::raw::{RawApi, RawBrightpearl, RawConfig, RawDsco, RawLog, RawPublic, RawRecords};
use super::{
    ApiConfig, BrightpearlConfig, Config, DscoConfig, LogConfig, PublicConfig, RecordsConfig,
    SchedulerConfig, parse_cron,
};
use crate::flow_name::{FlowName, Mode};
use crate::problem::Problem;
use crate::secret::Secret;

impl TryFrom<RawConfig> for Config {
    type Error = Vec<Problem>;

    fn try_from(raw: RawConfig) -> Result<Config, Vec<Problem>> {
        let mut problems = Problems::default();
        // A key naming no flow or mode is a wrong key: named before the values, like the
        // unknown keys.
        let schedule_entries = schedule_entries(raw.schedules, &mut problems);
        let state_dir = problems.check("state_dir", state_dir(&raw.state_dir));
        let shutdown_grace = problems.check("shutdown_grace", duration(&raw.shutdown_grace));
        let log = log(raw.log);
        let api = api(raw.api, &mut problems);
        let public = public(raw.public, &mut problems);
        let brightpearl = brightpearl(raw.brightpearl, &mut problems);
        let dsco = dsco(raw.dsco, &mut problems);
        let timezone = problems.check("scheduler.timezone", timezone(&raw.scheduler.timezone));
        let schedules = schedules(schedule_entries, &mut problems);
        let records = records(raw.records, &mut problems);
        // Every part was checked above, so the list is complete before the first `?`.
        let config = (|| {
            Some(Config {
                state_dir: state_dir?,
                shutdown_grace: shutdown_grace?,
                log,
                api: api?,
                public: public?,
                brightpearl: brightpearl?,
                dsco: dsco?,
                scheduler: SchedulerConfig {
                    timezone: timezone?,
                },
                schedules,
                records: records?,
            })
        })();
        match config {
            Some(config) if problems.0.is_empty() => Ok(config),
            _ => Err(problems.0),
        }
    }
}

/// The problems found so far.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(path, message));
    }

    /// The value, or `None` with the problem recorded under `path`.
    fn check<T>(&mut self, path: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.push(path, message)).ok()
    }
}

/// A trimmed string; empty counts as unset.
fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn state_dir(text: &str) -> Result<PathBuf, String> {
    // Relative paths are allowed (tests, the sandbox); an empty one is not.
    non_empty(Some(text))
        .map(PathBuf::from)
        .ok_or_else(|| "must not be empty".into())
}

fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration like \"30s\" or \"2m\" ({e})"))
}

/// A duration that must be longer than zero (a negative one does not parse).
fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text) {
        Ok(d) if d.is_zero() => Err(format!(
            "{:?} must be longer than zero, like \"30s\" or \"24h\"",
            text.trim()
        )),
        other => other,
    }
}

fn url(text: Option<&str>) -> Result<Option<url::Url>, String> {
    let Some(text) = non_empty(text) else {
        return Ok(None);
    };
    match url::Url::parse(&text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(u)),
        Ok(_) => Err(format!("{text:?} must be an http(s) URL with a host")),
        Err(e) => Err(format!("{text:?} is not a URL ({e})")),
    }
}

fn timezone(text: &str) -> Result<chrono_tz::Tz, String> {
    let text = text.trim();
    text.parse::<chrono_tz::Tz>().map_err(|_| {
        format!("{text:?} is not an IANA time zone like \"UTC\" or \"America/New_York\"")
    })
}

/// A secret set inline at `path` or read from `<path>_file`, never both. `None` when a problem
/// was recorded; `Some(None)` when neither is set.
fn secret(
    path: &str,
    inline: Option<Secret<String>>,
    file: Option<String>,
    problems: &mut Problems,
) -> Option<Option<Secret<String>>> {
    let file_path = format!("{path}_file");
    let inline = non_empty(inline.as_ref().map(|s| s.expose().as_str()));
    match (inline, non_empty(file.as_deref())) {
        (Some(_), Some(_)) => {
            problems.push(
                file_path,
                format!("set either {path} or {path}_file, not both"),
            );
            None
        }
        (Some(value), None) => Some(Some(Secret::new(value))),
        (None, Some(file)) => match std::fs::read_to_string(&file) {
            Ok(contents) if contents.trim().is_empty() => {
                problems.push(file_path, format!("file {file} is empty"));
                None
            }
            Ok(contents) => Some(Some(Secret::new(contents.trim().to_owned()))),
            Err(e) => {
                problems.push(file_path, format!("cannot read {file}: {e}"));
                None
            }
        },
        (None, None) => Some(None),
    }
}

fn log(raw: RawLog) -> LogConfig {
    LogConfig {
        filter: non_empty(Some(&raw.filter)).unwrap_or_else(|| RawLog::default().filter),
    }
}

fn api(raw: RawApi, problems: &mut Problems) -> Option<ApiConfig> {
    let listen = problems.check("api.listen", {
        let text = raw.listen.trim();
        text.parse::<SocketAddr>()
            .map_err(|_| format!("{text:?} is not an address like 127.0.0.1:8700"))
    });
    let (tls_cert, tls_key) = tls_pair(
        "api",
        raw.tls_cert.as_deref(),
        raw.tls_key.as_deref(),
        problems,
    );
    let token = secret("api.token", raw.token, raw.token_file, problems);
    Some(ApiConfig {
        listen: listen?,
        token: token?,
        tls_cert,
        tls_key,
    })
}

/// The TLS pair of a listener section (`api`, `public`): both or neither, each an existing file.
fn tls_pair(
    section: &str,
    cert: Option<&str>,
    key: Option<&str>,
    problems: &mut Problems,
) -> (Option<PathBuf>, Option<PathBuf>) {
    let tls_cert = non_empty(cert).map(PathBuf::from);
    let tls_key = non_empty(key).map(PathBuf::from);
    match (&tls_cert, &tls_key) {
        (Some(_), None) => problems.push(
            format!("{section}.tls_key"),
            format!("required when {section}.tls_cert is set"),
        ),
        (None, Some(_)) => problems.push(
            format!("{section}.tls_cert"),
            format!("required when {section}.tls_key is set"),
        ),
        _ => {}
    }
    for (name, file) in [("tls_cert", &tls_cert), ("tls_key", &tls_key)] {
        if let Some(file) = file
            && !file.is_file()
        {
            problems.push(
                format!("{section}.{name}"),
                format!("file {} does not exist", file.display()),
            );
        }
    }
    (tls_cert, tls_key)
}

fn public(raw: RawPublic, problems: &mut Problems) -> Option<PublicConfig> {
    let listen = match non_empty(raw.listen.as_deref()) {
        None => Ok(None),
        Some(text) => text
            .parse::<SocketAddr>()
            .map(Some)
            .map_err(|_| format!("{text:?} is not an address like 0.0.0.0:8443")),
    };
    let listen = problems.check("public.listen", listen);
    let url = problems.check("public.url", public_url(raw.url.as_deref()));
    match (&listen, &url) {
        (Some(Some(_)), Some(None)) => problems.push(
            "public.url",
            "required when public.listen is set: the https:// address Brightpearl calls (your TLS proxy's, or this listener's with public.tls_cert)",
        ),
        (Some(None), Some(Some(_))) => problems.push(
            "public.listen",
            "required when public.url is set: the address the public listener binds",
        ),
        _ => {}
    }
    let (tls_cert, tls_key) = tls_pair(
        "public",
        raw.tls_cert.as_deref(),
        raw.tls_key.as_deref(),
        problems,
    );
    Some(PublicConfig {
        listen: listen?,
        url: url?,
        tls_cert,
        tls_key,
    })
}

/// `public.url`: an absolute `https://` URL (`http://` only on a loopback host), without a query
/// or fragment; webhooks go to `{url}/hooks/brightpearl`.
fn public_url(text: Option<&str>) -> Result<Option<url::Url>, String> {
    let Some(text) = non_empty(text) else {
        return Ok(None);
    };
    let parsed = url::Url::parse(&text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("{text:?} must be an https:// URL with a host")),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{text:?} must be https:// (Brightpearl sends the webhook secret in the URL); http:// is allowed only on a loopback host"
            ));
        }
        _ => return Err(format!("{text:?} must be an https:// URL")),
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{text:?} must not have a query or fragment (the daemon adds /hooks/brightpearl?key=...)"
        ));
    }
    Ok(Some(parsed))
}

fn brightpearl(raw: RawBrightpearl, problems: &mut Problems) -> Option<BrightpearlConfig> {
    let base_url = problems.check("brightpearl.base_url", url(raw.base_url.as_deref()));
    let account_token = secret(
        "brightpearl.account_token",
        raw.account_token,
        raw.account_token_file,
        problems,
    );
    let staff_token = secret(
        "brightpearl.staff_token",
        raw.staff_token,
        raw.staff_token_file,
        problems,
    );
    let connect_timeout = problems.check(
        "brightpearl.connect_timeout",
        duration(&raw.connect_timeout),
    );
    let request_timeout = problems.check(
        "brightpearl.request_timeout",
        duration(&raw.request_timeout),
    );
    if let Some(Some(url)) = &base_url
        && url.path() != "/"
        && !url.path().is_empty()
    {
        problems.push(
            "brightpearl.base_url",
            format!("{url} must be scheme and host only (the client adds /public-api/{{account}})"),
        );
    }
    Some(BrightpearlConfig {
        base_url: base_url?,
        account: non_empty(raw.account.as_deref()),
        app_ref: non_empty(raw.app_ref.as_deref()),
        account_token: account_token?,
        staff_token: staff_token?,
        connect_timeout: connect_timeout?,
        request_timeout: request_timeout?,
    })
}

fn dsco(raw: RawDsco, problems: &mut Problems) -> Option<DscoConfig> {
    let base_url = problems.check("dsco.base_url", url(raw.base_url.as_deref()));
    let client_secret = secret(
        "dsco.client_secret",
        raw.client_secret,
        raw.client_secret_file,
        problems,
    );
    let api_key = secret("dsco.api_key", raw.api_key, raw.api_key_file, problems);
    let connect_timeout = problems.check("dsco.connect_timeout", duration(&raw.connect_timeout));
    let request_timeout = problems.check("dsco.request_timeout", duration(&raw.request_timeout));
    let settle_grace = problems.check("dsco.settle_grace", duration(&raw.settle_grace));
    Some(DscoConfig {
        base_url: base_url?,
        client_id: non_empty(raw.client_id.as_deref()),
        client_secret: client_secret?,
        api_key: api_key?,
        connect_timeout: connect_timeout?,
        request_timeout: request_timeout?,
        settle_grace: settle_grace?,
    })
}

/// One `[schedules]` entry whose key names a flow and one of its modes, with the key as written.
struct ScheduleEntry {
    mode: Mode,
    key: String,
    text: String,
}

/// The entries whose keys name a flow (`<flow>`, its first mode) or a flow and one of its modes
/// (`<flow>_<mode>`). An unknown flow, a mode the flow lacks and two keys for one mode are wrong
/// keys, named before the values like the unknown keys.
fn schedule_entries(raw: BTreeMap<String, String>, problems: &mut Problems) -> Vec<ScheduleEntry> {
    let mut entries: Vec<ScheduleEntry> = Vec::new();
    for (key, text) in raw {
        match schedule_mode(&key) {
            Ok(mode) => entries.push(ScheduleEntry { mode, key, text }),
            Err(message) => problems.push(format!("schedules.{key}"), message),
        }
    }
    // `<flow>_<first mode>` and `<flow>` are the same schedule; the keys sort with `<flow>` first.
    let mut seen: BTreeMap<Mode, String> = BTreeMap::new();
    entries.retain(|entry| match seen.get(&entry.mode) {
        Some(first) => {
            problems.push(
                format!("schedules.{}", entry.key),
                format!(
                    "the same schedule as schedules.{first}: {} is the first mode of flow {}, which schedules.{first} already runs; keep one of the two keys",
                    entry.mode,
                    entry.mode.flow()
                ),
            );
            false
        }
        None => {
            seen.insert(entry.mode, entry.key.clone());
            true
        }
    });
    entries
}

/// The mode a `[schedules]` key names: `<flow>` is the flow's first mode, `<flow>_<mode>` the
/// named one.
fn schedule_mode(key: &str) -> Result<Mode, String> {
    if let Ok(flow) = FlowName::from_str(key) {
        return Ok(flow.default_mode());
    }
    let qualified = FlowName::ALL.into_iter().find_map(|flow| {
        key.strip_prefix(flow.as_str())
            .and_then(|rest| rest.strip_prefix('_'))
            .map(|mode| (flow, mode))
    });
    match qualified {
        Some((flow, mode)) => flow.mode(mode),
        None => Err(format!(
            "unknown flow; flows are {} (a key is a flow, or <flow>_<mode> for one of its modes, like inventory_full)",
            FlowName::list()
        )),
    }
}

/// Modes with a valid cron schedule; empty schedules are off and left out.
fn schedules(entries: Vec<ScheduleEntry>, problems: &mut Problems) -> BTreeMap<Mode, String> {
    let mut schedules = BTreeMap::new();
    for ScheduleEntry { mode, key, text } in entries {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match parse_cron(text) {
            Ok(_) => {
                schedules.insert(mode, text.to_owned());
            }
            Err(e) => problems.push(
                format!("schedules.{key}"),
                format!(
                    "{text:?} is not a six-field cron schedule with seconds, like \"0 */5 * * * *\" ({e})"
                ),
            ),
        }
    }
    schedules
}

fn records(raw: RawRecords, problems: &mut Problems) -> Option<RecordsConfig> {
    let retention_days = problems.check(
        "records.retention_days",
        u32::try_from(raw.retention_days)
            .ok()
            .filter(|days| (1..=36_500).contains(days))
            .ok_or_else(|| "must be a whole number of days from 1 to 36500".to_owned()),
    );
    let give_up_after = problems.check(
        "records.give_up_after",
        positive_duration(&raw.give_up_after),
    );
    let retry_soon = problems.check("records.retry_soon", positive_duration(&raw.retry_soon));
    Some(RecordsConfig {
        retention_days: retention_days?,
        give_up_after: give_up_after?,
        retry_soon: retry_soon?,
    })
}
