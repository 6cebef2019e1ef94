//! dsco-brightpearl: a self-hosted daemon that syncs DSCO (Rithum) dropship orders with Brightpearl.

pub mod sandbox;
pub mod secret;
