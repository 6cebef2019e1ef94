//! Manual mappings: (kind, key) → row, for items, customers, shipping methods and warehouses.
//! The rows' meaning and checks live in `mapping`; here they are opaque JSON.

use std::collections::{HashMap, HashSet};

use redb::ReadableTable;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, decode, encode};
use super::tables::KIND_KEY_TO_MAPPING;
use super::tx::{Reads, Tx, WriteTx};

/// What a bulk mapping write changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MappingWriteCounts {
    /// Keys that did not exist before.
    pub created: u64,
    /// Keys whose row changed.
    pub updated: u64,
    /// Keys whose row was already the same.
    pub unchanged: u64,
    /// Keys removed because a `replace` upload did not hold them.
    pub removed: u64,
}

impl<T: Reads> Tx<T> {
    pub fn mapping<M: DeserializeOwned>(&self, kind: &str, key: &str) -> Result<Option<M>, Error> {
        let table = self.table(KIND_KEY_TO_MAPPING)?;
        match table.get((kind, key)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("mappings", v.value())?)),
            None => Ok(None),
        }
    }

    /// Every mapping of a kind, in key order.
    pub fn mappings<M: DeserializeOwned>(&self, kind: &str) -> Result<Vec<(String, M)>, Error> {
        self.mappings_page(kind, None, usize::MAX)
    }

    /// Mappings of a kind with a key above `after`, at most `limit`, in key order.
    pub fn mappings_page<M: DeserializeOwned>(
        &self,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, M)>, Error> {
        let table = self.table(KIND_KEY_TO_MAPPING)?;
        let mut out = Vec::new();
        for entry in table
            .range((kind, after.unwrap_or(""))..)
            .map_err(Error::db)?
        {
            let (k, v) = entry.map_err(Error::db)?;
            let (entry_kind, key) = k.value();
            if entry_kind != kind || out.len() >= limit {
                break;
            }
            if Some(key) == after {
                continue;
            }
            out.push((key.to_owned(), decode("mappings", v.value())?));
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    pub fn put_mapping<M: Serialize>(&self, kind: &str, key: &str, value: &M) -> Result<(), Error> {
        let mut table = self.table_mut(KIND_KEY_TO_MAPPING)?;
        table
            .insert((kind, key), encode(value).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    /// Delete one mapping; whether it existed.
    pub fn delete_mapping(&self, kind: &str, key: &str) -> Result<bool, Error> {
        let mut table = self.table_mut(KIND_KEY_TO_MAPPING)?;
        Ok(table.remove((kind, key)).map_err(Error::db)?.is_some())
    }

    /// Delete every mapping of a kind; how many there were.
    pub fn clear_mappings(&self, kind: &str) -> Result<usize, Error> {
        let mut table = self.table_mut(KIND_KEY_TO_MAPPING)?;
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

    /// Write many mappings of a kind with the table opened once. With `replace`, keys not in
    /// `rows` are removed first. Keys must be unique within `rows`.
    pub fn write_mappings<'r, M: Serialize + 'r>(
        &self,
        kind: &str,
        rows: impl IntoIterator<Item = (&'r str, &'r M)>,
        replace: bool,
    ) -> Result<MappingWriteCounts, Error> {
        let mut table = self.table_mut(KIND_KEY_TO_MAPPING)?;
        let mut existing: HashMap<String, Vec<u8>> = HashMap::new();
        for entry in table.range((kind, "")..).map_err(Error::db)? {
            let (k, v) = entry.map_err(Error::db)?;
            let (entry_kind, key) = k.value();
            if entry_kind != kind {
                break;
            }
            existing.insert(key.to_owned(), v.value().to_vec());
        }
        let mut counts = MappingWriteCounts::default();
        let mut kept = HashSet::new();
        for (key, row) in rows {
            let bytes = encode(row);
            match existing.get(key) {
                None => counts.created += 1,
                Some(old) if *old == bytes => counts.unchanged += 1,
                Some(_) => counts.updated += 1,
            }
            if existing.get(key) != Some(&bytes) {
                table
                    .insert((kind, key), bytes.as_slice())
                    .map_err(Error::db)?;
            }
            if replace {
                kept.insert(key.to_owned());
            }
        }
        if replace {
            for key in existing.keys() {
                if !kept.contains(key) {
                    table.remove((kind, key.as_str())).map_err(Error::db)?;
                    counts.removed += 1;
                }
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Store;

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
    fn bulk_mapping_writes_count_and_replace_removes() {
        let (_d, s) = store();
        let one = serde_json::json!({"v": 1});
        let two = serde_json::json!({"v": 2});
        let counts = s
            .write(|tx| tx.write_mappings("items", [("a", &one), ("b", &one)], false))
            .unwrap();
        assert_eq!(counts.created, 2);
        let counts = s
            .write(|tx| tx.write_mappings("items", [("a", &one), ("c", &two)], true))
            .unwrap();
        assert_eq!(
            counts,
            MappingWriteCounts {
                created: 1,
                updated: 0,
                unchanged: 1,
                removed: 1
            }
        );
        let keys: Vec<String> = s
            .read(|tx| tx.mappings::<serde_json::Value>("items"))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["a", "c"]);
    }
}
