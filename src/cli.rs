//! The command line: `run`, `check-config`, `run-once <flow>`, `sandbox`, `migrate`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::store::{RunStatus, Trigger};
use crate::sync::FlowName;

/// dsco-brightpearl: turns DSCO (Rithum) dropship purchase orders into Brightpearl sales orders
/// and sends shipments, inventory and invoices back, on schedules you choose.
///
/// Start here: `dsco-brightpearl sandbox` runs the whole product against built-in simulators of
/// both APIs, no credentials needed. For a real install, write /etc/dsco-brightpearl/config.toml
/// (see config/dsco-brightpearl.example.toml), check it with `check-config`, then start the
/// systemd service, which runs `dsco-brightpearl run`.
#[derive(Debug, Parser)]
#[command(name = "dsco-brightpearl", version, about, long_about)]
pub struct Cli {
    /// Config file [default: /etc/dsco-brightpearl/config.toml]. Environment variables
    /// DSCO_BRIGHTPEARL_* (with __ for nesting, e.g. DSCO_BRIGHTPEARL_API__LISTEN) override it.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: control API, schedules, sync flows (what the systemd unit starts).
    Run,
    /// Validate the configuration, print it with secrets redacted; exit 1 listing every problem.
    CheckConfig,
    /// Run one flow once now and print what it did (orders, shipments, inventory, invoices,
    /// cancellations, reference). Uses the running daemon's control API if it holds the store.
    RunOnce {
        /// The flow to run.
        flow: FlowName,
    },
    /// Start simulators of Brightpearl and DSCO on loopback, seed a demo account, and run the
    /// daemon against them. No credentials needed.
    Sandbox(SandboxArgs),
    /// Open the store and bring its schema up to date (the daemon also does this at start).
    Migrate,
}

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

impl clap::ValueEnum for FlowName {
    fn value_variants<'a>() -> &'a [Self] {
        &FlowName::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Run the parsed command; the exit code says how it went.
pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::CheckConfig => check_config(cli.config),
        Command::Run => {
            let config = load(cli.config.as_deref())?;
            crate::logging::init(&config.log.filter);
            crate::app::run(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = load(cli.config.as_deref())?;
            crate::logging::init(&config.log.filter);
            std::fs::create_dir_all(&config.state_dir)
                .with_context(|| format!("cannot create {}", config.state_dir.display()))?;
            let store = crate::app::open_store(&config).await?;
            println!(
                "store {} is at schema version {}",
                store.path().display(),
                store.schema_version()?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::RunOnce { flow } => {
            let config = load(cli.config.as_deref())?;
            crate::logging::init(&config.log.filter);
            run_once(config, flow).await
        }
        Command::Sandbox(args) => {
            crate::logging::init("info");
            crate::sandbox_run::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Config::load(path).map_err(anyhow::Error::from)
}

fn check_config(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match Config::load(path.as_deref()) {
        Ok(config) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&config.redacted()).unwrap_or_default()
            );
            eprintln!("configuration is valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Run a flow in this process; if the daemon holds the store, ask it through the control API.
async fn run_once(config: Config, flow: FlowName) -> anyhow::Result<ExitCode> {
    crate::tls::ensure_crypto_provider();
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("cannot create {}", config.state_dir.display()))?;
    let run = match crate::app::open_store(&config).await {
        Ok(store) => {
            let config = std::sync::Arc::new(config.clone());
            let connections = {
                let (config, store) = (config.clone(), store.clone());
                std::sync::Arc::new(
                    tokio::task::spawn_blocking(move || {
                        crate::connections::Connections::load(config, store)
                    })
                    .await??,
                )
            };
            let registry = crate::app::registry(&config, &connections, Vec::new());
            let scheduler = crate::scheduler::Scheduler::new(store, registry, Default::default());
            let run = scheduler.run_to_completion(flow, Trigger::Cli).await?;
            serde_json::to_value(crate::api::RunView::from(run))?
        }
        Err(e)
            if e.downcast_ref::<crate::store::Error>()
                .is_some_and(|e| matches!(e, crate::store::Error::Locked { .. })) =>
        {
            eprintln!("the daemon holds the store; running {flow} through its control API");
            run_through_api(&config, flow).await?
        }
        Err(e) => return Err(e),
    };
    println!("{}", serde_json::to_string_pretty(&run)?);
    let succeeded = run.get("status").and_then(|s| s.as_str())
        == Some(
            serde_json::to_value(RunStatus::Succeeded)?
                .as_str()
                .unwrap_or("succeeded"),
        );
    Ok(if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The local control API's base URL and token, as a running daemon left them in `state_dir`.
pub fn local_api(config: &Config) -> anyhow::Result<(String, String)> {
    let addr_path = config.state_dir.join(crate::app::API_ADDR_FILE);
    let base = std::fs::read_to_string(&addr_path)
        .with_context(|| {
            format!(
                "cannot read {} (is the daemon running?)",
                addr_path.display()
            )
        })?
        .trim()
        .to_owned();
    let token = match &config.api.token {
        Some(t) => t.expose().clone(),
        None => std::fs::read_to_string(config.state_dir.join(crate::app::API_TOKEN_FILE))
            .context("no api.token configured and no generated token in state_dir")?
            .trim()
            .to_owned(),
    };
    Ok((base, token))
}

async fn run_through_api(config: &Config, flow: FlowName) -> anyhow::Result<serde_json::Value> {
    let (base, token) = local_api(config)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .danger_accept_invalid_certs(
            base.starts_with("https://127.") || base.starts_with("https://[::1]"),
        )
        .build()?;
    let started = http
        .post(format!("{base}/v1/sync/{flow}/run"))
        .bearer_auth(&token)
        .send()
        .await?;
    let status = started.status();
    let body: serde_json::Value = started.json().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!(
            "the daemon refused the run ({status}): {}",
            body.get("message").and_then(|m| m.as_str()).unwrap_or("")
        );
    }
    let run_id = body
        .get("run_id")
        .and_then(|v| v.as_u64())
        .context("the daemon's answer has no run_id")?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let run: serde_json::Value = http
            .get(format!("{base}/v1/runs/{run_id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if run.get("status").and_then(|s| s.as_str()) != Some("running") {
            return Ok(run);
        }
    }
}
