//! The `shipments` flow, Brightpearl → DSCO: every goods-out note of a linked order becomes one
//! DSCO package, sent once and `synced` only when DSCO's change log shows it took it.
//!
//! A run: gather the notes to look at (`gather`: the sweep by `createdOn`/`shippedOn` from the
//! cursor less 10 minutes, notes with open records, webhook deliveries, and for the status
//! trigger the orders that reached the ship status); settle open write intents first
//! (`sync::dsco_once`); read the notes by ID set, keep those of linked orders, read each DSCO
//! order once, build each package (`build`, pure, with its pre-flight), send them in batches and
//! read their outcomes (`send`); commit the cursor.

mod build;
mod gather;
mod send;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use build::{Built, Hold, NoteFacts, NoteRow, OrderFacts, Rules, unshipped};

use crate::brightpearl::{self, GoodsOutNote, Lane};
use crate::dsco;
use crate::flow_name::FlowName;
use crate::mapping::items::ItemMatcher;
use crate::mapping::shipping_methods::ShippingMethodMap;
use crate::mapping::warehouses::WarehouseMap;
use crate::settings::{GoodsOutNoteMoment, Settings, ShipmentTrigger, ShipmentsSettings};
use crate::store::{InboxEntry, Kind, Outcome, RecordDetail, RecordStatus};
use crate::sync::order_link::{self, OrderLink, OrderRef};
use crate::sync::order_view::{self, OrderState, ShipmentLineView, ShipmentView, Step};
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

/// Record and intent kind of shipments.
pub const SHIPMENT_KIND: &str = "shipment";
const CURSOR: &str = "shipments.sweep";
/// DSCO orders whose state after a confirmation is still to be worked out.
const RECHECK: &str = "shipments.recheck";
/// Goods-out search has no `updatedOn` (brightpearl-api.md §4.14): windows overlap this much.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(10);
/// The first sweep looks back this far.
const FIRST_LOOK_BACK: chrono::Duration = chrono::Duration::days(1);
/// DSCO's small-batch limit is 5 MB (dsco-api.md §3.1); we keep a margin.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    since: DateTime<Utc>,
}

/// The shipments flow.
pub struct ShipmentsFlow;

impl ShipmentsFlow {
    pub fn new() -> Arc<ShipmentsFlow> {
        Arc::new(ShipmentsFlow)
    }
}

impl Flow for ShipmentsFlow {
    fn name(&self) -> FlowName {
        FlowName::Shipments
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            let bp = ctx.brightpearl()?;
            let dsco = ctx.dsco()?;
            let grace = ctx.dsco_settle_grace()?;
            let mut run = Run::load(ctx, &bp, &dsco, grace).await?;
            run.execute().await
        })
    }
}

/// One note (or whole order) to ship, with its order.
#[derive(Debug, Clone)]
struct Candidate {
    /// The record's source id: the note id, or `order:{bp_order_id}`.
    source_id: String,
    note: NoteFacts,
}

/// A linked order at the ship status (status trigger), with what its notes ask for.
struct StatusOrder {
    work: OrderWork,
    /// Its whole-order package was sent (or is being settled).
    shipped_whole: bool,
    /// ... and DSCO confirmed it.
    whole_confirmed: bool,
    /// Its whole-order record is open but notes now exist.
    retire_whole: bool,
}

/// A linked order this run ships on.
struct OrderWork {
    order_ref: OrderRef,
    link: OrderLink,
    candidates: Vec<Candidate>,
}

/// One run's working set.
struct Run<'a> {
    ctx: &'a FlowCtx,
    bp: &'a brightpearl::Client,
    dsco: &'a dsco::Client,
    settings: ShipmentsSettings,
    rules: Rules,
    matcher: ItemMatcher,
    grace: std::time::Duration,
    started: DateTime<Utc>,
    /// Goods-out note ids to read.
    note_ids: BTreeSet<u64>,
    /// Notes deleted in Brightpearl (webhook `destroyed`, or not found on re-read).
    destroyed: BTreeSet<u64>,
    /// Brightpearl orders that reached the ship status (status trigger).
    status_orders: BTreeSet<u64>,
    /// The webhook inbox entries this run took; removed when it ends having dealt with them.
    inbox: Vec<InboxEntry>,
    /// Deleted notes whose send is still being settled: their deletion entries stay in the
    /// inbox for the next run.
    destroyed_later: BTreeSet<u64>,
    /// Packages built and ready to send.
    ready: Vec<(OrderRef, u64, String, Built)>,
    /// DSCO orders read this run (before sending), by DSCO order id: the order's state after a
    /// confirmation is worked out from them without reading the order again.
    dsco_orders: HashMap<String, dsco::Order>,
    /// Brightpearl orders read up front, in ID sets, for the orders whose notes need them.
    bp_orders: HashMap<u64, brightpearl::Order>,
    notes: Vec<String>,
}

impl<'a> Run<'a> {
    async fn load(
        ctx: &'a FlowCtx,
        bp: &'a brightpearl::Client,
        dsco: &'a dsco::Client,
        grace: std::time::Duration,
    ) -> Result<Run<'a>, FlowError> {
        let (settings, matcher, shipping, warehouses) = ctx
            .store
            .call(|s| {
                s.read(|tx| {
                    Ok((
                        Settings::load(tx)?,
                        ItemMatcher::load(tx)?,
                        ShippingMethodMap::load(tx)?,
                        WarehouseMap::load(tx)?,
                    ))
                })
            })
            .await?;
        let shipments = settings.shipments.clone();
        let rules = Rules {
            allow_untracked: shipments.allow_untracked,
            order_only_service_levels: shipments.order_only_service_levels.clone(),
            shipping: shipping_rules(&shipping),
            warehouses: warehouses
                .dsco_codes()
                .flat_map(|(code, ids)| ids.iter().map(move |id| (*id, code.to_owned())))
                .collect(),
        };
        Ok(Run {
            ctx,
            bp,
            dsco,
            settings: shipments,
            rules,
            matcher,
            grace,
            started: ctx.now(),
            note_ids: BTreeSet::new(),
            destroyed: BTreeSet::new(),
            status_orders: BTreeSet::new(),
            inbox: Vec::new(),
            destroyed_later: BTreeSet::new(),
            ready: Vec::new(),
            dsco_orders: HashMap::new(),
            bp_orders: HashMap::new(),
            notes: Vec::new(),
        })
    }

    async fn execute(&mut self) -> Result<RunReport, FlowError> {
        let since = self.gather().await?;
        self.settle_open().await?;
        self.recheck_states().await?;
        self.handle_destroyed().await?;
        let notes = self.read_notes().await?;
        let work = self.by_order(notes).await?;
        self.read_bp_orders(&work).await;
        let mut stopped = false;
        for order in work {
            if self.ctx.stopping() {
                stopped = true;
                break;
            }
            self.prepare(order).await?;
        }
        self.send_ready().await?;
        if stopped {
            // Asked to stop: the cursor and the inbox stay, so the next run looks again.
            self.notes
                .push("stopped before every order was looked at".into());
        } else {
            let cursor = Cursor {
                since: self.started,
            };
            let later = std::mem::take(&mut self.destroyed_later);
            let inbox: Vec<InboxEntry> = std::mem::take(&mut self.inbox)
                .into_iter()
                .filter(|e| {
                    !(e.event == crate::sync::webhooks::NOTE_DESTROYED_EVENT
                        && later.contains(&e.id))
                })
                .collect();
            self.ctx
                .store
                .call(move |s| {
                    s.write(|tx| {
                        tx.set_cursor(CURSOR, &cursor)?;
                        tx.inbox_remove(&inbox)
                    })
                })
                .await?;
        }
        self.notes.insert(
            0,
            format!("sweep from {}", since.format("%Y-%m-%d %H:%M:%S UTC")),
        );
        Ok(RunReport {
            counts: self.ctx.counts(),
            note: Some(self.notes.join("; ")),
        })
    }

    /// Read the notes by ID set (missing ones were deleted).
    async fn read_notes(&mut self) -> Result<BTreeMap<u64, GoodsOutNote>, FlowError> {
        let ids: Vec<brightpearl::GoodsOutNoteId> = self
            .note_ids
            .iter()
            .filter(|id| !self.destroyed.contains(id))
            .map(|id| brightpearl::GoodsOutNoteId(*id))
            .collect();
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let found = self
            .bp
            .get_goods_out_notes(Lane::Shipments, &ids)
            .await
            .map_err(|e| FlowError::brightpearl("reading goods-out notes", e))?;
        let found: BTreeMap<u64, GoodsOutNote> =
            found.into_iter().map(|(id, n)| (id.0, n)).collect();
        let missing: Vec<u64> = ids
            .iter()
            .map(|i| i.0)
            .filter(|i| !found.contains_key(i))
            .collect();
        if !missing.is_empty() {
            self.destroyed.extend(missing);
            self.handle_destroyed().await?;
        }
        Ok(found)
    }

    /// Read the Brightpearl orders the run's orders need, in ID sets (one call for many
    /// orders). A failed read leaves them to be read one by one, where the failure is recorded.
    async fn read_bp_orders(&mut self, work: &[OrderWork]) {
        let ids: Vec<brightpearl::OrderId> = work
            .iter()
            .filter(|w| needs_bp_order(w))
            .map(|w| brightpearl::OrderId(w.link.bp_order_id))
            .collect();
        if ids.len() < 2 {
            return;
        }
        if let Ok(orders) = self.bp.get_orders(Lane::Shipments, &ids).await {
            self.bp_orders = orders.into_iter().map(|o| (o.id.0, o)).collect();
        }
    }

    /// Group the notes of linked orders by order; notes of other orders are not ours.
    async fn by_order(
        &mut self,
        notes: BTreeMap<u64, GoodsOutNote>,
    ) -> Result<Vec<OrderWork>, FlowError> {
        let moment = self.settings.goods_out_note_moment;
        let status_trigger = self.settings.trigger == ShipmentTrigger::OrderStatus;
        let status_orders = self.status_orders.clone();
        let candidates: Vec<(u64, GoodsOutNote)> = notes.into_iter().collect();
        let (work, skipped, reopened) = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let mut by_order: BTreeMap<u64, OrderWork> = BTreeMap::new();
                    let mut skipped = 0usize;
                    let mut reopened = Vec::new();
                    for (note_id, note) in candidates {
                        let order_id = note.order_id.0;
                        if order_id == 0 || note.transfer == Some(true) {
                            continue;
                        }
                        if status_trigger {
                            // The status trigger looks at whole orders (`add_status_orders`):
                            // a note with an open record brings its order back.
                            let open = tx
                                .record_for(
                                    FlowName::Shipments,
                                    SHIPMENT_KIND,
                                    &note_id.to_string(),
                                )?
                                .is_some_and(|r| {
                                    !matches!(
                                        r.status,
                                        RecordStatus::Synced | RecordStatus::Skipped
                                    )
                                });
                            if open && !status_orders.contains(&order_id) {
                                reopened.push(order_id);
                            }
                            continue;
                        }
                        if !status_trigger
                            && moment == GoodsOutNoteMoment::Shipped
                            && !note.status.as_ref().is_some_and(|s| s.shipped)
                        {
                            continue;
                        }
                        let Some(link) = order_link::find_by_bp_order(tx, order_id)? else {
                            continue;
                        };
                        let source_id = note_id.to_string();
                        let done = tx
                            .record_for(FlowName::Shipments, SHIPMENT_KIND, &source_id)?
                            .is_some_and(|r| {
                                matches!(r.status, RecordStatus::Synced | RecordStatus::Skipped)
                            });
                        if done || tx.intent(SHIPMENT_KIND, &source_id)?.is_some() {
                            skipped += 1;
                            continue;
                        }
                        let Some(order_ref) = order_ref_of(tx, &link)? else {
                            continue;
                        };
                        let entry = by_order.entry(order_id).or_insert_with(|| OrderWork {
                            order_ref,
                            link,
                            candidates: Vec::new(),
                        });
                        entry.candidates.push(Candidate {
                            source_id,
                            note: note_facts(note_id, &note),
                        });
                    }
                    Ok((
                        by_order.into_values().collect::<Vec<_>>(),
                        skipped,
                        reopened,
                    ))
                })
            })
            .await?;
        self.status_orders.extend(reopened);
        if skipped > 0 {
            self.notes.push(format!("{skipped} notes already sent"));
        }
        let mut work = work;
        if status_trigger {
            self.add_status_orders(&mut work).await?;
        }
        Ok(work)
    }

    /// Status trigger: every goods-out note of an order at the ship status ships, one package
    /// each (the notes of all such orders read in ID sets); an order with none ships as a whole
    /// (`order:{id}`). A whole-order record still open when notes appear is retired — the notes
    /// ship the order; once the whole order has shipped, later notes of it are not sent again.
    async fn add_status_orders(&mut self, work: &mut Vec<OrderWork>) -> Result<(), FlowError> {
        let orders: Vec<brightpearl::OrderId> = self
            .status_orders
            .iter()
            .map(|o| brightpearl::OrderId(*o))
            .collect();
        if orders.is_empty() {
            return Ok(());
        }
        let notes = self
            .bp
            .get_orders_goods_out_notes(Lane::Shipments, &orders)
            .await
            .map_err(|e| FlowError::brightpearl("reading the orders' goods-out notes", e))?;
        let mut by_order: BTreeMap<u64, Vec<(u64, GoodsOutNote)>> = self
            .status_orders
            .iter()
            .map(|o| (*o, Vec::new()))
            .collect();
        for (id, note) in notes {
            if note.transfer == Some(true) {
                continue;
            }
            if let Some(list) = by_order.get_mut(&note.order_id.0) {
                list.push((id.0, note));
            }
        }
        let queued: BTreeSet<String> = work
            .iter()
            .flat_map(|w| w.candidates.iter().map(|c| c.source_id.clone()))
            .collect();
        let found: Vec<StatusOrder> = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let mut out = Vec::new();
                    for (order_id, notes) in by_order {
                        let Some(link) = order_link::find_by_bp_order(tx, order_id)? else {
                            continue;
                        };
                        let Some(order_ref) = order_ref_of(tx, &link)? else {
                            continue;
                        };
                        let whole = format!("order:{order_id}");
                        let whole_record =
                            tx.record_for(FlowName::Shipments, SHIPMENT_KIND, &whole)?;
                        let whole_intent = tx.intent(SHIPMENT_KIND, &whole)?.is_some();
                        let whole_synced = whole_record
                            .as_ref()
                            .is_some_and(|r| r.status == RecordStatus::Synced);
                        let mut status = StatusOrder {
                            work: OrderWork {
                                order_ref,
                                link,
                                candidates: Vec::new(),
                            },
                            shipped_whole: whole_synced || whole_intent,
                            whole_confirmed: whole_synced && !whole_intent,
                            retire_whole: false,
                        };
                        for (id, note) in &notes {
                            let sid = id.to_string();
                            let done = tx
                                .record_for(FlowName::Shipments, SHIPMENT_KIND, &sid)?
                                .is_some_and(|r| {
                                    matches!(r.status, RecordStatus::Synced | RecordStatus::Skipped)
                                });
                            if !done
                                && !queued.contains(&sid)
                                && tx.intent(SHIPMENT_KIND, &sid)?.is_none()
                            {
                                status.work.candidates.push(Candidate {
                                    source_id: sid,
                                    note: note_facts(*id, note),
                                });
                            }
                        }
                        if status.shipped_whole {
                            // Its notes are recorded as covered by the whole-order package.
                        } else if notes.is_empty() {
                            status.work.candidates.push(Candidate {
                                source_id: whole,
                                note: NoteFacts::whole_order(),
                            });
                        } else {
                            status.retire_whole =
                                whole_record.is_some_and(|r| r.status != RecordStatus::Skipped);
                        }
                        out.push(status);
                    }
                    Ok(out)
                })
            })
            .await?;
        for status in found {
            let order_id = status.work.link.bp_order_id;
            if status.shipped_whole {
                // Shipped (or being shipped) as a whole: its notes are not sent again. While
                // that package is being settled they wait (an open record brings the order
                // back); once it is confirmed they are covered by it.
                work.retain(|w| w.link.bp_order_id != order_id);
                let confirmed = status.whole_confirmed;
                for c in &status.work.candidates {
                    let outcome = if confirmed {
                        Outcome::Skipped(format!(
                            "order {order_id} was shipped as a whole before this note"
                        ))
                    } else {
                        Outcome::Pending(format!(
                            "waiting for the outcome of order {order_id}'s whole-order package"
                        ))
                    };
                    self.record(
                        &status.work.order_ref,
                        order_id,
                        c,
                        outcome,
                        "ship_waiting",
                        None,
                    )
                    .await?;
                }
                continue;
            }
            if status.retire_whole {
                let whole = Candidate {
                    source_id: format!("order:{order_id}"),
                    note: NoteFacts::whole_order(),
                };
                let outcome = Outcome::Skipped(format!(
                    "order {order_id} now has goods-out notes; they ship it"
                ));
                self.record(
                    &status.work.order_ref,
                    order_id,
                    &whole,
                    outcome,
                    "ship_by_notes",
                    None,
                )
                .await?;
            }
            match work.iter_mut().find(|w| w.link.bp_order_id == order_id) {
                Some(existing) => existing.candidates.extend(status.work.candidates),
                None if !status.work.candidates.is_empty() => work.push(status.work),
                None => {}
            }
        }
        Ok(())
    }

    /// Read the DSCO order (and, when the link has no row map yet, the Brightpearl order), then
    /// build each candidate's package or record why it waits.
    async fn prepare(&mut self, mut work: OrderWork) -> Result<(), FlowError> {
        let dsco_id = work.order_ref.dsco_order_id.clone();
        let bp_order_id = work.link.bp_order_id;
        let order = match self
            .dsco
            .get_order(dsco::OrderKey::DscoOrderId, &dsco_id)
            .await
        {
            Ok(Some(order)) => order,
            Ok(None) => {
                for c in &work.candidates {
                    let outcome =
                        Outcome::retry(format!("DSCO order {dsco_id} is not visible on DSCO yet"));
                    self.record(
                        &work.order_ref,
                        bp_order_id,
                        c,
                        outcome,
                        "ship_waiting",
                        None,
                    )
                    .await?;
                }
                return Ok(());
            }
            Err(e) => {
                for c in &work.candidates {
                    let outcome =
                        Outcome::transient(format!("reading DSCO order {dsco_id} failed: {e}"), &e);
                    self.record(&work.order_ref, bp_order_id, c, outcome, "ship_retry", None)
                        .await?;
                }
                return Ok(());
            }
        };
        // The Brightpearl order: for the row map, a note without a shipping method, the
        // status trigger's whole-order package.
        let needs_bp = needs_bp_order(&work);
        let mut external_refs = BTreeMap::new();
        let mut order_method = None;
        let mut order_warehouse = None;
        if needs_bp {
            let read = match self.bp_orders.remove(&bp_order_id) {
                Some(order) => Ok(vec![order]),
                None => {
                    self.bp
                        .get_orders(Lane::Shipments, &[brightpearl::OrderId(bp_order_id)])
                        .await
                }
            };
            match read {
                Ok(orders) => {
                    if let Some(bp_order) = orders.into_iter().next() {
                        let rows: Vec<(u64, Option<String>, bool)> = bp_order
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
                        for (id, external_ref, _) in &rows {
                            if let Some(r) = external_ref {
                                external_refs.insert(*id, r.clone());
                            }
                        }
                        order_method = bp_order
                            .delivery
                            .as_ref()
                            .and_then(|d| d.shipping_method_id)
                            .and_then(|m| u32::try_from(m).ok())
                            .filter(|m| *m != 0);
                        order_warehouse = bp_order.warehouse_id.map(|w| w.0 as u32);
                        if work.link.fill_rows(&rows) {
                            let dsco_id = work.link.dsco_order_id.clone();
                            // Only the row map, onto the link as it is now (the orders flow
                            // may have changed the rest meanwhile).
                            self.ctx
                                .store
                                .call(move |s| {
                                    s.write(|tx| {
                                        if let Some(mut link) = order_link::find_in(tx, &dsco_id)?
                                            && link.fill_rows(&rows)
                                        {
                                            order_link::save(tx, &link)?;
                                        }
                                        Ok(())
                                    })
                                })
                                .await?;
                        }
                    }
                }
                Err(e) => {
                    for c in &work.candidates {
                        let outcome = Outcome::transient(
                            format!("reading Brightpearl order {bp_order_id} failed: {e}"),
                            &e,
                        );
                        self.record(&work.order_ref, bp_order_id, c, outcome, "ship_retry", None)
                            .await?;
                    }
                    return Ok(());
                }
            }
        }
        self.dsco_orders.insert(dsco_id.clone(), order.clone());
        let line_products = order
            .line_items
            .iter()
            .filter_map(|l| {
                let n = l.line_number?;
                let p = self
                    .matcher
                    .resolve(&crate::sync::orders::sales_order::item_ids(l))
                    .product_id()?;
                Some((n, u64::from(p)))
            })
            .collect();
        let view = {
            let id = dsco_id.clone();
            self.ctx
                .store
                .call(move |s| s.read(|tx| order_view::load(tx, &id)))
                .await?
        };
        let in_flight = in_flight(&order, view.as_ref());
        // Our confirmed packages only (not the ones this run builds): for the order's state.
        let confirmed_in_flight = in_flight.clone();
        let mut facts = OrderFacts {
            bp_order_id,
            row_external_refs: external_refs,
            row_map: work.link.rows.clone(),
            line_products,
            acknowledged: work.link.acknowledged,
            in_flight,
        };
        let now = self.ctx.now();
        for c in std::mem::take(&mut work.candidates) {
            let mut note = c.note.clone();
            if note.shipping_method_id.is_none_or(|m| m == 0) {
                note.shipping_method_id = order_method;
            }
            if note.note_id.is_none() && note.warehouse_id.is_none() {
                note.warehouse_id = order_warehouse;
            }
            // Already on DSCO (an earlier run's package whose outcome we missed): done. Our
            // other confirmed packages under the same tracking number are not this one.
            let ours: Vec<Vec<(u32, i64)>> = view
                .iter()
                .flat_map(|v| v.shipments.iter())
                .filter(|s| {
                    s.state == RecordStatus::Synced
                        && s.source_id != c.source_id
                        && s.tracking.is_some()
                        && s.tracking == note.tracking
                })
                .map(|s| {
                    s.lines
                        .iter()
                        .map(|l| (l.line_number, l.quantity))
                        .collect()
                })
                .collect();
            if build::found_on_dsco(&note, &order, &ours, &facts, &self.rules, now) {
                self.record(
                    &work.order_ref,
                    bp_order_id,
                    &c,
                    Outcome::Synced,
                    "shipment_found",
                    Some(if build::fully_shipped(&order, &confirmed_in_flight) {
                        OrderState::Shipped
                    } else {
                        OrderState::PartiallyShipped
                    }),
                )
                .await?;
                continue;
            }
            let candidate = Candidate {
                source_id: c.source_id.clone(),
                note,
            };
            match build::build(&candidate.note, &order, &facts, &self.rules, now) {
                Ok(built) => {
                    for l in &built.lines {
                        *facts.in_flight.entry(l.line_number).or_default() += l.quantity;
                    }
                    self.ready.push((
                        work.order_ref.clone(),
                        bp_order_id,
                        candidate.source_id.clone(),
                        built,
                    ));
                }
                Err(Hold::Pending(reason)) => {
                    self.record(
                        &work.order_ref,
                        bp_order_id,
                        &candidate,
                        Outcome::Pending(reason),
                        "ship_waiting",
                        None,
                    )
                    .await?;
                }
                Err(Hold::NeedsAttention(reason)) => {
                    self.record(
                        &work.order_ref,
                        bp_order_id,
                        &candidate,
                        Outcome::Permanent { reason, code: None },
                        "ship_refused",
                        None,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Record a candidate's outcome (nothing sent) with the order's view.
    async fn record(
        &self,
        order: &OrderRef,
        bp_order_id: u64,
        c: &Candidate,
        outcome: Outcome,
        event: &'static str,
        state: Option<OrderState>,
    ) -> Result<(), FlowError> {
        let mut related = order.related(Some(bp_order_id));
        related.push(("dsco_order_id".into(), order.dsco_order_id.clone()));
        if let Some(t) = &c.note.tracking {
            related.push(("tracking".into(), t.clone()));
        }
        let shipment = ShipmentView {
            source_id: c.source_id.clone(),
            goods_out_note_id: c.note.note_id,
            tracking: c.note.tracking.clone(),
            carrier: None,
            method: None,
            service_level_code: None,
            warehouse_code: None,
            lines: Vec::new(),
            state: RecordStatus::Pending,
            shipped_at: c.note.shipped_on,
            dsco_request_id: None,
        };
        // The order shipped: a retailer's open cancel request is answered.
        let answers_request = state == Some(OrderState::Shipped);
        let dsco_order_id = order.dsco_order_id.clone();
        let step = Step {
            kind: SHIPMENT_KIND,
            outcome,
            detail: RecordDetail {
                related,
                ..Default::default()
            },
            event,
            state,
        };
        let record = order_view::record_other_step(
            self.ctx,
            order,
            &c.source_id,
            step,
            Some(shipment),
            move |tx| {
                if answers_request {
                    crate::sync::orders::cancel_request::answer_cancel_request(
                        tx,
                        &dsco_order_id,
                        "shipped",
                    )?;
                }
                Ok(())
            },
        )
        .await?;
        tracing::info!(flow = "shipments", goods_out_note_id = %c.source_id, dsco_order_id = %order.dsco_order_id, tracking = c.note.tracking.as_deref().unwrap_or(""), status = record.status.as_str(), reason = record.reason.as_deref().unwrap_or(""), "shipment recorded");
        Ok(())
    }
}

/// Whether building this order's packages needs its Brightpearl order: for the row map (not
/// filled yet), a note without a shipping method, or the status trigger's whole-order package.
fn needs_bp_order(work: &OrderWork) -> bool {
    work.link.rows.is_empty()
        || work
            .candidates
            .iter()
            .any(|c| c.note.shipping_method_id.is_none_or(|m| m == 0) || c.note.note_id.is_none())
}

/// The order's ids as its view (or link) knows them.
fn order_ref_of(
    tx: &crate::store::ReadTx,
    link: &OrderLink,
) -> Result<Option<OrderRef>, crate::store::Error> {
    let view = order_view::load(tx, &link.dsco_order_id)?;
    Ok(Some(OrderRef {
        dsco_order_id: link.dsco_order_id.clone(),
        po_number: view
            .as_ref()
            .map(|v| v.po_number.clone())
            .unwrap_or_default(),
        retailer: view.and_then(|v| v.dsco_retailer_id),
    }))
}

/// What the builder needs of a goods-out note.
fn note_facts(note_id: u64, note: &GoodsOutNote) -> NoteFacts {
    let mut rows = Vec::new();
    for (row_id, picks) in &note.order_rows {
        let Ok(order_row_id) = row_id.parse::<u64>() else {
            continue;
        };
        let mut by_product: BTreeMap<u64, f64> = BTreeMap::new();
        for p in picks {
            *by_product.entry(p.product_id.0).or_default() += p.quantity;
        }
        for (product_id, quantity) in by_product {
            rows.push(NoteRow {
                order_row_id,
                product_id,
                quantity: quantity.round() as i64,
            });
        }
    }
    let shipping = note.shipping.clone().unwrap_or_default();
    NoteFacts {
        note_id: Some(note_id),
        rows,
        tracking: shipping
            .reference
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
        shipped_on: note
            .status
            .as_ref()
            .filter(|s| s.shipped)
            .and_then(|s| s.shipped_on.as_deref())
            .and_then(parse_bp_date),
        shipping_method_id: shipping
            .shipping_method_id
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| *m != 0),
        warehouse_id: note.warehouse_id.map(|w| w.0 as u32),
    }
}

/// Brightpearl's dates carry an offset (`2025-11-04T10:41:38.000-06:00`).
fn parse_bp_date(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Units of our confirmed packages that DSCO's `packages[]` does not show yet, per line.
pub(crate) fn in_flight(
    order: &dsco::Order,
    view: Option<&order_view::OrderView>,
) -> BTreeMap<u32, i64> {
    let mut out = BTreeMap::new();
    let Some(view) = view else {
        return out;
    };
    let visible: BTreeSet<&str> = order
        .packages
        .iter()
        .filter_map(|p| p.tracking_number.as_deref())
        .collect();
    let mut untracked_visible = order
        .packages
        .iter()
        .filter(|p| p.untracked == Some(true) || p.tracking_number.is_none())
        .count();
    for s in view
        .shipments
        .iter()
        .filter(|s| s.state == RecordStatus::Synced)
    {
        let shown = match &s.tracking {
            Some(t) => visible.contains(t.as_str()),
            None if untracked_visible > 0 => {
                untracked_visible -= 1;
                true
            }
            None => false,
        };
        if !shown {
            for l in &s.lines {
                *out.entry(l.line_number).or_default() += l.quantity;
            }
        }
    }
    out
}

/// The shipping-method mapping as the builder reads it.
fn shipping_rules(map: &ShippingMethodMap) -> HashMap<u32, (String, String, String)> {
    map.shipment_rows()
        .map(|(id, (a, b, c))| (id, (a.to_owned(), b.to_owned(), c.to_owned())))
        .collect()
}

/// The view of a built package.
fn shipment_view(
    source_id: &str,
    built: &Built,
    state: RecordStatus,
    request_id: Option<String>,
    shipped_at: Option<DateTime<Utc>>,
) -> ShipmentView {
    let s = &built.shipment;
    ShipmentView {
        source_id: source_id.to_owned(),
        goods_out_note_id: source_id.parse().ok(),
        tracking: s.tracking_number.clone(),
        carrier: s.ship_carrier.clone(),
        method: s.ship_method.clone(),
        service_level_code: s.shipping_service_level_code.clone(),
        warehouse_code: s.warehouse_code.clone(),
        lines: built
            .lines
            .iter()
            .map(|l| ShipmentLineView {
                line_number: l.line_number,
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect(),
        state,
        shipped_at,
        dsco_request_id: request_id,
    }
}

fn kind() -> Kind {
    Kind::Shipment
}
