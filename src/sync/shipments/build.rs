//! What a shipment sends: a pure function from a goods-out note (or a whole order reaching the
//! ship status), the DSCO order as read, and the mappings to one DSCO package, or the plain
//! reason it cannot be sent yet (pre-flight). No I/O here.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::dsco::{self, Lifecycle, ShipmentForUpdate, ShipmentLineItem};

/// One row of a goods-out note: the Brightpearl order row, its product and the units in the box.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteRow {
    pub order_row_id: u64,
    pub product_id: u64,
    pub quantity: i64,
}

/// What the builder needs of a goods-out note (or, for the status trigger without a note, of
/// the order: then `note_id` is `None` and `rows` is empty: every unshipped unit goes).
#[derive(Debug, Clone, PartialEq)]
pub struct NoteFacts {
    pub note_id: Option<u64>,
    pub rows: Vec<NoteRow>,
    /// `shipping.reference`, when not blank.
    pub tracking: Option<String>,
    pub shipped_on: Option<DateTime<Utc>>,
    /// The note's shipping method, else the order's (0 = none).
    pub shipping_method_id: Option<u32>,
    pub warehouse_id: Option<u32>,
}

impl NoteFacts {
    /// The status trigger's whole-order package: no note, every unshipped unit.
    pub fn whole_order() -> NoteFacts {
        NoteFacts {
            note_id: None,
            rows: Vec::new(),
            tracking: None,
            shipped_on: None,
            shipping_method_id: None,
            warehouse_id: None,
        }
    }
}

/// What the builder needs of the Brightpearl order and our link to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFacts {
    pub bp_order_id: u64,
    /// Order row id → its `externalRef` (`dsco:line:N` as we created it).
    pub row_external_refs: BTreeMap<u64, String>,
    /// The row map kept in the order link (Brightpearl row id → DSCO line number).
    pub row_map: BTreeMap<u64, u32>,
    /// DSCO line number → the Brightpearl product its item resolves to (by the item mapping).
    pub line_products: BTreeMap<u32, u64>,
    /// Our acknowledgement was confirmed by DSCO's change log.
    pub acknowledged: bool,
    /// Units per DSCO line of our packages DSCO confirmed but `packages[]` does not show yet.
    pub in_flight: BTreeMap<u32, i64>,
}

/// The shipment settings and mappings the builder reads.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub allow_untracked: bool,
    pub order_only_service_levels: Vec<String>,
    /// Brightpearl shipping method → DSCO (service level code, carrier, method); `""` = absent.
    pub shipping: HashMap<u32, (String, String, String)>,
    /// Brightpearl warehouse → DSCO warehouse code.
    pub warehouses: HashMap<u32, String>,
}

/// One line of a built package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltLine {
    pub line_number: u32,
    pub sku: Option<String>,
    pub quantity: i64,
}

/// A package ready to send for one DSCO order.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The record's source id: the goods-out note id, or `order:{bp_order_id}`.
    pub source_id: String,
    pub dsco_order_id: String,
    pub shipment: ShipmentForUpdate,
    pub lines: Vec<BuiltLine>,
}

impl Built {
    pub fn tracking(&self) -> Option<&str> {
        self.shipment.tracking_number.as_deref()
    }
}

/// Why nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Waits for something that comes by itself (tracking, DSCO's acknowledgement).
    Pending(String),
    /// A person must act (a mapping, the note, the order).
    NeedsAttention(String),
}

/// Units still to ship per DSCO line: `quantity` − `cancelledQuantity` − shipped (the
/// stream-only `shippedQuantity` when DSCO sends it, else Σ `packages[].items[].quantity`) −
/// our confirmed packages not visible yet.
pub fn unshipped(order: &dsco::Order, in_flight: &BTreeMap<u32, i64>) -> BTreeMap<u32, i64> {
    let mut in_packages: BTreeMap<u32, i64> = BTreeMap::new();
    for package in &order.packages {
        for (line, qty) in package.line_quantities() {
            *in_packages.entry(line).or_default() += qty;
        }
    }
    order
        .line_items
        .iter()
        .filter_map(|l| {
            let n = l.line_number?;
            let shipped = l
                .shipped_quantity
                .unwrap_or_else(|| in_packages.get(&n).copied().unwrap_or(0));
            let open = l.quantity
                - l.cancelled_quantity.unwrap_or(0)
                - shipped
                - in_flight.get(&n).copied().unwrap_or(0);
            Some((n, open.max(0)))
        })
        .collect()
}

/// Every unit shipped or cancelled on DSCO (and at least one shipped) once `extra` is added.
pub fn fully_shipped(order: &dsco::Order, extra: &BTreeMap<u32, i64>) -> bool {
    let left = unshipped(order, extra);
    let any_shipped = !order.packages.is_empty() || extra.values().any(|q| *q > 0);
    any_shipped && left.values().all(|q| *q == 0)
}

/// A package line naming its DSCO line by `lineNumber` and one item identifier — the line's
/// `sku`, else its `dscoItemId`, `partnerSku`, `upc` or `ean` (the OpenAPI requires one);
/// `None` when the line has none of them.
fn line_item(line: &dsco::OrderLineItem, quantity: i64) -> Option<ShipmentLineItem> {
    let given = |v: &Option<String>| v.as_ref().filter(|s| !s.trim().is_empty()).cloned();
    let mut item = ShipmentLineItem {
        quantity,
        line_number: line.line_number,
        ..Default::default()
    };
    if let Some(sku) = given(&line.sku) {
        item.sku = Some(sku);
    } else if let Some(id) = line
        .dsco_item_id
        .as_ref()
        .filter(|i| !i.0.trim().is_empty())
    {
        item.dsco_item_id = Some(id.clone());
    } else if let Some(v) = given(&line.partner_sku) {
        item.partner_sku = Some(v);
    } else if let Some(v) = given(&line.upc) {
        item.upc = Some(v);
    } else if let Some(v) = given(&line.ean) {
        item.ean = Some(v);
    } else {
        return None;
    }
    Some(item)
}

/// Whether DSCO already shows this note's package (an earlier run's whose outcome we missed):
/// a package with the note's tracking number and exactly the lines and quantities the note
/// ships, once the packages of `ours` (our other confirmed packages under that tracking number,
/// as `(lineNumber, quantity)`) are set aside. Found means done; not found proves nothing
/// (DSCO's reads are eventually consistent).
pub fn found_on_dsco(
    note: &NoteFacts,
    order: &dsco::Order,
    ours: &[Vec<(u32, i64)>],
    facts: &OrderFacts,
    rules: &Rules,
    now: DateTime<Utc>,
) -> bool {
    let Some(tracking) = note.tracking.as_deref() else {
        return false;
    };
    let lines_of = |p: &dsco::Package| {
        let mut got: BTreeMap<u32, i64> = BTreeMap::new();
        for (n, q) in p.line_quantities() {
            *got.entry(n).or_default() += q;
        }
        got
    };
    let mut ours: Vec<BTreeMap<u32, i64>> = ours
        .iter()
        .map(|lines| {
            let mut m: BTreeMap<u32, i64> = BTreeMap::new();
            for (n, q) in lines {
                *m.entry(*n).or_default() += q;
            }
            m
        })
        .collect();
    let mut same = Vec::new();
    let mut others = Vec::new();
    for p in &order.packages {
        if p.tracking_number.as_deref() != Some(tracking) {
            others.push(p.clone());
            continue;
        }
        // One of our other confirmed packages under this tracking number: not this note's.
        let lines = lines_of(p);
        match ours.iter().position(|o| *o == lines) {
            Some(i) => {
                ours.remove(i);
                others.push(p.clone());
            }
            None => same.push(p.clone()),
        }
    }
    if same.is_empty() {
        return false;
    }
    // The order as it was before those packages: build the note's package against it.
    let mut before = order.clone();
    before.packages = others;
    for p in &same {
        for (n, q) in p.line_quantities() {
            if let Some(shipped) = before
                .line_items
                .iter_mut()
                .find(|l| l.line_number == Some(n))
                .and_then(|l| l.shipped_quantity.as_mut())
            {
                *shipped = (*shipped - q).max(0);
            }
        }
    }
    let Ok(built) = build(note, &before, facts, rules, now) else {
        return false;
    };
    let want: BTreeMap<u32, i64> = built
        .lines
        .iter()
        .map(|l| (l.line_number, l.quantity))
        .collect();
    same.iter().any(|p| lines_of(p) == want)
}

fn line_of_ref(external_ref: &str) -> Option<u32> {
    external_ref.strip_prefix("dsco:line:")?.parse().ok()
}

/// The package for one goods-out note (or, with no rows, every unshipped unit of the order).
pub fn build(
    note: &NoteFacts,
    order: &dsco::Order,
    facts: &OrderFacts,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Built, Hold> {
    let dsco_order_id = order
        .dsco_order_id
        .as_ref()
        .map(|i| i.0.clone())
        .unwrap_or_default();
    let what = match note.note_id {
        Some(id) => format!("goods-out note {id}"),
        None => format!("order {}", facts.bp_order_id),
    };
    match order.lifecycle() {
        Lifecycle::Cancelled => {
            return Err(Hold::NeedsAttention(format!(
                "DSCO order {dsco_order_id} is cancelled on DSCO; {what} cannot be shipped"
            )));
        }
        Lifecycle::Created if !facts.acknowledged => {
            return Err(Hold::Pending(
                "waiting for DSCO to confirm the acknowledgement".into(),
            ));
        }
        _ => {}
    }
    let tracking = note.tracking.clone().filter(|t| !t.trim().is_empty());
    if tracking.is_none() && !rules.allow_untracked {
        return Err(Hold::Pending(match note.note_id {
            Some(id) => format!("no tracking number yet on goods-out note {id}"),
            None => format!(
                "order {} reached the ship status but has no goods-out note with a tracking number",
                facts.bp_order_id
            ),
        }));
    }
    let method_id = note.shipping_method_id.filter(|m| *m != 0);
    let Some(method_id) = method_id else {
        return Err(Hold::NeedsAttention(format!(
            "{what} has no shipping method, so there is no DSCO carrier to send"
        )));
    };
    let Some((code, carrier, method)) = rules.shipping.get(&method_id) else {
        return Err(Hold::NeedsAttention(format!(
            "no shipping-method mapping (use shipments or both) for Brightpearl shipping method {method_id} of {what}"
        )));
    };
    if !code.is_empty()
        && rules
            .order_only_service_levels
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code))
    {
        return Err(Hold::NeedsAttention(format!(
            "the shipping-method mapping of Brightpearl method {method_id} sends service level code {code}, \
             which DSCO takes on orders only, not on packages (shipments.order_only_service_levels)"
        )));
    }
    let warehouse_code = match note.warehouse_id {
        Some(w) => match rules.warehouses.get(&w) {
            Some(code) => code.clone(),
            None => {
                return Err(Hold::NeedsAttention(format!(
                    "no warehouse mapping for Brightpearl warehouse {w} of {what}"
                )));
            }
        },
        None => {
            return Err(Hold::NeedsAttention(format!(
                "{what} names no warehouse, so there is no DSCO warehouse code to send"
            )));
        }
    };
    let mut open = unshipped(order, &facts.in_flight);
    let lines = if note.rows.is_empty() {
        let lines: Vec<(u32, i64)> = open
            .iter()
            .filter(|(_, q)| **q > 0)
            .map(|(n, q)| (*n, *q))
            .collect();
        if lines.is_empty() {
            return Err(Hold::NeedsAttention(format!(
                "{what} reached the ship status but every unit of DSCO order {dsco_order_id} is already shipped or cancelled"
            )));
        }
        lines
    } else {
        allocate(note, facts, &mut open, &what, &dsco_order_id)?
    };
    let line_of: HashMap<u32, &dsco::OrderLineItem> = order
        .line_items
        .iter()
        .filter_map(|l| Some((l.line_number?, l)))
        .collect();
    let mut items = Vec::new();
    let mut unnamed = Vec::new();
    for (n, q) in &lines {
        match line_of.get(n).and_then(|l| line_item(l, *q)) {
            Some(item) => items.push(item),
            None => unnamed.push(n.to_string()),
        }
    }
    if !unnamed.is_empty() {
        return Err(Hold::NeedsAttention(format!(
            "DSCO line {} of order {dsco_order_id} has no sku, dscoItemId, partnerSku, upc or ean to name it by",
            unnamed.join(", ")
        )));
    }
    let built_lines: Vec<BuiltLine> = lines
        .iter()
        .map(|(n, q)| BuiltLine {
            line_number: *n,
            sku: line_of
                .get(n)
                .and_then(|l| l.sku.clone())
                .filter(|s| !s.trim().is_empty()),
            quantity: *q,
        })
        .collect();
    let ship_date = note.shipped_on.unwrap_or(now).min(now);
    let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
    let shipment = ShipmentForUpdate {
        untracked: tracking.is_none().then_some(true),
        tracking_number: tracking,
        line_items: items,
        ship_date: Some(ship_date.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ship_carrier: non_empty(carrier),
        ship_method: non_empty(method),
        shipping_service_level_code: non_empty(code),
        warehouse_code: Some(warehouse_code),
        ..Default::default()
    };
    Ok(Built {
        source_id: match note.note_id {
            Some(id) => id.to_string(),
            None => format!("order:{}", facts.bp_order_id),
        },
        dsco_order_id,
        shipment,
        lines: built_lines,
    })
}

/// Map the note's rows to DSCO lines — by the row's `externalRef`, then the link's row map,
/// then the product through the item mapping to lines with units left, in line order — and
/// check each against what is unshipped. Sorted by line number, one entry per line.
fn allocate(
    note: &NoteFacts,
    facts: &OrderFacts,
    open: &mut BTreeMap<u32, i64>,
    what: &str,
    dsco_order_id: &str,
) -> Result<Vec<(u32, i64)>, Hold> {
    let mut out: BTreeMap<u32, i64> = BTreeMap::new();
    let mut problems = Vec::new();
    for row in &note.rows {
        if row.quantity <= 0 {
            continue;
        }
        let direct = facts
            .row_external_refs
            .get(&row.order_row_id)
            .and_then(|r| line_of_ref(r))
            .or_else(|| facts.row_map.get(&row.order_row_id).copied())
            .filter(|n| open.contains_key(n));
        match direct {
            Some(n) => {
                let left = open.get(&n).copied().unwrap_or(0);
                if row.quantity > left {
                    problems.push(format!(
                        "{what} ships {} of DSCO line {n} but only {left} are unshipped on DSCO",
                        row.quantity
                    ));
                    continue;
                }
                open.insert(n, left - row.quantity);
                *out.entry(n).or_default() += row.quantity;
            }
            None => {
                // By product, to lines with units left, in line-number order.
                let mut need = row.quantity;
                let candidates: Vec<u32> = facts
                    .line_products
                    .iter()
                    .filter(|(_, p)| **p == row.product_id)
                    .map(|(n, _)| *n)
                    .collect();
                if candidates.is_empty() {
                    problems.push(format!(
                        "row {} (product {}) of {what} matches no line of DSCO order {dsco_order_id}",
                        row.order_row_id, row.product_id
                    ));
                    continue;
                }
                let mut taken = Vec::new();
                for n in candidates {
                    let left = open.get(&n).copied().unwrap_or(0);
                    let take = left.min(need);
                    if take > 0 {
                        taken.push((n, take));
                        need -= take;
                    }
                    if need == 0 {
                        break;
                    }
                }
                if need > 0 {
                    let available: i64 = taken.iter().map(|(_, q)| q).sum();
                    problems.push(format!(
                        "{what} ships {} of product {} but only {available} are unshipped on DSCO order {dsco_order_id}",
                        row.quantity, row.product_id
                    ));
                    continue;
                }
                for (n, q) in taken {
                    *open.entry(n).or_default() -= q;
                    *out.entry(n).or_default() += q;
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Hold::NeedsAttention(problems.join("; ")));
    }
    if out.is_empty() {
        return Err(Hold::NeedsAttention(format!("{what} has no rows to ship")));
    }
    Ok(out.into_iter().collect())
}

/// Lay packages out in batches: at most one entry per DSCO order per batch (its packages
/// together), at most one untracked package per order per batch (outcomes are told apart by
/// order and tracking number), and at most `max_bytes` of JSON per batch.
pub fn batches(packages: Vec<Built>, max_bytes: usize) -> Vec<Vec<(String, Vec<Built>)>> {
    // Per order, split its packages into rounds: round k holds its k-th untracked package
    // and, in round 0, every tracked one.
    let mut per_order: BTreeMap<String, Vec<Vec<Built>>> = BTreeMap::new();
    for p in packages {
        let rounds = per_order.entry(p.dsco_order_id.clone()).or_default();
        if p.tracking().is_some() {
            if rounds.is_empty() {
                rounds.push(Vec::new());
            }
            rounds[0].push(p);
        } else {
            match rounds
                .iter_mut()
                .find(|r| r.iter().all(|b| b.tracking().is_some()))
            {
                Some(round) => round.push(p),
                None => rounds.push(vec![p]),
            }
        }
    }
    let mut out: Vec<Vec<(String, Vec<Built>)>> = Vec::new();
    let depth = per_order.values().map(Vec::len).max().unwrap_or(0);
    for round in 0..depth {
        let mut batch: Vec<(String, Vec<Built>)> = Vec::new();
        let mut size = 2usize;
        for (order, rounds) in per_order.iter_mut() {
            let Some(packages) = rounds.get_mut(round).map(std::mem::take) else {
                continue;
            };
            if packages.is_empty() {
                continue;
            }
            let entry_size = entry_bytes(order, &packages);
            if !batch.is_empty() && size + entry_size > max_bytes {
                out.push(std::mem::take(&mut batch));
                size = 2;
            }
            size += entry_size + 1;
            batch.push((order.clone(), packages));
        }
        if !batch.is_empty() {
            out.push(batch);
        }
    }
    out
}

/// The wire entry of one order in a batch.
pub fn entry(order: &str, packages: &[Built]) -> dsco::ShipmentsForUpdate {
    dsco::ShipmentsForUpdate {
        dsco_order_id: Some(dsco::OrderId(order.to_owned())),
        po_number: None,
        supplier_order_number: None,
        shipments: packages.iter().map(|p| p.shipment.clone()).collect(),
    }
}

fn entry_bytes(order: &str, packages: &[Built]) -> usize {
    serde_json::to_vec(&entry(order, packages)).map_or(0, |v| v.len())
}

#[cfg(test)]
mod tests;
