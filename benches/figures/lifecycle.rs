//! `lifecycle`: invoices and supplier cancels sent to DSCO against both simulators on real time,
//! DSCO's asynchronous processing at 2 s. Two daemons side by side: the webhook path (public
//! listener on loopback, Brightpearl's `order.modified` / `order.modified.order-status`
//! deliveries, invoices and cancellations on a schedule that never comes round) and the sweep
//! path (no public listener, both flows every minute). Per path, `orders` shipped orders are
//! invoiced in Brightpearl within 10 s, then `orders` unshipped ones moved to the cancel status
//! within 10 s. Figures: invoice (cancel) in Brightpearl → synced latency p50/p95/max; Brightpearl
//! calls per invoice (cancel); DSCO submits and all DSCO calls per invoice (cancel).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use dsco_brightpearl::sandbox::common::LoggedRequest;
use serde_json::json;

use crate::world::{OrdersWorld, Setup, WINDOW_LAG, verbose};

const SECTION: &str = "lifecycle";
const NEVER: &str = "0 0 0 1 1 *";
const EVERY_MINUTE: &str = "0 * * * * *";
const PROCESSING_DELAY: Duration = Duration::from_secs(2);
const BP_RAISED_CAP: u32 = 2000;
const BP_RAISED_WINDOW: Duration = Duration::from_secs(60);
/// The objects of a step are made over this long (two per second at 200): a steady stream as a
/// busy accounts team makes it. A burst of 200 at once is bounded by DSCO's order reads
/// (`GET /order/` at 10 per second, one per invoice or cancel).
const SPAN: Duration = Duration::from_secs(100);
/// The cancel status (Brightpearl's cancelled-sales status; the cancelled orders have no notes).
const CANCEL_STATUS: u32 = 5;
const WAREHOUSES: &str = "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n";
const METHODS: &str = "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\n\
    both,UPCG,UPS,Ground,1\n";

/// How much each path does.
#[derive(Clone, Copy)]
pub struct Scale {
    /// Orders invoiced, and as many cancelled, per path.
    orders: usize,
}

impl Scale {
    pub const FULL: Scale = Scale { orders: 200 };
    /// `--lifecycle-quick`: a smoke run (its figures are not the issue's).
    pub const QUICK: Scale = Scale { orders: 10 };

    /// How long a step makes its objects over.
    fn span(self) -> Duration {
        SPAN.mul_f64(self.orders as f64 / 200.0)
    }
}

pub fn lifecycle_figures(scale: Scale) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (webhook, sweep) = tokio::join!(path(scale, true), path(scale, false));
        println!(
            "lifecycle: setup: real time, DSCO processing delay {} s, one-line orders imported, acknowledged and (for invoices) shipped and confirmed before the step; per path {} orders invoiced in Brightpearl, then {} others moved to the cancel status — on the webhook path over {} s (a steady stream: latency), on the sweep path within 10 s (a burst: calls per object of a sweep); Brightpearl capped at {BP_RAISED_CAP} per {} s so the setup does not wait",
            PROCESSING_DELAY.as_secs(),
            scale.orders,
            scale.orders,
            scale.span().as_secs(),
            BP_RAISED_WINDOW.as_secs()
        );
        for line in webhook.iter().chain(&sweep) {
            println!("{line}");
        }
    });
}

fn say(what: &str) {
    verbose(SECTION, what);
}

struct Order {
    dsco_order_id: String,
    bp_order_id: u32,
    row_id: u32,
}

/// One path: setup, the invoice step, the cancel step; returns its lines.
async fn path(scale: Scale, public: bool) -> Vec<String> {
    let name = if public { "webhook" } else { "sweep" };
    let w = OrdersWorld::start_with(Setup {
        section: SECTION,
        cap: Some((BP_RAISED_CAP, BP_RAISED_WINDOW)),
        shipments_schedule: Some(if public { NEVER } else { "30 * * * * *" }),
        lifecycle_schedule: Some(if public { NEVER } else { EVERY_MINUTE }),
        public,
        ..Default::default()
    })
    .await;
    w.send(w.http.patch(format!("{}/v1/settings", w.url)).json(&json!({
        "shipments": {"trigger": "goods_out_note", "goods_out_note_moment": "created"},
        "cancellations": {"dsco_cancelled_status_id": CANCEL_STATUS,
                          "brightpearl_cancel_status_id": CANCEL_STATUS}
    })))
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
    let prefix = format!("LC-{}-", name.to_uppercase());
    let total = scale.orders * 2;
    for i in 0..total {
        w.create_order(&format!("{prefix}{i:04}"), i);
    }
    tokio::time::sleep(WINDOW_LAG).await;
    let end = Instant::now() + Duration::from_secs(600);
    while w.imported(&prefix).len() < total {
        assert!(Instant::now() < end, "{name}: orders not imported");
        w.run_orders().await;
    }
    if public {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let view = w.get("/v1/brightpearl/webhooks").await;
            let n = view["webhooks"].as_array().map_or(0, Vec::len);
            if n >= 6 {
                break;
            }
            assert!(
                Instant::now() < end,
                "{name}: webhooks not registered: {view}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let orders = orders_of(&w, &prefix).await;
    let (to_invoice, to_cancel) = orders.split_at(scale.orders);
    // Ship the orders to invoice; wait until every shipment is confirmed.
    for (i, o) in to_invoice.iter().enumerate() {
        let note =
            w.bp.create_goods_out_note(o.bp_order_id, &[(o.row_id, 1)])
                .unwrap();
        w.bp.ship_goods_out_note(note, Some(&format!("1ZLC{name}{i:05}")), None)
            .unwrap();
    }
    let end = Instant::now() + Duration::from_secs(600);
    loop {
        let shipped = w.get("/v1/orders?state=shipped&limit=1000").await["items"]
            .as_array()
            .map_or(0, Vec::len);
        if shipped >= to_invoice.len() {
            break;
        }
        assert!(Instant::now() < end, "{name}: only {shipped} shipped");
        if !public {
            // A run already going (409) is as good.
            let _ = w
                .http
                .post(format!("{}/v1/sync/shipments/run", w.url))
                .bearer_auth("bench")
                .send()
                .await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    idle(&w, "shipments").await;
    idle(&w, "invoices").await;
    idle(&w, "cancellations").await;
    w.dsco.set_processing_delay(PROCESSING_DELAY);
    say(&format!("{name}: {total} orders ready"));
    let mut lines = Vec::new();
    // The webhook path makes its objects over `span` (a steady stream: latency), the sweep path
    // within 10 s (a burst: what one sweep run costs per object).
    let span = if public {
        scale.span()
    } else {
        Duration::from_secs(10)
    };
    let invoice = step(&w, name, "invoices", to_invoice, span, |w, o| {
        let reference = w.bp.invoice_order(o.bp_order_id).unwrap();
        ("invoice".to_owned(), reference)
    })
    .await;
    lines.extend(invoice);
    let cancel = step(&w, name, "cancellations", to_cancel, span, |w, o| {
        w.bp.set_order_status(o.bp_order_id, CANCEL_STATUS).unwrap();
        (
            "supplier_cancel".to_owned(),
            format!("{}:1", o.dsco_order_id),
        )
    })
    .await;
    lines.extend(cancel);
    w.stop().await;
    lines
}

/// The imported orders under `prefix`, in PO order, with their product row.
async fn orders_of(w: &OrdersWorld, prefix: &str) -> Vec<Order> {
    let mut by_po: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for order in w.bp.orders() {
        let Some(po) = order["reference"]
            .as_str()
            .filter(|r| r.starts_with(prefix))
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
            .unwrap();
        by_po.insert(po.to_owned(), (order["id"].as_u64().unwrap() as u32, row));
    }
    // DSCO order ids by PO, from the order views (paged).
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/orders?limit=500&cursor={c}"),
            None => "/v1/orders?limit=500".to_owned(),
        };
        let page = w.get(&path).await;
        for v in page["items"].as_array().into_iter().flatten() {
            if let (Some(po), Some(id)) = (v["po_number"].as_str(), v["dsco_order_id"].as_str()) {
                ids.insert(po.to_owned(), id.to_owned());
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut out = Vec::new();
    for (po, (bp, row)) in by_po {
        let id = ids[&po].clone();
        out.push(Order {
            dsco_order_id: id,
            bp_order_id: bp,
            row_id: row,
        });
    }
    out
}

async fn idle(w: &OrdersWorld, flow: &str) {
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let status = w.get("/v1/status").await;
        let busy = status["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["flow"] == flow && !f["running_run_id"].is_null());
        if !busy || Instant::now() > end {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Do `act` to each order within `span`, then wait until each record is synced; the lines.
async fn step(
    w: &OrdersWorld,
    path: &str,
    flow: &str,
    orders: &[Order],
    span: Duration,
    act: impl Fn(&OrdersWorld, &Order) -> (String, String),
) -> Vec<String> {
    let (bp_seq, dsco_seq) = (w.last_bp_seq(), w.last_dsco_seq());
    let start = Instant::now();
    let kind = if flow == "invoices" {
        "invoice"
    } else {
        "supplier_cancel"
    };
    // Objects made (source id → when), read by the poller while they are being made.
    let made: std::sync::Mutex<BTreeMap<String, Instant>> = Default::default();
    let making_done = std::sync::atomic::AtomicBool::new(false);
    let making = async {
        for (i, o) in orders.iter().enumerate() {
            let due = start + span.mul_f64(i as f64 / orders.len() as f64);
            tokio::time::sleep_until(due.into()).await;
            let (_, source) = act(w, o);
            made.lock().unwrap().insert(source, Instant::now());
        }
        making_done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let polling = async {
        let mut latencies: Vec<f64> = Vec::new();
        let mut done: BTreeSet<String> = BTreeSet::new();
        let end = start + span + Duration::from_secs(300);
        loop {
            let all_made = making_done.load(std::sync::atomic::Ordering::SeqCst);
            if (all_made && done.len() >= orders.len()) || Instant::now() > end {
                return latencies;
            }
            let page = w
                .get(&format!(
                    "/v1/records?flow={flow}&kind={kind}&status=synced&limit=1000"
                ))
                .await;
            let now = Instant::now();
            let made = made.lock().unwrap().clone();
            for r in page["items"].as_array().into_iter().flatten() {
                if let Some(source) = r["source_id"].as_str()
                    && let Some(at) = made.get(source)
                    && done.insert(source.to_owned())
                {
                    latencies.push((now - *at).as_secs_f64());
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let ((), mut latencies) = tokio::join!(making, polling);
    idle(w, flow).await;
    latencies.sort_by(f64::total_cmp);
    let (bp_total, bp_throttled, bp_routes) = w.bp_calls_since(bp_seq);
    let dsco: Vec<LoggedRequest> = w
        .dsco
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.seq > dsco_seq)
        .collect();
    let submit_path = if flow == "invoices" {
        "/invoice/batch/small"
    } else {
        "/order/item/cancel/batch/small"
    };
    let submits = dsco
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(submit_path))
        .count();
    let n = latencies.len().max(1) as f64;
    let pct = |p: f64| {
        if latencies.is_empty() {
            f64::NAN
        } else {
            latencies[((latencies.len() as f64 - 1.0) * p).round() as usize]
        }
    };
    let what = if flow == "invoices" {
        "invoice"
    } else {
        "cancel"
    };
    let targets = if public_path(path) {
        "targets: p95 <= 10 s, Brightpearl <= 1.1 per object"
    } else {
        "targets: Brightpearl <= 0.05, DSCO submits <= 0.05 per object"
    };
    let routes: Vec<String> = bp_routes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    vec![
        format!(
            "lifecycle: {path} path, {what}s: {} of {} synced; {what} in Brightpearl -> synced p50 {:.1} s, p95 {:.1} s, max {:.1} s; Brightpearl calls per {what} {:.3} ({bp_total} requests, {bp_throttled} throttled); DSCO submits per {what} {:.3}, all DSCO calls per {what} {:.3} ({} requests) ({targets})",
            latencies.len(),
            orders.len(),
            pct(0.5),
            pct(0.95),
            latencies.last().copied().unwrap_or(f64::NAN),
            bp_total as f64 / n,
            submits as f64 / n,
            dsco.len() as f64 / n,
            dsco.len()
        ),
        format!(
            "lifecycle:     {path} path, {what}s: Brightpearl requests by route: {}",
            routes.join(", ")
        ),
    ]
}

fn public_path(path: &str) -> bool {
    path == "webhook"
}
