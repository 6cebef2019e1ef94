//! Matching the entries of a DSCO change log back to the objects of the batch that produced them
//! (dsco-api.md §1.8). Pure logic: no HTTP here.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::model::{ApiResponseMessage, ChangeLogEntry};

/// Which change log reports on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeLog {
    /// `/order/log`: acknowledgements, shipments, item cancels, order updates.
    Order,
    /// `/inventory/log`.
    Inventory,
    /// `/invoice/log`.
    Invoice,
}

impl ChangeLog {
    pub(crate) fn path(self) -> &'static str {
        match self {
            ChangeLog::Order => "order/log",
            ChangeLog::Inventory => "inventory/log",
            ChangeLog::Invoice => "invoice/log",
        }
    }

    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            ChangeLog::Order => "GET /order/log",
            ChangeLog::Inventory => "GET /inventory/log",
            ChangeLog::Invoice => "GET /invoice/log",
        }
    }
}

/// What became of one submitted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectStatus {
    Success,
    Failure,
    /// DSCO logged the object but has not finished it.
    Pending,
    /// The request completed without a log entry for this object.
    NotReported,
}

/// The outcome of one object of a batch, in submission order.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectOutcome {
    /// The object's identifying value (`id`, `invoiceId`, `sku`, `dscoOrderId`, `poNumber` or
    /// `supplierOrderNumber`, first found in that order).
    pub key: String,
    pub status: ObjectStatus,
    /// DSCO's codes and descriptions for this object.
    pub messages: Vec<ApiResponseMessage>,
    pub date_processed: Option<String>,
}

impl ObjectOutcome {
    pub fn is_success(&self) -> bool {
        self.status == ObjectStatus::Success
    }
}

/// How the change log is polled after a batch was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLogPolling {
    /// Wait before the first look.
    pub initial_delay: Duration,
    /// Upper bound between two looks (the delay doubles up to it).
    pub max_delay: Duration,
    /// Give up (with `Error::ChangeLogTimeout`) after this long.
    pub deadline: Duration,
}

impl Default for ChangeLogPolling {
    fn default() -> Self {
        ChangeLogPolling {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            deadline: Duration::from_secs(600),
        }
    }
}

impl ChangeLogPolling {
    /// Delay before look number `look` (0-based).
    pub fn delay(&self, look: u32) -> Duration {
        let factor = 1u32 << look.min(16);
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

const KEY_FIELDS: [&str; 6] = [
    "id",
    "invoiceId",
    "sku",
    "dscoOrderId",
    "poNumber",
    "supplierOrderNumber",
];

/// The identifying value of a submitted object or a logged payload.
pub fn object_key(value: &Value) -> Option<String> {
    KEY_FIELDS
        .iter()
        .find_map(|field| match value.get(*field)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// Keys of the objects about to be submitted, in order.
pub fn keys_of<T: Serialize>(objects: &[T]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            serde_json::to_value(o)
                .ok()
                .and_then(|v| object_key(&v))
                .unwrap_or_default()
        })
        .collect()
}

/// True when the log shows the request finished: `COMPLETED`, or (when DSCO omits the status)
/// at least one entry per object and none pending.
pub fn is_complete(status: Option<&str>, logs: &[ChangeLogEntry], expected: usize) -> bool {
    match status {
        Some(s) if s.eq_ignore_ascii_case("COMPLETED") => true,
        Some(_) => false,
        None => {
            !logs.is_empty()
                && logs.len() >= expected
                && logs
                    .iter()
                    .all(|l| !l.status.eq_ignore_ascii_case("pending"))
        }
    }
}

/// Pair log entries with submitted keys; several objects may share a key (two shipments for one
/// order), so entries are taken in order per key.
pub fn match_outcomes(keys: &[String], logs: Vec<ChangeLogEntry>) -> Vec<ObjectOutcome> {
    let mut by_key: HashMap<String, VecDeque<ChangeLogEntry>> = HashMap::new();
    for entry in logs {
        let key = object_key(&entry.payload).unwrap_or_default();
        by_key.entry(key).or_default().push_back(entry);
    }
    keys.iter()
        .map(
            |key| match by_key.get_mut(key).and_then(VecDeque::pop_front) {
                Some(entry) => ObjectOutcome {
                    key: key.clone(),
                    status: match entry.status.to_ascii_lowercase().as_str() {
                        "success" => ObjectStatus::Success,
                        "failure" => ObjectStatus::Failure,
                        _ => ObjectStatus::Pending,
                    },
                    messages: entry.results,
                    date_processed: Some(entry.date_processed),
                },
                None => ObjectOutcome {
                    key: key.clone(),
                    status: ObjectStatus::NotReported,
                    messages: Vec::new(),
                    date_processed: None,
                },
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsco::model::{Acknowledgement, Invoice, OrderIdType};
    use serde_json::json;

    fn entry(payload: Value, status: &str, code: Option<&str>) -> ChangeLogEntry {
        ChangeLogEntry {
            payload,
            date_processed: "2025-11-14T17:02:11+00:00".into(),
            status: status.into(),
            request_method: "api".into(),
            request_method_detail: None,
            request_id: None,
            process_id: None,
            results: code
                .map(|c| {
                    vec![ApiResponseMessage {
                        code: c.into(),
                        severity: Some("error".into()),
                        description: Some(json!("nope")),
                    }]
                })
                .unwrap_or_default(),
        }
    }

    #[test]
    fn keys_follow_the_field_precedence() {
        assert_eq!(
            object_key(&json!({"id": 12, "type": "DSCO_ORDER_ID"})).unwrap(),
            "12"
        );
        assert_eq!(
            object_key(&json!({"invoiceId": "INV-1", "poNumber": "PO-1"})).unwrap(),
            "INV-1"
        );
        assert_eq!(
            object_key(&json!({"poNumber": "PO-1", "shipments": []})).unwrap(),
            "PO-1"
        );
        assert_eq!(
            object_key(&json!({"sku": "A", "warehouses": []})).unwrap(),
            "A"
        );
        assert!(object_key(&json!({"x": 1})).is_none());
        let acks = [Acknowledgement {
            id: "1022".into(),
            id_type: OrderIdType::DscoOrderId,
            supplier_order_number: Some("BP-1".into()),
        }];
        assert_eq!(keys_of(&acks), vec!["1022"]);
        let invoices = [Invoice {
            invoice_id: "INV-9".into(),
            po_number: Some("PO-9".into()),
            ..Default::default()
        }];
        assert_eq!(keys_of(&invoices), vec!["INV-9"]);
    }

    #[test]
    fn outcomes_are_matched_in_submission_order() {
        let keys: Vec<String> = ["A", "B", "A", "C"].iter().map(|s| s.to_string()).collect();
        let logs = vec![
            entry(
                json!({"dscoOrderId": "B"}),
                "failure",
                Some("UNKNOWN_SERVICE_LEVEL"),
            ),
            entry(json!({"dscoOrderId": "A"}), "success", None),
            entry(json!({"dscoOrderId": "A"}), "failure", Some("DUPLICATE")),
        ];
        let outcomes = match_outcomes(&keys, logs);
        let statuses: Vec<ObjectStatus> = outcomes.iter().map(|o| o.status).collect();
        assert_eq!(
            statuses,
            vec![
                ObjectStatus::Success,
                ObjectStatus::Failure,
                ObjectStatus::Failure,
                ObjectStatus::NotReported
            ]
        );
        assert_eq!(outcomes[1].messages[0].code, "UNKNOWN_SERVICE_LEVEL");
        assert_eq!(outcomes[2].messages[0].code, "DUPLICATE");
    }

    #[test]
    fn completion_rules() {
        let done = vec![entry(json!({"sku": "A"}), "success", None)];
        let pending = vec![entry(json!({"sku": "A"}), "pending", None)];
        assert!(is_complete(Some("COMPLETED"), &[], 1));
        assert!(!is_complete(Some("PROCESSING"), &done, 1));
        assert!(is_complete(None, &done, 1));
        assert!(!is_complete(None, &pending, 1));
        assert!(!is_complete(None, &done, 2));
        assert!(!is_complete(None, &[], 0));
    }

    #[test]
    fn polling_delay_doubles_then_caps() {
        let p = ChangeLogPolling {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            deadline: Duration::from_secs(60),
        };
        assert_eq!(p.delay(0), Duration::from_millis(100));
        assert_eq!(p.delay(1), Duration::from_millis(200));
        assert_eq!(p.delay(3), Duration::from_millis(800));
        assert_eq!(p.delay(4), Duration::from_secs(1));
        assert_eq!(p.delay(40), Duration::from_secs(1));
    }
}
