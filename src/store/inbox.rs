//! Webhook deliveries waiting for their flow: one row per (flow, event, resource id), so the same
//! event delivered twice, or by two subscriptions, is one row; the last delivery time per event;
//! and the install's identity that our webhook URLs carry.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::error::Error;
use super::tables::{EVENT_TO_LAST_DELIVERY_MILLIS, INBOX_FLOW_EVENT_ID_TO_MILLIS};
use super::tx::{Reads, Tx, WriteTx};
use crate::flow_name::FlowName;
use crate::secret::Secret;

/// The document holding the install's identity.
pub const INSTALL_DOCUMENT: &str = "webhooks.install";

/// One resource a delivery named, waiting for its flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub flow: FlowName,
    /// The full event (`goods-out-note.modified.shipped`).
    pub event: String,
    pub id: u64,
    pub received_at: DateTime<Utc>,
}

/// This install's webhook identity: its id (`install=`) and secret (`key=`), made once.
// Stored as a plain document today; sealed like the other stored secrets once sealing exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Install {
    pub id: String,
    pub key: Secret<String>,
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl<T: Reads> Tx<T> {
    /// Entries waiting for `flow`, oldest first, at most `limit`.
    pub fn inbox(&self, flow: FlowName, limit: usize) -> Result<Vec<InboxEntry>, Error> {
        let table = self.table(INBOX_FLOW_EVENT_ID_TO_MILLIS)?;
        let name = flow.as_str();
        let mut out = Vec::new();
        for entry in table
            .range((name, "", 0u64)..=(name, "\u{10ffff}", u64::MAX))
            .map_err(Error::db)?
        {
            let (k, v) = entry.map_err(Error::db)?;
            let (_, event, id) = k.value();
            out.push(InboxEntry {
                flow,
                event: event.to_owned(),
                id,
                received_at: from_millis(v.value()),
            });
        }
        out.sort_by_key(|e| e.received_at);
        out.truncate(limit);
        Ok(out)
    }

    /// When each event was last delivered.
    pub fn webhook_deliveries(&self) -> Result<BTreeMap<String, DateTime<Utc>>, Error> {
        let table = self.table(EVENT_TO_LAST_DELIVERY_MILLIS)?;
        let mut out = BTreeMap::new();
        for entry in table.iter().map_err(Error::db)? {
            let (k, v) = entry.map_err(Error::db)?;
            out.insert(k.value().to_owned(), from_millis(v.value()));
        }
        Ok(out)
    }

    pub fn install(&self) -> Result<Option<Install>, Error> {
        self.document(INSTALL_DOCUMENT)
    }
}

impl WriteTx<'_> {
    /// Store entries; an entry already waiting keeps its row with the newer time. Returns how
    /// many were new.
    pub fn inbox_add(&self, entries: &[InboxEntry]) -> Result<usize, Error> {
        let mut table = self.table_mut(INBOX_FLOW_EVENT_ID_TO_MILLIS)?;
        let mut new = 0;
        for e in entries {
            let key = (e.flow.as_str(), e.event.as_str(), e.id);
            let previous = table.get(key).map_err(Error::db)?.map(|v| v.value());
            if previous.is_none() {
                new += 1;
            }
            let at = previous.map_or(millis(e.received_at), |p| p.max(millis(e.received_at)));
            table.insert(key, at).map_err(Error::db)?;
        }
        let mut last = self.table_mut(EVENT_TO_LAST_DELIVERY_MILLIS)?;
        for e in entries {
            last.insert(e.event.as_str(), millis(e.received_at))
                .map_err(Error::db)?;
        }
        Ok(new)
    }

    /// Remove processed entries; one delivered again since it was read stays.
    pub fn inbox_remove(&self, entries: &[InboxEntry]) -> Result<(), Error> {
        let mut table = self.table_mut(INBOX_FLOW_EVENT_ID_TO_MILLIS)?;
        for e in entries {
            let key = (e.flow.as_str(), e.event.as_str(), e.id);
            let stored = table.get(key).map_err(Error::db)?.map(|v| v.value());
            if stored.is_some_and(|s| s <= millis(e.received_at)) {
                table.remove(key).map_err(Error::db)?;
            }
        }
        Ok(())
    }

    /// The install's identity, made by `make` the first time.
    pub fn install_or_create(&self, make: impl FnOnce() -> Install) -> Result<Install, Error> {
        if let Some(install) = self.install()? {
            return Ok(install);
        }
        let install = make();
        self.put_document(INSTALL_DOCUMENT, &install)?;
        Ok(install)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Store;

    fn entry(event: &str, id: u64, at_ms: i64) -> InboxEntry {
        InboxEntry {
            flow: FlowName::Shipments,
            event: event.into(),
            id,
            received_at: from_millis(at_ms),
        }
    }

    #[test]
    fn duplicates_collapse_and_a_newer_delivery_survives_removal_of_the_older() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb")).unwrap();
        let new = s
            .write(|tx| {
                tx.inbox_add(&[
                    entry("goods-out-note.created", 7, 1_000),
                    entry("goods-out-note.created", 7, 1_000),
                    entry("goods-out-note.created", 8, 1_500),
                ])
            })
            .unwrap();
        assert_eq!(new, 2);
        let read = s.read(|tx| tx.inbox(FlowName::Shipments, 10)).unwrap();
        assert_eq!(read.len(), 2);
        // Delivered again after the run read it: removing what was read keeps the newer one.
        s.write(|tx| tx.inbox_add(&[entry("goods-out-note.created", 7, 2_000)]))
            .unwrap();
        s.write(|tx| tx.inbox_remove(&read)).unwrap();
        let left = s.read(|tx| tx.inbox(FlowName::Shipments, 10)).unwrap();
        assert_eq!(left, vec![entry("goods-out-note.created", 7, 2_000)]);
        assert!(
            s.read(|tx| tx.inbox(FlowName::Inventory, 10))
                .unwrap()
                .is_empty()
        );
        let last = s.read(|tx| tx.webhook_deliveries()).unwrap();
        assert_eq!(last["goods-out-note.created"], from_millis(2_000));
    }

    #[test]
    fn the_install_is_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb")).unwrap();
        let make = |id: &str| Install {
            id: id.into(),
            key: Secret::new("k".to_owned()),
        };
        let first = s.write(|tx| tx.install_or_create(|| make("a"))).unwrap();
        let again = s.write(|tx| tx.install_or_create(|| make("b"))).unwrap();
        assert_eq!(first.id, "a");
        assert_eq!(again.id, "a");
    }
}
