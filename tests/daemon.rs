//! The daemon's machinery: API auth, OpenAPI completeness, runs and the overlap guard, the sync
//! log, graceful shutdown, the real binary on port 0, store migrations.

use std::sync::Arc;
use std::time::Duration;

use dsco_brightpearl::flow_name::FlowName;
use dsco_brightpearl::store::{RecordFilter, RecordStatus, Store};
use serde_json::Value;

use crate::support::flows::{GatedFlow, MixedFlow};
use crate::support::{self, Daemon, TOKEN, TestApp, wait_for};

#[tokio::test]
async fn api_needs_the_bearer_token_except_for_open_routes() {
    let app = TestApp::start("", vec![]).await;
    for open in ["/health", "/ready", "/openapi.json"] {
        let r = app
            .http
            .get(format!("{}{open}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{open}");
    }
    let r = app
        .http
        .get(format!("{}/v1/status", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert!(body["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    let r = app
        .http
        .get(format!("{}/v1/status", app.url))
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app.get("/v1/status").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["flows"].as_array().unwrap().len(), 6);
    assert_eq!(status["flows"][0]["connected"], false);
    assert!(
        status["flows"][0]["note"]
            .as_str()
            .unwrap()
            .contains("not available")
            || status["flows"][0]["note"]
                .as_str()
                .unwrap()
                .contains("not connected")
    );
    app.stop().await;
}

/// The routes the contract names; each must be in the OpenAPI document and answer.
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/v1/status"),
    ("post", "/v1/sync/{flow}/run"),
    ("get", "/v1/runs"),
    ("get", "/v1/runs/{id}"),
    ("get", "/v1/records"),
    ("get", "/v1/records/{id}"),
    ("post", "/v1/records/{id}/retry"),
    ("post", "/v1/records/{id}/skip"),
    ("post", "/v1/records/retry"),
    ("get", "/v1/settings"),
    ("patch", "/v1/settings"),
    ("get", "/v1/mappings/{kind}"),
    ("put", "/v1/mappings/{kind}"),
    ("get", "/v1/mappings/{kind}/{key}"),
    ("put", "/v1/mappings/{kind}/{key}"),
    ("delete", "/v1/mappings/{kind}/{key}"),
    ("get", "/v1/dsco/warehouses"),
    ("put", "/v1/dsco/warehouses"),
    ("post", "/v1/dsco/warehouses/refresh"),
    (
        "post",
        "/v1/mappings/customers/{dsco_retailer_id}/create-in-brightpearl",
    ),
    ("get", "/v1/dsco/ship-methods"),
    ("put", "/v1/dsco/ship-methods"),
    ("get", "/v1/brightpearl/warehouses"),
    ("get", "/v1/brightpearl/shipping-methods"),
    ("get", "/v1/brightpearl/order-statuses"),
    ("get", "/v1/brightpearl/channels"),
    ("get", "/v1/brightpearl/price-lists"),
    ("get", "/v1/brightpearl/tax-codes"),
    ("get", "/v1/brightpearl/products"),
    ("get", "/v1/items"),
    ("get", "/v1/retailers"),
    ("get", "/v1/connections/{name}"),
    ("put", "/v1/connections/{name}"),
    ("post", "/v1/connections/{name}/test"),
    ("get", "/v1/brightpearl/webhooks"),
    ("post", "/v1/brightpearl/webhooks/sync"),
];

#[tokio::test]
async fn openapi_describes_every_route_and_every_described_route_exists() {
    let app = TestApp::start("", vec![]).await;
    let spec: Value = app.json("/openapi.json").await;
    let paths = spec["paths"].as_object().unwrap();
    for (method, path) in CONTRACT_ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} missing from /openapi.json"
        );
    }
    // Everything described is routed: no described route falls through to the 404 fallback.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{flow}", "orders")
                .replace("{id}", "999999")
                .replace("{kind}", "items")
                .replace("{key}", "x")
                .replace("{name}", "brightpearl")
                .replace("{dsco_retailer_id}", "1")
                .replace("{dsco_order_id}", "x");
            let request = app
                .http
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{concrete}", app.url),
                )
                .bearer_auth(TOKEN);
            let r = request.send().await.unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert!(
                !(status == 404 && body["message"] == "no such route") && status != 405,
                "{method} {path} is described but not routed ({status})"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_flow_never_overlaps_itself_and_runs_are_listed() {
    let (flow, gate) = GatedFlow::new(FlowName::Orders, 2);
    let app = TestApp::start("", vec![flow]).await;
    let r = app.post("/v1/sync/orders/run").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let run_id = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    // While it runs, a manual trigger and a scheduled tick both meet the guard.
    let r = app.post("/v1/sync/orders/run").send().await.unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already running")
    );
    let tick = app
        .running()
        .scheduler
        .trigger(FlowName::Orders, dsco_brightpearl::store::Trigger::Schedule)
        .await;
    assert!(matches!(
        tick,
        Err(dsco_brightpearl::scheduler::TriggerError::AlreadyRunning { .. })
    ));
    let status = app.json("/v1/status").await;
    assert_eq!(status["flows"][0]["running_run_id"], run_id);
    gate.add_permits(2);
    let run = app.wait_run(run_id).await;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["counts"]["synced"], 2);
    assert!(run["finished_at"].is_string());
    // Now it may run again.
    let r = app.post("/v1/sync/orders/run").send().await.unwrap();
    assert_eq!(r.status(), 202);
    gate.add_permits(2);
    let second = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    app.wait_run(second).await;
    let runs = app.json("/v1/runs?limit=1").await;
    assert_eq!(runs["items"][0]["id"], second);
    let cursor = runs["next_cursor"].as_str().unwrap().to_owned();
    let rest = app.json(&format!("/v1/runs?limit=1&cursor={cursor}")).await;
    assert_eq!(rest["items"][0]["id"], run_id);
    // An unknown flow (every flow of the contract is built now).
    assert_eq!(
        app.post("/v1/sync/shipping/run")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn scheduled_ticks_start_runs_and_skip_while_one_is_going() {
    let (flow, gate) = GatedFlow::new(FlowName::Orders, 1);
    let app = TestApp::start("[schedules]\norders = \"* * * * * *\"\n", vec![flow]).await;
    let first = wait_for(Duration::from_secs(30), || async {
        let runs = app.json("/v1/runs").await;
        runs["items"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(first["trigger"], "schedule");
    // Ticks keep coming every second while the run waits at its gate; none starts a second run.
    let status = app.json("/v1/status").await;
    assert_eq!(status["flows"][0]["enabled"], true);
    assert!(status["flows"][0]["next_run"].is_string());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let runs = app.json("/v1/runs").await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "{runs}");
    gate.add_permits(1000);
    app.wait_run(first["id"].as_u64().unwrap()).await;
    app.stop().await;
}

#[tokio::test]
async fn sync_log_lists_retries_and_skips_records() {
    let app = TestApp::start("", vec![Arc::new(MixedFlow)]).await;
    let r = app.post("/v1/sync/inventory/run").send().await.unwrap();
    let run_id = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    let run = app.wait_run(run_id).await;
    assert_eq!(run["counts"]["synced"], 1);
    assert_eq!(run["counts"]["needs_attention"], 1);
    assert_eq!(run["counts"]["failed"], 1);
    let attention = app
        .json("/v1/records?flow=inventory&status=needs_attention")
        .await;
    let item = &attention["items"][0];
    assert_eq!(item["source_id"], "bad-sku");
    assert_eq!(item["reason"], "unknown SKU BAD-1");
    let id = item["id"].as_u64().unwrap();
    assert_eq!(app.json(&format!("/v1/records/{id}")).await["kind"], "item");
    let failed = app.json("/v1/records?status=failed").await;
    assert!(failed["items"][0]["next_retry_at"].is_string());

    let r = app
        .post(&format!("/v1/records/{id}/retry"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "pending");
    let r = app
        .post(&format!("/v1/records/{id}/skip"))
        .json(&serde_json::json!({"reason": "discontinued item"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.json::<Value>().await.unwrap()["reason"]
            .as_str()
            .unwrap()
            .contains("discontinued item")
    );
    // A bad body names the field; a bad status names the value.
    let r = app
        .post(&format!("/v1/records/{id}/skip"))
        .json(&serde_json::json!({"reason": "x", "because": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("because"));
    let r = app.get("/v1/records?status=broken").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("broken"));
    let r = app.post("/v1/records/999999/retry").send().await.unwrap();
    assert_eq!(r.status(), 404);
    // A synced record cannot be retried.
    let synced = app.json("/v1/records?status=synced").await;
    let synced_id = synced["items"][0]["id"].as_u64().unwrap();
    assert_eq!(
        app.post(&format!("/v1/records/{synced_id}/retry"))
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    // Bulk retry takes failed and needs_attention by default.
    let r = app
        .post("/v1/records/retry?flow=inventory")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["retried"], 1);
    let r = app
        .post("/v1/records/retry?status=skipped")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["retried"], 1);
    let pending = app.json("/v1/records?status=pending").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_lets_the_in_flight_run_finish_at_a_record_boundary() {
    let (flow, gate) = GatedFlow::new(FlowName::Orders, 1000);
    let app = TestApp::start("", vec![flow]).await;
    let r = app.post("/v1/sync/orders/run").send().await.unwrap();
    let run_id = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    gate.add_permits(3);
    let store = app.running().store.clone();
    wait_for(Duration::from_secs(30), || {
        let store = store.clone();
        async move {
            let n = store
                .read(|tx| tx.records(&RecordFilter::default(), None, 10))
                .unwrap()
                .len();
            (n >= 3).then_some(())
        }
    })
    .await;
    gate.add_permits(1);
    let TestApp { running, dir, .. } = app;
    let running = running.unwrap();
    let store = running.store.clone();
    running.shutdown();
    running.wait().await.unwrap();
    let run = store.read(|tx| tx.run(run_id)).unwrap().unwrap();
    assert_eq!(format!("{:?}", run.status), "Succeeded");
    assert!(
        run.note.unwrap().contains("stopped after"),
        "the run ended early at a boundary"
    );
    let records = store
        .read(|tx| tx.records(&RecordFilter::default(), None, 10_000))
        .unwrap();
    assert!(records.len() >= 3 && records.len() < 1000);
    assert_eq!(
        run.counts.synced as usize,
        records.len(),
        "every counted record is committed"
    );
    assert!(!dir.path().join("state/api.addr").exists());
}

#[tokio::test]
async fn the_real_binary_starts_on_port_zero_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"state_dir = "{}"
[api]
listen = "127.0.0.1:0"
token = "{TOKEN}"
[brightpearl]
base_url = "http://127.0.0.1:9"
account = "acme"
app_ref = "acme_app"
account_token = "bp-account-s3cret"
[dsco]
base_url = "http://127.0.0.1:9/api/v3"
client_id = "cid"
client_secret = "dsco-s3cret"
"#,
        dir.path().join("state").display()
    );
    let mut daemon = Daemon::start(dir.path(), &toml, &[("RUST_LOG", "trace")]).await;
    let http = support::http();
    let r = http
        .get(format!("{}/v1/status", daemon.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().await, Some(0));
    let log = daemon.stderr();
    assert!(log.contains("ready"), "{log}");
    for secret in ["bp-account-s3cret", "dsco-s3cret", TOKEN] {
        assert!(!log.contains(secret), "{secret} appeared in the log");
    }
}

#[tokio::test]
async fn without_a_configured_token_one_is_generated_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\n",
        dir.path().join("state").display()
    );
    let daemon = Daemon::start(dir.path(), &toml, &[]).await;
    let token = std::fs::read_to_string(daemon.state_dir.join("api.token")).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(daemon.state_dir.join("api.token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let r = support::http()
        .get(format!("{}/v1/runs", daemon.url))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn check_config_lists_every_problem_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "colour = \"blue\"\nshutdown_grace = \"later\"\n[schedules]\norders = \"often\"\n[dsco]\nbase_url = \"nope\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(support::binary())
        .args(["--config", path.to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "colour",
        "shutdown_grace",
        "schedules.orders",
        "dsco.base_url",
    ] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[api]\ntoken = \"very-secret-token\"\n").unwrap();
    let out = std::process::Command::new(support::binary())
        .args(["--config", good.to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("\"token\": \"***\""), "{shown}");
    assert!(!shown.contains("very-secret-token"));
}

#[test]
fn the_example_config_is_valid() {
    let out = std::process::Command::new(support::binary())
        .args([
            "--config",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config/dsco-brightpearl.example.toml"
            ),
            "check-config",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A store written by schema version 1 (committed fixture) opens and migrates to the latest
/// version, with its records indexed by status by the version-2 step.
#[test]
fn a_version_1_store_migrates_forward() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v1.redb");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::copy(fixture, &path).unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        dsco_brightpearl::store::migrate::LATEST
    );
    let attention = store
        .read(|tx| {
            tx.records(
                &RecordFilter {
                    status: Some(RecordStatus::NeedsAttention),
                    ..Default::default()
                },
                None,
                10,
            )
        })
        .unwrap();
    assert_eq!(attention.len(), 1);
    assert_eq!(attention[0].source_id, "D-2");
    let counts = store.read(|tx| tx.record_counts(FlowName::Orders)).unwrap();
    assert_eq!(counts.synced, 1);
    assert_eq!(counts.needs_attention, 1);
}

#[test]
fn the_systemd_unit_verifies_and_has_the_lifecycle_settings() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/dsco-brightpearl.service"
    ))
    .unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "User=dsco-brightpearl",
        "StateDirectory=dsco-brightpearl",
        "ExecStartPre=/usr/bin/dsco-brightpearl --config /etc/dsco-brightpearl/config.toml check-config",
        "Restart=on-failure",
        "TimeoutStopSec=90s",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "UMask=077",
    ] {
        assert!(unit.contains(line), "unit lacks {line}");
    }
    // systemd-analyze needs ExecStart to exist: verify a copy pointing at the built binary.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dsco-brightpearl.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/bin/dsco-brightpearl", support::binary()),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze is installed (Debian package systemd)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify: {text}"
    );
}

#[tokio::test]
async fn the_control_api_serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "leaf.pem",
    ]);
    let app = TestApp::start(
        &format!(
            "[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            d.join("leaf.pem").display(),
            d.join("leaf.key").display()
        ),
        vec![],
    )
    .await;
    let addr = std::fs::read_to_string(app.dir.path().join("state/api.addr")).unwrap();
    assert!(addr.starts_with("https://"), "{addr}");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(d.join("ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = addr.trim().replace("http://", "https://");
    let r = client
        .get(format!("{url}/v1/status"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Plain HTTP to the TLS port gets no answer.
    let plain = app.http.get(format!("{}/health", app.url)).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    app.stop().await;
}

#[tokio::test]
async fn systemd_hears_ready_watchdog_pings_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let toml = format!(
        "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n",
        dir.path().join("state").display()
    );
    std::fs::write(dir.path().join("config.toml"), &toml).unwrap();
    let mut child = std::process::Command::new(support::binary())
        .args([
            "--config",
            dir.path().join("config.toml").to_str().unwrap(),
            "run",
        ])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    let mut stopping_sent = false;
    loop {
        let n = socket.recv(&mut buf).expect("a notification within 30 s");
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        messages.push(text.clone());
        let ready = messages.iter().any(|m| m.lines().any(|l| l == "READY=1"));
        let pings = messages
            .iter()
            .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
            .count();
        if ready && pings >= 2 && !stopping_sent {
            // READY came only once the API answered: api.addr exists and /ready is 200.
            let addr = std::fs::read_to_string(dir.path().join("state/api.addr")).unwrap();
            let r = support::http()
                .get(format!("{}/ready", addr.trim()))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            std::process::Command::new("kill")
                .arg(child.id().to_string())
                .status()
                .unwrap();
            stopping_sent = true;
        }
        if text.lines().any(|l| l == "STOPPING=1") {
            break;
        }
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(stopping_sent, "STOPPING=1 came only after our SIGTERM");
}

#[tokio::test]
async fn a_panicking_run_fails_and_the_flow_can_run_again() {
    let app = TestApp::start(
        "",
        vec![Arc::new(crate::support::flows::PanicOnceFlow::default())],
    )
    .await;
    let r = app.post("/v1/sync/invoices/run").send().await.unwrap();
    let first = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    let run = app.wait_run(first).await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"].as_str().unwrap().contains("test flow blew up"),
        "{run}"
    );
    let r = app.post("/v1/sync/invoices/run").send().await.unwrap();
    assert_eq!(r.status(), 202, "the flow is not left marked running");
    let second = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    assert_eq!(app.wait_run(second).await["status"], "succeeded");
    app.stop().await;
}
