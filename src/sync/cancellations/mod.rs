//! The `cancellations` flow, Brightpearl → DSCO supplier cancels: a linked order moved to
//! `cancellations.brightpearl_cancel_status_id` cancels on DSCO every unit not shipped yet
//! (`build`, pure), sent once through `sync::dsco_once` and `synced` only when DSCO's order log
//! shows it (`send`).
//!
//! A run: settle open cancel intents first; gather the orders to look at — the order search by
//! `updatedOn` from the cursor less 10 minutes, `order.modified.order-status` deliveries, orders
//! with open records, all intersected with links —; read them in ID sets; an order at the cancel
//! status that DSCO did not cancel itself gets its cancel built from the DSCO order and the
//! latest note; a row removed from a linked order is recorded as not sent; commit the cursor and
//! the inbox entries.

pub mod build;
mod send;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::brightpearl::{self, Lane, OrderSearchRow, SearchQuery};
use crate::dsco::{self, OrderForCancel};
use crate::flow_name::FlowName;
use crate::settings::{CancellationsSettings, Settings};
use crate::store::{InboxEntry, Kind, Outcome, RecordDetail, RecordStatus, SyncRecord};
use crate::sync::order_link::{self, OrderLink, OrderRef};
use crate::sync::order_view::{self, CancelLineView, CancellationView, OrderView, Part, Step};
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

/// Record and intent kind of supplier cancels.
pub const SUPPLIER_CANCEL_KIND: &str = "supplier_cancel";
/// The code sent when the cancel answers a retailer's cancel request.
pub const ANSWER_CODE: &str = "CXSC";
const CURSOR: &str = "cancellations.sweep";
const OVERLAP: chrono::Duration = chrono::Duration::minutes(10);
const FIRST_LOOK_BACK: chrono::Duration = chrono::Duration::days(1);
/// A run brought by webhooks searches again only when the last sweep began this long ago.
const SWEEP_EVERY: chrono::Duration = chrono::Duration::seconds(60);
const INBOX_BATCH: usize = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    since: DateTime<Utc>,
}

/// The cancellations flow.
pub struct CancellationsFlow;

impl CancellationsFlow {
    pub fn new() -> Arc<CancellationsFlow> {
        Arc::new(CancellationsFlow)
    }
}

impl Flow for CancellationsFlow {
    fn name(&self) -> FlowName {
        FlowName::Cancellations
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            let bp = ctx.brightpearl()?;
            let dsco = ctx.dsco()?;
            let grace = ctx.dsco_settle_grace()?;
            let settings = ctx
                .store
                .call(|s| s.read(Settings::load))
                .await?
                .cancellations;
            let mut run = Run {
                ctx,
                bp: &bp,
                dsco: &dsco,
                settings,
                grace,
                started: ctx.now(),
                orders: BTreeMap::new(),
                inbox: Vec::new(),
                swept: false,
                ready: Vec::new(),
                notes: Vec::new(),
            };
            run.execute().await
        })
    }
}

/// A linked order this run looks at.
#[derive(Debug, Clone)]
struct Linked {
    order: OrderRef,
    link: OrderLink,
}

/// One cancel built and ready to send.
#[derive(Debug, Clone)]
struct Ready {
    order: OrderRef,
    bp_order_id: u64,
    /// `{dsco_order_id}:{n}`.
    source_id: String,
    cancel: OrderForCancel,
    /// Whether the order has no unit shipped (then the cancel makes it `cancelled`).
    none_shipped: bool,
    /// Each line's `cancelledQuantity` on DSCO before this cancel.
    cancelled_before: BTreeMap<u32, i64>,
}

struct Run<'a> {
    ctx: &'a FlowCtx,
    bp: &'a brightpearl::Client,
    dsco: &'a dsco::Client,
    settings: CancellationsSettings,
    grace: std::time::Duration,
    started: DateTime<Utc>,
    orders: BTreeMap<u64, Linked>,
    inbox: Vec<InboxEntry>,
    swept: bool,
    ready: Vec<Ready>,
    notes: Vec<String>,
}

/// What the order's earlier supplier cancels say.
enum Earlier {
    /// None yet, or the last one is settled as done: a new cancel takes number `next`.
    New { next: u32 },
    /// The last one is still being settled: nothing now.
    Open,
    /// The last one is finished (synced, refused, skipped): nothing more for this order.
    Done,
    /// The last one failed (a transient problem) or waits: try again under its number.
    Again { n: u32 },
}

impl Run<'_> {
    async fn execute(&mut self) -> Result<RunReport, FlowError> {
        self.settle_open().await?;
        let Some(status) = self.settings.brightpearl_cancel_status_id else {
            // Nothing to look for; deliveries are dropped with the cursor kept.
            let inbox = self
                .ctx
                .store
                .call(|s| s.read(|tx| tx.inbox(FlowName::Cancellations, INBOX_BATCH)))
                .await?;
            self.ctx
                .store
                .call(move |s| s.write(|tx| tx.inbox_remove(&inbox)))
                .await?;
            return Ok(RunReport {
                counts: self.ctx.counts(),
                note: Some(
                    "cancellations.brightpearl_cancel_status_id is not set: nothing is cancelled on DSCO"
                        .into(),
                ),
            });
        };
        let since = self.gather().await?;
        let ids: Vec<brightpearl::OrderId> = self
            .orders
            .keys()
            .map(|id| brightpearl::OrderId(*id))
            .collect();
        let mut stopped = false;
        if !ids.is_empty() {
            let orders = self
                .bp
                .get_orders(Lane::Shipments, &ids)
                .await
                .map_err(|e| FlowError::brightpearl("reading orders whose status changed", e))?;
            let mut at_status = 0usize;
            let mut work: Vec<(Linked, brightpearl::Order, u32)> = Vec::new();
            for bp in orders {
                let Some(linked) = self.orders.get(&bp.id.0).cloned() else {
                    continue;
                };
                self.changed_rows(&linked, &bp).await?;
                let here = bp
                    .order_status
                    .as_ref()
                    .is_some_and(|s| s.order_status_id.0 == u64::from(status));
                if !here {
                    // A cancel that was waiting (a transient failure, a pending read) for an order
                    // that has left the cancel status since: nothing is sent any more.
                    if let Earlier::Again { n } = self.earlier(&linked.order.dsco_order_id).await? {
                        let source = format!("{}:{n}", linked.order.dsco_order_id);
                        let outcome = Outcome::Skipped(format!(
                            "Brightpearl order {} left the cancel status before its cancel was sent; nothing is sent",
                            linked.link.bp_order_id
                        ));
                        self.record_unsent(
                            &linked.order,
                            linked.link.bp_order_id,
                            &source,
                            outcome,
                            "cancel_withdrawn",
                        )
                        .await?;
                    }
                    continue;
                }
                at_status += 1;
                if linked.link.cancelled {
                    // The orders flow moved it here because DSCO cancelled it: never sent back.
                    tracing::debug!(flow = "cancellations", dsco_order_id = %linked.order.dsco_order_id, "cancelled on DSCO; not sent back");
                    continue;
                }
                match self.earlier(&linked.order.dsco_order_id).await? {
                    Earlier::Open | Earlier::Done => {}
                    Earlier::New { next: n } | Earlier::Again { n } => work.push((linked, bp, n)),
                }
            }
            // The reasons: each order's latest note, all in one search.
            let notes = if work.is_empty() {
                Ok(BTreeMap::new())
            } else {
                let ids: Vec<brightpearl::OrderId> = work.iter().map(|(_, bp, _)| bp.id).collect();
                self.bp
                    .search_order_notes(Lane::Shipments, &ids)
                    .await
                    .map(|rows| {
                        let mut latest: BTreeMap<u64, (u64, String)> = BTreeMap::new();
                        for row in rows {
                            let Some(text) = row.note_text.filter(|t| !t.trim().is_empty()) else {
                                continue;
                            };
                            let entry = latest.entry(row.order_id.0).or_insert((0, String::new()));
                            if row.note_id >= entry.0 {
                                *entry = (row.note_id, text);
                            }
                        }
                        latest
                            .into_iter()
                            .map(|(order, (_, text))| (order, text))
                            .collect::<BTreeMap<u64, String>>()
                    })
            };
            for (linked, bp, n) in work {
                if self.ctx.stopping() {
                    stopped = true;
                    break;
                }
                let reason = match &notes {
                    Ok(notes) => Ok(notes.get(&bp.id.0).cloned()),
                    Err(e) => Err(e),
                };
                self.prepare(linked, &bp, n, reason).await?;
            }
            self.notes.push(format!(
                "{} linked orders read, {at_status} at the cancel status",
                ids.len()
            ));
        }
        self.send_ready().await?;
        if stopped {
            self.notes
                .push("stopped before every order was looked at".into());
        } else {
            let cursor = self.swept.then_some(Cursor {
                since: self.started,
            });
            let inbox = std::mem::take(&mut self.inbox);
            self.ctx
                .store
                .call(move |s| {
                    s.write(|tx| {
                        if let Some(cursor) = &cursor {
                            tx.set_cursor(CURSOR, cursor)?;
                        }
                        tx.inbox_remove(&inbox)
                    })
                })
                .await?;
        }
        if let Some(since) = since {
            self.notes.insert(
                0,
                format!("sweep from {}", since.format("%Y-%m-%d %H:%M:%S UTC")),
            );
        }
        Ok(RunReport {
            counts: self.ctx.counts(),
            note: Some(self.notes.join("; ")),
        })
    }

    /// Fill the run's linked orders: the sweep, the inbox and orders with due records.
    async fn gather(&mut self) -> Result<Option<DateTime<Utc>>, FlowError> {
        let now = self.started;
        let (cursor, open, inbox) = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let cursor: Option<Cursor> = tx.cursor(CURSOR)?;
                    let open: Vec<u64> = tx
                        .due_records(FlowName::Cancellations, now)?
                        .into_iter()
                        .filter(|r| r.kind.as_str() == SUPPLIER_CANCEL_KIND)
                        .filter_map(|r| r.related.get("bp_order_id")?.parse().ok())
                        .collect();
                    let inbox = tx.inbox(FlowName::Cancellations, INBOX_BATCH)?;
                    Ok((cursor, open, inbox))
                })
            })
            .await?;
        let mut ids: BTreeSet<u64> = open.into_iter().collect();
        ids.extend(inbox.iter().map(|e| e.id));
        let by_webhook = !inbox.is_empty();
        if by_webhook {
            self.notes
                .push(format!("webhooks: {} status changes", inbox.len()));
        }
        self.inbox = inbox;
        let recent = cursor.as_ref().is_some_and(|c| now - c.since < SWEEP_EVERY);
        let mut since = None;
        if !(by_webhook && recent) {
            let from = cursor.map_or(now - FIRST_LOOK_BACK, |c| c.since) - OVERLAP;
            let query = SearchQuery::new().filter(
                "updatedOn",
                format!("{}/", from.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
            let rows = self
                .bp
                .search_all(Lane::Shipments, "order-service/order-search", &query)
                .await
                .map_err(|e| {
                    FlowError::brightpearl("searching orders updated since the last run", e)
                })?;
            ids.extend(
                rows.into_iter()
                    .filter_map(|r| {
                        serde_json::from_value::<OrderSearchRow>(serde_json::Value::Object(r)).ok()
                    })
                    .map(|r| r.order_id.0),
            );
            self.swept = true;
            since = Some(from);
        }
        let linked: Vec<(u64, Linked)> = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let mut out = Vec::new();
                    for id in ids {
                        let Some(link) = order_link::find_by_bp_order(tx, id)? else {
                            continue;
                        };
                        let view = order_view::load(tx, &link.dsco_order_id)?;
                        let order = OrderRef {
                            dsco_order_id: link.dsco_order_id.clone(),
                            po_number: view
                                .as_ref()
                                .map(|v| v.po_number.clone())
                                .unwrap_or_default(),
                            retailer: view.and_then(|v| v.dsco_retailer_id),
                        };
                        out.push((id, Linked { order, link }));
                    }
                    Ok(out)
                })
            })
            .await?;
        self.orders.extend(linked);
        Ok(since)
    }

    /// A linked order at the cancel status: its cancel, unless DSCO cancelled it itself or an
    /// earlier cancel covers it.
    async fn prepare(
        &mut self,
        linked: Linked,
        bp: &brightpearl::Order,
        n: u32,
        note: Result<Option<String>, &brightpearl::Error>,
    ) -> Result<(), FlowError> {
        let Linked { order, link } = linked;
        let bp_order_id = link.bp_order_id;
        let source = format!("{}:{n}", order.dsco_order_id);
        let dsco_order = match self
            .dsco
            .get_order(dsco::OrderKey::DscoOrderId, &order.dsco_order_id)
            .await
        {
            Ok(Some(o)) => o,
            Ok(None) => {
                let outcome = Outcome::retry(format!(
                    "DSCO order {} is not visible on DSCO yet",
                    order.dsco_order_id
                ));
                return self
                    .record_unsent(&order, bp_order_id, &source, outcome, "cancel_waiting")
                    .await;
            }
            Err(e) => {
                let outcome = Outcome::transient(
                    format!("reading DSCO order {} failed: {e}", order.dsco_order_id),
                    &e,
                );
                return self
                    .record_unsent(&order, bp_order_id, &source, outcome, "cancel_retry")
                    .await;
            }
        };
        let view: Option<OrderView> = {
            let id = order.dsco_order_id.clone();
            self.ctx
                .store
                .call(move |s| s.read(|tx| order_view::load(tx, &id)))
                .await?
        };
        let in_flight = crate::sync::shipments::in_flight(&dsco_order, view.as_ref());
        let open = crate::sync::shipments::unshipped(&dsco_order, &in_flight);
        // The reason: the order's latest note, else its status name.
        let reason = match note {
            Ok(text) => text,
            Err(e) if e.is_retryable() => {
                let outcome = Outcome::transient(
                    format!("reading Brightpearl order {bp_order_id}'s notes failed: {e}"),
                    e,
                );
                return self
                    .record_unsent(&order, bp_order_id, &source, outcome, "cancel_retry")
                    .await;
            }
            Err(_) => None,
        }
        .or_else(|| bp.order_status.as_ref().and_then(|s| s.name.clone()));
        let answering = view
            .as_ref()
            .and_then(|v| v.cancel_request.as_ref())
            .is_some_and(|r| r.open);
        let code = if answering {
            ANSWER_CODE
        } else {
            self.settings.cancel_code.as_str()
        };
        if open.values().all(|q| *q == 0) {
            let shipped_any = !dsco_order.packages.is_empty()
                || dsco_order
                    .line_items
                    .iter()
                    .any(|l| l.shipped_quantity.unwrap_or(0) > 0);
            if !shipped_any {
                // Every unit is cancelled on DSCO already: nothing to cancel, nothing to say.
                return Ok(());
            }
        }
        match build::supplier_cancel(&dsco_order, &open, code, reason.as_deref()) {
            Ok(cancel) => {
                let shipped: i64 = dsco_order
                    .line_items
                    .iter()
                    .map(|l| {
                        let n = l.line_number.unwrap_or(0);
                        l.quantity
                            - l.cancelled_quantity.unwrap_or(0)
                            - open.get(&n).copied().unwrap_or(0)
                    })
                    .sum();
                let cancelled_before = dsco_order
                    .line_items
                    .iter()
                    .filter_map(|l| Some((l.line_number?, l.cancelled_quantity.unwrap_or(0))))
                    .collect();
                self.ready.push(Ready {
                    order,
                    bp_order_id,
                    source_id: source,
                    cancel,
                    none_shipped: shipped <= 0,
                    cancelled_before,
                });
            }
            Err(reason) => {
                let outcome = Outcome::Permanent { reason, code: None };
                self.record_unsent(&order, bp_order_id, &source, outcome, "cancel_refused")
                    .await?;
            }
        }
        Ok(())
    }

    /// The order's earlier supplier cancels, newest last.
    async fn earlier(&self, dsco_order_id: &str) -> Result<Earlier, FlowError> {
        let id = dsco_order_id.to_owned();
        let found: Vec<(u32, SyncRecord, bool)> = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let mut out = Vec::new();
                    let mut n = 1u32;
                    loop {
                        let source = format!("{id}:{n}");
                        let Some(record) =
                            tx.record_for(FlowName::Cancellations, SUPPLIER_CANCEL_KIND, &source)?
                        else {
                            break;
                        };
                        let intent = tx.intent(SUPPLIER_CANCEL_KIND, &source)?.is_some();
                        out.push((n, record, intent));
                        n += 1;
                    }
                    Ok(out)
                })
            })
            .await?;
        // The order's view keeps its supplier cancels after their records' retention: one it
        // shows confirmed is done, and numbering goes on after the ones it shows.
        let view = {
            let id = dsco_order_id.to_owned();
            self.ctx
                .store
                .call(move |s| s.read(|tx| order_view::load(tx, &id)))
                .await?
        };
        let shown: Vec<&CancellationView> = view
            .as_ref()
            .map(|v| {
                v.cancellations
                    .iter()
                    .filter(|c| c.who == "supplier")
                    .collect()
            })
            .unwrap_or_default();
        let Some((n, last, intent)) = found.last() else {
            if shown.iter().any(|c| c.state == RecordStatus::Synced) {
                return Ok(Earlier::Done);
            }
            return Ok(Earlier::New {
                next: shown.len() as u32 + 1,
            });
        };
        Ok(if *intent {
            Earlier::Open
        } else {
            match last.status {
                RecordStatus::Synced | RecordStatus::Skipped | RecordStatus::NeedsAttention => {
                    Earlier::Done
                }
                RecordStatus::Pending | RecordStatus::Failed => Earlier::Again { n: *n },
            }
        })
    }

    /// Rows of the link's row map that the Brightpearl order no longer has, or has with fewer
    /// units than first read: removing or reducing rows is not sent to DSCO (cancel through the
    /// cancel status); one `skipped` record per change. The first read of a mapped order keeps
    /// its rows' quantities as the baseline.
    async fn changed_rows(
        &self,
        linked: &Linked,
        bp: &brightpearl::Order,
    ) -> Result<(), FlowError> {
        let quantities: BTreeMap<u64, i64> = bp
            .order_rows
            .iter()
            .filter_map(|(id, row)| {
                let quantity = row
                    .quantity
                    .as_ref()
                    .and_then(|q| q.magnitude.trim().parse::<f64>().ok())
                    .map_or(0, |q| q.round() as i64);
                Some((id.parse().ok()?, quantity))
            })
            .collect();
        // The row map, filled from this read when no other flow has yet.
        let tuples: Vec<(u64, Option<String>, bool)> = bp
            .order_rows
            .iter()
            .filter_map(|(id, r)| {
                Some((
                    id.parse().ok()?,
                    r.external_ref.clone(),
                    r.product_id.is_some(),
                ))
            })
            .collect();
        let mut link = linked.link.clone();
        let filled = link.fill_rows(&tuples);
        let link = &link;
        let bp_order_id = link.bp_order_id;
        let mut changes = Vec::new();
        for (row, line) in &link.rows {
            match (quantities.get(row), link.row_quantities.get(row)) {
                (None, _) => changes.push((
                    format!("{}:row:{row}", linked.order.dsco_order_id),
                    format!(
                        "Brightpearl row {row} (DSCO line {line}) was removed from order {bp_order_id}; removed or reduced rows are not sent to DSCO — move the order to the cancel status to cancel on DSCO"
                    ),
                )),
                (Some(now), Some(first)) if now < first => changes.push((
                    format!("{}:row:{row}:{now}", linked.order.dsco_order_id),
                    format!(
                        "Brightpearl row {row} (DSCO line {line}) of order {bp_order_id} was reduced from {first} to {now} units; removed or reduced rows are not sent to DSCO — move the order to the cancel status to cancel on DSCO"
                    ),
                )),
                _ => {}
            }
        }
        if filled || (link.row_quantities.is_empty() && !link.rows.is_empty()) {
            let pairs: Vec<(u64, i64)> = quantities.iter().map(|(k, v)| (*k, *v)).collect();
            let dsco_id = link.dsco_order_id.clone();
            self.ctx
                .store
                .call(move |s| {
                    s.write(|tx| {
                        if let Some(mut stored) = order_link::find_in(tx, &dsco_id)? {
                            let rows = stored.fill_rows(&tuples);
                            let quantities = stored.remember_row_quantities(&pairs);
                            if rows || quantities {
                                order_link::save(tx, &stored)?;
                            }
                        }
                        Ok(())
                    })
                })
                .await?;
        }
        for (source, reason) in changes {
            let exists = {
                let key = source.clone();
                self.ctx
                    .store
                    .call(move |s| {
                        s.read(|tx| {
                            tx.record_for(FlowName::Cancellations, SUPPLIER_CANCEL_KIND, &key)
                        })
                    })
                    .await?
                    .is_some()
            };
            if !exists {
                self.record_unsent(
                    &linked.order,
                    bp_order_id,
                    &source,
                    Outcome::Skipped(reason),
                    "row_changed",
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Record a cancel with nothing sent.
    async fn record_unsent(
        &self,
        order: &OrderRef,
        bp_order_id: u64,
        source: &str,
        outcome: Outcome,
        event: &'static str,
    ) -> Result<(), FlowError> {
        let step = Step {
            kind: SUPPLIER_CANCEL_KIND,
            outcome,
            detail: related(order, bp_order_id, None),
            event,
            state: None,
        };
        let record =
            order_view::record_part_step(self.ctx, order, source, step, None, |_| Ok(())).await?;
        tracing::info!(flow = "cancellations", source_id = %source, dsco_order_id = %order.dsco_order_id, status = record.status.as_str(), reason = record.reason.as_deref().unwrap_or(""), "supplier cancel recorded");
        Ok(())
    }

    /// Open write intents: settle each by DSCO's order log before anything is sent again.
    async fn settle_open(&mut self) -> Result<(), FlowError> {
        let intents = self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.intents(Kind::SupplierCancel)))
            .await?;
        if intents.is_empty() {
            return Ok(());
        }
        self.notes
            .push(format!("{} open cancels settled", intents.len()));
        self.settle_intents(intents).await
    }
}

fn related(order: &OrderRef, bp_order_id: u64, request_id: Option<&str>) -> RecordDetail {
    let mut related = order.related((bp_order_id != 0).then_some(bp_order_id));
    related.push(("dsco_order_id".into(), order.dsco_order_id.clone()));
    if let Some(r) = request_id {
        related.push(("dsco_request_id".into(), r.to_owned()));
    }
    RecordDetail {
        related,
        ..Default::default()
    }
}

/// The view of a cancel being sent.
fn part(ready: &Ready, request_id: Option<String>) -> Part {
    Part::Cancellation(CancellationView {
        source_id: ready.source_id.clone(),
        who: "supplier".into(),
        code: ready
            .cancel
            .line_items
            .first()
            .map(|l| l.cancel_code.clone()),
        lines: ready
            .cancel
            .line_items
            .iter()
            .map(|l| CancelLineView {
                line_number: l.line_number.unwrap_or(0),
                quantity: l.cancelled_quantity,
            })
            .collect(),
        state: RecordStatus::Pending,
        dsco_request_id: request_id,
    })
}
