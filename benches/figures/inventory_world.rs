//! The `inventory` section's world: both simulators seeded with a large demo catalog, DSCO's
//! answers tapped (batch bytes, what each change-log read said), and the real daemon binary
//! run as a child process (its RSS and CPU read from /proc), driven over its control API.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use dsco_brightpearl::sandbox::brightpearl::BrightpearlSim;
use dsco_brightpearl::sandbox::common::SimServer;
use dsco_brightpearl::sandbox::dsco::DscoSim;
use serde_json::{Value, json};

use crate::world::{customers_csv, orders_settings, verbose};

/// Three Brightpearl warehouses into two DSCO codes.
pub const WAREHOUSES: &str =
    "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n2,WH-MAIN\n3,WH-EAST\n";
/// DSCO's asynchronous processing delay for the whole section.
pub const PROCESSING_DELAY: Duration = Duration::from_secs(2);

/// Demo products to seed so that Brightpearl holds `published` of them (every 40th demo
/// product exists only on DSCO).
pub fn demo_count(published: u32) -> u32 {
    let mut n = published;
    while n - n / 40 < published {
        n += 1;
    }
    n
}

/// One `POST /inventory/batch/small` as DSCO saw it.
#[derive(Debug, Clone)]
pub struct Submit {
    pub bytes: usize,
    pub items: usize,
    pub status: u16,
}

/// One `GET /inventory/log` answer (first page by request id, or a scroll page).
#[derive(Debug, Clone)]
pub struct LogRead {
    pub entries: usize,
}

/// A stock change being watched for: when the daemon read DSCO's log saying it succeeded.
#[derive(Debug, Clone)]
pub struct Watch {
    pub code: String,
    pub quantity: i64,
    /// When the daemon received a log page holding the success.
    pub confirmed: Option<Instant>,
    /// DSCO's `dateProcessed` of that entry.
    pub processed: Option<chrono::DateTime<chrono::Utc>>,
}

/// What passes between the daemon and the DSCO simulator, as a layer on the simulator's router.
#[derive(Default)]
pub struct Tap {
    pub submits: Mutex<Vec<Submit>>,
    pub log_reads: Mutex<Vec<LogRead>>,
    /// By SKU.
    pub watched: Mutex<HashMap<String, Watch>>,
}

impl Tap {
    pub fn submits_since(&self, from: usize) -> Vec<Submit> {
        self.submits.lock().unwrap()[from..].to_vec()
    }

    pub fn marks(&self) -> (usize, usize) {
        (
            self.submits.lock().unwrap().len(),
            self.log_reads.lock().unwrap().len(),
        )
    }

    pub fn log_reads_since(&self, from: usize) -> Vec<LogRead> {
        self.log_reads.lock().unwrap()[from..].to_vec()
    }

    /// Watch for DSCO's log confirming `quantity` in `code` for `sku`.
    pub fn watch(&self, sku: &str, code: &str, quantity: i64) {
        self.watched.lock().unwrap().insert(
            sku.to_owned(),
            Watch {
                code: code.to_owned(),
                quantity,
                confirmed: None,
                processed: None,
            },
        );
    }

    pub fn watched(&self, sku: &str) -> Option<Watch> {
        self.watched.lock().unwrap().get(sku).cloned()
    }

    fn saw_log_page(&self, body: &[u8]) {
        let Ok(page) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let logs = page["logs"].as_array().cloned().unwrap_or_default();
        self.log_reads.lock().unwrap().push(LogRead {
            entries: logs.len(),
        });
        let mut watched = self.watched.lock().unwrap();
        if watched.values().all(|w| w.confirmed.is_some()) {
            return;
        }
        for entry in &logs {
            if entry["status"] != "success" {
                continue;
            }
            let Some(w) = entry["payload"]["sku"]
                .as_str()
                .and_then(|sku| watched.get_mut(sku))
            else {
                continue;
            };
            let quantity = entry["payload"]["warehouses"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["code"] == json!(w.code))
                .and_then(|x| x["quantity"].as_i64());
            if w.confirmed.is_none() && quantity == Some(w.quantity) {
                w.confirmed = Some(Instant::now());
                w.processed = entry["dateProcessed"]
                    .as_str()
                    .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                    .map(|d| d.with_timezone(&chrono::Utc));
            }
        }
    }
}

async fn tap_layer(State(tap): State<Arc<Tap>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if method == axum::http::Method::POST && path.ends_with("/inventory/batch/small") {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let items = serde_json::from_slice::<Vec<Value>>(&bytes).map_or(0, |v| v.len());
        let size = bytes.len();
        let response = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        tap.submits.lock().unwrap().push(Submit {
            bytes: size,
            items,
            status: response.status().as_u16(),
        });
        return response;
    }
    if method == axum::http::Method::GET && path.ends_with("/inventory/log") {
        let response = next.run(request).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        tap.saw_log_page(&bytes);
        return Response::from_parts(parts, Body::from(bytes));
    }
    next.run(request).await
}

/// Both simulators on loopback: Brightpearl with its documented cap (`BrightpearlSimConfig`
/// default: 200 requests per rolling 60 s), DSCO with a 2 s processing delay and its answers
/// tapped.
pub struct Sims {
    pub bp: BrightpearlSim,
    pub dsco: DscoSim,
    pub tap: Arc<Tap>,
    pub demo_products: u32,
    pub seeded_in: Duration,
    servers: Vec<SimServer>,
}

impl Sims {
    pub async fn start(published: u32) -> Sims {
        use dsco_brightpearl::sandbox::brightpearl::BrightpearlSimConfig;
        use dsco_brightpearl::sandbox::dsco::DscoSimConfig;
        dsco_brightpearl::tls::ensure_crypto_provider();
        let bp_config = BrightpearlSimConfig::default();
        let clock = bp_config.clock.clone();
        let bp = BrightpearlSim::new(bp_config);
        let dsco = DscoSim::new(DscoSimConfig {
            clock,
            processing_delay: PROCESSING_DELAY,
            ..Default::default()
        });
        let demo_products = demo_count(published);
        let started = Instant::now();
        bp.seed_demo(demo_products);
        dsco.seed_demo(demo_products, 0, 1);
        let seeded_in = started.elapsed();
        let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let tap = Arc::new(Tap::default());
        let bp_server = bp.start(addr).await.unwrap();
        let router = dsco
            .router()
            .layer(axum::middleware::from_fn_with_state(tap.clone(), tap_layer));
        let dsco_server = SimServer::start(router, addr).await.unwrap();
        Sims {
            bp,
            dsco,
            tap,
            demo_products,
            seeded_in,
            servers: vec![bp_server, dsco_server],
        }
    }

    pub fn bp_url(&self) -> String {
        self.servers[0].url()
    }

    pub fn dsco_url(&self) -> String {
        self.servers[1].url()
    }

    pub fn last_bp_seq(&self) -> u64 {
        self.bp.requests().all().last().map_or(0, |r| r.seq)
    }

    pub fn last_dsco_seq(&self) -> u64 {
        self.dsco.requests().all().last().map_or(0, |r| r.seq)
    }

    /// Wait until Brightpearl's rolling window holds none of our requests (`window` after the
    /// last one).
    pub async fn idle_window(&self, window: Duration) {
        loop {
            let last = self.bp.requests().all().last().map(|r| r.at);
            let Some(last) = last else { return };
            let since = (self.bp.clock().now() - last).to_std().unwrap_or_default();
            if since > window {
                return;
            }
            tokio::time::sleep(window - since + Duration::from_millis(200)).await;
        }
    }
}

/// The daemon binary as a child process with its own state directory.
pub struct Daemon {
    pub name: &'static str,
    child: Child,
    pub url: String,
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
    peak: Arc<AtomicU64>,
    sampling: Arc<AtomicBool>,
    /// The slowest control-API answer since the last [`Daemon::reset_slowest`].
    slowest: Mutex<Duration>,
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_dsco-brightpearl")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `/proc/<pid>/status` value in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

impl Daemon {
    /// Start the binary against `sims` with `schedules` (`[schedules]` keys) and, when `public`,
    /// a public listener on a loopback port; wait for its control API.
    pub async fn start(
        name: &'static str,
        sims: &Sims,
        schedules: &[(&str, &str)],
        public: bool,
    ) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let schedules: String = schedules
            .iter()
            .map(|(k, v)| format!("{k} = \"{v}\"\n"))
            .collect();
        let public_toml = if public {
            let port = free_port();
            format!("[public]\nlisten = \"127.0.0.1:{port}\"\nurl = \"http://127.0.0.1:{port}\"\n")
        } else {
            String::new()
        };
        let (bc, dc) = (sims.bp.config(), sims.dsco.config());
        let toml = format!(
            "state_dir = \"{}\"\nshutdown_grace = \"10s\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"bench\"\n[log]\nfilter = \"warn\"\n\
             [schedules]\n{schedules}\
             [brightpearl]\nbase_url = \"{}\"\naccount = \"{}\"\napp_ref = \"{}\"\naccount_token = \"{}\"\n\
             [dsco]\nbase_url = \"{}/api/v3\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n{public_toml}",
            state.display(),
            sims.bp_url(),
            bc.account,
            bc.app_ref,
            bc.account_token,
            sims.dsco_url(),
            dc.client_id,
            dc.client_secret
        );
        let config = dir.path().join("config.toml");
        std::fs::write(&config, toml).unwrap();
        let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
        // `BENCH_DAEMON_WRAP="heaptrack -o /tmp/inv-{n}"`: each daemon runs under that command
        // (`{n}` = 1, 2, ... per daemon, so two profiles never share a file); the RSS and CPU
        // figures of such a run are the wrapper's, not the issue's.
        static DAEMONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = DAEMONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let wrap: Vec<String> = std::env::var("BENCH_DAEMON_WRAP")
            .map(|w| {
                w.split_whitespace()
                    .map(|a| a.replace("{n}", &n.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut command = match wrap.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        let child = command
            .args(["--config", config.to_str().unwrap(), "run"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr_file = state.join(dsco_brightpearl::app::API_ADDR_FILE);
        let end = Instant::now() + Duration::from_secs(60);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&addr_file)
                && text.ends_with('\n')
            {
                break text.trim().to_owned();
            }
            assert!(Instant::now() < end, "{name}: no control API in 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let daemon = Daemon {
            name,
            child,
            url,
            http: reqwest::Client::builder()
                // The control API can be slow to answer while a run works through 100,000 items.
                .timeout(Duration::from_secs(600))
                .build()
                .unwrap(),
            dir,
            peak: Arc::new(AtomicU64::new(0)),
            sampling: Arc::new(AtomicBool::new(true)),
            slowest: Mutex::new(Duration::ZERO),
        };
        daemon.sample_rss();
        daemon
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where the daemon's stderr goes.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("daemon.log")
    }

    /// VmRSS sampled every 50 ms into `peak` (a fallback where VmHWM cannot be reset).
    fn sample_rss(&self) {
        let (pid, peak, sampling) = (self.pid(), self.peak.clone(), self.sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }

    /// Start a new peak: VmHWM reset through `clear_refs` (true when the kernel allowed it) and
    /// the sampled peak zeroed.
    pub fn reset_peak(&self) -> bool {
        self.peak.store(0, Ordering::Relaxed);
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    /// Peak RSS since the last reset in MiB: VmHWM and the 50-ms samples.
    pub fn peak_mib(&self) -> (f64, f64) {
        (
            status_kib(self.pid(), "VmHWM:") as f64 / 1024.0,
            self.peak.load(Ordering::Relaxed) as f64 / 1024.0,
        )
    }

    pub fn rss_mib(&self) -> f64 {
        status_kib(self.pid(), "VmRSS:") as f64 / 1024.0
    }

    /// User + system CPU the process has used, all threads, in seconds (clock-tick resolution).
    pub fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which may hold spaces), from field 3 on.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime is field 14, stime 15 (1-based); `rest` starts at field 3.
        (ticks(11) + ticks(12)) / clock_ticks()
    }

    /// The slowest control-API answer since the last reset (the bench polls runs every 100 ms).
    pub fn slowest(&self) -> Duration {
        *self.slowest.lock().unwrap()
    }

    pub fn reset_slowest(&self) {
        *self.slowest.lock().unwrap() = Duration::ZERO;
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let asked = Instant::now();
        let r = request
            .bearer_auth("bench")
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (daemon log {})",
                    self.name,
                    self.log_path().display()
                )
            });
        let status = r.status();
        let text = r.text().await.unwrap();
        {
            let mut slowest = self.slowest.lock().unwrap();
            *slowest = (*slowest).max(asked.elapsed());
        }
        assert!(
            status.is_success(),
            "{}: {status}: {text} (daemon log {})",
            self.name,
            self.log_path().display()
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    pub async fn put_csv(&self, kind: &str, csv: &str) -> Value {
        self.send(
            self.http
                .put(format!("{}/v1/mappings/{kind}", self.url))
                .header("content-type", "text/csv")
                .body(csv.to_owned()),
        )
        .await
    }

    pub async fn patch_settings(&self, settings: Value) -> Value {
        self.send(
            self.http
                .patch(format!("{}/v1/settings", self.url))
                .json(&settings),
        )
        .await
    }

    /// Wait for the reference run the daemon starts with.
    pub async fn wait_reference(&self, limit: Duration) -> Value {
        let end = Instant::now() + limit;
        loop {
            let runs = self.get("/v1/runs?flow=reference").await;
            if let Some(run) = runs["items"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["status"] != "running"))
            {
                assert_eq!(
                    run["status"],
                    "succeeded",
                    "{}: reference run {run} (daemon log {})",
                    self.name,
                    self.log_path().display()
                );
                return run.clone();
            }
            assert!(
                Instant::now() < end,
                "{}: reference data not retrieved in {} s",
                self.name,
                limit.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Orders settings and the customers mapping (as the orders worlds have them), the
    /// `warehouses` mapping, and `inventory.enabled` on.
    pub async fn configure(&self) {
        self.patch_settings(orders_settings()).await;
        self.put_csv("customers", &customers_csv()).await;
        self.put_csv("warehouses", WAREHOUSES).await;
        self.patch_settings(json!({"inventory": {"enabled": true}}))
            .await;
    }

    /// Wait until `count` of our webhooks are registered with Brightpearl.
    pub async fn wait_webhooks(&self, count: usize) {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let view = self.get("/v1/brightpearl/webhooks").await;
            if view["webhooks"].as_array().map_or(0, Vec::len) == count {
                return;
            }
            assert!(
                Instant::now() < end,
                "{}: webhooks not registered: {view}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Start a run of `flow` (in `mode`); its id.
    pub async fn start_run(&self, flow: &str, mode: Option<&str>) -> u64 {
        let mut request = self.http.post(format!("{}/v1/sync/{flow}/run", self.url));
        if let Some(mode) = mode {
            request = request.json(&json!({"mode": mode}));
        }
        let started = self.send(request).await;
        started["run_id"].as_u64().unwrap()
    }

    /// Wait for run `id` to end; the run.
    pub async fn wait_run(&self, id: u64) -> Value {
        loop {
            let run = self.get(&format!("/v1/runs/{id}")).await;
            if run["status"] != "running" {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn run(&self, flow: &str, mode: Option<&str>) -> Value {
        let id = self.start_run(flow, mode).await;
        self.wait_run(id).await
    }

    /// Runs (of `flow`, or of every flow) with an id above `after`, oldest first.
    pub async fn runs_after(&self, flow: Option<&str>, after: u64) -> Vec<Value> {
        let filter = flow.map(|f| format!("flow={f}&")).unwrap_or_default();
        let runs = self.get(&format!("/v1/runs?{filter}limit=1000")).await;
        let mut out: Vec<Value> = runs["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["id"].as_u64().is_some_and(|id| id > after))
            .cloned()
            .collect();
        out.reverse();
        out
    }

    pub async fn last_run_id(&self) -> u64 {
        let runs = self.get("/v1/runs?limit=1").await;
        runs["items"][0]["id"].as_u64().unwrap_or(0)
    }

    /// How many items are in `state` (one page of up to 1000 is read).
    pub async fn items_in(&self, state: &str) -> usize {
        let page = self
            .get(&format!("/v1/inventory?state={state}&limit=1000"))
            .await;
        page["items"].as_array().map_or(0, Vec::len)
    }

    /// SIGTERM, then wait for the process to exit.
    pub async fn stop(mut self) {
        self.sampling.store(false, Ordering::Relaxed);
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.sampling.store(false, Ordering::Relaxed);
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Progress of one daemon on stderr with BENCH_VERBOSE set.
pub fn say(daemon: &str, what: &str) {
    verbose("inventory", &format!("{daemon}: {what}"));
}
