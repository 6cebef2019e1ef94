//! Per-flow cursors: where a flow's next run starts (a time window, a page token).

use redb::ReadableTable;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, decode, encode};
use super::tables::NAME_TO_CURSOR;
use super::tx::{Reads, Tx, WriteTx};

impl<T: Reads> Tx<T> {
    pub fn cursor<C: DeserializeOwned>(&self, name: &str) -> Result<Option<C>, Error> {
        let table = self.table(NAME_TO_CURSOR)?;
        match table.get(name).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("cursors", v.value())?)),
            None => Ok(None),
        }
    }
}

impl WriteTx<'_> {
    pub fn set_cursor<C: Serialize>(&self, name: &str, value: &C) -> Result<(), Error> {
        let mut table = self.table_mut(NAME_TO_CURSOR)?;
        table
            .insert(name, encode(value).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }
}
