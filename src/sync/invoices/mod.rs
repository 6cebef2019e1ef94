//! The `invoices` flow, Brightpearl → DSCO: a linked order invoiced in Brightpearl (Order GET
//! `invoices[].invoiceReference` set and not `"pending"`, never its status name) becomes one DSCO
//! invoice (per order) or one per confirmed shipment, sent once through `sync::dsco_once` and
//! `synced` only when DSCO's invoice log shows it.
//!
//! A run: settle open invoice intents first; gather the orders to look at (`gather`: the order
//! search by `updatedOn` from the cursor less 10 minutes, webhook-queued `order.modified`
//! deliveries, orders with open records — all intersected with links); read them in ID sets;
//! for each invoiced one not yet invoiced on DSCO read the DSCO order once, build (`build`, pure,
//! with its pre-flight) and send in batches (`send`); commit the cursor and the inbox entries.

pub mod build;
mod gather;
pub mod input;
mod send;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::brightpearl::{self, Lane};
use crate::dsco::{self, Invoice};
use crate::flow_name::FlowName;
use crate::settings::{InvoicePolicy, InvoicesSettings, Settings};
use crate::store::{InboxEntry, Outcome, RecordDetail, RecordStatus};
use crate::sync::order_link::{self, OrderLink, OrderRef};
use crate::sync::order_view::{self, InvoiceView, OrderView, Part, Step};
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

/// Record and intent kind of invoices.
pub const INVOICE_KIND: &str = "invoice";
const CURSOR: &str = "invoices.sweep";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    since: DateTime<Utc>,
}

/// The invoices flow.
pub struct InvoicesFlow;

impl InvoicesFlow {
    pub fn new() -> Arc<InvoicesFlow> {
        Arc::new(InvoicesFlow)
    }
}

impl Flow for InvoicesFlow {
    fn name(&self) -> FlowName {
        FlowName::Invoices
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            let bp = ctx.brightpearl()?;
            let dsco = ctx.dsco()?;
            let grace = ctx.dsco_settle_grace()?;
            let settings = ctx.store.call(|s| s.read(Settings::load)).await?.invoices;
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

/// One invoice built and ready to send, with its order.
#[derive(Debug, Clone)]
struct Ready {
    order: OrderRef,
    bp_order_id: u64,
    invoice: Invoice,
    /// The package it invoices (per shipment).
    shipment: Option<String>,
    /// The order's lifecycle once DSCO confirms it (`invoiced`, or nothing yet).
    invoiced_when_confirmed: bool,
}

/// One run's working set.
struct Run<'a> {
    ctx: &'a FlowCtx,
    bp: &'a brightpearl::Client,
    dsco: &'a dsco::Client,
    settings: InvoicesSettings,
    grace: std::time::Duration,
    started: DateTime<Utc>,
    /// Linked orders to look at, by Brightpearl order id.
    orders: BTreeMap<u64, Linked>,
    /// The webhook inbox entries this run took; removed when it ends having dealt with them.
    inbox: Vec<InboxEntry>,
    /// Whether this run searched orders (and so moves the cursor).
    swept: bool,
    ready: Vec<Ready>,
    notes: Vec<String>,
}

impl Run<'_> {
    async fn execute(&mut self) -> Result<RunReport, FlowError> {
        self.settle_open().await?;
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
                .map_err(|e| FlowError::brightpearl("reading orders to invoice", e))?;
            let mut invoiced = 0usize;
            for bp in orders {
                if self.ctx.stopping() {
                    stopped = true;
                    break;
                }
                if bp.invoiced().is_none() {
                    continue;
                }
                invoiced += 1;
                let Some(linked) = self.orders.get(&bp.id.0).cloned() else {
                    continue;
                };
                self.prepare(linked, bp).await?;
            }
            self.notes.push(format!(
                "{} linked orders read, {invoiced} invoiced in Brightpearl",
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

    /// An invoiced order: what is still to be invoiced on DSCO, built from the DSCO order.
    async fn prepare(&mut self, linked: Linked, bp: brightpearl::Order) -> Result<(), FlowError> {
        let Linked { order, mut link } = linked;
        let bp_order_id = link.bp_order_id;
        let reference = bp
            .invoiced()
            .and_then(|i| i.invoice_reference.clone())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let view = {
            let id = order.dsco_order_id.clone();
            self.ctx
                .store
                .call(move |s| s.read(|tx| order_view::load(tx, &id)))
                .await?
        };
        let policy = self.settings.policy;
        // Nothing left to invoice: no DSCO call.
        let wanted = self.still_open(&order, &reference, view.as_ref()).await?;
        if !wanted {
            return Ok(());
        }
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
                    .record_unsent(&order, bp_order_id, &reference, outcome, "invoice_waiting")
                    .await;
            }
            Err(e) => {
                let outcome = Outcome::transient(
                    format!("reading DSCO order {} failed: {e}", order.dsco_order_id),
                    &e,
                );
                return self
                    .record_unsent(&order, bp_order_id, &reference, outcome, "invoice_retry")
                    .await;
            }
        };
        // The row map (Brightpearl row → DSCO line), from this order read when not filled yet.
        let rows: Vec<(u64, Option<String>, bool)> = bp
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
        if link.fill_rows(&rows) {
            let dsco_id = link.dsco_order_id.clone();
            self.ctx
                .store
                .call(move |s| {
                    s.write(|tx| {
                        if let Some(mut stored) = order_link::find_in(tx, &dsco_id)?
                            && stored.fill_rows(&rows)
                        {
                            order_link::save(tx, &stored)?;
                        }
                        Ok(())
                    })
                })
                .await?;
        }
        let input = match input::order_input(&bp, &dsco_order, &link.rows) {
            Ok(input) => input,
            Err(_) => return Ok(()), // not invoiced (checked above)
        };
        let complete = input::fully_shipped_or_cancelled(&dsco_order);
        match policy {
            InvoicePolicy::PerOrder => {
                if self.settings.wait_for_shipment && !complete {
                    let outcome = Outcome::Pending(format!(
                        "invoiced in Brightpearl; waiting until DSCO shows every unit of order {} shipped or cancelled (invoices.wait_for_shipment)",
                        order.dsco_order_id
                    ));
                    return self
                        .record_unsent(&order, bp_order_id, &reference, outcome, "invoice_waiting")
                        .await;
                }
                match build::per_order(&input) {
                    Ok(invoice) => self.ready.push(Ready {
                        order,
                        bp_order_id,
                        invoice,
                        shipment: None,
                        invoiced_when_confirmed: true,
                    }),
                    Err(problems) => {
                        let outcome = Outcome::Permanent {
                            reason: format!("invoice not sent: {}", problems.join("; ")),
                            code: None,
                        };
                        self.record_unsent(
                            &order,
                            bp_order_id,
                            &reference,
                            outcome,
                            "invoice_refused",
                        )
                        .await?;
                    }
                }
            }
            InvoicePolicy::PerShipment => {
                let Some(view) = view else {
                    return Ok(());
                };
                let packages = match self.packages(bp_order_id, &view, &dsco_order).await {
                    Ok(p) => p,
                    Err(e) => {
                        // The numbering needs the notes' sequence: wait, never renumber.
                        let outcome = Outcome::transient(
                            format!(
                                "reading Brightpearl order {bp_order_id}'s goods-out notes failed: {e}"
                            ),
                            &e,
                        );
                        return self
                            .record_unsent(
                                &order,
                                bp_order_id,
                                &reference,
                                outcome,
                                "invoice_retry",
                            )
                            .await;
                    }
                };
                let invoiced: BTreeSet<String> = view
                    .invoices
                    .iter()
                    .filter(|i| i.state == RecordStatus::Synced)
                    .filter_map(|i| i.shipment.clone())
                    .collect();
                // Freight goes on the first invoice sent for the order, whichever package that is.
                let mut freight_placed = view
                    .invoices
                    .iter()
                    .any(|i| matches!(i.state, RecordStatus::Synced | RecordStatus::Pending));
                let open: Vec<&(String, build::Package)> = packages
                    .iter()
                    .filter(|(source, _)| !invoiced.contains(source))
                    .collect();
                for (source, package) in open {
                    // A package keeps the invoice id it was first given.
                    let invoice_id = view
                        .invoices
                        .iter()
                        .find(|i| i.shipment.as_deref() == Some(source.as_str()))
                        .map(|i| i.invoice_id.clone())
                        .unwrap_or_else(|| format!("{reference}-{}", package.n));
                    if self.taken(&order, &invoice_id).await? {
                        continue;
                    }
                    let mut package = package.clone();
                    if let Some(n) = invoice_id
                        .rsplit_once('-')
                        .and_then(|(_, n)| n.parse::<u32>().ok())
                    {
                        package.n = n;
                    }
                    let first = !freight_placed;
                    match build::per_shipment(&input, &package, first) {
                        Ok(invoice) => {
                            freight_placed = true;
                            self.ready.push(Ready {
                                order: order.clone(),
                                bp_order_id,
                                invoice,
                                shipment: Some(source.clone()),
                                invoiced_when_confirmed: complete,
                            });
                        }
                        Err(problems) => {
                            let outcome = Outcome::Permanent {
                                reason: format!("invoice not sent: {}", problems.join("; ")),
                                code: None,
                            };
                            self.record_unsent(
                                &order,
                                bp_order_id,
                                &invoice_id,
                                outcome,
                                "invoice_refused",
                            )
                            .await?;
                        }
                    }
                }
                // Until DSCO shows the whole order shipped or cancelled, the order's own record
                // waits, so a package confirmed later brings the order back; then it closes.
                let outcome = if complete {
                    Outcome::Skipped(format!(
                        "invoiced per shipment: every shipment of order {} has its invoice",
                        order.dsco_order_id
                    ))
                } else {
                    Outcome::Pending(format!(
                        "invoiced per shipment; waiting until DSCO shows every unit of order {} shipped or cancelled",
                        order.dsco_order_id
                    ))
                };
                self.record_unsent(&order, bp_order_id, &reference, outcome, "invoice_waiting")
                    .await?;
            }
        }
        Ok(())
    }

    /// Whether the order still has something to invoice: per order, its invoice id not synced,
    /// skipped or being sent (an id already used by another order is recorded as such); per
    /// shipment, a confirmed package without a synced invoice.
    async fn still_open(
        &mut self,
        order: &OrderRef,
        reference: &str,
        view: Option<&OrderView>,
    ) -> Result<bool, FlowError> {
        match self.settings.policy {
            InvoicePolicy::PerOrder => {
                // The view keeps what was invoiced after the record's retention.
                let shown = view.is_some_and(|v| {
                    v.invoices
                        .iter()
                        .any(|i| i.invoice_id == reference && i.state == RecordStatus::Synced)
                });
                Ok(!shown && !self.taken(order, reference).await?)
            }
            InvoicePolicy::PerShipment => {
                let Some(view) = view else {
                    return Ok(false);
                };
                let invoiced: BTreeSet<&str> = view
                    .invoices
                    .iter()
                    .filter(|i| i.state == RecordStatus::Synced)
                    .filter_map(|i| i.shipment.as_deref())
                    .collect();
                let open_package = view.shipments.iter().any(|s| {
                    s.state == RecordStatus::Synced && !invoiced.contains(s.source_id.as_str())
                });
                // The order's own record closed (`skipped`): every shipment has its invoice.
                let key = reference.to_owned();
                let closed = self
                    .ctx
                    .store
                    .call(move |s| {
                        s.read(|tx| tx.record_for(FlowName::Invoices, INVOICE_KIND, &key))
                    })
                    .await?
                    .is_some_and(|r| r.status == RecordStatus::Skipped);
                Ok(open_package || !closed)
            }
        }
    }

    /// Whether `invoice_id` needs nothing more for this order (synced, skipped or being sent),
    /// or is already used by another order — then that is recorded (needs attention) under
    /// `{invoice_id}:{dsco_order_id}` and nothing is sent.
    async fn taken(&mut self, order: &OrderRef, invoice_id: &str) -> Result<bool, FlowError> {
        // Built earlier in this run (not recorded yet): another order's is a reuse.
        let queued_for = self
            .ready
            .iter()
            .find(|r| r.invoice.invoice_id == invoice_id)
            .map(|r| r.order.dsco_order_id.clone());
        if let Some(owner) = queued_for {
            if owner != order.dsco_order_id {
                let source = format!("{invoice_id}:{}", order.dsco_order_id);
                let outcome = Outcome::Permanent {
                    reason: format!(
                        "invoice id {invoice_id} is already used for DSCO order {owner}; give this order its own Brightpearl invoice reference"
                    ),
                    code: None,
                };
                self.record_unsent(order, 0, &source, outcome, "invoice_refused")
                    .await?;
            }
            return Ok(true);
        }
        let key = invoice_id.to_owned();
        let (record, intent) = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    Ok((
                        tx.record_for(FlowName::Invoices, INVOICE_KIND, &key)?,
                        tx.intent(INVOICE_KIND, &key)?.is_some(),
                    ))
                })
            })
            .await?;
        let Some(record) = record else {
            return Ok(intent);
        };
        let owner = record.related.get("dsco_order_id").cloned();
        if owner.as_deref().is_some_and(|o| o != order.dsco_order_id) {
            let source = format!("{invoice_id}:{}", order.dsco_order_id);
            let outcome = Outcome::Permanent {
                reason: format!(
                    "invoice id {invoice_id} is already used for DSCO order {}; give this order its own Brightpearl invoice reference",
                    owner.unwrap_or_default()
                ),
                code: None,
            };
            self.record_unsent(order, 0, &source, outcome, "invoice_refused")
                .await?;
            return Ok(true);
        }
        Ok(intent || matches!(record.status, RecordStatus::Synced | RecordStatus::Skipped))
    }

    /// The order's confirmed packages as the per-shipment policy invoices them, by package
    /// source id: n = the goods-out note's `sequence` (read in one call), else the 1-based
    /// position among the order's packages by note id.
    async fn packages(
        &self,
        bp_order_id: u64,
        view: &OrderView,
        dsco_order: &dsco::Order,
    ) -> Result<Vec<(String, build::Package)>, brightpearl::Error> {
        let confirmed: Vec<&order_view::ShipmentView> = view
            .shipments
            .iter()
            .filter(|s| s.state == RecordStatus::Synced)
            .collect();
        if confirmed.is_empty() {
            return Ok(Vec::new());
        }
        let sequences: BTreeMap<u64, u64> = if confirmed
            .iter()
            .any(|s| s.goods_out_note_id.is_some())
        {
            self.bp
                .get_orders_goods_out_notes(Lane::Shipments, &[brightpearl::OrderId(bp_order_id)])
                .await?
                .into_iter()
                .filter_map(|(id, n)| Some((id.0, n.sequence?)))
                .collect()
        } else {
            BTreeMap::new()
        };
        let mut by_note: Vec<&order_view::ShipmentView> = confirmed.clone();
        by_note.sort_by_key(|s| s.goods_out_note_id.unwrap_or(0));
        Ok(by_note
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n = s
                    .goods_out_note_id
                    .and_then(|id| sequences.get(&id).copied())
                    .map_or(i as u32 + 1, |q| q as u32);
                (s.source_id.clone(), input::package_of(s, n, dsco_order))
            })
            .collect())
    }

    /// Record an invoice (or its order) with nothing sent.
    async fn record_unsent(
        &self,
        order: &OrderRef,
        bp_order_id: u64,
        source: &str,
        outcome: Outcome,
        event: &'static str,
    ) -> Result<(), FlowError> {
        let bp = (bp_order_id != 0).then_some(bp_order_id);
        let detail = related(order, bp, None);
        let step = Step {
            kind: INVOICE_KIND,
            outcome,
            detail,
            event,
            state: None,
        };
        let record =
            order_view::record_part_step(self.ctx, order, source, step, None, |_| Ok(())).await?;
        tracing::info!(flow = "invoices", invoice_id = %source, dsco_order_id = %order.dsco_order_id, status = record.status.as_str(), reason = record.reason.as_deref().unwrap_or(""), "invoice recorded");
        Ok(())
    }
}

/// The view of an invoice.
fn invoice_view(ready: &Ready, policy: InvoicePolicy, request_id: Option<String>) -> InvoiceView {
    InvoiceView {
        invoice_id: ready.invoice.invoice_id.clone(),
        policy: match policy {
            InvoicePolicy::PerOrder => "per_order",
            InvoicePolicy::PerShipment => "per_shipment",
        }
        .into(),
        amount: ready.invoice.total_amount,
        state: RecordStatus::Pending,
        dsco_request_id: request_id,
        shipment: ready.shipment.clone(),
    }
}

fn related(order: &OrderRef, bp_order_id: Option<u64>, request_id: Option<&str>) -> RecordDetail {
    let mut related = order.related(bp_order_id);
    related.push(("dsco_order_id".into(), order.dsco_order_id.clone()));
    if let Some(r) = request_id {
        related.push(("dsco_request_id".into(), r.to_owned()));
    }
    RecordDetail {
        related,
        ..Default::default()
    }
}

/// The view part of a sent invoice.
fn part(ready: &Ready, policy: InvoicePolicy, request_id: Option<String>) -> Part {
    Part::Invoice(invoice_view(ready, policy, request_id))
}
