//! The world the `orders`, `faults` and `shipments` sections share: both simulators and an
//! in-process daemon; and the pieces the `inventory` section's world (`inventory_world.rs`)
//! shares with it: the orders settings, the customers mapping, the one-line order, Brightpearl
//! routes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Brightpearl's cap in the `orders` section: 20 requests per rolling 10 s.
pub const BP_CAP: u32 = 20;
pub const BP_WINDOW: Duration = Duration::from_secs(10);
/// Requests the daemon's budget leaves unspent in each window.
pub const BP_SAFETY_MARGIN: u32 = 1;
/// The demo world's two retailers, both mapped to demo contact 4.
pub const DEMO_RETAILERS: [&str; 2] = ["1000001", "1000002"];
/// How long after its creation an order is inside the flow's window (`until` = now − 10 s).
pub const WINDOW_LAG: Duration = Duration::from_millis(10_500);

/// Both simulators and an in-process daemon connected to them, reference data retrieved,
/// customers mapped per retailer, `expected_cost` pricing.
pub struct OrdersWorld {
    pub bp: dsco_brightpearl::sandbox::brightpearl::BrightpearlSim,
    pub dsco: dsco_brightpearl::sandbox::dsco::DscoSim,
    pub servers: Vec<dsco_brightpearl::sandbox::common::SimServer>,
    pub running: dsco_brightpearl::app::Running,
    pub http: reqwest::Client,
    pub url: String,
    /// The public listener's URL (`[public] url`), when [`Setup::public`] is on.
    pub public_url: Option<String>,
    _dir: tempfile::TempDir,
}

/// How a world is set up.
#[derive(Default)]
pub struct Setup<'a> {
    /// What progress lines start with (`BENCH_VERBOSE`).
    pub section: &'static str,
    /// `[schedules] orders`, when the flow runs on a schedule.
    pub orders_schedule: Option<&'a str>,
    /// Brightpearl capped at this many requests per window, the daemon's budget told so;
    /// `None`: the documented 200 per 60 s and the daemon's default budget.
    pub cap: Option<(u32, Duration)>,
    /// `[schedules] shipments`, when the shipments flow is enabled.
    pub shipments_schedule: Option<&'a str>,
    /// The daemon's public listener on a loopback port (`[public] listen` and `url`).
    pub public: bool,
    /// `[schedules] invoices` and `cancellations`, when those flows are enabled.
    pub lifecycle_schedule: Option<&'a str>,
}

impl OrdersWorld {
    /// The `orders` section's world: Brightpearl capped.
    pub async fn start(orders_schedule: Option<&str>) -> OrdersWorld {
        OrdersWorld::start_with(Setup {
            section: "orders",
            orders_schedule,
            cap: Some((BP_CAP, BP_WINDOW)),
            ..Default::default()
        })
        .await
    }

    pub async fn start_with(setup: Setup<'_>) -> OrdersWorld {
        use dsco_brightpearl::sandbox::brightpearl::{BrightpearlSim, BrightpearlSimConfig};
        use dsco_brightpearl::sandbox::dsco::{DscoSim, DscoSimConfig};
        dsco_brightpearl::tls::ensure_crypto_provider();
        let Setup {
            section,
            orders_schedule,
            cap,
            shipments_schedule,
            public,
            lifecycle_schedule,
        } = setup;
        let bp_config = match cap {
            Some((throttle_cap, throttle_window)) => BrightpearlSimConfig {
                throttle_cap,
                throttle_window,
                ..Default::default()
            },
            None => BrightpearlSimConfig::default(),
        };
        let clock = bp_config.clock.clone();
        let bp = BrightpearlSim::new(bp_config);
        let dsco = DscoSim::new(DscoSimConfig {
            clock,
            ..Default::default()
        });
        bp.seed_demo(200);
        dsco.seed_demo(200, 0, 1);
        let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let bp_server = bp.start(addr).await.unwrap();
        let dsco_server = dsco.start(addr).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (bc, dc) = (bp.config(), dsco.config());
        let schedules: String = [
            ("orders", orders_schedule),
            ("shipments", shipments_schedule),
            ("invoices", lifecycle_schedule),
            ("cancellations", lifecycle_schedule),
        ]
        .into_iter()
        .filter_map(|(flow, s)| s.map(|s| format!("{flow} = \"{s}\"\n")))
        .collect();
        let schedules = if schedules.is_empty() {
            schedules
        } else {
            format!("[schedules]\n{schedules}")
        };
        let (public_listener, public_url) = if public {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            (Some(listener), Some(url))
        } else {
            (None, None)
        };
        let public_toml = public_url
            .as_ref()
            .map(|url| {
                let listen = url.trim_start_matches("http://");
                format!("[public]\nlisten = \"{listen}\"\nurl = \"{url}\"\n")
            })
            .unwrap_or_default();
        let toml = format!(
            "state_dir = \"{}\"\nshutdown_grace = \"10s\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"bench\"\n[log]\nfilter = \"warn\"\n{schedules}\
             [brightpearl]\nbase_url = \"{}\"\naccount = \"{}\"\napp_ref = \"{}\"\naccount_token = \"{}\"\nrequest_timeout = \"2s\"\n\
             [dsco]\nbase_url = \"{}/api/v3\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nrequest_timeout = \"2s\"\n{public_toml}",
            dir.path().join("state").display(),
            bp_server.url(),
            bc.account,
            bc.app_ref,
            bc.account_token,
            dsco_server.url(),
            dc.client_id,
            dc.client_secret
        );
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, toml).unwrap();
        let config =
            dsco_brightpearl::config::Config::load_from(&dsco_brightpearl::config::Sources {
                file: Some(config_path),
                env: Some(Vec::new()),
            })
            .unwrap();
        // The daemon's budget knows the account's cap, as it knows Brightpearl's 200 per minute
        // in production; reserve and margin scaled down with it.
        let quota = cap.map(
            |(requests, window)| dsco_brightpearl::brightpearl::QuotaConfig {
                requests_per_window: requests,
                window,
                low_lane_reserve: requests / 4,
                safety_margin: BP_SAFETY_MARGIN,
                max_wait: window + Duration::from_secs(1),
            },
        );
        let options = dsco_brightpearl::app::Options {
            brightpearl_quota: quota,
            public_listener,
            ..Default::default()
        };
        let running = dsco_brightpearl::app::start(config, options).await.unwrap();
        let world = OrdersWorld {
            url: format!("http://{}", running.addr),
            public_url,
            bp,
            dsco,
            servers: vec![bp_server, dsco_server],
            running,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            _dir: dir,
        };
        verbose(section, "waiting for the reference run");
        world.wait_reference().await;
        verbose(section, "reference data retrieved");
        world
            .send(
                world
                    .http
                    .patch(format!("{}/v1/settings", world.url))
                    .json(&orders_settings()),
            )
            .await;
        world
            .send(
                world
                    .http
                    .put(format!("{}/v1/mappings/customers", world.url))
                    .header("content-type", "text/csv")
                    .body(customers_csv()),
            )
            .await;
        world
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> serde_json::Value {
        let r = request.bearer_auth("bench").send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{status}: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    pub async fn get(&self, path: &str) -> serde_json::Value {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    pub async fn wait_reference(&self) {
        let end = Instant::now() + Duration::from_secs(180);
        loop {
            let runs = self.get("/v1/runs?flow=reference").await;
            if runs["items"]
                .as_array()
                .is_some_and(|a| a.iter().any(|r| r["status"] == "succeeded"))
            {
                return;
            }
            assert!(
                Instant::now() < end,
                "reference data not retrieved in 180 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A one-line retailer order without notes (no gift message, no packing instructions), for
    /// one of the first 39 demo products (every 40th exists only on DSCO).
    pub fn create_order(&self, po: &str, i: usize) -> String {
        self.dsco.create_order(one_line_order(po, i)).unwrap()
    }

    /// Brightpearl orders whose ref starts with `prefix`.
    pub fn imported(&self, prefix: &str) -> Vec<String> {
        self.bp
            .orders()
            .into_iter()
            .filter_map(|o| o["reference"].as_str().map(str::to_owned))
            .filter(|r| r.starts_with(prefix))
            .collect()
    }

    /// Start an orders run and wait for it to end; returns the run.
    pub async fn run_orders(&self) -> serde_json::Value {
        let started = self
            .send(self.http.post(format!("{}/v1/sync/orders/run", self.url)))
            .await;
        let id = started["run_id"].as_u64().unwrap();
        loop {
            let run = self.get(&format!("/v1/runs/{id}")).await;
            if run["status"] != "running" {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The simulator's request log after `seq`: total, throttled, and counts by method and route.
    pub fn bp_calls_since(&self, seq: u64) -> (usize, usize, BTreeMap<String, usize>) {
        let mut by_route = BTreeMap::new();
        let (mut total, mut throttled) = (0, 0);
        for r in self.bp.requests().all().into_iter().filter(|r| r.seq > seq) {
            total += 1;
            if r.status == 503 || r.status == 429 {
                throttled += 1;
            }
            *by_route.entry(bp_route(&r.method, &r.path)).or_default() += 1;
        }
        (total, throttled, by_route)
    }

    pub fn last_bp_seq(&self) -> u64 {
        self.bp.requests().all().last().map_or(0, |r| r.seq)
    }

    pub fn last_dsco_seq(&self) -> u64 {
        self.dsco.requests().all().last().map_or(0, |r| r.seq)
    }

    pub async fn stop(self) {
        self.running.shutdown();
        self.running.wait().await.unwrap();
        drop(self.servers);
    }
}

/// The orders settings of every world: import everything, customers per retailer (mapped by
/// [`customers_csv`]), `expected_cost` pricing.
pub fn orders_settings() -> serde_json::Value {
    serde_json::json!({
        "orders": {"import_from": "2020-01-01T00:00:00Z", "tax_code": "T",
                   "shipping_method_id": 1, "status_id": 2, "channel_id": 2,
                   "warehouse_id": 1, "price_source": "expected_cost"},
        "customers": {"mode": "per_retailer", "auto_create": false}
    })
}

/// The `customers` mapping (CSV): both demo retailers to demo contact 4.
pub fn customers_csv() -> String {
    let mut csv = String::from("dsco_retailer_id,brightpearl_contact_id\n");
    for r in DEMO_RETAILERS {
        csv.push_str(&format!("{r},4\n"));
    }
    csv
}

/// A one-line retailer order without notes (no gift message, no packing instructions), for
/// one of the first 39 demo products (every 40th exists only on DSCO).
pub fn one_line_order(po: &str, i: usize) -> serde_json::Value {
    serde_json::json!({
        "poNumber": po,
        "dscoRetailerId": DEMO_RETAILERS[i % DEMO_RETAILERS.len()],
        "shipping": {"firstName": "Zoë", "lastName": "Müller", "address1": "12 Elm St",
                     "city": "Springfield", "region": "IL", "postal": "62701",
                     "country": "US", "email": "zoe@example.com"},
        "lineItems": [{"sku": format!("SKU-{:04}", i % 39 + 1), "quantity": 1}],
    })
}

/// A Brightpearl request's route: "/public-api/{account}/order-service/sales-order" →
/// "POST order-service/sales-order".
pub fn bp_route(method: &str, path: &str) -> String {
    let route: Vec<&str> = path.split('/').skip(3).take(2).collect();
    format!("{method} {}", route.join("/"))
}

/// Progress on stderr with BENCH_VERBOSE set.
pub fn verbose(section: &str, what: &str) {
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        eprintln!("{section}: {what}");
    }
}
