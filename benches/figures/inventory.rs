//! `inventory`: the inventory flow against both simulators on real time, Brightpearl at its
//! documented cap (200 requests per rolling 60 s, the simulator's default and the daemon's
//! default budget: low lanes 148 a minute) and DSCO's processing at 2 s, the daemon binary run
//! as a child process so its RSS and CPU are its own. Two daemons side by side, each with its own
//! simulators holding the same 100,000 published SKUs across 3 Brightpearl warehouses and 2
//! DSCO codes: A with the orders flow unscheduled (no orders guard) and B with orders every
//! minute (the guard waits for an orders window covering each read).
//!
//! Figures: (a) the reconcile that follows enabling: DSCO submits, bytes per batch, change-log
//! reads; (b) a full read with nothing changed: Brightpearl calls, wall time against the
//! low-lane floor, DSCO writes, the compare step's CPU, peak RSS; (c) stock change → quantity
//! confirmed in DSCO's log on the webhook path, guard off (A) and on (B); (d) an orders run's
//! throughput while a full read runs, against orders alone (A).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dsco_brightpearl::sandbox::common::LoggedRequest;
use dsco_brightpearl::sync::inventory::quantity::{self, Codes, OnHand, Stock, Untracked};
use serde_json::Value;

use crate::inventory_world::{Daemon, PROCESSING_DELAY, Sims, WAREHOUSES, Watch, say};
use crate::world::{WINDOW_LAG, bp_route, one_line_order};

/// A schedule that never comes round: the flow is enabled (its webhooks registered), its runs
/// come from webhooks and from the bench.
const NEVER: &str = "0 0 0 1 1 *";
const EVERY_MINUTE: &str = "0 * * * * *";
/// Brightpearl's documented cap: the simulator's default and the daemon's default budget.
const BP_CAP: u32 = 200;
const BP_WINDOW: Duration = Duration::from_secs(60);
/// What the low lanes (inventory, reference) may spend a window under the daemon's default
/// budget: the cap less the 50 held for orders and shipments, less the safety margin of 2.
const LOW_LANE_PER_MIN: f64 = 148.0;
/// Product ids per availability call (brightpearl-api.md §4.11).
const IDS_PER_CALL: usize = 200;
/// (c): one stock change every `CHANGE_EVERY`.
const CHANGE_EVERY: Duration = Duration::from_secs(2);

/// How much each part does.
#[derive(Clone, Copy)]
pub struct Scale {
    /// Published SKUs (Brightpearl products, all known to DSCO).
    published: u32,
    /// (c): stock changes per daemon.
    changes: usize,
    /// (d): orders imported alone, and again during a full read.
    orders: usize,
}

impl Scale {
    /// `--inventory-skus=N`: the same parts with `N` published SKUs.
    pub fn with_published(self, published: u32) -> Scale {
        Scale { published, ..self }
    }

    pub const FULL: Scale = Scale {
        published: 100_000,
        changes: 30,
        orders: 400,
    };
    /// `--inventory-quick`: a smoke run of every part (its figures are not the issue's).
    pub const QUICK: Scale = Scale {
        published: 2_000,
        changes: 5,
        orders: 40,
    };

    fn reads(&self) -> usize {
        (self.published as usize).div_ceil(IDS_PER_CALL)
    }

    /// How long the startup reference read may take: its calls at the low-lane rate, twice.
    fn reference_limit(&self) -> Duration {
        let calls = 2 * self.reads() + 10;
        Duration::from_secs(120 + (calls as f64 / LOW_LANE_PER_MIN * 60.0 * 2.0) as u64)
    }
}

pub fn inventory_figures(scale: Scale) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (done, a_done) = tokio::sync::oneshot::channel();
        let (a, b) = tokio::join!(unguarded(scale, done), guarded(scale, a_done));
        println!(
            "inventory: setup: real time; each daemon is the dsco-brightpearl binary (release under `cargo bench`) run as a child process with its own simulators: Brightpearl capped at {BP_CAP} requests per {} s (BrightpearlSimConfig default, the documented cap) and the daemon's default budget (50 held for orders/shipments, margin 2: low lanes {LOW_LANE_PER_MIN:.0} calls/min); DSCO processing delay {} s; {} published SKUs (items.dsco_match_field sku, the catalog rule), warehouses mapping {}; {}; {}",
            BP_WINDOW.as_secs(),
            PROCESSING_DELAY.as_secs(),
            scale.published,
            WAREHOUSES.lines().skip(1).collect::<Vec<_>>().join(" "),
            a.setup,
            b.setup
        );
        for line in a.lines.iter().chain(&b.lines) {
            println!("{line}");
        }
    });
}

/// What one daemon prints.
struct Figures {
    setup: String,
    lines: Vec<String>,
}

/// A figure line as soon as it is measured, on stderr with BENCH_VERBOSE set.
fn early(line: &str) {
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        eprintln!("{line}");
    }
}

/// Simulators, a daemon with `schedules`, reference data read, inventory configured and
/// enabled, its webhook registered.
async fn world(
    name: &'static str,
    scale: Scale,
    schedules: &[(&str, &str)],
) -> (Sims, Daemon, String) {
    let sims = Sims::start(scale.published).await;
    say(
        name,
        &format!(
            "seeded {} demo products in {:.1} s",
            sims.demo_products,
            sims.seeded_in.as_secs_f64()
        ),
    );
    let d = Daemon::start(name, &sims, schedules, true).await;
    say(name, "waiting for the reference run");
    let reference = d.wait_reference(scale.reference_limit()).await;
    let reference_secs = secs_between(&reference["started_at"], &reference["finished_at"]);
    say(name, &format!("reference: {}", reference["note"]));
    d.configure().await;
    d.wait_webhooks(1).await;
    let setup = format!(
        "daemon {name} ([schedules] {}): both simulators seeded with {} demo products in {:.1} s, startup reference read {reference_secs:.0} s",
        schedules
            .iter()
            .map(|(k, v)| format!("{k} = \"{v}\""))
            .collect::<Vec<_>>()
            .join(", "),
        sims.demo_products,
        sims.seeded_in.as_secs_f64(),
    );
    (sims, d, setup)
}

/// Daemon A, orders unscheduled: (a), (b), (c) without the guard, (d).
async fn unguarded(scale: Scale, done: tokio::sync::oneshot::Sender<()>) -> Figures {
    let (sims, d, setup) = world("A", scale, &[("inventory", NEVER)]).await;
    let mut lines = reconcile(&sims, &d, scale).await;
    say("A", "waiting for an idle Brightpearl window");
    sims.idle_window(BP_WINDOW).await;
    lines.extend(full_unchanged(&sims, &d, scale).await);
    let _ = done.send(());
    lines.push(
        latency(
            &sims,
            &d,
            scale,
            "A",
            "guard off (orders flow unscheduled)",
            Duration::from_secs(60),
        )
        .await,
    );
    lines.extend(orders_throughput(&sims, &d, scale).await);
    d.stop().await;
    Figures { setup, lines }
}

/// Daemon B, orders every minute: its reconcile, then (c) with the guard once A is past (b).
async fn guarded(scale: Scale, a_done: tokio::sync::oneshot::Receiver<()>) -> Figures {
    let (sims, d, setup) = world(
        "B",
        scale,
        &[("orders", EVERY_MINUTE), ("inventory", NEVER)],
    )
    .await;
    let run = d.run("inventory", Some("reconcile")).await;
    say(
        "B",
        &format!("reconcile {}: {}", run["status"], run["note"]),
    );
    let _ = a_done.await;
    let line = latency(
        &sims,
        &d,
        scale,
        "B",
        &format!("guard on (orders every minute, \"{EVERY_MINUTE}\")"),
        Duration::from_secs(120),
    )
    .await;
    d.stop().await;
    Figures {
        setup,
        lines: vec![line],
    }
}

fn secs_between(from: &Value, to: &Value) -> f64 {
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (parse(from), parse(to)) {
        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
        _ => f64::NAN,
    }
}

fn is_availability(r: &LoggedRequest) -> bool {
    r.method == "GET" && r.path.contains("/product-availability/")
}

/// Brightpearl's log after `seq`.
fn bp_since(sims: &Sims, seq: u64) -> Vec<LoggedRequest> {
    sims.bp
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.seq > seq)
        .collect()
}

fn dsco_since(sims: &Sims, seq: u64) -> Vec<LoggedRequest> {
    sims.dsco
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.seq > seq)
        .collect()
}

fn routes(requests: &[LoggedRequest], route: impl Fn(&LoggedRequest) -> String) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for r in requests {
        *by.entry(route(r)).or_default() += 1;
    }
    by.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bp_routes(requests: &[LoggedRequest]) -> String {
    routes(requests, |r| bp_route(&r.method, &r.path))
}

fn dsco_routes(requests: &[LoggedRequest]) -> String {
    routes(requests, |r| {
        format!("{} {}", r.method, r.path.trim_start_matches("/api/v3"))
    })
}

fn throttled(requests: &[LoggedRequest]) -> usize {
    requests
        .iter()
        .filter(|r| r.status == 503 || r.status == 429)
        .count()
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// (a) The first run after `inventory.enabled`: a reconcile sending every item.
async fn reconcile(sims: &Sims, d: &Daemon, scale: Scale) -> Vec<String> {
    let (bp_seq, dsco_seq) = (sims.last_bp_seq(), sims.last_dsco_seq());
    let (submits_from, reads_from) = sims.tap.marks();
    let hwm = d.reset_peak();
    let cpu = d.cpu_secs();
    say("A", "(a) reconcile");
    d.reset_slowest();
    let run = d.run("inventory", Some("reconcile")).await;
    let slowest = d.slowest();
    let cpu = d.cpu_secs() - cpu;
    let (peak_hwm, peak_sampled) = d.peak_mib();
    let wall = secs_between(&run["started_at"], &run["finished_at"]);
    let submits = sims.tap.submits_since(submits_from);
    let reads = sims.tap.log_reads_since(reads_from);
    let bp = bp_since(sims, bp_seq);
    let dsco = dsco_since(sims, dsco_seq);
    let availability = bp.iter().filter(|r| is_availability(r)).count();
    let (pending, rejected, skipped) = (
        d.items_in("pending").await,
        d.items_in("rejected").await,
        d.items_in("skipped").await,
    );
    // Publications DSCO had not confirmed when the run stopped waiting are settled by the next
    // run (before it reads anything): one delta now, so later parts start in sync.
    let settled = if pending > 0 {
        let delta = d.run("inventory", Some("delta")).await;
        format!(
            "; a delta run then settled them ({} {}: {} pending after it)",
            delta["status"],
            delta["note"]
                .as_str()
                .or(delta["error"].as_str())
                .unwrap_or_default(),
            d.items_in("pending").await
        )
    } else {
        String::new()
    };
    let bytes: Vec<String> = submits
        .iter()
        .map(|s| {
            format!(
                "{} B / {} items ({})",
                thousands(s.bytes),
                thousands(s.items),
                s.status
            )
        })
        .collect();
    let lines = vec![
        format!(
            "inventory: (a) reconcile, the first run after inventory.enabled, daemon A, {} published SKUs: run {} in {wall:.1} s, {cpu:.1} s CPU ({}); DSCO submits {} (target <= 5): {}; change-log reads {} ({} entries read); Brightpearl calls {} ({availability} availability, {} throttled); afterwards {pending} items pending, {rejected} rejected, {skipped} skipped (first 1000 of each counted){settled}",
            thousands(scale.published as usize),
            run["status"],
            run["note"]
                .as_str()
                .or(run["error"].as_str())
                .unwrap_or_default(),
            submits.len(),
            if bytes.is_empty() {
                "none".to_owned()
            } else {
                bytes.join(", ")
            },
            reads.len(),
            thousands(reads.iter().map(|r| r.entries).sum()),
            bp.len(),
            throttled(&bp),
        ),
        format!(
            "inventory:     (a) DSCO requests by route: {}; peak RSS during the reconcile {peak_hwm:.1} MiB (VmHWM{}), {peak_sampled:.1} MiB sampled every 50 ms (target <= 150 MiB); slowest control-API answer while the run was polled every 100 ms {:.1} s",
            dsco_routes(&dsco),
            if hwm {
                ", reset before the run"
            } else {
                " since start: clear_refs refused"
            },
            slowest.as_secs_f64(),
        ),
    ];
    for line in &lines {
        early(line);
    }
    lines
}

/// (b) A full read with nothing changed since the reconcile, from an idle Brightpearl window.
async fn full_unchanged(sims: &Sims, d: &Daemon, scale: Scale) -> Vec<String> {
    let (bp_seq, dsco_seq) = (sims.last_bp_seq(), sims.last_dsco_seq());
    let availability_before = sims.bp.requests().count("GET", "/product-availability/");
    let hwm = d.reset_peak();
    let cpu_start = d.cpu_secs();
    say("A", "(b) full read, nothing changed");
    d.reset_slowest();
    let id = d.start_run("inventory", Some("full")).await;
    // The instant Brightpearl answered the read's last availability call, and the CPU then.
    let mut read_end: Option<(Instant, f64)> = None;
    let mut polls = 0u32;
    let run = loop {
        if read_end.is_none()
            && sims.bp.requests().count("GET", "/product-availability/") - availability_before
                >= scale.reads()
        {
            let answered = bp_since(sims, bp_seq)
                .iter()
                .filter(|r| is_availability(r) && r.status == 200)
                .count();
            if answered >= scale.reads() {
                read_end = Some((Instant::now(), d.cpu_secs()));
            }
        }
        polls += 1;
        if polls.is_multiple_of(10) {
            let run = d.get(&format!("/v1/runs/{id}")).await;
            if run["status"] != "running" {
                break run;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let ended = (Instant::now(), d.cpu_secs());
    let (peak_hwm, peak_sampled) = d.peak_mib();
    let bp = bp_since(sims, bp_seq);
    let dsco = dsco_since(sims, dsco_seq);
    let reads: Vec<&LoggedRequest> = bp.iter().filter(|r| is_availability(r)).collect();
    let writes = dsco.iter().filter(|r| r.method != "GET").count();
    let read_secs = match (reads.first(), reads.last()) {
        (Some(a), Some(b)) => (b.at - a.at).num_milliseconds() as f64 / 1000.0,
        _ => f64::NAN,
    };
    let run_secs = secs_between(&run["started_at"], &run["finished_at"]);
    let floor_min = reads.len() as f64 / LOW_LANE_PER_MIN;
    let tail = read_end.map(|(at, cpu)| {
        let finished = run["finished_at"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|f| f.with_timezone(&chrono::Utc));
        let wall = match (finished, reads.last()) {
            (Some(f), Some(last)) => (f - last.at).num_milliseconds() as f64 / 1000.0,
            _ => (ended.0 - at).as_secs_f64(),
        };
        (wall, ended.1 - cpu)
    });
    let compare = compare_step(sims);
    let lines = vec![
        format!(
            "inventory: (b) full read, nothing changed since the reconcile, daemon A from an idle Brightpearl window: run {} ({}); Brightpearl calls {} (target <= 510): {}, {} throttled; read {:.1} s = {:.2} min from the first availability call to the last, run {:.1} s; low-lane floor {floor_min:.2} min ({} calls at {LOW_LANE_PER_MIN:.0}/min; the first {LOW_LANE_PER_MIN:.0} go at once from an idle window); DSCO writes {writes} (target 0), DSCO calls {} ({})",
            run["status"],
            run["note"]
                .as_str()
                .or(run["error"].as_str())
                .unwrap_or_default(),
            bp.len(),
            bp_routes(&bp),
            throttled(&bp),
            read_secs,
            read_secs / 60.0,
            run_secs,
            reads.len(),
            dsco.len(),
            if dsco.is_empty() {
                "none".to_owned()
            } else {
                dsco_routes(&dsco)
            },
        ),
        match tail {
            Some((wall, cpu)) => format!(
                "inventory:     (b) diff: the compare step of {} items (the flow's own quantity::brightpearl_quantity, publish, quantities, differs in the bench process, median of 5) {:.1} ms (target <= 100 ms); from outside, the daemon from the last availability answer to the run's end (compare, plus writing every item's state to the store) {:.0} ms wall, {:.0} ms CPU (/proc/<pid>/stat utime+stime, 10 ms ticks); whole run {:.2} s CPU",
                thousands(compare.0),
                compare.1,
                wall * 1000.0,
                cpu * 1000.0,
                ended.1 - cpu_start,
            ),
            None => "inventory:     (b) diff: the read's end was not seen".to_owned(),
        },
        format!(
            "inventory:     (b) peak RSS during the full read {peak_hwm:.1} MiB (VmHWM{}), {peak_sampled:.1} MiB sampled every 50 ms (target <= 150 MiB); RSS now {:.1} MiB; slowest control-API answer while the run was polled {:.1} s",
            if hwm {
                ", reset before the run"
            } else {
                " since start: clear_refs refused"
            },
            d.rss_mib(),
            d.slowest().as_secs_f64(),
        ),
    ];
    for line in &lines {
        early(line);
    }
    lines
}

/// The compare step as the flow does it, timed in the bench process: per item the Brightpearl
/// quantity per code, what is published, and whether it differs from what was confirmed (the
/// same values: nothing changed). The stock is the demo seed's (`sandbox::brightpearl` seeds
/// onHand per warehouse by product index as below); the simulator's own state dump looks up
/// each product's stock by scanning all of it, too slow at 100,000 products. (items, median ms
/// of 5)
fn compare_step(sims: &Sims) -> (usize, f64) {
    let mut on_hand: OnHand = BTreeMap::new();
    let mut products: Vec<(u32, String)> = Vec::new();
    for p in dsco_brightpearl::sandbox::demo::catalog(sims.demo_products) {
        if !p.in_brightpearl {
            continue;
        }
        let i = p.index;
        let mut by_warehouse =
            BTreeMap::from([(1, 20 + i64::from(i * 7 % 50)), (2, i64::from(i * 3 % 20))]);
        if !i.is_multiple_of(7) {
            by_warehouse.insert(3, i64::from(i % 5));
        }
        on_hand.insert(i, by_warehouse);
        products.push((i, p.sku));
    }
    let mut codes: Codes = BTreeMap::new();
    for line in WAREHOUSES.lines().skip(1) {
        let (w, code) = line.split_once(',').unwrap();
        codes
            .entry(code.to_owned())
            .or_default()
            .push(w.parse().unwrap());
    }
    let stock_of = |_: u32| Stock::Tracked;
    let pass = |confirmed: &BTreeMap<String, BTreeMap<String, i64>>| {
        let mut published = BTreeMap::new();
        let mut differing = 0usize;
        for (id, sku) in &products {
            let Ok(bp) = quantity::brightpearl_quantity(
                *id,
                &Stock::Tracked,
                Untracked::Skip,
                &stock_of,
                &on_hand,
                &codes,
            ) else {
                continue;
            };
            let detail = quantity::publish(&bp, None, 0, None);
            let q = quantity::quantities(&detail);
            if confirmed.get(sku).is_none_or(|c| quantity::differs(c, &q)) {
                differing += 1;
            }
            published.insert(sku.clone(), q);
        }
        (published, differing)
    };
    let (confirmed, _) = pass(&BTreeMap::new());
    let mut millis: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let (_, differing) = pass(&confirmed);
            assert_eq!(differing, 0);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    millis.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (products.len(), millis[millis.len() / 2])
}

/// Nearest-rank percentile of ascending samples.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Demo product indices for stock changes: past the ones orders use, none of the DSCO-only.
fn changed_products(count: usize) -> Vec<u32> {
    (1001..)
        .step_by(3)
        .filter(|i: &u32| !i.is_multiple_of(40))
        .take(count)
        .collect()
}

/// (c) One stock change every `CHANGE_EVERY` (onHand in warehouse 1 set to a new value and in
/// warehouse 2 to 0, so WH-MAIN becomes that value): the time from the change to the daemon
/// reading DSCO's inventory log with that quantity a success.
async fn latency(
    sims: &Sims,
    d: &Daemon,
    scale: Scale,
    name: &str,
    what: &str,
    tail: Duration,
) -> String {
    let runs_before = d.last_run_id().await;
    let bp_seq = sims.last_bp_seq();
    say(name, &format!("(c) {} stock changes", scale.changes));
    let start = Instant::now();
    let mut changes: Vec<(String, Instant, chrono::DateTime<chrono::Utc>)> = Vec::new();
    for (i, index) in changed_products(scale.changes).into_iter().enumerate() {
        tokio::time::sleep_until((start + CHANGE_EVERY * i as u32).into()).await;
        let sku = format!("SKU-{index:04}");
        let quantity = 500 + i as i64;
        sims.tap.watch(&sku, "WH-MAIN", quantity);
        changes.push((sku, Instant::now(), sims.bp.clock().now()));
        sims.bp.set_stock(index, 1, quantity);
        sims.bp.set_stock(index, 2, 0);
    }
    let deadline = Instant::now() + tail;
    while Instant::now() < deadline
        && changes
            .iter()
            .any(|(sku, _, _)| sims.tap.watched(sku).is_some_and(|w| w.confirmed.is_none()))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut confirmed = Vec::new();
    let mut processed = Vec::new();
    let mut missing = Vec::new();
    for (sku, at, at_utc) in &changes {
        match sims.tap.watched(sku) {
            Some(Watch {
                confirmed: Some(c),
                processed: p,
                ..
            }) => {
                confirmed.push((c - *at).as_secs_f64());
                if let Some(p) = p {
                    processed.push((p - *at_utc).num_milliseconds() as f64 / 1000.0);
                }
            }
            _ => missing.push(sku.clone()),
        }
    }
    confirmed.sort_by(|a, b| a.partial_cmp(b).unwrap());
    processed.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Let the runs the last changes started end before counting them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut by_flow: BTreeMap<String, usize> = BTreeMap::new();
    for r in d.runs_after(None, runs_before).await {
        *by_flow
            .entry(format!(
                "{} {} ({})",
                r["flow"].as_str().unwrap_or("?"),
                r["mode"].as_str().unwrap_or("?"),
                r["trigger"].as_str().unwrap_or("?")
            ))
            .or_default() += 1;
    }
    let bp = bp_since(sims, bp_seq);
    let availability = bp.iter().filter(|r| is_availability(r)).count();
    let line = if confirmed.is_empty() {
        format!(
            "inventory: (c) webhook path, {what}, daemon {name}: none of {} changes confirmed in {} s",
            changes.len(),
            tail.as_secs()
        )
    } else {
        format!(
            "inventory: (c) webhook path, {what}, daemon {name}: {} stock changes one every {} s (set_stock raises product.modified.on-hand-modified to the public listener; DSCO processing {} s): change -> quantity confirmed (the daemon reads DSCO's inventory log with it a success) p50 {:.1} s, p95 {:.1} s, max {:.1} s (target p95 <= 8 s); change -> processed by DSCO p50 {:.1} s, p95 {:.1} s; runs {}; Brightpearl calls {} ({availability} availability){}",
            changes.len(),
            CHANGE_EVERY.as_secs(),
            PROCESSING_DELAY.as_secs(),
            pct(&confirmed, 0.50),
            pct(&confirmed, 0.95),
            confirmed[confirmed.len() - 1],
            if processed.is_empty() {
                f64::NAN
            } else {
                pct(&processed, 0.50)
            },
            if processed.is_empty() {
                f64::NAN
            } else {
                pct(&processed, 0.95)
            },
            by_flow
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            bp.len(),
            if missing.is_empty() {
                String::new()
            } else {
                format!("; {} not confirmed: {}", missing.len(), missing.join(", "))
            }
        )
    };
    early(&line);
    line
}

/// Orders imported by back-to-back runs: sales-order creates in Brightpearl's log.
struct Import {
    imported: usize,
    runs: usize,
    /// Create instants (simulator clock).
    creates: Vec<chrono::DateTime<chrono::Utc>>,
}

impl Import {
    /// Creates per minute in the completed windows since the first create (a partly used last
    /// window would skew it), and over the whole import.
    fn rates(&self) -> Option<(f64, usize, i64, f64)> {
        let (first, last) = (*self.creates.first()?, *self.creates.last()?);
        let window = chrono::Duration::from_std(BP_WINDOW).unwrap();
        let windows = ((last - first).num_milliseconds() / window.num_milliseconds()).max(1);
        let end = first + window * windows as i32;
        let in_windows = self.creates.iter().filter(|t| **t < end).count();
        let sustained = in_windows as f64 / (windows as f64 * BP_WINDOW.as_secs_f64()) * 60.0;
        let span = (last - first).num_milliseconds().max(1) as f64 / 60_000.0;
        Some((
            sustained,
            in_windows,
            windows,
            self.creates.len() as f64 / span,
        ))
    }
}

/// Orders prefixed `prefix` imported by orders runs one after another.
async fn import(sims: &Sims, d: &Daemon, prefix: &str, count: usize) -> Import {
    let seq = sims.last_bp_seq();
    let imported = |sims: &Sims| {
        sims.bp
            .orders()
            .iter()
            .filter(|o| {
                o["reference"]
                    .as_str()
                    .is_some_and(|r| r.starts_with(prefix))
            })
            .count()
    };
    let end = Instant::now() + Duration::from_secs(900);
    let mut runs = 0;
    while imported(sims) < count && Instant::now() < end {
        let run = d.run("orders", None).await;
        runs += 1;
        say(
            "A",
            &format!(
                "orders run {}: {} {}",
                run["id"], run["status"], run["note"]
            ),
        );
    }
    let creates = bp_since(sims, seq)
        .into_iter()
        .filter(|r| {
            r.method == "POST" && r.path.ends_with("/sales-order") && (200..300).contains(&r.status)
        })
        .map(|r| r.at)
        .collect();
    Import {
        imported: imported(sims),
        runs,
        creates,
    }
}

fn import_line(what: &str, count: usize, i: &Import) -> String {
    match i.rates() {
        Some((sustained, in_windows, windows, overall)) => format!(
            "{what}: {} of {count} orders imported over {} run(s), sustained {sustained:.1} orders/min ({in_windows} creates in {windows} completed {}-s windows from the first), {overall:.1} orders/min first to last create",
            i.imported,
            i.runs,
            BP_WINDOW.as_secs()
        ),
        None => format!("{what}: no order imported ({} runs)", i.runs),
    }
}

/// (d) Orders alone, then the same number while a full read runs (the orders created before
/// the read, their runs started once the read has made three fifths of its calls, when
/// Brightpearl's window is full of inventory calls).
async fn orders_throughput(sims: &Sims, d: &Daemon, scale: Scale) -> Vec<String> {
    let create = |prefix: &str| {
        for i in 0..scale.orders {
            sims.dsco
                .create_order(one_line_order(&format!("{prefix}{i:04}"), i))
                .unwrap();
        }
    };
    say("A", "(d) orders alone");
    create("ALONE-");
    tokio::time::sleep(WINDOW_LAG).await;
    sims.idle_window(BP_WINDOW).await;
    let alone = import(sims, d, "ALONE-", scale.orders).await;
    say("A", "(d) orders during a full read");
    sims.idle_window(BP_WINDOW).await;
    create("BUSY-");
    tokio::time::sleep(WINDOW_LAG).await;
    let bp_seq = sims.last_bp_seq();
    let availability_before = sims.bp.requests().count("GET", "/product-availability/");
    let full = d.start_run("inventory", Some("full")).await;
    let start_after = scale.reads() * 3 / 5;
    while sims.bp.requests().count("GET", "/product-availability/") - availability_before
        < start_after
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let busy = import(sims, d, "BUSY-", scale.orders).await;
    let run = d.wait_run(full).await;
    let reads: Vec<chrono::DateTime<chrono::Utc>> = bp_since(sims, bp_seq)
        .iter()
        .filter(|r| is_availability(r))
        .map(|r| r.at)
        .collect();
    let read_end = reads.last().copied();
    let during = busy
        .creates
        .iter()
        .filter(|t| read_end.is_some_and(|e| **t <= e))
        .count();
    let (first_create, last_create) = (busy.creates.first(), busy.creates.last());
    let reads_while_importing = reads
        .iter()
        .filter(|t| first_create.is_some_and(|f| *t >= f) && last_create.is_some_and(|l| *t <= l))
        .count();
    let ratio = match (alone.rates(), busy.rates()) {
        (Some(a), Some(b)) => format!("{:.3}", b.0 / a.0),
        _ => "n/a".to_owned(),
    };
    let lines = vec![
        format!(
            "inventory: (d) orders throughput during a full read / alone = {ratio} (target >= 0.9), daemon A, Brightpearl at {BP_CAP} per {} s (ceiling {:.0} orders/min at one call per order), one-line orders created beforehand, runs back to back",
            BP_WINDOW.as_secs(),
            f64::from(BP_CAP - 2),
        ),
        import_line(
            "inventory:     (d) alone, from an idle window",
            scale.orders,
            &alone,
        ),
        import_line(
            &format!(
                "inventory:     (d) during a full read (runs started after {start_after} of its {} availability calls)",
                scale.reads()
            ),
            scale.orders,
            &busy,
        ),
        format!(
            "inventory:     (d) the full read: run {} in {:.1} s ({} availability calls, {reads_while_importing} of them between the first and the last order create); {during} of {} creates happened before its last availability call",
            run["status"],
            secs_between(&run["started_at"], &run["finished_at"]),
            reads.len(),
            busy.creates.len(),
        ),
    ];
    for line in &lines {
        early(line);
    }
    lines
}
