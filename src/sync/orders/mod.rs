//! The `orders` flow, DSCO → Brightpearl, on its schedule and on demand: new DSCO purchase orders
//! become Brightpearl sales orders exactly once, then are acknowledged on DSCO; orders cancelled
//! on DSCO move their Brightpearl order to the configured status.
//!
//! A run: fetch the window `(cursor − overlap, now − 10 s]` by `ordersUpdatedSince`, following
//! `scrollId` to the empty page (an expired scroll restarts the same window); add orders whose
//! records are due for a retry and orders with an open create intent; decide per order; create
//! (exactly once, see `sync::exactly_once`); acknowledge in batches; commit the cursor once
//! every order of the window has a link or a record.

pub mod build;
pub mod customer;

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
use crate::store::{Link, Outcome, RecordDetail, RecordStatus, Store};
use crate::sync::exactly_once::{Attempt, create_once, describe_rejection};
use crate::sync::order_view::{self as view, OrderState, OrderView};
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

use build::{Inputs, Prepared};
use customer::{Customer, Resolver};

/// Link and intent kind for orders.
pub const ORDER_KIND: &str = "order";
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
    Linked(Link),
}

/// The link's flow-specific data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LinkData {
    /// A note still to be added to the Brightpearl order.
    #[serde(default)]
    pending_note: Option<String>,
    #[serde(default)]
    cancelled: bool,
    #[serde(default)]
    acknowledged: bool,
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

fn dsco_id(order: &dsco::Order) -> String {
    order
        .dsco_order_id
        .as_ref()
        .map(|i| i.0.clone())
        .unwrap_or_default()
}

/// The ids a record and a view need of an order.
#[derive(Debug, Clone, PartialEq)]
struct OrderRef {
    id: String,
    po_number: String,
    retailer: Option<String>,
}

/// Anything that names an order: a DSCO order, or the ids kept of one.
trait Names {
    fn order_ref(&self) -> OrderRef;
}

impl Names for dsco::Order {
    fn order_ref(&self) -> OrderRef {
        OrderRef {
            id: dsco_id(self),
            po_number: self.po_number.clone(),
            retailer: self.dsco_retailer_id.clone(),
        }
    }
}

impl Names for OrderRef {
    fn order_ref(&self) -> OrderRef {
        self.clone()
    }
}

/// The order's ids, and nothing else, as a record's detail.
fn ids(order: &impl Names, bp_order_id: Option<u64>) -> RecordDetail {
    RecordDetail {
        related: related(order, bp_order_id),
        ..Default::default()
    }
}

/// The lowest Brightpearl order id among search hits whose `externalRef` is this DSCO order's
/// (a hit without the column counts: Order search may leave it out, reference §4.5).
fn lowest_with_external_ref(
    rows: Vec<brightpearl::OrderSearchRow>,
    dsco_order_id: &str,
) -> Option<u64> {
    rows.into_iter()
        .filter(|r| r.external_ref.as_deref().is_none_or(|e| e == dsco_order_id))
        .map(|r| r.order_id.0)
        .min()
}

fn related(order: &impl Names, bp_order_id: Option<u64>) -> Vec<(String, String)> {
    let order = order.order_ref();
    let mut out = vec![("po_number".to_owned(), order.po_number)];
    if let Some(r) = order.retailer {
        out.push(("dsco_retailer_id".into(), r));
    }
    if let Some(bp) = bp_order_id {
        out.push(("bp_order_id".into(), bp.to_string()));
    }
    out
}

impl Run<'_> {
    /// Write the record, update the view (and anything `extra` writes) in one transaction.
    // Each argument is a distinct part of the one unit of work; bundling them would only rename them.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        order: &impl Names,
        kind: &str,
        outcome: Outcome,
        detail: RecordDetail,
        event: &str,
        state: Option<OrderState>,
        extra: impl FnOnce(&crate::store::WriteTx) -> Result<(), crate::store::Error> + Send + 'static,
    ) -> Result<(), FlowError> {
        let OrderRef {
            id,
            po_number: po,
            retailer,
        } = order.order_ref();
        let event = event.to_owned();
        let view_detail = match &outcome {
            Outcome::Synced => None,
            Outcome::Pending(r) | Outcome::Skipped(r) => Some(r.clone()),
            Outcome::Retryable { reason } | Outcome::Permanent { reason, .. } => {
                Some(reason.clone())
            }
        };
        let bp_order_id = detail
            .related
            .iter()
            .find(|(k, _)| k == "bp_order_id")
            .and_then(|(_, v)| v.parse::<u64>().ok());
        let kind_owned = kind.to_owned();
        self.ctx
            .record_with(kind, &id.clone(), outcome, detail, move |tx, record| {
                let mut view = view::load_in(tx, &id)?
                    .unwrap_or_else(|| OrderView::new(&id, &po, retailer.as_deref()));
                if bp_order_id.is_some() {
                    view.bp_order_id = bp_order_id;
                }
                let state = state.or(match record.status {
                    RecordStatus::NeedsAttention => Some(OrderState::NeedsAttention),
                    RecordStatus::Failed
                        if kind_owned == ORDER_KIND && view.bp_order_id.is_none() =>
                    {
                        Some(OrderState::Failed)
                    }
                    _ => None,
                });
                view.step(&event, view_detail, state);
                view::save(tx, &view)?;
                extra(tx)
            })
            .await?;
        Ok(())
    }

    async fn process(&mut self, order: &dsco::Order) -> Result<(), FlowError> {
        let id = dsco_id(order);
        self.note_seen(order).await?;
        let state = order.lifecycle();
        let key = id.clone();
        let link = self
            .store()
            .call(move |s| s.read(|tx| tx.link(ORDER_KIND, &key)))
            .await?;
        if let Some(link) = link {
            return self.process_linked(order, link, state).await;
        }
        if !matches!(state, Lifecycle::Created | Lifecycle::Acknowledged) {
            // A create whose answer was lost may have made the order before DSCO moved on (say,
            // the retailer cancelled): settle the open intent first, so that order is linked and
            // follows DSCO instead of being left unlinked in Brightpearl.
            match self.settle_open_intent(order).await? {
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

    /// Settle an open create intent of an order DSCO no longer wants imported: after the grace
    /// period, search Brightpearl; a hit is linked, no hit closes the intent.
    async fn settle_open_intent(&mut self, order: &dsco::Order) -> Result<IntentCheck, FlowError> {
        let id = dsco_id(order);
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
            self.settle(
                order,
                ORDER_KIND,
                Outcome::Pending(format!(
                    "an earlier create was not answered; Brightpearl is checked for it after {}",
                    due.format("%H:%M:%S UTC")
                )),
                ids(order, None),
                "create_waiting",
                Some(OrderState::Pending),
                |_| Ok(()),
            )
            .await?;
            return Ok(IntentCheck::Waiting);
        }
        let hits = match self
            .bp
            .search_orders_by_external_ref(Lane::Orders, &id)
            .await
        {
            Ok(rows) => lowest_with_external_ref(rows, &id),
            Err(e) => {
                self.settle(
                    order,
                    ORDER_KIND,
                    Outcome::Retryable {
                        reason: format!(
                            "could not check Brightpearl for an earlier unanswered create: {e}"
                        ),
                    },
                    ids(order, None),
                    "intent_search_failed",
                    None,
                    |_| Ok(()),
                )
                .await?;
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
        let link = Link {
            dsco_id: id.clone(),
            bp_id: bp_order_id.to_string(),
            linked_at: Utc::now(),
            data: serde_json::to_value(LinkData::default()).unwrap_or_default(),
        };
        let for_tx = link.clone();
        self.settle(
            order,
            ORDER_KIND,
            // DSCO no longer wants this order acknowledged: linking it is the sync.
            Outcome::Synced,
            ids(order, Some(bp_order_id)),
            "found_after_unanswered_create",
            Some(OrderState::Imported),
            move |tx| {
                tx.put_link(ORDER_KIND, &for_tx)?;
                tx.clear_intent(ORDER_KIND, &key).map(|_| ())
            },
        )
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
        let id = dsco_id(order);
        let existing = self
            .store()
            .call(move |s| s.read(|tx| tx.record_for(FlowName::Orders, ORDER_KIND, &id)))
            .await?;
        if existing.is_some_and(|r| r.status == RecordStatus::Skipped) {
            return Ok(());
        }
        self.settle(
            order,
            ORDER_KIND,
            Outcome::Skipped(reason.to_owned()),
            ids(order, None),
            "skipped",
            Some(OrderState::Skipped),
            |_| Ok(()),
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
        link: Link,
        state: Lifecycle,
    ) -> Result<(), FlowError> {
        let mut data: LinkData = serde_json::from_value(link.data.clone()).unwrap_or_default();
        let Ok(bp_order_id) = link.bp_id.parse::<u64>() else {
            return Ok(());
        };
        if let Some(text) = data.pending_note.clone() {
            self.add_note(order, bp_order_id, &text, &mut data, &link)
                .await?;
        }
        match state {
            Lifecycle::Cancelled if !data.cancelled => {
                self.cancel(order, bp_order_id, link, data).await
            }
            Lifecycle::Created => {
                // Linked but DSCO still shows it new: acknowledge again.
                self.to_acknowledge.push((order.order_ref(), bp_order_id));
                Ok(())
            }
            _ if !data.acknowledged
                && order.supplier_order_number.as_deref() == Some(link.bp_id.as_str()) =>
            {
                // DSCO shows our acknowledgement though its change log had not reported it.
                data.acknowledged = true;
                let mut link = link;
                link.data = serde_json::to_value(&data).unwrap_or_default();
                self.settle(
                    order,
                    ORDER_KIND,
                    Outcome::Synced,
                    ids(order, Some(bp_order_id)),
                    "acknowledged",
                    Some(OrderState::Acknowledged),
                    move |tx| tx.put_link(ORDER_KIND, &link),
                )
                .await
            }
            _ => Ok(()),
        }
    }

    async fn add_note(
        &self,
        order: &dsco::Order,
        bp_order_id: u64,
        text: &str,
        data: &mut LinkData,
        link: &Link,
    ) -> Result<(), FlowError> {
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
                data.pending_note = None;
                let mut link = link.clone();
                link.data = serde_json::to_value(&*data).unwrap_or_default();
                let id = dsco_id(order);
                self.store()
                    .call(move |s| {
                        s.write(|tx| {
                            tx.put_link(ORDER_KIND, &link)?;
                            if let Some(mut view) = view::load_in(tx, &id)? {
                                view.step("note_added", None, None);
                                view::save(tx, &view)?;
                            }
                            Ok(())
                        })
                    })
                    .await?;
            }
            Err(e) => {
                // The order exists; the note is retried on the next run that sees the order.
                tracing::warn!(flow = "orders", dsco_order_id = %dsco_id(order), bp_order_id, error = %e, "order note not added yet");
            }
        }
        Ok(())
    }

    /// An order another connector created and acknowledged: link it instead of creating it.
    async fn take_over(&mut self, order: &dsco::Order) -> Result<bool, FlowError> {
        let id = dsco_id(order);
        let by_external_ref = match self
            .bp
            .search_orders_by_external_ref(Lane::Orders, &id)
            .await
        {
            Ok(rows) => lowest_with_external_ref(rows, &id),
            Err(e) => {
                self.settle(
                    order,
                    ORDER_KIND,
                    Outcome::Retryable {
                        reason: format!("could not search Brightpearl for an order another connector created: {e}"),
                    },
                    ids(order, None),
                    "take_over_search_failed",
                    None,
                    |_| Ok(()),
                )
                .await?;
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
        let link = Link {
            dsco_id: id.clone(),
            bp_id: bp_order_id.to_string(),
            linked_at: Utc::now(),
            data: serde_json::to_value(LinkData {
                acknowledged: true,
                ..Default::default()
            })
            .unwrap_or_default(),
        };
        self.settle(
            order,
            ORDER_KIND,
            Outcome::Synced,
            ids(order, Some(bp_order_id)),
            "linked_existing",
            Some(OrderState::Acknowledged),
            move |tx| tx.put_link(ORDER_KIND, &link),
        )
        .await?;
        tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, "order already in Brightpearl (another connector): linked");
        Ok(true)
    }

    async fn import(&mut self, order: &dsco::Order) -> Result<(), FlowError> {
        let id = dsco_id(order);
        let retailer = order.dsco_retailer_id.clone().unwrap_or_default();
        let defaults = self.settings.orders_for_retailer(&retailer);
        let prepared: Prepared = match build::prepare(
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
                return self
                    .settle(
                        order,
                        ORDER_KIND,
                        Outcome::Permanent {
                            reason: problems.join("; "),
                            code: None,
                        },
                        ids(order, None),
                        "needs_attention",
                        Some(OrderState::NeedsAttention),
                        |_| Ok(()),
                    )
                    .await;
            }
        };
        let mut resolver = Resolver {
            client: self.bp,
            store: &self.ctx.store,
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
                return self
                    .settle(
                        order,
                        ORDER_KIND,
                        Outcome::Permanent { reason, code },
                        ids(order, None),
                        "needs_attention",
                        Some(OrderState::NeedsAttention),
                        |_| Ok(()),
                    )
                    .await;
            }
            Customer::Retry(reason) => {
                return self
                    .settle(
                        order,
                        ORDER_KIND,
                        Outcome::Retryable { reason },
                        ids(order, None),
                        "customer_retry",
                        None,
                        |_| Ok(()),
                    )
                    .await;
            }
            Customer::Waiting(reason) => {
                return self
                    .settle(
                        order,
                        ORDER_KIND,
                        Outcome::Pending(reason),
                        ids(order, None),
                        "customer_waiting",
                        Some(OrderState::Pending),
                        |_| Ok(()),
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
            related: related(order, bp_order_id),
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
                let data = LinkData {
                    pending_note: prepared.note.clone(),
                    ..Default::default()
                };
                let link = Link {
                    dsco_id: id.clone(),
                    bp_id: bp_order_id.to_string(),
                    linked_at: Utc::now(),
                    data: serde_json::to_value(&data).unwrap_or_default(),
                };
                let link_for_tx = link.clone();
                let intent_key = id.clone();
                self.settle(
                    order,
                    ORDER_KIND,
                    Outcome::Pending(format!(
                        "imported as Brightpearl order {bp_order_id}; acknowledging on DSCO"
                    )),
                    detail(
                        Some(bp_order_id),
                        Some(format!("{{\"response\":{bp_order_id}}}")),
                    ),
                    how,
                    Some(OrderState::Imported),
                    move |tx| {
                        tx.put_link(ORDER_KIND, &link_for_tx)?;
                        tx.clear_intent(ORDER_KIND, &intent_key)?;
                        Ok(())
                    },
                )
                .await?;
                tracing::info!(flow = "orders", run_id = self.ctx.run_id.0, dsco_order_id = %id, bp_order_id, how, "order imported");
                if let Some(text) = &prepared.note {
                    let mut data = data;
                    self.add_note(order, bp_order_id, text, &mut data, &link)
                        .await?;
                }
                self.to_acknowledge.push((order.order_ref(), bp_order_id));
                Ok(())
            }
            Attempt::Waiting(reason) => {
                self.settle(
                    order,
                    ORDER_KIND,
                    Outcome::Pending(reason),
                    detail(None, None),
                    "create_waiting",
                    Some(OrderState::Pending),
                    |_| Ok(()),
                )
                .await
            }
            Attempt::Rejected { reason, code } => {
                self.settle(
                    order,
                    ORDER_KIND,
                    Outcome::Permanent { reason, code },
                    detail(None, None),
                    "create_rejected",
                    Some(OrderState::NeedsAttention),
                    |_| Ok(()),
                )
                .await
            }
            Attempt::NotApplied(reason) | Attempt::Unknown(reason) => {
                tracing::warn!(flow = "orders", dsco_order_id = %id, reason = %reason, "order create to be retried");
                self.settle(
                    order,
                    ORDER_KIND,
                    Outcome::Retryable { reason },
                    detail(None, None),
                    "create_retry",
                    Some(OrderState::Failed),
                    |_| Ok(()),
                )
                .await
            }
        }
    }

    /// Cancelled on DSCO after import: move the Brightpearl order to the configured status.
    async fn cancel(
        &mut self,
        order: &dsco::Order,
        bp_order_id: u64,
        mut link: Link,
        mut data: LinkData,
    ) -> Result<(), FlowError> {
        let id = dsco_id(order);
        let rel = ids(order, Some(bp_order_id));
        let Some(status_id) = self.settings.cancellations.dsco_cancelled_status_id else {
            return self
                .settle(
                    order,
                    CANCELLATION_KIND,
                    Outcome::Permanent {
                        reason: format!("cancelled on DSCO, but cancellations.dsco_cancelled_status_id is not set, so Brightpearl order {bp_order_id} was not changed"),
                        code: None,
                    },
                    rel,
                    "cancel_not_configured",
                    None,
                    |_| Ok(()),
                )
                .await;
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
        match self
            .bp
            .update_order_status(Lane::Orders, brightpearl::OrderId(bp_order_id), &update)
            .await
        {
            Ok(()) => {
                data.cancelled = true;
                link.data = serde_json::to_value(&data).unwrap_or_default();
                tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, "order cancelled on DSCO: Brightpearl status changed");
                self.settle(
                    order,
                    CANCELLATION_KIND,
                    Outcome::Synced,
                    rel,
                    "cancelled",
                    Some(OrderState::Cancelled),
                    move |tx| tx.put_link(ORDER_KIND, &link),
                )
                .await
            }
            Err(e) if e.is_retryable() => {
                self.settle(
                    order,
                    CANCELLATION_KIND,
                    Outcome::Retryable {
                        reason: format!("changing the Brightpearl order status failed: {e}"),
                    },
                    rel,
                    "cancel_retry",
                    None,
                    |_| Ok(()),
                )
                .await
            }
            Err(e) => {
                let (reason, code) = describe_rejection(&e);
                self.settle(
                    order,
                    CANCELLATION_KIND,
                    Outcome::Permanent {
                        reason: format!("cancelled on DSCO, but Brightpearl order {bp_order_id} could not be cancelled: {reason}"),
                        code,
                    },
                    rel,
                    "cancel_refused",
                    Some(OrderState::NeedsAttention),
                    |_| Ok(()),
                )
                .await
            }
        }
    }

    /// Acknowledge imported orders on DSCO, in batches; an order counts as acknowledged only when
    /// the change log says success.
    async fn acknowledge(&mut self) -> Result<(), FlowError> {
        let mut seen = std::collections::HashSet::new();
        let pending: Vec<(OrderRef, u64)> = std::mem::take(&mut self.to_acknowledge)
            .into_iter()
            .filter(|(order, _)| seen.insert(order.id.clone()))
            .collect();
        for chunk in pending.chunks(ACK_BATCH) {
            let acks: Vec<Acknowledgement> = chunk
                .iter()
                .map(|(order, bp)| Acknowledgement {
                    id: order.id.clone(),
                    id_type: OrderIdType::DscoOrderId,
                    supplier_order_number: Some(bp.to_string()),
                })
                .collect();
            let result = self.dsco.acknowledge_orders(&acks).await;
            for (i, (order, bp_order_id)) in chunk.iter().enumerate() {
                let id = &order.id;
                let rel = RecordDetail {
                    related: related(order, Some(*bp_order_id)),
                    request: serde_json::to_string(&acks[i]).ok(),
                    response: None,
                };
                match &result {
                    Ok(batch) => {
                        let outcome = batch.outcomes.get(i);
                        match outcome.map(|o| o.status) {
                            Some(dsco::ObjectStatus::Success) => {
                                let key = id.clone();
                                self.settle(
                                    order,
                                    ORDER_KIND,
                                    Outcome::Synced,
                                    rel,
                                    "acknowledged",
                                    Some(OrderState::Acknowledged),
                                    move |tx| {
                                        if let Some(mut link) = tx.link(ORDER_KIND, &key)? {
                                            let mut data: LinkData =
                                                serde_json::from_value(link.data.clone())
                                                    .unwrap_or_default();
                                            data.acknowledged = true;
                                            link.data =
                                                serde_json::to_value(&data).unwrap_or_default();
                                            tx.put_link(ORDER_KIND, &link)?;
                                        }
                                        Ok(())
                                    },
                                )
                                .await?;
                                tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id = *bp_order_id, "order acknowledged on DSCO");
                            }
                            Some(dsco::ObjectStatus::Failure) => {
                                let messages =
                                    outcome.map(|o| o.messages.clone()).unwrap_or_default();
                                let text = messages
                                    .iter()
                                    .map(|m| {
                                        format!("{} {}", m.code, m.description_text())
                                            .trim()
                                            .to_owned()
                                    })
                                    .collect::<Vec<_>>()
                                    .join("; ");
                                self.settle(
                                    order,
                                    ORDER_KIND,
                                    Outcome::Permanent {
                                        reason: format!("DSCO refused the acknowledgement: {text}"),
                                        code: messages.first().map(|m| m.code.clone()),
                                    },
                                    rel,
                                    "ack_rejected",
                                    Some(OrderState::NeedsAttention),
                                    |_| Ok(()),
                                )
                                .await?;
                            }
                            _ => {
                                self.settle(
                                    order,
                                    ORDER_KIND,
                                    Outcome::Pending("acknowledgement sent; DSCO has not reported its outcome yet".into()),
                                    rel,
                                    "ack_sent",
                                    None,
                                    |_| Ok(()),
                                )
                                .await?;
                            }
                        }
                    }
                    Err(e) => {
                        self.settle(
                            order,
                            ORDER_KIND,
                            Outcome::Retryable {
                                reason: format!("acknowledging on DSCO failed: {e}"),
                            },
                            rel,
                            "ack_retry",
                            None,
                            |_| Ok(()),
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }
}
