//! Wiring and lifecycle: open the store, build the flows and the scheduler, bind the control API,
//! tell systemd we are ready, and on SIGTERM/SIGINT stop in order:
//! STOPPING → stop the scheduler → drain HTTP → let runs finish at a record boundary (bounded by
//! `shutdown_grace`) → exit 0. Every task this module starts is tracked and awaited.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, AppState, Listener, TlsFiles};
use crate::config::Config;
use crate::connections::Connections;
use crate::scheduler::{Scheduler, Schedules};
use crate::secret::Secret;
use crate::store::{RecordBackoff, Store};
use crate::sync::contacts::ContactsLock;
use crate::sync::webhooks::WebhookRegistry;
use crate::sync::{Flow, Registry};
use crate::systemd;

/// The file the bound control-API address is written to, inside `state_dir`.
pub const API_ADDR_FILE: &str = "api.addr";
/// The file a generated control-API token is kept in, inside `state_dir`.
pub const API_TOKEN_FILE: &str = "api.token";

/// Extra wiring for tests and the sandbox.
#[derive(Default)]
pub struct Options {
    /// Flows added to (or replacing) the built-in ones.
    pub extra_flows: Vec<Arc<dyn Flow>>,
    /// The Brightpearl request budget, when the account's cap is not the documented 200 per
    /// minute (a capped simulator).
    pub brightpearl_quota: Option<crate::brightpearl::QuotaConfig>,
    /// What "now" is (tests share an adjustable clock with the simulators); the system clock
    /// when unset.
    pub clock: Option<crate::clock::SharedClock>,
    /// The public listener's socket, bound by the caller (tests and the sandbox bind port 0 and
    /// put its address into `[public]`); used instead of binding `public.listen`.
    pub public_listener: Option<tokio::net::TcpListener>,
}

/// A started daemon.
pub struct Running {
    pub addr: std::net::SocketAddr,
    /// The public listener's address, when `[public] listen` is set.
    pub public_addr: Option<std::net::SocketAddr>,
    pub webhooks: Arc<WebhookRegistry>,
    pub token: Secret<String>,
    pub store: Store,
    pub scheduler: Scheduler,
    pub connections: Arc<Connections>,
    shutdown: CancellationToken,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Ask the daemon to stop, as SIGTERM would.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Wait until the daemon has stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.done.await.context("daemon task")?
    }
}

/// Run the daemon until SIGTERM/SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let running = start(config, Options::default()).await?;
    let stop = running.shutdown.clone();
    tokio::select! {
        _ = wait_for_signal() => {
            tracing::info!("stop signal received");
            stop.cancel();
        }
        _ = stop.cancelled() => {}
    }
    running.wait().await
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the daemon can still be stopped by SIGKILL; wait forever.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Open the store at the configured path, off the async workers.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let path = config.store_path();
    let store = tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .context("store task")??;
    Ok(store)
}

/// The flows this build runs.
pub fn registry(
    _config: &Config,
    connections: &Arc<Connections>,
    extra: Vec<Arc<dyn Flow>>,
) -> Registry {
    let mut registry = Registry::default()
        .with_connections(connections.clone())
        .with(crate::sync::orders::OrdersFlow::new())
        .with(crate::sync::shipments::ShipmentsFlow::new())
        .with(crate::sync::inventory::InventoryFlow::new())
        .with(crate::sync::invoices::InvoicesFlow::new())
        .with(crate::sync::cancellations::CancellationsFlow::new())
        .with(crate::sync::reference::ReferenceFlow::new());
    for flow in extra {
        registry = registry.with(flow);
    }
    registry
}

/// Start every part of the daemon; returns once READY has been sent.
pub async fn start(config: Config, options: Options) -> anyhow::Result<Running> {
    crate::tls::ensure_crypto_provider();
    std::fs::create_dir_all(&config.state_dir).with_context(|| {
        format!(
            "cannot create state_dir {} (check the path and permissions)",
            config.state_dir.display()
        )
    })?;
    let store = open_store(&config)
        .await?
        .with_clock(options.clock.clone().unwrap_or_else(crate::clock::system))
        .with_record_backoff(RecordBackoff {
            give_up_after: config.records.give_up_after,
            ..RecordBackoff::default()
        });
    let interrupted = store
        .call(|s| s.write(|tx| tx.fail_interrupted_runs(tx.now())))
        .await?;
    if interrupted > 0 {
        tracing::warn!(
            runs = interrupted,
            "runs interrupted by the previous stop were marked failed"
        );
    }
    let token = api_token(&config)?;
    let config = Arc::new(config);
    let connections = {
        let (config, store) = (config.clone(), store.clone());
        let loaded = tokio::task::spawn_blocking(move || Connections::load(config, store))
            .await
            .context("store task")??;
        Arc::new(match options.brightpearl_quota {
            Some(quota) => loaded.with_quota(Arc::new(crate::brightpearl::QuotaBudget::new(quota))),
            None => loaded,
        })
    };
    // One lock for the whole daemon: flows and the control API take turns creating contacts.
    let contacts = ContactsLock::default();
    let registry =
        registry(&config, &connections, options.extra_flows).sharing_contacts(contacts.clone());
    let scheduler = Scheduler::new(
        store.clone(),
        registry,
        Schedules {
            by_mode: config.schedules.clone(),
            timezone: Some(config.scheduler.timezone),
            retry_soon: config.records.retry_soon,
        },
    );
    scheduler
        .start()
        .await
        .map_err(|e| anyhow::anyhow!("scheduler: {e}"))?;

    // Enabled = any of its modes has a schedule: the flows webhooks are registered and stored for.
    let enabled = config.scheduled_flows();
    let webhooks = Arc::new(
        WebhookRegistry::open(
            store.clone(),
            connections.clone(),
            enabled,
            config.public.enabled_url().cloned(),
        )
        .await?,
    );

    let state = AppState {
        store: store.clone(),
        scheduler: scheduler.clone(),
        token: Arc::new(token.clone()),
        connections: connections.clone(),
        contacts,
        webhooks: webhooks.clone(),
    };
    let tls = tls_files(&config.api.tls_cert, &config.api.tls_key);
    let listener = Listener::bind(config.api.listen, tls.as_ref()).await?;
    let addr = listener.local_addr()?;
    write_api_addr(&config.state_dir, addr, listener.is_tls())?;
    tracing::info!(
        addr = %addr,
        tls = listener.is_tls(),
        store = %store.path().display(),
        "control API listening"
    );

    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let http_stop = CancellationToken::new();
    let http = tasks.spawn(listener.serve(api::router(state), http_stop.clone()));
    let public_tasks = TaskTracker::new();
    let public = match public_listener(&config, options.public_listener).await? {
        Some(listener) => {
            let public_addr = listener.local_addr()?;
            tracing::info!(
                addr = %public_addr,
                tls = listener.is_tls(),
                url = config.public.url.as_ref().map(|u| u.as_str()).unwrap_or_default(),
                "public listener (Brightpearl webhooks) listening"
            );
            let router = api::public::router(api::public::PublicState {
                store: store.clone(),
                scheduler: scheduler.clone(),
                connections: connections.clone(),
                webhooks: webhooks.clone(),
                tasks: public_tasks.clone(),
            });
            Some((
                public_addr,
                tasks.spawn(listener.serve(router, http_stop.clone())),
            ))
        }
        None => None,
    };
    let public_addr = public.as_ref().map(|(addr, _)| *addr);
    // After the listener is up, so a delivery caused by the registration finds it.
    webhooks.sync_in_background("start");
    let background_stop = CancellationToken::new();
    tasks.spawn(watchdog(store.clone(), background_stop.clone()));
    tasks.spawn(housekeeping(
        store.clone(),
        config.records.retention_days,
        background_stop.clone(),
    ));

    if connections.brightpearl_config().is_ok() {
        match scheduler
            .trigger(
                crate::flow_name::FlowName::Reference,
                crate::store::Trigger::Startup,
            )
            .await
        {
            Ok(run_id) => tracing::info!(run_id = run_id.0, "reference data retrieval started"),
            Err(e) => tracing::warn!(error = %e, "reference data retrieval not started"),
        }
    }
    systemd::ready();
    systemd::status("ready");
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "ready");

    let done = {
        let shutdown = shutdown.clone();
        let scheduler = scheduler.clone();
        let grace = config.shutdown_grace;
        let state_dir = config.state_dir.clone();
        let stopping_webhooks = webhooks.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            systemd::stopping();
            tracing::info!("stopping: no new runs");
            scheduler.stop_accepting().await;
            http_stop.cancel();
            match http.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "control API stopped with an error"),
                Err(e) => tracing::warn!(error = %e, "control API task failed"),
            }
            if let Some((_, public)) = public {
                match public.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "public listener stopped with an error")
                    }
                    Err(e) => tracing::warn!(error = %e, "public listener task failed"),
                }
            }
            public_tasks.close();
            public_tasks.wait().await;
            stopping_webhooks.close().await;
            tracing::info!(grace = %humantime::format_duration(grace), "waiting for runs to reach a record boundary");
            if !scheduler.drain(grace).await {
                tracing::warn!(
                    "runs did not finish within shutdown_grace; they resume from their last committed record at the next start"
                );
            }
            background_stop.cancel();
            tasks.close();
            tasks.wait().await;
            let _ = std::fs::remove_file(state_dir.join(API_ADDR_FILE));
            tracing::info!("stopped");
            Ok(())
        })
    };
    Ok(Running {
        addr,
        public_addr,
        webhooks,
        token,
        store,
        scheduler,
        connections,
        shutdown,
        done,
    })
}

fn tls_files(cert: &Option<PathBuf>, key: &Option<PathBuf>) -> Option<TlsFiles> {
    match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    }
}

/// The public listener: the caller's socket or `public.listen` bound now; none when unset.
async fn public_listener(
    config: &Config,
    injected: Option<tokio::net::TcpListener>,
) -> anyhow::Result<Option<Listener>> {
    let Some(addr) = config.public.listen else {
        anyhow::ensure!(
            injected.is_none(),
            "a public listener socket was given but [public] listen is not set"
        );
        return Ok(None);
    };
    let tls = tls_files(&config.public.tls_cert, &config.public.tls_key);
    let listener = match injected {
        Some(bound) => Listener::from_bound("public", bound, tls.as_ref())?,
        None => Listener::bind_section("public", addr, tls.as_ref()).await?,
    };
    Ok(Some(listener))
}

/// The control-API token: from the config, else the one generated into `state_dir` earlier, else a
/// new one written there (0600).
fn api_token(config: &Config) -> anyhow::Result<Secret<String>> {
    if let Some(token) = &config.api.token {
        return Ok(token.clone());
    }
    let path = config.state_dir.join(API_TOKEN_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        return Ok(Secret::new(existing.trim().to_owned()));
    }
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(&path, &token)
        .with_context(|| format!("cannot write the generated API token to {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "no api.token configured: generated one and saved it in this file"
    );
    Ok(Secret::new(token))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}

/// Write `http(s)://ADDR` to `<state_dir>/api.addr` atomically, so scripts and tests find the port.
fn write_api_addr(
    state_dir: &Path,
    addr: std::net::SocketAddr,
    tls: bool,
) -> anyhow::Result<PathBuf> {
    let path = state_dir.join(API_ADDR_FILE);
    let scheme = if tls { "https" } else { "http" };
    write_private(&path, &format!("{scheme}://{addr}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Ping systemd's watchdog only while the store answers: a wedged store or runtime stops the
/// pings and systemd restarts the service.
async fn watchdog(store: Store, stop: CancellationToken) {
    let Some(interval) = systemd::watchdog_interval() else {
        return;
    };
    let period = interval / 2;
    loop {
        let healthy = tokio::time::timeout(period, store.call(|s| s.ping()))
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false);
        if healthy {
            systemd::watchdog();
        } else {
            tracing::error!("store did not answer in time; withholding the watchdog ping");
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// Hourly retention of resolved records.
async fn housekeeping(store: Store, retention_days: u32, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let cutoff = store.now() - chrono::Duration::days(i64::from(retention_days));
        match store
            .call(move |s| s.write(|tx| tx.purge_records(cutoff)))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                records = n,
                retention_days,
                "old synced and skipped records removed"
            ),
            Err(e) => tracing::warn!(error = %e, "record retention failed"),
        }
    }
}
