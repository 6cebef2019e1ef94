//! Which Brightpearl sales order a DSCO order is: the typed order link, its lookups in both
//! directions (DSCO order id ↔ Brightpearl order id), and the ids records and views name an
//! order by. Every flow that follows an imported order finds it here; only `orders` makes links.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::brightpearl;
use crate::dsco;
use crate::store::{self, Link, ReadTx, RecordDetail, WriteTx};

/// Link and intent kind for orders.
pub const ORDER_KIND: &str = "order";

/// The DSCO order id, empty when DSCO sent none.
pub fn dsco_id(order: &dsco::Order) -> String {
    order
        .dsco_order_id
        .as_ref()
        .map(|i| i.0.clone())
        .unwrap_or_default()
}

/// The ids a record and a view need of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRef {
    pub dsco_order_id: String,
    pub po_number: String,
    pub retailer: Option<String>,
}

impl OrderRef {
    pub fn of(order: &dsco::Order) -> OrderRef {
        OrderRef {
            dsco_order_id: dsco_id(order),
            po_number: order.po_number.clone(),
            retailer: order.dsco_retailer_id.clone(),
        }
    }

    /// A record's related ids: the PO number, the retailer and, when known, the Brightpearl order.
    pub fn related(&self, bp_order_id: Option<u64>) -> Vec<(String, String)> {
        let mut out = vec![("po_number".to_owned(), self.po_number.clone())];
        if let Some(r) = &self.retailer {
            out.push(("dsco_retailer_id".into(), r.clone()));
        }
        if let Some(bp) = bp_order_id {
            out.push(("bp_order_id".into(), bp.to_string()));
        }
        out
    }

    /// The order's ids, and nothing else, as a record's detail.
    pub fn ids(&self, bp_order_id: Option<u64>) -> RecordDetail {
        RecordDetail {
            related: self.related(bp_order_id),
            ..Default::default()
        }
    }
}

/// A DSCO order's link to its Brightpearl sales order, and what is still to do on it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLink {
    pub dsco_order_id: String,
    pub bp_order_id: u64,
    pub linked_at: DateTime<Utc>,
    /// A note still to be added to the Brightpearl order.
    pub pending_note: Option<String>,
    /// The Brightpearl order was moved to the cancelled status.
    pub cancelled: bool,
    /// DSCO reported the acknowledgement (or showed it on the order).
    pub acknowledged: bool,
    /// The DSCO line numbers of the create body's rows, in row order (empty for orders taken
    /// over from another connector or created before this was kept).
    pub create_lines: Vec<u32>,
    /// Brightpearl order row id → DSCO line number, filled from the first Order GET after the
    /// create (by the row's `externalRef`, else by the create body's row order).
    pub rows: std::collections::BTreeMap<u64, u32>,
    /// The mapped rows' quantities as first read (the baseline a later reduction is told by).
    pub row_quantities: std::collections::BTreeMap<u64, i64>,
}

/// The link's `data` as stored: existing stores hold these names and shapes, so they stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LinkData {
    #[serde(default)]
    pending_note: Option<String>,
    #[serde(default)]
    cancelled: bool,
    #[serde(default)]
    acknowledged: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    create_lines: Vec<u32>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    rows: std::collections::BTreeMap<u64, u32>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    row_quantities: std::collections::BTreeMap<u64, i64>,
}

impl OrderLink {
    /// A link made at `now`, with nothing pending.
    pub fn new(dsco_order_id: &str, bp_order_id: u64, now: DateTime<Utc>) -> OrderLink {
        OrderLink {
            dsco_order_id: dsco_order_id.to_owned(),
            bp_order_id,
            linked_at: now,
            pending_note: None,
            cancelled: false,
            acknowledged: false,
            create_lines: Vec::new(),
            rows: Default::default(),
            row_quantities: Default::default(),
        }
    }

    /// Keep the mapped rows' quantities as this read shows them, once (the row map filled, no
    /// baseline yet). Whether it changed.
    pub fn remember_row_quantities(&mut self, quantities: &[(u64, i64)]) -> bool {
        if self.rows.is_empty() || !self.row_quantities.is_empty() {
            return false;
        }
        self.row_quantities = quantities
            .iter()
            .filter(|(id, _)| self.rows.contains_key(id))
            .copied()
            .collect();
        !self.row_quantities.is_empty()
    }

    /// Fill the row map from an Order GET's rows (`id → (externalRef, has a product)`): by the
    /// row's `dsco:line:N` reference, else by the create body's row order. Whether it changed.
    pub fn fill_rows(&mut self, order_rows: &[(u64, Option<String>, bool)]) -> bool {
        if !self.rows.is_empty() {
            return false;
        }
        let mut rows = std::collections::BTreeMap::new();
        for (id, external_ref, _) in order_rows {
            if let Some(n) = external_ref
                .as_deref()
                .and_then(|r| r.strip_prefix("dsco:line:"))
                .and_then(|n| n.parse::<u32>().ok())
            {
                rows.insert(*id, n);
            }
        }
        if rows.is_empty() && !self.create_lines.is_empty() {
            let mut product_rows: Vec<u64> = order_rows
                .iter()
                .filter(|(_, _, product)| *product)
                .map(|(id, _, _)| *id)
                .collect();
            product_rows.sort_unstable();
            for (id, n) in product_rows.into_iter().zip(self.create_lines.iter()) {
                rows.insert(id, *n);
            }
        }
        if rows.is_empty() {
            return false;
        }
        self.rows = rows;
        true
    }

    /// Read a stored link. Its data is read leniently, as before it was typed: a missing or
    /// unreadable `data` means nothing is pending.
    fn from_link(link: Link) -> Result<OrderLink, store::Error> {
        let bp_order_id = link
            .bp_id
            .parse::<u64>()
            .map_err(|_| store::Error::Decode {
                table: "links",
                key: link.dsco_id.clone(),
                message: format!("Brightpearl order id {:?} is not a number", link.bp_id),
            })?;
        let data: LinkData = serde_json::from_value(link.data).unwrap_or_default();
        Ok(OrderLink {
            dsco_order_id: link.dsco_id,
            bp_order_id,
            linked_at: link.linked_at,
            pending_note: data.pending_note,
            cancelled: data.cancelled,
            acknowledged: data.acknowledged,
            create_lines: data.create_lines,
            rows: data.rows,
            row_quantities: data.row_quantities,
        })
    }

    fn to_link(&self) -> Link {
        let data = LinkData {
            pending_note: self.pending_note.clone(),
            cancelled: self.cancelled,
            acknowledged: self.acknowledged,
            create_lines: self.create_lines.clone(),
            rows: self.rows.clone(),
            row_quantities: self.row_quantities.clone(),
        };
        Link {
            dsco_id: self.dsco_order_id.clone(),
            bp_id: self.bp_order_id.to_string(),
            linked_at: self.linked_at,
            // A struct of plain fields always serializes.
            data: serde_json::to_value(&data).unwrap_or_default(),
        }
    }
}

/// The link of a DSCO order.
pub fn find(tx: &ReadTx, dsco_order_id: &str) -> Result<Option<OrderLink>, store::Error> {
    tx.link(ORDER_KIND, dsco_order_id)?
        .map(OrderLink::from_link)
        .transpose()
}

/// [`find`], inside a write transaction.
pub fn find_in(tx: &WriteTx, dsco_order_id: &str) -> Result<Option<OrderLink>, store::Error> {
    tx.link(ORDER_KIND, dsco_order_id)?
        .map(OrderLink::from_link)
        .transpose()
}

/// The link of the DSCO order a Brightpearl order was made from (or found for).
pub fn find_by_bp_order(tx: &ReadTx, bp_order_id: u64) -> Result<Option<OrderLink>, store::Error> {
    tx.link_by_bp_id(ORDER_KIND, &bp_order_id.to_string())?
        .map(OrderLink::from_link)
        .transpose()
}

/// Store a link; relinking a DSCO order to another Brightpearl order is refused.
/// Save a link. The DSCO order is a Brightpearl order now: the units it held for the inventory
/// flow are released (and their SKUs queued for its next delta) in the same transaction.
pub fn save(tx: &WriteTx, link: &OrderLink) -> Result<(), store::Error> {
    if let Some(held) = tx.remove_pending_units(&link.dsco_order_id)? {
        let changes: Vec<String> = held
            .lines
            .iter()
            .map(|l| format!("sku:{}", l.sku))
            .collect();
        tx.queue_stock_changes(&changes)?;
    }
    tx.put_link(ORDER_KIND, &link.to_link())
}

/// The lowest Brightpearl order id among search hits whose `externalRef` is this DSCO order's
/// (a hit without the column counts: Order search may leave it out, brightpearl-api.md §4.5).
pub fn lowest_with_external_ref(
    rows: Vec<brightpearl::OrderSearchRow>,
    dsco_order_id: &str,
) -> Option<u64> {
    rows.into_iter()
        .filter(|r| r.external_ref.as_deref().is_none_or(|e| e == dsco_order_id))
        .map(|r| r.order_id.0)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Links as stores hold them today: the typed link reads them and writes the same bytes.
    #[test]
    fn stored_links_round_trip_byte_for_byte() {
        for stored in [
            r#"{"dsco_id":"D-1","bp_id":"7","linked_at":"2024-05-01T10:00:00Z","data":{"acknowledged":false,"cancelled":false,"pending_note":"Gift message: hi"}}"#,
            r#"{"dsco_id":"D-2","bp_id":"8","linked_at":"2024-05-01T10:00:00.123456Z","data":{"acknowledged":true,"cancelled":true,"pending_note":null}}"#,
        ] {
            let link: Link = serde_json::from_str(stored).unwrap();
            let typed = OrderLink::from_link(link).unwrap();
            assert_eq!(serde_json::to_string(&typed.to_link()).unwrap(), stored);
        }
        let new = OrderLink::new("D-3", 9, Utc::now()).to_link();
        assert_eq!(
            serde_json::to_string(&new.data).unwrap(),
            r#"{"acknowledged":false,"cancelled":false,"pending_note":null}"#
        );
    }

    #[test]
    fn a_link_without_data_has_nothing_pending_and_a_bad_id_is_named() {
        let link: Link = serde_json::from_str(
            r#"{"dsco_id":"D-1","bp_id":"7","linked_at":"2024-05-01T10:00:00Z"}"#,
        )
        .unwrap();
        let typed = OrderLink::from_link(link.clone()).unwrap();
        assert_eq!((typed.bp_order_id, typed.acknowledged), (7, false));
        let bad = Link {
            bp_id: "x7".into(),
            ..link
        };
        let err = OrderLink::from_link(bad).unwrap_err().to_string();
        assert!(err.contains("D-1") && err.contains("x7"), "{err}");
    }
}
