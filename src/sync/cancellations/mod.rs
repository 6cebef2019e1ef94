//! The `cancellations` flow, Brightpearl → DSCO supplier cancels. So far: the pure builder of
//! what is sent ([`build`]); detection, sending through `sync::dsco_once` and the views come next.

pub mod build;
