//! dsco-brightpearl: a self-hosted daemon that syncs DSCO (Rithum) dropship orders with
//! Brightpearl.
//!
//! A tour, in the order data moves:
//! - [`config`] loads and checks the configuration; [`logging`] and [`systemd`] connect the
//!   process to journald and the service manager; [`app`] wires everything and owns the lifecycle.
//! - [`store`] is the only module that touches redb: settings, mappings, links, cursors, intents,
//!   idempotency keys, sync records and runs.
//! - [`sync`] defines flows and what a run gets; [`scheduler`] starts runs (cron, API, CLI) with a
//!   per-flow overlap guard.
//! - [`brightpearl`] and [`dsco`] are the API clients: wire models, auth, quotas, retries.
//! - [`api`] is the control plane over HTTP; [`cli`] the command line.
//! - [`sandbox`] simulates both upstream APIs for demos and tests; it imports nothing else here.

pub mod api;
pub mod app;
pub mod backoff;
pub mod brightpearl;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod crash_point;
pub mod dsco;
pub mod flow_name;
pub mod logging;
pub mod mapping;
pub mod memory;
pub mod problem;
pub mod reference;
pub mod sandbox;
pub mod scheduler;
pub mod secret;
pub mod settings;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod tls;
pub mod upstream;
