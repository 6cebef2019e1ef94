//! dsco-brightpearl: a self-hosted daemon that syncs DSCO (Rithum) dropship orders with Brightpearl.

pub mod brightpearl;
pub mod dsco;
pub mod sandbox;
pub mod secret;
pub mod tls;
