//! What a DSCO invoice says, as a pure function of the Brightpearl order (its invoice reference,
//! tax date, rows) and what DSCO shipped and cancelled per line. No I/O here.
//!
//! - `unitPrice` = row net ÷ row quantity, half-even to 2 dp; `extendedAmount` = `unitPrice` ×
//!   `quantity`; `lineItemsSubtotal` = Σ `extendedAmount`; `freightAmount` = the `dsco:shipping`
//!   row's net; `totalAmount` = subtotal + freight + tax.
//! - Per order: `quantity` = the units DSCO shipped on the line (cancelled units are never
//!   invoiced); `salesTaxAmount` = the order's `totalValue.taxAmount` when no unit is cancelled,
//!   else the tax of the invoiced units pro rata plus the freight row's tax (the order's tax
//!   would charge for units never sent).
//! - Per shipment: the shipment's quantities; freight on the first; tax pro rata, 2 dp.
//! - Pre-flight, nothing sent: a line without a price, a row with no DSCO line, a total that
//!   differs from the expected one by more than 0.005 × Σ quantity + 0.01 (per order),
//!   quantities above what DSCO shipped (per shipment).

use std::collections::BTreeMap;

use crate::dsco::model::{Invoice, InvoiceLineItem, InvoiceShip, OrderId};
use crate::sync::money::Amount;

/// A confirmed shipment, as the invoice names it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ship {
    /// `shipDate` as sent to DSCO.
    pub date: String,
    pub tracking: Option<String>,
    pub carrier: Option<String>,
    pub method: Option<String>,
    pub service_level: Option<String>,
}

/// The Brightpearl row of a DSCO line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub id: u32,
    /// `rowNet.value`; `None` when Brightpearl has no price on the row (a zero net counts as none).
    pub net: Option<Amount>,
    pub quantity: i64,
    /// `rowTax.value`.
    pub tax: Amount,
}

/// One DSCO line with what happened to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub line_number: u32,
    pub sku: Option<String>,
    pub dsco_item_id: Option<String>,
    /// Units DSCO shows shipped.
    pub shipped: i64,
    /// Units DSCO shows cancelled.
    pub cancelled: i64,
    pub row: Option<Row>,
    /// The shipment that shipped it (the first when split).
    pub shipment: Option<Ship>,
}

/// The order as the invoice needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order {
    pub dsco_order_id: String,
    pub po_number: Option<String>,
    /// `invoices[].invoiceReference`.
    pub reference: String,
    /// `invoices[0].taxDate`, sent with its own offset.
    pub tax_date: String,
    pub currency: Option<String>,
    pub lines: Vec<Line>,
    /// Product rows with no DSCO line (not the freight row).
    pub unlinked_rows: Vec<u32>,
    /// The `dsco:shipping` row's net and tax (zero when none).
    pub freight: Amount,
    pub freight_tax: Amount,
    /// `totalValue.taxAmount` and `totalValue.total`.
    pub tax: Amount,
    pub total: Amount,
    /// The latest confirmed shipment.
    pub latest_ship: Option<Ship>,
}

/// One package of the per-shipment policy: its sequence and units per DSCO line number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Package {
    /// The goods-out note's `sequence`, or the 1-based count of the order's packages.
    pub n: u32,
    pub ship: Ship,
    pub units: BTreeMap<u32, i64>,
}

/// Round `value / by` half to even (both in any unit; the result in the same unit as `value`
/// per `by`).
fn div_half_even(value: i128, by: i128) -> i128 {
    let q = value.div_euclid(by);
    let r = value.rem_euclid(by);
    match (r * 2).cmp(&by) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// `net` ÷ `quantity`, half-even to whole cents.
pub fn unit_price(net: Amount, quantity: i64) -> Option<Amount> {
    if quantity <= 0 {
        return None;
    }
    // ten-thousandths → cents per unit, then back.
    let cents = div_half_even(net.0 as i128, 100 * quantity as i128);
    Some(Amount(cents as i64 * 100))
}

/// `amount` × `part` ÷ `whole`, half-even to whole cents.
fn pro_rata(amount: Amount, part: i64, whole: i64) -> Amount {
    if whole <= 0 {
        return Amount(0);
    }
    let cents = div_half_even(amount.0 as i128 * part as i128, 100 * whole as i128);
    Amount(cents as i64 * 100)
}

fn money(a: Amount) -> f64 {
    a.0 as f64 / 10_000.0
}

fn show(a: Amount) -> String {
    let cents = div_half_even(a.0 as i128, 100);
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

fn wire_ship(ship: &Ship) -> InvoiceShip {
    InvoiceShip {
        date: Some(ship.date.clone()),
        tracking_number: ship.tracking.clone(),
        carrier: ship.carrier.clone(),
        method: ship.method.clone(),
        service_level_code: ship.service_level.clone(),
    }
}

/// One invoice line; `Err` names a line without a price.
fn line_item(
    line: &Line,
    quantity: i64,
    ship: Option<&Ship>,
) -> Result<(InvoiceLineItem, Amount), String> {
    let Some(row) = line.row else {
        return Err(format!(
            "DSCO line {} has no Brightpearl row",
            line.line_number
        ));
    };
    // A zero net is no price either: DSCO would be invoiced nothing for the units.
    let priced = row.net.filter(|net| net.0 != 0);
    let Some(price) = priced.and_then(|net| unit_price(net, row.quantity)) else {
        return Err(format!(
            "DSCO line {} (Brightpearl row {}) has no price",
            line.line_number, row.id
        ));
    };
    let extended = price.times(quantity);
    let item = InvoiceLineItem {
        quantity,
        unit_price: money(price),
        line_number: Some(line.line_number),
        sku: line.sku.clone().or_else(|| line.dsco_item_id.clone()),
        extended_amount: Some(money(extended)),
        ship_date: ship.map(|s| s.date.clone()),
        tracking_number: ship.and_then(|s| s.tracking.clone()),
        ship_carrier: ship.and_then(|s| s.carrier.clone()),
        ship_method: ship.and_then(|s| s.method.clone()),
        shipping_service_level_code: ship.and_then(|s| s.service_level.clone()),
        ..Default::default()
    };
    Ok((item, extended))
}

fn header(order: &Order, invoice_id: String) -> Invoice {
    Invoice {
        invoice_id,
        dsco_order_id: Some(OrderId(order.dsco_order_id.clone())),
        po_number: order.po_number.clone(),
        invoice_date: Some(order.tax_date.clone()),
        currency_code: order.currency.clone(),
        ..Default::default()
    }
}

fn unlinked(order: &Order) -> Vec<String> {
    order
        .unlinked_rows
        .iter()
        .map(|r| format!("Brightpearl row {r} has no DSCO line"))
        .collect()
}

/// The per-order invoice, or every reason it cannot be sent.
pub fn per_order(order: &Order) -> Result<Invoice, Vec<String>> {
    let mut problems = unlinked(order);
    let mut invoice = header(order, order.reference.clone());
    let mut subtotal = Amount(0);
    let mut units = 0i64;
    let any_cancelled = order.lines.iter().any(|l| l.cancelled > 0);
    let (mut net_invoiced, mut tax_invoiced) = (Amount(0), Amount(0));
    for line in order.lines.iter().filter(|l| l.shipped > 0) {
        match line_item(line, line.shipped, line.shipment.as_ref()) {
            Ok((item, extended)) => {
                subtotal = Amount(subtotal.0 + extended.0);
                units += line.shipped;
                if let Some(row) = line.row {
                    let net = row.net.unwrap_or(Amount(0));
                    net_invoiced =
                        Amount(net_invoiced.0 + pro_rata(net, line.shipped, row.quantity).0);
                    tax_invoiced =
                        Amount(tax_invoiced.0 + pro_rata(row.tax, line.shipped, row.quantity).0);
                }
                invoice.line_items.push(item);
            }
            Err(reason) => problems.push(reason),
        }
    }
    if invoice.line_items.is_empty() && problems.is_empty() {
        problems.push(format!(
            "order {} has no units shipped on DSCO to invoice",
            order.dsco_order_id
        ));
    }
    let tax = if any_cancelled {
        Amount(tax_invoiced.0 + order.freight_tax.0)
    } else {
        order.tax
    };
    let total = Amount(subtotal.0 + order.freight.0 + tax.0);
    let expected = if any_cancelled {
        Amount(net_invoiced.0 + order.freight.0 + tax.0)
    } else {
        order.total
    };
    let tolerance = 50 * units + 100; // 0.005 × Σ quantity + 0.01, in ten-thousandths
    if problems.is_empty() && (total.0 - expected.0).abs() > tolerance {
        problems.push(format!(
            "the invoice total {} differs from the expected {} by more than the rounding allowed",
            show(total),
            show(expected)
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    invoice.line_items_subtotal = Some(money(subtotal));
    invoice.freight_amount = Some(money(order.freight));
    invoice.sales_tax_amount = Some(money(tax));
    invoice.total_amount = money(total);
    invoice.ship = order.latest_ship.as_ref().map(wire_ship);
    Ok(invoice)
}

/// The invoice of one package (`{reference}-{n}`), or every reason it cannot be sent. `first`:
/// the order's first package, which carries the freight.
pub fn per_shipment(order: &Order, package: &Package, first: bool) -> Result<Invoice, Vec<String>> {
    let mut problems = unlinked(order);
    let mut invoice = header(order, format!("{}-{}", order.reference, package.n));
    let mut subtotal = Amount(0);
    let mut tax = Amount(0);
    for (number, units) in &package.units {
        let Some(line) = order.lines.iter().find(|l| l.line_number == *number) else {
            problems.push(format!(
                "the package names DSCO line {number}, which the order does not have"
            ));
            continue;
        };
        if *units > line.shipped {
            problems.push(format!(
                "line {number}: {units} units invoiced but DSCO shows {} shipped",
                line.shipped
            ));
            continue;
        }
        match line_item(line, *units, Some(&package.ship)) {
            Ok((item, extended)) => {
                subtotal = Amount(subtotal.0 + extended.0);
                if let Some(row) = line.row {
                    tax = Amount(tax.0 + pro_rata(row.tax, *units, row.quantity).0);
                }
                invoice.line_items.push(item);
            }
            Err(reason) => problems.push(reason),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let freight = if first { order.freight } else { Amount(0) };
    if first {
        tax = Amount(tax.0 + order.freight_tax.0);
    }
    invoice.line_items_subtotal = Some(money(subtotal));
    invoice.freight_amount = Some(money(freight));
    invoice.sales_tax_amount = Some(money(tax));
    invoice.total_amount = money(Amount(subtotal.0 + freight.0 + tax.0));
    invoice.ship = Some(wire_ship(&package.ship));
    Ok(invoice)
}

#[cfg(test)]
mod tests;
