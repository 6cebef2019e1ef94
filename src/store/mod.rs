//! The embedded store: the only module that imports redb.
//!
//! Everything else uses typed methods on [`ReadTx`] and [`WriteTx`], reached through
//! [`Store::read`] and [`Store::write`]: one write transaction per unit of work, so a link, the
//! intent it clears, the record and the cursor it advances commit together or not at all. redb is
//! blocking; async code goes through [`Store::call`], which runs the closure on the blocking pool.
//! Never hold a transaction across an `.await`.
//!
//! Both transaction kinds are one type, [`Tx`] (see `tx`): each read is written once and works
//! in either, writes exist on [`WriteTx`] only. One file per concern: `documents`, `mappings`,
//! `links`, `intents` (and idempotency keys), `cursors`, `catalog`, `views` (order views),
//! `records`, `runs`, `inbox` (webhook inbox, deliveries, the install's identity); `tables` declares every table and `migrate` the schema steps. The store
//! imports neither `sync` nor `api`, nor the types of `settings` or `mapping`.

mod catalog;
mod cursors;
mod db;
mod documents;
mod error;
mod inbox;
mod intents;
mod inventory;
mod kind;
mod links;
mod mappings;
pub mod migrate;
mod record;
mod records;
mod runs;
mod tables;
mod tx;
mod views;

use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

pub use catalog::{DSCO_SHIP_METHODS_DOCUMENT, DSCO_WAREHOUSES_DOCUMENT, REFERENCE_DOCUMENT};
pub use db::Store;
pub use documents::SETTINGS_DOCUMENT;
pub use error::Error;
pub use inbox::{INSTALL_DOCUMENT, InboxEntry, Install};
pub use intents::Intent;
pub use inventory::{CodeDetail, InventoryItem, PendingLine, PendingUnits, RECONCILE_DOCUMENT};
pub use kind::Kind;
pub use links::Link;
pub use mappings::MappingWriteCounts;
pub use records::{
    AttemptError, Outcome, RecordBackoff, RecordDetail, RecordFilter, RecordStatus, StatusCounts,
    SyncRecord,
};
pub use runs::{Run, RunStatus, Trigger};
pub use tx::{ReadTx, Reads, Tx, WriteTx};

/// The id of a run; records name the run that last touched them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(pub u64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Lock a mutex, recovering from poisoning (the data is plain counters and caches).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
