//! Benchmarks that print figures (never asserted): `cargo bench --bench figures [-- SECTION...]`.
//!
//! Sections: `daemon` (idle RSS, exec → READY, binary size), `mappings` (100,000 item mappings
//! uploaded as CSV through HTTP to an in-process daemon), `catalog` (the reference flow reading a
//! 20,000-product catalog from the Brightpearl simulator: calls used against the paging minimum,
//! and time), `orders` (the orders flow against both simulators with Brightpearl capped at 20
//! requests per 10 s: calls per order, throughput, and latency on a one-minute schedule;
//! `--orders-latency-secs=N` shortens the latency part, 180 s by default; `BENCH_VERBOSE=1` shows
//! its progress), `faults` (200 orders on a one-minute schedule while both simulators fail 20 % of
//! requests with transient faults: calls per order, waits after the last fault, needs_attention,
//! duplicates; about 5 minutes), `shipments` (goods-out notes shipped to DSCO on real time with
//! DSCO's processing at 2 s, a webhook-path and a sweep-path daemon side by side: note → synced
//! latency on each path, calls per note and per shipment for 200 notes created within 10 s, and
//! the public listener's answer time at 100 deliveries/s; about 5 minutes; `--shipments-quick`
//! runs every part small, as a smoke test), `inventory` (the inventory flow with 100,000
//! published SKUs across 3 Brightpearl warehouses and 2 DSCO codes, Brightpearl at its
//! documented 200 requests per 60 s and DSCO's processing at 2 s, the daemon binary run as a
//! child process, one daemon without and one with the orders guard: the reconcile's DSCO submits,
//! bytes and change-log reads; a full read with nothing changed: calls, wall time against the
//! low-lane floor, DSCO writes, the compare step's CPU, peak RSS; stock change -> quantity
//! confirmed on the webhook path, guard off and on; orders throughput during a full read against
//! orders alone; about 30 minutes; `--inventory-quick` runs every part small, as a smoke test;
//! `--inventory-skus=N` sets the number of published SKUs).
//! `lifecycle` (invoices and supplier cancels on real time with DSCO's processing at 2 s, a
//! webhook-path and a sweep-path daemon side by side: invoicing / the cancel status in Brightpearl
//! → synced latency, Brightpearl calls and DSCO submits per invoice and per cancel for 200 of
//! each; `--lifecycle-quick` runs it small).
//! Without arguments every section runs.

mod catalog;
mod daemon;
mod faults;
mod inventory;
mod inventory_world;
mod lifecycle;
mod mappings;
mod orders;
mod shipments;
mod world;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if runs("daemon") {
        daemon::daemon_figures();
    }
    if runs("mappings") {
        mappings::mappings_figures();
    }
    if runs("catalog") {
        catalog::catalog_figures();
    }
    if runs("orders") {
        let latency_secs = std::env::args()
            .find_map(|a| {
                a.strip_prefix("--orders-latency-secs=")
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(180);
        orders::orders_figures(latency_secs);
    }
    if runs("faults") {
        faults::faults_figures();
    }
    if runs("shipments") {
        let quick = std::env::args().any(|a| a == "--shipments-quick");
        shipments::shipments_figures(if quick {
            shipments::Scale::QUICK
        } else {
            shipments::Scale::FULL
        });
    }
    if runs("lifecycle") {
        let quick = std::env::args().any(|a| a == "--lifecycle-quick");
        lifecycle::lifecycle_figures(if quick {
            lifecycle::Scale::QUICK
        } else {
            lifecycle::Scale::FULL
        });
    }
    if runs("inventory") {
        let quick = std::env::args().any(|a| a == "--inventory-quick");
        let mut scale = if quick {
            inventory::Scale::QUICK
        } else {
            inventory::Scale::FULL
        };
        if let Some(skus) = std::env::args().find_map(|a| {
            a.strip_prefix("--inventory-skus=")
                .and_then(|v| v.parse().ok())
        }) {
            scale = scale.with_published(skus);
        }
        inventory::inventory_figures(scale);
    }
}
