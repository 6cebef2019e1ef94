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
    Shipped,
    Invoiced,
    Skipped,
}

impl std::str::FromStr for OrderState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!(
                "unknown state {s:?}; states are pending, imported, acknowledged, needs_attention, failed, cancelled, shipped, invoiced, skipped"
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
        self.updated_at = now;
        if let Some(state) = state {
            self.state = state;
            self.reason = match state {
                OrderState::NeedsAttention
                | OrderState::Failed
                | OrderState::Skipped
                | OrderState::Pending => detail.clone(),
                _ => None,
            };
        }
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
}

pub fn load(tx: &ReadTx, dsco_order_id: &str) -> Result<Option<OrderView>, store::Error> {
    tx.order_view(dsco_order_id)
}

pub fn load_in(tx: &WriteTx, dsco_order_id: &str) -> Result<Option<OrderView>, store::Error> {
    tx.order_view(dsco_order_id)
}

pub fn save(tx: &WriteTx, view: &OrderView) -> Result<(), store::Error> {
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
        Outcome::Pending(r) | Outcome::Skipped(r) => Some(r.clone()),
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
