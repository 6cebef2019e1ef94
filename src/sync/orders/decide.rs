//! What to do with each order: follow a linked order (note, retailer cancel request,
//! cancellation, acknowledgement), check an unanswered create, skip (test order, cancelled or
//! completed on DSCO, before `orders.import_from`), wait out a backoff, take over another
//! connector's order, or import.

use chrono::DateTime;

use crate::brightpearl::Lane;
use crate::dsco::{self, Lifecycle};
use crate::flow_name::FlowName;
use crate::reference::DscoItem;
use crate::store::{Outcome, RecordStatus};
use crate::sync::FlowError;
use crate::sync::exactly_once::grace_check;
use crate::sync::order_link::{
    self, ORDER_KIND, OrderLink, OrderRef, dsco_id, lowest_with_external_ref,
};
use crate::sync::order_view::{OrderState, Step, record_step, record_step_with};

use super::Run;

/// What checking an open create intent found.
enum IntentCheck {
    /// No intent (or it was closed: nothing was created).
    None,
    /// Not resolved yet; the record says why.
    Waiting,
    /// The earlier create did make the order: now linked.
    Linked(OrderLink),
}

impl Run<'_> {
    pub(super) async fn process(&mut self, order: &dsco::Order) -> Result<(), FlowError> {
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
        if let Err(reason) = grace_check(&intent, self.grace, self.ctx.now()) {
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
        let searched = match self.settled_for(&id).await {
            Some(found) => Ok(found),
            None => self
                .bp
                .search_orders_by_external_ref(Lane::Orders, &id)
                .await
                .map(|rows| lowest_with_external_ref(rows, &id)),
        };
        let hits = match searched {
            Ok(found) => found,
            Err(e) => {
                let reason =
                    format!("could not check Brightpearl for an earlier unanswered create: {e}");
                let step = Step {
                    kind: ORDER_KIND,
                    outcome: Outcome::transient(reason, &e),
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
        let link = OrderLink::new(&id, bp_order_id, self.ctx.now());
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
        let now = self.ctx.now();
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
        let key = order_ref.dsco_order_id.clone();
        record_step_with(
            self.ctx,
            &order_ref,
            Step {
                kind: ORDER_KIND,
                outcome: Outcome::Skipped(reason.to_owned()),
                detail: order_ref.ids(None),
                event: "skipped",
                state: Some(OrderState::Skipped),
            },
            move |tx| {
                // Never a Brightpearl order: its units are not held for the inventory flow.
                if let Some(held) = tx.remove_pending_units(&key)? {
                    tx.queue_stock_changes(&changes_of(&held))?;
                }
                Ok(())
            },
        )
        .await
    }

    async fn note_seen(&self, order: &dsco::Order) -> Result<(), FlowError> {
        let now = self.ctx.now();
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
        // The units DSCO took for this order (its auto-decrement) while it is not yet a
        // Brightpearl order: the inventory flow deducts them.
        let id = crate::sync::order_link::dsco_id(order);
        // Only an order DSCO still expects to ship holds units (a completed, cancelled or test
        // order does not, nor one this daemon skips).
        let open = matches!(
            order.lifecycle(),
            Lifecycle::Created | Lifecycle::Acknowledged
        ) && order.test_flag != Some(true);
        let units = crate::store::PendingUnits {
            dsco_order_id: id.clone(),
            retailer: retailer.clone(),
            lines: order
                .line_items
                .iter()
                .filter_map(|l| {
                    let sku = l.sku.clone().filter(|s| !s.trim().is_empty())?;
                    let quantity = l.quantity - l.cancelled_quantity.unwrap_or(0);
                    (quantity > 0).then(|| crate::store::PendingLine {
                        sku,
                        quantity,
                        warehouse_code: l.warehouse_code.clone(),
                    })
                })
                .collect(),
        };
        self.store()
            .call(move |s| {
                s.write(|tx| {
                    let linked = order_link::find_in(tx, &id)?.is_some();
                    if linked || !open || units.lines.is_empty() {
                        if let Some(held) = tx.remove_pending_units(&id)? {
                            tx.queue_stock_changes(&changes_of(&held))?;
                        }
                    } else {
                        let known = tx.pending_units_of(&id)?.is_some_and(|u| u == units);
                        if !known {
                            tx.put_pending_units(&units)?;
                            tx.queue_stock_changes(&changes_of(&units))?;
                        }
                    }
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
        // A retailer's cancel request (DSCO bumps the order's dscoLastUpdate, so the window
        // shows it again) is noted once; it changes nothing else about the order.
        self.follow_cancel_request(order, &link, state).await?;
        match state {
            Lifecycle::Cancelled if !link.cancelled => self.cancel(order, link).await,
            Lifecycle::Created if !link.acknowledged => {
                // Linked but DSCO still shows it new: acknowledge again (not when DSCO's change
                // log already confirmed ours: its order read lags).
                self.to_acknowledge.push((order_ref, bp_order_id));
                Ok(())
            }
            _ if !link.acknowledged && super::acknowledge::ack_seen(order, bp_order_id) => {
                // DSCO shows our acknowledgement though its change log had not reported it:
                // found means done, and its open intent (if any) is settled.
                link.acknowledged = true;
                let step = Step {
                    kind: ORDER_KIND,
                    outcome: Outcome::Synced,
                    detail: order_ref.ids(Some(bp_order_id)),
                    event: "acknowledged",
                    state: Some(OrderState::Acknowledged),
                };
                let key = order_ref.dsco_order_id.clone();
                record_step_with(self.ctx, &order_ref, step, move |tx| {
                    order_link::save(tx, &link)?;
                    tx.clear_intent(super::acknowledge::ack_kind(), &key)?;
                    Ok(())
                })
                .await
            }
            _ => Ok(()),
        }
    }
}

/// The inventory change-queue entries for the SKUs of an order's units.
fn changes_of(units: &crate::store::PendingUnits) -> Vec<String> {
    units
        .lines
        .iter()
        .map(|l| format!("sku:{}", l.sku))
        .collect()
}
