//! The `inventory` flow, Brightpearl → DSCO.

pub mod items;
pub mod quantity;
