//! Schema migrations: one function per step, each run inside the write transaction that bumps
//! `schema_version`, so a crash mid-migration leaves the previous version intact.
//!
//! A step reads stored values as the raw JSON shapes it needs (a few fields), never through the
//! product's types, so a later change to those types cannot change what an old step does.

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use serde::Deserialize;

use super::error::Error;
use super::tables::*;

/// The schema version this binary writes.
pub const LATEST: u64 = 6;

type Step = fn(&WriteTransaction) -> Result<(), redb::Error>;

/// Steps in order: `STEPS[i]` takes the store from version `i` to `i + 1`.
const STEPS: [Step; LATEST as usize] = [
    v1_initial_tables,
    v2_status_index,
    v3_catalog_tables,
    v4_order_view_tables,
    v5_webhook_inbox_tables,
    v6_inventory_tables,
];

/// Version 1: the tables every flow needs.
fn v1_initial_tables(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(META)?;
    tx.open_table(NAME_TO_DOCUMENT)?;
    tx.open_table(KIND_KEY_TO_MAPPING)?;
    tx.open_table(KIND_DSCO_ID_TO_LINK)?;
    tx.open_table(KIND_BP_ID_TO_DSCO_ID)?;
    tx.open_table(NAME_TO_CURSOR)?;
    tx.open_table(KIND_KEY_TO_INTENT)?;
    tx.open_table(IDEMPOTENCY_KEY_TO_MILLIS)?;
    tx.open_table(RECORD_ID_TO_RECORD)?;
    tx.open_table(SUBJECT_TO_RECORD_ID)?;
    tx.open_table(RUN_ID_TO_RUN)?;
    Ok(())
}

/// What the version-2 step reads of a stored sync record.
#[derive(Deserialize)]
struct RecordStatusAndFlow {
    status: String,
    flow: String,
}

/// Version 2: an index of records by status, backfilled from the records already stored.
fn v2_status_index(tx: &WriteTransaction) -> Result<(), redb::Error> {
    let records = tx.open_table(RECORD_ID_TO_RECORD)?;
    let mut index = tx.open_table(STATUS_FLOW_ID_TO_UNIT)?;
    for entry in records.iter()? {
        let (id, bytes) = entry?;
        // A record that does not decode keeps its row; it is reported when read, never dropped.
        if let Ok(record) = serde_json::from_slice::<RecordStatusAndFlow>(bytes.value()) {
            index.insert(
                (record.status.as_str(), record.flow.as_str(), id.value()),
                (),
            )?;
        }
    }
    Ok(())
}

/// Version 3: the Brightpearl product catalog, and the DSCO items and retailers seen on orders.
/// Reference data, settings and DSCO's lists are documents in the existing `documents` table.
fn v3_catalog_tables(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(PRODUCT_ID_TO_PRODUCT)?;
    tx.open_table(DSCO_SKU_TO_ITEM)?;
    tx.open_table(DSCO_RETAILER_ID_TO_RETAILER)?;
    Ok(())
}

/// What the version-4 step reads of a stored order view.
#[derive(Deserialize)]
struct ViewState {
    state: String,
}

/// Document-name prefix of the order views version 3 kept in `NAME_TO_DOCUMENT`.
const V3_ORDER_VIEW_PREFIX: &str = "order/";

/// Version 4: order views move from documents `order/<DSCO order id>` to their own table, with
/// an index by state. The bytes move unchanged.
fn v4_order_view_tables(tx: &WriteTransaction) -> Result<(), redb::Error> {
    let mut documents = tx.open_table(NAME_TO_DOCUMENT)?;
    let mut views = tx.open_table(DSCO_ORDER_ID_TO_ORDER_VIEW)?;
    let mut index = tx.open_table(STATE_DSCO_ORDER_ID_TO_UNIT)?;
    let mut moved = Vec::new();
    for entry in documents.range(V3_ORDER_VIEW_PREFIX..)? {
        let (name, bytes) = entry?;
        let Some(id) = name.value().strip_prefix(V3_ORDER_VIEW_PREFIX) else {
            break;
        };
        // A view without a readable state still moves; it is listed when no state is asked for.
        if let Ok(view) = serde_json::from_slice::<ViewState>(bytes.value()) {
            index.insert((view.state.as_str(), id), ())?;
        }
        views.insert(id, bytes.value())?;
        moved.push(name.value().to_owned());
    }
    for name in &moved {
        documents.remove(name.as_str())?;
    }
    Ok(())
}

/// Version 5: the webhook inbox, its (flow, event, id) index and the last delivery per event.
/// The install's identity is a document in the existing `documents` table.
fn v5_webhook_inbox_tables(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(FLOW_SEQ_TO_INBOX_ENTRY)?;
    tx.open_table(FLOW_EVENT_ID_TO_INBOX_SEQ)?;
    tx.open_table(EVENT_TO_LAST_DELIVERY_MILLIS)?;
    Ok(())
}

/// Version 6: the inventory flow's state, its change queue and the units of pending orders.
fn v6_inventory_tables(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(SKU_TO_INVENTORY)?;
    tx.open_table(CHANGE_TO_MILLIS)?;
    tx.open_table(DSCO_ORDER_ID_TO_PENDING_UNITS)?;
    Ok(())
}

/// The version stored in `META`, 0 for a new file.
pub fn stored_version(db: &redb::Database) -> Result<u64, Error> {
    let tx = db.begin_read().map_err(Error::db)?;
    match tx.open_table(META) {
        Ok(t) => Ok(t
            .get("schema_version")
            .map_err(Error::db)?
            .map(|v| v.value())
            .unwrap_or(0)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(Error::db(e)),
    }
}

/// Bring the store to `target` (normally [`LATEST`]), one step per transaction.
pub fn migrate(db: &redb::Database, path: &std::path::Path, target: u64) -> Result<u64, Error> {
    let found = stored_version(db)?;
    if found > LATEST {
        return Err(Error::TooNew {
            path: path.to_path_buf(),
            found,
            supported: LATEST,
        });
    }
    for version in found..target.min(LATEST) {
        let tx = db.begin_write().map_err(Error::db)?;
        STEPS[version as usize](&tx).map_err(|e| Error::Migration {
            to: version + 1,
            message: e.to_string(),
        })?;
        {
            let mut meta = tx.open_table(META).map_err(Error::db)?;
            meta.insert("schema_version", version + 1)
                .map_err(Error::db)?;
        }
        tx.commit().map_err(Error::db)?;
        tracing::info!(version = version + 1, "store migrated");
    }
    Ok(target.min(LATEST).max(found))
}

#[cfg(test)]
mod tests;
