//! One integration-test binary: every module below links against the library once.

mod support;

mod architecture;
mod connections;
mod daemon;
mod journal;
mod mappings;
mod orders;
mod reference;
mod sandbox_brightpearl;
mod sandbox_cmd;
mod sandbox_dsco;
mod store_fixtures;
mod transient;
mod webhooks;
