//! The `orders` flow against both simulators over real HTTP: DSCO purchase orders become
//! Brightpearl sales orders exactly once, then are acknowledged.

use std::time::Duration;

use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule};
use serde_json::{Value, json};

use crate::support::world::{OTHER_RETAILER, RETAILER, WINDOW_LAG, World};
use crate::support::{Sims, wait_for};

fn line(sku: &str, quantity: i64) -> Value {
    json!({"sku": sku, "quantity": quantity})
}

fn rows(order: &Value) -> Vec<Value> {
    order["orderRows"]
        .as_object()
        .unwrap()
        .values()
        .cloned()
        .collect()
}

#[tokio::test]
async fn single_and_multi_line_orders_become_sales_orders_and_are_acknowledged() {
    let w = World::new(json!({})).await;
    let single = w.order(
        RETAILER,
        "PO-1",
        json!([line("SKU-0001", 2)]),
        json!({"giftMessage": "Alles Gute, Zoë!"}),
    );
    let multi = w.order(
        RETAILER,
        "PO-2",
        json!([
            line("SKU-0002", 1),
            line("SKU-0003", 3),
            line("SKU-0004", 1)
        ]),
        json!({"currencyCode": "USD"}),
    );
    let run = w.run().await;
    assert_eq!(run["counts"]["synced"], 2, "{run}");

    let bp = w.bp_orders_for("PO-1");
    assert_eq!(bp.len(), 1);
    let r = rows(&bp[0]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["productId"], 1);
    assert_eq!(r[0]["quantity"]["magnitude"], "2.0000");
    assert_eq!(bp[0]["orderStatus"]["orderStatusId"], 2);
    assert_eq!(bp[0]["assignment"]["current"]["channelId"], 2);
    assert_eq!(bp[0]["warehouseId"], 1);
    assert_eq!(bp[0]["delivery"]["shippingMethodId"], 1);
    let delivery = &bp[0]["parties"]["delivery"];
    assert_eq!(delivery["addressFullName"], "Zoë Müller", "{delivery}");
    let bp_multi = w.bp_orders_for("PO-2");
    assert_eq!(rows(&bp_multi[0]).len(), 3);

    // One contact for the retailer, made once.
    let retailer_contacts: Vec<Value> = w
        .sims
        .brightpearl
        .contacts()
        .into_iter()
        .filter(|c| c["lastName"] == format!("DSCO retailer {RETAILER}"))
        .collect();
    assert_eq!(retailer_contacts.len(), 1);

    for (id, po) in [(&single, "PO-1"), (&multi, "PO-2")] {
        let view = w.view(id).await;
        assert_eq!(view["state"], "acknowledged", "{view}");
        assert_eq!(view["po_number"], po);
        let bp_id = view["bp_order_id"].as_u64().unwrap();
        let d = w.dsco_order(id);
        assert_eq!(d["supplierOrderNumber"], bp_id.to_string());
        assert_eq!(d["dscoLifecycle"], "acknowledged");
        assert!(view["timeline"].as_array().unwrap().len() >= 2);
    }
    // The gift message is a note on the order.
    let bp_id = w.view(&single).await["bp_order_id"].as_u64().unwrap();
    let notes = w
        .app
        .http
        .get(format!(
            "{}/public-api/sandbox/order-service/order/{bp_id}/note",
            w.sims.brightpearl_url()
        ))
        .header("brightpearl-app-ref", &w.sims.brightpearl.config().app_ref)
        .header(
            "brightpearl-account-token",
            &w.sims.brightpearl.config().account_token,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notes.contains("Alles Gute, Zoë!"), "{notes}");

    // A second run changes nothing.
    w.run().await;
    assert_eq!(w.sims.brightpearl.order_count(), 2);
    let listed = w.app.json("/v1/orders?state=acknowledged").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_bad_input_needs_attention_by_name_and_the_rest_proceed() {
    let w = World::new(json!({})).await;
    let good = w.order(RETAILER, "PO-GOOD", json!([line("SKU-0005", 1)]), json!({}));
    let unknown = w.order(
        RETAILER,
        "PO-UNKNOWN",
        json!([line("SKU-0005", 1), line("NO-SUCH-SKU", 1)]),
        json!({}),
    );
    w.created();
    let zero = w.sims.dsco.create_raw_order(json!({
        "poNumber": "PO-ZERO", "dscoRetailerId": RETAILER, "dscoLifecycle": "created", "dscoStatus": "created",
        "shipping": {"name": "A B", "address1": "1 St", "city": "C", "postal": "1", "country": "US"},
        "lineItems": [{"lineNumber": 1, "sku": "SKU-0006", "quantity": 0, "expectedCost": 1.0}]
    })).unwrap();
    let no_address = w.sims.dsco.create_raw_order(json!({
        "poNumber": "PO-NOADDR", "dscoRetailerId": RETAILER, "dscoLifecycle": "created", "dscoStatus": "created",
        "shipping": {"name": "Only A Name", "country": "US"},
        "lineItems": [{"lineNumber": 1, "sku": "SKU-0007", "quantity": 1, "expectedCost": 1.0}]
    })).unwrap();
    let duplicate = w.sims.dsco.create_raw_order(json!({
        "poNumber": "PO-DUP", "dscoRetailerId": RETAILER, "dscoLifecycle": "created", "dscoStatus": "created",
        "shipping": {"name": "A B", "address1": "1 St", "city": "C", "postal": "1", "country": "US"},
        "lineItems": [{"lineNumber": 1, "sku": "SKU-0008", "quantity": 1, "expectedCost": 1.0},
                      {"lineNumber": 1, "sku": "SKU-0009", "quantity": 1, "expectedCost": 1.0}]
    })).unwrap();
    let no_price = w.sims.dsco.create_raw_order(json!({
        "poNumber": "PO-NOPRICE", "dscoRetailerId": RETAILER, "dscoLifecycle": "created", "dscoStatus": "created",
        "shipping": {"name": "A B", "address1": "1 St", "city": "C", "postal": "1", "country": "US"},
        "lineItems": [{"lineNumber": 1, "sku": "SKU-0010", "quantity": 1}]
    })).unwrap();
    w.run().await;
    assert_eq!(w.view(&good).await["state"], "acknowledged");
    for (id, expected) in [
        (&unknown, "line 2 (SKU NO-SUCH-SKU): unknown SKU"),
        (&zero, "line 1 (SKU SKU-0006): quantity 0 is not positive"),
        (&no_address, "ship-to is missing address, city, postal code"),
        (&duplicate, "duplicate line number 1"),
        (&no_price, "line 1 (SKU SKU-0010): missing price"),
    ] {
        let view = w.view(id).await;
        assert_eq!(
            view["state"],
            "needs_attention",
            "{view} {}",
            w.dsco_order(id)
        );
        assert!(
            view["reason"].as_str().unwrap().contains(expected),
            "{expected}: {view}"
        );
        let record = w.record(id).await;
        assert_eq!(record["status"], "needs_attention");
        assert!(record["reason"].as_str().unwrap().contains(expected));
    }
    assert_eq!(
        w.sims.brightpearl.order_count(),
        1,
        "nothing is created for a bad order"
    );
}

#[tokio::test]
async fn customers_per_retailer_mapping_auto_create_off_and_per_consumer() {
    let w = World::new(json!({"customers": {"auto_create": false}})).await;
    let id = w.order(
        OTHER_RETAILER,
        "PO-C1",
        json!([line("SKU-0011", 1)]),
        json!({}),
    );
    w.run().await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "needs_attention");
    assert_eq!(
        view["reason"],
        format!("no customer mapping for retailer {OTHER_RETAILER}")
    );
    // Map the retailer to demo contact 4 and retry: imported for that contact.
    w.upload(
        "customers",
        &format!("dsco_retailer_id,brightpearl_contact_id\n{OTHER_RETAILER},4\n"),
    )
    .await;
    w.retry_all().await;
    w.run().await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "acknowledged", "{view}");
    let bp = w.bp_orders_for("PO-C1");
    assert_eq!(
        bp[0]["parties"]["customer"]["contactId"], 4,
        "{}",
        bp[0]["parties"]
    );

    // Per consumer: an existing contact with the ship-to email is used (lowest id of two);
    // a new email gets a new contact, made once for two orders.
    w.patch_settings(json!({"customers": {"mode": "per_consumer", "auto_create": true}}))
        .await;
    let jane = w.order(
        RETAILER,
        "PO-C2",
        json!([line("SKU-0012", 1)]),
        json!({"shipping": {"email": "jane@example.com"}}),
    );
    let new1 = w.order(
        RETAILER,
        "PO-C3",
        json!([line("SKU-0013", 1)]),
        json!({"shipping": {"email": "new.buyer@example.com"}}),
    );
    let new2 = w.order(
        RETAILER,
        "PO-C4",
        json!([line("SKU-0014", 1)]),
        json!({"shipping": {"email": "new.buyer@example.com"}}),
    );
    let before = w.sims.brightpearl.contact_count();
    w.run().await;
    assert_eq!(
        w.bp_orders_for("PO-C2")[0]["parties"]["customer"]["contactId"],
        6
    );
    assert_eq!(w.sims.brightpearl.contact_count(), before + 1);
    let c3 = &w.bp_orders_for("PO-C3")[0]["parties"]["customer"]["contactId"];
    let c4 = &w.bp_orders_for("PO-C4")[0]["parties"]["customer"]["contactId"];
    assert_eq!(c3, c4);
    for id in [jane, new1, new2] {
        assert_eq!(w.view(&id).await["state"], "acknowledged");
    }
}

#[tokio::test]
async fn items_match_on_each_chosen_field_and_manual_mappings_win() {
    let w = World::new(json!({})).await;
    // The demo world: product N has UPC 0{880000000+N}, EAN 40{34000000+N}, MPN MPN-{N:05},
    // barcode 50{12000000+N}; every 30th product's DSCO UPC differs.
    let cases = [
        (
            "upc",
            "UPC",
            json!({"sku": "X-UPC", "upc": "000880000015", "quantity": 1, "expectedCost": 5.0}),
            15,
        ),
        (
            "ean",
            "EAN",
            json!({"sku": "X-EAN", "ean": "4000034000016", "quantity": 1, "expectedCost": 5.0}),
            16,
        ),
        (
            "mpn",
            "MPN",
            json!({"sku": "X-MPN", "mpn": "MPN-00017", "quantity": 1, "expectedCost": 5.0}),
            17,
        ),
        (
            "ean",
            "barcode",
            json!({"sku": "X-BAR", "ean": "5000012000018", "quantity": 1, "expectedCost": 5.0}),
            18,
        ),
    ];
    for (i, (dsco_field, bp_field, item, product)) in cases.into_iter().enumerate() {
        w.patch_settings(
            json!({"items": {"dsco_match_field": dsco_field, "brightpearl_match_field": bp_field}}),
        )
        .await;
        let po = format!("PO-M{i}");
        let id = w.order(RETAILER, &po, json!([item]), json!({}));
        w.run().await;
        let view = w.view(&id).await;
        assert_eq!(
            view["state"], "acknowledged",
            "{dsco_field}/{bp_field}: {view}"
        );
        assert_eq!(
            rows(&w.bp_orders_for(&po)[0])[0]["productId"],
            product,
            "{dsco_field}/{bp_field}"
        );
    }
    // Every 30th product's UPC differs on DSCO: unmatched by UPC until mapped by hand.
    w.patch_settings(
        json!({"items": {"dsco_match_field": "upc", "brightpearl_match_field": "UPC"}}),
    )
    .await;
    let id = w.order(
        RETAILER,
        "PO-M-MANUAL",
        json!([{"sku": "SKU-0030", "upc": "000990000030", "quantity": 1, "expectedCost": 5.0}]),
        json!({}),
    );
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "needs_attention");
    w.upload("items", "dsco_sku,brightpearl_product_id\nSKU-0030,31\n")
        .await;
    w.retry_all().await;
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "acknowledged");
    assert_eq!(rows(&w.bp_orders_for("PO-M-MANUAL")[0])[0]["productId"], 31);
    // Ambiguous barcode (products 50 and 51 share one): named, nothing created.
    w.patch_settings(
        json!({"items": {"dsco_match_field": "ean", "brightpearl_match_field": "barcode"}}),
    )
    .await;
    let id = w.order(
        RETAILER,
        "PO-M-AMB",
        json!([{"sku": "X-AMB", "ean": "5000012000051", "quantity": 1, "expectedCost": 5.0}]),
        json!({}),
    );
    w.run().await;
    let view = w.view(&id).await;
    assert!(
        view["reason"].as_str().unwrap().contains("ambiguous"),
        "{view}"
    );
}

#[tokio::test]
async fn per_retailer_defaults_override_the_general_ones() {
    let w = World::new(json!({"orders": {"per_retailer": {OTHER_RETAILER: {"status_id": 3, "warehouse_id": 2, "channel_id": 1}}}})).await;
    w.order(RETAILER, "PO-R1", json!([line("SKU-0020", 1)]), json!({}));
    w.order(
        OTHER_RETAILER,
        "PO-R2",
        json!([line("SKU-0021", 1)]),
        json!({}),
    );
    w.run().await;
    let general = &w.bp_orders_for("PO-R1")[0];
    let special = &w.bp_orders_for("PO-R2")[0];
    assert_eq!(general["orderStatus"]["orderStatusId"], 2);
    assert_eq!(special["orderStatus"]["orderStatusId"], 3);
    assert_eq!(special["warehouseId"], 2);
    assert_eq!(special["assignment"]["current"]["channelId"], 1);
}

#[tokio::test]
async fn orders_another_connector_created_are_linked_not_created_again() {
    let w = World::new(json!({})).await;
    let id = w.order(RETAILER, "PO-TAKE", json!([line("SKU-0022", 1)]), json!({}));
    // Another connector created the Brightpearl order and acknowledged it on DSCO.
    let bp = w.sims.brightpearl.config().clone();
    let created: Value = w
        .app
        .http
        .post(format!("{}/public-api/sandbox/order-service/sales-order", w.sims.brightpearl_url()))
        .header("brightpearl-app-ref", &bp.app_ref)
        .header("brightpearl-account-token", &bp.account_token)
        .json(&json!({"customer": {"id": 3}, "ref": "PO-TAKE", "rows": [{"productId": 22, "quantity": "1", "taxCode": "T", "net": "5.00", "tax": "0.50"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bp_id = created["response"].as_u64().unwrap();
    let d = w.sims.dsco.config().clone();
    let token: Value = w
        .app
        .http
        .post(format!("{}/oauth2/token", w.sims.dsco_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", d.client_id.as_str()),
            ("client_secret", d.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = w
        .app
        .http
        .post(format!("{}/order/acknowledge", w.sims.dsco_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(
            &json!([{"id": id, "type": "DSCO_ORDER_ID", "supplierOrderNumber": bp_id.to_string()}]),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    w.sims.dsco.process_pending();
    w.run().await;
    assert_eq!(w.bp_orders_for("PO-TAKE").len(), 1, "no second order");
    let view = w.view(&id).await;
    assert_eq!(view["bp_order_id"], bp_id);
    assert_eq!(view["state"], "acknowledged");
}

#[tokio::test]
async fn failed_acknowledgements_are_sent_again_and_cancellations_follow_dsco() {
    let w = World::new(json!({})).await;
    let id = w.order(RETAILER, "PO-ACK", json!([line("SKU-0023", 1)]), json!({}));
    let cancel_me = w.order(
        RETAILER,
        "PO-CANCEL",
        json!([line("SKU-0024", 1)]),
        json!({}),
    );
    // The acknowledgement call fails this time (server error, no body).
    w.sims.dsco.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order/acknowledge".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::ServerError,
        mode: FaultMode::Next(100),
    });
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "imported");
    assert_eq!(w.dsco_order(&id)["dscoLifecycle"], "created");
    // The retailer cancels one of them while it is still `created` on DSCO.
    w.sims.dsco.cancel_order(&cancel_me).unwrap();
    w.sims.dsco.faults().clear();
    w.retry_all().await;
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "acknowledged");
    assert_eq!(w.dsco_order(&id)["dscoLifecycle"], "acknowledged");
    let cancelled = w.view(&cancel_me).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    // The view lists DSCO's cancellation: who, code, lines and quantities.
    let c = &cancelled["cancellations"][0];
    assert_eq!(c["who"], "dsco", "{cancelled}");
    assert_eq!(c["code"], "CXRR");
    assert_eq!(c["lines"][0]["quantity"], 1);
    assert_eq!(c["state"], "synced");
    let bp = &w.bp_orders_for("PO-CANCEL")[0];
    assert_eq!(bp["orderStatus"]["orderStatusId"], 5);
    assert_eq!(w.bp_orders_for("PO-ACK").len(), 1);
}

#[tokio::test]
async fn cancelling_a_shipped_order_needs_attention_with_brightpearls_reason() {
    let w = World::new(json!({})).await;
    let id = w.order(
        RETAILER,
        "PO-SHIPPED",
        json!([line("SKU-0025", 1)]),
        json!({}),
    );
    w.sims.dsco.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order/acknowledge".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::ServerError,
        mode: FaultMode::Next(100),
    });
    w.run().await;
    let bp_id = w.view(&id).await["bp_order_id"].as_u64().unwrap() as u32;
    let note = w.new_note(bp_id, &[]);
    w.ship_note(note, Some("1Z999"), None);
    w.sims.dsco.cancel_order(&id).unwrap();
    w.created();
    w.sims.dsco.faults().clear();
    w.run().await;
    let records = w
        .app
        .json(&format!(
            "/v1/records?flow=orders&kind=cancellation&source_id={id}"
        ))
        .await;
    let record = &records["items"][0];
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("could not be cancelled"),
        "{record}"
    );
    assert_ne!(
        w.bp_orders_for("PO-SHIPPED")[0]["orderStatus"]["orderStatusId"],
        5
    );
}

#[tokio::test]
async fn throttling_and_faults_never_duplicate_and_everything_syncs_eventually() {
    let sims = Sims::start_with(
        dsco_brightpearl::sandbox::brightpearl::BrightpearlSimConfig {
            throttle_cap: 40,
            throttle_window: Duration::from_secs(2),
            ..Default::default()
        },
        Default::default(),
    )
    .await;
    let w = World::with_sims(sims, json!({}), "").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(w.order(
            RETAILER,
            &format!("PO-F{i}"),
            json!([line(&format!("SKU-{:04}", 100 + i), 1)]),
            json!({}),
        ));
    }
    // Real throttling comes from the simulator's 40-per-2-s cap; on top, random faults.
    for (path, kind) in [
        ("/order-service/sales-order", FaultKind::TooManyRequests),
        ("/order-service/sales-order", FaultKind::ServerError),
        ("/order-service/sales-order", FaultKind::MalformedJson),
        ("/order-search", FaultKind::ServerError),
    ] {
        w.sims.brightpearl.faults().add(FaultRule {
            method: None,
            path_contains: path.into(),
            query_contains: None,
            body_contains: None,
            kind,
            mode: FaultMode::Probability(0.15),
        });
    }
    w.sims.dsco.faults().add(FaultRule {
        method: None,
        path_contains: "/order/".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::TooManyRequests,
        mode: FaultMode::Probability(0.1),
    });
    w.window_catches_up().await;
    for _ in 0..30 {
        let run_id = w.start_run().await;
        w.app.wait_run(run_id).await;
        let listed = w.app.json("/v1/orders?state=acknowledged").await;
        if listed["items"].as_array().unwrap().len() == ids.len() {
            break;
        }
        // Unanswered creates are settled after the grace period; retries are made due now.
        w.advance(Duration::from_millis(1200));
        w.retry_all().await;
    }
    w.sims.brightpearl.faults().clear();
    w.sims.dsco.faults().clear();
    for i in 0..12 {
        assert_eq!(
            w.bp_orders_for(&format!("PO-F{i}")).len(),
            1,
            "PO-F{i} exactly once"
        );
    }
    let listed = w.app.json("/v1/orders?state=acknowledged").await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        ids.len(),
        "{listed}"
    );
}

#[tokio::test]
async fn a_create_that_times_out_after_brightpearl_made_the_order_yields_exactly_one() {
    let w = World::new(json!({})).await;
    let id = w.order(RETAILER, "PO-SLOW", json!([line("SKU-0026", 1)]), json!({}));
    // The create takes effect upstream but answers after the client's 2 s timeout.
    w.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order-service/sales-order".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Slow { ms: 4000 },
        mode: FaultMode::Next(1),
    });
    w.run().await;
    assert_eq!(w.sims.brightpearl.order_count(), 1);
    let view = w.view(&id).await;
    assert_eq!(view["state"], "failed", "{view}");
    // The window's overlap brings the order back, but its backoff holds: nothing is attempted.
    let record = w.record(&id).await;
    w.run().await;
    let again = w.record(&id).await;
    assert_eq!(again["attempts"], record["attempts"], "{again}");
    assert_eq!(again["updated_at"], record["updated_at"], "{again}");
    // Right away, within the grace period, nothing is sent.
    w.retry_all().await;
    w.run().await;
    assert_eq!(w.sims.brightpearl.order_count(), 1);
    // After the grace period (request timeout + 1 s), the search finds the order and links it.
    w.advance(Duration::from_secs(4));
    w.retry_all().await;
    w.run().await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "acknowledged", "{view}");
    assert_eq!(w.sims.brightpearl.order_count(), 1, "exactly one order");
    assert!(
        view["timeline"]
            .to_string()
            .contains("found_after_unanswered_create")
    );
}

#[tokio::test]
async fn a_contact_create_that_times_out_yields_exactly_one_contact() {
    let w = World::new(json!({})).await;
    let id = w.order(
        OTHER_RETAILER,
        "PO-SLOWC",
        json!([line("SKU-0027", 1)]),
        json!({}),
    );
    let before = w.sims.brightpearl.contact_count();
    w.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/contact-service/contact".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Reset,
        mode: FaultMode::Next(1),
    });
    w.run().await;
    assert_eq!(w.sims.brightpearl.contact_count(), before + 1);
    assert_eq!(w.sims.brightpearl.order_count(), 0);
    w.advance(Duration::from_secs(4));
    w.retry_all().await;
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "acknowledged");
    assert_eq!(
        w.sims.brightpearl.contact_count(),
        before + 1,
        "exactly one contact"
    );
    assert_eq!(w.sims.brightpearl.order_count(), 1);
}

#[tokio::test]
async fn an_expired_scroll_restarts_the_window_and_window_edges_are_not_lost() {
    let w = World::new(json!({})).await;
    let mut ids = Vec::new();
    for i in 0..15 {
        ids.push(w.order(
            RETAILER,
            &format!("PO-W{i}"),
            json!([line(&format!("SKU-{:04}", 141 + i), 1)]),
            json!({}),
        ));
    }
    // The first follow-up page answers 404, as an expired scroll does.
    w.sims.dsco.faults().add(FaultRule {
        method: Some("GET".into()),
        path_contains: "/order/page".into(),
        query_contains: Some("scrollId".into()),
        body_contains: None,
        kind: FaultKind::Status { code: 404 },
        mode: FaultMode::Next(1),
    });
    let run = w.run().await;
    let attention = w.app.json("/v1/records?status=needs_attention").await;
    assert_eq!(run["counts"]["synced"], 15, "{run} {attention}");
    // An order created right after the window closed is picked up by the next, overlapping one;
    // the ones already imported are not imported again.
    let late = w.order(RETAILER, "PO-LATE", json!([line("SKU-0139", 1)]), json!({}));
    w.run().await;
    assert_eq!(w.view(&late).await["state"], "acknowledged");
    assert_eq!(w.sims.brightpearl.order_count(), 16);
}

/// SIGKILL the real daemon after Brightpearl created the order but before the daemon heard back
/// (so before it could commit the link); after a restart there is still exactly one order.
#[tokio::test]
async fn sigkill_between_create_and_commit_yields_exactly_one_order() {
    let mut real = crate::support::real::Real::start("", &[]).await;
    real.settings(json!({"orders": {"import_from": "2020-01-01T00:00:00Z", "tax_code": "T", "shipping_method_id": 1}}))
        .await;
    let id = real.order("PO-KILL", "SKU-0033");
    tokio::time::sleep(WINDOW_LAG).await;
    real.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order-service/sales-order".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Slow { ms: 60_000 },
        mode: FaultMode::Next(1),
    });
    real.api.start_run("orders").await;
    wait_for(Duration::from_secs(30), || async {
        (real.sims.brightpearl.order_count() == 1).then_some(())
    })
    .await;
    real.daemon.signal("KILL");
    real.daemon.wait_exit().await;
    real.sims.brightpearl.faults().clear();

    real.restart(&[]).await;
    let view = wait_for(Duration::from_secs(60), || async {
        real.api.run("orders").await;
        let view = real.api.get(&format!("/v1/orders/{id}")).await;
        if view["state"] == "acknowledged" {
            return Some(view);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let retry = real.api.http.post(format!(
            "{}/v1/records/retry?flow=orders&status=failed",
            real.api.base
        ));
        let _ = real.api.send(retry).await;
        None
    })
    .await;
    assert_eq!(
        real.sims.brightpearl.order_count(),
        1,
        "exactly one order after the crash"
    );
    assert!(
        view["timeline"]
            .to_string()
            .contains("found_after_unanswered_create"),
        "{view}"
    );
}

#[tokio::test]
async fn brightpearl_validation_errors_are_recorded_with_code_and_message_and_test_orders_wait() {
    let w = World::new(json!({"customers": {"auto_create": false}})).await;
    // A customer mapping to a contact Brightpearl does not have: Brightpearl refuses the order.
    w.upload(
        "customers",
        &format!("dsco_retailer_id,brightpearl_contact_id\n{RETAILER},99999\n"),
    )
    .await;
    let refused = w.order(
        RETAILER,
        "PO-REFUSED",
        json!([line("SKU-0034", 1)]),
        json!({}),
    );
    let test_order = w.order(
        OTHER_RETAILER,
        "PO-TEST",
        json!([line("SKU-0035", 1)]),
        json!({"testFlag": true}),
    );
    w.run().await;
    let record = w.record(&refused).await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert_eq!(record["error_code"], "ORDC-008", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("Contact 99999 does not exist"),
        "{record}"
    );
    assert!(
        record["last_request"]
            .as_str()
            .unwrap()
            .contains("PO-REFUSED")
    );
    // Test orders are not fetched while orders.include_test_orders is off.
    assert_eq!(
        w.app
            .get(&format!("/v1/orders/{test_order}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    w.upload(
        "customers",
        &format!("dsco_retailer_id,brightpearl_contact_id\n{OTHER_RETAILER},4\n"),
    )
    .await;
    w.patch_settings(json!({"orders": {"include_test_orders": true}}))
        .await;
    w.run().await;
    assert_eq!(w.view(&test_order).await["state"], "acknowledged");
}

/// The retailer cancels while the import is in flight: DSCO's change log refuses the
/// acknowledgement, which is recorded with DSCO's code and description; the next run cancels
/// the Brightpearl order.
#[tokio::test]
async fn a_refused_acknowledgement_is_recorded_with_dscos_code() {
    let w = World::new(json!({})).await;
    let id = w.order(RETAILER, "PO-RACE", json!([line("SKU-0037", 1)]), json!({}));
    w.window_catches_up().await;
    // The create takes effect at once but its answer is held 1.5 s (within the 2 s timeout).
    w.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order-service/sales-order".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Slow { ms: 1500 },
        mode: FaultMode::Next(1),
    });
    let run_id = w.start_run().await;
    wait_for(Duration::from_secs(30), || async {
        (w.sims.brightpearl.order_count() == 1).then_some(())
    })
    .await;
    w.sims.dsco.cancel_order(&id).unwrap();
    w.created();
    w.app.wait_run(run_id).await;
    let record = w.record(&id).await;
    assert_eq!(record["status"], "needs_attention", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .starts_with("DSCO refused the acknowledgement"),
        "{record}"
    );
    assert!(record["error_code"].is_string(), "{record}");
    // The next run sees the cancellation and moves the Brightpearl order to the cancelled status.
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "cancelled");
    assert_eq!(
        w.bp_orders_for("PO-RACE")[0]["orderStatus"]["orderStatusId"],
        5
    );
}

/// A create whose answer was lost, then the retailer cancels: the order Brightpearl did make is
/// found, linked and cancelled, not left behind.
#[tokio::test]
async fn an_unanswered_create_then_a_dsco_cancellation_cancels_the_order_made() {
    let w = World::new(json!({})).await;
    let id = w.order(
        RETAILER,
        "PO-LOSTCANCEL",
        json!([line("SKU-0038", 1)]),
        json!({}),
    );
    w.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/order-service/sales-order".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Slow { ms: 4000 },
        mode: FaultMode::Next(1),
    });
    w.run().await;
    assert_eq!(w.sims.brightpearl.order_count(), 1);
    assert_eq!(w.view(&id).await["state"], "failed");
    w.sims.dsco.cancel_order(&id).unwrap();
    w.created();
    w.advance(Duration::from_secs(4));
    w.retry_all().await;
    w.run().await;
    let view = w.view(&id).await;
    assert_eq!(view["state"], "cancelled", "{view}");
    assert_eq!(w.sims.brightpearl.order_count(), 1, "exactly one order");
    assert_eq!(
        w.bp_orders_for("PO-LOSTCANCEL")[0]["orderStatus"]["orderStatusId"],
        5
    );
}

/// The orders flow (auto-create) and `create-in-brightpearl` at once for one new retailer take
/// turns at its contact: one contact, mapped, and the order imported in that run.
#[tokio::test]
async fn the_flow_and_the_api_creating_one_retailers_contact_at_once_make_one() {
    let w = World::new(json!({})).await;
    let id = w.order(
        OTHER_RETAILER,
        "PO-TURNS",
        json!([line("SKU-0039", 1)]),
        json!({}),
    );
    // The first contact create answers slowly, so whoever is second arrives while it runs.
    w.sims.brightpearl.faults().add(FaultRule {
        method: Some("POST".into()),
        path_contains: "/contact-service/contact".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Slow { ms: 1000 },
        mode: FaultMode::Next(1),
    });
    w.window_catches_up().await;
    let api = async {
        let r = w
            .app
            .post(&format!(
                "/v1/mappings/customers/{OTHER_RETAILER}/create-in-brightpearl"
            ))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    };
    let flow = async {
        let r = w.app.post("/v1/sync/orders/run").send().await.unwrap();
        assert_eq!(r.status(), 202);
        let run_id = r.json::<Value>().await.unwrap()["run_id"].as_u64().unwrap();
        w.app.wait_run(run_id).await
    };
    let ((status, body), run) = tokio::join!(api, flow);
    // 201 when the API made (or found) the contact, 409 when the flow had mapped it first.
    assert!(status == 201 || status == 409, "{status} {body}");
    assert_eq!(run["status"], "succeeded", "{run}");
    let contacts: Vec<Value> = w
        .sims
        .brightpearl
        .contacts()
        .into_iter()
        .filter(|c| c["lastName"] == format!("DSCO retailer {OTHER_RETAILER}"))
        .collect();
    assert_eq!(contacts.len(), 1, "exactly one contact: {contacts:?}");
    let mapping = w
        .app
        .json(&format!("/v1/mappings/customers/{OTHER_RETAILER}"))
        .await;
    assert_eq!(
        mapping["brightpearl_contact_id"],
        contacts[0]["contactId"]
            .as_u64()
            .or_else(|| contacts[0]["id"].as_u64())
            .unwrap()
    );
    assert_eq!(w.view(&id).await["state"], "acknowledged");
}

/// DSCO slow to process acknowledgements does not hold the orders run: it waits a bounded time,
/// leaves the acknowledgement pending with DSCO's request id, and the next run reads the outcome
/// from the change log instead of sending it again.
#[tokio::test]
async fn a_slow_acknowledgement_is_settled_by_the_next_run_without_a_second_submit() {
    let w = World::new(json!({})).await;
    let id = w.order(
        RETAILER,
        "PO-SLOW-ACK",
        json!([line("SKU-0031", 1)]),
        json!({}),
    );
    w.sims.dsco.hold_batches(true);
    w.run().await;
    let record = w.record(&id).await;
    assert_eq!(record["status"], "pending", "{record}");
    let reason = record["reason"].as_str().unwrap_or_default();
    // Sent in a request DSCO has not processed (a follow-up run may already have looked).
    assert!(
        reason.contains("acknowledgement sent in request")
            || reason.contains("DSCO is still processing request")
            || reason.contains("DSCO logged the object but has not finished it"),
        "{record}"
    );
    assert_eq!(w.view(&id).await["state"], "imported");
    w.sims.dsco.hold_batches(false);
    w.advance(Duration::from_secs(6));
    w.run().await;
    assert_eq!(w.view(&id).await["state"], "acknowledged");
    assert_eq!(w.dsco_order(&id)["dscoLifecycle"], "acknowledged");
    let state = w.sims.dsco.dump_state();
    let acks = state["changeLog"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["requestMethodDetail"] == "acknowledgeOrders" && e["payload"]["id"] == id)
        .count();
    assert_eq!(acks, 1, "one acknowledgement submitted");
}
