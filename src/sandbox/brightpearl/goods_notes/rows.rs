//! What goods-out notes (brightpearl-api.md §4.14) and drop-ship notes (§4.15) share: the one
//! parser of their `products[]` rows, the check of those rows against what the order has left to
//! allocate, and the refusal type their handlers answer with.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::sandbox::brightpearl::state::State;
use crate::sandbox::brightpearl::wire;

/// A refused request: status, error code, message.
pub(super) type Refusal = (StatusCode, &'static str, String);

pub(super) fn refuse(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> Refusal {
    (status, code, message.into())
}

pub(super) fn respond(refusal: Refusal) -> Response {
    wire::error(refusal.0, refusal.1, refusal.2)
}

/// One requested row of a note: the order row, the product it must carry (when named) and the
/// quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowRequest {
    pub row_id: u32,
    pub product_id: Option<u32>,
    pub quantity: i64,
}

impl RowRequest {
    /// A row that does not name its product.
    pub(super) fn any_product(row_id: u32, quantity: i64) -> Self {
        RowRequest {
            row_id,
            product_id: None,
            quantity,
        }
    }
}

/// Read the `products[]` of a goods-out warehouse entry or a drop-ship supplier entry:
/// `{salesOrderRowId, productId?, quantity}`; missing numbers read as 0, so the row check refuses
/// them.
pub(super) fn parse_rows(products: &[Value]) -> Vec<RowRequest> {
    products
        .iter()
        .map(|product| RowRequest {
            row_id: product
                .get("salesOrderRowId")
                .and_then(Value::as_u64)
                .unwrap_or(0) as u32,
            product_id: product
                .get("productId")
                .and_then(Value::as_u64)
                .map(|id| id as u32),
            quantity: product.get("quantity").and_then(Value::as_i64).unwrap_or(0),
        })
        .collect()
}

/// What is left to allocate per order row (ordered minus on goods-out / drop-ship notes).
pub(super) fn unallocated(state: &State, order_id: u32) -> BTreeMap<u32, (u32, i64)> {
    let mut left = BTreeMap::new();
    if let Some(order) = state.orders.get(&order_id) {
        for row in order.rows.values() {
            if let Some(product_id) = row.product_id {
                left.insert(row.id, (product_id, row.quantity.whole()));
            }
        }
    }
    let notes = state
        .goods_out
        .values()
        .filter(|note| note.order_id == order_id)
        .map(|note| &note.rows)
        .chain(
            state
                .drop_ship
                .values()
                .filter(|note| note.order_id == order_id)
                .map(|note| &note.rows),
        );
    for rows in notes {
        for (row_id, (_, quantity)) in rows {
            if let Some(entry) = left.get_mut(row_id) {
                entry.1 -= quantity;
            }
        }
    }
    left
}

/// Check requested rows against what the order has left; returns the note's rows, order row id →
/// (product id, quantity), with repeated rows added up.
pub(super) fn check_rows(
    state: &State,
    order_id: u32,
    rows: &[RowRequest],
) -> Result<BTreeMap<u32, (u32, i64)>, Refusal> {
    if rows.is_empty() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "WHSC-006",
            "No products to fulfil",
        ));
    }
    let mut left = unallocated(state, order_id);
    let mut out: BTreeMap<u32, (u32, i64)> = BTreeMap::new();
    for RowRequest {
        row_id,
        product_id,
        quantity,
    } in rows
    {
        let Some((row_product, remaining)) = left.get_mut(row_id) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "WHSC-003",
                format!("Order row {row_id} is not a product row of order {order_id}"),
            ));
        };
        if product_id.is_some_and(|product| product != *row_product) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "WHSC-004",
                format!(
                    "Product {} is not the product of order row {row_id}",
                    product_id.unwrap_or_default()
                ),
            ));
        }
        if *quantity <= 0 || *quantity > *remaining {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "WHSC-005",
                format!(
                    "Quantity {quantity} for order row {row_id} is more than the {remaining} left to fulfil"
                ),
            ));
        }
        *remaining -= quantity;
        let entry = out.entry(*row_id).or_insert((*row_product, 0));
        entry.1 += quantity;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{RowRequest, parse_rows};

    #[test]
    fn rows_read_the_three_fields_and_missing_numbers_as_zero() {
        let products = json!([
            {"salesOrderRowId": 12, "productId": 1001, "quantity": 2},
            {"salesOrderRowId": 13, "quantity": 1},
            {"productId": "1001"},
        ]);
        let rows = parse_rows(products.as_array().unwrap());
        let row = |row_id, product_id, quantity| RowRequest {
            row_id,
            product_id,
            quantity,
        };
        assert_eq!(
            rows,
            vec![row(12, Some(1001), 2), row(13, None, 1), row(0, None, 0)]
        );
    }
}
