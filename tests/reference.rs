//! The `reference` flow and the two routes that ask the APIs directly, against both simulators
//! over real HTTP: Brightpearl's lists and catalog retrieved (at start, after a connection change,
//! on demand, with progress), `POST /v1/dsco/warehouses/refresh`, and
//! `POST /v1/mappings/customers/{id}/create-in-brightpearl` (exactly once, like the orders flow).

use std::time::Duration;

use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
use dsco_brightpearl::sandbox::demo;
use serde_json::{Value, json};

use crate::support::{Sims, TOKEN, TestApp, wait_for};

/// Demo products: more than two product GETs' worth (200 ids each), so the catalog is read in
/// several calls. Some demo products exist only on DSCO, so Brightpearl holds a few less.
const PRODUCTS: u32 = 450;

/// How many products the Brightpearl simulator holds.
fn bp_products(sims: &Sims) -> usize {
    sims.brightpearl.dump_state()["products"]
        .as_array()
        .unwrap()
        .len()
}

async fn seeded_sims() -> Sims {
    let sims = Sims::start().await;
    sims.brightpearl.seed_demo(PRODUCTS);
    sims.dsco.seed_demo(PRODUCTS, 0, 1);
    sims
}

/// The runs of the reference flow, newest first.
async fn reference_runs(app: &TestApp) -> Vec<Value> {
    app.json("/v1/runs?flow=reference").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Wait for a succeeded reference run started by `trigger`.
async fn wait_reference(app: &TestApp, trigger: &str) -> Value {
    wait_for(Duration::from_secs(120), || async {
        reference_runs(app)
            .await
            .into_iter()
            .find(|r| r["trigger"] == trigger && r["status"] != "running")
    })
    .await
}

/// Every product the API lists, following cursors.
async fn all_products(app: &TestApp) -> Vec<Value> {
    let mut products = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/brightpearl/products?limit=1000&cursor={c}"),
            None => "/v1/brightpearl/products?limit=1000".into(),
        };
        let page = app.json(&path).await;
        products.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return products,
        }
    }
}

fn count(value: &Value) -> usize {
    value
        .get("items")
        .unwrap_or(value)
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

/// Every list and the whole catalog match what the simulator holds.
async fn assert_matches_simulator(app: &TestApp, sims: &Sims) {
    let lookups = sims.brightpearl.dump_state()["lookups"].clone();
    for (route, key) in [
        ("warehouses", "warehouses"),
        ("shipping-methods", "shippingMethods"),
        ("order-statuses", "orderStatuses"),
        ("channels", "channels"),
        ("price-lists", "priceLists"),
        ("tax-codes", "taxCodes"),
    ] {
        let listed = app.json(&format!("/v1/brightpearl/{route}")).await;
        let expected = lookups[key].as_array().unwrap().len();
        assert!(expected > 0, "the simulator has {key}");
        assert_eq!(
            count(&listed),
            expected,
            "/v1/brightpearl/{route}: {listed}"
        );
    }
    let products = all_products(app).await;
    assert_eq!(products.len(), bp_products(sims));
    let first = &products[0];
    assert!(first["sku"].is_string(), "{first}");
    assert!(
        first["prices"].as_object().is_some_and(|p| !p.is_empty()),
        "prices retrieved with the catalog: {first}"
    );
}

#[tokio::test]
async fn the_reference_flow_retrieves_every_list_and_the_catalog_at_start() {
    let sims = seeded_sims().await;
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    let run = wait_reference(&app, "startup").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(
        run["note"]
            .as_str()
            .unwrap()
            .contains(&format!("{} products", bp_products(&sims))),
        "{run}"
    );
    assert_matches_simulator(&app, &sims).await;
    // The catalog was read in chunks of at most 200 ids: one OPTIONS, then one GET per chunk.
    let log = sims.brightpearl.requests();
    assert_eq!(log.count("OPTIONS", "/product-service/product"), 1);
    assert_eq!(
        log.count("GET", "/product-service/product/"),
        bp_products(&sims).div_ceil(200)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_brightpearl_connection_change_starts_the_reference_flow() {
    let sims = seeded_sims().await;
    let app = TestApp::start("", vec![]).await;
    // Without credentials nothing runs at start, and the lists are not there yet.
    assert!(reference_runs(&app).await.is_empty());
    let r = app.get("/v1/brightpearl/warehouses").send().await.unwrap();
    assert_eq!(r.status(), 409);
    let bp = sims.brightpearl.config().clone();
    let r = app
        .http
        .put(format!("{}/v1/connections/brightpearl", app.url))
        .bearer_auth(TOKEN)
        .json(
            &json!({"base_url": sims.brightpearl_url(), "account": bp.account,
                      "app_ref": bp.app_ref, "account_token": bp.account_token}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let run = wait_reference(&app, "manual").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_matches_simulator(&app, &sims).await;
    app.stop().await;
}

#[tokio::test]
async fn the_reference_flow_runs_on_demand_and_shows_its_progress() {
    let sims = seeded_sims().await;
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    wait_reference(&app, "startup").await;
    // A product GET that takes a while (under the 2 s request timeout) keeps the run in its
    // catalog step long enough to be seen.
    sims.brightpearl.faults().add(FaultRule {
        method: Some("GET".into()),
        path_contains: "/product-service/product/".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Slow { ms: 1500 },
        mode: FaultMode::Next(1),
    });
    let r = app.post("/v1/sync/reference/run").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let run_id = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
    let progress = wait_for(Duration::from_secs(60), || async {
        let status = app.json("/v1/status").await;
        status["flows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["flow"] == "reference")
            .and_then(|f| f["progress"].as_str().map(str::to_owned))
            .filter(|p| p.contains("product catalog"))
    })
    .await;
    assert!(progress.contains("retrieving"), "{progress}");
    let run = app.wait_run(run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["trigger"], "manual");
    let note = run["note"].as_str().unwrap();
    assert!(note.contains("warehouses"), "{note}");
    assert!(
        note.contains(&format!("{} products", bp_products(&sims))),
        "{note}"
    );
    // Once the run is over, no progress is shown.
    let status = app.json("/v1/status").await;
    let flow = status["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "reference")
        .unwrap()
        .clone();
    assert!(flow["progress"].is_null(), "{flow}");
    app.stop().await;
}

#[tokio::test]
async fn dsco_warehouses_refresh_replaces_the_list_from_dsco() {
    let sims = seeded_sims().await;
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    // A stale list uploaded by hand is replaced whole.
    let r = app
        .http
        .put(format!("{}/v1/dsco/warehouses", app.url))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body("code,name\nWH-OLD,Gone\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .post("/v1/dsco/warehouses/refresh")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answered: Value = r.json().await.unwrap();
    let mut expected: Vec<(String, String)> = demo::warehouses()
        .into_iter()
        .map(|w| (w.dsco_code, w.name))
        .collect();
    expected.sort();
    let pairs = |list: &Value| -> Vec<(String, String)> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["code"].as_str().unwrap().to_owned(),
                    w["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(pairs(&answered), expected, "{answered}");
    // The answer is what GET shows.
    let listed = app.json("/v1/dsco/warehouses").await;
    assert_eq!(listed, answered);
    // The scroll was followed to its empty last page.
    assert!(sims.dsco.requests().count("GET", "/warehouse/page") >= 2);
    app.stop().await;
}

#[tokio::test]
async fn dsco_warehouses_refresh_names_what_is_missing_or_what_failed() {
    let sims = seeded_sims().await;
    // Brightpearl only: DSCO is not connected.
    let bp_only = sims.config_toml();
    let bp_only = &bp_only[..bp_only.find("[dsco]").unwrap()];
    let app = TestApp::start(bp_only, vec![]).await;
    let r = app
        .post("/v1/dsco/warehouses/refresh")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("DSCO credentials are not set"), "{body}");
    assert!(message.contains("client_id"), "{body}");
    app.stop().await;

    // Connected, but DSCO refuses the warehouse page: 502 naming the endpoint and status, and
    // the stored list is left alone.
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    let r = app
        .http
        .put(format!("{}/v1/dsco/warehouses", app.url))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body("code,name\nWH-KEEP,Kept\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sims.dsco.faults().add(FaultRule {
        method: Some("GET".into()),
        path_contains: "/warehouse/page".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Status { code: 400 },
        mode: FaultMode::Next(1),
    });
    let r = app
        .post("/v1/dsco/warehouses/refresh")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("/warehouse/page"), "{body}");
    assert!(message.contains("400"), "{body}");
    let listed = app.json("/v1/dsco/warehouses").await;
    assert_eq!(listed["items"][0]["code"], "WH-KEEP", "{listed}");
    app.stop().await;
}

async fn create_in_brightpearl(app: &TestApp, retailer: &str) -> (u16, Value) {
    let r = app
        .post(&format!(
            "/v1/mappings/customers/{retailer}/create-in-brightpearl"
        ))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Brightpearl's contacts whose last name marks this DSCO retailer.
fn retailer_contacts(sims: &Sims, retailer: &str) -> Vec<Value> {
    let marker = format!("DSCO retailer {retailer}");
    sims.brightpearl
        .contacts()
        .into_iter()
        .filter(|c| c.to_string().contains(&marker))
        .collect()
}

#[tokio::test]
async fn create_in_brightpearl_creates_and_maps_the_retailer_contact_once() {
    let sims = seeded_sims().await;
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    let retailer = &demo::retailers()[0];
    let before = sims.brightpearl.contact_count();
    let (code, body) = create_in_brightpearl(&app, &retailer.retailer_id).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["dsco_retailer_id"], retailer.retailer_id.as_str());
    // The name comes from DSCO's trading partners.
    assert_eq!(body["name"], retailer.name.as_str());
    let contact_id = body["brightpearl_contact_id"].as_u64().unwrap();
    assert_eq!(sims.brightpearl.contact_count(), before + 1);
    let contacts = retailer_contacts(&sims, &retailer.retailer_id);
    assert_eq!(contacts.len(), 1);
    assert!(contacts[0].to_string().contains(&retailer.name));
    let mapping = app
        .json(&format!("/v1/mappings/customers/{}", retailer.retailer_id))
        .await;
    assert_eq!(mapping["brightpearl_contact_id"], contact_id);

    // Again: 409 naming the contact, and nothing is sent to Brightpearl.
    let (code, body) = create_in_brightpearl(&app, &retailer.retailer_id).await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&contact_id.to_string()),
        "{body}"
    );
    assert_eq!(sims.brightpearl.contact_count(), before + 1);

    // A retailer DSCO does not list and no order named: the default name.
    let (code, body) = create_in_brightpearl(&app, "4242").await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["name"], "DSCO retailer 4242");
    app.stop().await;
}

#[tokio::test]
async fn create_in_brightpearl_without_brightpearl_credentials_names_them() {
    let app = TestApp::start("", vec![]).await;
    let (code, body) = create_in_brightpearl(&app, "1000001").await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Brightpearl credentials are not set"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn create_in_brightpearl_after_an_unanswered_create_yields_exactly_one_contact() {
    let sims = seeded_sims().await;
    let app = TestApp::start(&sims.config_toml(), vec![]).await;
    let retailer = demo::retailers()[1].retailer_id.clone();
    // Brightpearl makes the contact, then the connection breaks before the answer.
    sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/contact-service/contact".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Reset,
        mode: FaultMode::Next(1),
    });
    let (code, body) = create_in_brightpearl(&app, &retailer).await;
    assert_eq!(code, 502, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no clear answer"),
        "{body}"
    );
    assert_eq!(retailer_contacts(&sims, &retailer).len(), 1);
    // Calling again: refused while the grace period runs (nothing sent), then Brightpearl is
    // searched, the contact found and mapped.
    let body = wait_for(Duration::from_secs(30), || async {
        let (code, body) = create_in_brightpearl(&app, &retailer).await;
        match code {
            201 => Some(body),
            503 => None,
            other => panic!("unexpected {other}: {body}"),
        }
    })
    .await;
    let contacts = retailer_contacts(&sims, &retailer);
    assert_eq!(contacts.len(), 1, "exactly one contact: {contacts:?}");
    assert_eq!(
        body["brightpearl_contact_id"].as_u64().unwrap(),
        contacts[0]["contactId"]
            .as_u64()
            .or_else(|| contacts[0]["id"].as_u64())
            .unwrap()
    );
    let mapping = app
        .json(&format!("/v1/mappings/customers/{retailer}"))
        .await;
    assert_eq!(
        mapping["brightpearl_contact_id"],
        body["brightpearl_contact_id"]
    );
    app.stop().await;
}
