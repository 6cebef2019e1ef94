//! Sending built packages to DSCO in batches through `sync::dsco_once`, and recording each
//! package's outcome once DSCO's change log (or its order) shows it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::build::{self, Built};
use super::{BATCH_BYTES, RECHECK, Run, SHIPMENT_KIND, kind, shipment_view};
use crate::dsco::{self, AsyncWrite, ChangeLog};
use crate::flow_name::FlowName;
use crate::store::{Intent, Outcome, RecordDetail, RecordStatus};
use crate::sync::FlowError;
use crate::sync::dsco_once::{self, Match, SettleRules, Settled, WriteIntent};
use crate::sync::order_link::OrderRef;
use crate::sync::order_view::{self, OrderState, ShipmentView, Step};

/// How long a run waits for DSCO to process its own batch before leaving it to the next run.
const IN_RUN_WAIT: Duration = Duration::from_secs(30);
/// A request still processing is looked at again this soon (by a follow-up run).
const PROCESSING_AGAIN: Duration = Duration::from_secs(5);

impl Run<'_> {
    /// Send what `prepare` built, batch by batch, and read each batch's outcome.
    pub(super) async fn send_ready(&mut self) -> Result<(), FlowError> {
        let ready = std::mem::take(&mut self.ready);
        if ready.is_empty() {
            return Ok(());
        }
        let mut meta: BTreeMap<String, (OrderRef, u64)> = BTreeMap::new();
        let mut packages = Vec::new();
        for (order, bp_order_id, source, built) in ready {
            meta.insert(source, (order, bp_order_id));
            packages.push(built);
        }
        let batches = build::batches(packages, BATCH_BYTES);
        self.notes.push(format!(
            "{} packages in {} batches",
            meta.len(),
            batches.len()
        ));
        for batch in batches {
            let entries: Vec<dsco::ShipmentsForUpdate> = batch
                .iter()
                .map(|(order, packages)| build::entry(order, packages))
                .collect();
            let packages: Vec<&Built> = batch.iter().flat_map(|(_, p)| p.iter()).collect();
            let intents: Vec<(String, WriteIntent)> = packages
                .iter()
                .map(|b| {
                    (
                        b.source_id.clone(),
                        WriteIntent::new(matcher(b), &b.shipment),
                    )
                })
                .collect();
            let keys: Vec<String> = intents.iter().map(|(k, _)| k.clone()).collect();
            // Each package's record (with what is sent) before its intent: a crash anywhere
            // after this leaves a record the next run settles, never an intent without one.
            self.record_batch(
                &packages,
                &meta,
                Outcome::Pending("being sent to DSCO".into()),
                None,
                false,
            )
            .await?;
            crate::crash_point::reached("shipments.after_record");
            dsco_once::open(&self.ctx.store, kind(), intents).await?;
            crate::crash_point::reached("shipments.after_intent");
            let submitted = dsco_once::submit(
                self.dsco,
                &self.ctx.store,
                AsyncWrite::Shipments,
                kind(),
                keys.clone(),
                &entries,
            )
            .await?;
            let (outcome, request_id) = submitted.outcome(
                "DSCO's change log",
                self.ctx.now() + chrono::Duration::from_std(PROCESSING_AGAIN).unwrap_or_default(),
            );
            self.record_batch(&packages, &meta, outcome, request_id.clone(), true)
                .await?;
            if request_id.is_some() {
                self.await_batch(&keys).await?;
            }
        }
        Ok(())
    }

    /// Record every package of a batch with `outcome` (and the request id, once known).
    async fn record_batch(
        &self,
        packages: &[&Built],
        meta: &BTreeMap<String, (OrderRef, u64)>,
        outcome: Outcome,
        request_id: Option<String>,
        sent: bool,
    ) -> Result<(), FlowError> {
        for built in packages {
            let Some((order, bp_order_id)) = meta.get(&built.source_id) else {
                continue;
            };
            let view = shipment_view(
                &built.source_id,
                built,
                RecordStatus::Pending,
                request_id.clone(),
                built
                    .shipment
                    .ship_date
                    .as_deref()
                    .and_then(super::parse_bp_date),
            );
            self.record_sent(
                order,
                *bp_order_id,
                built,
                view,
                outcome.clone(),
                request_id.clone(),
                sent,
            )
            .await?;
        }
        Ok(())
    }

    /// Wait (a bounded time) for DSCO to process a batch this run sent, settling it as soon as
    /// the change log shows it.
    async fn await_batch(&mut self, keys: &[String]) -> Result<(), FlowError> {
        let polling = self.dsco.polling().clone();
        let started = tokio::time::Instant::now();
        let mut look = 0u32;
        loop {
            let delay = polling.delay(look);
            if started.elapsed() + delay > IN_RUN_WAIT || self.ctx.stopping() {
                return Ok(()); // the next run settles it
            }
            tokio::time::sleep(delay).await;
            look += 1;
            let wanted = keys.to_vec();
            let intents: Vec<Intent> = self
                .ctx
                .store
                .call(move |s| {
                    s.read(|tx| {
                        let mut out = Vec::new();
                        for key in &wanted {
                            if let Some(i) = tx.intent(SHIPMENT_KIND, key)? {
                                out.push(i);
                            }
                        }
                        Ok(out)
                    })
                })
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
            let waiting = settled
                .values()
                .all(|s| matches!(s, Settled::Waiting { .. }));
            if !waiting {
                self.apply_settled(settled).await?;
                return Ok(());
            }
        }
    }

    fn settle_rules(&self) -> SettleRules {
        SettleRules {
            log: ChangeLog::Order,
            grace: self.grace,
            processing_again: PROCESSING_AGAIN,
            idempotent: false,
        }
    }

    /// Settle open intents (an earlier run's, or this run's after its wait).
    pub(super) async fn settle_intents(&mut self, intents: Vec<Intent>) -> Result<(), FlowError> {
        let settled = dsco_once::settle(
            self.dsco,
            &self.ctx.store,
            self.settle_rules(),
            kind(),
            intents,
        )
        .await?;
        self.apply_settled(settled).await
    }

    /// Record each settled package; the intent is cleared with the record where settled.
    async fn apply_settled(&mut self, settled: BTreeMap<String, Settled>) -> Result<(), FlowError> {
        for (source, outcome) in settled {
            let Some((order, bp_order_id, view)) = self.sent_package(&source).await? else {
                // No record of the send (should not happen): keep the intent for a person.
                continue;
            };
            let (outcome, clear, event) = match outcome {
                Settled::Succeeded { .. } => (Outcome::Synced, true, "shipped"),
                Settled::Failed { messages, .. } => (
                    Outcome::Permanent {
                        reason: format!(
                            "DSCO rejected the shipment: {}",
                            dsco_once::describe(&messages)
                        ),
                        code: messages.first().map(|m| m.code.clone()),
                    },
                    true,
                    "shipment_rejected",
                ),
                Settled::Waiting { reason, again } => (
                    Outcome::PendingUntil { reason, at: again },
                    false,
                    "shipment_waiting",
                ),
                Settled::Absent => (
                    Outcome::retry(
                        "DSCO's change log shows no trace of the unanswered submit after two searches; sending again",
                    ),
                    true,
                    "shipment_resend",
                ),
                Settled::Lost(reason) => (
                    Outcome::Permanent { reason, code: None },
                    true,
                    "shipment_lost",
                ),
                Settled::Unreadable { reason, error } => (
                    Outcome::Retryable {
                        reason,
                        error: Some(error),
                    },
                    false,
                    "shipment_retry",
                ),
            };
            let state = if matches!(outcome, Outcome::Synced) {
                Some(self.progress_after(&order, &view).await)
            } else {
                None
            };
            let mut view = view;
            view.state = RecordStatus::Synced;
            self.record_settled(
                &order,
                bp_order_id,
                &source,
                view,
                outcome,
                clear,
                event,
                state,
            )
            .await?;
        }
        Ok(())
    }

    /// The order and package view of a sent package, from its record and the order's view.
    async fn sent_package(
        &self,
        source: &str,
    ) -> Result<Option<(OrderRef, u64, ShipmentView)>, FlowError> {
        let source = source.to_owned();
        Ok(self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let Some(record) =
                        tx.record_for(FlowName::Shipments, SHIPMENT_KIND, &source)?
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
                    let view = order_view::load(tx, &dsco_order_id)?;
                    let shipment = view
                        .as_ref()
                        .and_then(|v| v.shipments.iter().find(|s| s.source_id == source).cloned());
                    let Some(shipment) = shipment else {
                        return Ok(None);
                    };
                    let order = OrderRef {
                        dsco_order_id,
                        po_number: record.related.get("po_number").cloned().unwrap_or_default(),
                        retailer: record.related.get("dsco_retailer_id").cloned(),
                    };
                    Ok(Some((order, bp_order_id, shipment)))
                })
            })
            .await?)
    }

    /// `shipped` when every unit is shipped or cancelled on DSCO counting this package and our
    /// other confirmed ones, else `partially_shipped`. When DSCO's order cannot be read now, at
    /// least `partially_shipped`, and the order is looked at again by the next runs.
    async fn progress_after(&mut self, order: &OrderRef, package: &ShipmentView) -> OrderState {
        // The order as this run read it before sending (this package is not in its
        // `packages[]`, so it counts as ours confirmed but not yet visible); read it only when
        // the package was sent by an earlier run.
        let dsco_order = match self.dsco_orders.get(&order.dsco_order_id) {
            Some(o) => Some(o.clone()),
            None => self
                .dsco
                .get_order(dsco::OrderKey::DscoOrderId, &order.dsco_order_id)
                .await
                .ok()
                .flatten(),
        };
        let id = order.dsco_order_id.clone();
        let view = self
            .ctx
            .store
            .call(move |s| s.read(|tx| order_view::load(tx, &id)))
            .await
            .ok()
            .flatten();
        let (Some(dsco_order), Some(mut view)) = (dsco_order, view) else {
            // On the list at once (not at the run's end): a run that stops early keeps it.
            let id = order.dsco_order_id.clone();
            let listed = self
                .ctx
                .store
                .call(move |s| {
                    s.write(|tx| {
                        let mut list: Recheck = tx.cursor(RECHECK)?.unwrap_or_default();
                        list.entry(id).or_insert(tx.now());
                        tx.set_cursor(RECHECK, &list)
                    })
                })
                .await;
            if let Err(e) = listed {
                tracing::warn!(flow = "shipments", dsco_order_id = %order.dsco_order_id, error = %e, "could not list the order for a state check");
            }
            return OrderState::PartiallyShipped;
        };
        let mut confirmed = package.clone();
        confirmed.state = RecordStatus::Synced;
        view.put_shipment(confirmed);
        state_of(&dsco_order, &view)
    }

    /// Orders whose state after a confirmation could not be worked out: DSCO's order is read
    /// again, and each leaves the list in the transaction that sets its state. An order DSCO
    /// does not answer for a day leaves the list with a warning (its state stays as it is).
    pub(super) async fn recheck_states(&mut self) -> Result<(), FlowError> {
        let list: Recheck = self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.cursor(RECHECK)))
            .await?
            .unwrap_or_default();
        let now = self.ctx.now();
        for (id, since) in list {
            let read = self.dsco.get_order(dsco::OrderKey::DscoOrderId, &id).await;
            let dsco_order = match read {
                Ok(Some(o)) => Some(o),
                _ if now - since > RECHECK_FOR => {
                    tracing::warn!(flow = "shipments", dsco_order_id = %id, "DSCO's order could not be read for a day; its state is left as it is");
                    None
                }
                _ => continue,
            };
            let key = id.clone();
            self.ctx
                .store
                .call(move |s| {
                    s.write(|tx| {
                        if let Some(dsco_order) = dsco_order
                            && let Some(mut view) = order_view::load_in(tx, &key)?
                        {
                            let state = state_of(&dsco_order, &view);
                            view.advance("shipment_state_checked", state, tx.now());
                            order_view::save(tx, &view)?;
                            if state == OrderState::Shipped {
                                crate::sync::orders::cancel_request::answer_cancel_request(
                                    tx, &key, "shipped",
                                )?;
                            }
                        }
                        let mut list: Recheck = tx.cursor(RECHECK)?.unwrap_or_default();
                        list.remove(&key);
                        tx.set_cursor(RECHECK, &list)
                    })
                })
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_settled(
        &self,
        order: &OrderRef,
        bp_order_id: u64,
        source: &str,
        view: ShipmentView,
        outcome: Outcome,
        clear: bool,
        event: &'static str,
        state: Option<OrderState>,
    ) -> Result<(), FlowError> {
        let detail = related(
            order,
            bp_order_id,
            view.tracking.as_deref(),
            view.dsco_request_id.as_deref(),
        );
        let key = source.to_owned();
        // A confirmed package changed stock: its SKUs go to the inventory flow's next delta.
        let shipped: Vec<String> = if matches!(outcome, Outcome::Synced) {
            view.lines
                .iter()
                .filter_map(|l| l.sku.as_ref().map(|s| format!("sku:{s}")))
                .collect()
        } else {
            Vec::new()
        };
        // The order shipped: a retailer's open cancel request is answered.
        let answers_request = state == Some(OrderState::Shipped);
        let dsco_order_id = order.dsco_order_id.clone();
        let step = Step {
            kind: SHIPMENT_KIND,
            outcome,
            detail,
            event,
            state,
        };
        let record = order_view::record_other_step(
            self.ctx,
            order,
            source,
            step,
            Some(view.clone()),
            move |tx| {
                if clear {
                    tx.clear_intent(SHIPMENT_KIND, &key)?;
                }
                if !shipped.is_empty() {
                    tx.queue_stock_changes(&shipped)?;
                }
                if answers_request {
                    crate::sync::orders::cancel_request::answer_cancel_request(
                        tx,
                        &dsco_order_id,
                        "shipped",
                    )?;
                }
                Ok(())
            },
        )
        .await?;
        tracing::info!(flow = "shipments", goods_out_note_id = %source, dsco_order_id = %order.dsco_order_id, tracking = view.tracking.as_deref().unwrap_or(""), status = record.status.as_str(), reason = record.reason.as_deref().unwrap_or(""), "shipment settled");
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_sent(
        &self,
        order: &OrderRef,
        bp_order_id: u64,
        built: &Built,
        view: ShipmentView,
        outcome: Outcome,
        request_id: Option<String>,
        sent: bool,
    ) -> Result<(), FlowError> {
        let mut detail = related(order, bp_order_id, built.tracking(), request_id.as_deref());
        detail.request = serde_json::to_string(&built::entry_of(built)).ok();
        let step = Step {
            kind: SHIPMENT_KIND,
            outcome,
            detail,
            event: "shipment_sent",
            state: None,
        };
        order_view::record_other_step(self.ctx, order, &built.source_id, step, Some(view), |_| {
            Ok(())
        })
        .await?;
        if sent {
            tracing::info!(flow = "shipments", goods_out_note_id = %built.source_id, dsco_order_id = %order.dsco_order_id, tracking = built.tracking().unwrap_or(""), dsco_request_id = request_id.as_deref().unwrap_or(""), "shipment sent to DSCO");
        }
        Ok(())
    }
}

mod built {
    use super::Built;

    /// The wire entry of one package alone (what the record shows as its request).
    pub(super) fn entry_of(built: &Built) -> crate::dsco::ShipmentsForUpdate {
        super::build::entry(&built.dsco_order_id, std::slice::from_ref(built))
    }
}

/// DSCO orders whose state is to be worked out again, with when they were listed.
type Recheck = BTreeMap<String, chrono::DateTime<chrono::Utc>>;
/// How long an order stays on the recheck list.
const RECHECK_FOR: chrono::Duration = chrono::Duration::days(1);

/// The order's lifecycle step by DSCO's order and our confirmed packages not yet visible there.
fn state_of(dsco_order: &dsco::Order, view: &order_view::OrderView) -> OrderState {
    let extra = super::in_flight(dsco_order, Some(view));
    if build::fully_shipped(dsco_order, &extra) {
        OrderState::Shipped
    } else {
        OrderState::PartiallyShipped
    }
}

/// How a package's change-log entry is recognised: its order and tracking number (untracked:
/// its lines).
fn matcher(built: &Built) -> Match {
    let mut lines: Vec<(u32, i64)> = built
        .lines
        .iter()
        .map(|l| (l.line_number, l.quantity))
        .collect();
    lines.sort_unstable();
    Match {
        key: built.dsco_order_id.clone(),
        tracking: built.tracking().map(str::to_owned),
        lines,
        fields: Vec::new(),
        warehouses: Vec::new(),
        cancel: false,
    }
}

fn related(
    order: &OrderRef,
    bp_order_id: u64,
    tracking: Option<&str>,
    request_id: Option<&str>,
) -> RecordDetail {
    let mut related = order.related(Some(bp_order_id));
    related.push(("dsco_order_id".into(), order.dsco_order_id.clone()));
    if let Some(t) = tracking {
        related.push(("tracking".into(), t.to_owned()));
    }
    if let Some(r) = request_id {
        related.push(("dsco_request_id".into(), r.to_owned()));
    }
    RecordDetail {
        related,
        ..Default::default()
    }
}
