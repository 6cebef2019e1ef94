//! Sending built invoices to DSCO in batches through `sync::dsco_once`, and recording each
//! invoice's outcome once DSCO's invoice log shows it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{INVOICE_KIND, Ready, Run, part, related};
use crate::dsco::{AsyncWrite, ChangeLog, Invoice};
use crate::flow_name::FlowName;
use crate::store::{Intent, Kind, Outcome};
use crate::sync::FlowError;
use crate::sync::dsco_once::{self, Match, SettleRules, Settled, WriteIntent};
use crate::sync::order_link::OrderRef;
use crate::sync::order_view::{self, OrderState, Part, Step};

/// How long a run waits for DSCO to process its own batch before leaving it to the next run.
const IN_RUN_WAIT: Duration = Duration::from_secs(30);
/// A request still processing is looked at again this soon (by a follow-up run).
const PROCESSING_AGAIN: Duration = Duration::from_secs(5);
/// DSCO's small-batch limit is 5 MB (dsco-api.md §3.1); we keep a margin.
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// The record's related key saying a confirmation completes the order's invoicing.
const COMPLETES: &str = "completes_order";

/// How an invoice's log entry is recognised: its `invoiceId` (the payload key).
fn matcher(invoice: &Invoice) -> Match {
    Match {
        key: invoice.invoice_id.clone(),
        tracking: None,
        lines: Vec::new(),
        fields: Vec::new(),
        warehouses: Vec::new(),
        cancel: false,
    }
}

impl Run<'_> {
    fn settle_rules(&self) -> SettleRules {
        SettleRules {
            log: ChangeLog::Invoice,
            grace: self.grace,
            processing_again: PROCESSING_AGAIN,
            idempotent: false,
        }
    }

    /// Send what `prepare` built, batch by batch, and read each batch's outcome.
    pub(super) async fn send_ready(&mut self) -> Result<(), FlowError> {
        let ready = std::mem::take(&mut self.ready);
        if ready.is_empty() {
            return Ok(());
        }
        let batches = dsco_once::batches_by_size(ready, BATCH_BYTES, |r| &r.invoice);
        let count: usize = batches.iter().map(Vec::len).sum();
        self.notes
            .push(format!("{count} invoices in {} batches", batches.len()));
        for batch in batches {
            let invoices: Vec<Invoice> = batch.iter().map(|r| r.invoice.clone()).collect();
            let intents: Vec<(String, WriteIntent)> = batch
                .iter()
                .map(|r| {
                    (
                        r.invoice.invoice_id.clone(),
                        WriteIntent::new(matcher(&r.invoice), &r.invoice),
                    )
                })
                .collect();
            let keys: Vec<String> = intents.iter().map(|(k, _)| k.clone()).collect();
            // Each invoice's record (with what is sent) before its intent: a crash after this
            // leaves a record the next run looks at again, never an intent without one.
            for r in &batch {
                self.record_sent(r, Outcome::Pending("being sent to DSCO".into()), None)
                    .await?;
            }
            crate::crash_point::reached("invoices.after_record");
            dsco_once::open(&self.ctx.store, Kind::Invoice, intents).await?;
            let submitted = dsco_once::submit(
                self.dsco,
                &self.ctx.store,
                AsyncWrite::Invoices,
                Kind::Invoice,
                keys.clone(),
                &invoices,
            )
            .await?;
            crate::crash_point::reached("invoices.after_submit");
            let (outcome, request_id) = submitted.outcome(
                "DSCO's invoice log",
                self.ctx.now() + chrono::Duration::from_std(PROCESSING_AGAIN).unwrap_or_default(),
            );
            for r in &batch {
                self.record_sent(r, outcome.clone(), request_id.clone())
                    .await?;
                tracing::info!(flow = "invoices", invoice_id = %r.invoice.invoice_id, dsco_order_id = %r.order.dsco_order_id, dsco_request_id = request_id.as_deref().unwrap_or(""), "invoice sent to DSCO");
            }
            if request_id.is_some() {
                let stopping = || self.ctx.stopping();
                if let Some(settled) = dsco_once::await_settled(
                    self.dsco,
                    &self.ctx.store,
                    self.settle_rules(),
                    Kind::Invoice,
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

    /// Settle open intents (an earlier run's).
    pub(super) async fn settle_intents(&mut self, intents: Vec<Intent>) -> Result<(), FlowError> {
        let settled = dsco_once::settle(
            self.dsco,
            &self.ctx.store,
            self.settle_rules(),
            Kind::Invoice,
            intents,
        )
        .await?;
        self.apply_settled(settled).await
    }

    /// Record each settled invoice; the intent is cleared with the record where settled.
    async fn apply_settled(&mut self, settled: BTreeMap<String, Settled>) -> Result<(), FlowError> {
        for (invoice_id, outcome) in settled {
            let Some((order, bp_order_id, completes)) = self.sent_invoice(&invoice_id).await?
            else {
                continue; // no record of the send: the intent stays for a person
            };
            let (outcome, clear, event) = match outcome {
                Settled::Succeeded { .. } => (Outcome::Synced, true, "invoiced"),
                Settled::Failed { messages, .. } => (
                    Outcome::Permanent {
                        reason: format!(
                            "DSCO rejected the invoice: {}",
                            dsco_once::describe(&messages)
                        ),
                        code: messages.first().map(|m| m.code.clone()),
                    },
                    true,
                    "invoice_rejected",
                ),
                Settled::Waiting { reason, again } => (
                    Outcome::PendingUntil { reason, at: again },
                    false,
                    "invoice_waiting",
                ),
                Settled::Absent => match self.dsco.find_invoices(&invoice_id).await {
                    // The positive check: DSCO shows it, so it went through.
                    Ok(found) if !found.is_empty() => (Outcome::Synced, true, "invoiced"),
                    _ => (
                        Outcome::retry(
                            "DSCO's invoice log shows no trace of the unanswered submit after two searches; sending again",
                        ),
                        true,
                        "invoice_resend",
                    ),
                },
                // The outcome is unknown for good: the intent stays, so nothing is sent again
                // until a person has looked.
                Settled::Lost(reason) => (
                    Outcome::Permanent { reason, code: None },
                    false,
                    "invoice_lost",
                ),
                Settled::Unreadable { reason, error } => (
                    Outcome::Retryable {
                        reason,
                        error: Some(error),
                    },
                    false,
                    "invoice_retry",
                ),
            };
            let state =
                (matches!(outcome, Outcome::Synced) && completes).then_some(OrderState::Invoiced);
            let step = Step {
                kind: INVOICE_KIND,
                outcome,
                detail: related(&order, Some(bp_order_id), None),
                event,
                state,
            };
            let key = invoice_id.clone();
            let record = order_view::record_part_step(
                self.ctx,
                &order,
                &invoice_id,
                step,
                None,
                move |tx| {
                    if clear {
                        tx.clear_intent(INVOICE_KIND, &key)?;
                    }
                    Ok(())
                },
            )
            .await?;
            tracing::info!(flow = "invoices", invoice_id = %invoice_id, dsco_order_id = %order.dsco_order_id, status = record.status.as_str(), reason = record.reason.as_deref().unwrap_or(""), "invoice settled");
            if record.status == crate::store::RecordStatus::Synced {
                self.clear_reuse_refusals(&order, bp_order_id, &invoice_id)
                    .await?;
            }
        }
        Ok(())
    }

    /// The order now has its own invoice on DSCO: its earlier refusals for an invoice id used
    /// by another order (`{invoiceId}:{dsco_order_id}`) are settled as skipped.
    async fn clear_reuse_refusals(
        &self,
        order: &OrderRef,
        bp_order_id: u64,
        invoice_id: &str,
    ) -> Result<(), FlowError> {
        let id = order.dsco_order_id.clone();
        let view = self
            .ctx
            .store
            .call(move |s| s.read(|tx| order_view::load(tx, &id)))
            .await?;
        let suffix = format!(":{}", order.dsco_order_id);
        let refusals: Vec<String> = view
            .map(|v| {
                v.problems
                    .keys()
                    .filter_map(|k| k.strip_prefix("invoice:"))
                    .filter(|s| s.ends_with(&suffix))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for source in refusals {
            let step = Step {
                kind: INVOICE_KIND,
                outcome: Outcome::Skipped(format!(
                    "order {} is invoiced on DSCO as {invoice_id}",
                    order.dsco_order_id
                )),
                detail: related(order, Some(bp_order_id), None),
                event: "invoice_reuse_resolved",
                state: None,
            };
            order_view::record_part_step(self.ctx, order, &source, step, None, |_| Ok(())).await?;
        }
        Ok(())
    }

    /// The order of a sent invoice, from its record.
    async fn sent_invoice(
        &self,
        invoice_id: &str,
    ) -> Result<Option<(OrderRef, u64, bool)>, FlowError> {
        let key = invoice_id.to_owned();
        Ok(self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let Some(record) = tx.record_for(FlowName::Invoices, INVOICE_KIND, &key)?
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
                    let completes =
                        record.related.get(COMPLETES).map(String::as_str) == Some("true");
                    Ok(Some((order, bp_order_id, completes)))
                })
            })
            .await?)
    }

    /// Record an invoice being sent (with what is sent and, once known, the request id).
    async fn record_sent(
        &self,
        ready: &Ready,
        outcome: Outcome,
        request_id: Option<String>,
    ) -> Result<(), FlowError> {
        let mut detail = related(&ready.order, Some(ready.bp_order_id), request_id.as_deref());
        if ready.invoiced_when_confirmed {
            detail.related.push((COMPLETES.into(), "true".into()));
        }
        detail.request = serde_json::to_string(&ready.invoice).ok();
        let step = Step {
            kind: INVOICE_KIND,
            outcome,
            detail,
            event: "invoice_sent",
            state: None,
        };
        let part: Part = part(ready, self.settings.policy, request_id);
        order_view::record_part_step(
            self.ctx,
            &ready.order,
            &ready.invoice.invoice_id,
            step,
            Some(part),
            |_| Ok(()),
        )
        .await?;
        Ok(())
    }
}
