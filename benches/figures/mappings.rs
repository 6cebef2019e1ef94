//! `mappings`: 100,000 item mappings uploaded as CSV through HTTP to an in-process daemon.

use std::time::{Duration, Instant};

/// Upload 100,000 item mappings (against a 20,000-product catalog) through HTTP, end to end:
/// request, parse, check, one store transaction, answer. Then upload the download back and
/// download it again.
pub fn mappings_figures() {
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
