//! The `orders` flow, DSCO → Brightpearl, on its schedule and on demand: new DSCO purchase orders
//! become Brightpearl sales orders exactly once, then are acknowledged on DSCO; orders cancelled
//! on DSCO move their Brightpearl order to the configured status.
//!
//! A run: fetch the window `(cursor − overlap, now − 10 s]` by `ordersUpdatedSince`, following
//! `scrollId` to the empty page (an expired scroll restarts the same window); add orders whose
//! records are due for a retry and orders with an open create intent; decide per order; create
//! (exactly once, see `sync::exactly_once`); acknowledge in batches; commit the cursor once
//! every order of the window has a link or a record.

pub mod sales_order;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::brightpearl::{self, Lane, OrderNote, OrderStatusUpdate};
use crate::connections::Connections;
use crate::dsco::{
    self, Acknowledgement, Lifecycle, OrderIdType, OrderKey, OrderPageRequest, OrderQuery,
    OrderWindowStart,
};
use crate::flow_name::FlowName;
use crate::mapping::customers::CustomerMap;
use crate::mapping::items::ItemMatcher;
use crate::mapping::shipping_methods::ShippingMethodMap;
use crate::reference::{DscoItem, Product, ReferenceData};
use crate::settings::Settings;
use crate::store::{Outcome, RecordDetail, RecordStatus, Store};
use crate::sync::contacts::{Customer, Resolver};
use crate::sync::exactly_once::{Attempt, create_once, describe_rejection};
use crate::sync::order_link::{
    self, ORDER_KIND, OrderLink, OrderRef, dsco_id, lowest_with_external_ref,
};
use crate::sync::order_view::{self, OrderState, Step, record_step, record_step_with};
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

use sales_order::{Inputs, Prepared};

/// Record kind for cancellations seen on DSCO.
pub const CANCELLATION_KIND: &str = "cancellation";
const CURSOR: &str = "orders.window";
const FIRST_START: &str = "orders.first_start";
/// How far each window reaches back over the previous one.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(2);
/// DSCO refuses an `until` younger than 5 s (dsco-api.md §2.2); we keep 10 s.
const UNTIL_LAG: chrono::Duration = chrono::Duration::seconds(10);
/// Orders acknowledged per change-log round trip.
const ACK_BATCH: usize = 100;
/// Restarts of one window after expired scrolls before the run gives up.
const SCROLL_RESTARTS: u32 = 3;

/// The window cursor.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    until: DateTime<Utc>,
}

/// What settling an open create intent found.
enum IntentCheck {
    /// No intent (or it was closed: nothing was created).
    None,
    /// Not settled yet; the record says why.
    Waiting,
    /// The earlier create did make the order: now linked.
    Linked(OrderLink),
}

pub struct OrdersFlow {
    connections: Arc<Connections>,
}

impl OrdersFlow {
    pub fn new(connections: Arc<Connections>) -> Arc<OrdersFlow> {
        Arc::new(OrdersFlow { connections })
    }
}

impl Flow for OrdersFlow {
    fn name(&self) -> FlowName {
        FlowName::Orders
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            let bp = self
                .connections
                .brightpearl()
                .map_err(FlowError::NotConnected)?;
            let dsco = self.connections.dsco().map_err(FlowError::NotConnected)?;
            let mut run =
                Run::load(ctx, &bp, &dsco, self.connections.brightpearl_create_grace()).await?;
            run.execute().await
        })
    }
}

/// One run's working set.
struct Run<'a> {
    ctx: &'a FlowCtx,
    bp: &'a brightpearl::Client,
    dsco: &'a dsco::Client,
    settings: Settings,
    matcher: ItemMatcher,
    products: HashMap<u32, Product>,
    shipping_methods: ShippingMethodMap,
    reference: Option<ReferenceData>,
    customers: CustomerMap,
    grace: std::time::Duration,
    contact_cache: HashMap<String, u64>,
    /// (DSCO order id, Brightpearl order id) to acknowledge at the end of the run.
    to_acknowledge: Vec<(OrderRef, u64)>,
    /// Brightpearl sales orders by customer ref, for taking over another connector's orders.
    take_over_by_ref: HashMap<String, Vec<(u64, Option<String>)>>,
    notes: Vec<String>,
}

impl<'a> Run<'a> {
    async fn load(
        ctx: &'a FlowCtx,
        bp: &'a brightpearl::Client,
        dsco: &'a dsco::Client,
        grace: std::time::Duration,
    ) -> Result<Run<'a>, FlowError> {
        let (settings, matcher, catalog, shipping_methods, reference, customers) = ctx
            .store
            .call(|s| {
                s.read(|tx| {
                    Ok((
                        Settings::load(tx)?,
                        ItemMatcher::load(tx)?,
                        tx.catalog()?,
                        ShippingMethodMap::load(tx)?,
                        tx.reference_data()?,
                        CustomerMap::load(tx)?,
                    ))
                })
            })
            .await?;
        Ok(Run {
            ctx,
            bp,
            dsco,
            settings,
            matcher,
            products: catalog.into_iter().map(|p| (p.id, p)).collect(),
            shipping_methods,
            reference,
            customers,
            grace,
            contact_cache: HashMap::new(),
            to_acknowledge: Vec::new(),
            take_over_by_ref: HashMap::new(),
            notes: Vec::new(),
        })
    }

    fn store(&self) -> &Store {
        &self.ctx.store
    }

    async fn execute(&mut self) -> Result<RunReport, FlowError> {
        let now = Utc::now();
        let until = now - UNTIL_LAG;
        let start = self.window_start(now).await?;
        let mut orders: BTreeMap<String, dsco::Order> = BTreeMap::new();
        if start < until {
            for order in self.fetch_window(start, until).await? {
                if let Some(id) = order.dsco_order_id.as_ref().map(|i| i.0.clone()) {
                    let newer = orders
                        .get(&id)
                        .is_none_or(|o| o.dsco_last_update <= order.dsco_last_update);
                    if newer {
                        orders.insert(id, order);
                    }
                } else {
                    self.record_order_without_id(&order).await?;
                }
            }
        }
        let in_window = orders.len();
        self.add_pending(&mut orders).await?;
        self.take_over_candidates(&orders).await;
        let mut stopped = false;
        let mut ordered: Vec<dsco::Order> = orders.into_values().collect();
        ordered.sort_by(|a, b| a.dsco_create_date.cmp(&b.dsco_create_date));
        for order in &ordered {
            if self.ctx.stopping() {
                stopped = true;
                break;
            }
            self.process(order).await?;
        }
        self.acknowledge().await?;
        if !stopped && start < until {
            let cursor = Cursor { until };
            self.store()
                .call(move |s| s.write(|tx| tx.set_cursor(CURSOR, &cursor)))
                .await?;
        }
        let mut note = format!(
            "window {} – {}: {in_window} orders, {} processed",
            start.format("%Y-%m-%d %H:%M:%S"),
            until.format("%H:%M:%S"),
            ordered.len()
        );
        if stopped {
            note.push_str(
                "; stopped at a record boundary for shutdown, the window is fetched again next run",
            );
        }
        for extra in &self.notes {
            note.push_str("; ");
            note.push_str(extra);
        }
        Ok(RunReport {
            counts: self.ctx.counts(),
            note: Some(note),
        })
    }

    /// Where this window starts: the cursor less the overlap, else `orders.import_from`, else the
    /// daemon's first start (remembered in the store).
    async fn window_start(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, FlowError> {
        let import_from = self.settings.orders.defaults.import_from;
        let (cursor, first_start) = self
            .store()
            .call(move |s| {
                let cursor: Option<Cursor> = s.read(|tx| tx.cursor(CURSOR))?;
                let first = s.write(|tx| match tx.document::<DateTime<Utc>>(FIRST_START)? {
                    Some(first) => Ok(first),
                    None => {
                        tx.put_document(FIRST_START, &now)?;
                        Ok(now)
                    }
                })?;
                Ok((cursor, first))
            })
            .await?;
        let start = match cursor {
            Some(c) => c.until - OVERLAP,
            None => import_from.unwrap_or(first_start),
        };
        // Orders created before import_from are never imported, whatever the cursor says.
        Ok(match import_from {
            Some(from) if from > start => from,
            _ => start,
        })
    }

    async fn fetch_window(
        &self,
        start: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<dsco::Order>, FlowError> {
        let query = OrderQuery {
            since: OrderWindowStart::UpdatedSince(start),
            until,
            statuses: Vec::new(),
            orders_per_page: Some(1000),
            include_test_orders: self.settings.orders.defaults.include_test_orders,
        };
        let mut restarts = 0;
        'window: loop {
            let mut all = Vec::new();
            let mut request = OrderPageRequest::Search(query.clone());
            loop {
                match self.dsco.fetch_orders_page(&request).await {
                    Ok(page) => {
                        if page.orders.is_empty() {
                            return Ok(all);
                        }
                        all.extend(page.orders);
                        match page.scroll_id {
                            Some(scroll) => request = OrderPageRequest::Scroll(scroll),
                            None => return Ok(all),
                        }
                    }
                    Err(dsco::Error::ScrollExpired { .. }) if restarts < SCROLL_RESTARTS => {
                        restarts += 1;
                        tracing::warn!(
                            flow = "orders",
                            run_id = self.ctx.run_id.0,
                            restarts,
                            "DSCO scroll expired; fetching the same window again"
                        );
                        continue 'window;
                    }
                    Err(e) => {
                        return Err(FlowError::Upstream(format!("fetching DSCO orders: {e}")));
                    }
                }
            }
        }
    }

    /// Orders outside the window that still need work: due records and open intents.
    async fn add_pending(
        &mut self,
        orders: &mut BTreeMap<String, dsco::Order>,
    ) -> Result<(), FlowError> {
        let now = Utc::now();
        let (due, intents, unacked) = self
            .store()
            .call(move |s| {
                s.read(|tx| {
                    let due: Vec<String> = tx
                        .due_records(FlowName::Orders, now)?
                        .into_iter()
                        .filter(|r| r.kind == ORDER_KIND || r.kind == CANCELLATION_KIND)
                        .map(|r| r.source_id)
                        .collect();
                    let intents: Vec<String> =
                        tx.intents(ORDER_KIND)?.into_iter().map(|i| i.key).collect();
                    // Imported orders whose acknowledgement is still outstanding.
                    let pending_ack: Vec<String> = tx
                        .records(
                            &crate::store::RecordFilter {
                                flow: Some(FlowName::Orders),
                                status: Some(RecordStatus::Pending),
                                kind: Some(ORDER_KIND.into()),
                                source_id: None,
                            },
                            None,
                            10_000,
                        )?
                        .into_iter()
                        .map(|r| r.source_id)
                        .collect();
                    Ok((due, intents, pending_ack))
                })
            })
            .await?;
        for id in due.into_iter().chain(intents).chain(unacked) {
            if orders.contains_key(&id) {
                continue;
            }
            match self.dsco.get_order(OrderKey::DscoOrderId, &id).await {
                Ok(Some(order)) => {
                    orders.insert(id, order);
                }
                Ok(None) => {
                    self.ctx
                        .record(
                            ORDER_KIND,
                            &id,
                            Outcome::Permanent {
                                reason: format!("DSCO no longer finds order {id}"),
                                code: None,
                            },
                            RecordDetail::default(),
                        )
                        .await?;
                }
                Err(e) => {
                    self.ctx
                        .record(
                            ORDER_KIND,
                            &id,
                            Outcome::Retryable {
                                reason: format!("could not re-read the order from DSCO: {e}"),
                            },
                            RecordDetail::default(),
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Orders another connector already acknowledged (a `supplierOrderNumber` is set) and that we
    /// have no link for: find their Brightpearl orders with one `customerRefs` search.
    async fn take_over_candidates(&mut self, orders: &BTreeMap<String, dsco::Order>) {
        let mut refs = Vec::new();
        for order in orders.values() {
            if order
                .supplier_order_number
                .as_deref()
                .is_some_and(|s| !s.is_empty())
            {
                refs.push(order.po_number.clone());
            }
        }
        if refs.is_empty() {
            return;
        }
        refs.sort();
        refs.dedup();
        match self
            .bp
            .search_sales_orders_by_customer_refs(Lane::Orders, &refs)
            .await
        {
            Ok(rows) => {
                for row in rows {
                    if let Some(r) = row.customer_ref.clone() {
                        self.take_over_by_ref
                            .entry(r)
                            .or_default()
                            .push((row.sales_order_id.0, row.external_ref.clone()));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(flow = "orders", error = %e, "customerRefs search for take-over failed; orders are checked one by one")
            }
        }
    }

    async fn record_order_without_id(&self, order: &dsco::Order) -> Result<(), FlowError> {
        self.ctx
            .record(
                ORDER_KIND,
                &format!("po:{}", order.po_number),
                Outcome::Permanent {
                    reason: format!("DSCO order with PO {} has no dscoOrderId", order.po_number),
                    code: None,
                },
                RecordDetail::default(),
            )
            .await?;
        Ok(())
    }
}

impl Run<'_> {
    async fn process(&mut self, order: &dsco::Order) -> Result<(), FlowError> {
        let id = dsco_id(order);
        self.note_seen(order).await?;
        let state = order.lifecycle();
        let key = id.clone();
        let link = self
            .store()
            .call(move |s| s.read(|tx| order_link::find(tx, &key)))
            .await?;
        if let Some(link) = link {
            return self.process_linked(order, link, state).await;
        }
        if !matches!(state, Lifecycle::Created | Lifecycle::Acknowledged) {
            // A create whose answer was lost may have made the order before DSCO moved on (say,
            // the retailer cancelled): check the open intent first, so that order is linked and
            // follows DSCO instead of being left unlinked in Brightpearl.
            match self.check_unanswered_create(order).await? {
                IntentCheck::None => {}
                IntentCheck::Waiting => return Ok(()),
                IntentCheck::Linked(link) => return self.process_linked(order, link, state).await,
            }
        }
        let test = order.test_flag.unwrap_or(false);
        if test && !self.settings.orders.defaults.include_test_orders {
            return self
                .skip_once(order, "test order; orders.include_test_orders is off")
                .await;
        }
        match state {
            Lifecycle::Created | Lifecycle::Acknowledged => {}
            Lifecycle::Cancelled => {
                return self
                    .skip_once(order, "cancelled on DSCO before it was imported")
                    .await;
            }
            other => {
                return self
                    .skip_once(
                        order,
                        &format!("already {other} on DSCO and not imported by this connector"),
                    )
                    .await;
            }
        }
        if self.backing_off(order).await? {
            return Ok(());
        }
        let retailer = order.dsco_retailer_id.clone().unwrap_or_default();
        if let (Some(from), Some(created)) = (
            self.settings.orders_for_retailer(&retailer).import_from,
            order
                .dsco_create_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok()),
        ) && created < from
        {
            return self
                .skip_once(
                    order,
                    &format!("created {created} on DSCO, before orders.import_from"),
                )
                .await;
        }
        if order
            .supplier_order_number
            .as_deref()
            .is_some_and(|s| !s.is_empty())
            && self.take_over(order).await?
        {
            return Ok(());
        }
        self.import(order).await
    }

    /// Check an open create intent of an order DSCO no longer wants imported: after the grace
    /// period, search Brightpearl; a hit is linked, no hit closes the intent.
    async fn check_unanswered_create(
        &mut self,
        order: &dsco::Order,
    ) -> Result<IntentCheck, FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let key = id.clone();
        let Some(intent) = self
            .store()
            .call(move |s| s.read(|tx| tx.intent(ORDER_KIND, &key)))
            .await?
        else {
            return Ok(IntentCheck::None);
        };
        let due = intent.last_attempt_at
            + chrono::Duration::from_std(self.grace).unwrap_or(chrono::Duration::seconds(60));
        if Utc::now() < due {
            let reason = format!(
                "an earlier create was not answered; Brightpearl is checked for it after {}",
                due.format("%H:%M:%S UTC")
            );
            let step = Step {
                kind: ORDER_KIND,
                outcome: Outcome::Pending(reason),
                detail: order_ref.ids(None),
                event: "create_waiting",
                state: Some(OrderState::Pending),
            };
            record_step(self.ctx, &order_ref, step).await?;
            return Ok(IntentCheck::Waiting);
        }
        let hits = match self
            .bp
            .search_orders_by_external_ref(Lane::Orders, &id)
            .await
        {
            Ok(rows) => lowest_with_external_ref(rows, &id),
            Err(e) => {
                let reason =
                    format!("could not check Brightpearl for an earlier unanswered create: {e}");
                let step = Step {
                    kind: ORDER_KIND,
                    outcome: Outcome::Retryable { reason },
                    detail: order_ref.ids(None),
                    event: "intent_search_failed",
                    state: None,
                };
                record_step(self.ctx, &order_ref, step).await?;
                return Ok(IntentCheck::Waiting);
            }
        };
        let key = id.clone();
        let Some(bp_order_id) = hits else {
            self.store()
                .call(move |s| s.write(|tx| tx.clear_intent(ORDER_KIND, &key).map(|_| ())))
                .await?;
            return Ok(IntentCheck::None);
        };
        let link = OrderLink::new(&id, bp_order_id);
        let for_tx = link.clone();
        let step = Step {
            kind: ORDER_KIND,
            // DSCO no longer wants this order acknowledged: linking it is the sync.
            outcome: Outcome::Synced,
            detail: order_ref.ids(Some(bp_order_id)),
            event: "found_after_unanswered_create",
            state: Some(OrderState::Imported),
        };
        record_step_with(self.ctx, &order_ref, step, move |tx| {
            order_link::save(tx, &for_tx)?;
            tx.clear_intent(ORDER_KIND, &key).map(|_| ())
        })
        .await?;
        Ok(IntentCheck::Linked(link))
    }

    /// A failed order whose next attempt is not due yet is left alone, even when the window's
    /// overlap brings it back: its backoff holds.
    async fn backing_off(&self, order: &dsco::Order) -> Result<bool, FlowError> {
        let id = dsco_id(order);
        let now = Utc::now();
        let record = self
            .store()
            .call(move |s| s.read(|tx| tx.record_for(FlowName::Orders, ORDER_KIND, &id)))
            .await?;
        Ok(record.is_some_and(|r| r.status == RecordStatus::Failed && !r.is_due(now)))
    }

    /// Skip an order, without rewriting a record that already says so.
    async fn skip_once(&self, order: &dsco::Order, reason: &str) -> Result<(), FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let existing = self
            .store()
            .call(move |s| s.read(|tx| tx.record_for(FlowName::Orders, ORDER_KIND, &id)))
            .await?;
        if existing.is_some_and(|r| r.status == RecordStatus::Skipped) {
            return Ok(());
        }
        record_step(
            self.ctx,
            &order_ref,
            Step {
                kind: ORDER_KIND,
                outcome: Outcome::Skipped(reason.to_owned()),
                detail: order_ref.ids(None),
                event: "skipped",
                state: Some(OrderState::Skipped),
            },
        )
        .await
    }

    async fn note_seen(&self, order: &dsco::Order) -> Result<(), FlowError> {
        let now = Utc::now();
        let items: Vec<DscoItem> = order
            .line_items
            .iter()
            .filter_map(|l| {
                let sku = l.sku.clone().filter(|s| !s.trim().is_empty())?;
                Some(DscoItem {
                    sku,
                    upc: l.upc.clone(),
                    ean: l.ean.clone(),
                    mpn: l.mpn.clone(),
                    dsco_item_id: l.dsco_item_id.as_ref().map(|i| i.0.clone()),
                    title: l.title.clone(),
                    seen_at: now,
                })
            })
            .collect();
        let retailer = order.dsco_retailer_id.clone();
        let name = order.dsco_trading_partner_name.clone();
        self.store()
            .call(move |s| {
                s.write(|tx| {
                    for item in &items {
                        tx.note_dsco_item(item)?;
                    }
                    if let Some(r) = retailer.as_deref().filter(|r| !r.trim().is_empty()) {
                        tx.note_retailer(r, name.as_deref())?;
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }

    async fn process_linked(
        &mut self,
        order: &dsco::Order,
        mut link: OrderLink,
        state: Lifecycle,
    ) -> Result<(), FlowError> {
        let order_ref = OrderRef::of(order);
        let bp_order_id = link.bp_order_id;
        if let Some(text) = link.pending_note.clone() {
            self.add_note(&order_ref, &text, &mut link).await?;
        }
        match state {
            Lifecycle::Cancelled if !link.cancelled => self.cancel(order, link).await,
            Lifecycle::Created => {
                // Linked but DSCO still shows it new: acknowledge again.
                self.to_acknowledge.push((order_ref, bp_order_id));
                Ok(())
            }
            _ if !link.acknowledged
                && order.supplier_order_number.as_deref()
                    == Some(bp_order_id.to_string().as_str()) =>
            {
                // DSCO shows our acknowledgement though its change log had not reported it.
                link.acknowledged = true;
                let step = Step {
                    kind: ORDER_KIND,
                    outcome: Outcome::Synced,
                    detail: order_ref.ids(Some(bp_order_id)),
                    event: "acknowledged",
                    state: Some(OrderState::Acknowledged),
                };
                record_step_with(self.ctx, &order_ref, step, move |tx| {
                    order_link::save(tx, &link)
                })
                .await
            }
            _ => Ok(()),
        }
    }

    /// Add the link's pending note to the Brightpearl order; once added, the link forgets it.
    async fn add_note(
        &self,
        order: &OrderRef,
        text: &str,
        link: &mut OrderLink,
    ) -> Result<(), FlowError> {
        let bp_order_id = link.bp_order_id;
        let note = OrderNote {
            text: text.to_owned(),
            is_public: Some(false),
            added_on: None,
        };
        match self
            .bp
            .add_order_note(Lane::Orders, brightpearl::OrderId(bp_order_id), &note)
            .await
        {
            Ok(_) => {
                link.pending_note = None;
                let link = link.clone();
                let id = order.dsco_order_id.clone();
                self.store()
                    .call(move |s| {
                        s.write(|tx| {
                            order_link::save(tx, &link)?;
                            if let Some(mut view) = order_view::load_in(tx, &id)? {
                                view.step("note_added", None, None);
                                order_view::save(tx, &view)?;
                            }
                            Ok(())
                        })
                    })
                    .await?;
            }
            Err(e) => {
                // The order exists; the note is retried on the next run that sees the order.
                tracing::warn!(flow = "orders", dsco_order_id = %order.dsco_order_id, bp_order_id, error = %e, "order note not added yet");
            }
        }
        Ok(())
    }

    /// An order another connector created and acknowledged: link it instead of creating it.
    async fn take_over(&mut self, order: &dsco::Order) -> Result<bool, FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let by_external_ref = match self
            .bp
            .search_orders_by_external_ref(Lane::Orders, &id)
            .await
        {
            Ok(rows) => lowest_with_external_ref(rows, &id),
            Err(e) => {
                let reason = format!(
                    "could not search Brightpearl for an order another connector created: {e}"
                );
                let step = Step {
                    kind: ORDER_KIND,
                    outcome: Outcome::Retryable { reason },
                    detail: order_ref.ids(None),
                    event: "take_over_search_failed",
                    state: None,
                };
                record_step(self.ctx, &order_ref, step).await?;
                return Ok(true);
            }
        };
        let supplier_number = order.supplier_order_number.clone().unwrap_or_default();
        let by_customer_ref = self
            .take_over_by_ref
            .get(&order.po_number)
            .and_then(|hits| {
                // A PO number can span several DSCO orders: prefer the order DSCO names, then an
                // exact externalRef, then a single hit.
                hits.iter()
                    .find(|(bp, _)| bp.to_string() == supplier_number)
                    .or_else(|| {
                        hits.iter()
                            .find(|(_, ext)| ext.as_deref() == Some(id.as_str()))
                    })
                    .or_else(|| {
                        // A single hit only when it names no other DSCO order.
                        (hits.len() == 1 && hits[0].1.as_deref().is_none_or(|ext| ext == id))
                            .then(|| &hits[0])
                    })
                    .map(|(bp, _)| *bp)
            });
        let Some(bp_order_id) = by_external_ref.or(by_customer_ref) else {
            return Ok(false);
        };
        let link = OrderLink {
            acknowledged: true,
            ..OrderLink::new(&id, bp_order_id)
        };
        record_step_with(
            self.ctx,
            &order_ref,
            Step {
                kind: ORDER_KIND,
                outcome: Outcome::Synced,
                detail: order_ref.ids(Some(bp_order_id)),
                event: "linked_existing",
                state: Some(OrderState::Acknowledged),
            },
            move |tx| order_link::save(tx, &link),
        )
        .await?;
        tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, "order already in Brightpearl (another connector): linked");
        Ok(true)
    }

    async fn import(&mut self, order: &dsco::Order) -> Result<(), FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let retailer = order.dsco_retailer_id.clone().unwrap_or_default();
        let defaults = self.settings.orders_for_retailer(&retailer);
        let prepared: Prepared = match sales_order::prepare(
            order,
            &Inputs {
                defaults: &defaults,
                matcher: &self.matcher,
                products: &self.products,
                shipping_methods: &self.shipping_methods,
                reference: self.reference.as_ref(),
            },
        ) {
            Ok(p) => p,
            Err(problems) => {
                tracing::info!(flow = "orders", dsco_order_id = %id, problems = problems.len(), "order needs attention");
                return record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Permanent {
                            reason: problems.join("; "),
                            code: None,
                        },
                        detail: order_ref.ids(None),
                        event: "needs_attention",
                        state: Some(OrderState::NeedsAttention),
                    },
                )
                .await;
            }
        };
        let mut resolver = Resolver {
            client: self.bp,
            store: &self.ctx.store,
            lock: &self.ctx.contacts,
            settings: &self.settings.customers,
            mapped: &self.customers,
            grace: self.grace,
            cache: std::mem::take(&mut self.contact_cache),
        };
        let customer = resolver.resolve(order).await;
        self.contact_cache = resolver.cache;
        let contact_id = match customer? {
            Customer::Contact(c) => c,
            Customer::NeedsAttention { reason, code } => {
                return record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Permanent { reason, code },
                        detail: order_ref.ids(None),
                        event: "needs_attention",
                        state: Some(OrderState::NeedsAttention),
                    },
                )
                .await;
            }
            Customer::Retry(reason) => {
                return record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Retryable { reason },
                        detail: order_ref.ids(None),
                        event: "customer_retry",
                        state: None,
                    },
                )
                .await;
            }
            Customer::Waiting(reason) => {
                return record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Pending(reason),
                        detail: order_ref.ids(None),
                        event: "customer_waiting",
                        state: Some(OrderState::Pending),
                    },
                )
                .await;
            }
        };
        let sales_order = prepared.with_customer(contact_id);
        let request = serde_json::to_string(&sales_order).ok();
        let bp = self.bp;
        let search_id = id.clone();
        let attempt = create_once(
            &self.ctx.store,
            ORDER_KIND,
            &id,
            self.grace,
            || async move {
                let rows = bp
                    .search_orders_by_external_ref(Lane::Orders, &search_id)
                    .await?;
                Ok(lowest_with_external_ref(rows, &search_id))
            },
            || async move {
                bp.create_sales_order(Lane::Orders, &sales_order)
                    .await
                    .map(|o| o.0)
            },
        )
        .await?;
        let detail = |bp_order_id: Option<u64>, response: Option<String>| RecordDetail {
            related: order_ref.related(bp_order_id),
            request: request.clone(),
            response,
        };
        match attempt {
            Attempt::Created(bp_order_id) | Attempt::Found(bp_order_id) => {
                let how = if matches!(attempt, Attempt::Created(_)) {
                    "created"
                } else {
                    "found_after_unanswered_create"
                };
                let mut link = OrderLink {
                    pending_note: prepared.note.clone(),
                    ..OrderLink::new(&id, bp_order_id)
                };
                let link_for_tx = link.clone();
                let intent_key = id.clone();
                record_step_with(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Pending(format!(
                            "imported as Brightpearl order {bp_order_id}; acknowledging on DSCO"
                        )),
                        detail: detail(
                            Some(bp_order_id),
                            Some(format!("{{\"response\":{bp_order_id}}}")),
                        ),
                        event: how,
                        state: Some(OrderState::Imported),
                    },
                    move |tx| {
                        order_link::save(tx, &link_for_tx)?;
                        tx.clear_intent(ORDER_KIND, &intent_key)?;
                        Ok(())
                    },
                )
                .await?;
                tracing::info!(flow = "orders", run_id = self.ctx.run_id.0, dsco_order_id = %id, bp_order_id, how, "order imported");
                if let Some(text) = &prepared.note {
                    self.add_note(&order_ref, text, &mut link).await?;
                }
                self.to_acknowledge.push((order_ref.clone(), bp_order_id));
                Ok(())
            }
            Attempt::Waiting(reason) => {
                record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Pending(reason),
                        detail: detail(None, None),
                        event: "create_waiting",
                        state: Some(OrderState::Pending),
                    },
                )
                .await
            }
            Attempt::Rejected { reason, code } => {
                record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Permanent { reason, code },
                        detail: detail(None, None),
                        event: "create_rejected",
                        state: Some(OrderState::NeedsAttention),
                    },
                )
                .await
            }
            Attempt::NotApplied(reason) | Attempt::Unknown(reason) => {
                tracing::warn!(flow = "orders", dsco_order_id = %id, reason = %reason, "order create to be retried");
                record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Retryable { reason },
                        detail: detail(None, None),
                        event: "create_retry",
                        state: Some(OrderState::Failed),
                    },
                )
                .await
            }
        }
    }

    /// Cancelled on DSCO after import: move the Brightpearl order to the configured status.
    async fn cancel(&mut self, order: &dsco::Order, mut link: OrderLink) -> Result<(), FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let bp_order_id = link.bp_order_id;
        let rel = order_ref.ids(Some(bp_order_id));
        let Some(status_id) = self.settings.cancellations.dsco_cancelled_status_id else {
            let reason = format!(
                "cancelled on DSCO, but cancellations.dsco_cancelled_status_id is not set, so Brightpearl order {bp_order_id} was not changed"
            );
            let step = Step {
                kind: CANCELLATION_KIND,
                outcome: Outcome::Permanent { reason, code: None },
                detail: rel,
                event: "cancel_not_configured",
                state: None,
            };
            return record_step(self.ctx, &order_ref, step).await;
        };
        let update = OrderStatusUpdate {
            order_status_id: brightpearl::OrderStatusId(u64::from(status_id)),
            order_note: Some(OrderNote {
                text: format!(
                    "Cancelled on DSCO (DSCO order {id}, PO {}).",
                    order.po_number
                ),
                is_public: Some(false),
                added_on: None,
            }),
        };
        let step = match self
            .bp
            .update_order_status(Lane::Orders, brightpearl::OrderId(bp_order_id), &update)
            .await
        {
            Ok(()) => {
                link.cancelled = true;
                tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, "order cancelled on DSCO: Brightpearl status changed");
                let step = Step {
                    kind: CANCELLATION_KIND,
                    outcome: Outcome::Synced,
                    detail: rel,
                    event: "cancelled",
                    state: Some(OrderState::Cancelled),
                };
                return record_step_with(self.ctx, &order_ref, step, move |tx| {
                    order_link::save(tx, &link)
                })
                .await;
            }
            Err(e) if e.is_retryable() => Step {
                kind: CANCELLATION_KIND,
                outcome: Outcome::Retryable {
                    reason: format!("changing the Brightpearl order status failed: {e}"),
                },
                detail: rel,
                event: "cancel_retry",
                state: None,
            },
            Err(e) => {
                let (reason, code) = describe_rejection(&e);
                Step {
                    kind: CANCELLATION_KIND,
                    outcome: Outcome::Permanent {
                        reason: format!(
                            "cancelled on DSCO, but Brightpearl order {bp_order_id} could not be cancelled: {reason}"
                        ),
                        code,
                    },
                    detail: rel,
                    event: "cancel_refused",
                    state: Some(OrderState::NeedsAttention),
                }
            }
        };
        record_step(self.ctx, &order_ref, step).await
    }

    /// Acknowledge imported orders on DSCO, in batches; an order counts as acknowledged only when
    /// the change log says success.
    async fn acknowledge(&mut self) -> Result<(), FlowError> {
        let mut seen = std::collections::HashSet::new();
        let pending: Vec<(OrderRef, u64)> = std::mem::take(&mut self.to_acknowledge)
            .into_iter()
            .filter(|(order, _)| seen.insert(order.dsco_order_id.clone()))
            .collect();
        for chunk in pending.chunks(ACK_BATCH) {
            let acks: Vec<Acknowledgement> = chunk
                .iter()
                .map(|(order, bp)| Acknowledgement {
                    id: order.dsco_order_id.clone(),
                    id_type: OrderIdType::DscoOrderId,
                    supplier_order_number: Some(bp.to_string()),
                })
                .collect();
            let result = self.dsco.acknowledge_orders(&acks).await;
            for (i, (order, bp_order_id)) in chunk.iter().enumerate() {
                let id = &order.dsco_order_id;
                let detail = RecordDetail {
                    related: order.related(Some(*bp_order_id)),
                    request: serde_json::to_string(&acks[i]).ok(),
                    response: None,
                };
                let outcome = result.as_ref().map(|batch| batch.outcomes.get(i));
                let step = match outcome {
                    Ok(Some(o)) if o.status == dsco::ObjectStatus::Success => {
                        let key = id.clone();
                        let step = Step {
                            kind: ORDER_KIND,
                            outcome: Outcome::Synced,
                            detail,
                            event: "acknowledged",
                            state: Some(OrderState::Acknowledged),
                        };
                        record_step_with(self.ctx, order, step, move |tx| {
                            if let Some(mut link) = order_link::find_in(tx, &key)? {
                                link.acknowledged = true;
                                order_link::save(tx, &link)?;
                            }
                            Ok(())
                        })
                        .await?;
                        tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id = *bp_order_id, "order acknowledged on DSCO");
                        continue;
                    }
                    Ok(Some(o)) if o.status == dsco::ObjectStatus::Failure => {
                        let text = o
                            .messages
                            .iter()
                            .map(|m| {
                                format!("{} {}", m.code, m.description_text())
                                    .trim()
                                    .to_owned()
                            })
                            .collect::<Vec<_>>()
                            .join("; ");
                        Step {
                            kind: ORDER_KIND,
                            outcome: Outcome::Permanent {
                                reason: format!("DSCO refused the acknowledgement: {text}"),
                                code: o.messages.first().map(|m| m.code.clone()),
                            },
                            detail,
                            event: "ack_rejected",
                            state: Some(OrderState::NeedsAttention),
                        }
                    }
                    Ok(_) => Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Pending(
                            "acknowledgement sent; DSCO has not reported its outcome yet".into(),
                        ),
                        detail,
                        event: "ack_sent",
                        state: None,
                    },
                    Err(e) => Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Retryable {
                            reason: format!("acknowledging on DSCO failed: {e}"),
                        },
                        detail,
                        event: "ack_retry",
                        state: None,
                    },
                };
                record_step(self.ctx, order, step).await?;
            }
        }
        Ok(())
    }
}
