//! What the inventory flow keeps: per published DSCO SKU what DSCO last confirmed and what was
//! last published ([`InventoryItem`]); the products and SKUs whose stock may have changed since
//! the last delta (the change queue, filled by webhooks and by the orders and shipments flows);
//! and per DSCO order that is not yet a Brightpearl order the units it holds
//! ([`PendingUnits`]: DSCO decremented its stock already, dsco-api.md §4.3).
//!
//! The store keeps these as data; the flows decide what they mean.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::error::{Error, decode, encode};
use super::tables::{CHANGE_TO_MILLIS, DSCO_ORDER_ID_TO_PENDING_UNITS, SKU_TO_INVENTORY};
use super::tx::{Reads, Tx, WriteTx};

/// The latest reconcile report's document name.
pub const RECONCILE_DOCUMENT: &str = "inventory.reconcile.latest";

/// One published DSCO SKU.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InventoryItem {
    pub sku: String,
    pub product_id: u32,
    /// Which rule published it (`item_mapping`, `catalog`, `seen_on_order`).
    pub rule: String,
    /// What DSCO's change log last confirmed, per DSCO warehouse code.
    #[serde(default)]
    pub confirmed: BTreeMap<String, i64>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// What was last computed and sent (or is waiting to be sent), per code.
    #[serde(default)]
    pub published: BTreeMap<String, i64>,
    pub published_at: Option<DateTime<Utc>>,
    pub request_id: Option<String>,
    /// `in_sync`, `pending`, `rejected`, `unmatched`, `skipped`.
    pub state: String,
    pub reason: Option<String>,
    /// When Brightpearl's availability behind `detail` was read.
    #[serde(default)]
    pub read_at: Option<DateTime<Utc>>,
    /// The last computation, for `/v1/inventory`: per code the Brightpearl quantity and the
    /// deductions.
    #[serde(default)]
    pub detail: BTreeMap<String, CodeDetail>,
}

/// How one code's quantity was worked out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeDetail {
    pub brightpearl: i64,
    pub pending_orders: i64,
    pub buffer: i64,
    pub published: i64,
}

/// The units a DSCO order holds that is not yet a Brightpearl order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingUnits {
    pub dsco_order_id: String,
    pub retailer: Option<String>,
    pub lines: Vec<PendingLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingLine {
    pub sku: String,
    pub quantity: i64,
    pub warehouse_code: Option<String>,
}

impl<T: Reads> Tx<T> {
    /// Every published item, by SKU.
    pub fn inventory_items(&self) -> Result<Vec<InventoryItem>, Error> {
        let table = self.table(SKU_TO_INVENTORY)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(Error::db)? {
            let (_, value) = entry.map_err(Error::db)?;
            out.push(decode("inventory", value.value())?);
        }
        Ok(out)
    }

    pub fn inventory_item(&self, sku: &str) -> Result<Option<InventoryItem>, Error> {
        let table = self.table(SKU_TO_INVENTORY)?;
        match table.get(sku).map_err(Error::db)? {
            Some(value) => Ok(Some(decode("inventory", value.value())?)),
            None => Ok(None),
        }
    }

    /// The change queue: `product:<id>` and `sku:<dsco sku>` entries.
    pub fn stock_changes(&self) -> Result<Vec<String>, Error> {
        let table = self.table(CHANGE_TO_MILLIS)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(Error::db)? {
            let (key, _) = entry.map_err(Error::db)?;
            out.push(key.value().to_owned());
        }
        Ok(out)
    }

    /// The units one DSCO order holds, when it is not yet a Brightpearl order.
    pub fn pending_units_of(&self, dsco_order_id: &str) -> Result<Option<PendingUnits>, Error> {
        let table = self.table(DSCO_ORDER_ID_TO_PENDING_UNITS)?;
        match table.get(dsco_order_id).map_err(Error::db)? {
            Some(value) => Ok(Some(decode("pending_units", value.value())?)),
            None => Ok(None),
        }
    }

    /// Every DSCO order holding units that is not yet a Brightpearl order.
    pub fn pending_units(&self) -> Result<Vec<PendingUnits>, Error> {
        let table = self.table(DSCO_ORDER_ID_TO_PENDING_UNITS)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(Error::db)? {
            let (_, value) = entry.map_err(Error::db)?;
            out.push(decode("pending_units", value.value())?);
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    pub fn put_inventory_item(&self, item: &InventoryItem) -> Result<(), Error> {
        let bytes = encode(item);
        self.table_mut(SKU_TO_INVENTORY)?
            .insert(item.sku.as_str(), bytes.as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    pub fn remove_inventory_item(&self, sku: &str) -> Result<(), Error> {
        self.table_mut(SKU_TO_INVENTORY)?
            .remove(sku)
            .map_err(Error::db)?;
        Ok(())
    }

    /// Queue changes for the next delta (`product:<id>`, `sku:<dsco sku>`).
    pub fn queue_stock_changes(&self, changes: &[String]) -> Result<(), Error> {
        let millis = self.now().timestamp_millis();
        let mut table = self.table_mut(CHANGE_TO_MILLIS)?;
        for change in changes {
            table.insert(change.as_str(), millis).map_err(Error::db)?;
        }
        Ok(())
    }

    /// Remove changes a run dealt with, unless queued again after `read_at` (compare-and-delete).
    pub fn clear_stock_changes(
        &self,
        changes: &[String],
        read_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut table = self.table_mut(CHANGE_TO_MILLIS)?;
        for change in changes {
            let newer = table
                .get(change.as_str())
                .map_err(Error::db)?
                .is_some_and(|m| m.value() > read_at.timestamp_millis());
            if !newer {
                table.remove(change.as_str()).map_err(Error::db)?;
            }
        }
        Ok(())
    }

    /// Keep the units of a DSCO order that is not yet a Brightpearl order.
    pub fn put_pending_units(&self, units: &PendingUnits) -> Result<(), Error> {
        let bytes = encode(units);
        self.table_mut(DSCO_ORDER_ID_TO_PENDING_UNITS)?
            .insert(units.dsco_order_id.as_str(), bytes.as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    /// The order became a Brightpearl order, or was cancelled: its units are no longer held.
    /// Returns what it held.
    pub fn remove_pending_units(&self, dsco_order_id: &str) -> Result<Option<PendingUnits>, Error> {
        let removed = self
            .table_mut(DSCO_ORDER_ID_TO_PENDING_UNITS)?
            .remove(dsco_order_id)
            .map_err(Error::db)?
            .map(|v| decode::<PendingUnits>("pending_units", v.value()));
        removed.transpose()
    }
}
