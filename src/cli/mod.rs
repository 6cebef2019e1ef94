//! The command line: `run`, `check-config`, `run-once <flow>`, `sandbox`, `migrate`, and
//! `mappings import|export`, `settings get|set`, which talk to the running daemon's control API.
//!
//! This file parses and dispatches; `local_api` talks to a running daemon, `sandbox` runs the
//! product against the simulators.

mod local_api;
pub mod sandbox;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

pub use self::local_api::{ModeArg, local_api};
pub use self::sandbox::SandboxArgs;

use self::local_api::{LocalApi, run_through_api};
use crate::config::Config;
use crate::flow_name::{FlowName, Mode};
use crate::mapping::MappingKind;
use crate::store::{RunStatus, Trigger};

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
        /// One of the flow's modes (inventory: delta, full, reconcile; the others: default);
        /// the flow's first mode when absent.
        #[arg(long, value_name = "MODE")]
        mode: Option<String>,
    },
    /// Start simulators of Brightpearl and DSCO on loopback, seed a demo account, and run the
    /// daemon against them. No credentials needed.
    Sandbox(SandboxArgs),
    /// Open the store and bring its schema up to date (the daemon also does this at start).
    Migrate,
    /// Import or export manual mappings as CSV through the running daemon's control API.
    Mappings {
        #[command(subcommand)]
        action: MappingsCommand,
    },
    /// Show or change the settings document through the running daemon's control API.
    Settings {
        #[command(subcommand)]
        action: SettingsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum MappingsCommand {
    /// Upload a CSV file; nothing is applied if any row is bad, and every bad row is printed.
    Import {
        /// items | customers | shipping-methods | warehouses | inventory-buffers
        kind: MappingKind,
        /// The CSV file (`-` for stdin).
        file: PathBuf,
        /// merge: add and update rows; replace: the file becomes the whole mapping.
        #[arg(long, value_enum, default_value_t = ModeArg::Merge)]
        mode: ModeArg,
    },
    /// Download the manual mappings of a kind as CSV.
    Export {
        /// items | customers | shipping-methods | warehouses | inventory-buffers
        kind: MappingKind,
        /// Where to write the CSV (`-` for stdout).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print the settings document.
    Get,
    /// Apply a JSON merge patch, e.g. '{"orders":{"currency":"USD"}}' (`-` reads it from stdin).
    Set {
        /// The JSON merge patch, or `-` for stdin.
        patch: String,
    },
}
impl clap::ValueEnum for MappingKind {
    fn value_variants<'a>() -> &'a [Self] {
        &MappingKind::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
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
        Command::RunOnce { flow, mode } => {
            let mode = match mode.as_deref().map(|m| flow.mode(m)).transpose() {
                Ok(mode) => mode.unwrap_or_else(|| flow.default_mode()),
                Err(message) => {
                    eprintln!("error: {message}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let config = load(cli.config.as_deref())?;
            crate::logging::init(&config.log.filter);
            run_once(config, flow, mode).await
        }
        Command::Mappings { action } => {
            let config = load(cli.config.as_deref())?;
            let api = LocalApi::new(&config)?;
            match action {
                MappingsCommand::Import { kind, file, mode } => api.import(kind, &file, mode).await,
                MappingsCommand::Export { kind, file } => api.export(kind, &file).await,
            }
        }
        Command::Settings { action } => {
            let config = load(cli.config.as_deref())?;
            let api = LocalApi::new(&config)?;
            match action {
                SettingsCommand::Get => api.settings_get().await,
                SettingsCommand::Set { patch } => api.settings_set(&patch).await,
            }
        }
        Command::Sandbox(args) => {
            crate::logging::init("info");
            sandbox::run(args).await?;
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
async fn run_once(config: Config, flow: FlowName, mode: Mode) -> anyhow::Result<ExitCode> {
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
            let run = scheduler
                .run_to_completion_mode(flow, Trigger::Cli, mode)
                .await?;
            serde_json::to_value(crate::api::RunView::from(run))?
        }
        Err(e)
            if e.downcast_ref::<crate::store::Error>()
                .is_some_and(|e| matches!(e, crate::store::Error::Locked { .. })) =>
        {
            eprintln!("the daemon holds the store; running {flow} through its control API");
            run_through_api(&config, flow, mode).await?
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
