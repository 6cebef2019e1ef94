//! Acknowledging imported orders on DSCO, with our Brightpearl order id as the
//! `supplierOrderNumber`, through the one exactly-once procedure for DSCO writes
//! (`sync::dsco_once`): an intent per order before the submit, DSCO's `requestId` stored in it,
//! and an order counts as acknowledged only when the change log says success. A run waits a
//! bounded time for its own batches; what DSCO has not processed by then is settled by the next
//! run, before anything is sent again.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::dsco::{self, Acknowledgement, AsyncWrite, ChangeLog, OrderIdType};
use crate::store::{Intent, Kind, Outcome, RecordDetail};
use crate::sync::FlowError;
use crate::sync::dsco_once::{self, Match, SettleRules, Settled, Submitted, WriteIntent};
use crate::sync::order_link::{self, ORDER_KIND, OrderRef};
use crate::sync::order_view::{self, OrderState, Step, record_step, record_step_with};

use super::Run;

/// Orders acknowledged per submit.
const ACK_BATCH: usize = 100;
/// Intent kind of acknowledgements (their records are the orders' `order` records).
pub const ACK_KIND: &str = "acknowledgement";
/// How long a run waits for DSCO to process its own acknowledgements.
const IN_RUN_WAIT: Duration = Duration::from_secs(30);
/// A request still processing is looked at again this soon.
const PROCESSING_AGAIN: Duration = Duration::from_secs(5);

pub fn ack_kind() -> Kind {
    Kind::from(ACK_KIND)
}

impl Run<'_> {
    fn ack_rules(&self) -> SettleRules {
        SettleRules {
            log: ChangeLog::Order,
            grace: self.grace,
            processing_again: PROCESSING_AGAIN,
            idempotent: true,
        }
    }

    /// Acknowledgements an earlier run sent and DSCO had not reported on: settled by the change
    /// log before anything is sent again.
    pub(super) async fn settle_acks(&mut self) -> Result<(), FlowError> {
        let intents = self
            .store()
            .call(|s| s.read(|tx| tx.intents(ack_kind())))
            .await?;
        if intents.is_empty() {
            return Ok(());
        }
        self.notes.push(format!(
            "{} open acknowledgements looked up in DSCO's change log",
            intents.len()
        ));
        let settled = dsco_once::settle(
            self.dsco,
            self.store(),
            self.ack_rules(),
            ack_kind(),
            intents,
        )
        .await?;
        self.apply_acks(settled).await
    }

    /// Acknowledge imported orders on DSCO, in batches; orders whose earlier acknowledgement is
    /// still being settled are not sent again.
    pub(super) async fn acknowledge(&mut self) -> Result<(), FlowError> {
        let mut seen = HashSet::new();
        let wanted: Vec<(OrderRef, u64)> = std::mem::take(&mut self.to_acknowledge)
            .into_iter()
            .filter(|(order, _)| seen.insert(order.dsco_order_id.clone()))
            .collect();
        let pending: Vec<(OrderRef, u64)> = self
            .store()
            .call(move |s| {
                s.read(|tx| {
                    let mut out = Vec::new();
                    for (order, bp) in wanted {
                        if tx.intent(ack_kind(), &order.dsco_order_id)?.is_none() {
                            out.push((order, bp));
                        }
                    }
                    Ok(out)
                })
            })
            .await?;
        let mut accepted = Vec::new();
        let mut chunks: Vec<Vec<(OrderRef, u64)>> =
            pending.chunks(ACK_BATCH).map(<[_]>::to_vec).collect();
        chunks.reverse();
        while let Some(chunk) = chunks.pop() {
            let acks: Vec<Acknowledgement> = chunk
                .iter()
                .map(|(order, bp)| Acknowledgement {
                    id: order.dsco_order_id.clone(),
                    id_type: OrderIdType::DscoOrderId,
                    supplier_order_number: Some(bp.to_string()),
                })
                .collect();
            let intents: Vec<(String, WriteIntent)> = acks
                .iter()
                .map(|a| {
                    let matcher = Match {
                        key: a.id.clone(),
                        tracking: None,
                        lines: Vec::new(),
                        warehouses: Vec::new(),
                        cancel: false,
                        fields: a
                            .supplier_order_number
                            .iter()
                            .map(|n| ("supplierOrderNumber".to_owned(), n.clone()))
                            .collect(),
                    };
                    (a.id.clone(), WriteIntent::new(matcher, a))
                })
                .collect();
            let keys: Vec<String> = intents.iter().map(|(k, _)| k.clone()).collect();
            dsco_once::open(self.store(), ack_kind(), intents).await?;
            let submitted = dsco_once::submit(
                self.dsco,
                self.store(),
                AsyncWrite::Acknowledgements,
                ack_kind(),
                keys.clone(),
                &acks,
            )
            .await?;
            if let Submitted::Rejected { .. } = &submitted
                && chunk.len() > 1
            {
                // DSCO refused the whole batch: halve it until the order it refuses is alone,
                // so one bad acknowledgement does not hold back the others.
                let (left, right) = chunk.split_at(chunk.len() / 2);
                chunks.push(right.to_vec());
                chunks.push(left.to_vec());
                continue;
            }
            let (outcome, event, state) = match submitted {
                Submitted::Accepted(rid) => {
                    accepted.extend(keys);
                    (
                        Outcome::PendingUntil {
                            reason: format!(
                                "acknowledgement sent in request {rid}; DSCO has not reported its outcome yet"
                            ),
                            at: self.ctx.now()
                                + chrono::Duration::from_std(PROCESSING_AGAIN).unwrap_or_default(),
                        },
                        "ack_sent",
                        None,
                    )
                }
                Submitted::Rejected { reason, code } => (
                    Outcome::Permanent {
                        reason: format!("DSCO refused the acknowledgement: {reason}"),
                        code,
                    },
                    "ack_rejected",
                    Some(OrderState::NeedsAttention),
                ),
                Submitted::NotApplied { reason, error } | Submitted::Unknown { reason, error } => (
                    Outcome::Retryable {
                        reason: format!("acknowledging on DSCO: {reason}"),
                        error: Some(error),
                    },
                    "ack_retry",
                    None,
                ),
            };
            for (i, (order, bp_order_id)) in chunk.iter().enumerate() {
                let detail = RecordDetail {
                    related: order.related(Some(*bp_order_id)),
                    request: serde_json::to_string(&acks[i]).ok(),
                    response: None,
                };
                let step = Step {
                    kind: ORDER_KIND,
                    outcome: outcome.clone(),
                    detail,
                    event,
                    state,
                };
                record_step(self.ctx, order, step).await?;
            }
        }
        if !accepted.is_empty() {
            self.await_acks(&accepted).await?;
        }
        Ok(())
    }

    /// Wait (a bounded time) for DSCO to process this run's acknowledgements, settling them as
    /// soon as the change log shows them; the rest are settled by the next run.
    async fn await_acks(&mut self, keys: &[String]) -> Result<(), FlowError> {
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
                .store()
                .call(move |s| {
                    s.read(|tx| {
                        let mut out = Vec::new();
                        for key in &wanted {
                            if let Some(i) = tx.intent(ack_kind(), key)? {
                                out.push(i);
                            }
                        }
                        Ok(out)
                    })
                })
                .await?;
            let settled = dsco_once::settle(
                self.dsco,
                self.store(),
                self.ack_rules(),
                ack_kind(),
                intents,
            )
            .await?;
            let (waiting, done): (BTreeMap<_, _>, BTreeMap<_, _>) = settled
                .into_iter()
                .partition(|(_, s)| matches!(s, Settled::Waiting { .. }));
            open = waiting.into_keys().collect();
            self.apply_acks(done).await?;
        }
        if !open.is_empty() {
            self.notes.push(format!(
                "{} acknowledgements still being processed by DSCO; the next run reads their outcome",
                open.len()
            ));
        }
        Ok(())
    }

    /// Record each settled acknowledgement on its order; the intent is cleared with the record
    /// where it is settled.
    async fn apply_acks(&mut self, settled: BTreeMap<String, Settled>) -> Result<(), FlowError> {
        for (id, outcome) in settled {
            let key = id.clone();
            let found = self
                .store()
                .call(move |s| {
                    s.read(|tx| {
                        let Some(link) = order_link::find(tx, &key)? else {
                            return Ok(None);
                        };
                        let view = order_view::load(tx, &key)?;
                        let order = OrderRef {
                            dsco_order_id: key.clone(),
                            po_number: view
                                .as_ref()
                                .map(|v| v.po_number.clone())
                                .unwrap_or_default(),
                            retailer: view.and_then(|v| v.dsco_retailer_id),
                        };
                        Ok(Some((order, link.bp_order_id, link.cancelled)))
                    })
                })
                .await?;
            let (order, bp_order_id) = match found {
                Some((order, bp_order_id, false)) => (order, bp_order_id),
                // No link (should not happen), or cancelled since: the acknowledgement no
                // longer matters, whatever DSCO made of it.
                _ => {
                    let key = id.clone();
                    self.store()
                        .call(move |s| s.write(|tx| tx.clear_intent(ack_kind(), &key).map(|_| ())))
                        .await?;
                    continue;
                }
            };
            let detail = order.ids(Some(bp_order_id));
            let (outcome, event, state, clear) = match outcome {
                Settled::Succeeded { .. } => {
                    let key = id.clone();
                    let step = Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Synced,
                        detail,
                        event: "acknowledged",
                        state: Some(OrderState::Acknowledged),
                    };
                    record_step_with(self.ctx, &order, step, move |tx| {
                        if let Some(mut link) = order_link::find_in(tx, &key)? {
                            link.acknowledged = true;
                            order_link::save(tx, &link)?;
                        }
                        tx.clear_intent(ack_kind(), &key)?;
                        Ok(())
                    })
                    .await?;
                    tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, "order acknowledged on DSCO");
                    continue;
                }
                Settled::Failed { messages, .. } => (
                    Outcome::Permanent {
                        reason: format!(
                            "DSCO refused the acknowledgement: {}",
                            dsco_once::describe(&messages)
                        ),
                        code: messages.first().map(|m| m.code.clone()),
                    },
                    "ack_rejected",
                    Some(OrderState::NeedsAttention),
                    true,
                ),
                Settled::Waiting { reason, again } => (
                    Outcome::PendingUntil { reason, at: again },
                    "ack_waiting",
                    None,
                    false,
                ),
                Settled::Absent => {
                    // Never reached DSCO: the intent closes and the order's record (due) brings
                    // it back, acknowledged again only if DSCO still shows it new.
                    let key = id.clone();
                    self.store()
                        .call(move |s| s.write(|tx| tx.clear_intent(ack_kind(), &key).map(|_| ())))
                        .await?;
                    continue;
                }
                Settled::Lost(reason) => (
                    Outcome::Permanent {
                        reason: format!("acknowledgement: {reason}"),
                        code: None,
                    },
                    "ack_lost",
                    Some(OrderState::NeedsAttention),
                    true,
                ),
                Settled::Unreadable { reason, error } => (
                    Outcome::Retryable {
                        reason,
                        error: Some(error),
                    },
                    "ack_retry",
                    None,
                    false,
                ),
            };
            let step = Step {
                kind: ORDER_KIND,
                outcome,
                detail,
                event,
                state,
            };
            let key = id.clone();
            record_step_with(self.ctx, &order, step, move |tx| {
                if clear {
                    tx.clear_intent(ack_kind(), &key)?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }
}

/// DSCO shows our acknowledgement (the order names our Brightpearl order): a positive check
/// that settles an open acknowledgement intent.
pub fn ack_seen(dsco_order: &dsco::Order, bp_order_id: u64) -> bool {
    dsco_order.supplier_order_number.as_deref() == Some(bp_order_id.to_string().as_str())
}
