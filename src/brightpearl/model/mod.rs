//! Brightpearl wire types: field names, nesting and types exactly as on the wire (brightpearl-api.md §4).
//! Money and quantities are strings where Brightpearl sends strings. No business rules here.
//! Unknown fields are ignored on input; optional fields we send are omitted when `None`.
//!
//! One file per API area; every type is re-exported here, so callers name `model::Order`.

mod contacts;
mod goods_out;
mod ids;
mod lookups;
mod notes;
mod orders;
mod products;
mod token;
mod webhooks;

pub use self::contacts::*;
pub use self::goods_out::*;
pub use self::ids::*;
pub use self::lookups::*;
pub use self::notes::*;
pub use self::orders::*;
pub use self::products::*;
pub use self::token::*;
pub use self::webhooks::*;
