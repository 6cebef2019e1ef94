//! Brightpearl public REST API client (reference: `brightpearl-api.md`).
//!
//! Owns the wire format (`model`), ID sets (`idset`), search decoding (`search`), the shared
//! request budget with priority lanes (`quota`), retries (`retry`) and error classification
//! (`error`). It knows nothing of the store or the sync flows; flows call [`Client`] methods named
//! after API operations, passing the [`Lane`] the work belongs to.

mod client;
mod error;
pub mod idset;
pub mod limits;
pub mod model;
pub mod quota;
pub mod search;

pub use crate::backoff::RetryPolicy;
pub use client::{
    Auth, Client, ClientConfig, TokenGrant, TokenKind, TokenRefresher, default_token_url,
    exchange_token,
};
pub use error::{ApiError, Error};
pub use model::*;
pub use quota::{Grant, Lane, QuotaBudget, QuotaConfig, QuotaSnapshot};
pub use search::{SearchPage, SearchQuery};

#[cfg(test)]
mod tests;
