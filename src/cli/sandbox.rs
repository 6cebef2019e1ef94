//! `dsco-brightpearl sandbox`: both simulators on loopback, a seeded demo account, and the daemon
//! configured against them, with no credentials needed.
//!
//! This module wires the simulators to the product; the simulators themselves (`crate::sandbox`)
//! know nothing of the product.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use crate::app;
use crate::config::{Config, Sources};
use crate::sandbox::brightpearl::{BrightpearlSim, BrightpearlSimConfig, DemoFulfilment};
use crate::sandbox::common::{SimClock, SimServer};
use crate::sandbox::dsco::{DscoSim, DscoSimConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Start only the two simulators, not the daemon.
    #[arg(long)]
    pub sims_only: bool,
    /// Print one JSON object with the URLs and credentials as the first line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Port for the Brightpearl simulator (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port_brightpearl: u16,
    /// Port for the DSCO simulator (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port_dsco: u16,
    /// Seed for the demo data, so runs are reproducible.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}
/// Demo size: products in both catalogs and retailer orders waiting on DSCO.
pub const DEMO_PRODUCTS: u32 = 200;
pub const DEMO_ORDERS: u32 = 36;

/// What `--json` prints as the first line of stdout (a contract scripts read).
#[derive(Debug, Clone, Serialize)]
pub struct SandboxInfo {
    pub brightpearl_base_url: String,
    pub brightpearl_account: String,
    pub brightpearl_app_ref: String,
    pub brightpearl_account_token: String,
    pub dsco_base_url: String,
    pub dsco_client_id: String,
    pub dsco_client_secret: String,
    pub sandbox_admin_urls: SandboxAdminUrls,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_token: Option<String>,
    /// The daemon's public listener (Brightpearl's webhooks), on loopback over http://.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SandboxAdminUrls {
    pub brightpearl: String,
    pub dsco: String,
}

/// A running sandbox.
pub struct Sandbox {
    pub brightpearl: BrightpearlSim,
    pub dsco: DscoSim,
    pub info: SandboxInfo,
    pub daemon: Option<app::Running>,
    pub state_dir: PathBuf,
    bp_server: SimServer,
    dsco_server: SimServer,
    /// Lets the demo warehouse work on the clock between requests (stopped with the sandbox).
    demo_ticker: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Start the simulators (and, unless `sims_only`, the daemon) and seed the demo account.
    pub async fn start(args: &SandboxArgs, state_dir: PathBuf) -> anyhow::Result<Sandbox> {
        crate::tls::ensure_crypto_provider();
        let clock = SimClock::new();
        // The demo warehouse ships the orders the daemon imports: goods-out notes 15 s after
        // the sales order, shipped 15 s later (some in two partial notes, one untracked, one on
        // the unmapped shipping method 5), so orders reach `shipped`.
        let brightpearl = BrightpearlSim::new(BrightpearlSimConfig {
            clock: clock.clone(),
            demo: Some(DemoFulfilment::default()),
            ..Default::default()
        });
        let dsco = DscoSim::new(DscoSimConfig {
            clock: clock.clone(),
            ..Default::default()
        });
        // The demo orders are spread over the last DEMO_ORDERS minutes; import them all.
        let seeded_at = chrono::Utc::now() - chrono::Duration::minutes(i64::from(DEMO_ORDERS) + 10);
        brightpearl.seed_demo(DEMO_PRODUCTS);
        dsco.seed_demo(DEMO_PRODUCTS, DEMO_ORDERS, args.seed);
        let bp_server = brightpearl
            .start(SocketAddr::from(([127, 0, 0, 1], args.port_brightpearl)))
            .await
            .context("starting the Brightpearl simulator (--port-brightpearl)")?;
        let dsco_server = dsco
            .start(SocketAddr::from(([127, 0, 0, 1], args.port_dsco)))
            .await
            .context("starting the DSCO simulator (--port-dsco)")?;
        let bp_config = brightpearl.config().clone();
        let dsco_config = dsco.config().clone();
        let mut info = SandboxInfo {
            brightpearl_base_url: bp_server.url(),
            brightpearl_account: bp_config.account.clone(),
            brightpearl_app_ref: bp_config.app_ref.clone(),
            brightpearl_account_token: bp_config.account_token.clone(),
            dsco_base_url: format!("{}{}", dsco_server.url(), crate::sandbox::dsco::API_PREFIX),
            dsco_client_id: dsco_config.client_id.clone(),
            dsco_client_secret: dsco_config.client_secret.clone(),
            sandbox_admin_urls: SandboxAdminUrls {
                brightpearl: format!("{}/_sandbox", bp_server.url()),
                dsco: format!("{}/_sandbox", dsco_server.url()),
            },
            control_url: None,
            control_token: None,
            public_url: None,
        };
        let daemon = if args.sims_only {
            None
        } else {
            // The public listener on a loopback port chosen now, so its URL goes into the
            // config (http:// is allowed on loopback).
            let public = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .context("binding the sandbox's public listener")?;
            let public_url = format!("http://{}", public.local_addr()?);
            let config = daemon_config(&info, &state_dir, &public_url)?;
            let running = app::start(
                config,
                app::Options {
                    public_listener: Some(public),
                    ..Default::default()
                },
            )
            .await?;
            let url = format!("http://{}", running.addr);
            let token = running.token.expose().clone();
            configure(&url, &token, seeded_at).await?;
            info.control_url = Some(url);
            info.control_token = Some(token);
            info.public_url = Some(public_url);
            Some(running)
        };
        let demo_ticker = {
            let brightpearl = brightpearl.clone();
            let dsco = dsco.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                let mut n: u32 = 0;
                let mut requested = false;
                loop {
                    tick.tick().await;
                    brightpearl.run_demo_due();
                    n += 1;
                    if !requested && n >= CANCEL_REQUEST_AFTER_S {
                        requested = raise_cancel_request(&dsco);
                    }
                    // Now and then the warehouse takes goods in or counts a product again (the
                    // demo's shipments move stock too: a goods-out note allocates it): the
                    // stock changes, a webhook tells the daemon, and inventory publishes it.
                    if n.is_multiple_of(15) {
                        let step = n / 15;
                        let product = 1 + (step * 37) % 150;
                        if !product.is_multiple_of(40) {
                            if step.is_multiple_of(2) {
                                brightpearl.receive_stock(product, 1, i64::from(6 + step % 12));
                            } else {
                                brightpearl.set_stock(product, 1, i64::from(5 + step % 30));
                            }
                        }
                    }
                }
            })
        };
        Ok(Sandbox {
            brightpearl,
            dsco,
            info,
            daemon,
            state_dir,
            bp_server,
            dsco_server,
            demo_ticker,
        })
    }

    /// Stop the daemon (gracefully), then the simulators.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(daemon) = self.daemon {
            daemon.shutdown();
            daemon.wait().await?;
        }
        self.demo_ticker.abort();
        self.bp_server.stop().await;
        self.dsco_server.stop().await;
        Ok(())
    }
}

/// The demo's retailer asks to cancel one order from this many seconds after the start, as soon
/// as one is acknowledged and not shipped yet.
const CANCEL_REQUEST_AFTER_S: u32 = 5;

/// Once, a retailer asks to cancel an order the supplier has acknowledged but not shipped yet
/// (`PUT /order/request/cancel` on the simulator): the daemon notes the request on the
/// Brightpearl order; the demo warehouse answers it by shipping.
fn raise_cancel_request(dsco: &DscoSim) -> bool {
    let id_of = |o: &serde_json::Value| {
        o["dscoOrderId"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| o["dscoOrderId"].as_u64().map(|n| n.to_string()))
    };
    let open = dsco.orders().into_iter().find(|o| {
        o["dscoLifecycle"] == "acknowledged"
            && o["packages"].as_array().is_none_or(|p| p.is_empty())
    });
    let Some(id) = open.as_ref().and_then(id_of) else {
        return false;
    };
    if let Err(e) = dsco.request_cancel(&id, "CXRR", &[]) {
        tracing::warn!(dsco_order_id = %id, error = %e, "the demo's cancel request was refused");
    }
    true
}

/// Set the demo account up the way a user would, through the control API: wait for the
/// reference data, then settings and mappings (warehouses, shipping methods, two of the three
/// retailers mapped to existing contacts; the third gets a contact created on its first order).
async fn configure(
    url: &str,
    token: &str,
    seeded_at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let runs: serde_json::Value = http
            .get(format!("{url}/v1/runs?flow=reference"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let items = runs["items"].as_array().cloned().unwrap_or_default();
        if items.iter().any(|r| r["status"] == "succeeded") {
            break;
        }
        if let Some(failed) = items.iter().find(|r| r["status"] == "failed") {
            anyhow::bail!(
                "the sandbox's reference data retrieval failed: {}",
                failed["error"]
            );
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the sandbox's reference data was not retrieved within two minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let settings = serde_json::json!({
        "orders": {
            "import_from": seeded_at.to_rfc3339(),
            "status_id": 2, "channel_id": 2, "warehouse_id": 1, "tax_code": "T",
            "shipping_method_id": 1, "price_source": "expected_cost",
            "shipping_charge_nominal_code": "4040"
        },
        "cancellations": {"dsco_cancelled_status_id": 5, "brightpearl_cancel_status_id": 5},
        "inventory": {"enabled": true}
    });
    let r = http
        .patch(format!("{url}/v1/settings"))
        .bearer_auth(token)
        .json(&settings)
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "sandbox settings refused: {}",
        r.text().await?
    );
    let warehouses = crate::sandbox::demo::warehouses()
        .iter()
        .enumerate()
        .map(|(i, w)| format!("{},{}", i + 1, w.dsco_code))
        .collect::<Vec<_>>()
        .join("\n");
    for (kind, csv) in [
        ("warehouses", format!("brightpearl_warehouse_id,dsco_warehouse_code\n{warehouses}\n")),
        (
            "shipping-methods",
            "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\n\
             both,UPCG,UPS,Ground,1\nboth,FE2D,FedEx,2Day,2\nboth,USPM,USPS,Priority Mail,3\nboth,FEHD,FedEx,Home Delivery,4\n"
                .to_owned(),
        ),
        ("customers", "dsco_retailer_id,brightpearl_contact_id\n1000001,3\n1000002,4\n".to_owned()),
    ] {
        let r = http
            .put(format!("{url}/v1/mappings/{kind}"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "sandbox {kind} mapping refused: {}", r.text().await?);
    }
    Ok(())
}

/// The daemon's configuration against the simulators, written as a TOML file into the state dir
/// (so a user can see what a real configuration looks like) and loaded the normal way.
fn daemon_config(
    info: &SandboxInfo,
    state_dir: &std::path::Path,
    public_url: &str,
) -> anyhow::Result<Config> {
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let toml = format!(
        r#"# Written by `dsco-brightpearl sandbox`: the daemon's configuration against the simulators.
state_dir = "{state}"
shutdown_grace = "10s"

[api]
listen = "127.0.0.1:0"
token = "{token}"

[public]
listen = "{public_listen}"
url = "{public_url}"

[brightpearl]
base_url = "{bp_url}"
account = "{bp_account}"
app_ref = "{bp_app_ref}"
account_token = "{bp_token}"

[dsco]
base_url = "{dsco_url}"
client_id = "{dsco_id}"
client_secret = "{dsco_secret}"

[schedules]
orders = "*/20 * * * * *"
# The shipments sweep; webhooks ship sooner. The demo warehouse makes goods-out notes 15 s after
# an order is imported and ships them 15 s later.
shipments = "5/20 * * * * *"
inventory = "10 * * * * *"
invoices = "15 * * * * *"
cancellations = "25 * * * * *"
reference = "0 */10 * * * *"
"#,
        state = state_dir.display(),
        public_listen = public_url.trim_start_matches("http://"),
        bp_url = info.brightpearl_base_url,
        bp_account = info.brightpearl_account,
        bp_app_ref = info.brightpearl_app_ref,
        bp_token = info.brightpearl_account_token,
        dsco_url = info.dsco_base_url,
        dsco_id = info.dsco_client_id,
        dsco_secret = info.dsco_client_secret,
    );
    let path = state_dir.join("sandbox.toml");
    std::fs::write(&path, toml).with_context(|| format!("cannot write {}", path.display()))?;
    Config::load_from(&Sources {
        file: Some(path),
        env: Some(Vec::new()),
    })
    .map_err(anyhow::Error::from)
}

/// The `sandbox` command: start, print where everything is, run until Ctrl-C / SIGTERM.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let state_dir =
        std::env::temp_dir().join(format!("dsco-brightpearl-sandbox-{}", std::process::id()));
    let sandbox = Sandbox::start(&args, state_dir.clone()).await?;
    if args.json {
        println!("{}", serde_json::to_string(&sandbox.info)?);
    } else {
        print_human(&sandbox.info, &state_dir);
    }
    match (
        &sandbox.info.control_url,
        &sandbox.info.control_token,
        args.json,
    ) {
        (Some(url), Some(token), false) => {
            tokio::select! {
                _ = wait_for_stop() => {}
                _ = print_summaries(url, token) => {}
            }
        }
        _ => wait_for_stop().await,
    }
    let result = sandbox.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    result
}

fn print_human(info: &SandboxInfo, state_dir: &std::path::Path) {
    println!("dsco-brightpearl sandbox is running; Ctrl-C stops it.\n");
    if let (Some(url), Some(token)) = (&info.control_url, &info.control_token) {
        println!("  control API      {url}");
        println!("  control token    {token}");
        if let Some(public) = &info.public_url {
            println!("  public listener  {public}  (Brightpearl webhooks)");
        }
        println!(
            "  daemon config    {}",
            state_dir.join("sandbox.toml").display()
        );
    }
    println!(
        "  Brightpearl sim  {}  (account {}, app ref {}, account token {})",
        info.brightpearl_base_url,
        info.brightpearl_account,
        info.brightpearl_app_ref,
        info.brightpearl_account_token
    );
    println!(
        "  DSCO sim         {}  (client id {}, client secret {})",
        info.dsco_base_url, info.dsco_client_id, info.dsco_client_secret
    );
    println!(
        "  sandbox admin    {}/state  {}/state",
        info.sandbox_admin_urls.brightpearl, info.sandbox_admin_urls.dsco
    );
    if let (Some(url), Some(token)) = (&info.control_url, &info.control_token) {
        println!("\nTry:\n  curl -s -H 'Authorization: Bearer {token}' {url}/v1/status");
        println!("  curl -s -XPOST -H 'Authorization: Bearer {token}' {url}/v1/sync/orders/run");
    }
}

/// One line per flow whenever its state changes: last run, counts, next run.
async fn print_summaries(url: &str, token: &str) {
    let Ok(http) = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
    else {
        return std::future::pending().await;
    };
    let mut last: std::collections::HashMap<String, String> = Default::default();
    loop {
        if let Ok(r) = http
            .get(format!("{url}/v1/status"))
            .bearer_auth(token)
            .send()
            .await
            && let Ok(status) = r.json::<serde_json::Value>().await
        {
            for flow in status["flows"].as_array().into_iter().flatten() {
                if flow["available"] != true {
                    continue;
                }
                let line = summary_line(flow);
                let name = flow["flow"].as_str().unwrap_or("?").to_owned();
                if last.get(&name) != Some(&line) {
                    println!("{line}");
                    last.insert(name, line);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// `orders      12:00:21 succeeded · 30 synced, 5 need attention, 1 skipped · next 12:00:40`
pub fn summary_line(flow: &serde_json::Value) -> String {
    let name = flow["flow"].as_str().unwrap_or("?");
    let c = &flow["counts"];
    let mut counts = Vec::new();
    for (key, label) in [
        ("synced", "synced"),
        ("pending", "pending"),
        ("failed", "failed (retrying)"),
        ("needs_attention", "need attention"),
        ("skipped", "skipped"),
    ] {
        let n = c[key].as_u64().unwrap_or(0);
        if n > 0 {
            counts.push(format!("{n} {label}"));
        }
    }
    let counts = if counts.is_empty() {
        "no records yet".to_owned()
    } else {
        counts.join(", ")
    };
    let time = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.format("%H:%M:%S").to_string())
    };
    let state = if let Some(progress) = flow["progress"].as_str() {
        format!("running: {progress}")
    } else if flow["running_run_id"].is_u64() {
        "running".to_owned()
    } else {
        match &flow["last_run"] {
            serde_json::Value::Null => "not run yet".to_owned(),
            run => format!(
                "{} {}",
                time(&run["finished_at"])
                    .or(time(&run["started_at"]))
                    .unwrap_or_default(),
                run["status"].as_str().unwrap_or("?")
            ),
        }
    };
    let next = time(&flow["next_run"])
        .map(|t| format!(" · next {t}"))
        .unwrap_or_default();
    let note = flow["note"]
        .as_str()
        .map(|n| format!(" · {n}"))
        .unwrap_or_default();
    format!("{name:<13} {state} · {counts}{next}{note}")
}

async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
