//! What a user sees of an order (`GET /v1/orders`): its ids, state, reason and a timeline of
//! what was sent and received. Kept as one store document per DSCO order, written in the same
//! transaction as the link or record it describes: flows write both through [`record_step`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{self, Outcome, ReadTx, RecordDetail, RecordStatus, WriteTx};
use crate::sync::order_link::{ORDER_KIND, OrderRef};
use crate::sync::{FlowCtx, FlowError};

/// Document-name prefix of order views.
pub const PREFIX: &str = "order/";
/// Timeline entries kept per order (oldest dropped first).
const TIMELINE_CAP: usize = 100;

/// An order's state as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Pending,
    Imported,
    Acknowledged,
    NeedsAttention,
    Failed,
    Cancelled,
    PartiallyShipped,
    Shipped,
    Invoiced,
    Skipped,
}

impl OrderState {
    /// How far along the lifecycle a progress state is (`imported` → `acknowledged` →
    /// `partially_shipped` → `shipped` → `invoiced`); `None` for the other states.
    fn rank(self) -> Option<u8> {
        match self {
            OrderState::Imported => Some(1),
            OrderState::Acknowledged => Some(2),
            OrderState::PartiallyShipped => Some(3),
            OrderState::Shipped => Some(4),
            OrderState::Invoiced => Some(5),
            OrderState::Cancelled => Some(6),
            _ => None,
        }
    }

    /// Whether this is a step of the order's lifecycle rather than a problem or a wait.
    pub fn is_progress(self) -> bool {
        self.rank().is_some()
    }
}

/// The furthest of two lifecycle steps; `cancelled` (every unit cancelled, none shipped) is set
/// only by the step that says so and replaces any other.
pub fn furthest(current: Option<OrderState>, next: OrderState) -> Option<OrderState> {
    match (current, next.rank()) {
        (_, None) => current,
        (_, Some(_)) if next == OrderState::Cancelled => Some(next),
        (Some(OrderState::Cancelled), _) => current,
        (Some(c), Some(n)) if c.rank().unwrap_or(0) >= n => Some(c),
        _ => Some(next),
    }
}

/// The order's state by precedence: first its own `order` record (`needs_attention`,
/// `failed`, `pending`, `skipped`); then a `shipment`, `invoice`,
/// `supplier_cancel` or `cancel_request` record that needs attention or failed; otherwise the
/// furthest lifecycle step reached.
pub fn precedence(
    own: OrderState,
    progress: Option<OrderState>,
    worst_problem: Option<OrderState>,
) -> OrderState {
    match own {
        OrderState::NeedsAttention
        | OrderState::Failed
        | OrderState::Pending
        | OrderState::Skipped => own,
        _ => worst_problem.unwrap_or(progress.unwrap_or(own)),
    }
}

impl std::str::FromStr for OrderState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!(
                "unknown state {s:?}; states are pending, imported, acknowledged, needs_attention, failed, cancelled, partially_shipped, shipped, invoiced, skipped"
            )
        })
    }
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// What happened (`fetched`, `create_sent`, `created`, `linked`, `ack_sent`, ...).
    pub event: String,
    pub detail: Option<String>,
}

/// An order's view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderView {
    pub dsco_order_id: String,
    pub po_number: String,
    pub dsco_retailer_id: Option<String>,
    pub bp_order_id: Option<u64>,
    pub state: OrderState,
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub timeline: Vec<TimelineEntry>,
    /// The packages sent (or to be sent) to DSCO, one per goods-out note.
    #[serde(default)]
    pub shipments: Vec<ShipmentView>,
    /// The furthest lifecycle step reached (`imported` ... `invoiced`, or `cancelled`).
    #[serde(default)]
    pub progress: Option<OrderState>,
    /// The state the order's own `order` record gives (`state` is that, the problems of the
    /// order's other records and `progress`, by precedence).
    #[serde(default)]
    pub own_state: Option<OrderState>,
    /// The order's other records that need attention or failed, by `kind:source_id`.
    #[serde(default)]
    pub problems: std::collections::BTreeMap<String, ProblemNote>,
    /// The invoices sent (or to be sent) to DSCO.
    #[serde(default)]
    pub invoices: Vec<InvoiceView>,
    /// Cancellations: the retailer's or DSCO's (seen by the orders flow) and the supplier's
    /// (sent by the cancellations flow).
    #[serde(default)]
    pub cancellations: Vec<CancellationView>,
    /// The retailer's latest cancel request, if any (not an order state).
    #[serde(default)]
    pub cancel_request: Option<CancelRequestView>,
}

/// One invoice of an order as DSCO is sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceView {
    /// DSCO's `invoiceId` (the Brightpearl invoice reference; `-{n}` per shipment).
    pub invoice_id: String,
    /// `per_order` or `per_shipment`.
    pub policy: String,
    /// `totalAmount` as sent.
    pub amount: f64,
    /// The invoice record's status (`pending`, `synced`, `needs_attention`, `failed`).
    pub state: RecordStatus,
    pub dsco_request_id: Option<String>,
    /// The package it invoices (its shipment `source_id`), per shipment.
    #[serde(default)]
    pub shipment: Option<String>,
}

/// One cancellation of an order's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CancellationView {
    /// The record's source id (`{dsco_order_id}:{n}` for a supplier cancel).
    pub source_id: String,
    /// `supplier` (sent from Brightpearl) or `dsco` (cancelled on DSCO).
    pub who: String,
    /// DSCO's cancel code (`CXSO`, ...), when known.
    pub code: Option<String>,
    pub lines: Vec<CancelLineView>,
    /// The record's status.
    pub state: RecordStatus,
    pub dsco_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CancelLineView {
    pub line_number: u32,
    pub quantity: i64,
}

/// A retailer's request to cancel (`cancelRequested` on DSCO).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CancelRequestView {
    /// The record's source id: `{dsco_order_id}:{code}:{line numbers joined by "+"}`.
    pub source_id: String,
    /// DSCO's `cancelRequestedCode`.
    pub code: Option<String>,
    /// The DSCO lines the request names (empty: the whole order).
    pub lines: Vec<u32>,
    /// When the orders flow first saw it.
    pub requested_at: DateTime<Utc>,
    /// Until the supplier answers it in Brightpearl (cancel or ship).
    pub open: bool,
    /// `cancelled` or `shipped` once answered.
    pub answer: Option<String>,
}

/// What a step of one of the order's other records replaces in its view.
#[derive(Debug, Clone)]
pub enum Part {
    Shipment(ShipmentView),
    Invoice(InvoiceView),
    Cancellation(CancellationView),
}

/// A record of the order (other than its `order` record) that needs attention or failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProblemNote {
    pub status: RecordStatus,
    pub reason: Option<String>,
}

/// One package of an order as DSCO is sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShipmentView {
    /// The record's source id: the goods-out note id, or `order:{bp_order_id}`.
    pub source_id: String,
    pub goods_out_note_id: Option<u64>,
    pub tracking: Option<String>,
    pub carrier: Option<String>,
    pub method: Option<String>,
    pub service_level_code: Option<String>,
    pub warehouse_code: Option<String>,
    pub lines: Vec<ShipmentLineView>,
    /// The shipment record's status (`pending`, `synced`, `needs_attention`, `failed`).
    pub state: RecordStatus,
    pub shipped_at: Option<DateTime<Utc>>,
    pub dsco_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShipmentLineView {
    pub line_number: u32,
    pub sku: Option<String>,
    pub quantity: i64,
}

impl OrderView {
    pub fn new(
        dsco_order_id: &str,
        po_number: &str,
        retailer: Option<&str>,
        now: DateTime<Utc>,
    ) -> OrderView {
        OrderView {
            dsco_order_id: dsco_order_id.to_owned(),
            po_number: po_number.to_owned(),
            dsco_retailer_id: retailer.map(str::to_owned),
            bp_order_id: None,
            state: OrderState::Pending,
            reason: None,
            updated_at: now,
            timeline: Vec::new(),
            shipments: Vec::new(),
            progress: None,
            own_state: None,
            problems: Default::default(),
            invoices: Vec::new(),
            cancellations: Vec::new(),
            cancel_request: None,
        }
    }

    /// The state the order's own record gives (views written before it was kept: `state`).
    pub fn own(&self) -> OrderState {
        self.own_state.unwrap_or(self.state)
    }

    /// The furthest step reached (views written before it was kept: `state`, if a step).
    pub fn reached(&self) -> Option<OrderState> {
        self.progress
            .or_else(|| self.state.is_progress().then_some(self.state))
    }

    /// Needs attention over failed, among the order's other records.
    fn worst_problem(&self) -> Option<OrderState> {
        let statuses = self.problems.values().map(|p| p.status);
        let mut worst = None;
        for status in statuses {
            match status {
                RecordStatus::NeedsAttention => return Some(OrderState::NeedsAttention),
                RecordStatus::Failed => worst = Some(OrderState::Failed),
                _ => {}
            }
        }
        worst
    }

    /// Note what a record of the order other than its `order` record now says.
    pub fn note_record(
        &mut self,
        kind: &str,
        source_id: &str,
        status: RecordStatus,
        reason: Option<String>,
    ) {
        let key = format!("{kind}:{source_id}");
        match status {
            RecordStatus::NeedsAttention | RecordStatus::Failed => {
                self.problems.insert(key, ProblemNote { status, reason });
            }
            _ => {
                self.problems.remove(&key);
            }
        }
    }

    /// Keep `own_state` and `progress` explicit (views written before they were kept).
    fn normalize(&mut self) {
        self.progress = self.reached();
        self.own_state = Some(self.own());
    }

    /// Put the state together again by precedence; the reason follows what decided it.
    fn settle_state(&mut self) {
        let own = self.own();
        let worst = self.worst_problem();
        let state = precedence(own, self.progress, worst);
        let from_problem = worst == Some(state) && own != state;
        if from_problem {
            let wanted = if state == OrderState::NeedsAttention {
                RecordStatus::NeedsAttention
            } else {
                RecordStatus::Failed
            };
            self.reason = self
                .problems
                .iter()
                .find(|(_, p)| p.status == wanted)
                .map(|(k, p)| match &p.reason {
                    Some(r) => format!("{k}: {r}"),
                    None => k.clone(),
                });
        } else if state.is_progress() {
            self.reason = None;
        }
        self.state = state;
    }

    /// A step of one of the order's other records (`shipment`, `invoice`, ...): its status
    /// counts only when it needs attention or failed; `progress` advances the lifecycle.
    #[allow(clippy::too_many_arguments)]
    pub fn other_step(
        &mut self,
        kind: &str,
        source_id: &str,
        status: RecordStatus,
        reason: Option<String>,
        event: &str,
        progress: Option<OrderState>,
        now: DateTime<Utc>,
    ) {
        self.normalize();
        self.updated_at = now;
        self.note_record(kind, source_id, status, reason.clone());
        if let Some(p) = progress {
            self.progress = furthest(self.progress, p);
        }
        self.push_timeline(
            event,
            reason.map(|r| format!("{kind} {source_id}: {r}")),
            now,
        );
        self.settle_state();
    }

    /// The lifecycle reached `progress` without any record changing (DSCO's order read again);
    /// nothing changes when it was already that far.
    pub fn advance(&mut self, event: &str, progress: OrderState, now: DateTime<Utc>) {
        self.normalize();
        let before = self.progress;
        self.progress = furthest(self.progress, progress);
        if self.progress == before {
            return;
        }
        self.updated_at = now;
        self.push_timeline(event, None, now);
        self.settle_state();
    }

    fn push_timeline(&mut self, event: &str, detail: Option<String>, now: DateTime<Utc>) {
        self.timeline.push(TimelineEntry {
            at: now,
            event: event.to_owned(),
            detail,
        });
        if self.timeline.len() > TIMELINE_CAP {
            let excess = self.timeline.len() - TIMELINE_CAP;
            self.timeline.drain(..excess);
        }
    }

    /// Add or replace the view of one package.
    pub fn put_shipment(&mut self, shipment: ShipmentView) {
        match self
            .shipments
            .iter_mut()
            .find(|s| s.source_id == shipment.source_id)
        {
            Some(existing) => *existing = shipment,
            None => self.shipments.push(shipment),
        }
    }

    /// Add or replace the view of one invoice.
    pub fn put_invoice(&mut self, invoice: InvoiceView) {
        match self
            .invoices
            .iter_mut()
            .find(|i| i.invoice_id == invoice.invoice_id)
        {
            Some(existing) => *existing = invoice,
            None => self.invoices.push(invoice),
        }
    }

    /// Add or replace the view of one cancellation.
    pub fn put_cancellation(&mut self, cancellation: CancellationView) {
        match self
            .cancellations
            .iter_mut()
            .find(|c| c.source_id == cancellation.source_id)
        {
            Some(existing) => *existing = cancellation,
            None => self.cancellations.push(cancellation),
        }
    }

    /// Put a part's view (its state set from the record), or, without one, let the part of
    /// this kind and source follow its record's status.
    fn put_part(&mut self, kind: &str, source: &str, part: Option<Part>, status: RecordStatus) {
        match part {
            Some(Part::Shipment(mut s)) => {
                s.state = status;
                self.put_shipment(s);
            }
            Some(Part::Invoice(mut i)) => {
                i.state = status;
                self.put_invoice(i);
            }
            Some(Part::Cancellation(mut c)) => {
                c.state = status;
                self.put_cancellation(c);
            }
            None => match kind {
                "invoice" => {
                    if let Some(i) = self.invoices.iter_mut().find(|i| i.invoice_id == source) {
                        i.state = status;
                    }
                }
                "supplier_cancel" | "cancellation" => {
                    if let Some(c) = self
                        .cancellations
                        .iter_mut()
                        .find(|c| c.source_id == source)
                    {
                        c.state = status;
                    }
                }
                _ => {
                    if let Some(s) = self.shipments.iter_mut().find(|s| s.source_id == source) {
                        s.state = status;
                    }
                }
            },
        }
    }

    /// Record a step; the state changes only when `state` is given.
    pub fn step(
        &mut self,
        event: &str,
        detail: Option<String>,
        state: Option<OrderState>,
        now: DateTime<Utc>,
    ) {
        self.normalize();
        self.updated_at = now;
        if let Some(state) = state {
            self.own_state = Some(state);
            self.progress = furthest(self.progress, state);
            self.reason = match state {
                OrderState::NeedsAttention
                | OrderState::Failed
                | OrderState::Skipped
                | OrderState::Pending => detail.clone(),
                _ => None,
            };
        }
        self.push_timeline(event, detail, now);
        self.settle_state();
    }
}

pub fn load(tx: &ReadTx, dsco_order_id: &str) -> Result<Option<OrderView>, store::Error> {
    tx.order_view(dsco_order_id)
}

pub fn load_in(tx: &WriteTx, dsco_order_id: &str) -> Result<Option<OrderView>, store::Error> {
    tx.order_view(dsco_order_id)
}

/// The DSCO order ids with an open cancel request (kept by [`save`]).
const OPEN_CANCEL_REQUESTS: &str = "orders.cancel_requests_open";

pub fn save(tx: &WriteTx, view: &OrderView) -> Result<(), store::Error> {
    if let Some(request) = &view.cancel_request {
        let mut open: std::collections::BTreeSet<String> =
            tx.cursor(OPEN_CANCEL_REQUESTS)?.unwrap_or_default();
        let changed = if request.open {
            open.insert(view.dsco_order_id.clone())
        } else {
            open.remove(&view.dsco_order_id)
        };
        if changed {
            tx.set_cursor(OPEN_CANCEL_REQUESTS, &open)?;
        }
    }
    // The state's wire name (`needs_attention`) is its key in the store's state index.
    let state = serde_json::to_value(view.state).unwrap_or_default();
    tx.put_order_view(
        &view.dsco_order_id,
        state.as_str().unwrap_or_default(),
        view,
    )
}

/// Views in DSCO-id order after `after`, optionally of one state.
pub fn list(
    tx: &ReadTx,
    state: Option<OrderState>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<OrderView>, store::Error> {
    let state = state.map(|s| serde_json::to_value(s).unwrap_or_default());
    tx.order_views(state.as_ref().and_then(|s| s.as_str()), after, limit)
}

/// Views with an open cancel request, in DSCO-id order after `after`, optionally of one state.
pub fn list_cancel_requested(
    tx: &ReadTx,
    state: Option<OrderState>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<OrderView>, store::Error> {
    let open: std::collections::BTreeSet<String> =
        tx.cursor(OPEN_CANCEL_REQUESTS)?.unwrap_or_default();
    let mut out = Vec::new();
    for id in open
        .iter()
        .filter(|id| after.is_none_or(|a| id.as_str() > a))
    {
        if out.len() >= limit {
            break;
        }
        if let Some(view) = tx.order_view::<OrderView>(id)?
            && state.is_none_or(|s| view.state == s)
        {
            out.push(view);
        }
    }
    Ok(out)
}

/// One step of an order through a flow: the sync record it writes and what its view shows.
pub struct Step {
    /// The record's kind (`order`, `cancellation`, ...).
    pub kind: &'static str,
    pub outcome: Outcome,
    /// The record's detail; a `bp_order_id` among its related ids is shown on the view.
    pub detail: RecordDetail,
    /// The timeline event (`created`, `ack_sent`, ...).
    pub event: &'static str,
    /// The view's new state. `None` keeps it, unless the record now needs attention, or an
    /// `order` record failed before any Brightpearl order was made.
    pub state: Option<OrderState>,
}

/// Write the step's record and update the order's view, in one transaction.
pub async fn record_step(ctx: &FlowCtx, order: &OrderRef, step: Step) -> Result<(), FlowError> {
    record_step_with(ctx, order, step, |_| Ok(())).await
}

/// [`record_step`], with more writes (`extra`: a link, a cleared intent) in the same
/// transaction: they and the record commit together or not at all.
pub async fn record_step_with(
    ctx: &FlowCtx,
    order: &OrderRef,
    step: Step,
    extra: impl FnOnce(&WriteTx) -> Result<(), store::Error> + Send + 'static,
) -> Result<(), FlowError> {
    let Step {
        kind,
        outcome,
        detail,
        event,
        state,
    } = step;
    let OrderRef {
        dsco_order_id: id,
        po_number: po,
        retailer,
    } = order.clone();
    let view_detail = match &outcome {
        Outcome::Synced => None,
        Outcome::Pending(r) | Outcome::Skipped(r) | Outcome::PendingUntil { reason: r, .. } => {
            Some(r.clone())
        }
        Outcome::Retryable { reason, .. } | Outcome::Permanent { reason, .. } => {
            Some(reason.clone())
        }
    };
    let bp_order_id = detail
        .related
        .iter()
        .find(|(k, _)| k == "bp_order_id")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    ctx.record_with(kind, &id.clone(), outcome, detail, move |tx, record| {
        let mut view = load_in(tx, &id)?
            .unwrap_or_else(|| OrderView::new(&id, &po, retailer.as_deref(), tx.now()));
        if bp_order_id.is_some() {
            view.bp_order_id = bp_order_id;
        }
        let state = state.or(match record.status {
            RecordStatus::NeedsAttention => Some(OrderState::NeedsAttention),
            RecordStatus::Failed if kind == ORDER_KIND && view.bp_order_id.is_none() => {
                Some(OrderState::Failed)
            }
            _ => None,
        });
        view.step(event, view_detail, state, tx.now());
        save(tx, &view)?;
        extra(tx)
    })
    .await?;
    Ok(())
}

/// One step of an order's other record (a `shipment` by goods-out note, an `invoice`, ...):
/// the record under its own source id, and the order's view — the record counts toward the
/// order's state only when it needs attention or failed; `step.state` advances its lifecycle;
/// `shipment` (its `state` set from the record) replaces that package's view. One transaction
/// with `extra`.
pub async fn record_other_step(
    ctx: &FlowCtx,
    order: &OrderRef,
    source_id: &str,
    step: Step,
    shipment: Option<ShipmentView>,
    extra: impl FnOnce(&WriteTx) -> Result<(), store::Error> + Send + 'static,
) -> Result<store::SyncRecord, FlowError> {
    record_part_step(
        ctx,
        order,
        source_id,
        step,
        shipment.map(Part::Shipment),
        extra,
    )
    .await
}

/// [`record_other_step`] for any part of the order's view (a shipment, an invoice, a
/// cancellation); without one, the part of the step's kind and source follows its record.
pub async fn record_part_step(
    ctx: &FlowCtx,
    order: &OrderRef,
    source_id: &str,
    step: Step,
    part: Option<Part>,
    extra: impl FnOnce(&WriteTx) -> Result<(), store::Error> + Send + 'static,
) -> Result<store::SyncRecord, FlowError> {
    let Step {
        kind,
        outcome,
        detail,
        event,
        state,
    } = step;
    let OrderRef {
        dsco_order_id: id,
        po_number: po,
        retailer,
    } = order.clone();
    let source = source_id.to_owned();
    let record = ctx
        .record_with(kind, source_id, outcome, detail, move |tx, record| {
            let mut view = load_in(tx, &id)?
                .unwrap_or_else(|| OrderView::new(&id, &po, retailer.as_deref(), tx.now()));
            view.put_part(kind, &source, part, record.status);
            view.other_step(
                kind,
                &source,
                record.status,
                record.reason.clone(),
                event,
                state,
                tx.now(),
            );
            save(tx, &view)?;
            extra(tx)
        })
        .await?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orders_own_record_comes_first() {
        use OrderState::*;
        for own in [NeedsAttention, Failed, Pending, Skipped] {
            assert_eq!(
                precedence(own, Some(Shipped), Some(NeedsAttention)),
                own,
                "{own:?}"
            );
        }
    }

    #[test]
    fn other_records_count_only_when_they_need_attention_or_failed() {
        use OrderState::*;
        assert_eq!(
            precedence(Imported, Some(PartiallyShipped), None),
            PartiallyShipped
        );
        assert_eq!(
            precedence(Acknowledged, Some(Shipped), Some(Failed)),
            Failed
        );
        assert_eq!(
            precedence(Acknowledged, Some(Shipped), Some(NeedsAttention)),
            NeedsAttention
        );
        assert_eq!(precedence(Imported, None, None), Imported);
    }

    #[test]
    fn the_furthest_step_wins_and_cancelled_only_by_its_own_step() {
        use OrderState::*;
        assert_eq!(furthest(Some(Shipped), PartiallyShipped), Some(Shipped));
        assert_eq!(furthest(Some(Acknowledged), Shipped), Some(Shipped));
        assert_eq!(furthest(Some(Shipped), NeedsAttention), Some(Shipped));
        assert_eq!(furthest(Some(Shipped), Cancelled), Some(Cancelled));
        assert_eq!(furthest(Some(Cancelled), Invoiced), Some(Cancelled));
    }

    #[test]
    fn a_shipment_problem_shows_with_its_reason_and_clears_when_it_is_solved() {
        let now = Utc::now();
        let mut v = OrderView::new("1", "PO", None, now);
        v.step("created", None, Some(OrderState::Imported), now);
        v.other_step(
            "shipment",
            "7",
            RecordStatus::NeedsAttention,
            Some("no warehouse mapping".into()),
            "ship_refused",
            None,
            now,
        );
        assert_eq!(v.state, OrderState::NeedsAttention);
        assert_eq!(
            v.reason.as_deref(),
            Some("shipment:7: no warehouse mapping")
        );
        v.other_step(
            "shipment",
            "7",
            RecordStatus::Synced,
            None,
            "shipment_confirmed",
            Some(OrderState::Shipped),
            now,
        );
        assert_eq!(v.state, OrderState::Shipped);
        assert_eq!(v.reason, None);
    }
}
