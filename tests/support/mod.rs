//! Test support: an in-process daemon on port 0 (`TestApp`), the real binary as a child process
//! (`Daemon`), and test-only flows.

#![allow(dead_code)]

pub mod flows;
pub mod hooks;
pub mod real;
pub mod world;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dsco_brightpearl::app::{self, Options};
use dsco_brightpearl::clock::{Clock, SharedClock};
use dsco_brightpearl::config::{Config, Sources};
use dsco_brightpearl::sandbox::common::SimClock;
use dsco_brightpearl::sync::Flow;

pub const TOKEN: &str = "test-api-token";
/// A schedule that never comes round during a test: the flow is enabled, its runs come from
/// webhooks or the test.
pub const NEVER: &str = "0 0 0 1 1 *";

/// Build a client for talking to our control API and the simulators.
pub fn http() -> reqwest::Client {
    dsco_brightpearl::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// Load a config from TOML text (state_dir and listen are filled in when absent).
pub fn config(dir: &Path, extra_toml: &str) -> Config {
    let path = dir.join("config.toml");
    let mut toml = format!(
        "state_dir = \"{}\"\nshutdown_grace = \"10s\"\n",
        dir.join("state").display()
    );
    toml.push_str(extra_toml);
    if !extra_toml.contains("[api]") {
        toml.push_str(&format!(
            "\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n"
        ));
    }
    std::fs::write(&path, toml).unwrap();
    Config::load_from(&Sources {
        file: Some(path),
        env: Some(Vec::new()),
    })
    .unwrap()
}

/// The daemon running inside the test process.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub running: Option<app::Running>,
    pub http: reqwest::Client,
    /// The public listener's URL (`[public] url`), when started with [`TestApp::start_public`].
    pub public_url: Option<String>,
}

/// The simulators' adjustable clock as the daemon's [`Clock`]: a test that shares it moves time
/// forward for both sides (`SimClock::advance`) instead of sleeping.
pub struct SimTime(pub Arc<SimClock>);

impl Clock for SimTime {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now()
    }
}

impl SimTime {
    pub fn shared(clock: &Arc<SimClock>) -> SharedClock {
        Arc::new(SimTime(clock.clone()))
    }
}

impl TestApp {
    pub async fn start(extra_toml: &str, flows: Vec<Arc<dyn Flow>>) -> TestApp {
        TestApp::start_with_clock(extra_toml, flows, None).await
    }

    /// [`TestApp::start`] with the daemon reading time from `clock`.
    pub async fn start_with_clock(
        extra_toml: &str,
        flows: Vec<Arc<dyn Flow>>,
        clock: Option<SharedClock>,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        TestApp::launch(dir, extra_toml, flows, clock, None).await
    }

    /// [`TestApp::start_with_clock`] with the public listener on: a loopback port bound here,
    /// `[public] listen` and `url` (`http://127.0.0.1:PORT`) added to the config.
    pub async fn start_public(
        extra_toml: &str,
        flows: Vec<Arc<dyn Flow>>,
        clock: Option<SharedClock>,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let toml =
            format!("{extra_toml}\n[public]\nlisten = \"{addr}\"\nurl = \"http://{addr}\"\n");
        TestApp::launch(dir, &toml, flows, clock, Some(listener)).await
    }

    async fn launch(
        dir: tempfile::TempDir,
        extra_toml: &str,
        flows: Vec<Arc<dyn Flow>>,
        clock: Option<SharedClock>,
        public_listener: Option<tokio::net::TcpListener>,
    ) -> TestApp {
        let config = config(dir.path(), extra_toml);
        TestApp::launch_config(dir, config, flows, clock, public_listener).await
    }

    async fn launch_config(
        dir: tempfile::TempDir,
        config: Config,
        flows: Vec<Arc<dyn Flow>>,
        clock: Option<SharedClock>,
        public_listener: Option<tokio::net::TcpListener>,
    ) -> TestApp {
        // TEST_LOG=debug shows the daemon's log while debugging a test.
        if let Ok(filter) = std::env::var("TEST_LOG") {
            dsco_brightpearl::logging::init(&filter);
        }
        let public_url = config
            .public
            .url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned());
        let running = app::start(
            config,
            Options {
                extra_flows: flows,
                clock,
                public_listener,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        TestApp {
            url: format!("http://{}", running.addr),
            dir,
            running: Some(running),
            http: http(),
            public_url,
        }
    }

    pub fn running(&self) -> &app::Running {
        self.running.as_ref().unwrap()
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).send().await.unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Poll GET /v1/runs/{id} until the run is no longer running.
    pub async fn wait_run(&self, run_id: u64) -> serde_json::Value {
        wait_for(Duration::from_secs(180), || async {
            let run = self.json(&format!("/v1/runs/{run_id}")).await;
            (run["status"] != "running").then_some(run)
        })
        .await
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown();
            running.wait().await.unwrap();
        }
    }
}

/// Poll `check` until it yields a value or `deadline` passes (then panic).
pub async fn wait_for<T, F, Fut>(deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < end,
            "condition not met within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The real binary, running as a child process.
pub struct Daemon {
    pub child: Child,
    pub state_dir: PathBuf,
    pub url: String,
    pub stderr_path: PathBuf,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_dsco-brightpearl")
}

impl Daemon {
    /// Start `dsco-brightpearl --config <dir>/config.toml run`, wait for `api.addr` and `/ready`.
    pub async fn start(dir: &Path, toml: &str, env: &[(&str, &str)]) -> Daemon {
        let config_path = dir.join("config.toml");
        std::fs::write(&config_path, toml).unwrap();
        let state_dir = dir.join("state");
        let _ = std::fs::remove_file(state_dir.join("api.addr"));
        let stderr_path = dir.join("daemon.stderr");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut command = Command::new(binary());
        command
            .arg("--config")
            .arg(&config_path)
            .arg("run")
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().unwrap();
        let addr_file = state_dir.join("api.addr");
        let url = wait_for(Duration::from_secs(30), || {
            let addr_file = addr_file.clone();
            async move {
                std::fs::read_to_string(&addr_file)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
            }
        })
        .await;
        let http = http();
        wait_for(Duration::from_secs(30), || {
            let http = http.clone();
            let url = url.clone();
            async move {
                let r = http.get(format!("{url}/ready")).send().await.ok()?;
                r.status().is_success().then_some(())
            }
        })
        .await;
        Daemon {
            child,
            state_dir,
            url,
            stderr_path,
        }
    }

    /// Send a signal to the daemon.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit (with a deadline) and return its exit code.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        let child = &mut self.child;
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < end, "daemon did not exit");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Both simulators on loopback, sharing one clock.
pub struct Sims {
    pub brightpearl: dsco_brightpearl::sandbox::brightpearl::BrightpearlSim,
    pub dsco: dsco_brightpearl::sandbox::dsco::DscoSim,
    pub bp_server: dsco_brightpearl::sandbox::common::SimServer,
    pub dsco_server: dsco_brightpearl::sandbox::common::SimServer,
    /// The clock both simulators read.
    pub clock: Arc<SimClock>,
}

impl Sims {
    pub async fn start() -> Sims {
        Sims::start_with(Default::default(), Default::default()).await
    }

    pub async fn start_with(
        bp: dsco_brightpearl::sandbox::brightpearl::BrightpearlSimConfig,
        dsco: dsco_brightpearl::sandbox::dsco::DscoSimConfig,
    ) -> Sims {
        use dsco_brightpearl::sandbox::brightpearl::BrightpearlSim;
        use dsco_brightpearl::sandbox::dsco::DscoSim;
        let clock = bp.clock.clone();
        let brightpearl = BrightpearlSim::new(bp);
        let dsco = DscoSim::new(dsco_brightpearl::sandbox::dsco::DscoSimConfig {
            clock: clock.clone(),
            ..dsco
        });
        let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let bp_server = brightpearl.start(addr).await.unwrap();
        let dsco_server = dsco.start(addr).await.unwrap();
        Sims {
            brightpearl,
            dsco,
            bp_server,
            dsco_server,
            clock,
        }
    }

    pub fn brightpearl_url(&self) -> String {
        self.bp_server.url()
    }

    pub fn dsco_url(&self) -> String {
        format!("{}/api/v3", self.dsco_server.url())
    }

    /// `[brightpearl]` and `[dsco]` config sections with the simulators' credentials.
    pub fn config_toml(&self) -> String {
        let bp = self.brightpearl.config();
        let d = self.dsco.config();
        format!(
            "[brightpearl]\nbase_url = \"{}\"\naccount = \"{}\"\napp_ref = \"{}\"\naccount_token = \"{}\"\nrequest_timeout = \"2s\"\n\n[dsco]\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nrequest_timeout = \"2s\"\n",
            self.brightpearl_url(),
            bp.account,
            bp.app_ref,
            bp.account_token,
            self.dsco_url(),
            d.client_id,
            d.client_secret
        )
    }
}
