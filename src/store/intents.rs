//! Exactly-once bookkeeping: open intents of non-idempotent upstream writes, and idempotency
//! keys already applied.

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::error::{Error, decode, encode};
use super::kind::Kind;
use super::tables::{IDEMPOTENCY_KEY_TO_MILLIS, KIND_KEY_TO_INTENT};
use super::tx::{Reads, Tx, WriteTx};

/// An upstream write that was (maybe) sent but whose outcome is not known yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub kind: Kind,
    pub key: String,
    pub opened_at: DateTime<Utc>,
    /// When the last attempt was sent; a search to resolve the intent waits a grace period after it.
    pub last_attempt_at: DateTime<Utc>,
    pub attempts: u32,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl<T: Reads> Tx<T> {
    pub fn intent(&self, kind: impl Into<Kind>, key: &str) -> Result<Option<Intent>, Error> {
        let kind = kind.into();
        let table = self.table(KIND_KEY_TO_INTENT)?;
        match table.get((kind.as_str(), key)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("intents", v.value())?)),
            None => Ok(None),
        }
    }

    /// Open intents of a kind.
    pub fn intents(&self, kind: impl Into<Kind>) -> Result<Vec<Intent>, Error> {
        let kind = kind.into();
        let kind = kind.as_str();
        let table = self.table(KIND_KEY_TO_INTENT)?;
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
        let table = self.table(IDEMPOTENCY_KEY_TO_MILLIS)?;
        Ok(table.get(key).map_err(Error::db)?.is_some())
    }
}

impl WriteTx<'_> {
    pub fn put_intent(&self, intent: &Intent) -> Result<(), Error> {
        let mut table = self.table_mut(KIND_KEY_TO_INTENT)?;
        table
            .insert(
                (intent.kind.as_str(), intent.key.as_str()),
                encode(intent).as_slice(),
            )
            .map_err(Error::db)?;
        Ok(())
    }

    /// Close an intent; whether it was open.
    pub fn clear_intent(&self, kind: impl Into<Kind>, key: &str) -> Result<bool, Error> {
        let kind = kind.into();
        let mut table = self.table_mut(KIND_KEY_TO_INTENT)?;
        Ok(table
            .remove((kind.as_str(), key))
            .map_err(Error::db)?
            .is_some())
    }

    /// Mark an idempotency key applied; false when it already was.
    pub fn claim_idempotency_key(&self, key: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        let mut table = self.table_mut(IDEMPOTENCY_KEY_TO_MILLIS)?;
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
    use super::*;
    use crate::store::db::Store;
    use crate::store::links::Link;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        (dir, store)
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
