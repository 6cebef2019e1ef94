//! The `inventory` flow, Brightpearl → DSCO: per published item and DSCO warehouse code the
//! quantity of `quantity` (pure), sent only where it differs from what DSCO last confirmed, through
//! `sync::dsco_once`, and confirmed only by DSCO's inventory log.
//!
//! Modes: `delta` (the products whose stock may have changed: stock webhooks, the change queue
//! the orders and shipments flows fill, items not confirmed yet), `full` (every published
//! product), `reconcile` (every item sent whatever is stored, with a report). A run reads
//! availability (`read`), works out each item's quantity, and sends (`publish`).

pub mod items;
pub mod publish;
pub mod quantity;
mod read;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::brightpearl;
use crate::dsco;
use crate::flow_name::FlowName;
use crate::mapping::MappingKind;
use crate::mapping::inventory_buffers::InventoryBufferMap;
use crate::mapping::items::{ItemMapping, ItemMatcher};
use crate::mapping::warehouses::WarehouseMap;
use crate::reference::CatalogProduct;
use crate::settings::{Settings, SharedProduct, UntrackedPolicy};
use crate::store::{
    CodeDetail, InboxEntry, InventoryItem, Kind, Outcome, PendingUnits, RecordDetail,
};
use crate::sync::webhooks::ON_HAND_EVENT;
use crate::sync::{Flow, FlowCtx, FlowError, RunReport};

use quantity::{Codes, Stock, Untracked};

/// Record and intent kind of inventory.
pub const INVENTORY_KIND: &str = "inventory";
/// When each mode last ran to the end (for `/v1/status`).
pub const LAST_RUNS: &str = "inventory.last_runs";
/// Set once the flow has published with `inventory.enabled` on: turning it on starts with a
/// reconcile (the settings route clears it when `enabled` goes from false to true).
pub const ENABLED_SEEN: &str = "inventory.enabled_seen";
/// Products Brightpearl refused availability for, left out until the next reference run.
const REFUSED: &str = "inventory.refused";
/// The orders flow's window cursor (`{"until": ...}`): how far it has seen DSCO's orders.
const ORDERS_WINDOW: &str = "orders.window";
/// How far behind its start an orders window ends, and a second more.
/// The fingerprint of the settings and mappings the last finished run published with.
const INPUTS: &str = "inventory.inputs";

/// A fingerprint of everything but Brightpearl's stock that the published quantities depend
/// on: the `inventory` and `items` settings (not `enabled`), the warehouses mapping and the
/// per-item buffers.
fn inputs_fingerprint(settings: &Settings, codes: &Codes, buffers: &InventoryBufferMap) -> String {
    let mut inventory = settings.inventory.clone();
    inventory.enabled = true;
    crate::sync::dsco_once::hash(&(&inventory, &settings.items, codes, buffers.sorted()))
}

/// Why DSCO dropped an item (`ITEM_SKIPPED` under `skipItemsThatDontExist`).
pub(crate) const NOT_ON_DSCO: &str = "SKU not on DSCO";

/// An item DSCO dropped as unknown: only a reconcile sends it again. (An item `skipped` because
/// a setting holds it, `inventory.untracked = "skip"`, is worked out again by every full read.)
fn dropped_by_dsco(item: &InventoryItem) -> bool {
    item.state == "skipped" && item.reason.as_deref() == Some(NOT_ON_DSCO)
}

/// The `rule` of an item no rule publishes any more.
pub(crate) const RETIRED_RULE: &str = "none";
/// Its `reason` once DSCO confirmed the 0.
pub(crate) const RETIRED_REASON: &str = "no longer published (item mapping removed, product deleted or without a match value): 0 sent to DSCO";
const ORDERS_UNTIL_LAG: chrono::Duration = chrono::Duration::seconds(11);

/// When each mode last finished.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LastRuns {
    pub delta: Option<DateTime<Utc>>,
    pub full: Option<DateTime<Utc>>,
    pub reconcile: Option<DateTime<Utc>>,
}

/// The inventory flow.
pub struct InventoryFlow;

impl InventoryFlow {
    pub fn new() -> Arc<InventoryFlow> {
        Arc::new(InventoryFlow)
    }
}

impl Flow for InventoryFlow {
    fn name(&self) -> FlowName {
        FlowName::Inventory
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            let settings = ctx.store.call(|s| s.read(Settings::load)).await?;
            if !settings.inventory.enabled {
                // Turned on again later, it starts with a reconcile.
                ctx.store
                    .call(|s| s.write(|tx| tx.set_cursor(ENABLED_SEEN, &false)))
                    .await?;
                return Ok(RunReport {
                    counts: ctx.counts(),
                    note: Some("inventory.enabled is false: nothing read or sent".into()),
                });
            }
            let bp = ctx.brightpearl()?;
            let dsco = ctx.dsco()?;
            let grace = ctx.dsco_settle_grace()?;
            let mut run = Run::load(ctx, &bp, &dsco, grace, settings).await?;
            run.execute().await
        })
    }
}

/// Which products a run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Delta,
    Full,
    Reconcile,
}

/// One run's working set.
struct Run<'a> {
    ctx: &'a FlowCtx,
    bp: &'a brightpearl::Client,
    dsco: &'a dsco::Client,
    grace: std::time::Duration,
    settings: Settings,
    scope: Scope,
    published: BTreeMap<String, items::Published>,
    /// Each catalog product's stock kind (the catalog itself is not kept: at 100,000 products
    /// its names, codes and prices are most of a run's memory).
    stocks: BTreeMap<u32, Stock>,
    /// The stored catalog has products (a reference run has read it).
    catalog_known: bool,
    codes: Codes,
    buffers: InventoryBufferMap,
    /// Products Brightpearl refused availability for, since the last reference run.
    refused: BTreeMap<u32, DateTime<Utc>>,
    stored: BTreeMap<String, InventoryItem>,
    pending: Vec<PendingUnits>,
    changes: Vec<String>,
    inbox: Vec<InboxEntry>,
    notes: Vec<String>,
    /// What the quantities depend on besides Brightpearl's stock ([`inputs_fingerprint`]).
    inputs: String,
    /// Reconcile report rows.
    report: Vec<publish::ReportRow>,
    /// Items not published this run, with why (a bundle before the next reference run, an
    /// untracked product with `inventory.untracked = "skip"`).
    held: BTreeMap<String, String>,
}

impl<'a> Run<'a> {
    async fn load(
        ctx: &'a FlowCtx,
        bp: &'a brightpearl::Client,
        dsco: &'a dsco::Client,
        grace: std::time::Duration,
        settings: Settings,
    ) -> Result<Run<'a>, FlowError> {
        let items_settings = settings.items.clone();
        let first_gets_all = settings.inventory.shared_product == SharedProduct::First;
        #[allow(clippy::type_complexity)]
        let (
            published,
            stocks,
            codes,
            buffers,
            stored,
            pending,
            changes,
            inbox,
            seen_before,
            inputs_before,
            refused,
        ) = ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let catalog = tx.catalog()?;
                    let manual: Vec<ItemMapping> = tx
                        .mappings::<ItemMapping>(MappingKind::Items.as_str())?
                        .into_iter()
                        .map(|(_, m)| m)
                        .collect();
                    // From the catalog already read (loading the matcher would read it again:
                    // two catalogs at once at 100,000 products).
                    let matcher = ItemMatcher::new(&catalog, &manual, &items_settings);
                    let seen = tx.dsco_items()?;
                    let stored: BTreeMap<String, InventoryItem> = tx
                        .inventory_items()?
                        .into_iter()
                        .map(|i| (i.sku.to_lowercase(), i))
                        .collect();
                    let skipped: BTreeSet<String> = stored
                        .iter()
                        .filter(|(_, i)| dropped_by_dsco(i))
                        .map(|(k, _)| k.clone())
                        .collect();
                    let published = items::published(
                        &manual,
                        &catalog,
                        &seen,
                        &items_settings,
                        &matcher,
                        first_gets_all,
                        &skipped,
                    );
                    let warehouses = WarehouseMap::load(tx)?;
                    let codes: Codes = warehouses
                        .dsco_codes()
                        .map(|(code, ids)| (code.to_owned(), ids.to_vec()))
                        .collect();
                    let seen_before = tx.cursor::<bool>(ENABLED_SEEN)?.unwrap_or(false);
                    let inputs_before = tx.cursor::<String>(INPUTS)?;
                    // A reference run since a refusal may have fixed the catalog: try again.
                    let reference_at = tx.last_run(FlowName::Reference)?.and_then(|r| {
                        r.finished_at
                            .filter(|_| r.status == crate::store::RunStatus::Succeeded)
                    });
                    let refused: BTreeMap<u32, DateTime<Utc>> = tx
                        .cursor::<BTreeMap<u32, DateTime<Utc>>>(REFUSED)?
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|(_, at)| reference_at.is_none_or(|r| r < *at))
                        .collect();
                    Ok((
                        published,
                        catalog
                            .iter()
                            .map(|p| (p.id, catalog_stock(p)))
                            .collect::<BTreeMap<u32, Stock>>(),
                        codes,
                        InventoryBufferMap::load(tx)?,
                        stored,
                        tx.pending_units()?,
                        tx.stock_changes()?,
                        tx.inbox(FlowName::Inventory, 10_000)?,
                        seen_before,
                        inputs_before,
                        refused,
                    ))
                })
            })
            .await?;
        let inputs = inputs_fingerprint(&settings, &codes, &buffers);
        let mut notes = Vec::new();
        let scope = if !seen_before {
            Scope::Reconcile
        } else {
            match ctx.mode.as_str() {
                "full" => Scope::Full,
                "reconcile" => Scope::Reconcile,
                // A delta reads only what changed in Brightpearl; a changed buffer, cap,
                // untracked rule or warehouses mapping changes every item.
                _ if inputs_before.as_deref() != Some(inputs.as_str()) => {
                    notes.push(
                        "a full read instead of a delta: inventory settings or mappings changed"
                            .to_owned(),
                    );
                    Scope::Full
                }
                _ => Scope::Delta,
            }
        };
        Ok(Run {
            ctx,
            bp,
            dsco,
            grace,
            settings,
            scope,
            published,
            catalog_known: !stocks.is_empty(),
            stocks,
            codes,
            buffers,
            refused,
            stored,
            pending,
            changes,
            inbox,
            notes,
            inputs,
            report: Vec::new(),
            held: BTreeMap::new(),
        })
    }

    async fn execute(&mut self) -> Result<RunReport, FlowError> {
        if self.codes.is_empty() {
            return Err(FlowError::Other(
                "no warehouses mapping: map Brightpearl warehouses to DSCO warehouse codes first"
                    .into(),
            ));
        }
        self.settle_open().await?;
        let products = self.products_to_read();
        self.notes.push(format!(
            "{}: {} products read, {} items published",
            match self.scope {
                Scope::Delta => "delta",
                Scope::Full => "full",
                Scope::Reconcile => "reconcile",
            },
            products.len(),
            self.published.len()
        ));
        let read_started = self.ctx.now();
        let read = read::availability(self.bp, &products)
            .await
            .map_err(|e| FlowError::brightpearl("reading product availability", e))?;
        if !read.refused.is_empty() {
            let now = self.ctx.now();
            let mut refused = self.refused.clone();
            for (product, _) in &read.refused {
                refused.insert(*product, now);
            }
            self.ctx
                .store
                .call(move |s| s.write(|tx| tx.set_cursor(REFUSED, &refused)))
                .await?;
        }
        for (product, reason) in &read.refused {
            let reason =
                format!("Brightpearl refused availability for product {product}: {reason}");
            self.ctx
                .record(
                    INVENTORY_KIND,
                    &format!("product:{product}"),
                    Outcome::Permanent { reason, code: None },
                    RecordDetail::default(),
                )
                .await?;
        }
        // Nothing to send: no orders run is needed to publish nothing.
        let wanted = self.compute(&products, &read);
        if self.scope == Scope::Reconcile || self.any_differs(&wanted) {
            self.orders_guard(read_started).await?;
        }
        // The orders the guard's orders run saw hold units too: deduct with what is known now.
        self.pending = self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.pending_units()))
            .await?;
        let wanted = self.compute(&products, &read);
        self.record_held().await?;
        self.send(wanted, read_started).await?;
        self.finish(read_started).await?;
        Ok(RunReport {
            counts: self.ctx.counts(),
            note: Some(self.notes.join("; ")),
        })
    }

    /// The products this run reads.
    fn products_to_read(&self) -> Vec<u32> {
        let refused: BTreeSet<u32> = self.refused.keys().copied().collect();
        let of_item = |p: &items::Published| {
            let mut out = vec![p.product_id];
            if let Some(Stock::Bundle(components)) = Some(self.stock(p.product_id)) {
                out.extend(components.iter().map(|(c, _)| *c));
            }
            out
        };
        let all = || {
            self.published
                .values()
                .filter(|p| self.scope == Scope::Reconcile || !self.is_skipped(&p.sku))
                .flat_map(of_item)
                .filter(|p| !refused.contains(p))
                .collect::<Vec<u32>>()
        };
        match self.scope {
            Scope::Full | Scope::Reconcile => read::distinct(all()),
            Scope::Delta => {
                let mut products: BTreeSet<u32> = BTreeSet::new();
                for change in &self.changes {
                    if let Some(p) = change.strip_prefix("product:").and_then(|p| p.parse().ok()) {
                        products.insert(p);
                    } else if let Some(sku) = change.strip_prefix("sku:")
                        && let Some(p) = self.published.get(&sku.to_lowercase())
                    {
                        products.insert(p.product_id);
                    }
                }
                // A delivery is at-least-once: one older than our last read of the product (a
                // repeat that came while a run was reading it) asks for nothing new.
                let mut read_at: BTreeMap<u32, DateTime<Utc>> = BTreeMap::new();
                for item in self.stored.values() {
                    if let Some(at) = item.read_at {
                        let e = read_at.entry(item.product_id).or_insert(at);
                        *e = (*e).min(at);
                    }
                }
                for entry in &self.inbox {
                    let product = entry.id as u32;
                    let seen = read_at
                        .get(&product)
                        .is_some_and(|at| *at > entry.received_at);
                    if entry.event == ON_HAND_EVENT && !seen {
                        products.insert(product);
                    }
                }
                // Items not confirmed yet (never sent, pending, rejected).
                for (key, p) in &self.published {
                    let confirmed = self
                        .stored
                        .get(key)
                        .is_some_and(|s| s.state == "in_sync" || s.state == "skipped");
                    if !confirmed {
                        products.insert(p.product_id);
                    }
                }
                // Bundles whose component changed, and the components of changed bundles
                // (a pending bundle order lowers its components' own items too).
                let mut changed = products.clone();
                for p in &products {
                    if let Stock::Bundle(components) = self.stock(*p) {
                        changed.extend(components.iter().map(|(c, _)| *c));
                    }
                }
                let mut out: Vec<u32> = Vec::new();
                for p in self.published.values() {
                    let mut mine = of_item(p);
                    if mine.iter().any(|x| changed.contains(x)) && !self.is_skipped(&p.sku) {
                        out.append(&mut mine);
                    }
                }
                read::distinct(out.into_iter().filter(|p| !refused.contains(p)))
            }
        }
    }

    fn is_skipped(&self, sku: &str) -> bool {
        self.stored
            .get(&sku.to_lowercase())
            .is_some_and(dropped_by_dsco)
    }

    /// How a product's stock is known, from the stored catalog.
    fn stock(&self, product: u32) -> Stock {
        match self.stocks.get(&product) {
            Some(stock) => stock.clone(),
            None => Stock::Tracked,
        }
    }

    /// Each item's quantities, for the items whose product was read.
    fn compute(&mut self, products: &[u32], read: &read::Read) -> Vec<publish::Wanted> {
        let read_set: BTreeSet<u32> = products.iter().copied().collect();
        let untracked = match self.settings.inventory.untracked {
            UntrackedPolicy::Skip => Untracked::Skip,
            UntrackedPolicy::Quantity(q) => Untracked::Quantity(q),
        };
        let stock_of = |p: u32| self.stock(p);
        let mut bp_by_sku: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        let mut holds: BTreeMap<String, String> = BTreeMap::new();
        for (key, p) in &self.published {
            if !read_set.contains(&p.product_id) {
                continue;
            }
            if read.refused.iter().any(|(r, _)| *r == p.product_id) {
                continue;
            }
            if let Stock::Bundle(components) = self.stock(p.product_id)
                && let Some((missing, _)) = components
                    .iter()
                    .find(|(c, _)| !read.on_hand.contains_key(c))
            {
                holds.insert(
                    key.clone(),
                    format!(
                        "component {missing} of bundle {} could not be read from Brightpearl",
                        p.product_id
                    ),
                );
                continue;
            }
            match quantity::brightpearl_quantity(
                p.product_id,
                &self.stock(p.product_id),
                untracked,
                &stock_of,
                &read.on_hand,
                &self.codes,
            ) {
                Ok(q) => {
                    bp_by_sku.insert(key.clone(), q);
                }
                Err(reason) => {
                    holds.insert(key.clone(), reason);
                }
            }
        }
        let retailer_code = |retailer: Option<&str>| {
            let warehouse = match retailer {
                Some(r) => self.settings.orders_for_retailer(r).warehouse_id,
                None => self.settings.orders.defaults.warehouse_id,
            }?;
            self.codes
                .iter()
                .find(|(_, ids)| ids.contains(&warehouse))
                .map(|(c, _)| c.clone())
        };
        let product_of = |sku: &str| {
            self.published
                .get(&sku.to_lowercase())
                .map(|p| p.product_id)
        };
        let components_of = |p: u32| match self.stock(p) {
            Stock::Bundle(components) => Some(components),
            _ => None,
        };
        let base = |p: u32| {
            quantity::base_quantity(p, &self.stock(p), untracked, &read.on_hand, &self.codes)
                .unwrap_or_default()
        };
        let deductions = quantity::pending_by_product(
            &self.pending,
            &self.codes,
            &retailer_code,
            &product_of,
            &components_of,
            &base,
        );
        let buffer = self.settings.inventory.safety_buffer;
        let cap = self.settings.inventory.max_quantity;
        let mut out = Vec::new();
        for (key, bp) in &bp_by_sku {
            let p = &self.published[key];
            let buffer = self.buffers.buffer_for(&p.sku).unwrap_or(buffer);
            // Units held for pending orders: the product's own, or for a bundle the whole
            // bundles its components' pending units take away.
            let held = match components_of(p.product_id) {
                Some(components) => {
                    let net = |c: u32| quantity::less(&base(c), deductions.get(&c));
                    let left = quantity::bundle_quantity(&components, &net, &self.codes);
                    quantity::less(bp, Some(&left))
                }
                None => deductions.get(&p.product_id).cloned().unwrap_or_default(),
            };
            let mut detail = quantity::publish(bp, Some(&held), buffer, cap);
            if p.shared_with.is_some() {
                for d in detail.values_mut() {
                    d.published = 0;
                }
            }
            out.push(publish::Wanted {
                key: key.clone(),
                published: p.clone(),
                detail,
            });
        }
        let retired = self.retired();
        if !retired.is_empty() {
            self.notes.push(format!(
                "{} items no longer published: 0 sent to DSCO",
                retired.len()
            ));
        }
        out.extend(retired);
        if !holds.is_empty() {
            self.notes.push(format!(
                "{} items not published (see /v1/inventory)",
                holds.len()
            ));
        }
        self.held = holds;
        out
    }

    /// Items DSCO holds a quantity for that no rule publishes any more (its item mapping
    /// removed, its product deleted or without a match value): 0 on each of their codes, once,
    /// so DSCO stops selling stock nobody publishes. Not while the stored catalog is empty
    /// (before the first reference run every catalog item would look gone).
    fn retired(&self) -> Vec<publish::Wanted> {
        if !self.catalog_known {
            return Vec::new();
        }
        self.stored
            .iter()
            .filter(|(key, item)| {
                !self.published.contains_key(*key)
                    && !dropped_by_dsco(item)
                    && (item.confirmed.values().any(|q| *q > 0) || item.state == "rejected")
            })
            .map(|(key, item)| publish::Wanted {
                key: key.clone(),
                published: items::Published {
                    sku: item.sku.clone(),
                    product_id: item.product_id,
                    rule: RETIRED_RULE,
                    shared_with: None,
                },
                detail: item
                    .confirmed
                    .keys()
                    .chain(self.codes.keys())
                    .map(|c| (c.clone(), CodeDetail::default()))
                    .collect(),
            })
            .collect()
    }

    /// Whether any computed item differs from what DSCO confirmed.
    fn any_differs(&self, wanted: &[publish::Wanted]) -> bool {
        wanted.iter().any(|w| {
            let stored = self.stored.get(&w.key);
            let q = quantity::quantities(&w.detail);
            stored.is_none_or(|s| !dropped_by_dsco(s) && quantity::differs(&s.confirmed, &q))
        })
    }

    /// Keep why held items are not published, for `/v1/inventory`.
    async fn record_held(&mut self) -> Result<(), FlowError> {
        let mut items = Vec::new();
        for (key, reason) in std::mem::take(&mut self.held) {
            let p = &self.published[&key];
            let mut item = self.stored.get(&key).cloned().unwrap_or_default();
            item.sku = p.sku.clone();
            item.product_id = p.product_id;
            item.rule = p.rule.to_owned();
            // Held for good by a setting: like a skip (a reconcile looks again); held until
            // the next reference run: pending.
            item.state = if reason.contains("inventory.untracked") {
                "skipped".into()
            } else {
                "pending".into()
            };
            item.reason = Some(reason);
            items.push(item);
        }
        if items.is_empty() {
            return Ok(());
        }
        for item in &items {
            self.stored.insert(item.sku.to_lowercase(), item.clone());
        }
        self.ctx
            .store
            .call(move |s| {
                s.write(|tx| {
                    for item in &items {
                        tx.put_inventory_item(item)?;
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }

    /// The orders guard: publish only after an orders run whose window ends after this run's
    /// availability read began (DSCO's auto-decrement of orders not yet seen would be undone).
    async fn orders_guard(&mut self, read_started: DateTime<Utc>) -> Result<(), FlowError> {
        if self.orders_window_end().await? > Some(read_started) {
            return Ok(());
        }
        // The orders window ends 10 s before its run starts (DSCO refuses a younger `until`):
        // the run that covers the read starts after that.
        let after = (read_started + ORDERS_UNTIL_LAG - self.ctx.now())
            .to_std()
            .unwrap_or_default();
        match self.ctx.request_run(FlowName::Orders, after) {
            None => return Ok(()), // no scheduler (machinery tests)
            Some(false) => {
                self.notes.push(
                    "inventory is published without the orders guard: the orders flow is off"
                        .into(),
                );
                return Ok(());
            }
            Some(true) => {}
        }
        let lag = chrono::Duration::from_std(self.max_orders_lag()).unwrap_or_default();
        let deadline = self.ctx.now() + lag;
        loop {
            if self.ctx.stopping() {
                return Err(FlowError::Other(
                    "stopped while waiting for an orders run; nothing published".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            if self.orders_window_end().await? > Some(read_started) {
                return Ok(());
            }
            // An earlier timer may have started a run too soon to cover the read: ask again.
            let after = (read_started + ORDERS_UNTIL_LAG - self.ctx.now())
                .to_std()
                .unwrap_or_default();
            self.ctx.request_run(FlowName::Orders, after);
            let last = self
                .ctx
                .store
                .call(|s| s.read(|tx| tx.last_run(FlowName::Orders)))
                .await?;
            if let Some(run) = &last
                && run.started_at >= read_started + ORDERS_UNTIL_LAG - chrono::Duration::seconds(1)
                && run.status == crate::store::RunStatus::Failed
            {
                return Err(FlowError::Other(format!(
                    "orders run {} failed, so DSCO orders placed since the stock was read may not be deducted; nothing published",
                    run.id
                )));
            }
            if self.ctx.now() > deadline {
                let which = last.map_or("no orders run".to_owned(), |r| {
                    format!("orders run {}", r.id)
                });
                return Err(FlowError::Other(format!(
                    "{which} did not cover the time the stock was read within inventory.max_orders_lag; nothing published"
                )));
            }
        }
    }

    /// Where the orders flow's last window ended.
    async fn orders_window_end(&self) -> Result<Option<DateTime<Utc>>, FlowError> {
        #[derive(Deserialize)]
        struct Window {
            until: DateTime<Utc>,
        }
        Ok(self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.cursor::<Window>(ORDERS_WINDOW)))
            .await?
            .map(|w| w.until))
    }

    fn max_orders_lag(&self) -> std::time::Duration {
        self.settings.inventory.max_orders_lag()
    }

    /// Commit the end of the run: the change queue and inbox entries it dealt with, the time
    /// this mode last ran, and (reconcile) the report.
    async fn finish(&mut self, read_at: DateTime<Utc>) -> Result<(), FlowError> {
        let changes = std::mem::take(&mut self.changes);
        let inbox = std::mem::take(&mut self.inbox);
        let scope = self.scope;
        let inputs = self.inputs.clone();
        let now = self.ctx.now();
        // Each row's outcome as the run ends: confirmed, rejected, skipped, or still unconfirmed.
        let mut rows = std::mem::take(&mut self.report);
        for row in &mut rows {
            let state = self
                .stored
                .get(&row.sku.to_lowercase())
                .map_or("pending", |i| i.state.as_str());
            if row.outcome == "sent" {
                row.outcome = match state {
                    "in_sync" => "confirmed",
                    "rejected" => "rejected",
                    "skipped" => "skipped",
                    _ => "unconfirmed",
                }
                .to_owned();
            }
        }
        let report = (scope == Scope::Reconcile).then_some(publish::Report { at: now, rows });
        self.ctx
            .store
            .call(move |s| {
                s.write(|tx| {
                    tx.clear_stock_changes(&changes, read_at)?;
                    tx.inbox_remove(&inbox)?;
                    let mut last: LastRuns = tx.cursor(LAST_RUNS)?.unwrap_or_default();
                    match scope {
                        Scope::Delta => last.delta = Some(now),
                        Scope::Full => last.full = Some(now),
                        Scope::Reconcile => last.reconcile = Some(now),
                    }
                    tx.set_cursor(LAST_RUNS, &last)?;
                    tx.set_cursor(ENABLED_SEEN, &true)?;
                    tx.set_cursor(INPUTS, &inputs)?;
                    if let Some(report) = &report {
                        tx.put_document(crate::store::RECONCILE_DOCUMENT, report)?;
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }
}

/// A catalog product's stock kind (a catalog read before the upgrade does not say).
fn catalog_stock(product: &CatalogProduct) -> Stock {
    match (&product.bundle_components, product.stock_tracked) {
        (Some(components), _) if !components.is_empty() => Stock::Bundle(
            components
                .iter()
                .map(|c| (c.product_id, c.quantity))
                .collect(),
        ),
        (Some(_), Some(false)) => Stock::Untracked,
        (Some(_), _) => Stock::Tracked,
        (None, _) => Stock::Unknown,
    }
}

fn kind() -> Kind {
    Kind::Inventory
}
