//! [`Store`]: the open database file (refusing a locked or newer file, migrating an older one)
//! and the two ways into a transaction, [`Store::read`] and [`Store::write`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::ReadableDatabase;

use super::error::Error;
use super::migrate;
use super::record::RecordBackoff;
use super::tx::{Env, ReadTx, Tx, WriteTx};
use crate::clock::{self, SharedClock};

/// redb's page cache. Its default ceiling is 1 GiB, and pages a long scan touched (a
/// 100,000-SKU inventory table) stay resident until then; the interior nodes of every table
/// this store holds fit many times in 32 MiB, and the OS page cache still serves the rest.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// The open store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<redb::Database>,
    path: Arc<PathBuf>,
    env: Arc<Env>,
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
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| match e {
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
            env: Arc::new(Env {
                clock: clock::system(),
                backoff: RecordBackoff::default(),
            }),
        })
    }

    /// Read time from `clock` (set once, before the store is shared).
    pub fn with_clock(mut self, clock: SharedClock) -> Store {
        Arc::make_mut(&mut self.env).clock = clock;
        self
    }

    /// Back records off by `backoff` (`[records]` in the config).
    pub fn with_record_backoff(mut self, backoff: RecordBackoff) -> Store {
        Arc::make_mut(&mut self.env).backoff = backoff;
        self
    }

    /// The daemon's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.env.clock
    }

    /// The daemon's "now".
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.env.clock.now()
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
        f(&Tx {
            tx,
            env: self.env.clone(),
        })
    }

    /// One write transaction: committed when `f` returns `Ok`, rolled back otherwise.
    pub fn write<R>(&self, f: impl FnOnce(&WriteTx) -> Result<R, Error>) -> Result<R, Error> {
        let tx = self.db.begin_write().map_err(Error::db)?;
        let result = f(&Tx {
            tx: &tx,
            env: self.env.clone(),
        })?;
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

#[cfg(test)]
mod tests {
    use super::super::tables;
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
