//! What the invoice builder needs, read off the two orders (pure): the Brightpearl order (its
//! invoice, rows, totals), the DSCO order as `GET /order/` shows it (lines, cancelled units,
//! packages) and the link's row map (Brightpearl row id → DSCO line number).

use std::collections::BTreeMap;

use super::build::{Line, Order, Package, Row, Ship};
use crate::brightpearl::model::Order as BpOrder;
use crate::dsco;
use crate::sync::money::Amount;
use crate::sync::order_view::ShipmentView;

/// The external reference of the freight row the orders flow writes.
pub const FREIGHT_REF: &str = "dsco:shipping";

fn amount(value: Option<&str>) -> Amount {
    value.and_then(Amount::parse).unwrap_or_default()
}

fn ship_of(package: &dsco::Package) -> Ship {
    Ship {
        date: package.ship_date.clone().unwrap_or_default(),
        tracking: package.tracking_number.clone(),
        carrier: package.ship_carrier.clone(),
        method: package.ship_method.clone(),
        service_level: package.shipping_service_level_code.clone(),
    }
}

/// Whether DSCO shows every unit of every line shipped or cancelled.
pub fn fully_shipped_or_cancelled(order: &dsco::Order) -> bool {
    let mut shipped: BTreeMap<u32, i64> = BTreeMap::new();
    for package in &order.packages {
        for (line, quantity) in package.line_quantities() {
            *shipped.entry(line).or_default() += quantity;
        }
    }
    !order.line_items.is_empty()
        && order.line_items.iter().all(|l| {
            let n = l.line_number.unwrap_or(0);
            let done = l
                .shipped_quantity
                .unwrap_or_else(|| shipped.get(&n).copied().unwrap_or(0))
                + l.cancelled_quantity.unwrap_or(0);
            done >= l.quantity
        })
}

/// One confirmed package as the per-shipment policy invoices it: its units per DSCO line and
/// its shipment as DSCO shows it (the package with its tracking number), else as we sent it.
pub fn package_of(shipment: &ShipmentView, n: u32, order: &dsco::Order) -> Package {
    let shown = order.packages.iter().find(|p| {
        shipment.tracking.is_some() && p.tracking_number.as_deref() == shipment.tracking.as_deref()
    });
    let ship = match shown {
        Some(p) => ship_of(p),
        None => Ship {
            date: shipment
                .shipped_at
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            tracking: shipment.tracking.clone(),
            carrier: shipment.carrier.clone(),
            method: shipment.method.clone(),
            service_level: shipment.service_level_code.clone(),
        },
    };
    let mut units = BTreeMap::new();
    for l in &shipment.lines {
        *units.entry(l.line_number).or_default() += l.quantity;
    }
    Package { n, ship, units }
}

/// The builder's input, or why the order is not invoiced yet.
pub fn order_input(
    bp: &BpOrder,
    dsco: &dsco::Order,
    rows: &BTreeMap<u64, u32>,
) -> Result<Order, String> {
    let Some(invoice) = bp.invoiced() else {
        return Err(format!(
            "order {} is not invoiced in Brightpearl yet",
            bp.id
        ));
    };
    let reference = invoice
        .invoice_reference
        .clone()
        .unwrap_or_default()
        .trim()
        .to_owned();
    // Units shipped per line, and the first package that shipped each line.
    let mut shipped: BTreeMap<u32, i64> = BTreeMap::new();
    let mut first_ship: BTreeMap<u32, Ship> = BTreeMap::new();
    for package in &dsco.packages {
        for (line, quantity) in package.line_quantities() {
            *shipped.entry(line).or_default() += quantity;
            first_ship.entry(line).or_insert_with(|| ship_of(package));
        }
    }
    let mut by_line: BTreeMap<u32, Row> = BTreeMap::new();
    let mut unlinked_rows = Vec::new();
    let (mut freight, mut freight_tax) = (Amount(0), Amount(0));
    for (id, row) in &bp.order_rows {
        let Ok(row_id) = id.parse::<u64>() else {
            continue;
        };
        let value = row.row_value.as_ref();
        let net = value
            .and_then(|v| v.row_net.as_ref())
            .and_then(|m| Amount::parse(&m.value));
        let tax = amount(
            value
                .and_then(|v| v.row_tax.as_ref())
                .map(|m| m.value.as_str()),
        );
        if row.external_ref.as_deref() == Some(FREIGHT_REF) {
            freight = Amount(freight.0 + net.unwrap_or_default().0);
            freight_tax = Amount(freight_tax.0 + tax.0);
            continue;
        }
        let quantity = row
            .quantity
            .as_ref()
            .and_then(|q| q.magnitude.trim().parse::<f64>().ok())
            .map_or(0, |q| q.round() as i64);
        match rows.get(&row_id) {
            Some(line) => {
                by_line.entry(*line).or_insert(Row {
                    id: row_id as u32,
                    net,
                    quantity,
                    tax,
                });
            }
            None => unlinked_rows.push(row_id as u32),
        }
    }
    let lines = dsco
        .line_items
        .iter()
        .filter_map(|l| {
            let n = l.line_number?;
            Some(Line {
                line_number: n,
                sku: l.sku.clone(),
                dsco_item_id: l.dsco_item_id.as_ref().map(|i| i.0.clone()),
                shipped: l
                    .shipped_quantity
                    .unwrap_or_else(|| shipped.get(&n).copied().unwrap_or(0)),
                cancelled: l.cancelled_quantity.unwrap_or(0),
                row: by_line.get(&n).copied(),
                shipment: first_ship.get(&n).cloned(),
            })
        })
        .collect();
    let total = bp.total_value.as_ref();
    Ok(Order {
        dsco_order_id: dsco
            .dsco_order_id
            .as_ref()
            .map(|i| i.0.clone())
            .unwrap_or_default(),
        po_number: Some(dsco.po_number.clone()).filter(|p| !p.is_empty()),
        reference,
        tax_date: invoice.tax_date.clone().unwrap_or_default(),
        currency: bp
            .currency
            .as_ref()
            .and_then(|c| c.order_currency_code.clone()),
        lines,
        unlinked_rows,
        freight,
        freight_tax,
        tax: amount(total.and_then(|t| t.tax_amount.as_deref())),
        total: amount(total.and_then(|t| t.total.as_deref())),
        latest_ship: dsco.packages.last().map(ship_of),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync::invoices::build;

    fn bp(invoice: &str) -> BpOrder {
        serde_json::from_value(json!({
            "id": 501,
            "invoices": [{"invoiceReference": invoice, "taxDate": "2026-11-21T00:00:00.000-05:00"}],
            "currency": {"orderCurrencyCode": "USD"},
            "totalValue": {"net": "49.67", "taxAmount": "9.93", "total": "59.60"},
            "orderRows": {
                "11": {"productId": 1, "quantity": {"magnitude": "3.0000"},
                       "rowValue": {"rowNet": {"value": "30.0000"}, "rowTax": {"value": "6.0000"}}},
                "12": {"productId": 2, "quantity": {"magnitude": "2.0000"},
                       "rowValue": {"rowNet": {"value": "14.6700"}, "rowTax": {"value": "2.9300"}}},
                "13": {"productName": "Shipping", "externalRef": "dsco:shipping",
                       "quantity": {"magnitude": "1.0000"},
                       "rowValue": {"rowNet": {"value": "5.0000"}, "rowTax": {"value": "1.0000"}}}
            }
        }))
        .unwrap()
    }

    fn dsco_order() -> dsco::Order {
        serde_json::from_value(json!({
            "dscoOrderId": "1001",
            "poNumber": "PO-1",
            "shipping": {"name": "Pat Doe"},
            "lineItems": [
                {"lineNumber": 1, "sku": "SKU-1", "quantity": 3},
                {"lineNumber": 2, "dscoItemId": "D2", "quantity": 2}
            ],
            "packages": [
                {"trackingNumber": "T1", "shipDate": "2026-11-20T10:00:00Z", "shipCarrier": "UPS",
                 "items": [{"lineNumber": 1, "quantity": 3}, {"lineNumber": 2, "quantity": 1}]},
                {"trackingNumber": "T2", "shipDate": "2026-11-21T10:00:00Z",
                 "items": [{"lineNumber": 2, "quantity": 1}]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_input_comes_from_both_orders_and_the_row_map() {
        let rows: BTreeMap<u64, u32> = [(11, 1), (12, 2)].into();
        let input = order_input(&bp("SI-9"), &dsco_order(), &rows).unwrap();
        assert_eq!(input.reference, "SI-9");
        assert_eq!(input.tax_date, "2026-11-21T00:00:00.000-05:00");
        assert_eq!((input.lines[0].shipped, input.lines[1].shipped), (3, 2));
        // Line 2 shipped in two packages: the first names it.
        assert_eq!(
            input.lines[1]
                .shipment
                .as_ref()
                .and_then(|s| s.tracking.as_deref()),
            Some("T1")
        );
        assert_eq!(
            input
                .latest_ship
                .as_ref()
                .and_then(|s| s.tracking.as_deref()),
            Some("T2")
        );
        assert_eq!(
            (input.freight, input.freight_tax),
            (Amount(50_000), Amount(10_000))
        );
        assert!(input.unlinked_rows.is_empty());
        let invoice = build::per_order(&input).unwrap();
        assert!((invoice.total_amount - 59.61).abs() < 1e-9);
    }

    #[test]
    fn not_invoiced_and_unlinked_rows_are_said() {
        let rows: BTreeMap<u64, u32> = [(11, 1), (12, 2)].into();
        assert!(order_input(&bp("pending"), &dsco_order(), &rows).is_err());
        let only_one: BTreeMap<u64, u32> = [(11, 1)].into();
        let input = order_input(&bp("SI-9"), &dsco_order(), &only_one).unwrap();
        assert_eq!(input.unlinked_rows, vec![12]);
        let problems = build::per_order(&input).unwrap_err();
        assert!(
            problems.contains(&"Brightpearl row 12 has no DSCO line".to_owned()),
            "{problems:?}"
        );
    }
}
