//! `catalog`: the reference flow reading a 20,000-product catalog from the Brightpearl simulator.

use std::time::{Duration, Instant};

/// Run the reference flow once through an in-process daemon against a Brightpearl simulator
/// holding 20,000 products, and count the calls it made against the fewest the paging allows:
/// product GET and product-price GET take 200 ids per call (brightpearl-api.md §1.3, §1.4), plus
/// one OPTIONS each, plus the six lists.
pub fn catalog_figures() {
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
