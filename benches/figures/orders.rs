//! `orders`: the orders flow against both simulators with Brightpearl capped at 20 requests per
//! 10 s: calls per order, throughput, and latency on a one-minute schedule.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::world::{BP_CAP, BP_WINDOW, OrdersWorld, WINDOW_LAG, verbose};

/// The ceiling Brightpearl's cap allows: 120 orders a minute at one call per order.
const CEILING_PER_MIN: f64 = 120.0;

/// The orders flow alone against a Brightpearl capped at 20 requests per 10 s.
pub fn orders_figures(latency_secs: u64) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        orders_throughput().await;
        orders_latency(latency_secs).await;
    });
}

/// (a) Brightpearl calls per imported order and (b) orders per minute against the ceiling:
/// 240 orders (two minutes' worth) created upfront, runs triggered back to back.
async fn orders_throughput() {
    const ORDERS: usize = 240;
    const PREFIX: &str = "TPUT-";
    let w = OrdersWorld::start(None).await;
    for i in 0..ORDERS {
        w.create_order(&format!("{PREFIX}{i:04}"), i);
    }
    // Inside the window, and the reference run's calls out of Brightpearl's rolling window.
    tokio::time::sleep(WINDOW_LAG.max(BP_WINDOW)).await;
    verbose("orders", "orders created; measuring");
    let quota_before = w.running.connections.quota().snapshot();
    let seq_before = w.last_bp_seq();
    let started = Instant::now();
    let (runs, all_in) = {
        let mut runs = 0;
        let mut all_in = None;
        // Poll for the instant the last order exists while runs follow one another.
        let poll = async {
            loop {
                if w.imported(PREFIX).len() >= ORDERS {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::pin!(poll);
        let deadline = started + Duration::from_secs(600);
        while all_in.is_none() && Instant::now() < deadline {
            let run = w.run_orders();
            tokio::pin!(run);
            loop {
                tokio::select! {
                    elapsed = &mut poll, if all_in.is_none() => all_in = Some(elapsed),
                    run = &mut run => {
                        runs += 1;
                        verbose("orders", &format!(
                            "run {}: {} {} {}",
                            run["id"], run["status"], run["counts"], run["note"]
                        ));
                        if run["status"] != "succeeded" {
                            println!(
                                "orders: run {} ended {}: {}",
                                run["id"], run["status"], run["error"]
                            );
                        }
                        break;
                    }
                }
            }
        }
        (runs, all_in)
    };
    let total_elapsed = started.elapsed();
    let quota_after = w.running.connections.quota().snapshot();
    let (logged, throttled, by_route) = w.bp_calls_since(seq_before);
    let creates: Vec<chrono::DateTime<chrono::Utc>> =
        w.bp.requests()
            .all()
            .into_iter()
            .filter(|r| {
                r.seq > seq_before
                    && r.method == "POST"
                    && r.path.ends_with("/sales-order")
                    && (200..300).contains(&r.status)
            })
            .map(|r| r.at)
            .collect();
    let imported = w.imported(PREFIX).len();
    let budget_calls = quota_after.calls_total - quota_before.calls_total;
    println!(
        "orders: setup: Brightpearl capped at {BP_CAP} requests per {} s (ceiling {CEILING_PER_MIN:.0} orders/min at one call per order), customers mapped per retailer, expected_cost pricing, no notes, reference run done and not counted, orders flow alone",
        BP_WINDOW.as_secs()
    );
    println!(
        "orders: (a) Brightpearl calls per imported order: {:.3} ({logged} requests in the simulator's log for {imported} orders; {budget_calls} through the quota budget; {throttled} throttled answers) (target <= 1.05)",
        logged as f64 / imported.max(1) as f64
    );
    let routes: Vec<String> = by_route.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!("orders:     requests by route: {}", routes.join(", "));
    match all_in {
        Some(elapsed) => {
            let secs = elapsed.as_secs_f64();
            // Creates in the completed windows since the first one: the rate the cap sustains
            // (counting a partly used last window, or the initial burst, would skew it).
            let window = chrono::Duration::from_std(BP_WINDOW).unwrap();
            let (first, last) = (creates[0], creates[creates.len() - 1]);
            let windows = ((last - first).num_milliseconds() / window.num_milliseconds()).max(1);
            let end = first + window * windows as i32;
            let in_windows = creates.iter().filter(|t| **t < end).count();
            let sustained = in_windows as f64 / (windows as f64 * BP_WINDOW.as_secs_f64()) * 60.0;
            println!(
                "orders: (b) {ORDERS} orders imported in {secs:.1} s over {runs} run(s): sustained {sustained:.1} orders/min ({in_windows} creates in {windows} completed {}-s windows) = {:.3} of the ceiling (target >= 0.95); all {ORDERS} from the first run start: {:.1} orders/min",
                BP_WINDOW.as_secs(),
                sustained / CEILING_PER_MIN,
                ORDERS as f64 / secs * 60.0
            );
        }
        None => println!(
            "orders: (b) only {imported} of {ORDERS} orders imported in {:.0} s over {runs} run(s)",
            total_elapsed.as_secs_f64()
        ),
    }
    w.stop().await;
}

/// (c) Latency from DSCO order creation to the Brightpearl order on a one-minute schedule.
async fn orders_latency(duration_secs: u64) {
    const PREFIX: &str = "LAT-";
    const EVERY: Duration = Duration::from_secs(5);
    let w = OrdersWorld::start(Some("0 * * * * *")).await;
    let count = (duration_secs / EVERY.as_secs()).max(1) as usize;
    let mut created: BTreeMap<String, Instant> = BTreeMap::new();
    let mut seen: BTreeMap<String, Duration> = BTreeMap::new();
    let first = Instant::now();
    let mut deadline = None;
    loop {
        let now = Instant::now();
        if created.len() < count && now >= first + EVERY * created.len() as u32 {
            let i = created.len();
            let po = format!("{PREFIX}{i:04}");
            w.create_order(&po, i);
            created.insert(po, Instant::now());
            if created.len() == count {
                // Worst case: 10 s lag, then up to a minute to the next run, plus slack.
                deadline = Some(Instant::now() + Duration::from_secs(100));
            }
        }
        for r in w.imported(PREFIX) {
            if let std::collections::btree_map::Entry::Vacant(e) = seen.entry(r) {
                let at = created[e.key()];
                e.insert(at.elapsed());
            }
        }
        if seen.len() == count || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut latencies: Vec<f64> = seen.values().map(Duration::as_secs_f64).collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        let i = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    if latencies.is_empty() {
        println!("orders: (c) no order reached Brightpearl");
    } else {
        println!(
            "orders: (c) schedule \"0 * * * * *\", {count} orders created one every {} s over {:.0} s: creation -> Brightpearl order p50 {:.1} s, p95 {:.1} s, max {:.1} s (target p95 <= 70 s){}",
            EVERY.as_secs(),
            (EVERY * (count as u32 - 1)).as_secs_f64(),
            pct(0.50),
            pct(0.95),
            latencies[latencies.len() - 1],
            if seen.len() < count {
                format!("; {} never arrived", count - seen.len())
            } else {
                String::new()
            }
        );
    }
    w.stop().await;
}
