//! The order and line state model of dsco-api.md §2.3, shared by every endpoint that moves an
//! order: line look-up, open quantities, cancelled units, line activity and the derived order
//! status. Orders are the JSON the API returns; no HTTP here.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::state::{fmt_date, new_activity_uuid, quantity, text};

/// One `lineItems[].activity[]` entry.
pub(crate) fn activity(
    action: &str,
    quantity: Option<i64>,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Value {
    let mut entry = json!({
        "action": action,
        "uuid": new_activity_uuid(),
        "activityDate": fmt_date(at),
        "updateDate": fmt_date(at),
    });
    if let Some(q) = quantity {
        entry["quantity"] = json!(q);
    }
    if let Some(r) = reason {
        entry["reason"] = json!(r);
    }
    entry
}

/// A quantity field of a line; 0 when absent.
pub(crate) fn field(line: &Value, key: &str) -> i64 {
    quantity(&line[key]).unwrap_or(0)
}

/// Units of a line still to be shipped or cancelled.
pub(crate) fn open_quantity(line: &Value) -> i64 {
    (field(line, "quantity")
        - field(line, "cancelledQuantity")
        - field(line, "rejectedQuantity")
        - field(line, "shippedQuantity"))
    .max(0)
}

/// Re-derive line and order statuses from the line quantities, and stamp `dscoLastUpdate`.
pub(crate) fn recompute(order: &mut Value, now: DateTime<Utc>) {
    let mut open = 0;
    let mut shipped = 0;
    if let Some(lines) = order["lineItems"].as_array_mut() {
        for line in lines.iter_mut() {
            let remaining = open_quantity(line);
            line["remainingQuantity"] = json!(remaining);
            open += remaining;
            shipped += field(line, "shippedQuantity");
            let qty = field(line, "quantity");
            if qty > 0 && field(line, "cancelledQuantity") + field(line, "rejectedQuantity") >= qty
            {
                line["status"] = json!("cancelled");
            }
        }
    }
    let current = order["dscoStatus"].as_str().unwrap_or("created").to_owned();
    let (status, lifecycle) = if open == 0 && shipped > 0 {
        ("shipped", "completed")
    } else if open == 0 {
        // guess: a fully cancelled order's lifecycle is "completed" (dsco-api.md §2.3).
        ("cancelled", "completed")
    } else if current == "created" && shipped == 0 {
        ("created", "created")
    } else {
        // guess: a partially shipped order stays shipment_pending/acknowledged until every unit is
        // shipped or cancelled (dsco-api.md §2.3, §3.2).
        ("shipment_pending", "acknowledged")
    };
    order["dscoStatus"] = json!(status);
    order["dscoLifecycle"] = json!(lifecycle);
    order["dscoLastUpdate"] = json!(fmt_date(now));
}

/// Find the order line an update names: by `lineNumber` when given, else by the first matching
/// item identifier (dscoItemId → sku → partnerSku → upc → ean).
pub(crate) fn find_line(order: &Value, wanted: &Value) -> Option<usize> {
    let lines = order["lineItems"].as_array()?;
    if let Some(number) = quantity(&wanted["lineNumber"]) {
        return lines
            .iter()
            .position(|l| quantity(&l["lineNumber"]) == Some(number));
    }
    for key in ["dscoItemId", "sku", "partnerSku", "upc", "ean"] {
        if let Some(value) = text(&wanted[key]) {
            let candidates: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| text(&l[key]).as_deref() == Some(value.as_str()))
                .map(|(i, _)| i)
                .collect();
            // Prefer a line with units still open when the same item appears twice.
            if let Some(i) = candidates
                .iter()
                .find(|i| open_quantity(&lines[**i]) > 0)
                .or(candidates.first())
            {
                return Some(*i);
            }
        }
    }
    None
}

/// Whether a line names the same item as an update, when both carry the identifier.
pub(crate) fn item_conflict(line: &Value, wanted: &Value) -> Option<String> {
    for key in ["dscoItemId", "sku", "partnerSku", "upc", "ean"] {
        if let (Some(a), Some(b)) = (text(&line[key]), text(&wanted[key]))
            && a != b
        {
            return Some(format!(
                "line {} has {key} {a}, not {b}",
                line["lineNumber"]
            ));
        }
    }
    None
}

/// Cancel `qty` units of a line (or all open units when `None`).
pub(crate) fn cancel_units(
    order: &mut Value,
    index: usize,
    qty: Option<i64>,
    code: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let line = &mut order["lineItems"][index];
    let open = open_quantity(line);
    let qty = qty.unwrap_or(open);
    if qty < 1 {
        return Err(format!(
            "line {}: cancelledQuantity must be at least 1",
            line["lineNumber"]
        ));
    }
    if qty > open {
        return Err(format!(
            "line {}: cannot cancel {qty} units, only {open} are open",
            line["lineNumber"]
        ));
    }
    line["cancelledQuantity"] = json!(field(line, "cancelledQuantity") + qty);
    line["cancelCode"] = json!(code);
    line["cancelledReason"] = reason.map_or(Value::Null, |r| json!(r));
    if let Some(accepted) = quantity(&line["acceptedQuantity"]) {
        line["acceptedQuantity"] = json!((accepted - qty).max(0));
    }
    if let Some(list) = line["activity"].as_array_mut() {
        list.push(activity("cancel", Some(qty), reason, now));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: &str, lines: Value) -> Value {
        json!({"dscoStatus": status, "dscoLifecycle": "created", "lineItems": lines})
    }

    #[test]
    fn recompute_follows_the_state_model() {
        let now = Utc::now();
        let check = |status: &str, lines: Value, expected: (&str, &str)| {
            let mut o = order(status, lines.clone());
            recompute(&mut o, now);
            assert_eq!(
                (
                    o["dscoStatus"].as_str().unwrap(),
                    o["dscoLifecycle"].as_str().unwrap()
                ),
                expected,
                "{status} {lines}"
            );
        };
        let line = |q: i64, shipped: i64, cancelled: i64| json!({"quantity": q, "shippedQuantity": shipped, "cancelledQuantity": cancelled});
        check("created", json!([line(2, 0, 0)]), ("created", "created"));
        check(
            "shipment_pending",
            json!([line(2, 0, 0)]),
            ("shipment_pending", "acknowledged"),
        );
        check(
            "shipment_pending",
            json!([line(2, 1, 0)]),
            ("shipment_pending", "acknowledged"),
        );
        check(
            "created",
            json!([line(2, 1, 0)]),
            ("shipment_pending", "acknowledged"),
        );
        check(
            "shipment_pending",
            json!([line(2, 1, 1)]),
            ("shipped", "completed"),
        );
        check(
            "shipment_pending",
            json!([line(2, 0, 2), line(1, 1, 0)]),
            ("shipped", "completed"),
        );
        check(
            "created",
            json!([line(2, 0, 2)]),
            ("cancelled", "completed"),
        );
    }

    #[test]
    fn lines_are_found_by_number_or_by_the_first_open_matching_item() {
        let o = json!({"lineItems": [
            {"lineNumber": 1, "sku": "A", "quantity": 1, "shippedQuantity": 1},
            {"lineNumber": 2, "sku": "A", "quantity": 1},
            {"lineNumber": 3, "sku": "B", "upc": "0123", "quantity": 1},
        ]});
        assert_eq!(find_line(&o, &json!({"lineNumber": 3})), Some(2));
        assert_eq!(find_line(&o, &json!({"sku": "A"})), Some(1));
        assert_eq!(find_line(&o, &json!({"upc": "0123"})), Some(2));
        assert_eq!(find_line(&o, &json!({"sku": "C"})), None);
        assert!(item_conflict(&o["lineItems"][2], &json!({"lineNumber": 3, "sku": "A"})).is_some());
    }
}
