//! Sending built cancels to DSCO in batches through `sync::dsco_once`, and recording each
//! cancel's outcome once DSCO's order log shows it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Ready, Run, SUPPLIER_CANCEL_KIND, part, related};
use crate::dsco::{self, AsyncWrite, ChangeLog, OrderForCancel};
use crate::flow_name::FlowName;
use crate::store::{Intent, Kind, Outcome};
use crate::sync::FlowError;
use crate::sync::dsco_once::{self, Match, SettleRules, Settled, WriteIntent};
use crate::sync::order_link::OrderRef;
use crate::sync::order_view::{self, OrderState, Step};

const IN_RUN_WAIT: Duration = Duration::from_secs(30);
const PROCESSING_AGAIN: Duration = Duration::from_secs(5);
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// The record's related key: the order has no unit shipped (a confirmed cancel makes it
/// `cancelled`, else `shipped`).
const NONE_SHIPPED: &str = "none_shipped";
/// The record's related key with the cancel's `(line:quantity)` list, for the positive check.
const LINES: &str = "cancelled_lines";

/// How a cancel's log entry is recognised: the order id (`id`, the payload key) with exactly
/// these lines and cancelled quantities.
fn matcher(cancel: &OrderForCancel) -> Match {
    let mut lines: Vec<(u32, i64)> = cancel
        .line_items
        .iter()
        .map(|l| (l.line_number.unwrap_or(0), l.cancelled_quantity))
        .collect();
    lines.sort_unstable();
    Match {
        key: cancel.id.clone(),
        tracking: None,
        lines,
        fields: Vec::new(),
        warehouses: Vec::new(),
        cancel: true,
    }
}

/// `line:quantity:cancelled before` per line, joined by `+` (the positive check's input).
fn lines_text(cancel: &OrderForCancel, before: &BTreeMap<u32, i64>) -> String {
    cancel
        .line_items
        .iter()
        .map(|l| {
            let n = l.line_number.unwrap_or(0);
            format!(
                "{n}:{}:{}",
                l.cancelled_quantity,
                before.get(&n).copied().unwrap_or(0)
            )
        })
        .collect::<Vec<_>>()
        .join("+")
}

impl Run<'_> {
    fn settle_rules(&self) -> SettleRules {
        SettleRules {
            log: ChangeLog::Order,
            grace: self.grace,
            processing_again: PROCESSING_AGAIN,
            idempotent: false,
        }
    }

    pub(super) async fn send_ready(&mut self) -> Result<(), FlowError> {
        let ready = std::mem::take(&mut self.ready);
        if ready.is_empty() {
            return Ok(());
        }
        let batches = dsco_once::batches_by_size(ready, BATCH_BYTES, |r| &r.cancel);
        let count: usize = batches.iter().map(Vec::len).sum();
        self.notes
            .push(format!("{count} cancels in {} batches", batches.len()));
        for batch in batches {
            let cancels: Vec<OrderForCancel> = batch.iter().map(|r| r.cancel.clone()).collect();
            let intents: Vec<(String, WriteIntent)> = batch
                .iter()
                .map(|r| {
                    (
                        r.source_id.clone(),
                        WriteIntent::new(matcher(&r.cancel), &r.cancel),
                    )
                })
                .collect();
            let keys: Vec<String> = intents.iter().map(|(k, _)| k.clone()).collect();
            for r in &batch {
                self.record_sent(r, Outcome::Pending("being sent to DSCO".into()), None)
                    .await?;
            }
            crate::crash_point::reached("cancellations.after_record");
            dsco_once::open(&self.ctx.store, Kind::SupplierCancel, intents).await?;
            let submitted = dsco_once::submit(
                self.dsco,
                &self.ctx.store,
                AsyncWrite::ItemCancels,
                Kind::SupplierCancel,
                keys.clone(),
                &cancels,
            )
            .await?;
            let (outcome, request_id) = submitted.outcome(
                "DSCO's order log",
                self.ctx.now() + chrono::Duration::from_std(PROCESSING_AGAIN).unwrap_or_default(),
            );
            for r in &batch {
                self.record_sent(r, outcome.clone(), request_id.clone())
                    .await?;
                tracing::info!(flow = "cancellations", source_id = %r.source_id, dsco_order_id = %r.order.dsco_order_id, dsco_request_id = request_id.as_deref().unwrap_or(""), "supplier cancel sent to DSCO");
            }
            if request_id.is_some() {
                let stopping = || self.ctx.stopping();
                if let Some(settled) = dsco_once::await_settled(
                    self.dsco,
                    &self.ctx.store,
                    self.settle_rules(),
                    Kind::SupplierCancel,
                    &keys,
                    IN_RUN_WAIT,
                    &stopping,
                )
                .await?
                {
                    self.apply_settled(settled).await?;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn settle_intents(&mut self, intents: Vec<Intent>) -> Result<(), FlowError> {
        let settled = dsco_once::settle(
            self.dsco,
            &self.ctx.store,
            self.settle_rules(),
            Kind::SupplierCancel,
            intents,
        )
        .await?;
        self.apply_settled(settled).await
    }

    /// Whether DSCO's order shows the cancel's lines cancelled (the positive check: found ⇒
    /// done; not found proves nothing).
    async fn shown_on_dsco(&self, dsco_order_id: &str, lines: &str) -> bool {
        let Ok(Some(order)) = self
            .dsco
            .get_order(dsco::OrderKey::DscoOrderId, dsco_order_id)
            .await
        else {
            return false;
        };
        // DSCO's `cancelledQuantity` is cumulative: ours shows as at least what was cancelled
        // before plus what we cancelled.
        let wanted: Vec<(u32, i64, i64)> = lines
            .split('+')
            .filter_map(|p| {
                let mut parts = p.split(':');
                let n = parts.next()?.parse().ok()?;
                let q = parts.next()?.parse().ok()?;
                let before = parts.next().and_then(|b| b.parse().ok()).unwrap_or(0);
                Some((n, q, before))
            })
            .collect();
        !wanted.is_empty()
            && wanted.iter().all(|(n, q, before)| {
                order.line_items.iter().any(|l| {
                    l.line_number == Some(*n) && l.cancelled_quantity.unwrap_or(0) >= before + q
                })
            })
    }

    async fn apply_settled(&mut self, settled: BTreeMap<String, Settled>) -> Result<(), FlowError> {
        for (source, outcome) in settled {
            let Some((order, bp_order_id, none_shipped, lines)) = self.sent_cancel(&source).await?
            else {
                continue;
            };
            let (outcome, clear, event) = match outcome {
                Settled::Succeeded { .. } => (Outcome::Synced, true, "supplier_cancelled"),
                Settled::Failed { messages, .. } => (
                    Outcome::Permanent {
                        reason: format!(
                            "DSCO rejected the cancel: {}",
                            dsco_once::describe(&messages)
                        ),
                        code: messages.first().map(|m| m.code.clone()),
                    },
                    true,
                    "cancel_rejected",
                ),
                Settled::Waiting { reason, again } => (
                    Outcome::PendingUntil { reason, at: again },
                    false,
                    "cancel_waiting",
                ),
                Settled::Absent => {
                    if self.shown_on_dsco(&order.dsco_order_id, &lines).await {
                        (Outcome::Synced, true, "supplier_cancelled")
                    } else {
                        (
                            Outcome::retry(
                                "DSCO's order log shows no trace of the unanswered submit after two searches; sending again",
                            ),
                            true,
                            "cancel_resend",
                        )
                    }
                }
                // The outcome is unknown for good: the intent stays, so nothing is sent again
                // until a person has looked.
                Settled::Lost(reason) => (
                    Outcome::Permanent { reason, code: None },
                    false,
                    "cancel_lost",
                ),
                Settled::Unreadable { reason, error } => (
                    Outcome::Retryable {
                        reason,
                        error: Some(error),
                    },
                    false,
                    "cancel_retry",
                ),
            };
            let synced = matches!(outcome, Outcome::Synced);
            let state = synced.then_some(if none_shipped {
                OrderState::Cancelled
            } else {
                OrderState::Shipped
            });
            let step = Step {
                kind: SUPPLIER_CANCEL_KIND,
                outcome,
                detail: related(&order, bp_order_id, None),
                event,
                state,
            };
            let key = source.clone();
            let dsco_id = order.dsco_order_id.clone();
            let record =
                order_view::record_part_step(self.ctx, &order, &source, step, None, move |tx| {
                    if clear {
                        tx.clear_intent(SUPPLIER_CANCEL_KIND, &key)?;
                    }
                    if synced {
                        crate::sync::orders::cancel_request::answer_cancel_request(
                            tx,
                            &dsco_id,
                            "cancelled",
                        )?;
                    }
                    Ok(())
                })
                .await?;
            tracing::info!(flow = "cancellations", source_id = %source, dsco_order_id = %order.dsco_order_id, status = record.status.as_str(), reason = record.reason.as_deref().unwrap_or(""), "supplier cancel settled");
        }
        Ok(())
    }

    async fn sent_cancel(
        &self,
        source: &str,
    ) -> Result<Option<(OrderRef, u64, bool, String)>, FlowError> {
        let key = source.to_owned();
        Ok(self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let Some(record) =
                        tx.record_for(FlowName::Cancellations, SUPPLIER_CANCEL_KIND, &key)?
                    else {
                        return Ok(None);
                    };
                    let Some(dsco_order_id) = record.related.get("dsco_order_id").cloned() else {
                        return Ok(None);
                    };
                    let bp_order_id = record
                        .related
                        .get("bp_order_id")
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0);
                    let order = OrderRef {
                        dsco_order_id,
                        po_number: record.related.get("po_number").cloned().unwrap_or_default(),
                        retailer: record.related.get("dsco_retailer_id").cloned(),
                    };
                    let none_shipped =
                        record.related.get(NONE_SHIPPED).map(String::as_str) == Some("true");
                    let lines = record.related.get(LINES).cloned().unwrap_or_default();
                    Ok(Some((order, bp_order_id, none_shipped, lines)))
                })
            })
            .await?)
    }

    async fn record_sent(
        &self,
        ready: &Ready,
        outcome: Outcome,
        request_id: Option<String>,
    ) -> Result<(), FlowError> {
        let mut detail = related(&ready.order, ready.bp_order_id, request_id.as_deref());
        detail.related.push((
            NONE_SHIPPED.into(),
            if ready.none_shipped { "true" } else { "false" }.into(),
        ));
        detail.related.push((
            LINES.into(),
            lines_text(&ready.cancel, &ready.cancelled_before),
        ));
        detail.request = serde_json::to_string(&ready.cancel).ok();
        let step = Step {
            kind: SUPPLIER_CANCEL_KIND,
            outcome,
            detail,
            event: "cancel_sent",
            state: None,
        };
        order_view::record_part_step(
            self.ctx,
            &ready.order,
            &ready.source_id,
            step,
            Some(part(ready, request_id)),
            |_| Ok(()),
        )
        .await?;
        Ok(())
    }
}
