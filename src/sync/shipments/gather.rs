//! Which notes a shipments run looks at: the sweep (goods-out search by `createdOn` or
//! `shippedOn` from the cursor less 10 minutes — there is no `updatedOn`, brightpearl-api.md
//! §4.14), every note with an open record, and for the status trigger the linked orders
//! updated at the ship status; then deleted notes, and the open write intents settled first.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{CURSOR, Cursor, FIRST_LOOK_BACK, OVERLAP, Run, SHIPMENT_KIND, kind};
use crate::brightpearl::{self, Lane, OrderSearchRow, SearchQuery};
use crate::flow_name::FlowName;
use crate::settings::{GoodsOutNoteMoment, ShipmentTrigger};
use crate::store::{InboxEntry, Outcome, RecordDetail, RecordStatus};
use crate::sync::FlowError;
use crate::sync::order_link;
use crate::sync::order_view::{self, Step};
use crate::sync::webhooks::{NOTE_DESTROYED_EVENT, ORDER_STATUS_EVENT};

/// At most this many inbox entries per run; the rest wait for the next.
const INBOX_BATCH: usize = 10_000;

impl Run<'_> {
    /// Fill the run's note ids and status orders; returns where the sweep started.
    pub(super) async fn gather(&mut self) -> Result<DateTime<Utc>, FlowError> {
        let now = self.started;
        let (cursor, open, inbox) = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let cursor: Option<Cursor> = tx.cursor(CURSOR)?;
                    let open: Vec<String> = tx
                        .due_records(FlowName::Shipments, now)?
                        .into_iter()
                        .filter(|r| r.kind.as_str() == SHIPMENT_KIND)
                        .map(|r| r.source_id)
                        .collect();
                    let inbox = tx.inbox(FlowName::Shipments, INBOX_BATCH)?;
                    Ok((cursor, open, inbox))
                })
            })
            .await?;
        let status_events = self.take_inbox(inbox);
        let since = cursor.map_or(now - FIRST_LOOK_BACK, |c| c.since) - OVERLAP;
        let from = since.to_rfc3339_opts(SecondsFormat::Secs, true);
        for source in &open {
            match source.strip_prefix("order:") {
                Some(order) => {
                    if let Ok(id) = order.parse() {
                        self.status_orders.insert(id);
                    }
                }
                None => {
                    if let Ok(id) = source.parse() {
                        self.note_ids.insert(id);
                    }
                }
            }
        }
        match self.settings.trigger {
            ShipmentTrigger::GoodsOutNote => {
                let filter = match self.settings.goods_out_note_moment {
                    GoodsOutNoteMoment::Created => "createdOn",
                    GoodsOutNoteMoment::Shipped => "shippedOn",
                };
                let query = SearchQuery::new().filter(filter, format!("{from}/"));
                let rows = self
                    .bp
                    .search_goods_out_notes(Lane::Shipments, &query)
                    .await
                    .map_err(|e| FlowError::brightpearl("searching goods-out notes", e))?;
                self.note_ids
                    .extend(rows.iter().map(|r| r.goods_out_note_id.0));
            }
            ShipmentTrigger::OrderStatus => {
                let Some(status) = self.settings.order_status_id else {
                    return Err(FlowError::Other(
                        "shipments.trigger is order_status but shipments.order_status_id is not set"
                            .into(),
                    ));
                };
                let query = SearchQuery::new()
                    .filter("orderStatusId", status.to_string())
                    .filter("updatedOn", format!("{from}/"));
                let page = self
                    .bp
                    .search_all(Lane::Shipments, "order-service/order-search", &query)
                    .await
                    .map_err(|e| {
                        FlowError::brightpearl("searching orders at the ship status", e)
                    })?;
                let rows: Vec<OrderSearchRow> = page
                    .into_iter()
                    .filter_map(|r| serde_json::from_value(serde_json::Value::Object(r)).ok())
                    .collect();
                let ids: Vec<u64> = rows.iter().map(|r| r.order_id.0).collect();
                let linked: Vec<u64> = self
                    .ctx
                    .store
                    .call(move |s| {
                        s.read(|tx| {
                            let mut out = Vec::new();
                            for id in ids {
                                if order_link::find_by_bp_order(tx, id)?.is_some() {
                                    out.push(id);
                                }
                            }
                            Ok(out)
                        })
                    })
                    .await?;
                self.status_orders.extend(linked);
                self.status_from_webhooks(status, status_events).await?;
            }
        }
        Ok(since)
    }

    /// What the webhooks announced: notes to read (created, modified, shipped — in any order
    /// and any number of times, it is the same note read once), notes deleted, and orders whose
    /// status changed (returned; the status trigger checks them). Deliveries of one note under
    /// several events collapse here.
    fn take_inbox(&mut self, inbox: Vec<InboxEntry>) -> BTreeSet<u64> {
        let mut status_events = BTreeSet::new();
        let (mut notes, mut deleted) = (0usize, 0usize);
        for entry in &inbox {
            if entry.event == ORDER_STATUS_EVENT {
                status_events.insert(entry.id);
            } else if entry.event == NOTE_DESTROYED_EVENT {
                deleted += 1;
                self.destroyed.insert(entry.id);
            } else if entry.event.starts_with("goods-out-note") {
                notes += 1;
                self.note_ids.insert(entry.id);
            }
        }
        if !inbox.is_empty() {
            self.notes.push(format!(
                "webhooks: {notes} note events, {deleted} deletions, {} status changes{}",
                status_events.len(),
                if inbox.len() >= INBOX_BATCH {
                    " (more wait for the next run)"
                } else {
                    ""
                }
            ));
        }
        self.inbox = inbox;
        status_events
    }

    /// Status trigger: orders a webhook said changed status are read (by ID set) and kept when
    /// they are linked and now at the ship status.
    async fn status_from_webhooks(
        &mut self,
        status: u32,
        orders: BTreeSet<u64>,
    ) -> Result<(), FlowError> {
        let ids: Vec<u64> = orders
            .into_iter()
            .filter(|id| !self.status_orders.contains(id))
            .collect();
        let linked: Vec<brightpearl::OrderId> = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let mut out = Vec::new();
                    for id in ids {
                        if order_link::find_by_bp_order(tx, id)?.is_some() {
                            out.push(brightpearl::OrderId(id));
                        }
                    }
                    Ok(out)
                })
            })
            .await?;
        if linked.is_empty() {
            return Ok(());
        }
        let orders = self
            .bp
            .get_orders(Lane::Shipments, &linked)
            .await
            .map_err(|e| FlowError::brightpearl("reading orders whose status changed", e))?;
        self.status_orders.extend(
            orders
                .iter()
                .filter(|o| {
                    o.order_status
                        .as_ref()
                        .is_some_and(|s| s.order_status_id.0 == u64::from(status))
                })
                .map(|o| o.id.0),
        );
        Ok(())
    }

    /// Open write intents: settle each by DSCO's change log before anything is sent again.
    pub(super) async fn settle_open(&mut self) -> Result<(), FlowError> {
        let intents = self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.intents(kind())))
            .await?;
        if intents.is_empty() {
            return Ok(());
        }
        self.notes
            .push(format!("{} open shipments settled", intents.len()));
        self.settle_intents(intents).await
    }

    /// Notes deleted in Brightpearl: before sending nothing is sent (the record, if any, is
    /// skipped); after, a person must look.
    pub(super) async fn handle_destroyed(&mut self) -> Result<(), FlowError> {
        let destroyed: Vec<u64> = std::mem::take(&mut self.destroyed).into_iter().collect();
        for note_id in destroyed {
            self.note_ids.remove(&note_id);
            let source = note_id.to_string();
            let (record, intent) = {
                let source = source.clone();
                self.ctx
                    .store
                    .call(move |s| {
                        s.read(|tx| {
                            Ok((
                                tx.record_for(FlowName::Shipments, SHIPMENT_KIND, &source)?,
                                tx.intent(SHIPMENT_KIND, &source)?,
                            ))
                        })
                    })
                    .await?
            };
            let Some(record) = record else {
                continue; // never ours, or never seen: nothing was sent
            };
            if intent.is_some() {
                // Its outcome is being settled; the deletion is looked at again once it is.
                self.destroyed_later.insert(note_id);
                continue;
            }
            let outcome = match record.status {
                RecordStatus::Synced => Outcome::Permanent {
                    reason: format!("goods-out note {note_id} deleted after it was sent to DSCO"),
                    code: None,
                },
                RecordStatus::NeedsAttention
                    if record
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.contains("deleted after")) =>
                {
                    continue;
                }
                RecordStatus::Skipped => continue,
                _ => Outcome::Skipped(format!(
                    "goods-out note {note_id} was deleted in Brightpearl before it was sent"
                )),
            };
            let dsco_order_id = record.related.get("dsco_order_id").cloned();
            let bp_order_id = record
                .related
                .get("bp_order_id")
                .and_then(|v| v.parse::<u64>().ok());
            let related: Vec<(String, String)> = record.related.clone().into_iter().collect();
            let detail = RecordDetail {
                related,
                ..Default::default()
            };
            match (dsco_order_id, bp_order_id) {
                (Some(id), Some(_)) => {
                    let order = crate::sync::order_link::OrderRef {
                        dsco_order_id: id,
                        po_number: record.related.get("po_number").cloned().unwrap_or_default(),
                        retailer: record.related.get("dsco_retailer_id").cloned(),
                    };
                    let step = Step {
                        kind: SHIPMENT_KIND,
                        outcome,
                        detail,
                        event: "note_deleted",
                        state: None,
                    };
                    order_view::record_other_step(
                        self.ctx,
                        &order,
                        &source,
                        step,
                        None,
                        |_| Ok(()),
                    )
                    .await?;
                }
                _ => {
                    self.ctx
                        .record(SHIPMENT_KIND, &source, outcome, detail)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
