//! Benchmarks that print figures (never asserted): `cargo bench --bench figures [-- SECTION...]`.
//!
//! Sections: `daemon` (idle RSS, exec → READY, binary size), `mappings` (100,000 item mappings
//! uploaded as CSV through HTTP to an in-process daemon), `catalog` (the reference flow reading a
//! 20,000-product catalog from the Brightpearl simulator: calls used against the paging minimum,
//! and time), `orders` (the orders flow against both simulators with Brightpearl capped at 20
//! requests per 10 s: calls per order, throughput, and latency on a one-minute schedule;
//! `--orders-latency-secs=N` shortens the latency part, 180 s by default; `BENCH_VERBOSE=1` shows
//! its progress). Without arguments every section runs.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if runs("daemon") {
        daemon_figures();
    }
    if runs("mappings") {
        mappings_figures();
    }
    if runs("catalog") {
        catalog_figures();
    }
    if runs("orders") {
        let latency_secs = std::env::args()
            .find_map(|a| {
                a.strip_prefix("--orders-latency-secs=")
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(180);
        orders_figures(latency_secs);
    }
}

/// Run the reference flow once through an in-process daemon against a Brightpearl simulator
/// holding 20,000 products, and count the calls it made against the fewest the paging allows:
/// product GET and product-price GET take 200 ids per call (brightpearl-api.md §1.3, §1.4), plus
/// one OPTIONS each, plus the six lists.
fn catalog_figures() {
    use dsco_brightpearl::sandbox::brightpearl::{BrightpearlSim, NewProduct};
    const PRODUCTS: usize = 20_000;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let sim = BrightpearlSim::new(Default::default());
        sim.seed_demo(PRODUCTS as u32);
        // Some demo products live only on DSCO: top up to exactly 20,000 in Brightpearl.
        let mut held = sim.dump_state()["products"].as_array().unwrap().len();
        while held < PRODUCTS {
            sim.add_product(NewProduct {
                sku: format!("BENCH-{held:06}"),
                name: format!("Bench product {held}"),
                ..Default::default()
            });
            held += 1;
        }
        let server = sim.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        sim.requests().clear();
        let config = sim.config();
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        std::fs::write(
            &config_path,
            format!(
                "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"bench\"\n[log]\nfilter = \"warn\"\n\
                 [brightpearl]\nbase_url = \"{}\"\naccount = \"{}\"\napp_ref = \"{}\"\naccount_token = \"{}\"\n",
                dir.path().join("state").display(),
                server.url(),
                config.account,
                config.app_ref,
                config.account_token,
            ),
        )
        .unwrap();
        let config = dsco_brightpearl::config::Config::load_from(&dsco_brightpearl::config::Sources {
            file: Some(config_path),
            env: Some(Vec::new()),
        })
        .unwrap();
        // Brightpearl credentials in the config: the reference flow runs at start.
        let started = Instant::now();
        let running = dsco_brightpearl::app::start(config, Default::default())
            .await
            .unwrap();
        let run = loop {
            let runs = running
                .store
                .read(|tx| tx.runs(Some(dsco_brightpearl::flow_name::FlowName::Reference), None, 10))
                .unwrap();
            if let Some(run) = runs
                .into_iter()
                .find(|r| r.status != dsco_brightpearl::store::RunStatus::Running)
            {
                break run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let wall = started.elapsed().as_secs_f64();
        let run_secs = run
            .finished_at
            .map(|f| (f - run.started_at).num_milliseconds() as f64 / 1000.0)
            .unwrap_or(f64::NAN);
        let requests = sim.requests().all();
        let count = |method: &str, path: &str| {
            requests
                .iter()
                .filter(|r| r.method == method && r.path.contains(path))
                .count()
        };
        let chunks = PRODUCTS.div_ceil(200);
        let minimum = 2 * chunks + 2 + 6;
        let refused = requests.iter().filter(|r| r.status >= 400).count();
        let stored = running.store.read(|tx| tx.product_count()).unwrap();
        println!(
            "catalog: reference run {:?} ({}), {stored} of {PRODUCTS} products stored",
            run.status,
            run.note.clone().or(run.error.clone()).unwrap_or_default()
        );
        println!(
            "catalog: Brightpearl calls {} (paging minimum {minimum}: {chunks} product GETs + {chunks} price GETs + 2 OPTIONS + 6 lists; \
             the price ids come from the product GETs, so no price OPTIONS is needed); \
             product OPTIONS {}, product GETs {}, price OPTIONS {}, price GETs {}, refused {refused}; quota calls_total {}",
            requests.len(),
            count("OPTIONS", "/product-service/product"),
            count("GET", "/product-service/product/"),
            count("OPTIONS", "/product-service/product-price"),
            count("GET", "/product-service/product-price/"),
            running.connections.quota().snapshot().calls_total,
        );
        println!(
            "catalog: run {run_secs:.1} s, start to finished {wall:.1} s (Brightpearl allows 200 calls per 60 s)"
        );
        running.shutdown();
        running.wait().await.unwrap();
    });
}

/// Upload 100,000 item mappings (against a 20,000-product catalog) through HTTP, end to end:
/// request, parse, check, one store transaction, answer. Then upload the download back and
/// download it again.
fn mappings_figures() {
    use dsco_brightpearl::reference::{CatalogProduct, ReferenceData};
    const ROWS: usize = 100_000;
    const PRODUCTS: u32 = 20_000;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        std::fs::write(
            &config_path,
            format!(
                "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"bench\"\n[log]\nfilter = \"warn\"\n",
                dir.path().join("state").display()
            ),
        )
        .unwrap();
        let config = dsco_brightpearl::config::Config::load_from(&dsco_brightpearl::config::Sources {
            file: Some(config_path),
            env: Some(Vec::new()),
        })
        .unwrap();
        let running = dsco_brightpearl::app::start(config, Default::default())
            .await
            .unwrap();
        let catalog: Vec<CatalogProduct> = (1..=PRODUCTS)
            .map(|id| CatalogProduct {
                id,
                name: format!("Product {id}"),
                sku: Some(format!("BP-{id:06}")),
                ..Default::default()
            })
            .collect();
        let started = Instant::now();
        running
            .store
            .write(|tx| {
                tx.put_reference_data(&ReferenceData::empty(chrono::Utc::now()))?;
                tx.replace_catalog(&catalog)
            })
            .unwrap();
        let catalog_ms = started.elapsed().as_secs_f64() * 1000.0;
        let started = Instant::now();
        let loaded = running.store.read(|tx| tx.catalog()).unwrap().len();
        let catalog_load_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut csv = String::from("dsco_sku,brightpearl_product_id\n");
        for i in 0..ROWS {
            csv.push_str(&format!("DSCO-SKU-{i:07},{}\n", (i as u32 % PRODUCTS) + 1));
        }
        let url = format!("http://{}/v1/mappings/items", running.addr);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let put = |body: String, mode: &'static str| {
            let http = http.clone();
            let url = url.clone();
            async move {
                let started = Instant::now();
                let r = http
                    .put(&url)
                    .query(&[("mode", mode)])
                    .bearer_auth("bench")
                    .header("content-type", "text/csv")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let text = r.text().await.unwrap();
                assert!(status.is_success(), "{status}: {text}");
                started.elapsed().as_secs_f64()
            }
        };
        let bytes = csv.len();
        let first = put(csv.clone(), "merge").await;
        let started = Instant::now();
        let downloaded = http
            .get(&url)
            .query(&[("format", "csv")])
            .bearer_auth("bench")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let download = started.elapsed().as_secs_f64();
        let again = put(downloaded, "replace").await;
        println!(
            "mappings: upload {ROWS} item mappings ({:.1} MiB CSV, {PRODUCTS} products) via HTTP: {first:.2} s (target <= 3 s)",
            bytes as f64 / 1048576.0
        );
        println!("mappings: re-upload of the download (replace, nothing changes): {again:.2} s");
        println!("mappings: CSV download of {ROWS} rows: {download:.2} s");
        println!(
            "mappings: store {PRODUCTS} products: {catalog_ms:.0} ms; load {loaded} products: {catalog_load_ms:.0} ms"
        );
        running.shutdown();
        running.wait().await.unwrap();
    });
}

/// Brightpearl's cap in the `orders` section: 20 requests per rolling 10 s, i.e. a ceiling of
/// 120 orders a minute at one call per order.
const BP_CAP: u32 = 20;
const BP_WINDOW: Duration = Duration::from_secs(10);
const CEILING_PER_MIN: f64 = 120.0;
/// Requests the daemon's budget leaves unspent in each window.
const BP_SAFETY_MARGIN: u32 = 1;
/// The demo world's two retailers, both mapped to demo contact 4.
const DEMO_RETAILERS: [&str; 2] = ["1000001", "1000002"];
/// How long after its creation an order is inside the flow's window (`until` = now − 10 s).
const WINDOW_LAG: Duration = Duration::from_millis(10_500);

/// Both simulators and an in-process daemon connected to them, reference data retrieved,
/// customers mapped per retailer, `expected_cost` pricing.
struct OrdersWorld {
    bp: dsco_brightpearl::sandbox::brightpearl::BrightpearlSim,
    dsco: dsco_brightpearl::sandbox::dsco::DscoSim,
    servers: Vec<dsco_brightpearl::sandbox::common::SimServer>,
    running: dsco_brightpearl::app::Running,
    http: reqwest::Client,
    url: String,
    _dir: tempfile::TempDir,
}

impl OrdersWorld {
    async fn start(orders_schedule: Option<&str>) -> OrdersWorld {
        use dsco_brightpearl::sandbox::brightpearl::{BrightpearlSim, BrightpearlSimConfig};
        use dsco_brightpearl::sandbox::dsco::{DscoSim, DscoSimConfig};
        dsco_brightpearl::tls::ensure_crypto_provider();
        let bp_config = BrightpearlSimConfig {
            throttle_cap: BP_CAP,
            throttle_window: BP_WINDOW,
            ..Default::default()
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
        let schedules = orders_schedule
            .map(|s| format!("[schedules]\norders = \"{s}\"\n"))
            .unwrap_or_default();
        let toml = format!(
            "state_dir = \"{}\"\nshutdown_grace = \"10s\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"bench\"\n[log]\nfilter = \"warn\"\n{schedules}\
             [brightpearl]\nbase_url = \"{}\"\naccount = \"{}\"\napp_ref = \"{}\"\naccount_token = \"{}\"\nrequest_timeout = \"2s\"\n\
             [dsco]\nbase_url = \"{}/api/v3\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nrequest_timeout = \"2s\"\n",
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
        let quota = dsco_brightpearl::brightpearl::QuotaConfig {
            requests_per_window: BP_CAP,
            window: BP_WINDOW,
            low_lane_reserve: BP_CAP / 4,
            safety_margin: BP_SAFETY_MARGIN,
            max_wait: BP_WINDOW + Duration::from_secs(1),
        };
        let options = dsco_brightpearl::app::Options {
            brightpearl_quota: Some(quota),
            ..Default::default()
        };
        let running = dsco_brightpearl::app::start(config, options).await.unwrap();
        let world = OrdersWorld {
            url: format!("http://{}", running.addr),
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
        verbose("waiting for the reference run");
        world.wait_reference().await;
        verbose("reference data retrieved");
        world
            .send(
                world
                    .http
                    .patch(format!("{}/v1/settings", world.url))
                    .json(&serde_json::json!({
                        "orders": {"import_from": "2020-01-01T00:00:00Z", "tax_code": "T",
                                   "shipping_method_id": 1, "status_id": 2, "channel_id": 2,
                                   "warehouse_id": 1, "price_source": "expected_cost"},
                        "customers": {"mode": "per_retailer", "auto_create": false}
                    })),
            )
            .await;
        let mut csv = String::from("dsco_retailer_id,brightpearl_contact_id\n");
        for r in DEMO_RETAILERS {
            csv.push_str(&format!("{r},4\n"));
        }
        world
            .send(
                world
                    .http
                    .put(format!("{}/v1/mappings/customers", world.url))
                    .header("content-type", "text/csv")
                    .body(csv),
            )
            .await;
        world
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> serde_json::Value {
        let r = request.bearer_auth("bench").send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{status}: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    async fn get(&self, path: &str) -> serde_json::Value {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    async fn wait_reference(&self) {
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
    fn create_order(&self, po: &str, i: usize) -> String {
        self.dsco
            .create_order(serde_json::json!({
                "poNumber": po,
                "dscoRetailerId": DEMO_RETAILERS[i % DEMO_RETAILERS.len()],
                "shipping": {"firstName": "Zoë", "lastName": "Müller", "address1": "12 Elm St",
                             "city": "Springfield", "region": "IL", "postal": "62701",
                             "country": "US", "email": "zoe@example.com"},
                "lineItems": [{"sku": format!("SKU-{:04}", i % 39 + 1), "quantity": 1}],
            }))
            .unwrap()
    }

    /// Brightpearl orders whose ref starts with `prefix`.
    fn imported(&self, prefix: &str) -> Vec<String> {
        self.bp
            .orders()
            .into_iter()
            .filter_map(|o| o["reference"].as_str().map(str::to_owned))
            .filter(|r| r.starts_with(prefix))
            .collect()
    }

    /// Start an orders run and wait for it to end; returns the run.
    async fn run_orders(&self) -> serde_json::Value {
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
    fn bp_calls_since(&self, seq: u64) -> (usize, usize, BTreeMap<String, usize>) {
        let mut by_route = BTreeMap::new();
        let (mut total, mut throttled) = (0, 0);
        for r in self.bp.requests().all().into_iter().filter(|r| r.seq > seq) {
            total += 1;
            if r.status == 503 || r.status == 429 {
                throttled += 1;
            }
            // "/public-api/{account}/order-service/sales-order" → "POST order-service/sales-order"
            let route: Vec<&str> = r.path.split('/').skip(3).take(2).collect();
            *by_route
                .entry(format!("{} {}", r.method, route.join("/")))
                .or_default() += 1;
        }
        (total, throttled, by_route)
    }

    fn last_bp_seq(&self) -> u64 {
        self.bp.requests().all().last().map_or(0, |r| r.seq)
    }

    async fn stop(self) {
        self.running.shutdown();
        self.running.wait().await.unwrap();
        drop(self.servers);
    }
}

/// Progress on stderr with BENCH_VERBOSE set.
fn verbose(what: &str) {
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        eprintln!("orders: {what}");
    }
}

/// The orders flow alone against a Brightpearl capped at 20 requests per 10 s.
fn orders_figures(latency_secs: u64) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        orders_throughput().await;
        orders_latency(latency_secs).await;
    });
}

/// (a) Brightpearl calls per imported order and (b) orders per minute against the ceiling:
/// 240 orders (two minutes' worth) created upfront, runs triggered back to back.
async fn orders_throughput() {
    const ORDERS: usize = 240;
    const PREFIX: &str = "TPUT-";
    let w = OrdersWorld::start(None).await;
    for i in 0..ORDERS {
        w.create_order(&format!("{PREFIX}{i:04}"), i);
    }
    // Inside the window, and the reference run's calls out of Brightpearl's rolling window.
    tokio::time::sleep(WINDOW_LAG.max(BP_WINDOW)).await;
    verbose("orders created; measuring");
    let quota_before = w.running.connections.quota().snapshot();
    let seq_before = w.last_bp_seq();
    let started = Instant::now();
    let (runs, all_in) = {
        let mut runs = 0;
        let mut all_in = None;
        // Poll for the instant the last order exists while runs follow one another.
        let poll = async {
            loop {
                if w.imported(PREFIX).len() >= ORDERS {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::pin!(poll);
        let deadline = started + Duration::from_secs(600);
        while all_in.is_none() && Instant::now() < deadline {
            let run = w.run_orders();
            tokio::pin!(run);
            loop {
                tokio::select! {
                    elapsed = &mut poll, if all_in.is_none() => all_in = Some(elapsed),
                    run = &mut run => {
                        runs += 1;
                        verbose(&format!(
                            "run {}: {} {} {}",
                            run["id"], run["status"], run["counts"], run["note"]
                        ));
                        if run["status"] != "succeeded" {
                            println!(
                                "orders: run {} ended {}: {}",
                                run["id"], run["status"], run["error"]
                            );
                        }
                        break;
                    }
                }
            }
        }
        (runs, all_in)
    };
    let total_elapsed = started.elapsed();
    let quota_after = w.running.connections.quota().snapshot();
    let (logged, throttled, by_route) = w.bp_calls_since(seq_before);
    let creates: Vec<chrono::DateTime<chrono::Utc>> =
        w.bp.requests()
            .all()
            .into_iter()
            .filter(|r| {
                r.seq > seq_before
                    && r.method == "POST"
                    && r.path.ends_with("/sales-order")
                    && (200..300).contains(&r.status)
            })
            .map(|r| r.at)
            .collect();
    let imported = w.imported(PREFIX).len();
    let budget_calls = quota_after.calls_total - quota_before.calls_total;
    println!(
        "orders: setup: Brightpearl capped at {BP_CAP} requests per {} s (ceiling {CEILING_PER_MIN:.0} orders/min at one call per order), customers mapped per retailer, expected_cost pricing, no notes, reference run done and not counted, orders flow alone",
        BP_WINDOW.as_secs()
    );
    println!(
        "orders: (a) Brightpearl calls per imported order: {:.3} ({logged} requests in the simulator's log for {imported} orders; {budget_calls} through the quota budget; {throttled} throttled answers) (target <= 1.05)",
        logged as f64 / imported.max(1) as f64
    );
    let routes: Vec<String> = by_route.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!("orders:     requests by route: {}", routes.join(", "));
    match all_in {
        Some(elapsed) => {
            let secs = elapsed.as_secs_f64();
            // Creates in the completed windows since the first one: the rate the cap sustains
            // (counting a partly used last window, or the initial burst, would skew it).
            let window = chrono::Duration::from_std(BP_WINDOW).unwrap();
            let (first, last) = (creates[0], creates[creates.len() - 1]);
            let windows = ((last - first).num_milliseconds() / window.num_milliseconds()).max(1);
            let end = first + window * windows as i32;
            let in_windows = creates.iter().filter(|t| **t < end).count();
            let sustained = in_windows as f64 / (windows as f64 * BP_WINDOW.as_secs_f64()) * 60.0;
            println!(
                "orders: (b) {ORDERS} orders imported in {secs:.1} s over {runs} run(s): sustained {sustained:.1} orders/min ({in_windows} creates in {windows} completed {}-s windows) = {:.3} of the ceiling (target >= 0.95); all {ORDERS} from the first run start: {:.1} orders/min",
                BP_WINDOW.as_secs(),
                sustained / CEILING_PER_MIN,
                ORDERS as f64 / secs * 60.0
            );
        }
        None => println!(
            "orders: (b) only {imported} of {ORDERS} orders imported in {:.0} s over {runs} run(s)",
            total_elapsed.as_secs_f64()
        ),
    }
    w.stop().await;
}

/// (c) Latency from DSCO order creation to the Brightpearl order on a one-minute schedule.
async fn orders_latency(duration_secs: u64) {
    const PREFIX: &str = "LAT-";
    const EVERY: Duration = Duration::from_secs(5);
    let w = OrdersWorld::start(Some("0 * * * * *")).await;
    let count = (duration_secs / EVERY.as_secs()).max(1) as usize;
    let mut created: BTreeMap<String, Instant> = BTreeMap::new();
    let mut seen: BTreeMap<String, Duration> = BTreeMap::new();
    let first = Instant::now();
    let mut deadline = None;
    loop {
        let now = Instant::now();
        if created.len() < count && now >= first + EVERY * created.len() as u32 {
            let i = created.len();
            let po = format!("{PREFIX}{i:04}");
            w.create_order(&po, i);
            created.insert(po, Instant::now());
            if created.len() == count {
                // Worst case: 10 s lag, then up to a minute to the next run, plus slack.
                deadline = Some(Instant::now() + Duration::from_secs(100));
            }
        }
        for r in w.imported(PREFIX) {
            if let std::collections::btree_map::Entry::Vacant(e) = seen.entry(r) {
                let at = created[e.key()];
                e.insert(at.elapsed());
            }
        }
        if seen.len() == count || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut latencies: Vec<f64> = seen.values().map(Duration::as_secs_f64).collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        let i = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    if latencies.is_empty() {
        println!("orders: (c) no order reached Brightpearl");
    } else {
        println!(
            "orders: (c) schedule \"0 * * * * *\", {count} orders created one every {} s over {:.0} s: creation -> Brightpearl order p50 {:.1} s, p95 {:.1} s, max {:.1} s (target p95 <= 70 s){}",
            EVERY.as_secs(),
            (EVERY * (count as u32 - 1)).as_secs_f64(),
            pct(0.50),
            pct(0.95),
            latencies[latencies.len() - 1],
            if seen.len() < count {
                format!("; {} never arrived", count - seen.len())
            } else {
                String::new()
            }
        );
    }
    w.stop().await;
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_dsco-brightpearl")
}

/// Start the daemon with a NOTIFY_SOCKET we own; time exec → READY=1, then read idle RSS.
fn daemon_figures() {
    let size = std::fs::metadata(binary()).map(|m| m.len()).unwrap_or(0);
    let mut ready_ms = Vec::new();
    let mut rss_kib = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let socket_path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"bench\"\n[schedules]\norders = \"0 */5 * * * *\"\nreference = \"0 0 3 * * *\"\n",
                dir.path().join("state").display()
            ),
        )
        .unwrap();
        let started = Instant::now();
        let mut child = Command::new(binary())
            .args(["--config", config.to_str().unwrap(), "run"])
            .env("NOTIFY_SOCKET", &socket_path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = socket.recv(&mut buf).expect("READY=1 within 30 s");
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                break;
            }
        }
        ready_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(2));
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        rss_kib.push(rss);
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
    ready_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rss_kib.sort();
    println!(
        "daemon: binary size {:.1} MiB (target <= 30 MiB)",
        size as f64 / 1048576.0
    );
    println!(
        "daemon: exec -> READY median {:.0} ms, max {:.0} ms over {} starts (target <= 300 ms)",
        ready_ms[ready_ms.len() / 2],
        ready_ms[ready_ms.len() - 1],
        ready_ms.len()
    );
    println!(
        "daemon: idle RSS 2 s after READY median {:.1} MiB, max {:.1} MiB (target <= 25 MiB)",
        rss_kib[rss_kib.len() / 2] as f64 / 1024.0,
        rss_kib[rss_kib.len() - 1] as f64 / 1024.0
    );
}
