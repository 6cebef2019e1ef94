//! The store's error type, and the one encode/decode pair every JSON table value goes through.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

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
    pub(super) fn db(e: impl Into<redb::Error>) -> Error {
        Error::Db(e.into().to_string())
    }
}

/// Encode a stored value.
pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types to JSON cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decode a stored value, naming the table on failure.
pub(super) fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        table,
        key: String::new(),
        message: e.to_string(),
    })
}
