//! Named JSON documents: settings, connections, reference-data snapshots and DSCO's lists.

use redb::ReadableTable;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, decode, encode};
use super::tables::NAME_TO_DOCUMENT;
use super::tx::{Reads, Tx, WriteTx};

/// The settings document's name.
pub const SETTINGS_DOCUMENT: &str = "settings";

impl<T: Reads> Tx<T> {
    pub fn document<D: DeserializeOwned>(&self, name: &str) -> Result<Option<D>, Error> {
        let table = self.table(NAME_TO_DOCUMENT)?;
        match table.get(name).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("documents", v.value())?)),
            None => Ok(None),
        }
    }

    /// Documents whose names start with `prefix`, in name order, after `after` (exclusive).
    pub fn documents_with_prefix<D: DeserializeOwned>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, D)>, Error> {
        let table = self.table(NAME_TO_DOCUMENT)?;
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
}

impl WriteTx<'_> {
    pub fn put_document<D: Serialize>(&self, name: &str, value: &D) -> Result<(), Error> {
        let mut table = self.table_mut(NAME_TO_DOCUMENT)?;
        table
            .insert(name, encode(value).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }
}
