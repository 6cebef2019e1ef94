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
        Stock::Tracked => Ok(tracked(product, on_hand, codes)),
        Stock::Untracked => match untracked {
            Untracked::Skip => Err(format!(
                "product {product} is not stock-tracked (inventory.untracked is \"skip\")"
            )),
            Untracked::Quantity(q) => Ok(codes.keys().map(|c| (c.clone(), q)).collect()),
        },
        Stock::Bundle(components) => {
            if components.is_empty() {
                return Err(format!("bundle {product} has no components"));
            }
            let mut out = BTreeMap::new();
            for code in codes.keys() {
                let mut least: Option<i64> = None;
                for (component, per_bundle) in components {
                    let have = match stock_of(*component) {
                        Stock::Untracked => match untracked {
                            Untracked::Quantity(q) => q,
                            Untracked::Skip => 0,
                        },
                        _ => tracked(*component, on_hand, codes)
                            .get(code)
                            .copied()
                            .unwrap_or(0),
                    };
                    let fits = if *per_bundle > 0 {
                        have.max(0) / per_bundle
                    } else {
                        0
                    };
                    least = Some(least.map_or(fits, |l| l.min(fits)));
                }
                out.insert(code.clone(), least.unwrap_or(0));
            }
            Ok(out)
        }
        Stock::Unknown => {
            Err("bundles and untracked products are published after the next reference run".into())
        }
    }
}

/// Units of pending DSCO orders per SKU and code. A line's units come off the code it will ship
/// from: its `warehouseCode` when mapped, else the code of its retailer's `orders.warehouse_id`
/// (`retailer_code`), else in line order across the codes with stock left (`available`, the
/// Brightpearl quantity per SKU and code).
pub fn pending_deductions(
    pending: &[PendingUnits],
    codes: &Codes,
    retailer_code: &dyn Fn(Option<&str>) -> Option<String>,
    available: &BTreeMap<String, BTreeMap<String, i64>>,
) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let known: BTreeSet<&str> = codes.keys().map(String::as_str).collect();
    for order in pending {
        for line in &order.lines {
            let sku = line.sku.to_lowercase();
            let Some(stock) = available.get(&sku) else {
                continue; // not a published item
            };
            let chosen = line
                .warehouse_code
                .clone()
                .filter(|c| known.contains(c.as_str()))
                .or_else(|| {
                    retailer_code(order.retailer.as_deref()).filter(|c| known.contains(c.as_str()))
                });
            let deducted = out.entry(sku.clone()).or_default();
            match chosen {
                Some(code) => *deducted.entry(code).or_default() += line.quantity,
                None => {
                    let mut left = line.quantity;
                    for (code, have) in stock {
                        if left <= 0 {
                            break;
                        }
                        let already = deducted.get(code).copied().unwrap_or(0);
                        let take = (have - already).max(0).min(left);
                        if take > 0 {
                            *deducted.entry(code.clone()).or_default() += take;
                            left -= take;
                        }
                    }
                    if left > 0
                        && let Some(first) = stock.keys().next()
                    {
                        *deducted.entry(first.clone()).or_default() += left;
                    }
                }
            }
        }
    }
    out
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
