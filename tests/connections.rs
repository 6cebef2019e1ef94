//! Connections: credentials through the API or the config (the config wins), and the connection
//! test against the simulators, success and each failure kind.

use serde_json::{Value, json};

use crate::support::{Sims, TestApp};

async fn put(app: &TestApp, name: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .put(format!("{}/v1/connections/{name}", app.url))
        .bearer_auth(crate::support::TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn test(app: &TestApp, name: &str) -> Value {
    let r = app
        .post(&format!("/v1/connections/{name}/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn credentials_stored_through_the_api_connect_and_never_echo() {
    let sims = Sims::start().await;
    let app = TestApp::start("", vec![]).await;
    let view = app.json("/v1/connections/brightpearl").await;
    assert_eq!(view["configured"], false);
    assert_eq!(view["fields"]["account_token"]["set"], false);
    let status = app.json("/v1/status").await;
    assert!(status["flows"][0]["note"].as_str().unwrap().contains("not"));
    let result = test(&app, "brightpearl").await;
    assert_eq!(result["ok"], false);
    assert!(
        result["detail"].as_str().unwrap().contains("not set"),
        "{result}"
    );

    let bp = sims.brightpearl.config().clone();
    let (code, view) = put(
        &app,
        "brightpearl",
        json!({"base_url": sims.brightpearl_url(), "account": bp.account, "app_ref": bp.app_ref,
               "account_token": bp.account_token}),
    )
    .await;
    assert_eq!(code, 200, "{view}");
    assert_eq!(view["configured"], true);
    assert_eq!(view["fields"]["account_token"]["source"], "store");
    assert_eq!(view["fields"]["account"]["value"], bp.account.as_str());
    assert!(
        !view.to_string().contains(&bp.account_token),
        "a secret was echoed"
    );
    let result = test(&app, "brightpearl").await;
    assert_eq!(result["ok"], true, "{result}");

    let d = sims.dsco.config().clone();
    let (code, view) = put(
        &app,
        "dsco",
        json!({"base_url": sims.dsco_url(), "client_id": d.client_id, "client_secret": d.client_secret}),
    )
    .await;
    assert_eq!(code, 200, "{view}");
    assert!(!view.to_string().contains(&d.client_secret));
    assert_eq!(test(&app, "dsco").await["ok"], true);
    // The credentials outlive a restart (they are in the store).
    let dir = app.dir.path().to_path_buf();
    let TestApp {
        running, dir: keep, ..
    } = app;
    let running = running.unwrap();
    running.shutdown();
    running.wait().await.unwrap();
    let config = crate::support::config(&dir, "");
    let running = dsco_brightpearl::app::start(config, Default::default())
        .await
        .unwrap();
    assert!(running.connections.brightpearl_config().is_ok());
    assert!(running.connections.dsco_config().is_ok());
    running.shutdown();
    running.wait().await.unwrap();
    drop(keep);
}

#[tokio::test]
async fn each_failure_kind_is_named() {
    let sims = Sims::start().await;
    let app = TestApp::start("", vec![]).await;
    let bp = sims.brightpearl.config().clone();
    // Wrong token: Brightpearl's 401 message comes through.
    put(
        &app,
        "brightpearl",
        json!({"base_url": sims.brightpearl_url(), "account": bp.account, "app_ref": bp.app_ref,
               "account_token": "not-the-token"}),
    )
    .await;
    let result = test(&app, "brightpearl").await;
    assert_eq!(result["ok"], false);
    let detail = result["detail"].as_str().unwrap();
    assert!(detail.contains("refused credentials"), "{result}");
    assert!(
        !detail.contains("not-the-token"),
        "the presented token is masked: {result}"
    );
    // Unknown account.
    put(
        &app,
        "brightpearl",
        json!({"account": "nosuchaccount", "account_token": bp.account_token}),
    )
    .await;
    let result = test(&app, "brightpearl").await;
    assert_eq!(result["ok"], false);
    assert!(
        result["detail"].as_str().unwrap().contains("404"),
        "{result}"
    );
    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    put(
        &app,
        "brightpearl",
        json!({"base_url": format!("http://{closed}"), "account": bp.account}),
    )
    .await;
    let result = test(&app, "brightpearl").await;
    assert_eq!(result["ok"], false);
    assert!(
        result["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connect"),
        "{result}"
    );
    // DSCO: a wrong client secret is refused by the token endpoint.
    let d = sims.dsco.config().clone();
    put(
        &app,
        "dsco",
        json!({"base_url": sims.dsco_url(), "client_id": d.client_id, "client_secret": "wrong"}),
    )
    .await;
    let result = test(&app, "dsco").await;
    assert_eq!(result["ok"], false);
    assert!(
        result["detail"]
            .as_str()
            .unwrap()
            .contains("invalid_client"),
        "{result}"
    );
    // Bad input names the field.
    let (code, body) = put(&app, "dsco", json!({"base_url": "not a url"})).await;
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("base_url"));
    let (code, body) = put(&app, "dsco", json!({"colour": "blue"})).await;
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("colour"));
    let r = app.get("/v1/connections/shopify").send().await.unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_config_wins_over_the_store() {
    let sims = Sims::start().await;
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    let view = app.json("/v1/connections/brightpearl").await;
    assert_eq!(view["configured"], true);
    assert_eq!(view["fields"]["account_token"]["source"], "config");
    assert_eq!(view["fields"]["staff_token"]["set"], false);
    let (code, body) = put(&app, "brightpearl", json!({"account_token": "other"})).await;
    assert_eq!(code, 409);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("brightpearl.account_token"),
        "{body}"
    );
    // A field the config leaves unset can be stored.
    let (code, view) = put(&app, "brightpearl", json!({"staff_token": "staff"})).await;
    assert_eq!(code, 200);
    assert_eq!(view["fields"]["staff_token"]["source"], "store");
    assert_eq!(test(&app, "brightpearl").await["ok"], true);
    assert_eq!(test(&app, "dsco").await["ok"], true);
    app.stop().await;
}

/// `run-once <flow>` runs in-process when no daemon holds the store, and through the running
/// daemon's control API when one does.
#[tokio::test]
async fn run_once_works_with_and_without_a_running_daemon() {
    let sims = Sims::start().await;
    sims.brightpearl.seed_demo(50);
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "state_dir = \"{}\"\n{}\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{}\"\n",
        dir.path().join("state").display(),
        sims.config_toml(),
        crate::support::TOKEN
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &toml).unwrap();
    // `--mode default` names the flow's one mode, in-process and through the control API.
    let run_once = |config: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(crate::support::binary())
                .args([
                    "--config",
                    config.to_str().unwrap(),
                    "run-once",
                    "reference",
                    "--mode",
                    "default",
                ])
                .env_remove("RUST_LOG")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let out = run_once(config.clone()).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["trigger"], "cli");
    assert_eq!(run["mode"], "default");
    assert!(run["note"].as_str().unwrap().contains("products"), "{run}");

    let daemon = crate::support::Daemon::start(dir.path(), &toml, &[]).await;
    let out = run_once(config.clone()).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("through its control API"));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    // The daemon's own start-up retrieval may still be going: then run-once reports that run.
    assert!(
        run["trigger"] == "manual" || run["trigger"] == "startup",
        "{run}"
    );
    drop(daemon);
}
