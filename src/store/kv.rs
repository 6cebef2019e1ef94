//! Documents, mappings, links, cursors, intents and idempotency keys.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::tables::*;
use super::{Error, ReadTx, WriteTx, decode, encode};

/// A link between a DSCO object and the Brightpearl object made from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub dsco_id: String,
    pub bp_id: String,
    pub linked_at: DateTime<Utc>,
    /// Flow-specific state (e.g. an order's `state` and timeline).
    #[serde(default)]
    pub data: serde_json::Value,
}

/// An upstream write that was (maybe) sent but whose outcome is not known yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub kind: String,
    pub key: String,
    pub opened_at: DateTime<Utc>,
    /// When the last attempt was sent; a search to resolve the intent waits a grace period after it.
    pub last_attempt_at: DateTime<Utc>,
    pub attempts: u32,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl ReadTx {
    pub fn document<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Error> {
        let table = self.tx.open_table(NAME_TO_DOCUMENT).map_err(Error::db)?;
        match table.get(name).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("documents", v.value())?)),
            None => Ok(None),
        }
    }

    /// Documents whose names start with `prefix`, in name order, after `after` (exclusive).
    pub fn documents_with_prefix<T: DeserializeOwned>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>, Error> {
        let table = self.tx.open_table(NAME_TO_DOCUMENT).map_err(Error::db)?;
        let start = after.unwrap_or(prefix);
        let mut out = Vec::new();
        for entry in table.range(start..).map_err(Error::db)? {
            let (k, v) = entry.map_err(Error::db)?;
            let name = k.value();
            if !name.starts_with(prefix) || out.len() >= limit {
                break;
            }
            if Some(name) == after {
                continue;
            }
            out.push((name.to_owned(), decode("documents", v.value())?));
        }
        Ok(out)
    }

    pub fn mapping<T: DeserializeOwned>(&self, kind: &str, key: &str) -> Result<Option<T>, Error> {
        let table = self.tx.open_table(KIND_KEY_TO_MAPPING).map_err(Error::db)?;
        match table.get((kind, key)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("mappings", v.value())?)),
            None => Ok(None),
        }
    }

    /// Every mapping of a kind, in key order.
    pub fn mappings<T: DeserializeOwned>(&self, kind: &str) -> Result<Vec<(String, T)>, Error> {
        let table = self.tx.open_table(KIND_KEY_TO_MAPPING).map_err(Error::db)?;
        let mut out = Vec::new();
        for entry in table.range((kind, "")..).map_err(Error::db)? {
            let (k, v) = entry.map_err(Error::db)?;
            let (entry_kind, key) = k.value();
            if entry_kind != kind {
                break;
            }
            out.push((key.to_owned(), decode("mappings", v.value())?));
        }
        Ok(out)
    }

    pub fn link(&self, kind: &str, dsco_id: &str) -> Result<Option<Link>, Error> {
        let table = self
            .tx
            .open_table(KIND_DSCO_ID_TO_LINK)
            .map_err(Error::db)?;
        match table.get((kind, dsco_id)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("links", v.value())?)),
            None => Ok(None),
        }
    }

    pub fn link_by_bp_id(&self, kind: &str, bp_id: &str) -> Result<Option<Link>, Error> {
        let table = self
            .tx
            .open_table(KIND_BP_ID_TO_DSCO_ID)
            .map_err(Error::db)?;
        let dsco_id = match table.get((kind, bp_id)).map_err(Error::db)? {
            Some(v) => v.value().to_owned(),
            None => return Ok(None),
        };
        self.link(kind, &dsco_id)
    }

    /// Links of a kind in DSCO-id order, after `after` (exclusive), at most `limit`.
    pub fn links(&self, kind: &str, after: Option<&str>, limit: usize) -> Result<Vec<Link>, Error> {
        let table = self
            .tx
            .open_table(KIND_DSCO_ID_TO_LINK)
            .map_err(Error::db)?;
        let mut out = Vec::new();
        for entry in table
            .range((kind, after.unwrap_or(""))..)
            .map_err(Error::db)?
        {
            let (k, v) = entry.map_err(Error::db)?;
            let (entry_kind, id) = k.value();
            if entry_kind != kind || out.len() >= limit {
                break;
            }
            if Some(id) == after {
                continue;
            }
            out.push(decode("links", v.value())?);
        }
        Ok(out)
    }

    pub fn cursor<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Error> {
        let table = self.tx.open_table(NAME_TO_CURSOR).map_err(Error::db)?;
        match table.get(name).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("cursors", v.value())?)),
            None => Ok(None),
        }
    }

    pub fn intent(&self, kind: &str, key: &str) -> Result<Option<Intent>, Error> {
        let table = self.tx.open_table(KIND_KEY_TO_INTENT).map_err(Error::db)?;
        match table.get((kind, key)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("intents", v.value())?)),
            None => Ok(None),
        }
    }

    /// Open intents of a kind.
    pub fn intents(&self, kind: &str) -> Result<Vec<Intent>, Error> {
        let table = self.tx.open_table(KIND_KEY_TO_INTENT).map_err(Error::db)?;
        let mut out = Vec::new();
        for entry in table.range((kind, "")..).map_err(Error::db)? {
            let (k, v) = entry.map_err(Error::db)?;
            if k.value().0 != kind {
                break;
            }
            out.push(decode("intents", v.value())?);
        }
        Ok(out)
    }

    pub fn idempotency_key_seen(&self, key: &str) -> Result<bool, Error> {
        let table = self
            .tx
            .open_table(IDEMPOTENCY_KEY_TO_MILLIS)
            .map_err(Error::db)?;
        Ok(table.get(key).map_err(Error::db)?.is_some())
    }

    pub fn link_count(&self) -> Result<u64, Error> {
        let table = self
            .tx
            .open_table(KIND_DSCO_ID_TO_LINK)
            .map_err(Error::db)?;
        table.len().map_err(Error::db)
    }
}

impl WriteTx<'_> {
    pub fn put_document<T: Serialize>(&self, name: &str, value: &T) -> Result<(), Error> {
        let mut table = self.tx.open_table(NAME_TO_DOCUMENT).map_err(Error::db)?;
        table
            .insert(name, encode(value).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    pub fn document<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Error> {
        let table = self.tx.open_table(NAME_TO_DOCUMENT).map_err(Error::db)?;
        match table.get(name).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("documents", v.value())?)),
            None => Ok(None),
        }
    }

    pub fn put_mapping<T: Serialize>(&self, kind: &str, key: &str, value: &T) -> Result<(), Error> {
        let mut table = self.tx.open_table(KIND_KEY_TO_MAPPING).map_err(Error::db)?;
        table
            .insert((kind, key), encode(value).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    /// Delete one mapping; whether it existed.
    pub fn delete_mapping(&self, kind: &str, key: &str) -> Result<bool, Error> {
        let mut table = self.tx.open_table(KIND_KEY_TO_MAPPING).map_err(Error::db)?;
        Ok(table.remove((kind, key)).map_err(Error::db)?.is_some())
    }

    /// Delete every mapping of a kind; how many there were.
    pub fn clear_mappings(&self, kind: &str) -> Result<usize, Error> {
        let mut table = self.tx.open_table(KIND_KEY_TO_MAPPING).map_err(Error::db)?;
        let keys: Vec<String> = {
            let mut keys = Vec::new();
            for entry in table.range((kind, "")..).map_err(Error::db)? {
                let (k, _) = entry.map_err(Error::db)?;
                let (entry_kind, key) = k.value();
                if entry_kind != kind {
                    break;
                }
                keys.push(key.to_owned());
            }
            keys
        };
        for key in &keys {
            table.remove((kind, key.as_str())).map_err(Error::db)?;
        }
        Ok(keys.len())
    }

    pub fn link(&self, kind: &str, dsco_id: &str) -> Result<Option<Link>, Error> {
        let table = self
            .tx
            .open_table(KIND_DSCO_ID_TO_LINK)
            .map_err(Error::db)?;
        match table.get((kind, dsco_id)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("links", v.value())?)),
            None => Ok(None),
        }
    }

    /// Store a link (and its reverse index). Linking a DSCO id to a different Brightpearl id than
    /// it already has is refused: that would be a duplicate upstream object.
    pub fn put_link(&self, kind: &str, link: &Link) -> Result<(), Error> {
        if let Some(existing) = self.link(kind, &link.dsco_id)?
            && existing.bp_id != link.bp_id
        {
            return Err(Error::Conflict(format!(
                "{kind} {} is already linked to Brightpearl {}, not {}",
                link.dsco_id, existing.bp_id, link.bp_id
            )));
        }
        let mut table = self
            .tx
            .open_table(KIND_DSCO_ID_TO_LINK)
            .map_err(Error::db)?;
        table
            .insert((kind, link.dsco_id.as_str()), encode(link).as_slice())
            .map_err(Error::db)?;
        let mut reverse = self
            .tx
            .open_table(KIND_BP_ID_TO_DSCO_ID)
            .map_err(Error::db)?;
        reverse
            .insert((kind, link.bp_id.as_str()), link.dsco_id.as_str())
            .map_err(Error::db)?;
        Ok(())
    }

    pub fn set_cursor<T: Serialize>(&self, name: &str, value: &T) -> Result<(), Error> {
        let mut table = self.tx.open_table(NAME_TO_CURSOR).map_err(Error::db)?;
        table
            .insert(name, encode(value).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    pub fn intent(&self, kind: &str, key: &str) -> Result<Option<Intent>, Error> {
        let table = self.tx.open_table(KIND_KEY_TO_INTENT).map_err(Error::db)?;
        match table.get((kind, key)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("intents", v.value())?)),
            None => Ok(None),
        }
    }

    pub fn put_intent(&self, intent: &Intent) -> Result<(), Error> {
        let mut table = self.tx.open_table(KIND_KEY_TO_INTENT).map_err(Error::db)?;
        table
            .insert(
                (intent.kind.as_str(), intent.key.as_str()),
                encode(intent).as_slice(),
            )
            .map_err(Error::db)?;
        Ok(())
    }

    /// Close an intent; whether it was open.
    pub fn clear_intent(&self, kind: &str, key: &str) -> Result<bool, Error> {
        let mut table = self.tx.open_table(KIND_KEY_TO_INTENT).map_err(Error::db)?;
        Ok(table.remove((kind, key)).map_err(Error::db)?.is_some())
    }

    /// Mark an idempotency key applied; false when it already was.
    pub fn claim_idempotency_key(&self, key: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        let mut table = self
            .tx
            .open_table(IDEMPOTENCY_KEY_TO_MILLIS)
            .map_err(Error::db)?;
        if table.get(key).map_err(Error::db)?.is_some() {
            return Ok(false);
        }
        table
            .insert(key, now.timestamp_millis())
            .map_err(Error::db)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        (dir, store)
    }

    #[test]
    fn mappings_round_trip_by_kind() {
        let (_d, s) = store();
        s.write(|tx| {
            tx.put_mapping("items", "SKU-2", &serde_json::json!({"bp": 2}))?;
            tx.put_mapping("items", "SKU-1", &serde_json::json!({"bp": 1}))?;
            tx.put_mapping("warehouses", "1", &serde_json::json!({"code": "W"}))
        })
        .unwrap();
        let items: Vec<(String, serde_json::Value)> = s.read(|tx| tx.mappings("items")).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0, "SKU-1");
        assert_eq!(s.write(|tx| tx.clear_mappings("items")).unwrap(), 2);
        let warehouses: Vec<(String, serde_json::Value)> =
            s.read(|tx| tx.mappings("warehouses")).unwrap();
        assert_eq!(warehouses.len(), 1);
    }

    #[test]
    fn link_and_intent_commit_together_and_relinking_elsewhere_is_refused() {
        let (_d, s) = store();
        let now = Utc::now();
        s.write(|tx| {
            tx.put_intent(&Intent {
                kind: "order".into(),
                key: "D1".into(),
                opened_at: now,
                last_attempt_at: now,
                attempts: 1,
                data: serde_json::Value::Null,
            })
        })
        .unwrap();
        let link = Link {
            dsco_id: "D1".into(),
            bp_id: "100".into(),
            linked_at: now,
            data: serde_json::json!({"state": "imported"}),
        };
        s.write(|tx| {
            tx.put_link("order", &link)?;
            tx.clear_intent("order", "D1")
        })
        .unwrap();
        s.read(|tx| {
            assert_eq!(tx.link("order", "D1")?.unwrap().bp_id, "100");
            assert_eq!(tx.link_by_bp_id("order", "100")?.unwrap().dsco_id, "D1");
            assert!(tx.intent("order", "D1")?.is_none());
            Ok(())
        })
        .unwrap();
        let other = Link {
            bp_id: "101".into(),
            ..link
        };
        assert!(matches!(
            s.write(|tx| tx.put_link("order", &other)),
            Err(Error::Conflict(_))
        ));
    }

    #[test]
    fn idempotency_keys_claim_once() {
        let (_d, s) = store();
        let now = Utc::now();
        assert!(s.write(|tx| tx.claim_idempotency_key("k", now)).unwrap());
        assert!(!s.write(|tx| tx.claim_idempotency_key("k", now)).unwrap());
        assert!(s.read(|tx| tx.idempotency_key_seen("k")).unwrap());
    }
}
