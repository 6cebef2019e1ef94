use super::*;
use chrono::TimeZone;
use serde_json::json;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

/// A DSCO order with lines `(lineNumber, sku, quantity)`, acknowledged.
fn order(lines: &[(u32, &str, i64)]) -> dsco::Order {
    let items: Vec<_> = lines
        .iter()
        .map(|(n, sku, q)| json!({"lineNumber": n, "sku": sku, "quantity": q}))
        .collect();
    serde_json::from_value(json!({
        "dscoOrderId": "D1", "poNumber": "PO1", "dscoLifecycle": "acknowledged",
        "dscoStatus": "shipment_pending", "shipping": {}, "lineItems": items,
    }))
    .unwrap()
}

fn with_package(mut o: dsco::Order, tracking: &str, items: &[(u32, i64)]) -> dsco::Order {
    let items: Vec<_> = items
        .iter()
        .map(|(n, q)| json!({"lineNumber": n, "quantity": q}))
        .collect();
    o.packages
        .push(serde_json::from_value(json!({"trackingNumber": tracking, "items": items})).unwrap());
    o
}

fn note(rows: &[(u64, u64, i64)]) -> NoteFacts {
    NoteFacts {
        note_id: Some(77),
        rows: rows
            .iter()
            .map(|(row, product, q)| NoteRow {
                order_row_id: *row,
                product_id: *product,
                quantity: *q,
            })
            .collect(),
        tracking: Some("1Z999".into()),
        shipped_on: Some(now() - chrono::Duration::hours(1)),
        shipping_method_id: Some(5),
        warehouse_id: Some(2),
    }
}

fn facts() -> OrderFacts {
    OrderFacts {
        bp_order_id: 900,
        row_external_refs: [
            (11, "dsco:line:1".to_owned()),
            (12, "dsco:line:2".to_owned()),
        ]
        .into(),
        row_map: BTreeMap::new(),
        line_products: [(1, 101), (2, 102)].into(),
        acknowledged: true,
        in_flight: BTreeMap::new(),
    }
}

fn rules() -> Rules {
    Rules {
        allow_untracked: false,
        order_only_service_levels: vec!["GCG".into(), "GCP".into(), "GCE".into()],
        shipping: [(
            5,
            ("UPCG".to_owned(), "UPS".to_owned(), "Ground".to_owned()),
        )]
        .into(),
        warehouses: [(2, "MAIN".to_owned())].into(),
    }
}

#[test]
fn a_note_becomes_one_package_with_exactly_its_rows() {
    let o = order(&[(1, "A", 2), (2, "B", 3)]);
    let built = build(
        &note(&[(11, 101, 2), (12, 102, 1)]),
        &o,
        &facts(),
        &rules(),
        now(),
    )
    .unwrap();
    assert_eq!(built.dsco_order_id, "D1");
    let wire = serde_json::to_value(&built.shipment).unwrap();
    assert_eq!(
        wire,
        json!({
            "trackingNumber": "1Z999",
            "lineItems": [{"quantity": 2, "lineNumber": 1, "sku": "A"},
                          {"quantity": 1, "lineNumber": 2, "sku": "B"}],
            "shipDate": "2026-05-01T11:00:00Z",
            "shipCarrier": "UPS", "shipMethod": "Ground", "shippingServiceLevelCode": "UPCG",
            "warehouseCode": "MAIN",
        })
    );
}

#[test]
fn rows_map_by_external_ref_then_the_link_row_map_then_the_product_in_line_order() {
    let o = order(&[(1, "A", 1), (2, "A", 2), (3, "C", 1)]);
    let mut f = facts();
    f.row_external_refs = [(11, "dsco:line:3".to_owned())].into();
    f.row_map = [(12, 1)].into();
    f.line_products = [(1, 101), (2, 101), (3, 103)].into();
    // Row 13 has neither: product 101 goes to the lines with units left, in line order.
    let built = build(
        &note(&[(11, 103, 1), (12, 101, 1), (13, 101, 2)]),
        &o,
        &f,
        &rules(),
        now(),
    )
    .unwrap();
    let lines: Vec<(u32, i64)> = built
        .lines
        .iter()
        .map(|l| (l.line_number, l.quantity))
        .collect();
    assert_eq!(lines, vec![(1, 1), (2, 2), (3, 1)]);
}

#[test]
fn unshipped_subtracts_cancelled_packages_and_our_confirmed_packages_not_yet_visible() {
    let mut o = with_package(order(&[(1, "A", 5), (2, "B", 2)]), "T0", &[(1, 1)]);
    o.line_items[0].cancelled_quantity = Some(1);
    let in_flight = [(1, 2)].into();
    assert_eq!(unshipped(&o, &in_flight), [(1, 1), (2, 2)].into());
    // The stream-only shippedQuantity wins over packages when present.
    o.line_items[1].shipped_quantity = Some(2);
    assert_eq!(unshipped(&o, &BTreeMap::new())[&2], 0);
}

#[test]
fn every_pre_flight_failure_names_its_reason_and_sends_nothing() {
    let o = order(&[(1, "A", 2), (2, "B", 3)]);
    let n = note(&[(11, 101, 2)]);
    let attention = |r: Result<Built, Hold>| match r {
        Err(Hold::NeedsAttention(reason)) => reason,
        other => panic!("expected needs_attention, got {other:?}"),
    };
    // A row with no DSCO line.
    let reason = attention(build(&note(&[(19, 555, 1)]), &o, &facts(), &rules(), now()));
    assert!(
        reason.contains("row 19 (product 555)") && reason.contains("matches no line"),
        "{reason}"
    );
    // More than is unshipped.
    let shipped = with_package(o.clone(), "T0", &[(1, 1)]);
    let reason = attention(build(&n, &shipped, &facts(), &rules(), now()));
    assert!(
        reason.contains("ships 2 of DSCO line 1 but only 1 are unshipped"),
        "{reason}"
    );
    // Cancelled on DSCO.
    let mut cancelled = o.clone();
    cancelled.dsco_lifecycle = Some("cancelled".into());
    let reason = attention(build(&n, &cancelled, &facts(), &rules(), now()));
    assert!(reason.contains("cancelled on DSCO"), "{reason}");
    // No shipping-method mapping.
    let mut r = rules();
    r.shipping.clear();
    let reason = attention(build(&n, &o, &facts(), &r, now()));
    assert!(
        reason.contains("no shipping-method mapping") && reason.contains("method 5"),
        "{reason}"
    );
    // No warehouse mapping.
    let mut r = rules();
    r.warehouses.clear();
    let reason = attention(build(&n, &o, &facts(), &r, now()));
    assert!(
        reason.contains("no warehouse mapping for Brightpearl warehouse 2"),
        "{reason}"
    );
    // An order-only service level.
    let mut r = rules();
    r.shipping
        .insert(5, ("GCG".into(), String::new(), String::new()));
    let reason = attention(build(&n, &o, &facts(), &r, now()));
    assert!(
        reason.contains("GCG") && reason.contains("order_only_service_levels"),
        "{reason}"
    );
}

#[test]
fn an_unacknowledged_order_and_a_note_without_tracking_wait_as_pending() {
    let mut o = order(&[(1, "A", 2)]);
    o.dsco_lifecycle = Some("created".into());
    let mut f = facts();
    f.acknowledged = false;
    assert_eq!(
        build(&note(&[(11, 101, 1)]), &o, &f, &rules(), now()),
        Err(Hold::Pending(
            "waiting for DSCO to confirm the acknowledgement".into()
        ))
    );
    // Once our acknowledgement is confirmed, DSCO's lagging lifecycle does not hold it.
    f.acknowledged = true;
    assert!(build(&note(&[(11, 101, 1)]), &o, &f, &rules(), now()).is_ok());
    let mut n = note(&[(11, 101, 1)]);
    n.tracking = Some("  ".into());
    assert_eq!(
        build(&n, &o, &facts(), &rules(), now()),
        Err(Hold::Pending(
            "no tracking number yet on goods-out note 77".into()
        ))
    );
}

#[test]
fn untracked_packages_go_only_when_allowed_and_carry_untracked_true() {
    let o = order(&[(1, "A", 2)]);
    let mut n = note(&[(11, 101, 1)]);
    n.tracking = None;
    n.shipped_on = None;
    let mut r = rules();
    r.allow_untracked = true;
    let built = build(&n, &o, &facts(), &r, now()).unwrap();
    let wire = serde_json::to_value(&built.shipment).unwrap();
    assert_eq!(wire["untracked"], json!(true));
    assert!(wire.get("trackingNumber").is_none(), "{wire}");
    assert_eq!(
        wire["shipDate"],
        json!("2026-05-01T12:00:00Z"),
        "no shipped date: now"
    );
}

#[test]
fn the_whole_order_ships_what_is_not_yet_shipped_when_there_is_no_note() {
    let o = with_package(order(&[(1, "A", 2), (2, "B", 1)]), "T0", &[(1, 1)]);
    let whole = NoteFacts {
        note_id: None,
        rows: Vec::new(),
        tracking: None,
        shipped_on: None,
        shipping_method_id: Some(5),
        warehouse_id: Some(2),
    };
    assert_eq!(
        build(&whole, &o, &facts(), &rules(), now()),
        Err(Hold::Pending(
            "order 900 reached the ship status but has no goods-out note with a tracking number"
                .into()
        ))
    );
    let mut r = rules();
    r.allow_untracked = true;
    let built = build(&whole, &o, &facts(), &r, now()).unwrap();
    let lines: Vec<(u32, i64)> = built
        .lines
        .iter()
        .map(|l| (l.line_number, l.quantity))
        .collect();
    assert_eq!(lines, vec![(1, 1), (2, 1)]);
}

#[test]
fn fully_shipped_counts_cancelled_units_and_needs_one_shipped() {
    let mut o = order(&[(1, "A", 2), (2, "B", 1)]);
    o.line_items[1].cancelled_quantity = Some(1);
    assert!(!fully_shipped(&o, &BTreeMap::new()));
    assert!(!fully_shipped(&o, &[(1, 1)].into()));
    assert!(fully_shipped(&o, &[(1, 2)].into()));
    let mut all_cancelled = order(&[(1, "A", 1)]);
    all_cancelled.line_items[0].cancelled_quantity = Some(1);
    assert!(!fully_shipped(&all_cancelled, &BTreeMap::new()));
}

fn built(order: &str, tracking: Option<&str>) -> Built {
    Built {
        source_id: "1".into(),
        dsco_order_id: order.into(),
        shipment: ShipmentForUpdate {
            tracking_number: tracking.map(str::to_owned),
            untracked: tracking.is_none().then_some(true),
            line_items: vec![ShipmentLineItem {
                quantity: 1,
                line_number: Some(1),
                ..Default::default()
            }],
            ..Default::default()
        },
        lines: Vec::new(),
    }
}

#[test]
fn batches_hold_one_entry_per_order_and_never_two_untracked_packages_of_one_order() {
    let packages = vec![
        built("D1", Some("T1")),
        built("D1", Some("T2")),
        built("D1", None),
        built("D1", None),
        built("D2", None),
    ];
    let out = batches(packages, 5 * 1024 * 1024);
    assert_eq!(out.len(), 2, "{out:?}");
    for batch in &out {
        let mut orders: Vec<&str> = batch.iter().map(|(o, _)| o.as_str()).collect();
        orders.dedup();
        assert_eq!(orders.len(), batch.len(), "one entry per order");
        for (_, packages) in batch {
            assert!(packages.iter().filter(|p| p.tracking().is_none()).count() <= 1);
        }
    }
    assert_eq!(out[0].iter().map(|(_, p)| p.len()).sum::<usize>(), 4);
    // A small byte limit splits a round into several batches, never an entry.
    let many: Vec<Built> = (0..10)
        .map(|i| built(&format!("D{i}"), Some("T")))
        .collect();
    let one = entry_bytes("D0", &[built("D0", Some("T"))]);
    let out = batches(many, one * 3 + 4);
    assert!(out.len() >= 4, "{}", out.len());
    assert!(out.iter().all(|b| !b.is_empty()));
}

#[test]
fn a_line_without_a_sku_is_named_by_its_next_identifier() {
    let mut o = order(&[(1, "A", 2), (2, "B", 3)]);
    o.line_items[0].sku = None;
    o.line_items[0].dsco_item_id = Some(dsco::ItemId("1001".into()));
    o.line_items[1].sku = Some("  ".into());
    o.line_items[1].upc = Some("012345678905".into());
    let built = build(
        &note(&[(11, 101, 2), (12, 102, 1)]),
        &o,
        &facts(),
        &rules(),
        now(),
    )
    .unwrap();
    let wire = serde_json::to_value(&built.shipment.line_items).unwrap();
    assert_eq!(
        wire,
        json!([{"quantity": 2, "lineNumber": 1, "dscoItemId": "1001"},
               {"quantity": 1, "lineNumber": 2, "upc": "012345678905"}])
    );
    // A line with no identifier at all cannot be named: a person looks.
    o.line_items[1].upc = None;
    let held = build(&note(&[(12, 102, 1)]), &o, &facts(), &rules(), now()).unwrap_err();
    assert_eq!(
        held,
        Hold::NeedsAttention(
            "DSCO line 2 of order D1 has no sku, dscoItemId, partnerSku, upc or ean to name it by"
                .into()
        )
    );
}

#[test]
fn a_package_counts_as_found_on_dsco_only_with_its_tracking_and_exactly_its_lines() {
    let n = note(&[(11, 101, 2)]);
    let o = order(&[(1, "A", 2), (2, "B", 3)]);
    assert!(!found_on_dsco(&n, &o, &[], &facts(), &rules(), now()));
    // Same tracking and lines: found, also when DSCO's stream-only shippedQuantity counts it.
    let mut shown = with_package(o.clone(), "1Z999", &[(1, 2)]);
    assert!(found_on_dsco(&n, &shown, &[], &facts(), &rules(), now()));
    shown.line_items[0].shipped_quantity = Some(2);
    assert!(found_on_dsco(&n, &shown, &[], &facts(), &rules(), now()));
    // Same tracking, other lines or quantities: another shipment, not this note's.
    let other = with_package(o.clone(), "1Z999", &[(2, 1)]);
    assert!(!found_on_dsco(&n, &other, &[], &facts(), &rules(), now()));
    let fewer = with_package(o.clone(), "1Z999", &[(1, 1)]);
    assert!(!found_on_dsco(&n, &fewer, &[], &facts(), &rules(), now()));
    // Untracked notes are never matched by tracking.
    let mut untracked = n.clone();
    untracked.tracking = None;
    assert!(!found_on_dsco(
        &untracked,
        &shown,
        &[],
        &facts(),
        &rules(),
        now()
    ));
}

#[test]
fn our_other_package_under_the_same_tracking_is_not_this_notes() {
    // Two notes of one unit each of a two-unit line, shipped under one tracking number: the
    // first is ours and confirmed; the second is not on DSCO yet.
    let n = note(&[(11, 101, 1)]);
    let shown = with_package(order(&[(1, "A", 2)]), "1Z999", &[(1, 1)]);
    assert!(!found_on_dsco(
        &n,
        &shown,
        &[vec![(1, 1)]],
        &facts(),
        &rules(),
        now()
    ));
    // Both on DSCO: the second package is this note's.
    let both = with_package(shown, "1Z999", &[(1, 1)]);
    assert!(found_on_dsco(
        &n,
        &both,
        &[vec![(1, 1)]],
        &facts(),
        &rules(),
        now()
    ));
}
