//! The `inventory` flow, Brightpearl → DSCO.

pub mod quantity;
