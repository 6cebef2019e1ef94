//! The two transaction kinds: [`Tx`] over a redb read transaction ([`ReadTx`]) or write
//! transaction ([`WriteTx`]). Every read is written once, on `Tx<T: Reads>`, so both kinds have
//! it; writes are on `WriteTx` only. The concern modules (`documents`, `links`, ...) hold them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use redb::{Key, ReadableTable, TableDefinition, Value};

use super::error::Error;
use super::record::RecordBackoff;
use super::tables::META;
use crate::clock::SharedClock;

/// A store transaction with typed accessors. Reached through `Store::read` and `Store::write`.
pub struct Tx<T> {
    pub(super) tx: T,
    pub(super) env: Arc<Env>,
}

/// What every transaction of one store shares: the daemon's clock and the record backoff.
#[derive(Debug, Clone)]
pub struct Env {
    pub clock: SharedClock,
    pub backoff: RecordBackoff,
}

impl<T> Tx<T> {
    /// The daemon's "now" (the injected clock).
    pub fn now(&self) -> DateTime<Utc> {
        self.env.clock.now()
    }

    /// How this store's records back off after transient failures.
    pub fn record_backoff(&self) -> &RecordBackoff {
        &self.env.backoff
    }
}

/// A read transaction.
pub type ReadTx = Tx<redb::ReadTransaction>;

/// A write transaction: it has every read of [`ReadTx`] too.
pub type WriteTx<'a> = Tx<&'a redb::WriteTransaction>;

/// A transaction the shared reads work on: redb's read transaction or a borrowed write
/// transaction. Sealed: it gives the store a way to open a table for reading, nothing more.
pub trait Reads: sealed::OpenTable {}

impl Reads for redb::ReadTransaction {}
impl Reads for &redb::WriteTransaction {}

pub(super) mod sealed {
    use super::*;

    pub trait OpenTable {
        /// The table type this transaction kind opens.
        type Table<'t, K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>
        where
            Self: 't;

        fn open<K: Key + 'static, V: Value + 'static>(
            &self,
            table: TableDefinition<K, V>,
        ) -> Result<Self::Table<'_, K, V>, Error>;
    }

    impl OpenTable for redb::ReadTransaction {
        type Table<'t, K: Key + 'static, V: Value + 'static> = redb::ReadOnlyTable<K, V>;

        fn open<K: Key + 'static, V: Value + 'static>(
            &self,
            table: TableDefinition<K, V>,
        ) -> Result<redb::ReadOnlyTable<K, V>, Error> {
            self.open_table(table).map_err(Error::db)
        }
    }

    impl<'a> OpenTable for &'a redb::WriteTransaction {
        type Table<'t, K: Key + 'static, V: Value + 'static>
            = redb::Table<'a, K, V>
        where
            Self: 't;

        fn open<K: Key + 'static, V: Value + 'static>(
            &self,
            table: TableDefinition<K, V>,
        ) -> Result<redb::Table<'a, K, V>, Error> {
            (*self).open_table(table).map_err(Error::db)
        }
    }
}

impl<T: Reads> Tx<T> {
    /// Open a table for reading (the only way the shared reads reach redb).
    pub(super) fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        table: TableDefinition<K, V>,
    ) -> Result<<T as sealed::OpenTable>::Table<'_, K, V>, Error> {
        sealed::OpenTable::open(&self.tx, table)
    }
}

impl<'a> WriteTx<'a> {
    /// Open a table for writing.
    pub(super) fn table_mut<K: Key + 'static, V: Value + 'static>(
        &self,
        table: TableDefinition<K, V>,
    ) -> Result<redb::Table<'a, K, V>, Error> {
        self.tx.open_table(table).map_err(Error::db)
    }

    /// Take the next value of a sequence kept in `META`.
    pub(super) fn next_id(&self, sequence: &str) -> Result<u64, Error> {
        let mut meta = self.table_mut(META)?;
        let next = meta
            .get(sequence)
            .map_err(Error::db)?
            .map(|v| v.value())
            .unwrap_or(1);
        meta.insert(sequence, next + 1).map_err(Error::db)?;
        Ok(next)
    }
}
