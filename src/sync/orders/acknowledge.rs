//! Acknowledging imported orders on DSCO, in batches, with our Brightpearl order id as the
//! `supplierOrderNumber`; an order counts as acknowledged only when the change log says success.

use crate::dsco::{self, Acknowledgement, OrderIdType};
use crate::store::{Outcome, RecordDetail};
use crate::sync::FlowError;
use crate::sync::order_link::{self, ORDER_KIND, OrderRef};
use crate::sync::order_view::{OrderState, Step, record_step, record_step_with};

use super::Run;

/// Orders acknowledged per change-log round trip.
const ACK_BATCH: usize = 100;

impl Run<'_> {
    /// Acknowledge imported orders on DSCO, in batches; an order counts as acknowledged only when
    /// the change log says success.
    pub(super) async fn acknowledge(&mut self) -> Result<(), FlowError> {
        let mut seen = std::collections::HashSet::new();
        let pending: Vec<(OrderRef, u64)> = std::mem::take(&mut self.to_acknowledge)
            .into_iter()
            .filter(|(order, _)| seen.insert(order.dsco_order_id.clone()))
            .collect();
        for chunk in pending.chunks(ACK_BATCH) {
            let acks: Vec<Acknowledgement> = chunk
                .iter()
                .map(|(order, bp)| Acknowledgement {
                    id: order.dsco_order_id.clone(),
                    id_type: OrderIdType::DscoOrderId,
                    supplier_order_number: Some(bp.to_string()),
                })
                .collect();
            let result = self.dsco.acknowledge_orders(&acks).await;
            for (i, (order, bp_order_id)) in chunk.iter().enumerate() {
                let id = &order.dsco_order_id;
                let detail = RecordDetail {
                    related: order.related(Some(*bp_order_id)),
                    request: serde_json::to_string(&acks[i]).ok(),
                    response: None,
                };
                let outcome = result.as_ref().map(|batch| batch.outcomes.get(i));
                let step = match outcome {
                    Ok(Some(o)) if o.status == dsco::ObjectStatus::Success => {
                        let key = id.clone();
                        let step = Step {
                            kind: ORDER_KIND,
                            outcome: Outcome::Synced,
                            detail,
                            event: "acknowledged",
                            state: Some(OrderState::Acknowledged),
                        };
                        record_step_with(self.ctx, order, step, move |tx| {
                            if let Some(mut link) = order_link::find_in(tx, &key)? {
                                link.acknowledged = true;
                                order_link::save(tx, &link)?;
                            }
                            Ok(())
                        })
                        .await?;
                        tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id = *bp_order_id, "order acknowledged on DSCO");
                        continue;
                    }
                    Ok(Some(o)) if o.status == dsco::ObjectStatus::Failure => {
                        let text = o
                            .messages
                            .iter()
                            .map(|m| {
                                format!("{} {}", m.code, m.description_text())
                                    .trim()
                                    .to_owned()
                            })
                            .collect::<Vec<_>>()
                            .join("; ");
                        Step {
                            kind: ORDER_KIND,
                            outcome: Outcome::Permanent {
                                reason: format!("DSCO refused the acknowledgement: {text}"),
                                code: o.messages.first().map(|m| m.code.clone()),
                            },
                            detail,
                            event: "ack_rejected",
                            state: Some(OrderState::NeedsAttention),
                        }
                    }
                    Ok(_) => Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Pending(
                            "acknowledgement sent; DSCO has not reported its outcome yet".into(),
                        ),
                        detail,
                        event: "ack_sent",
                        state: None,
                    },
                    Err(e) => Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::transient(
                            format!("acknowledging on DSCO failed: {e}"),
                            e,
                        ),
                        detail,
                        event: "ack_retry",
                        state: None,
                    },
                };
                record_step(self.ctx, order, step).await?;
            }
        }
        Ok(())
    }
}
