//! The webhook inbox: what Brightpearl's webhooks announced, per flow, until the flow's run has
//! dealt with it; the last delivery time per event; and this install's identity ([`Install`]),
//! which the webhook URLs carry.
//!
//! An entry is one (flow, event, resource id). Deliveries are at-least-once and unordered, so a
//! second delivery of the same entry collapses into the first: it keeps its place in line (its
//! sequence key) and only its `received_at` moves to the newer time. A run removes what it
//! processed by compare-and-delete: an entry whose `received_at` is newer than the one the run
//! read arrived while it worked, and stays for the next run.
//!
//! The store knows nothing of HTTP or of what an event means; the public listener and the flows
//! decide that.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::error::{Error, decode, encode};
use super::tables::{
    EVENT_TO_LAST_DELIVERY_MILLIS, FLOW_EVENT_ID_TO_INBOX_SEQ, FLOW_SEQ_TO_INBOX_ENTRY,
    NAME_TO_DOCUMENT,
};
use super::tx::{Reads, Tx, WriteTx};
use crate::flow_name::FlowName;
use crate::secret::Secret;

/// The install's identity document's name.
pub const INSTALL_DOCUMENT: &str = "install";

/// The `META` sequence inbox entries are numbered from.
const INBOX_SEQUENCE: &str = "next_inbox_seq";

/// One thing a webhook announced for a flow: `event` is Brightpearl's full event name
/// (`goods-out-note.modified.shipped`), `id` the resource id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    pub flow: FlowName,
    pub event: String,
    pub id: u64,
    pub received_at: DateTime<Utc>,
}

/// This install: a random id (`install=` in our webhook URLs, which tells our hooks from anyone
/// else's on the account) and a random secret (`key=`, which a delivery must present). Made once
/// and kept in the store.
// The key is kept in clear in the store file, like the stored connection credentials; sealing
// stored secrets at rest is its own step, which moves every stored secret, this one with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub id: String,
    pub key: Secret<String>,
}

/// What the store keeps of an [`Install`]: the key in clear (`Secret` would serialize `***`).
#[derive(Serialize, Deserialize)]
struct StoredInstall {
    id: String,
    key: String,
}

/// What the sequence table holds per entry (the flow is in the key).
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    event: String,
    id: u64,
    received_at: DateTime<Utc>,
}

impl StoredEntry {
    fn into_entry(self, flow: FlowName) -> InboxEntry {
        InboxEntry {
            flow,
            event: self.event,
            id: self.id,
            received_at: self.received_at,
        }
    }
}

impl<T: Reads> Tx<T> {
    /// Up to `limit` inbox entries of `flow`, oldest first (by first delivery).
    pub fn inbox(&self, flow: FlowName, limit: usize) -> Result<Vec<InboxEntry>, Error> {
        let table = self.table(FLOW_SEQ_TO_INBOX_ENTRY)?;
        let name = flow.as_str();
        let mut out = Vec::new();
        for entry in table
            .range((name, 0)..=(name, u64::MAX))
            .map_err(Error::db)?
        {
            if out.len() >= limit {
                break;
            }
            let (_, value) = entry.map_err(Error::db)?;
            let stored: StoredEntry = decode("inbox", value.value())?;
            out.push(stored.into_entry(flow));
        }
        Ok(out)
    }

    /// The last delivery time of every event a delivery was accepted for.
    pub fn webhook_deliveries(&self) -> Result<BTreeMap<String, DateTime<Utc>>, Error> {
        let table = self.table(EVENT_TO_LAST_DELIVERY_MILLIS)?;
        let mut out = BTreeMap::new();
        for entry in table.iter().map_err(Error::db)? {
            let (event, millis) = entry.map_err(Error::db)?;
            if let Some(at) = DateTime::from_timestamp_millis(millis.value()) {
                out.insert(event.value().to_owned(), at);
            }
        }
        Ok(out)
    }

    /// This install's identity, once made.
    pub fn install(&self) -> Result<Option<Install>, Error> {
        let table = self.table(NAME_TO_DOCUMENT)?;
        let Some(value) = table.get(INSTALL_DOCUMENT).map_err(Error::db)? else {
            return Ok(None);
        };
        let stored: StoredInstall = decode("documents", value.value())?;
        Ok(Some(Install {
            id: stored.id,
            key: Secret::new(stored.key),
        }))
    }

    /// The sequence key of an entry, if it is in the inbox.
    fn inbox_seq(&self, entry: &InboxEntry) -> Result<Option<u64>, Error> {
        let index = self.table(FLOW_EVENT_ID_TO_INBOX_SEQ)?;
        let key = (entry.flow.as_str(), entry.event.as_str(), entry.id);
        Ok(index.get(key).map_err(Error::db)?.map(|v| v.value()))
    }
}

impl WriteTx<'_> {
    /// Add entries; returns how many were new. An entry already in the inbox (same flow, event
    /// and id, also twice in `entries`) keeps its place and takes the newer `received_at`.
    pub fn inbox_add(&self, entries: &[InboxEntry]) -> Result<usize, Error> {
        let mut added = 0;
        for entry in entries {
            let flow = entry.flow.as_str();
            let seq = match self.inbox_seq(entry)? {
                Some(seq) => {
                    let table = self.table(FLOW_SEQ_TO_INBOX_ENTRY)?;
                    let stored: Option<StoredEntry> =
                        match table.get((flow, seq)).map_err(Error::db)? {
                            Some(value) => Some(decode("inbox", value.value())?),
                            None => None,
                        };
                    if stored.is_some_and(|s| s.received_at >= entry.received_at) {
                        continue;
                    }
                    seq
                }
                None => {
                    let seq = self.next_id(INBOX_SEQUENCE)?;
                    self.table_mut(FLOW_EVENT_ID_TO_INBOX_SEQ)?
                        .insert((flow, entry.event.as_str(), entry.id), seq)
                        .map_err(Error::db)?;
                    added += 1;
                    seq
                }
            };
            let value = encode(&StoredEntry {
                event: entry.event.clone(),
                id: entry.id,
                received_at: entry.received_at,
            });
            self.table_mut(FLOW_SEQ_TO_INBOX_ENTRY)?
                .insert((flow, seq), value.as_slice())
                .map_err(Error::db)?;
        }
        Ok(added)
    }

    /// Remove what a run processed: each entry only if its stored `received_at` is not newer
    /// than the given one (a delivery that came while the run worked survives). Entries not in
    /// the inbox are ignored.
    pub fn inbox_remove(&self, entries: &[InboxEntry]) -> Result<(), Error> {
        for entry in entries {
            let Some(seq) = self.inbox_seq(entry)? else {
                continue;
            };
            let flow = entry.flow.as_str();
            let mut table = self.table_mut(FLOW_SEQ_TO_INBOX_ENTRY)?;
            let stored: Option<StoredEntry> = match table.get((flow, seq)).map_err(Error::db)? {
                Some(value) => Some(decode("inbox", value.value())?),
                None => None,
            };
            if stored.is_some_and(|s| s.received_at > entry.received_at) {
                continue;
            }
            table.remove((flow, seq)).map_err(Error::db)?;
            self.table_mut(FLOW_EVENT_ID_TO_INBOX_SEQ)?
                .remove((flow, entry.event.as_str(), entry.id))
                .map_err(Error::db)?;
        }
        Ok(())
    }

    /// Note that a delivery of `event` was accepted at `at` (the later time wins).
    pub fn record_webhook_delivery(&self, event: &str, at: DateTime<Utc>) -> Result<(), Error> {
        let mut table = self.table_mut(EVENT_TO_LAST_DELIVERY_MILLIS)?;
        let millis = at.timestamp_millis();
        let stored = table.get(event).map_err(Error::db)?.map(|v| v.value());
        if stored.is_none_or(|stored| stored < millis) {
            table.insert(event, millis).map_err(Error::db)?;
        }
        Ok(())
    }

    /// This install's identity: the stored one, or `make()`'s, stored now. Made once: every
    /// later call returns the same.
    pub fn install_or_create(&self, make: impl FnOnce() -> Install) -> Result<Install, Error> {
        if let Some(install) = self.install()? {
            return Ok(install);
        }
        let install = make();
        let stored = StoredInstall {
            id: install.id.clone(),
            key: install.key.expose().clone(),
        };
        self.table_mut(NAME_TO_DOCUMENT)?
            .insert(INSTALL_DOCUMENT, encode(&stored).as_slice())
            .map_err(Error::db)?;
        Ok(install)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        (dir, store)
    }

    fn at(second: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + i64::from(second), 0).unwrap()
    }

    fn entry(flow: FlowName, event: &str, id: u64, second: u32) -> InboxEntry {
        InboxEntry {
            flow,
            event: event.into(),
            id,
            received_at: at(second),
        }
    }

    const CREATED: &str = "goods-out-note.created";
    const SHIPPED: &str = "goods-out-note.modified.shipped";

    #[test]
    fn duplicates_collapse_keeping_their_place_and_the_newer_time() {
        let (_dir, store) = store();
        let added = store
            .write(|tx| {
                tx.inbox_add(&[
                    entry(FlowName::Shipments, CREATED, 7, 1),
                    entry(FlowName::Shipments, SHIPPED, 7, 2),
                    entry(FlowName::Shipments, CREATED, 8, 3),
                    // The same (flow, event, id) twice in one delivery.
                    entry(FlowName::Shipments, CREATED, 8, 3),
                    entry(FlowName::Cancellations, CREATED, 7, 1),
                ])
            })
            .unwrap();
        assert_eq!(added, 4);
        // A later duplicate of the first: not new, keeps its place, takes the newer time; an
        // older duplicate changes nothing.
        let added = store
            .write(|tx| {
                tx.inbox_add(&[
                    entry(FlowName::Shipments, CREATED, 7, 9),
                    entry(FlowName::Shipments, SHIPPED, 7, 0),
                ])
            })
            .unwrap();
        assert_eq!(added, 0);
        let shipments = store.read(|tx| tx.inbox(FlowName::Shipments, 10)).unwrap();
        assert_eq!(
            shipments,
            [
                entry(FlowName::Shipments, CREATED, 7, 9),
                entry(FlowName::Shipments, SHIPPED, 7, 2),
                entry(FlowName::Shipments, CREATED, 8, 3),
            ]
        );
        let first_two = store.read(|tx| tx.inbox(FlowName::Shipments, 2)).unwrap();
        assert_eq!(first_two, shipments[..2]);
        let cancellations = store
            .read(|tx| tx.inbox(FlowName::Cancellations, 10))
            .unwrap();
        assert_eq!(
            cancellations,
            [entry(FlowName::Cancellations, CREATED, 7, 1)]
        );
        assert!(
            store
                .read(|tx| tx.inbox(FlowName::Inventory, 10))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn remove_deletes_only_what_was_not_delivered_again_since() {
        let (_dir, store) = store();
        store
            .write(|tx| {
                tx.inbox_add(&[
                    entry(FlowName::Shipments, CREATED, 1, 1),
                    entry(FlowName::Shipments, CREATED, 2, 1),
                    entry(FlowName::Shipments, CREATED, 3, 1),
                ])
            })
            .unwrap();
        // A run reads the three entries.
        let taken = store.read(|tx| tx.inbox(FlowName::Shipments, 10)).unwrap();
        // While it works, note 2 is delivered again.
        store
            .write(|tx| tx.inbox_add(&[entry(FlowName::Shipments, CREATED, 2, 5)]))
            .unwrap();
        // It removes what it read, plus something never stored and an entry of another flow.
        store
            .write(|tx| {
                let mut done = taken.clone();
                done.push(entry(FlowName::Shipments, SHIPPED, 9, 1));
                done.push(entry(FlowName::Inventory, CREATED, 1, 1));
                tx.inbox_remove(&done)
            })
            .unwrap();
        let left = store.read(|tx| tx.inbox(FlowName::Shipments, 10)).unwrap();
        assert_eq!(left, [entry(FlowName::Shipments, CREATED, 2, 5)]);
        // The survivor is removed by the next run, and a new delivery of a removed entry is new.
        store.write(|tx| tx.inbox_remove(&left)).unwrap();
        assert!(
            store
                .read(|tx| tx.inbox(FlowName::Shipments, 10))
                .unwrap()
                .is_empty()
        );
        let added = store
            .write(|tx| tx.inbox_add(&[entry(FlowName::Shipments, CREATED, 1, 7)]))
            .unwrap();
        assert_eq!(added, 1);
    }

    #[test]
    fn last_delivery_per_event_keeps_the_latest() {
        let (_dir, store) = store();
        store
            .write(|tx| {
                tx.record_webhook_delivery(CREATED, at(5))?;
                tx.record_webhook_delivery(CREATED, at(3))?;
                tx.record_webhook_delivery(SHIPPED, at(4))
            })
            .unwrap();
        let deliveries = store.read(|tx| tx.webhook_deliveries()).unwrap();
        assert_eq!(
            deliveries,
            BTreeMap::from([(CREATED.to_owned(), at(5)), (SHIPPED.to_owned(), at(4))])
        );
    }

    #[test]
    fn the_install_is_made_once_and_its_key_kept_in_clear() {
        let (dir, store) = store();
        assert!(store.read(|tx| tx.install()).unwrap().is_none());
        let make = |id: &str| {
            let id = id.to_owned();
            move || Install {
                id,
                key: Secret::new("k".repeat(64)),
            }
        };
        let first = store.write(|tx| tx.install_or_create(make("one"))).unwrap();
        let second = store.write(|tx| tx.install_or_create(make("two"))).unwrap();
        assert_eq!(first.id, "one");
        assert_eq!(second, first);
        drop(store);
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let read = store.read(|tx| tx.install()).unwrap().unwrap();
        assert_eq!(read.key.expose(), &"k".repeat(64));
    }
}
