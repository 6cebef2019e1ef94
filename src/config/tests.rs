//! Loading and checking the configuration: layers, every problem at once, secrets.

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
    let keys: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
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
    assert_eq!(err.problems()[0].path, "api.port");
}

#[test]
fn brightpearl_base_url_must_be_host_only() {
    let err = load(
        "[brightpearl]\nbase_url = \"https://use1.brightpearlconnect.com/public-api/x\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(err.problems()[0].path, "brightpearl.base_url");
}

/// The problems of a load, as `(path, message)` pairs.
fn problems(toml: &str, env: &[(&str, &str)]) -> Vec<(String, String)> {
    match load(toml, env) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (p.path.clone(), p.message.clone()))
            .collect(),
    }
}

#[test]
fn unknown_keys_and_wrong_types_are_all_named_across_sections() {
    let found = problems(
        r#"
colour = "blue"
log = 5
[api]
listen = 8700
port = 1
[api.extra]
depth = 2
[brightpearl]
account = ["a", "b"]
staff_token = false
[dsco]
unknown = "x"
[records]
retention_days = 1.5
[schedules]
orders = 5
"#,
        &[],
    );
    let expected = [
        ("colour", "unknown key"),
        ("log", "expected a table"),
        ("api.listen", "expected a string"),
        ("api.port", "unknown key"),
        ("api.extra", "unknown key"),
        ("brightpearl.account", "expected a string"),
        ("brightpearl.staff_token", "expected a string"),
        ("dsco.unknown", "unknown key"),
        ("records.retention_days", "expected a whole number"),
        ("schedules.orders", "expected a string"),
    ];
    for (path, message) in expected {
        assert!(
            found.iter().any(|(p, m)| p == path && m == message),
            "{path}: {message} missing from {found:?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:?}");
}

#[test]
fn a_dropped_key_takes_its_default_so_other_checks_still_run() {
    // The bad listen type is reported once; the default address stands in, and the bad
    // duration next to it is still checked.
    let found = problems("[api]\nlisten = 1\n[dsco]\nrequest_timeout = \"x\"\n", &[]);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["api.listen", "dsco.request_timeout"]);
}

#[test]
fn values_out_of_range_or_unparsable_name_their_key_and_the_fix() {
    let cases = [
        (
            "[records]\nretention_days = 0\n",
            "records.retention_days",
            "from 1 to 36500",
        ),
        (
            "[records]\nretention_days = -5\n",
            "records.retention_days",
            "from 1 to 36500",
        ),
        ("state_dir = \" \"\n", "state_dir", "must not be empty"),
        (
            "[api]\ntls_cert = \"/nonexistent.pem\"\n",
            "api.tls_key",
            "required when api.tls_cert",
        ),
        (
            "[dsco]\nbase_url = \"ftp://x\"\n",
            "dsco.base_url",
            "http(s) URL with a host",
        ),
        (
            "[schedules]\nreference = \"0 0 3 * *\"\n",
            "schedules.reference",
            "six-field cron",
        ),
    ];
    for (toml, path, fragment) in cases {
        let found = problems(toml, &[]);
        assert!(
            found.iter().any(|(p, m)| p == path && m.contains(fragment)),
            "{toml}: {found:?}"
        );
    }
}

#[test]
fn secret_files_are_read_trimmed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "  from-file\n").unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let c = load(
        &format!("[api]\ntoken_file = \"{}\"\n", token.display()),
        &[],
    )
    .unwrap();
    assert_eq!(c.api.token.unwrap().expose(), "from-file");

    let found = problems(
        &format!(
            "[api]\ntoken = \"inline\"\ntoken_file = \"{}\"\n[dsco]\napi_key_file = \"{}\"\n\
             [brightpearl]\nstaff_token_file = \"{}\"\n",
            token.display(),
            empty.display(),
            dir.path().join("missing").display()
        ),
        &[],
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "api.token_file",
            "brightpearl.staff_token_file",
            "dsco.api_key_file"
        ],
        "{found:?}"
    );
    assert!(found[0].1.contains("not both"), "{found:?}");
    assert!(found[1].1.starts_with("cannot read"), "{found:?}");
    assert!(found[2].1.ends_with("is empty"), "{found:?}");
}

#[test]
fn the_environment_speaks_strings_typed_by_each_key_default() {
    let c = load(
        "[dsco]\nclient_id = \"from-file\"\n[api]\ntoken = \"file-token\"\n",
        &[
            // A string key keeps digits as a string; a number key reads them as a number.
            ("DSCO_BRIGHTPEARL_DSCO__CLIENT_ID", "12345"),
            ("DSCO_BRIGHTPEARL_RECORDS__RETENTION_DAYS", "14"),
            // Empty counts as unset, over the file too.
            ("DSCO_BRIGHTPEARL_API__TOKEN", ""),
            ("DSCO_BRIGHTPEARL_LOG__FILTER", " "),
        ],
    )
    .unwrap();
    assert_eq!(c.dsco.client_id.as_deref(), Some("12345"));
    assert_eq!(c.records.retention_days, 14);
    assert!(c.api.token.is_none());
    assert_eq!(c.log.filter, "info");

    let found = problems(
        "",
        &[
            ("DSCO_BRIGHTPEARL_RECORDS__RETENTION_DAYS", "many"),
            ("DSCO_BRIGHTPEARL_SCHEDULER__NOPE", "x"),
        ],
    );
    assert_eq!(
        found,
        [
            (
                "records.retention_days".to_owned(),
                "expected a whole number".to_owned()
            ),
            ("scheduler.nope".to_owned(), "unknown key".to_owned()),
        ]
    );
}

#[test]
fn the_example_config_states_every_key_and_its_default() {
    use figment::value::Value;

    let example = include_str!("../../config/dsco-brightpearl.example.toml");
    /// The lines of `[table]` (the top level for ""), commented or not.
    fn table<'a>(example: &'a str, name: &str) -> Option<&'a str> {
        let rest = match name {
            "" => example,
            name => example.split_once(&format!("\n[{name}]\n"))?.1,
        };
        rest.split("\n[").next()
    }
    let Ok(Value::Dict(_, defaults)) = Value::serialize(RawConfig::default()) else {
        panic!("defaults are a table");
    };
    for (key, value) in &defaults {
        let (section, names): (&str, Vec<&String>) = match value {
            Value::Dict(_, fields) => (key, fields.keys().collect()),
            _ => ("", vec![key]),
        };
        let lines = table(example, section).unwrap_or_else(|| panic!("[{section}] missing"));
        for name in names {
            let shown = lines.lines().any(|line| {
                let line = line.trim_start_matches('#').trim_start();
                line.starts_with(&format!("{name} ="))
            });
            assert!(shown, "{section}.{name} missing from the example config");
        }
    }
    // The values it sets are the defaults.
    let example_config = load(example, &[]).unwrap();
    assert_eq!(example_config.redacted(), load("", &[]).unwrap().redacted());
}

#[test]
fn record_retry_durations_have_defaults_and_refuse_zero_negative_and_garbage() {
    let c = load("", &[]).unwrap();
    assert_eq!(c.records.give_up_after, Duration::from_secs(24 * 3600));
    assert_eq!(c.records.retry_soon, Duration::from_secs(30));
    let c = load(
        "[records]\ngive_up_after = \"2h\"\nretry_soon = \"5s\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.records.give_up_after, Duration::from_secs(7200));
    assert_eq!(c.records.retry_soon, Duration::from_secs(5));
    let found = problems(
        "[records]\ngive_up_after = \"0s\"\nretry_soon = \"-5s\"\n",
        &[("DSCO_BRIGHTPEARL_API__LISTEN", "nope")],
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"records.give_up_after"), "{found:?}");
    assert!(paths.contains(&"records.retry_soon"), "{found:?}");
    assert!(
        paths.contains(&"api.listen"),
        "every problem at once: {found:?}"
    );
    let zero = &found
        .iter()
        .find(|(p, _)| p == "records.give_up_after")
        .unwrap()
        .1;
    assert!(zero.contains("longer than zero"), "{zero}");
    let garbage = problems("[records]\nretry_soon = \"soon\"\n", &[]);
    assert_eq!(garbage[0].0, "records.retry_soon");
    assert!(
        garbage[0].1.contains("is not a duration"),
        "{}",
        garbage[0].1
    );
}

#[test]
fn public_listener_is_off_by_default_and_needs_a_url_when_on() {
    let c = load("", &[]).unwrap();
    assert!(c.public.listen.is_none() && c.public.enabled_url().is_none());

    let c = load(
        "[public]\nlisten = \"0.0.0.0:8443\"\nurl = \"https://hooks.example.com/dsco\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.public.listen.unwrap().port(), 8443);
    assert_eq!(
        c.public.enabled_url().unwrap().as_str(),
        "https://hooks.example.com/dsco"
    );
    // http:// is fine on loopback (the sandbox, a proxy on the same host).
    for url in [
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
    ] {
        let toml = format!("[public]\nlisten = \"127.0.0.1:9000\"\nurl = \"{url}\"\n");
        assert!(load(&toml, &[]).is_ok(), "{url}");
    }
}

#[test]
fn every_public_problem_is_named() {
    let check = |toml: &str, expected: &[(&str, &str)]| {
        let found = problems(toml, &[]);
        for (path, words) in expected {
            assert!(
                found.iter().any(|(p, m)| p == path && m.contains(words)),
                "{path} ({words}) missing from {found:?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:?}");
    };
    check(
        "[public]\nlisten = \"0.0.0.0:8443\"\n",
        &[("public.url", "required when public.listen is set")],
    );
    check(
        "[public]\nurl = \"https://hooks.example.com\"\n",
        &[("public.listen", "required when public.url is set")],
    );
    check(
        "[public]\nlisten = \"0.0.0.0:8443\"\nurl = \"http://hooks.example.com\"\n",
        &[("public.url", "must be https://")],
    );
    check(
        "[public]\nlisten = \"everywhere\"\nurl = \"https://h.example.com/?a=1\"\ntls_cert = \"/no/cert.pem\"\n",
        &[
            ("public.listen", "is not an address"),
            ("public.url", "must not have a query"),
            ("public.tls_key", "required when public.tls_cert is set"),
            ("public.tls_cert", "does not exist"),
        ],
    );
    check(
        "[public]\nlisten = \"0.0.0.0:8443\"\nurl = \"ftp://h.example.com\"\n",
        &[("public.url", "must be an https:// URL")],
    );
}

#[test]
fn schedules_take_a_flow_or_a_flow_and_one_of_its_modes() {
    let mode = |flow: FlowName, name| flow.mode(name).unwrap();
    let c = load(
        "[schedules]\ninventory = \"0 */5 * * * *\"\ninventory_reconcile = \"0 30 2 * * *\"\n\
         orders = \"0 */2 * * * *\"\nreference = \"\"\n",
        &[(
            "DSCO_BRIGHTPEARL_SCHEDULES__INVENTORY_FULL",
            " 0 */15 * * * * ",
        )],
    )
    .unwrap();
    // The plain key is the flow's first mode; the others are named.
    assert_eq!(c.schedule(FlowName::Inventory), Some("0 */5 * * * *"));
    assert_eq!(
        c.mode_schedule(mode(FlowName::Inventory, "full")),
        Some("0 */15 * * * *")
    );
    assert_eq!(
        c.mode_schedules()
            .into_iter()
            .map(|(m, s)| (m.schedule_key(), s))
            .collect::<Vec<_>>(),
        [
            ("orders".to_owned(), "0 */2 * * * *".to_owned()),
            ("inventory".to_owned(), "0 */5 * * * *".to_owned()),
            ("inventory_full".to_owned(), "0 */15 * * * *".to_owned()),
            ("inventory_reconcile".to_owned(), "0 30 2 * * *".to_owned()),
        ]
    );
    assert_eq!(
        c.scheduled_flows().into_iter().collect::<Vec<_>>(),
        [FlowName::Orders, FlowName::Inventory]
    );
    // Shown under the keys they are written with.
    assert_eq!(
        c.redacted()["schedules"],
        serde_json::json!({
            "orders": "0 */2 * * * *",
            "inventory": "0 */5 * * * *",
            "inventory_full": "0 */15 * * * *",
            "inventory_reconcile": "0 30 2 * * *",
        })
    );

    // A flow with only another mode scheduled is enabled, and its plain schedule is unset;
    // `<flow>_<first mode>` alone is the plain schedule.
    let c = load(
        "[schedules]\ninventory_reconcile = \"0 30 2 * * *\"\norders_default = \"0 * * * * *\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.schedule(FlowName::Inventory), None);
    assert_eq!(c.schedule(FlowName::Orders), Some("0 * * * * *"));
    assert_eq!(
        c.scheduled_flows().into_iter().collect::<Vec<_>>(),
        [FlowName::Orders, FlowName::Inventory]
    );
}

#[test]
fn every_wrong_schedule_key_is_named_with_what_the_flow_has() {
    let found = problems(
        r#"
[schedules]
orders_full = "0 * * * * *"
inventory_everything = "0 * * * * *"
inventory = "0 */5 * * * *"
inventory_delta = "0 */5 * * * *"
stock_full = "0 * * * * *"
inventory_ = "0 * * * * *"
inventory_reconcile = "nightly"
"#,
        &[],
    );
    let expected = [
        ("schedules.orders_full", "flow orders has modes: default"),
        (
            "schedules.inventory_everything",
            "flow inventory has modes: delta, full, reconcile",
        ),
        (
            "schedules.inventory_",
            "flow inventory has modes: delta, full, reconcile",
        ),
        (
            "schedules.inventory_delta",
            "the same schedule as schedules.inventory",
        ),
        ("schedules.stock_full", "unknown flow; flows are orders"),
        ("schedules.inventory_reconcile", "six-field cron"),
    ];
    for (path, words) in expected {
        assert!(
            found.iter().any(|(p, m)| p == path && m.contains(words)),
            "{path} ({words}) missing from {found:?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:?}");
    // Two keys for one schedule are refused even when one of them is empty: which one is meant
    // would be a guess.
    let found = problems(
        "[schedules]\norders_default = \"0 * * * * *\"\n",
        &[("DSCO_BRIGHTPEARL_SCHEDULES__ORDERS", "")],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "schedules.orders_default");
    assert!(
        found[0]
            .1
            .contains("default is the first mode of flow orders"),
        "{found:?}"
    );
}

#[test]
fn the_example_schedules_load_when_uncommented() {
    let example = include_str!("../../config/dsco-brightpearl.example.toml");
    let table = example
        .split_once("\n[schedules]\n")
        .and_then(|(_, rest)| rest.split("\n[").next())
        .unwrap();
    let uncommented: String = table
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|line| line.contains(" = \""))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(uncommented.contains("inventory_full = "), "{uncommented}");
    let c = load(&format!("[schedules]\n{uncommented}"), &[]).unwrap();
    let full = FlowName::Inventory.mode("full").unwrap();
    let reconcile = FlowName::Inventory.mode("reconcile").unwrap();
    assert_eq!(c.mode_schedule(full), Some("0 */15 * * * *"));
    assert_eq!(c.mode_schedule(reconcile), Some("0 30 2 * * *"));
    assert_eq!(c.scheduled_flows().len(), FlowName::ALL.len());
}
