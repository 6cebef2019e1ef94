//! Sending quantities to DSCO through `sync::dsco_once`: only items that differ from what DSCO
//! last confirmed (every item on a reconcile), at most one unconfirmed publication per SKU,
//! `POST /inventory/batch/small` packed up to the size limit, each item's outcome from
//! `GET /inventory/log?requestId=`; a new confirmed quantity only on success.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::quantity::{self, quantities};
use super::{INVENTORY_KIND, Run, Scope, items, kind};
use crate::dsco::{AsyncWrite, ChangeLog, ItemInventory};
use crate::store::{CodeDetail, Intent, InventoryItem, Outcome, RecordDetail};
use crate::sync::FlowError;
use crate::sync::dsco_once::{self, Match, SettleRules, Settled, Submitted, WriteIntent};

/// DSCO's small-batch limit is 5 MB (dsco-api.md §3.1); we keep a margin.
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// How long a run waits for DSCO to process its own batches.
const IN_RUN_WAIT: Duration = Duration::from_secs(30);
/// A request still processing is looked at again this soon.
const PROCESSING_AGAIN: Duration = Duration::from_secs(5);
/// DSCO's informational code for an unknown SKU it dropped (`skipItemsThatDontExist`).
const ITEM_SKIPPED: &str = "ITEM_SKIPPED";

/// One item's computed quantities.
#[derive(Debug, Clone)]
pub(super) struct Wanted {
    pub key: String,
    pub published: items::Published,
    pub detail: BTreeMap<String, CodeDetail>,
}

/// One row of the reconcile report: per item and code, stored, published, outcome.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportRow {
    pub sku: String,
    pub code: String,
    pub stored: Option<i64>,
    pub published: i64,
    pub outcome: String,
}

/// The latest reconcile report.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub at: DateTime<Utc>,
    pub rows: Vec<ReportRow>,
}

impl Run<'_> {
    fn settle_rules(&self) -> SettleRules {
        SettleRules {
            log: ChangeLog::Inventory,
            grace: self.grace,
            processing_again: PROCESSING_AGAIN,
            idempotent: false,
        }
    }

    /// Earlier runs' publications not confirmed yet: settled by the inventory log first.
    pub(super) async fn settle_open(&mut self) -> Result<(), FlowError> {
        let intents = self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.intents(kind())))
            .await?;
        if intents.is_empty() {
            return Ok(());
        }
        let settled = dsco_once::settle(
            self.dsco,
            &self.ctx.store,
            self.settle_rules(),
            kind(),
            intents,
        )
        .await?;
        self.apply(settled).await
    }

    /// Send what differs (everything on a reconcile), in batches, and read the outcomes.
    pub(super) async fn send(
        &mut self,
        wanted: Vec<Wanted>,
        read_at: DateTime<Utc>,
    ) -> Result<(), FlowError> {
        let open: std::collections::HashSet<String> = self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.intents(kind())))
            .await?
            .into_iter()
            .map(|i| i.key.to_lowercase())
            .collect();
        let now = self.ctx.now();
        let mut updates: Vec<InventoryItem> = Vec::new();
        let mut to_send: Vec<(InventoryItem, ItemInventory)> = Vec::new();
        let mut unchanged = 0usize;
        let mut requeue: Vec<String> = Vec::new();
        for w in wanted {
            let q = quantities(&w.detail);
            // Taken out of the run's map, not copied (a reconcile of 100,000 items would hold
            // them twice); put back unless sent, and an item sent comes back when settled.
            let taken = self.stored.remove(&w.key);
            let was_in_sync = taken.as_ref().is_some_and(|s| {
                s.sku == w.published.sku
                    && s.product_id == w.published.product_id
                    && s.rule == w.published.rule
                    && s.detail == w.detail
                    && s.published == q
                    && s.state == "in_sync"
            });
            let mut item = taken.unwrap_or_else(|| InventoryItem {
                sku: w.published.sku.clone(),
                product_id: w.published.product_id,
                state: "pending".into(),
                ..Default::default()
            });
            item.sku = w.published.sku.clone();
            item.product_id = w.published.product_id;
            item.rule = w.published.rule.to_owned();
            item.detail = w.detail;
            item.read_at = Some(read_at);
            if open.contains(&w.key) {
                // One unconfirmed publication per SKU: the newer value waits for its outcome,
                // and the SKU stays queued so the next delta looks at it again.
                requeue.push(format!("sku:{}", item.sku));
                if self.scope == Scope::Reconcile {
                    for (code, published) in &q {
                        self.report.push(ReportRow {
                            sku: item.sku.clone(),
                            code: code.clone(),
                            stored: item.confirmed.get(code).copied(),
                            published: *published,
                            outcome: "waiting for an earlier publication".into(),
                        });
                    }
                }
                self.stored.insert(w.key, item.clone());
                updates.push(item);
                continue;
            }
            let reconcile = self.scope == Scope::Reconcile;
            if super::dropped_by_dsco(&item) && !reconcile {
                self.stored.insert(w.key, item.clone());
                updates.push(item);
                continue;
            }
            let send =
                reconcile || quantity::differs(&item.confirmed, &q) || item.confirmed_at.is_none();
            if reconcile {
                for (code, published) in &q {
                    self.report.push(ReportRow {
                        sku: item.sku.clone(),
                        code: code.clone(),
                        stored: item.confirmed.get(code).copied(),
                        published: *published,
                        outcome: "sent".into(),
                    });
                }
            }
            if !send {
                unchanged += 1;
                item.published = q;
                item.state = "in_sync".into();
                // Written only when more than the read time changed: a full read of an unchanged
                // catalog writes nothing (a repeated webhook may then read a product once more).
                if !was_in_sync {
                    updates.push(item.clone());
                }
                self.stored.insert(w.key, item);
                continue;
            }
            item.published = q.clone();
            item.published_at = Some(now);
            item.state = "pending".into();
            item.reason = Some("being sent to DSCO".into());
            let wire = quantity::item_inventory(&item.sku, &q);
            to_send.push((item, wire));
        }
        self.ctx
            .store
            .call(move |s| {
                s.write(|tx| {
                    for item in &updates {
                        tx.put_inventory_item(item)?;
                    }
                    tx.queue_stock_changes(&requeue)
                })
            })
            .await?;
        self.notes.push(format!(
            "{} items sent, {unchanged} unchanged",
            to_send.len()
        ));
        let skip_unknown = self.settings.inventory.skip_unknown_on_dsco;
        let mut accepted = Vec::new();
        let mut work = batches(to_send);
        work.reverse();
        while let Some(batch) = work.pop() {
            let keys: Vec<String> = batch.iter().map(|(i, _)| i.sku.clone()).collect();
            let intents: Vec<(String, WriteIntent)> = batch
                .iter()
                .map(|(i, wire)| {
                    (
                        i.sku.clone(),
                        WriteIntent::new(matcher(&i.sku, &i.published), wire),
                    )
                })
                .collect();
            let items: Vec<InventoryItem> = batch.iter().map(|(i, _)| i.clone()).collect();
            // The items (with what is sent) before their intents.
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
            dsco_once::open(&self.ctx.store, kind(), intents).await?;
            let wires: Vec<ItemInventory> = batch.iter().map(|(_, w)| w.clone()).collect();
            let submitted = dsco_once::submit(
                self.dsco,
                &self.ctx.store,
                AsyncWrite::Inventory { skip_unknown },
                kind(),
                keys.clone(),
                &wires,
            )
            .await?;
            if let Submitted::Rejected { .. } = &submitted
                && batch.len() > 1
            {
                // DSCO refused the whole batch: halve it until the item it refuses is alone,
                // so one bad item does not hold back the others.
                let mut batch = batch;
                let right = batch.split_off(batch.len() / 2);
                work.push(right);
                work.push(batch);
                continue;
            }
            match submitted {
                Submitted::Accepted(rid) => {
                    let rid = rid.0;
                    let mut items: Vec<InventoryItem> = batch.into_iter().map(|(i, _)| i).collect();
                    for item in &mut items {
                        item.request_id = Some(rid.clone());
                        item.reason = Some(format!(
                            "sent to DSCO in request {rid}; waiting for DSCO's inventory log"
                        ));
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
                    accepted.extend(keys);
                }
                Submitted::Rejected { reason, code } => {
                    for (mut item, _) in batch {
                        item.state = "rejected".into();
                        item.reason = Some(reason.clone());
                        self.record_item(
                            item,
                            Outcome::Permanent {
                                reason: reason.clone(),
                                code: code.clone(),
                            },
                            None,
                        )
                        .await?;
                    }
                }
                Submitted::NotApplied { reason, error } | Submitted::Unknown { reason, error } => {
                    for (mut item, _) in batch {
                        item.reason = Some(reason.clone());
                        self.record_item(
                            item,
                            Outcome::Retryable {
                                reason: reason.clone(),
                                error: Some(error.clone()),
                            },
                            None,
                        )
                        .await?;
                    }
                }
            }
        }
        if !accepted.is_empty() {
            self.await_accepted(&accepted).await?;
        }
        Ok(())
    }

    /// Wait (a bounded time) for DSCO to process this run's batches.
    async fn await_accepted(&mut self, keys: &[String]) -> Result<(), FlowError> {
        let polling = self.dsco.polling().clone();
        let started = tokio::time::Instant::now();
        let mut look = 0u32;
        let mut open: Vec<String> = keys.to_vec();
        while !open.is_empty() {
            let delay = polling.delay(look);
            if started.elapsed() + delay > IN_RUN_WAIT || self.ctx.stopping() {
                break;
            }
            tokio::time::sleep(delay).await;
            look += 1;
            let wanted = open.clone();
            let intents: Vec<Intent> = self
                .ctx
                .store
                .call(move |s| {
                    s.read(|tx| {
                        let mut out = Vec::new();
                        for key in &wanted {
                            if let Some(i) = tx.intent(kind(), key)? {
                                out.push(i);
                            }
                        }
                        Ok(out)
                    })
                })
                .await?;
            let settled = dsco_once::settle(
                self.dsco,
                &self.ctx.store,
                self.settle_rules(),
                kind(),
                intents,
            )
            .await?;
            let (waiting, done): (BTreeMap<_, _>, BTreeMap<_, _>) = settled
                .into_iter()
                .partition(|(_, s)| matches!(s, Settled::Waiting { .. }));
            open = waiting.into_keys().collect();
            self.apply(done).await?;
        }
        if !open.is_empty() {
            self.notes.push(format!(
                "{} items still being processed by DSCO; the next run reads their outcome",
                open.len()
            ));
        }
        Ok(())
    }

    /// Record each settled publication; the intent is cleared with the item where settled.
    async fn apply(&mut self, settled: BTreeMap<String, Settled>) -> Result<(), FlowError> {
        let now = self.ctx.now();
        let mut confirmed: Vec<InventoryItem> = Vec::new();
        // Every settled item's stored state in one read.
        let keys: Vec<String> = settled.keys().cloned().collect();
        let mut stored: BTreeMap<String, InventoryItem> = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let mut out = BTreeMap::new();
                    for key in keys {
                        if let Some(item) = tx.inventory_item(&key)? {
                            out.insert(key, item);
                        }
                    }
                    Ok(out)
                })
            })
            .await?;
        for (sku, outcome) in settled {
            let mut item = stored.remove(&sku).unwrap_or_else(|| InventoryItem {
                sku: sku.clone(),
                state: "pending".into(),
                ..Default::default()
            });
            match outcome {
                Settled::Succeeded { messages, .. }
                    if messages.iter().any(|m| m.code == ITEM_SKIPPED) =>
                {
                    item.state = "skipped".into();
                    item.reason = Some(super::NOT_ON_DSCO.into());
                    self.record_item(item, Outcome::Skipped(super::NOT_ON_DSCO.into()), Some(sku))
                        .await?;
                }
                Settled::Succeeded { .. } => {
                    item.confirmed = item.published.clone();
                    item.confirmed_at = Some(now);
                    item.state = "in_sync".into();
                    item.reason =
                        (item.rule == super::RETIRED_RULE).then(|| super::RETIRED_REASON.into());
                    confirmed.push(item);
                }
                Settled::Failed { messages, .. } => {
                    let reason = format!(
                        "DSCO rejected the quantity: {}",
                        dsco_once::describe(&messages)
                    );
                    item.state = "rejected".into();
                    item.reason = Some(reason.clone());
                    let code = messages.first().map(|m| m.code.clone());
                    self.record_item(item, Outcome::Permanent { reason, code }, Some(sku))
                        .await?;
                }
                Settled::Lost(reason) => {
                    item.state = "rejected".into();
                    item.reason = Some(reason.clone());
                    self.record_item(item, Outcome::Permanent { reason, code: None }, Some(sku))
                        .await?;
                }
                Settled::Absent => {
                    // Never reached DSCO: the item stays unconfirmed and goes again.
                    item.state = "pending".into();
                    item.reason = Some("not received by DSCO; sent again".into());
                    let key = sku.clone();
                    self.ctx
                        .store
                        .call(move |s| {
                            s.write(|tx| {
                                tx.put_inventory_item(&item)?;
                                tx.clear_intent(kind(), &key)?;
                                Ok(())
                            })
                        })
                        .await?;
                    let lower = sku.to_lowercase();
                    if let Some(stored) = self.stored.get_mut(&lower) {
                        stored.state = "pending".into();
                    }
                }
                Settled::Waiting { .. } | Settled::Unreadable { .. } => {}
            }
        }
        if !confirmed.is_empty() {
            // One transaction for the batch: each item's confirmed state and its intent closed.
            for item in &confirmed {
                self.stored.insert(item.sku.to_lowercase(), item.clone());
            }
            self.ctx
                .store
                .call(move |s| {
                    s.write(|tx| {
                        for item in &confirmed {
                            tx.put_inventory_item(item)?;
                            tx.clear_intent(kind(), &item.sku)?;
                        }
                        Ok(())
                    })
                })
                .await?;
        }
        Ok(())
    }

    /// A record for one item (a problem, a skip) with its state, in one transaction; `clear`
    /// closes its intent too.
    async fn record_item(
        &mut self,
        item: InventoryItem,
        outcome: Outcome,
        clear: Option<String>,
    ) -> Result<(), FlowError> {
        let detail = RecordDetail {
            related: vec![("product_id".into(), item.product_id.to_string())],
            ..Default::default()
        };
        self.stored.insert(item.sku.to_lowercase(), item.clone());
        let sku = item.sku.clone();
        // A SKU DSCO dropped no longer takes a shared product's quantity: the product's other
        // SKUs are worked out again by the next delta.
        let requeue =
            (item.state == "skipped").then(|| vec![format!("product:{}", item.product_id)]);
        self.ctx
            .record_with(INVENTORY_KIND, &sku, outcome, detail, move |tx, _| {
                if let Some(changes) = &requeue {
                    tx.queue_stock_changes(changes)?;
                }
                tx.put_inventory_item(&item)?;
                if let Some(key) = &clear {
                    tx.clear_intent(kind(), key)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}

/// How an item's inventory-log entry is recognised: its SKU and the quantities sent.
fn matcher(sku: &str, published: &BTreeMap<String, i64>) -> Match {
    Match {
        key: sku.to_owned(),
        tracking: None,
        lines: Vec::new(),
        fields: Vec::new(),
        warehouses: published.iter().map(|(c, q)| (c.clone(), *q)).collect(),
        cancel: false,
    }
}

/// Items packed into batches of at most [`BATCH_BYTES`] of JSON.
fn batches(items: Vec<(InventoryItem, ItemInventory)>) -> Vec<Vec<(InventoryItem, ItemInventory)>> {
    let mut out = Vec::new();
    let mut batch = Vec::new();
    let mut size = 2usize;
    for (item, wire) in items {
        let bytes = serde_json::to_vec(&wire).map_or(0, |v| v.len()) + 1;
        if !batch.is_empty() && size + bytes > BATCH_BYTES {
            out.push(std::mem::take(&mut batch));
            size = 2;
        }
        size += bytes;
        batch.push((item, wire));
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    out
}
