//! Inventory rules shared by the inventory endpoints and order creation (dsco-api.md §4.3): the
//! status DSCO stores for a quantity, and the auto-decrement applied when an order arrives.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::state::{State, fmt_date};

/// The status DSCO stores for a submitted status and quantity (dsco-api.md §4.3).
pub(crate) fn infer_status(submitted: Option<&str>, available: i64) -> &'static str {
    match submitted {
        Some("in-stock") | None if available <= 0 => "out-of-stock",
        Some("out-of-stock") | Some("discontinued") | None if available > 0 => "in-stock",
        Some("discontinued") => "discontinued",
        Some("hidden") => "hidden",
        Some("in-stock") => "in-stock",
        _ => "out-of-stock",
    }
}

/// Auto-decrement (dsco-api.md §4.3): an incoming order lowers the item's quantity, first in the
/// requested warehouse, then in the others in order, never below zero.
// guess: the KB gives neither the warehouse the units come from nor a floor; we take them from
// the line's warehouse first and stop at zero (dsco-api.md §4.3).
pub(crate) fn auto_decrement(
    state: &mut State,
    sku: &str,
    quantity: i64,
    warehouse_code: Option<String>,
    now: DateTime<Utc>,
) {
    let Some(record) = state.inventory.get_mut(sku) else {
        return;
    };
    let mut left = quantity.max(0);
    if let Some(warehouses) = record["warehouses"].as_array_mut() {
        let mut order: Vec<usize> = (0..warehouses.len()).collect();
        if let Some(code) = &warehouse_code {
            order.sort_by_key(|i| warehouses[*i]["code"].as_str() != Some(code.as_str()));
        }
        for i in order {
            let have = warehouses[i]["quantity"].as_i64().unwrap_or(0);
            let take = have.min(left).max(0);
            warehouses[i]["quantity"] = json!(have - take);
            left -= take;
        }
    }
    let sum: i64 = record["warehouses"]
        .as_array()
        .map_or(0, |w| w.iter().filter_map(|x| x["quantity"].as_i64()).sum());
    record["quantityAvailable"] = json!(sum);
    let status = record["status"].as_str().map(str::to_owned);
    record["status"] = json!(infer_status(status.as_deref(), sum));
    record["dscoLastQuantityUpdateDate"] = json!(fmt_date(now));
}

#[cfg(test)]
mod tests {
    use crate::sandbox::dsco::stock::infer_status;

    #[test]
    fn status_follows_quantity_as_the_kb_describes() {
        let check = |submitted: Option<&str>, available: i64, expected: &str| {
            assert_eq!(
                infer_status(submitted, available),
                expected,
                "{submitted:?} {available}"
            );
        };
        check(Some("in-stock"), 0, "out-of-stock");
        check(Some("in-stock"), 3, "in-stock");
        check(Some("out-of-stock"), 3, "in-stock");
        check(Some("discontinued"), 3, "in-stock");
        check(Some("discontinued"), 0, "discontinued");
        check(Some("out-of-stock"), 0, "out-of-stock");
        check(Some("hidden"), 5, "hidden");
        check(None, 0, "out-of-stock");
        check(None, 2, "in-stock");
    }
}
