//! The simulated account's data and the small helpers every handler shares (dates, item look-up).
//! No HTTP here.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::jobs::LogEntry;
use super::limits::Bucket;

/// Everything the simulated DSCO account holds.
#[derive(Default)]
pub(crate) struct State {
    /// Orders by `dscoOrderId`, in creation order (ids grow).
    pub orders: BTreeMap<u64, Value>,
    pub next_order_id: u64,
    pub next_package_id: u64,
    pub next_item_id: u64,
    pub next_invoice_id: u64,
    /// Catalog items (`ItemCatalog`) by SKU.
    pub catalog: BTreeMap<String, Value>,
    /// Inventory (`ItemInventory`) by SKU.
    pub inventory: BTreeMap<String, Value>,
    /// Invoices visible through `GET /invoice` (processed ones only).
    pub invoices: Vec<Value>,
    pub warehouses: Vec<Value>,
    pub trading_partners: Vec<Value>,
    /// Issued access tokens and their expiry.
    pub tokens: HashMap<String, DateTime<Utc>>,
    /// Cached search results by scroll id.
    pub scrolls: HashMap<String, Scroll>,
    /// Change-log entries of all three logs, in submission order.
    pub log: Vec<LogEntry>,
    /// Rate-limit buckets by "METHOD /path".
    pub buckets: HashMap<String, Vec<Bucket>>,
    /// How queued work is processed: the delay and the hold switch (kept across a reset).
    pub processing: Processing,
    /// Order reads leave out the lines' `shippedQuantity` and `remainingQuantity`, which
    /// Rithum's OpenAPI describes as OrderStream fields (dsco-openapi-v3.yaml, Order lineItems):
    /// whether `GET /order/` sends them is unconfirmed, so a client must work without them.
    pub hide_stream_quantities: bool,
}

impl State {
    /// An order as a read answers it (see [`State::hide_stream_quantities`]).
    pub fn as_read(&self, order: &Value) -> Value {
        let mut order = order.clone();
        if self.hide_stream_quantities
            && let Some(lines) = order.get_mut("lineItems").and_then(Value::as_array_mut)
        {
            for line in lines.iter_mut().filter_map(Value::as_object_mut) {
                line.remove("shippedQuantity");
                line.remove("remainingQuantity");
            }
        }
        order
    }
}

/// The switches of asynchronous processing: a scenario changes them while the simulator runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processing {
    /// How long after submission queued work is due (measured on the clock).
    pub delay: std::time::Duration,
    /// While held, nothing queued is processed: entries stay `pending` (their request reads as
    /// `PROCESSING`) until released, then everything due is processed.
    pub held: bool,
}

/// A cached search: the result snapshot, how far the client has read, when it last read.
pub(crate) struct Scroll {
    pub items: Vec<Value>,
    pub position: usize,
    pub per_page: usize,
    pub touched: DateTime<Utc>,
    /// What the search returns: the response's array field, `orders`, `logs` or `warehouses`.
    pub field: &'static str,
    /// For change-log searches by request id: the PROCESSING/COMPLETED flag.
    pub flag: Option<&'static str>,
}

/// How long a scroll stays alive after the previous page was fetched (dsco-api.md §1.9).
pub(crate) const SCROLL_TTL_SECONDS: i64 = 300;

impl State {
    pub fn new_order_id(&mut self) -> u64 {
        if self.next_order_id == 0 {
            self.next_order_id = 1_022_000_001;
        }
        let id = self.next_order_id;
        self.next_order_id += 1;
        id
    }

    pub fn new_package_id(&mut self) -> u64 {
        if self.next_package_id == 0 {
            self.next_package_id = 2_025_000_001;
        }
        let id = self.next_package_id;
        self.next_package_id += 1;
        id
    }

    pub fn new_item_id(&mut self) -> String {
        if self.next_item_id == 0 {
            self.next_item_id = 1_296_600_001;
        }
        let id = self.next_item_id;
        self.next_item_id += 1;
        id.to_string()
    }

    pub fn new_invoice_id(&mut self) -> String {
        if self.next_invoice_id == 0 {
            self.next_invoice_id = 3_100_000_001;
        }
        let id = self.next_invoice_id;
        self.next_invoice_id += 1;
        id.to_string()
    }

    /// Snapshot a search result and answer its first page. Every non-empty page carries the
    /// scroll id (the same for all pages); the page after the last one is empty and carries none.
    // guess: the reference allows either end signal; we give both (dsco-api.md §1.9).
    pub fn start_scroll(
        &mut self,
        items: Vec<Value>,
        per_page: usize,
        field: &'static str,
        flag: Option<&'static str>,
        now: DateTime<Utc>,
    ) -> Value {
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.scrolls.insert(
            id.clone(),
            Scroll {
                items,
                position: 0,
                per_page: per_page.max(1),
                touched: now,
                field,
                flag,
            },
        );
        self.next_page(&id, field, now).unwrap_or_default()
    }

    /// The next page of a scroll of `field` results; `None` when unknown, issued by another
    /// search kind, or idle for more than five minutes.
    pub fn next_page(&mut self, id: &str, field: &str, now: DateTime<Utc>) -> Option<Value> {
        self.scrolls
            .retain(|_, s| (now - s.touched).num_seconds() <= SCROLL_TTL_SECONDS);
        let scroll = self.scrolls.get_mut(id).filter(|s| s.field == field)?;
        let end = (scroll.position + scroll.per_page).min(scroll.items.len());
        let page: Vec<Value> = scroll.items[scroll.position..end].to_vec();
        scroll.position = end;
        scroll.touched = now;
        let mut body = serde_json::Map::new();
        if let Some(flag) = scroll.flag {
            body.insert("status".into(), Value::from(flag));
        }
        if !page.is_empty() {
            body.insert("scrollId".into(), Value::from(id));
        }
        body.insert(scroll.field.into(), Value::Array(page));
        Some(Value::Object(body))
    }

    /// The order with this `dscoOrderId`.
    pub fn order_mut(&mut self, dsco_order_id: &str) -> Option<&mut Value> {
        let id: u64 = dsco_order_id.trim().parse().ok()?;
        self.orders.get_mut(&id)
    }

    /// The `dscoOrderId`s of orders whose `key` field equals `value`, oldest first.
    pub fn find_orders(&self, key: &str, value: &str) -> Vec<u64> {
        self.orders
            .iter()
            .filter(|(_, o)| match &o[key] {
                Value::String(s) => s == value,
                Value::Number(n) => n.to_string() == value,
                _ => false,
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Resolve an order identified by one of the three order keys carried in `object`
    /// (`dscoOrderId` | `poNumber` | `supplierOrderNumber`), as shipments and invoices do.
    pub fn resolve_order_by_fields(&self, object: &Value) -> Result<u64, String> {
        for key in ["dscoOrderId", "poNumber", "supplierOrderNumber"] {
            if let Some(value) = text(&object[key]) {
                return self
                    .find_orders(key, &value)
                    .first()
                    .copied()
                    .ok_or_else(|| format!("no order found with {key} {value}"));
            }
        }
        Err("one of dscoOrderId, poNumber or supplierOrderNumber is required".into())
    }

    /// Resolve an `OrderId`-style reference `{id, type}` (acknowledge, item cancel).
    pub fn resolve_order_by_type(&self, object: &Value) -> Result<u64, String> {
        let id = text(&object["id"]).ok_or("id is required")?;
        let key = match object["type"].as_str() {
            Some("DSCO_ORDER_ID") => "dscoOrderId",
            Some("PO_NUMBER") => "poNumber",
            Some("SUPPLIER_ORDER_NUMBER") => "supplierOrderNumber",
            Some(other) => {
                return Err(format!(
                    "type {other} is not one of DSCO_ORDER_ID, PO_NUMBER, SUPPLIER_ORDER_NUMBER"
                ));
            }
            None => return Err("type is required".into()),
        };
        self.find_orders(key, &id)
            .first()
            .copied()
            .ok_or_else(|| format!("no order found with {key} {id}"))
    }

    /// The catalog item an order line or update names, resolved in DSCO's order
    /// dscoItemId → sku → partnerSku → upc → ean (dsco-api.md §2.4).
    pub fn find_item(&self, object: &Value) -> Option<&Value> {
        for key in ["dscoItemId", "sku", "partnerSku", "upc", "ean"] {
            if let Some(value) = text(&object[key]) {
                let found = self.catalog.values().find(|item| {
                    if key == "partnerSku" {
                        item["partnerSkuMap"].as_array().is_some_and(|map| {
                            map.iter().any(|p| p["partnerSku"].as_str() == Some(&value))
                        })
                    } else {
                        item[key].as_str() == Some(value.as_str())
                    }
                });
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }
}

/// A string or number field as text; `None` when absent, null or empty.
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative integer quantity field; floats are truncated, strings refused.
pub(crate) fn quantity(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_f64().map(|f| f as i64))
}

/// DSCO's timestamp style: seconds and `+00:00` (dsco-api.md §1.11, observed).
pub(crate) fn fmt_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Parse an RFC 3339 timestamp (the OpenAPI's `date-time`; dsco-api.md §0.0).
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Parse one of our own stored date fields.
pub(crate) fn stored_date(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(parse_date)
}

pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A 32-hex-digit id as DSCO puts on line activity (observed, dsco-api.md §2.4).
pub(crate) fn new_activity_uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
