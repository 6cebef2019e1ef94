//! dsco-brightpearl: a self-hosted daemon that syncs DSCO (Rithum) dropship orders with Brightpearl.

pub mod config;
pub mod sandbox;
pub mod scheduler;
pub mod secret;
pub mod store;
pub mod sync;
