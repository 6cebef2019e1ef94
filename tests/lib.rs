//! One integration-test binary: every module below links against the library once.

mod support;

mod architecture;
mod cancel_requests;
mod cancellations;
mod connections;
mod daemon;
mod inventory;
mod inventory_faults;
mod inventory_pending;
mod invoices;
mod journal;
mod lifecycle_faults;
mod lifecycle_webhooks;
mod mapping_buffers;
mod mappings;
mod modes;
mod orders;
mod reference;
mod sandbox_brightpearl;
mod sandbox_bundles;
mod sandbox_cmd;
mod sandbox_demo;
mod sandbox_dsco;
mod sandbox_fidelity;
mod shipments;
mod shipments_faults;
mod shipments_webhooks;
mod store_fixtures;
mod transient;
mod webhooks;
