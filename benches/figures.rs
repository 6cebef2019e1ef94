//! Benchmarks that print figures (never asserted): `cargo bench --bench figures [-- SECTION...]`.
//!
//! Sections: `daemon` (idle RSS, exec → READY, binary size), `mappings` (100,000 item mappings
//! uploaded as CSV through HTTP to an in-process daemon), `catalog` (the reference flow reading a
//! 20,000-product catalog from the Brightpearl simulator: calls used against the paging minimum,
//! and time). Without arguments every section runs.

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
                .read(|tx| tx.runs(Some(dsco_brightpearl::sync::FlowName::Reference), None, 10))
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
    use dsco_brightpearl::reference::{Product, ReferenceData};
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
        let catalog: Vec<Product> = (1..=PRODUCTS)
            .map(|id| Product {
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
