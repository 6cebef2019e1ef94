//! `shipments`: goods-out notes of imported orders shipped to DSCO against both simulators on
//! real time, with DSCO's asynchronous processing at 2 s. Two daemons run side by side: one on
//! the webhook path (public listener on loopback, Brightpearl's webhooks delivered to it, a
//! shipments schedule that never comes round) and one on the sweep path (no public listener,
//! shipments every minute). Figures: (a) note → synced latency on the webhook path, (b) the same
//! on the sweep path, (c) calls per note and per shipment for 200 notes created within 10 s on
//! each path, (d) the public listener's answer time at 100 deliveries/s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use dsco_brightpearl::flow_name::FlowName;
use dsco_brightpearl::sandbox::common::LoggedRequest;
use serde_json::{Value, json};

use crate::world::{OrdersWorld, Setup, WINDOW_LAG, verbose};

const SECTION: &str = "shipments";
/// A schedule that never comes round: the flow is enabled, its runs come from webhooks.
const NEVER: &str = "0 0 0 1 1 *";
const EVERY_MINUTE: &str = "0 * * * * *";
/// DSCO's asynchronous processing delay while notes are shipped.
const PROCESSING_DELAY: Duration = Duration::from_secs(2);
/// Brightpearl's cap in this section, so the setup's order import does not wait for windows
/// (the (c) lines count throttled answers, and the calls a documented 200 per minute would slow).
const BP_RAISED_CAP: u32 = 2000;
const BP_RAISED_WINDOW: Duration = Duration::from_secs(60);
const WEBHOOK_EVERY: Duration = Duration::from_secs(2);
const SWEEP_EVERY: Duration = Duration::from_secs(4);
/// (c): notes created within `BURST_SPAN` on each path.
const BURST_SPAN: Duration = Duration::from_secs(10);
/// (d): one delivery every `DELIVERY_TICK`.
const DELIVERY_TICK: Duration = Duration::from_millis(10);

/// How much each part does.
#[derive(Clone, Copy)]
pub struct Scale {
    /// (a): notes on the webhook path, one every `WEBHOOK_EVERY`.
    webhook_notes: usize,
    /// (b): notes on the sweep path, one every `SWEEP_EVERY` (about two minutes).
    sweep_notes: usize,
    /// (c): notes created within `BURST_SPAN` on each path.
    burst: usize,
    /// (d): how long deliveries go on.
    deliveries_for: Duration,
}

impl Scale {
    pub const FULL: Scale = Scale {
        webhook_notes: 30,
        sweep_notes: 30,
        burst: 200,
        deliveries_for: Duration::from_secs(10),
    };
    /// `--shipments-quick`: a smoke run of every part (its figures are not the issue's).
    pub const QUICK: Scale = Scale {
        webhook_notes: 5,
        sweep_notes: 5,
        burst: 20,
        deliveries_for: Duration::from_secs(2),
    };
}

const WAREHOUSES: &str = "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n";
const METHODS: &str = "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\n\
    both,UPCG,UPS,Ground,1\n";

pub fn shipments_figures(scale: Scale) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (done, webhook_done) = tokio::sync::oneshot::channel();
        let (webhook, sweep) = tokio::join!(
            webhook_path(scale, done),
            sweep_path(scale, webhook_done)
        );
        println!(
            "shipments: setup: real time, DSCO processing delay {} s, one-line orders imported through the orders flow and acknowledged before any note, one note per order with tracking set as it is created (moment created, trigger goods_out_note), warehouse and shipping-method mapped; Brightpearl capped at {BP_RAISED_CAP} requests per {} s so the setup's imports do not wait (throttled answers are counted in (c)); the webhook-path and sweep-path daemons run side by side, (c) on the sweep path after the webhook path is done",
            PROCESSING_DELAY.as_secs(),
            BP_RAISED_WINDOW.as_secs()
        );
        println!("{}", webhook.latency);
        println!("{}", sweep.latency);
        for line in webhook.burst.iter().chain(&sweep.burst) {
            println!("{line}");
        }
        if let Some(line) = webhook.answers {
            println!("{line}");
        }
    });
}

/// What one path prints.
struct Figures {
    latency: String,
    burst: Vec<String>,
    answers: Option<String>,
}

/// An imported order ready for a goods-out note.
struct Shippable {
    bp_order_id: u32,
    row_id: u32,
}

fn say(what: &str) {
    verbose(SECTION, what);
}

/// A figure line as soon as it is measured, on stderr with BENCH_VERBOSE set.
fn early(line: &str) {
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        eprintln!("{line}");
    }
}

/// The webhook path: (a), (c) and (d), then tell the sweep path it may run its (c).
async fn webhook_path(scale: Scale, done: tokio::sync::oneshot::Sender<()>) -> Figures {
    let notes = scale.webhook_notes;
    let (w, mut orders) = world("webhook", true, NEVER, notes + scale.burst).await;
    let burst_orders = orders.split_off(notes);
    let latency = latencies(&w, &orders, WEBHOOK_EVERY, Duration::from_secs(60), "W").await;
    let latency = latency_line(
        "(a) webhook path (public listener on loopback, Brightpearl's webhooks, schedule never)",
        WEBHOOK_EVERY,
        &latency,
        "target p95 <= 10 s",
    );
    early(&latency);
    let (burst, notes) = burst(&w, &burst_orders, "webhook", "X").await;
    let answers = answers(&w, &notes, scale.deliveries_for).await;
    early(&answers);
    let _ = done.send(());
    w.stop().await;
    Figures {
        latency,
        burst,
        answers: Some(answers),
    }
}

/// The sweep path: (b), then (c) once the webhook path is done.
async fn sweep_path(scale: Scale, webhook_done: tokio::sync::oneshot::Receiver<()>) -> Figures {
    let notes = scale.sweep_notes;
    let (w, mut orders) = world("sweep", false, EVERY_MINUTE, notes + scale.burst).await;
    let burst_orders = orders.split_off(notes);
    let latency = latencies(&w, &orders, SWEEP_EVERY, Duration::from_secs(100), "S").await;
    let latency = latency_line(
        &format!("(b) sweep path (no public listener, schedule \"{EVERY_MINUTE}\")"),
        SWEEP_EVERY,
        &latency,
        "target p95 <= 75 s",
    );
    early(&latency);
    let _ = webhook_done.await;
    let (burst, _) = burst(&w, &burst_orders, "sweep", "Y").await;
    w.stop().await;
    Figures {
        latency,
        burst,
        answers: None,
    }
}

/// A world on one path with `orders` one-line orders imported and acknowledged on DSCO, the
/// mappings uploaded, our webhooks registered (webhook path), and DSCO's processing delay set.
async fn world(
    path: &'static str,
    public: bool,
    schedule: &str,
    orders: usize,
) -> (OrdersWorld, Vec<Shippable>) {
    let w = OrdersWorld::start_with(Setup {
        section: SECTION,
        cap: Some((BP_RAISED_CAP, BP_RAISED_WINDOW)),
        shipments_schedule: Some(schedule),
        public,
        ..Default::default()
    })
    .await;
    w.send(
        w.http
            .patch(format!("{}/v1/settings", w.url))
            .json(&json!({"shipments": {"trigger": "goods_out_note",
                                         "goods_out_note_moment": "created"}})),
    )
    .await;
    for (kind, csv) in [("warehouses", WAREHOUSES), ("shipping-methods", METHODS)] {
        w.send(
            w.http
                .put(format!("{}/v1/mappings/{kind}", w.url))
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    }
    let prefix = format!("SHP-{}-", path.to_uppercase());
    let pos: Vec<String> = (0..orders).map(|i| format!("{prefix}{i:04}")).collect();
    for (i, po) in pos.iter().enumerate() {
        w.create_order(po, i);
    }
    tokio::time::sleep(WINDOW_LAG).await;
    let end = Instant::now() + Duration::from_secs(300);
    while w.imported(&prefix).len() < orders {
        assert!(Instant::now() < end, "{path}: orders not imported in 300 s");
        let run = w.run_orders().await;
        say(&format!(
            "{path}: orders run {}: {}",
            run["status"], run["note"]
        ));
    }
    // DSCO shows every order acknowledged (the ship pre-flight needs it).
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let waiting = w
            .dsco
            .orders()
            .iter()
            .filter(|o| {
                o["poNumber"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(&prefix))
            })
            .filter(|o| o["dscoLifecycle"] != "acknowledged")
            .count();
        if waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < end,
            "{path}: {waiting} orders not acknowledged on DSCO"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if public {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let view = w.get("/v1/brightpearl/webhooks").await;
            if view["webhooks"].as_array().map_or(0, Vec::len) == 4 {
                break;
            }
            assert!(
                Instant::now() < end,
                "{path}: webhooks not registered: {view}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    w.dsco.set_processing_delay(PROCESSING_DELAY);
    let mut by_po: BTreeMap<String, Shippable> = BTreeMap::new();
    for order in w.bp.orders() {
        let Some(po) = order["reference"]
            .as_str()
            .filter(|r| r.starts_with(&prefix))
        else {
            continue;
        };
        let row = order["orderRows"]
            .as_object()
            .and_then(|rows| {
                rows.iter()
                    .find(|(_, r)| r["productId"].as_u64().is_some())
                    .map(|(id, _)| id.parse::<u32>().unwrap())
            })
            .unwrap_or_else(|| panic!("{po}: no product row: {order}"));
        by_po.insert(
            po.to_owned(),
            Shippable {
                bp_order_id: order["id"].as_u64().unwrap() as u32,
                row_id: row,
            },
        );
    }
    let shippable = pos.iter().map(|po| by_po.remove(po).unwrap()).collect();
    say(&format!(
        "{path}: {orders} orders imported and acknowledged"
    ));
    (w, shippable)
}

/// A goods-out note for the order's one row, its tracking set at once; returns the note id.
fn ship(w: &OrdersWorld, order: &Shippable, tracking: &str) -> u32 {
    let note =
        w.bp.create_goods_out_note(order.bp_order_id, &[(order.row_id, 1)])
            .unwrap();
    w.bp.ship_goods_out_note(note, Some(tracking), None)
        .unwrap();
    note
}

/// Shipment records by source id (the note id) with their status.
async fn shipment_records(w: &OrdersWorld) -> BTreeMap<String, Value> {
    let page = w
        .get("/v1/records?flow=shipments&kind=shipment&limit=1000")
        .await;
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["source_id"].as_str()?.to_owned(), r.clone())))
        .collect()
}

/// Note ids that are not synced, with their status and reason.
fn unsynced(records: &BTreeMap<String, Value>, notes: &BTreeSet<String>) -> Vec<String> {
    notes
        .iter()
        .filter(|n| records.get(*n).is_none_or(|r| r["status"] != "synced"))
        .map(|n| match records.get(n) {
            Some(r) => format!("{n} {} ({})", r["status"], r["reason"]),
            None => format!("{n} no record"),
        })
        .collect()
}

/// Latency samples of one path.
struct Latencies {
    created: usize,
    /// Seconds from note creation to the record seen `synced`, ascending.
    seconds: Vec<f64>,
    missing: Vec<String>,
}

/// One note per order every `every`; each note's time from creation to its record seen synced
/// (polled every 100 ms), waiting `tail` after the last note at most.
async fn latencies(
    w: &OrdersWorld,
    orders: &[Shippable],
    every: Duration,
    tail: Duration,
    tag: &str,
) -> Latencies {
    let mut created: BTreeMap<String, Instant> = BTreeMap::new();
    let mut seen: BTreeMap<String, Duration> = BTreeMap::new();
    let first = Instant::now();
    let mut deadline = None;
    let mut records;
    loop {
        if created.len() < orders.len() && Instant::now() >= first + every * created.len() as u32 {
            let i = created.len();
            let at = Instant::now();
            let note = ship(w, &orders[i], &format!("1ZB{tag}{i:05}"));
            created.insert(note.to_string(), at);
            if created.len() == orders.len() {
                deadline = Some(Instant::now() + tail);
            }
        }
        records = shipment_records(w).await;
        for (note, at) in &created {
            if !seen.contains_key(note)
                && records.get(note).is_some_and(|r| r["status"] == "synced")
            {
                seen.insert(note.clone(), at.elapsed());
            }
        }
        if seen.len() == orders.len() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seconds: Vec<f64> = seen.values().map(Duration::as_secs_f64).collect();
    seconds.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let notes: BTreeSet<String> = created.keys().cloned().collect();
    Latencies {
        created: created.len(),
        seconds,
        missing: unsynced(&records, &notes),
    }
}

/// Nearest-rank percentile of ascending samples.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn latency_line(what: &str, every: Duration, l: &Latencies, target: &str) -> String {
    if l.seconds.is_empty() {
        return format!(
            "shipments: {what}: none of {} notes synced; {}",
            l.created,
            l.missing.join(", ")
        );
    }
    let s = &l.seconds;
    format!(
        "shipments: {what}, {} notes created one every {} s over {:.0} s: goods-out note created -> shipment synced (DSCO change log) p50 {:.1} s, p95 {:.1} s, max {:.1} s ({target}){}",
        l.created,
        every.as_secs(),
        (every * (l.created as u32).saturating_sub(1)).as_secs_f64(),
        pct(s, 0.50),
        pct(s, 0.95),
        s[s.len() - 1],
        if l.missing.is_empty() {
            String::new()
        } else {
            format!("; {} not synced: {}", l.missing.len(), l.missing.join(", "))
        }
    )
}

/// Wait until no shipments run is going and the webhook inbox is empty, twice in a row.
async fn idle(w: &OrdersWorld) {
    let end = Instant::now() + Duration::from_secs(120);
    let mut quiet = 0;
    while quiet < 2 && Instant::now() < end {
        let status = w.get("/v1/status").await;
        let running = status["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["flow"] == "shipments" && !f["running_run_id"].is_null());
        let inbox = w
            .running
            .store
            .read(|tx| tx.inbox(FlowName::Shipments, 10))
            .unwrap()
            .len();
        quiet = if running || inbox > 0 { 0 } else { quiet + 1 };
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn last_run_id(runs: &Value) -> u64 {
    runs["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_u64())
        .max()
        .unwrap_or(0)
}

/// (c) One note per order created within `BURST_SPAN` within `BURST_SPAN`; once all are synced and the flow is idle,
/// the calls both simulators logged since the notes began. Returns the lines and the note ids.
async fn burst(
    w: &OrdersWorld,
    orders: &[Shippable],
    path: &str,
    tag: &str,
) -> (Vec<String>, Vec<u32>) {
    idle(w).await;
    let runs_before = last_run_id(&w.get("/v1/runs?flow=shipments&limit=1000").await);
    let (bp_seq, dsco_seq) = (w.last_bp_seq(), w.last_dsco_seq());
    say(&format!("{path}: (c) creating {} notes", orders.len()));
    let start = Instant::now();
    let mut notes = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let due = start + BURST_SPAN.mul_f64(i as f64 / orders.len() as f64);
        tokio::time::sleep_until(due.into()).await;
        notes.push(ship(w, order, &format!("1ZB{tag}{i:05}")));
    }
    let created_in = start.elapsed();
    let ids: BTreeSet<String> = notes.iter().map(u32::to_string).collect();
    let end = Instant::now() + Duration::from_secs(240);
    let mut records;
    let all_synced = loop {
        records = shipment_records(w).await;
        let missing = unsynced(&records, &ids);
        if missing.is_empty() {
            break Some(start.elapsed());
        }
        if Instant::now() >= end {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    idle(w).await;
    let (bp_total, bp_throttled, bp_routes) = w.bp_calls_since(bp_seq);
    let dsco: Vec<LoggedRequest> = w
        .dsco
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.seq > dsco_seq)
        .collect();
    let is = |r: &LoggedRequest, method: &str, tail: &str| {
        r.method == method && r.path.trim_end_matches('/').ends_with(tail)
    };
    let order_gets = dsco.iter().filter(|r| is(r, "GET", "/order")).count();
    let submits = dsco
        .iter()
        .filter(|r| is(r, "POST", "/order/shipment/batch/small"))
        .count();
    let log_reads = dsco.iter().filter(|r| is(r, "GET", "/order/log")).count();
    let other = dsco.len() - order_gets - submits - log_reads;
    let dsco_429 = dsco.iter().filter(|r| r.status == 429).count();
    let runs = w.get("/v1/runs?flow=shipments&limit=1000").await;
    let mut by_trigger: BTreeMap<String, usize> = BTreeMap::new();
    for r in runs["items"].as_array().into_iter().flatten() {
        if r["id"].as_u64().is_some_and(|id| id > runs_before) {
            *by_trigger
                .entry(r["trigger"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }
    }
    let synced = ids.len() - unsynced(&records, &ids).len();
    let per_note = |n: usize| n as f64 / notes.len().max(1) as f64;
    let per_shipment = |n: usize| n as f64 / synced.max(1) as f64;
    let (bp_target, submit_target) = if path == "sweep" {
        ("target <= 0.05", " (target <= 0.05)")
    } else {
        ("target <= 0.5, deliveries coalesced by the queued run", "")
    };
    let mut lines = vec![format!(
        "shipments: (c) {path} path, {} notes created in {:.1} s, {}: Brightpearl calls per note {:.3} ({bp_total} requests, {bp_throttled} throttled; {bp_target}); DSCO calls per shipment: GET /order/ {:.3}, submits {:.3}{submit_target}, change-log reads {:.3}, other {:.3}, all {:.3} ({} requests, {dsco_429} answered 429; target all <= 1.2); runs {}",
        notes.len(),
        created_in.as_secs_f64(),
        match all_synced {
            Some(t) => format!(
                "all {} synced {:.1} s after the first was created",
                ids.len(),
                t.as_secs_f64()
            ),
            None => format!(
                "only {synced} of {} synced after {:.0} s",
                ids.len(),
                start.elapsed().as_secs_f64()
            ),
        },
        per_note(bp_total),
        per_shipment(order_gets),
        per_shipment(submits),
        per_shipment(log_reads),
        per_shipment(other),
        per_shipment(dsco.len()),
        dsco.len(),
        by_trigger
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    let routes: Vec<String> = bp_routes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    lines.push(format!(
        "shipments:     {path} path Brightpearl requests by route: {}",
        routes.join(", ")
    ));
    let mut dsco_routes: BTreeMap<String, usize> = BTreeMap::new();
    for r in &dsco {
        let route = r.path.trim_start_matches("/api/v3");
        *dsco_routes
            .entry(format!("{} {route}", r.method))
            .or_default() += 1;
    }
    let routes: Vec<String> = dsco_routes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    lines.push(format!(
        "shipments:     {path} path DSCO requests by route: {}",
        routes.join(", ")
    ));
    for line in &lines {
        early(line);
    }
    (lines, notes)
}

/// (d) Deliveries of `goods-out-note.modified` for `notes` (in turn) to the public listener,
/// one every `DELIVERY_TICK` for `deliveries_for` whatever the answers; the answer time of each
/// from its tick.
async fn answers(w: &OrdersWorld, notes: &[u32], deliveries_for: Duration) -> String {
    let install = w.running.webhooks.install().clone();
    let url = format!(
        "{}/hooks/brightpearl?key={}&install={}",
        w.public_url.as_ref().unwrap(),
        install.key.expose(),
        install.id
    );
    let account = w.bp.config().account.clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let count = (deliveries_for.as_millis() / DELIVERY_TICK.as_millis()) as usize;
    let mut tick = tokio::time::interval(DELIVERY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for i in 0..count {
        let due = tick.tick().await.into_std();
        let body = dsco_brightpearl::sync::webhooks::BODY_TEMPLATE
            .replace("${account-code}", &account)
            .replace("${resource-type}", "goods-out-note")
            .replace("${resource-id}", &notes[i % notes.len()].to_string())
            .replace("${lifecycle-event}", "modified")
            .replace("${full-event}", "goods-out-note.modified")
            .replace(
                "${raised-on}",
                &chrono::Utc::now()
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string(),
            )
            .replace("${brightpearl-version}", "5.0.0");
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        tasks.spawn(async move {
            let answer = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            (due.elapsed(), answer)
        });
    }
    let sent_in = started.elapsed();
    let mut millis = Vec::new();
    let mut not_ok = 0;
    while let Some(done) = tasks.join_next().await {
        let (elapsed, status) = done.unwrap();
        millis.push(elapsed.as_secs_f64() * 1000.0);
        if status != 200 {
            not_ok += 1;
        }
    }
    millis.sort_by(|a, b| a.partial_cmp(b).unwrap());
    idle(w).await;
    format!(
        "shipments: (d) public listener, {count} deliveries of goods-out-note.modified ({} distinct notes) sent open-loop on a {} ms tick over {:.1} s ({:.0}/s): answer time from the tick p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 100 ms); {not_ok} not answered 200",
        notes.len().min(count),
        DELIVERY_TICK.as_millis(),
        sent_in.as_secs_f64(),
        count as f64 / sent_in.as_secs_f64(),
        pct(&millis, 0.50),
        pct(&millis, 0.99),
        millis[millis.len() - 1]
    )
}
