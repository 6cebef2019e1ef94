//! The command line: `run`, `check-config`, `run-once <flow>`, `sandbox`, `migrate`, and
//! `mappings import|export`, `settings get|set`, which talk to the running daemon's control API.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::flow_name::FlowName;
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
        /// items | customers | shipping-methods | warehouses
        kind: MappingKind,
        /// The CSV file (`-` for stdin).
        file: PathBuf,
        /// merge: add and update rows; replace: the file becomes the whole mapping.
        #[arg(long, value_enum, default_value_t = ModeArg::Merge)]
        mode: ModeArg,
    },
    /// Download the manual mappings of a kind as CSV.
    Export {
        /// items | customers | shipping-methods | warehouses
        kind: MappingKind,
        /// Where to write the CSV (`-` for stdout).
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Merge,
    Replace,
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
        Command::RunOnce { flow } => {
            let config = load(cli.config.as_deref())?;
            crate::logging::init(&config.log.filter);
            run_once(config, flow).await
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

/// A client for the local control API; loopback TLS uses the daemon's own certificate.
fn local_client(base: &str, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    crate::tls::ensure_crypto_provider();
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .danger_accept_invalid_certs(
            base.starts_with("https://127.") || base.starts_with("https://[::1]"),
        )
        .build()?)
}

async fn run_through_api(config: &Config, flow: FlowName) -> anyhow::Result<serde_json::Value> {
    let (base, token) = local_api(config)?;
    let http = local_client(&base, Duration::from_secs(30))?;
    let started = http
        .post(format!("{base}/v1/sync/{flow}/run"))
        .bearer_auth(&token)
        .send()
        .await?;
    let status = started.status();
    let body: serde_json::Value = started.json().await.unwrap_or_default();
    let run_id = if status == reqwest::StatusCode::CONFLICT {
        // Already running (a schedule or another user started it): wait for that run instead.
        let flows: serde_json::Value = http
            .get(format!("{base}/v1/status"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let running = flows["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["flow"] == flow.as_str())
            .and_then(|f| f["running_run_id"].as_u64());
        match running {
            Some(id) => {
                eprintln!("{flow} is already running (run {id}); waiting for that run");
                id
            }
            None => anyhow::bail!(
                "the daemon refused the run ({status}): {}",
                body.get("message").and_then(|m| m.as_str()).unwrap_or("")
            ),
        }
    } else if !status.is_success() {
        anyhow::bail!(
            "the daemon refused the run ({status}): {}",
            body.get("message").and_then(|m| m.as_str()).unwrap_or("")
        );
    } else {
        body.get("run_id")
            .and_then(|v| v.as_u64())
            .context("the daemon's answer has no run_id")?
    };
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

/// The running daemon's control API, for the `mappings` and `settings` commands.
struct LocalApi {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl LocalApi {
    fn new(config: &Config) -> anyhow::Result<LocalApi> {
        let (base, token) = local_api(config)?;
        // Uploads of 100,000 rows take a few seconds; leave ample room.
        let http = local_client(&base, Duration::from_secs(600))?;
        Ok(LocalApi { base, token, http })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Option<Vec<u8>>> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {}", self.base))?;
        let status = response.status();
        let body = response.bytes().await?.to_vec();
        if status.is_success() {
            return Ok(Some(body));
        }
        print_api_error(status, &body);
        Ok(None)
    }

    async fn import(
        &self,
        kind: MappingKind,
        file: &std::path::Path,
        mode: ModeArg,
    ) -> anyhow::Result<ExitCode> {
        let csv = read_input(file)?;
        let mode = match mode {
            ModeArg::Merge => "merge",
            ModeArg::Replace => "replace",
        };
        let request = self
            .http
            .put(format!("{}/v1/mappings/{kind}", self.base))
            .query(&[("mode", mode)])
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv);
        let Some(body) = self.send(request).await? else {
            return Ok(ExitCode::FAILURE);
        };
        let result: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        println!("{}", serde_json::to_string_pretty(&result)?);
        Ok(ExitCode::SUCCESS)
    }

    async fn export(&self, kind: MappingKind, file: &std::path::Path) -> anyhow::Result<ExitCode> {
        let request = self
            .http
            .get(format!("{}/v1/mappings/{kind}", self.base))
            .query(&[("format", "csv")]);
        let Some(csv) = self.send(request).await? else {
            return Ok(ExitCode::FAILURE);
        };
        if file.as_os_str() == "-" {
            use std::io::Write;
            std::io::stdout().write_all(&csv)?;
        } else {
            std::fs::write(file, &csv)
                .with_context(|| format!("cannot write {}", file.display()))?;
            let rows = csv
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                .saturating_sub(1);
            eprintln!("exported {rows} {kind} mapping(s) to {}", file.display());
        }
        Ok(ExitCode::SUCCESS)
    }

    async fn settings_get(&self) -> anyhow::Result<ExitCode> {
        let Some(body) = self
            .send(self.http.get(format!("{}/v1/settings", self.base)))
            .await?
        else {
            return Ok(ExitCode::FAILURE);
        };
        let document: serde_json::Value = serde_json::from_slice(&body)?;
        println!("{}", serde_json::to_string_pretty(&document)?);
        Ok(ExitCode::SUCCESS)
    }

    async fn settings_set(&self, patch: &str) -> anyhow::Result<ExitCode> {
        let text = if patch == "-" {
            String::from_utf8(read_input(std::path::Path::new("-"))?)
                .context("the patch on stdin is not UTF-8")?
        } else {
            patch.to_owned()
        };
        let patch: serde_json::Value =
            serde_json::from_str(&text).context("the patch is not valid JSON")?;
        let request = self
            .http
            .patch(format!("{}/v1/settings", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/merge-patch+json",
            )
            .body(serde_json::to_vec(&patch)?);
        let Some(body) = self.send(request).await? else {
            return Ok(ExitCode::FAILURE);
        };
        let document: serde_json::Value = serde_json::from_slice(&body)?;
        println!("{}", serde_json::to_string_pretty(&document)?);
        Ok(ExitCode::SUCCESS)
    }
}

/// A file's bytes, or stdin's for `-`.
fn read_input(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        use std::io::Read;
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
    }
}

/// Print an API error body: the message, then each field or row at fault.
fn print_api_error(status: reqwest::StatusCode, body: &[u8]) {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed
        .get("message")
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    eprintln!("error: the daemon answered {status}: {message}");
    if let Some(details) = parsed.get("details").and_then(|d| d.as_array()) {
        for detail in details {
            eprintln!(
                "  {}: {}",
                detail.get("field").and_then(|f| f.as_str()).unwrap_or(""),
                detail.get("message").and_then(|m| m.as_str()).unwrap_or("")
            );
        }
    }
}
