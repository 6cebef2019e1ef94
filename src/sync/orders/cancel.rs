//! An imported order cancelled on DSCO: its Brightpearl order moves to
//! `cancellations.dsco_cancelled_status_id`, recorded as a `cancellation`.

use crate::brightpearl::{self, Lane, OrderNote, OrderStatusUpdate};
use crate::dsco;
use crate::store::Outcome;
use crate::store::RecordStatus;
use crate::sync::FlowError;
use crate::sync::exactly_once::describe_rejection;
use crate::sync::order_link::{self, OrderLink, OrderRef};
use crate::sync::order_view::{
    self, CancelLineView, CancellationView, OrderState, Step, record_step, record_step_with,
};

use super::{CANCELLATION_KIND, Run};

impl Run<'_> {
    /// Cancelled on DSCO after import: move the Brightpearl order to the configured status.
    pub(super) async fn cancel(
        &mut self,
        order: &dsco::Order,
        mut link: OrderLink,
    ) -> Result<(), FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let bp_order_id = link.bp_order_id;
        let rel = order_ref.ids(Some(bp_order_id));
        let Some(status_id) = self.settings.cancellations.dsco_cancelled_status_id else {
            let reason = format!(
                "cancelled on DSCO, but cancellations.dsco_cancelled_status_id is not set, so Brightpearl order {bp_order_id} was not changed"
            );
            let step = Step {
                kind: CANCELLATION_KIND,
                outcome: Outcome::Permanent { reason, code: None },
                detail: rel,
                event: "cancel_not_configured",
                state: None,
            };
            return record_step(self.ctx, &order_ref, step).await;
        };
        let update = OrderStatusUpdate {
            order_status_id: brightpearl::OrderStatusId(u64::from(status_id)),
            order_note: Some(OrderNote {
                text: format!(
                    "Cancelled on DSCO (DSCO order {id}, PO {}).",
                    order.po_number
                ),
                is_public: Some(false),
                added_on: None,
            }),
        };
        let step = match self
            .bp
            .update_order_status(Lane::Orders, brightpearl::OrderId(bp_order_id), &update)
            .await
        {
            Ok(()) => {
                link.cancelled = true;
                tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, "order cancelled on DSCO: Brightpearl status changed");
                let step = Step {
                    kind: CANCELLATION_KIND,
                    outcome: Outcome::Synced,
                    detail: rel,
                    event: "cancelled",
                    state: Some(OrderState::Cancelled),
                };
                // The view lists DSCO's cancellation with the supplier's.
                let lines: Vec<CancelLineView> = order
                    .line_items
                    .iter()
                    .filter_map(|l| {
                        let quantity = l.cancelled_quantity.filter(|q| *q > 0)?;
                        Some(CancelLineView {
                            line_number: l.line_number?,
                            quantity,
                        })
                    })
                    .collect();
                let code = order.line_items.iter().find_map(|l| l.cancel_code.clone());
                let view_id = id.clone();
                return record_step_with(self.ctx, &order_ref, step, move |tx| {
                    order_link::save(tx, &link)?;
                    if let Some(mut view) = order_view::load_in(tx, &view_id)? {
                        view.put_cancellation(CancellationView {
                            source_id: view_id.clone(),
                            who: "dsco".into(),
                            code,
                            lines,
                            state: RecordStatus::Synced,
                            dsco_request_id: None,
                        });
                        order_view::save(tx, &view)?;
                    }
                    // A retailer's open cancel request is answered: DSCO cancelled the order.
                    super::cancel_request::answer_cancel_request(tx, &view_id, "cancelled")?;
                    Ok(())
                })
                .await;
            }
            Err(e) if e.is_retryable() => Step {
                kind: CANCELLATION_KIND,
                outcome: Outcome::transient(
                    format!("changing the Brightpearl order status failed: {e}"),
                    &e,
                ),
                detail: rel,
                event: "cancel_retry",
                state: None,
            },
            Err(e) => {
                let (reason, code) = describe_rejection(&e);
                Step {
                    kind: CANCELLATION_KIND,
                    outcome: Outcome::Permanent {
                        reason: format!(
                            "cancelled on DSCO, but Brightpearl order {bp_order_id} could not be cancelled: {reason}"
                        ),
                        code,
                    },
                    detail: rel,
                    event: "cancel_refused",
                    state: Some(OrderState::NeedsAttention),
                }
            }
        };
        record_step(self.ctx, &order_ref, step).await
    }
}
