//! `dsco-brightpearl sandbox`: the real binary, its `--json` contract line, and that what it
//! prints works.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support;

fn start(args: &[&str]) -> (std::process::Child, Value) {
    let mut child = Command::new(support::binary())
        .arg("sandbox")
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, info)
}

fn stop(mut child: std::process::Child) -> Option<i32> {
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap().code()
}

#[tokio::test]
async fn sandbox_json_line_names_working_urls_and_credentials() {
    let (child, info) = start(&["--json", "--seed", "7"]);
    for key in [
        "brightpearl_base_url",
        "brightpearl_account",
        "brightpearl_app_ref",
        "brightpearl_account_token",
        "dsco_base_url",
        "dsco_client_id",
        "dsco_client_secret",
        "control_url",
        "control_token",
        "public_url",
    ] {
        assert!(
            info[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} missing: {info}"
        );
    }
    assert!(info["sandbox_admin_urls"]["brightpearl"].is_string());
    assert!(info["sandbox_admin_urls"]["dsco"].is_string());
    let http = support::http();
    // The control API is up and its token works.
    let control = info["control_url"].as_str().unwrap();
    let r = http
        .get(format!("{control}/v1/status"))
        .bearer_auth(info["control_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The public listener takes only webhook deliveries, and only with the install's key.
    let public = info["public_url"].as_str().unwrap();
    assert!(public.starts_with("http://127.0.0.1:"), "{public}");
    let r = http
        .post(format!("{public}/hooks/brightpearl?key=wrong"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{public}/v1/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The Brightpearl base URL is scheme + host, exactly what [brightpearl] base_url takes.
    let bp = info["brightpearl_base_url"].as_str().unwrap();
    assert_eq!(url::Url::parse(bp).unwrap().path(), "/");
    let r = http
        .get(format!(
            "{bp}/public-api/{}/warehouse-service/warehouse",
            info["brightpearl_account"].as_str().unwrap()
        ))
        .header(
            "brightpearl-app-ref",
            info["brightpearl_app_ref"].as_str().unwrap(),
        )
        .header(
            "brightpearl-account-token",
            info["brightpearl_account_token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["response"].as_array().unwrap().len(),
        3,
        "three demo warehouses"
    );
    // The DSCO base URL takes a client-credentials token and serves seeded orders.
    let dsco = info["dsco_base_url"].as_str().unwrap();
    let token: Value = http
        .post(format!("{dsco}/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", info["dsco_client_id"].as_str().unwrap()),
            (
                "client_secret",
                info["dsco_client_secret"].as_str().unwrap(),
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let until = (chrono::Utc::now() - chrono::Duration::seconds(10)).to_rfc3339();
    let r = http
        .get(format!("{dsco}/order/page"))
        .bearer_auth(access)
        .query(&[
            ("ordersCreatedSince", "2000-01-01T00:00:00Z"),
            ("until", until.as_str()),
            ("ordersPerPage", "100"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert!(!page["orders"].as_array().unwrap().is_empty());
    assert_eq!(stop(child), Some(0));
}

#[tokio::test]
async fn sims_only_starts_no_daemon_and_ports_are_honoured() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (child, info) = start(&["--sims-only", "--json", "--port-dsco", &port.to_string()]);
    assert!(info.get("control_url").is_none());
    assert_eq!(
        info["dsco_base_url"].as_str().unwrap(),
        format!("http://127.0.0.1:{port}/api/v3")
    );
    let r = support::http()
        .get(format!(
            "{}/state",
            info["sandbox_admin_urls"]["dsco"].as_str().unwrap()
        ))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(stop(child), Some(0));
}

#[tokio::test]
async fn the_sandbox_imports_the_demo_orders_and_prints_a_line_per_flow() {
    let mut child = Command::new(support::binary())
        .args(["sandbox", "--seed", "5"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read lines on a thread until an orders summary shows imported orders (or a deadline).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let summary = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "no orders summary with synced orders; saw:\n{}",
            seen.join("\n")
        );
        let Ok(line) = rx.recv_timeout(left) else {
            continue;
        };
        if line.starts_with("orders") && line.contains("synced") && line.contains("need attention")
        {
            break line;
        }
        seen.push(line);
    };
    assert!(
        seen.iter()
            .any(|l| l.starts_with("reference") && l.contains("succeeded")),
        "{seen:?}"
    );
    assert!(summary.contains("next "), "{summary}");
    assert_eq!(stop(child), Some(0));
}

/// One command shows the lifecycle: the sandbox imports the demo orders, its warehouse ships
/// them (partial notes, one untracked, one on an unmapped method), the webhooks reach the public
/// listener and orders reach `shipped`, each confirmed package on DSCO.
#[tokio::test]
async fn the_sandbox_ships_the_demo_orders_through_webhooks_to_shipped() {
    let (child, info) = start(&["--json", "--seed", "5"]);
    let http = support::http();
    let control = info["control_url"].as_str().unwrap().to_owned();
    let token = info["control_token"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let http = http.clone();
        let token = token.clone();
        let control = control.clone();
        async move {
            http.get(format!("{control}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let shipped = support::wait_for(Duration::from_secs(120), || async {
        let page = get("/v1/orders?state=shipped&limit=100".into()).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= 3).then_some(items)
    })
    .await;
    for order in &shipped {
        let id = order["dsco_order_id"].as_str().unwrap();
        let view = get(format!("/v1/orders/{id}")).await;
        let shipments = view["shipments"].as_array().unwrap();
        assert!(
            shipments
                .iter()
                .any(|s| s["state"] == "synced" && s["tracking"].is_string()),
            "{view}"
        );
    }
    // The runs came from webhooks, not only from the schedule.
    let runs = get("/v1/runs?flow=shipments&limit=100".into()).await;
    assert!(
        runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["trigger"] == "webhook"),
        "{runs}"
    );
    // What the demo warehouse gets wrong on purpose is shown, not sent.
    support::wait_for(Duration::from_secs(60), || async {
        let pending = get("/v1/records?flow=shipments&status=pending".into()).await;
        let attention = get("/v1/records?flow=shipments&status=needs_attention".into()).await;
        let untracked = pending["items"].as_array().unwrap().iter().any(|r| {
            r["reason"]
                .as_str()
                .is_some_and(|t| t.contains("no tracking number yet"))
        });
        let unmapped = attention["items"].as_array().unwrap().iter().any(|r| {
            r["reason"]
                .as_str()
                .is_some_and(|t| t.contains("no shipping-method mapping"))
        });
        (untracked && unmapped).then_some(())
    })
    .await;
    // Inventory is on in the sandbox: its first run reconciles every item, stock changes follow.
    let in_sync = support::wait_for(Duration::from_secs(60), || async {
        let page = get("/v1/inventory?state=in_sync&limit=10".into()).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert!(
        in_sync[0]["codes"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    // Goods in, stock counts and the demo's goods-out notes change stock: a stock webhook
    // queues a delta that sends the new quantity.
    support::wait_for(Duration::from_secs(90), || async {
        let runs = get("/v1/runs?flow=inventory&limit=100".into()).await;
        runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| {
                r["trigger"] == "webhook"
                    && r["note"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("delta:") && !n.contains(" 0 items sent"))
            })
            .then_some(())
    })
    .await;
    // The lifecycle closes: the accounts team invoices what shipped and DSCO confirms the
    // invoices; the supplier cancels the orders it cannot fulfil; a retailer's cancel request is
    // noted on its Brightpearl order.
    support::wait_for(Duration::from_secs(150), || async {
        let invoiced = get("/v1/orders?state=invoiced&limit=5".into()).await;
        let invoiced = invoiced["items"].as_array().is_some_and(|i| !i.is_empty());
        let cancels = get("/v1/records?flow=cancellations&status=synced".into()).await;
        let cancelled = cancels["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "supplier_cancel");
        let requests = get("/v1/records?flow=orders&kind=cancel_request".into()).await;
        let requested = requests["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "synced");
        (invoiced && cancelled && requested).then_some(())
    })
    .await;
    assert_eq!(stop(child), Some(0));
}
