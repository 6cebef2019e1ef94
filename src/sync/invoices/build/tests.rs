use super::*;

fn a(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

fn ship(tracking: &str) -> Ship {
    Ship {
        date: "2026-11-20T10:00:00-05:00".into(),
        tracking: Some(tracking.into()),
        carrier: Some("UPS".into()),
        method: Some("Ground".into()),
        service_level: Some("GND".into()),
    }
}

/// Two lines: 3 × 10.00 (tax 6.00) and 2 × 7.335 (net 14.67, tax 2.93); freight 5.00 (tax 1.00).
fn order() -> Order {
    Order {
        dsco_order_id: "1001".into(),
        po_number: Some("PO-1".into()),
        reference: "INV-77".into(),
        tax_date: "2026-11-21T09:30:00+01:00".into(),
        currency: Some("USD".into()),
        lines: vec![
            Line {
                line_number: 1,
                sku: Some("SKU-1".into()),
                dsco_item_id: Some("D1".into()),
                shipped: 3,
                cancelled: 0,
                row: Some(Row {
                    id: 11,
                    net: Some(a("30.00")),
                    quantity: 3,
                    tax: a("6.00"),
                }),
                shipment: Some(ship("T1")),
            },
            Line {
                line_number: 2,
                sku: None,
                dsco_item_id: Some("D2".into()),
                shipped: 2,
                cancelled: 0,
                row: Some(Row {
                    id: 12,
                    net: Some(a("14.67")),
                    quantity: 2,
                    tax: a("2.93"),
                }),
                shipment: Some(ship("T2")),
            },
        ],
        unlinked_rows: vec![],
        freight: a("5.00"),
        freight_tax: a("1.00"),
        tax: a("9.93"),
        total: a("59.60"),
        latest_ship: Some(ship("T2")),
    }
}

#[test]
fn unit_prices_round_half_to_even() {
    assert_eq!(unit_price(a("14.67"), 2), Some(a("7.34"))); // 7.335 → 7.34 (4 is even)
    assert_eq!(unit_price(a("14.65"), 2), Some(a("7.32"))); // 7.325 → 7.32
    assert_eq!(unit_price(a("10.00"), 3), Some(a("3.33")));
    assert_eq!(unit_price(a("1.00"), 0), None);
}

#[test]
fn a_per_order_invoice_adds_up_and_names_each_lines_shipment() {
    let invoice = per_order(&order()).unwrap();
    assert_eq!(invoice.invoice_id, "INV-77");
    assert_eq!(
        invoice.invoice_date.as_deref(),
        Some("2026-11-21T09:30:00+01:00")
    );
    assert_eq!(invoice.dsco_order_id, Some(OrderId("1001".into())));
    let lines = &invoice.line_items;
    assert_eq!((lines[0].quantity, lines[0].unit_price), (3, 10.0));
    assert_eq!(lines[0].extended_amount, Some(30.0));
    assert_eq!(lines[1].unit_price, 7.34);
    assert_eq!(lines[1].extended_amount, Some(14.68));
    // No SKU on the DSCO line: its dscoItemId.
    assert_eq!(lines[1].sku.as_deref(), Some("D2"));
    assert_eq!(lines[1].tracking_number.as_deref(), Some("T2"));
    assert_eq!(lines[0].ship_carrier.as_deref(), Some("UPS"));
    assert_eq!(invoice.line_items_subtotal, Some(44.68));
    assert_eq!(invoice.freight_amount, Some(5.0));
    assert_eq!(invoice.sales_tax_amount, Some(9.93));
    // 44.68 + 5 + 9.93 = 59.61, a cent off Brightpearl's 59.60: within 0.005 × 5 + 0.01.
    assert!((invoice.total_amount - 59.61).abs() < 1e-9);
    assert_eq!(
        invoice
            .ship
            .as_ref()
            .and_then(|s| s.tracking_number.as_deref()),
        Some("T2")
    );
}

#[test]
fn cancelled_units_are_not_invoiced_and_their_tax_is_not_charged() {
    let mut o = order();
    o.lines[0].shipped = 1;
    o.lines[0].cancelled = 2;
    let invoice = per_order(&o).unwrap();
    assert_eq!(invoice.line_items[0].quantity, 1);
    // Tax: 6.00 × 1/3 = 2.00, plus line 2's 2.93 and the freight's 1.00.
    assert_eq!(invoice.sales_tax_amount, Some(5.93));
    assert!((invoice.total_amount - (10.0 + 14.68 + 5.0 + 5.93)).abs() < 1e-9);
}

#[test]
fn pre_flight_names_every_problem_and_sends_nothing() {
    let mut o = order();
    o.lines[1].row.as_mut().unwrap().net = None;
    o.unlinked_rows = vec![13];
    let problems = per_order(&o).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p == "Brightpearl row 13 has no DSCO line"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p == "DSCO line 2 (Brightpearl row 12) has no price"),
        "{problems:?}"
    );
    // A total Brightpearl does not agree with, both amounts named.
    let mut o = order();
    o.total = a("70.00");
    let problems = per_order(&o).unwrap_err();
    assert_eq!(
        problems,
        vec![
            "the invoice total 59.61 differs from the expected 70.00 by more than the rounding allowed"
        ]
    );
    // Nothing shipped yet.
    let mut o = order();
    for l in &mut o.lines {
        l.shipped = 0;
    }
    assert!(per_order(&o).unwrap_err()[0].contains("no units shipped"));
}

#[test]
fn per_shipment_invoices_carry_their_own_quantities_and_freight_on_the_first() {
    let o = order();
    let first = Package {
        n: 1,
        ship: ship("T1"),
        units: [(1, 2)].into(),
    };
    let invoice = per_shipment(&o, &first, true).unwrap();
    assert_eq!(invoice.invoice_id, "INV-77-1");
    assert_eq!(invoice.line_items[0].quantity, 2);
    assert_eq!(invoice.freight_amount, Some(5.0));
    // Tax: 6.00 × 2/3 = 4.00, plus the freight's 1.00.
    assert_eq!(invoice.sales_tax_amount, Some(5.0));
    assert!((invoice.total_amount - (20.0 + 5.0 + 5.0)).abs() < 1e-9);
    let second = Package {
        n: 2,
        ship: ship("T2"),
        units: [(1, 1), (2, 2)].into(),
    };
    let invoice = per_shipment(&o, &second, false).unwrap();
    assert_eq!(invoice.invoice_id, "INV-77-2");
    assert_eq!(invoice.freight_amount, Some(0.0));
    assert_eq!(invoice.sales_tax_amount, Some(2.0 + 2.93));
    // More than DSCO shipped.
    let over = Package {
        n: 3,
        ship: ship("T3"),
        units: [(2, 3)].into(),
    };
    assert_eq!(
        per_shipment(&o, &over, false).unwrap_err(),
        vec!["line 2: 3 units invoiced but DSCO shows 2 shipped"]
    );
}
