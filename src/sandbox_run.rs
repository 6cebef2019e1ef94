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
use crate::cli::SandboxArgs;
use crate::config::{Config, Sources};
use crate::sandbox::brightpearl::{BrightpearlSim, BrightpearlSimConfig};
use crate::sandbox::common::{SimClock, SimServer};
use crate::sandbox::dsco::{DscoSim, DscoSimConfig};

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
}

impl Sandbox {
    /// Start the simulators (and, unless `sims_only`, the daemon) and seed the demo account.
    pub async fn start(args: &SandboxArgs, state_dir: PathBuf) -> anyhow::Result<Sandbox> {
        crate::tls::ensure_crypto_provider();
        let clock = SimClock::new();
        let brightpearl = BrightpearlSim::new(BrightpearlSimConfig {
            clock: clock.clone(),
            ..Default::default()
        });
        let dsco = DscoSim::new(DscoSimConfig {
            clock: clock.clone(),
            ..Default::default()
        });
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
        };
        let daemon = if args.sims_only {
            None
        } else {
            let config = daemon_config(&info, &state_dir)?;
            let running = app::start(config, app::Options::default()).await?;
            info.control_url = Some(format!("http://{}", running.addr));
            info.control_token = Some(running.token.expose().clone());
            Some(running)
        };
        Ok(Sandbox {
            brightpearl,
            dsco,
            info,
            daemon,
            state_dir,
            bp_server,
            dsco_server,
        })
    }

    /// Stop the daemon (gracefully), then the simulators.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(daemon) = self.daemon {
            daemon.shutdown();
            daemon.wait().await?;
        }
        self.bp_server.stop().await;
        self.dsco_server.stop().await;
        Ok(())
    }
}

/// The daemon's configuration against the simulators, written as a TOML file into the state dir
/// (so a user can see what a real configuration looks like) and loaded the normal way.
fn daemon_config(info: &SandboxInfo, state_dir: &std::path::Path) -> anyhow::Result<Config> {
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
shipments = "5/20 * * * * *"
inventory = "10 * * * * *"
invoices = "15 * * * * *"
cancellations = "25 * * * * *"
reference = "0 */10 * * * *"
"#,
        state = state_dir.display(),
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
    wait_for_stop().await;
    let result = sandbox.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    result
}

fn print_human(info: &SandboxInfo, state_dir: &std::path::Path) {
    println!("dsco-brightpearl sandbox is running; Ctrl-C stops it.\n");
    if let (Some(url), Some(token)) = (&info.control_url, &info.control_token) {
        println!("  control API      {url}");
        println!("  control token    {token}");
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
