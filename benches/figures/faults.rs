//! `faults`: 200 orders imported on the real one-minute schedule while both simulators fail 20 %
//! of their requests with a transient fault of any kind; the daemon retries by itself (record
//! backoff 5 s → 5 min, follow-up runs for records due within `retry_soon`), nothing calls the
//! retry API. Figures: calls per order on each side, faults injected, how long orders waited after
//! the last fault, records that reached `needs_attention`, duplicates, wall time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dsco_brightpearl::flow_name::FlowName;
use dsco_brightpearl::sandbox::common::{FaultKind, FaultMode, FaultRule, LoggedRequest};
use dsco_brightpearl::store::{RecordFilter, RecordStatus, SyncRecord};
use serde_json::Value;

use crate::world::{OrdersWorld, Setup, verbose};

const ORDERS: usize = 200;
const PREFIX: &str = "FLT-";
const SCHEDULE: &str = "0 * * * * *";
const PROBABILITY: f64 = 0.2;
const SEED: u64 = 7;
/// Give up waiting for the acknowledgements after this long (from the orders' creation).
const DEADLINE: Duration = Duration::from_secs(600);

pub fn faults_figures() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(faults());
}

/// One rule per simulator: every request, 20 %, the kind drawn uniformly from every kind.
fn rule() -> FaultRule {
    FaultRule {
        method: None,
        path_contains: "/".into(),
        query_contains: None,
        body_contains: None,
        kind: FaultKind::Any {
            slow_ms: 3000,
            throttle_ms: 1000,
        },
        mode: FaultMode::Seeded {
            probability: PROBABILITY,
            seed: SEED,
        },
    }
}

fn say(what: &str) {
    verbose("faults", what);
}

async fn faults() {
    let wall = Instant::now();
    let w = OrdersWorld::start_with(Setup {
        section: "faults",
        orders_schedule: Some(SCHEDULE),
        ..Default::default()
    })
    .await;
    let contacts_before = w.bp.contact_count();
    let (bp_seq, dsco_seq) = (w.last_bp_seq(), w.last_dsco_seq());
    // DSCO order id → (PO number, created at).
    let mut created: BTreeMap<String, (String, DateTime<Utc>)> = BTreeMap::new();
    for i in 0..ORDERS {
        let po = format!("{PREFIX}{i:04}");
        let id = w.create_order(&po, i);
        created.insert(id, (po, Utc::now()));
    }
    w.bp.faults().add(rule());
    w.dsco.faults().add(rule());
    let started = Instant::now();
    let faults_on = Utc::now();
    say("orders created, faults on; waiting for the schedule");
    let mut faults_off: Option<DateTime<Utc>> = None;
    let mut attention_seen: BTreeMap<u64, Value> = BTreeMap::new();
    let mut last_progress = (usize::MAX, 0);
    let acknowledged = loop {
        let imported = distinct(&w.imported(PREFIX));
        if faults_off.is_none() && imported >= ORDERS {
            w.bp.faults().clear();
            w.dsco.faults().clear();
            faults_off = Some(Utc::now());
            say("every order is in Brightpearl: faults off");
        }
        for r in pages(&w, "/v1/records?flow=orders&status=needs_attention").await {
            if let Some(id) = r["id"].as_u64() {
                attention_seen.entry(id).or_insert(r);
            }
        }
        let acknowledged = pages(&w, "/v1/orders?state=acknowledged")
            .await
            .iter()
            .filter(|v| {
                v["dsco_order_id"]
                    .as_str()
                    .is_some_and(|id| created.contains_key(id))
            })
            .count();
        if (imported, acknowledged) != last_progress {
            last_progress = (imported, acknowledged);
            say(&format!(
                "{:.0} s: {imported} in Brightpearl, {acknowledged} acknowledged",
                started.elapsed().as_secs_f64()
            ));
        }
        if acknowledged >= ORDERS || started.elapsed() >= DEADLINE {
            break acknowledged;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let all_acknowledged = started.elapsed();
    let faults_cleared_by = if faults_off.is_some() {
        "every order had its Brightpearl order"
    } else {
        "the deadline passed"
    };
    let faults_off = *faults_off.get_or_insert_with(|| {
        w.bp.faults().clear();
        w.dsco.faults().clear();
        Utc::now()
    });
    // Let a run in progress (a follow-up) end before counting.
    let idle_by = Instant::now() + Duration::from_secs(120);
    while w.running.scheduler.running(FlowName::Orders).is_some() && Instant::now() < idle_by {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let bp_log: Vec<LoggedRequest> =
        w.bp.requests()
            .all()
            .into_iter()
            .filter(|r| r.seq > bp_seq)
            .collect();
    let dsco_log: Vec<LoggedRequest> = w
        .dsco
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.seq > dsco_seq)
        .collect();
    let views: BTreeMap<String, Value> = pages(&w, "/v1/orders")
        .await
        .into_iter()
        .filter_map(|v| Some((v["dsco_order_id"].as_str()?.to_owned(), v)))
        .filter(|(id, _)| created.contains_key(id))
        .collect();
    let records: Vec<SyncRecord> = w
        .running
        .store
        .read(|tx| {
            tx.records(
                &RecordFilter {
                    flow: Some(FlowName::Orders),
                    ..Default::default()
                },
                None,
                100_000,
            )
        })
        .unwrap();
    let runs = pages(&w, "/v1/runs?flow=orders").await;

    println!(
        "faults: setup: {ORDERS} one-line orders on DSCO (customers mapped per retailer, expected_cost pricing), Brightpearl at its documented 200 requests per 60 s, \
         schedule \"{SCHEDULE}\" (the real one: runs start on the minute, plus the follow-up runs the daemon times itself), request_timeout 2 s on both sides; \
         one rule per simulator on every path, probability {PROBABILITY} seeded {SEED}, kind drawn uniformly from all 14 (slow = 3 s, past the timeout: an unknown outcome); \
         faults on from the orders' creation until {faults_cleared_by} ({:.0} s later), off afterwards; no retry API calls; reference run and setup not counted",
        (faults_off - faults_on).num_milliseconds() as f64 / 1000.0
    );
    side("Brightpearl", &bp_log, bp_route);
    side("DSCO", &dsco_log, dsco_route);
    println!(
        "faults: (a) Brightpearl calls per order {:.3} (target <= 1.35; the floor at {:.0} % faults is {:.2}); DSCO calls per order {:.3}",
        bp_log.len() as f64 / ORDERS as f64,
        PROBABILITY * 100.0,
        1.0 / (1.0 - PROBABILITY),
        dsco_log.len() as f64 / ORDERS as f64
    );

    // Waits after faults, per acknowledged order.
    let ack_at: BTreeMap<&str, DateTime<Utc>> = views
        .iter()
        .filter(|(_, v)| v["state"] == "acknowledged")
        .filter_map(|(id, v)| Some((id.as_str(), acknowledged_at(v)?)))
        .collect();
    let mut fault_times: Vec<DateTime<Utc>> = bp_log
        .iter()
        .chain(&dsco_log)
        .filter(|r| r.fault.is_some())
        .map(|r| r.at)
        .collect();
    fault_times.sort();
    let secs = |d: chrono::Duration| d.num_milliseconds() as f64 / 1000.0;
    let after_any: Vec<f64> = ack_at
        .values()
        .filter_map(|a| {
            let i = fault_times.partition_point(|f| f < a);
            (i > 0).then(|| secs(*a - fault_times[i - 1]))
        })
        .collect();
    let order_records: BTreeMap<&str, &SyncRecord> = records
        .iter()
        .filter(|r| r.kind == "order")
        .map(|r| (r.source_id.as_str(), r))
        .collect();
    let after_own: Vec<f64> = ack_at
        .iter()
        .filter_map(|(id, a)| {
            let last = order_records.get(id)?.attempt_errors.last()?;
            Some(secs(*a - last.at))
        })
        .collect();
    let after_off: Vec<f64> = ack_at
        .values()
        .filter(|a| **a > faults_off)
        .map(|a| secs(*a - faults_off))
        .collect();
    let end_to_end: Vec<f64> = ack_at
        .iter()
        .map(|(id, a)| secs(*a - created[*id].1))
        .collect();
    println!(
        "faults: (b) waited after the last injected fault (target <= 60 s): {}",
        spread(&after_any)
    );
    println!(
        "faults:     how: per acknowledged order, its acknowledgement time (the order view's `acknowledged` step) minus the time of the last fault either simulator \
         injected before it (faults cannot be tied to orders from the request logs; while faults fire every second or so this is a lower bound)"
    );
    println!(
        "faults:     the order's own failures: acknowledgement minus the order record's last failed attempt (`attempt_errors`), over the {} orders that failed at least once: {}",
        after_own.len(),
        spread(&after_own)
    );
    println!(
        "faults:     after the faults were switched off: {} orders acknowledged later, acknowledgement minus switch-off: {}",
        after_off.len(),
        spread(&after_off)
    );
    println!(
        "faults:     DSCO creation -> acknowledged, all orders: {}",
        spread(&end_to_end)
    );
    let mut attempts: BTreeMap<u32, usize> = BTreeMap::new();
    for r in order_records.values() {
        let failed = r
            .attempt_errors
            .iter()
            .map(|e| e.attempt)
            .max()
            .unwrap_or(0);
        *attempts.entry(failed).or_default() += 1;
    }
    let attempts: Vec<String> = attempts
        .iter()
        .map(|(n, c)| format!("{n} failed: {c}"))
        .collect();
    println!(
        "faults:     order records by failed attempts: {}",
        attempts.join(", ")
    );

    // needs_attention, ever: seen while polling, now, or in an order's timeline.
    for r in records
        .iter()
        .filter(|r| r.status == RecordStatus::NeedsAttention)
    {
        attention_seen
            .entry(r.id)
            .or_insert_with(|| serde_json::to_value(r).unwrap());
    }
    let timeline_attention: Vec<&String> = views
        .iter()
        .filter(|(_, v)| {
            v["timeline"].as_array().is_some_and(|t| {
                t.iter().any(|e| {
                    matches!(
                        e["event"].as_str(),
                        Some("needs_attention" | "create_rejected" | "ack_rejected")
                    )
                })
            })
        })
        .map(|(id, _)| id)
        .collect();
    println!(
        "faults: (c) records that reached needs_attention: {} (target 0); orders whose timeline shows a refusal or needs_attention step: {}",
        attention_seen.len(),
        timeline_attention.len()
    );
    for (id, r) in &attention_seen {
        let full = records.iter().find(|x| x.id == *id);
        println!(
            "faults:     record {id} {} {}: reason {}; attempt_errors {}",
            r["kind"].as_str().unwrap_or("?"),
            r["source_id"].as_str().unwrap_or("?"),
            r["reason"],
            full.map(|x| serde_json::to_string(&x.attempt_errors).unwrap())
                .unwrap_or_default()
        );
    }

    // Duplicates.
    let mut per_po: BTreeMap<String, usize> = BTreeMap::new();
    for r in w.imported(PREFIX) {
        *per_po.entry(r).or_default() += 1;
    }
    let twice: Vec<String> = per_po
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(po, n)| format!("{po} x{n}"))
        .collect();
    let state = w.dsco.dump_state();
    let mut acks: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for e in state["changeLog"].as_array().into_iter().flatten() {
        if e["requestMethodDetail"] != "acknowledgeOrders" {
            continue;
        }
        if let Some(id) = e["payload"]["id"].as_str() {
            let slot = acks.entry(id.to_owned()).or_default();
            slot.0 += 1;
            if e["status"] == "success" {
                slot.1 += 1;
            }
        }
    }
    let acks_twice = acks.values().filter(|(_, ok)| *ok > 1).count();
    let sent_twice = acks.values().filter(|(sent, _)| *sent > 1).count();
    let max_sent = acks.values().map(|(sent, _)| *sent).max().unwrap_or(0);
    let mismatched: Vec<String> = views
        .iter()
        .filter_map(|(id, v)| {
            let on_dsco = w.dsco.order(id)?["supplierOrderNumber"]
                .as_str()
                .map(str::to_owned);
            let linked = v["bp_order_id"].as_u64().map(|b| b.to_string());
            (on_dsco.is_some() && on_dsco != linked)
                .then(|| format!("{id}: DSCO {on_dsco:?}, linked {linked:?}"))
        })
        .collect();
    println!(
        "faults: (d) duplicates: Brightpearl orders for {} POs, {} POs with more than one (target 0){}; contacts created {} (customers are mapped: target 0); \
         DSCO acknowledgements applied more than once for {acks_twice} orders (sent more than once: {sent_twice}, at most {max_sent} times; DSCO applies a repeat as a no-op); \
         supplierOrderNumber on DSCO differing from the linked Brightpearl order: {}",
        per_po.len(),
        twice.len(),
        if twice.is_empty() {
            String::new()
        } else {
            format!(" ({})", twice.join(", "))
        },
        w.bp.contact_count() as i64 - contacts_before as i64,
        mismatched.len()
    );
    for m in &mismatched {
        println!("faults:     {m}");
    }

    // Runs.
    let mut by_trigger: BTreeMap<String, usize> = BTreeMap::new();
    for r in &runs {
        *by_trigger
            .entry(format!(
                "{} {}",
                r["trigger"].as_str().unwrap_or("?"),
                r["status"].as_str().unwrap_or("?")
            ))
            .or_default() += 1;
    }
    let by_trigger: Vec<String> = by_trigger
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    println!(
        "faults: runs of the orders flow: {} ({})",
        runs.len(),
        by_trigger.join(", ")
    );
    for r in runs.iter().filter(|r| r["status"] == "failed") {
        println!("faults:     run {} failed: {}", r["id"], r["error"]);
    }

    // Orders left behind.
    let stuck: Vec<&String> = created
        .keys()
        .filter(|id| !ack_at.contains_key(id.as_str()))
        .collect();
    if !stuck.is_empty() {
        println!("faults: {} orders not acknowledged:", stuck.len());
        for id in stuck {
            let v = views.get(id.as_str());
            let r = order_records.get(id.as_str());
            println!(
                "faults:     {id} ({}): state {}, reason {}; record {}",
                created[id].0,
                v.map_or(Value::Null, |v| v["state"].clone()),
                v.map_or(Value::Null, |v| v["reason"].clone()),
                r.map(|r| format!(
                    "{:?} attempts {} next_retry_at {:?} reason {:?}",
                    r.status, r.attempts, r.next_retry_at, r.reason
                ))
                .unwrap_or_else(|| "none".into())
            );
        }
    }
    println!(
        "faults: {acknowledged} of {ORDERS} acknowledged {:.0} s after the orders were created; section wall time {:.0} s",
        all_acknowledged.as_secs_f64(),
        wall.elapsed().as_secs_f64()
    );
    w.stop().await;
}

/// Requests and faults on one side.
fn side(name: &str, log: &[LoggedRequest], route: fn(&LoggedRequest) -> String) {
    let mut routes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for r in log {
        let slot = routes.entry(route(r)).or_default();
        slot.0 += 1;
        if let Some(kind) = &r.fault {
            slot.1 += 1;
            *kinds.entry(label(kind)).or_default() += 1;
        }
    }
    let faulted: usize = kinds.values().sum();
    let routes: Vec<String> = routes
        .iter()
        .map(|(k, (n, f))| format!("{k}: {n} ({f} faulted)"))
        .collect();
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "faults: {name}: {} requests, {faulted} faults injected ({:.1} %): {}",
        log.len(),
        faulted as f64 / log.len().max(1) as f64 * 100.0,
        kinds.join(", ")
    );
    println!("faults:     by route: {}", routes.join(", "));
}

/// "/public-api/{account}/order-service/sales-order/12" → "POST order-service/sales-order".
fn bp_route(r: &LoggedRequest) -> String {
    let route: Vec<&str> = r.path.split('/').skip(3).take(2).collect();
    format!("{} {}", r.method, route.join("/"))
}

/// "/api/v3/order/page" → "GET order/page"; ids become `{id}`.
fn dsco_route(r: &LoggedRequest) -> String {
    let path = r.path.strip_prefix("/api/v3").unwrap_or(&r.path);
    let route: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| {
            if s.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("{} {}", r.method, route.join("/"))
}

fn label(kind: &FaultKind) -> String {
    match kind {
        FaultKind::TooManyRequests => "429".into(),
        FaultKind::ServerError => "500 empty".into(),
        FaultKind::Throttle | FaultKind::ThrottleFor { .. } => "throttle".into(),
        FaultKind::ServerErrorBody { code } => format!("{code} with error body"),
        FaultKind::Slow { .. } => "slow".into(),
        FaultKind::Reset => "reset".into(),
        FaultKind::MalformedJson => "malformed JSON".into(),
        FaultKind::Truncated => "truncated".into(),
        FaultKind::Status { code } => format!("{code} status"),
        FaultKind::Any { .. } => "any".into(),
    }
}

/// When the order view's `acknowledged` step happened.
fn acknowledged_at(view: &Value) -> Option<DateTime<Utc>> {
    view["timeline"]
        .as_array()?
        .iter()
        .find(|e| e["event"] == "acknowledged")
        .and_then(|e| e["at"].as_str()?.parse().ok())
}

/// "max M s, p95 P s, p50 Q s (n N)" of seconds.
fn spread(values: &[f64]) -> String {
    if values.is_empty() {
        return "none".into();
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    format!(
        "max {:.1} s, p95 {:.1} s, p50 {:.1} s (n {})",
        v[v.len() - 1],
        pct(0.95),
        pct(0.50),
        v.len()
    )
}

/// Distinct values.
fn distinct(values: &[String]) -> usize {
    values
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Every item of a paged list (`items`, `next_cursor`).
async fn pages(w: &OrdersWorld, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = w.get(&url).await;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
            _ => return items,
        }
    }
}
