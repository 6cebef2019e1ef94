//! The running daemon's control API as the command line uses it: where to find it (files the
//! daemon leaves in `state_dir`), a loopback client, `run-once` through the API, and the
//! `mappings import|export` and `settings get|set` commands.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::config::Config;
use crate::flow_name::{FlowName, Mode};
use crate::mapping::MappingKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Merge,
    Replace,
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

/// Run a flow through the daemon's control API and wait for it to finish. While the flow is
/// already running, wait for that run when it is in the mode asked for, else for it to end and
/// then start ours.
pub(super) async fn run_through_api(
    config: &Config,
    flow: FlowName,
    mode: Mode,
) -> anyhow::Result<serde_json::Value> {
    let (base, token) = local_api(config)?;
    let http = local_client(&base, Duration::from_secs(30))?;
    let get = |path: String| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&token);
        async move { anyhow::Ok(request.send().await?.json::<serde_json::Value>().await?) }
    };
    let wait = |run_id: u64| {
        let get = &get;
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let run = get(format!("/v1/runs/{run_id}")).await?;
                if run.get("status").and_then(|s| s.as_str()) != Some("running") {
                    return anyhow::Ok(run);
                }
            }
        }
    };
    loop {
        let started = http
            .post(format!("{base}/v1/sync/{flow}/run"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "mode": mode.as_str() }))
            .send()
            .await?;
        let status = started.status();
        let body: serde_json::Value = started.json().await.unwrap_or_default();
        let refused = || {
            anyhow::anyhow!(
                "the daemon refused the run ({status}): {}",
                body.get("message").and_then(|m| m.as_str()).unwrap_or("")
            )
        };
        if status.is_success() {
            let run_id = body
                .get("run_id")
                .and_then(|v| v.as_u64())
                .context("the daemon's answer has no run_id")?;
            return wait(run_id).await;
        }
        if status != reqwest::StatusCode::CONFLICT {
            return Err(refused());
        }
        // Already running (a schedule or another user started it).
        let flows = get("/v1/status".into()).await?;
        let running = flows["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["flow"] == flow.as_str())
            .and_then(|f| f["running_run_id"].as_u64());
        let Some(id) = running else {
            // It ended between the two looks: ask again.
            continue;
        };
        let run = get(format!("/v1/runs/{id}")).await?;
        if run["mode"] == mode.as_str() {
            eprintln!("{flow} is already running (run {id}, mode {mode}); waiting for that run");
            return wait(id).await;
        }
        eprintln!(
            "{flow} is already running (run {id}, mode {}); the {mode} run starts after it",
            run["mode"].as_str().unwrap_or("?")
        );
        wait(id).await?;
    }
}

/// The running daemon's control API, for the `mappings` and `settings` commands.
pub(super) struct LocalApi {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl LocalApi {
    pub(super) fn new(config: &Config) -> anyhow::Result<LocalApi> {
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

    pub(super) async fn import(
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

    pub(super) async fn export(
        &self,
        kind: MappingKind,
        file: &std::path::Path,
    ) -> anyhow::Result<ExitCode> {
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

    pub(super) async fn settings_get(&self) -> anyhow::Result<ExitCode> {
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

    pub(super) async fn settings_set(&self, patch: &str) -> anyhow::Result<ExitCode> {
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
