//! What a supplier cancel sends (pure): every line quantity not yet shipped on DSCO, with the
//! configured code and the reason (the order's latest note, else its status name). A line already
//! shipped is never cancelled; an order with nothing left to cancel is refused with the reason.

use std::collections::BTreeMap;

use crate::dsco::{self, LineItemForCancel, OrderForCancel, OrderIdType};

/// The cancel of an order's open units, or why nothing can be cancelled. `unshipped`: units
/// still open per DSCO line (as the shipments flow computes them from `GET /order/`).
pub fn supplier_cancel(
    order: &dsco::Order,
    unshipped: &BTreeMap<u32, i64>,
    code: &str,
    reason: Option<&str>,
) -> Result<OrderForCancel, String> {
    let id = order
        .dsco_order_id
        .as_ref()
        .map(|i| i.0.clone())
        .ok_or_else(|| format!("order {} has no dscoOrderId", order.po_number))?;
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let line_items: Vec<LineItemForCancel> = order
        .line_items
        .iter()
        .filter_map(|line| {
            let n = line.line_number?;
            let open = unshipped.get(&n).copied().unwrap_or(0);
            (open > 0).then(|| LineItemForCancel {
                line_number: Some(n),
                dsco_item_id: line.dsco_item_id.clone(),
                sku: line.sku.clone(),
                partner_sku: line.partner_sku.clone(),
                cancelled_quantity: open,
                cancel_code: code.to_owned(),
                cancelled_reason: reason.clone(),
                ..Default::default()
            })
        })
        .collect();
    if line_items.is_empty() {
        return Err(format!(
            "order {id} is shipped on DSCO; it cannot be cancelled"
        ));
    }
    Ok(OrderForCancel {
        id,
        id_type: OrderIdType::DscoOrderId,
        line_items,
    })
}

/// The `dsco_once` key of a cancel: the order id, then `line:quantity` per line.
pub fn payload_key(cancel: &OrderForCancel) -> String {
    let lines: Vec<String> = cancel
        .line_items
        .iter()
        .map(|l| format!("{}:{}", l.line_number.unwrap_or(0), l.cancelled_quantity))
        .collect();
    format!("{}|{}", cancel.id, lines.join("+"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order() -> dsco::Order {
        serde_json::from_value(json!({
            "dscoOrderId": "1022000001",
            "poNumber": "PO-9",
            "shipping": {"name": "Pat Doe"},
            "lineItems": [
                {"lineNumber": 1, "sku": "EX-001", "quantity": 3},
                {"lineNumber": 2, "dscoItemId": "77", "quantity": 2}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn only_what_is_not_shipped_is_cancelled_with_the_code_and_reason() {
        // Line 1: 1 of 3 shipped; line 2: fully shipped.
        let open: BTreeMap<u32, i64> = [(1, 2), (2, 0)].into();
        let cancel = supplier_cancel(&order(), &open, "CXSC", Some(" Cancel remainder ")).unwrap();
        assert_eq!(cancel.id, "1022000001");
        assert_eq!(cancel.id_type, OrderIdType::DscoOrderId);
        assert_eq!(cancel.line_items.len(), 1);
        let line = &cancel.line_items[0];
        assert_eq!((line.line_number, line.cancelled_quantity), (Some(1), 2));
        assert_eq!(line.sku.as_deref(), Some("EX-001"));
        assert_eq!(line.cancel_code, "CXSC");
        assert_eq!(line.cancelled_reason.as_deref(), Some("Cancel remainder"));
        assert_eq!(payload_key(&cancel), "1022000001|1:2");
        // The wire form DSCO documents (dsco-api.md §2.6).
        let wire = serde_json::to_value(&cancel).unwrap();
        assert_eq!(wire["type"], "DSCO_ORDER_ID");
        assert_eq!(wire["lineItems"][0]["cancelledQuantity"], 2);
    }

    #[test]
    fn a_fully_shipped_order_cannot_be_cancelled() {
        let open: BTreeMap<u32, i64> = [(1, 0), (2, 0)].into();
        assert_eq!(
            supplier_cancel(&order(), &open, "CXSO", None).unwrap_err(),
            "order 1022000001 is shipped on DSCO; it cannot be cancelled"
        );
    }
}
