//! DSCO (Rithum) API v3 client for the supplier side (reference: `dsco-api.md`,
//! `dsco-openapi-v3.yaml`).
//!
//! Owns the wire format (`model`), tokens, per-endpoint 429 cool-downs, retries, error
//! classification (`error`) and the batch-then-change-log pattern (`batch`). It knows nothing of
//! the store or the sync flows; SFTP lives elsewhere.

pub mod batch;
mod client;
mod error;
pub mod model;

pub use crate::backoff::RetryPolicy;
pub use batch::{ChangeLog, ChangeLogPolling, ObjectOutcome, ObjectStatus};
pub use client::{
    AsyncWrite, Auth, BatchResult, Client, ClientConfig, OrderPageRequest, OrderPager, OrderQuery,
    OrderWindowStart,
};
pub use error::Error;
pub use model::*;

#[cfg(test)]
mod tests;
