//! The `orders` flow, DSCO → Brightpearl, on its schedule and on demand: new DSCO purchase orders
//! become Brightpearl sales orders exactly once, then are acknowledged on DSCO; orders cancelled
//! on DSCO move their Brightpearl order to the configured status; a retailer's cancel request
//! is noted on the Brightpearl order once.
//!
//! A run: fetch the window `(cursor − overlap, now − 10 s]` by `ordersUpdatedSince`, following
//! `scrollId` to the empty page (an expired scroll restarts the same window); add orders whose
//! records are due for a retry and orders with an open create intent; decide per order; create
//! (exactly once, see `sync::exactly_once`); acknowledge in batches; commit the cursor once
//! every order of the window has a link or a record.
//!
//! By stage: `window` (which orders a run looks at), `decide` (what to do with each), `import`
//! (take over or create), `cancel`, `cancel_request`, `acknowledge`; `sales_order` is the pure
//! mapping.

mod acknowledge;
mod cancel;
pub mod cancel_request;
mod decide;
mod import;
pub mod sales_order;
mod settle;
mod window;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::brightpearl;
use crate::dsco;
use crate::flow_name::FlowName;
use crate::mapping::customers::CustomerMap;
use crate::mapping::items::ItemMatcher;
use crate::mapping::shipping_methods::ShippingMethodMap;
use crate::reference::{CatalogProduct, ReferenceData};
use crate::settings::Settings;
use crate::store::Store;
use crate::sync::order_link::OrderRef;
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

/// Record kind for cancellations seen on DSCO.
pub const CANCELLATION_KIND: &str = "cancellation";
const CURSOR: &str = "orders.window";
/// DSCO refuses an `until` younger than 5 s (dsco-api.md §2.2); we keep 10 s.
const UNTIL_LAG: chrono::Duration = chrono::Duration::seconds(10);

/// The window cursor.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    until: DateTime<Utc>,
}

/// The orders flow; its run gets the connected clients from the flow context.
pub struct OrdersFlow;

impl OrdersFlow {
    pub fn new() -> Arc<OrdersFlow> {
        Arc::new(OrdersFlow)
    }
}

impl Flow for OrdersFlow {
    fn name(&self) -> FlowName {
        FlowName::Orders
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            let bp = ctx.brightpearl()?;
            let dsco = ctx.dsco()?;
            let mut run = Run::load(ctx, &bp, &dsco, ctx.brightpearl_create_grace()?).await?;
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
    products: HashMap<u32, CatalogProduct>,
    shipping_methods: ShippingMethodMap,
    reference: Option<ReferenceData>,
    customers: CustomerMap,
    grace: std::time::Duration,
    contact_cache: HashMap<String, u64>,
    /// (DSCO order id, Brightpearl order id) to acknowledge at the end of the run.
    to_acknowledge: Vec<(OrderRef, u64)>,
    /// Brightpearl sales orders by customer ref, for taking over another connector's orders.
    take_over_by_ref: HashMap<String, Vec<(u64, Option<String>)>>,
    /// Open create intents the run's bulk search settled (see `settle`): DSCO order id → the
    /// Brightpearl order an earlier create made, or none.
    settled: HashMap<String, Option<u64>>,
    /// Open create intents of this run's orders not settled yet: DSCO order id → (customerRef,
    /// intent).
    unsettled: BTreeMap<String, (String, crate::store::Intent)>,
    /// Source ids of cancel requests with a due record or an open intent (see `cancel_request`).
    cancel_requests_due: BTreeSet<String>,
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
            settled: HashMap::new(),
            unsettled: BTreeMap::new(),
            cancel_requests_due: BTreeSet::new(),
            notes: Vec::new(),
        })
    }

    fn store(&self) -> &Store {
        &self.ctx.store
    }

    async fn execute(&mut self) -> Result<RunReport, FlowError> {
        let now = self.ctx.now();
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
        self.settle_open_intents(&orders).await?;
        self.settle_acks().await?;
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
}
