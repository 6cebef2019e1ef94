//! The embedded store: the only module that imports redb.
//!
//! Everything else uses typed methods on [`ReadTx`] and [`WriteTx`], reached through
//! [`Store::read`] and [`Store::write`]: one write transaction per unit of work, so a link, the
//! intent it clears, the record and the cursor it advances commit together or not at all. redb is
//! blocking; async code goes through [`Store::call`], which runs the closure on the blocking pool.
//! Never hold a transaction across an `.await`.

mod catalog;
mod kv;
pub mod migrate;
mod records;
mod runs;
mod tables;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use redb::ReadableDatabase;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use catalog::{
    DSCO_SHIP_METHODS_DOCUMENT, DSCO_WAREHOUSES_DOCUMENT, MappingWriteCounts, REFERENCE_DOCUMENT,
    SETTINGS_DOCUMENT,
};
pub use kv::{Intent, Link};
pub use records::{
    Outcome, RecordDetail, RecordFilter, RecordStatus, RetryPolicy, StatusCounts, SyncRecord,
};
pub use runs::{Run, RunId, RunStatus, Trigger};

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot open the store {path}: {message}; check the file's owner and permissions, or move it aside to start afresh"
    )]
    Open { path: PathBuf, message: String },
    #[error(
        "the store {path} is in use by another process (is the daemon running?); stop it or use the control API"
    )]
    Locked { path: PathBuf },
    #[error(
        "the store {path} has schema version {found}, newer than this binary supports ({supported}): upgrade dsco-brightpearl or restore a backup of the store"
    )]
    TooNew {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    #[error("store migration to version {to} failed: {message}")]
    Migration { to: u64, message: String },
    #[error("store: {0}")]
    Db(String),
    #[error("store: {table} entry {key} does not decode: {message}")]
    Decode {
        table: &'static str,
        key: String,
        message: String,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("store task failed: {0}")]
    Task(String),
}

impl Error {
    fn db(e: impl Into<redb::Error>) -> Error {
        Error::Db(e.into().to_string())
    }
}

/// Encode a stored value.
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types to JSON cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decode a stored value, naming the table on failure.
fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        table,
        key: String::new(),
        message: e.to_string(),
    })
}

/// Lock a mutex, recovering from poisoning (the data is plain counters and caches).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The open store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<redb::Database>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Open (or create) the store at `path` and migrate it to the latest schema.
    pub fn open(path: &Path) -> Result<Store, Error> {
        Store::open_at_version(path, migrate::LATEST)
    }

    /// Open and migrate only up to `version` (tests build old-version fixtures with this).
    pub fn open_at_version(path: &Path, version: u64) -> Result<Store, Error> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| Error::Open {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        let db = redb::Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => Error::Locked {
                path: path.to_path_buf(),
            },
            redb::DatabaseError::Storage(redb::StorageError::Io(io))
                if io.kind() == std::io::ErrorKind::WouldBlock =>
            {
                Error::Locked {
                    path: path.to_path_buf(),
                }
            }
            other => Error::Open {
                path: path.to_path_buf(),
                message: other.to_string(),
            },
        })?;
        migrate::migrate(&db, path, version)?;
        Ok(Store {
            db: Arc::new(db),
            path: Arc::new(path.to_path_buf()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run blocking store work off the async workers.
    pub async fn call<R, F>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce(&Store) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// One read transaction.
    pub fn read<R>(&self, f: impl FnOnce(&ReadTx) -> Result<R, Error>) -> Result<R, Error> {
        let tx = self.db.begin_read().map_err(Error::db)?;
        f(&ReadTx { tx })
    }

    /// One write transaction: committed when `f` returns `Ok`, rolled back otherwise.
    pub fn write<R>(&self, f: impl FnOnce(&WriteTx) -> Result<R, Error>) -> Result<R, Error> {
        let tx = self.db.begin_write().map_err(Error::db)?;
        let result = f(&WriteTx { tx: &tx })?;
        tx.commit().map_err(Error::db)?;
        Ok(result)
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<u64, Error> {
        migrate::stored_version(&self.db)
    }

    /// Prove the store answers (the watchdog and `/ready` use this).
    pub fn ping(&self) -> Result<(), Error> {
        self.schema_version().map(|_| ())
    }
}

/// A read transaction with typed accessors (see `kv`, `records`, `runs`).
pub struct ReadTx {
    tx: redb::ReadTransaction,
}

/// A write transaction with typed accessors (see `kv`, `records`, `runs`).
pub struct WriteTx<'a> {
    tx: &'a redb::WriteTransaction,
}

impl WriteTx<'_> {
    /// Take the next value of a sequence kept in `META`.
    fn next_id(&self, sequence: &str) -> Result<u64, Error> {
        use redb::ReadableTable;
        let mut meta = self.tx.open_table(tables::META).map_err(Error::db)?;
        let next = meta
            .get(sequence)
            .map_err(Error::db)?
            .map(|v| v.value())
            .unwrap_or(1);
        meta.insert(sequence, next + 1).map_err(Error::db)?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_store_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let store = Store::open(&path).unwrap();
            let tx = store.db.begin_write().unwrap();
            tx.open_table(tables::META)
                .unwrap()
                .insert("schema_version", migrate::LATEST + 1)
                .unwrap();
            tx.commit().unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, Error::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("upgrade dsco-brightpearl"));
    }

    #[test]
    fn unreadable_file_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        std::fs::write(&path, b"this is not a redb file at all, just some text").unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(err.to_string().contains("cannot open the store"), "{err}");
    }

    #[test]
    fn second_open_reports_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let _first = Store::open(&path).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err}");
    }

    #[test]
    fn a_failed_unit_of_work_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let result: Result<(), Error> = store.write(|tx| {
            tx.set_cursor("orders", &serde_json::json!({"until": "x"}))?;
            Err(Error::Conflict("abort".into()))
        });
        assert!(result.is_err());
        let cursor: Option<serde_json::Value> = store.read(|tx| tx.cursor("orders")).unwrap();
        assert_eq!(cursor, None);
    }
}
