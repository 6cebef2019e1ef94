//! What is published for one item: a pure function from Brightpearl's availability, the DSCO
//! orders not yet in Brightpearl, the buffers and the cap to a quantity per DSCO warehouse code
//! (issue: Σ `onHand` of the Brightpearl warehouses mapped to the code − units on pending DSCO
//! orders − buffer, floor 0, cap `inventory.max_quantity`). No I/O here.

use std::collections::{BTreeMap, BTreeSet};

use crate::dsco::{InventoryWarehouse, ItemInventory};
use crate::store::{CodeDetail, PendingUnits};

/// How a product's stock is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stock {
    /// Stock-tracked: its `onHand` per warehouse.
    Tracked,
    /// Not stock-tracked (`inventory.untracked` decides).
    Untracked,
    /// A bundle of `(component product id, productQuantity)`.
    Bundle(Vec<(u32, i64)>),
    /// Not read since the upgrade (before the first `reference` run that keeps it).
    Unknown,
}

/// `inventory.untracked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untracked {
    Skip,
    Quantity(i64),
}

/// Brightpearl's `onHand` per product and Brightpearl warehouse id.
pub type OnHand = BTreeMap<u32, BTreeMap<u32, i64>>;
/// DSCO warehouse code → the Brightpearl warehouses mapped to it.
pub type Codes = BTreeMap<String, Vec<u32>>;

/// Σ `onHand` of a product's mapped warehouses, per code (0 where nothing is known).
fn tracked(product: u32, on_hand: &OnHand, codes: &Codes) -> BTreeMap<String, i64> {
    codes
        .iter()
        .map(|(code, warehouses)| {
            let q = on_hand.get(&product).map_or(0, |by_wh| {
                warehouses
                    .iter()
                    .map(|w| by_wh.get(w).copied().unwrap_or(0))
                    .sum()
            });
            (code.clone(), q)
        })
        .collect()
}

/// A non-bundle product's quantity per code before deductions: Σ `onHand` when stock-tracked,
/// the `inventory.untracked` quantity otherwise; or why it is not published.
pub fn base_quantity(
    product: u32,
    stock: &Stock,
    untracked: Untracked,
    on_hand: &OnHand,
    codes: &Codes,
) -> Result<BTreeMap<String, i64>, String> {
    match stock {
        Stock::Tracked => Ok(tracked(product, on_hand, codes)),
        Stock::Untracked => match untracked {
            Untracked::Skip => Err(format!(
                "product {product} is not stock-tracked (inventory.untracked is \"skip\")"
            )),
            Untracked::Quantity(q) => Ok(codes.keys().map(|c| (c.clone(), q)).collect()),
        },
        Stock::Bundle(_) => Err(format!("product {product} is a bundle")),
        Stock::Unknown => {
            Err("bundles and untracked products are published after the next reference run".into())
        }
    }
}

/// Whole bundles per code that the components make, from each component's quantity per code
/// (`have`; a component with nothing known counts 0).
pub fn bundle_quantity(
    components: &[(u32, i64)],
    have: &dyn Fn(u32) -> BTreeMap<String, i64>,
    codes: &Codes,
) -> BTreeMap<String, i64> {
    let per_component: Vec<(BTreeMap<String, i64>, i64)> =
        components.iter().map(|(c, n)| (have(*c), *n)).collect();
    codes
        .keys()
        .map(|code| {
            let least = per_component
                .iter()
                .map(|(q, per_bundle)| {
                    let q = q.get(code).copied().unwrap_or(0).max(0);
                    if *per_bundle > 0 { q / per_bundle } else { 0 }
                })
                .min()
                .unwrap_or(0);
            (code.clone(), least)
        })
        .collect()
}

/// Brightpearl's quantity of one product per code, or why it is not published.
pub fn brightpearl_quantity(
    product: u32,
    stock: &Stock,
    untracked: Untracked,
    stock_of: &dyn Fn(u32) -> Stock,
    on_hand: &OnHand,
    codes: &Codes,
) -> Result<BTreeMap<String, i64>, String> {
    match stock {
        Stock::Bundle(components) => {
            if components.is_empty() {
                return Err(format!("bundle {product} has no components"));
            }
            let have = |c: u32| {
                base_quantity(c, &stock_of(c), untracked, on_hand, codes).unwrap_or_default()
            };
            Ok(bundle_quantity(components, &have, codes))
        }
        _ => base_quantity(product, stock, untracked, on_hand, codes),
    }
}

/// Units of pending DSCO orders per **product** and code, so that one pending order lowers
/// every item the same stock feeds: the other SKUs of its product and the bundles made of it.
/// A line is the product its SKU is published for (`product_of`); a bundle's line is its
/// components' units (`components_of`: `productQuantity` each). A line's units come off the
/// code it will ship from: its `warehouseCode` when mapped, else the code of its retailer's
/// `orders.warehouse_id` (`retailer_code`), else in line order across the codes where the
/// product has stock left (`available`, per code before deductions; the rest on the first).
pub fn pending_by_product(
    pending: &[PendingUnits],
    codes: &Codes,
    retailer_code: &dyn Fn(Option<&str>) -> Option<String>,
    product_of: &dyn Fn(&str) -> Option<u32>,
    components_of: &dyn Fn(u32) -> Option<Vec<(u32, i64)>>,
    available: &dyn Fn(u32) -> BTreeMap<String, i64>,
) -> BTreeMap<u32, BTreeMap<String, i64>> {
    let mut out: BTreeMap<u32, BTreeMap<String, i64>> = BTreeMap::new();
    let known: BTreeSet<&str> = codes.keys().map(String::as_str).collect();
    for order in pending {
        for line in &order.lines {
            let Some(product) = product_of(&line.sku) else {
                continue; // not a published item
            };
            let units: Vec<(u32, i64)> = match components_of(product) {
                Some(components) => components
                    .iter()
                    .map(|(c, n)| (*c, line.quantity * n))
                    .collect(),
                None => vec![(product, line.quantity)],
            };
            let chosen = line
                .warehouse_code
                .clone()
                .filter(|c| known.contains(c.as_str()))
                .or_else(|| {
                    retailer_code(order.retailer.as_deref()).filter(|c| known.contains(c.as_str()))
                });
            for (product, quantity) in units {
                let deducted = out.entry(product).or_default();
                if let Some(code) = &chosen {
                    *deducted.entry(code.clone()).or_default() += quantity;
                    continue;
                }
                let stock = available(product);
                let mut left = quantity;
                for code in codes.keys() {
                    if left <= 0 {
                        break;
                    }
                    let have = stock.get(code).copied().unwrap_or(0);
                    let already = deducted.get(code).copied().unwrap_or(0);
                    let take = (have - already).max(0).min(left);
                    if take > 0 {
                        *deducted.entry(code.clone()).or_default() += take;
                        left -= take;
                    }
                }
                if left > 0
                    && let Some(first) = codes.keys().next()
                {
                    *deducted.entry(first.clone()).or_default() += left;
                }
            }
        }
    }
    out
}

/// Less `deducted` per code (a missing code deducts nothing).
pub fn less(
    q: &BTreeMap<String, i64>,
    deducted: Option<&BTreeMap<String, i64>>,
) -> BTreeMap<String, i64> {
    q.iter()
        .map(|(c, v)| {
            (
                c.clone(),
                v - deducted.and_then(|d| d.get(c)).copied().unwrap_or(0),
            )
        })
        .collect()
}

/// The quantity published per code: Brightpearl's less pending units less the buffer, floor 0,
/// at most `cap`.
pub fn publish(
    brightpearl: &BTreeMap<String, i64>,
    pending: Option<&BTreeMap<String, i64>>,
    buffer: i64,
    cap: Option<i64>,
) -> BTreeMap<String, CodeDetail> {
    brightpearl
        .iter()
        .map(|(code, q)| {
            let held = pending.and_then(|p| p.get(code)).copied().unwrap_or(0);
            let mut published = (q - held - buffer).max(0);
            if let Some(cap) = cap {
                published = published.min(cap.max(0));
            }
            (
                code.clone(),
                CodeDetail {
                    brightpearl: *q,
                    pending_orders: held,
                    buffer,
                    published,
                },
            )
        })
        .collect()
}

/// The published quantities of a detail.
pub fn quantities(detail: &BTreeMap<String, CodeDetail>) -> BTreeMap<String, i64> {
    detail
        .iter()
        .map(|(c, d)| (c.clone(), d.published))
        .collect()
}

/// Whether an item must be sent: any code differs from what DSCO last confirmed.
pub fn differs(confirmed: &BTreeMap<String, i64>, published: &BTreeMap<String, i64>) -> bool {
    confirmed != published
}

/// The wire object: every code, `quantityAvailable` their sum, `status` from it.
pub fn item_inventory(sku: &str, published: &BTreeMap<String, i64>) -> ItemInventory {
    let total: i64 = published.values().sum();
    ItemInventory {
        sku: sku.to_owned(),
        warehouses: published
            .iter()
            .map(|(code, q)| InventoryWarehouse {
                code: code.clone(),
                quantity: Some(*q),
                quantity_on_order: None,
                cost: None,
            })
            .collect(),
        quantity_available: Some(total),
        status: Some(
            if total > 0 {
                "in-stock"
            } else {
                "out-of-stock"
            }
            .into(),
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
