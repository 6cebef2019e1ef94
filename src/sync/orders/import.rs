//! Getting an order into Brightpearl: take over an order another connector made (found by
//! `externalRef` or, in one search per run, `customerRefs`), else map it, resolve its customer
//! and create the sales order exactly once, then add its note.

use std::collections::BTreeMap;

use crate::brightpearl::{self, Lane, OrderNote};
use crate::dsco;
use crate::store::{Outcome, RecordDetail};
use crate::sync::FlowError;
use crate::sync::contacts::{Customer, Resolver};
use crate::sync::exactly_once::{Attempt, create_once};
use crate::sync::order_link::{self, ORDER_KIND, OrderLink, OrderRef, lowest_with_external_ref};
use crate::sync::order_view::{self, OrderState, Step, record_step, record_step_with};

use super::Run;
use super::sales_order::{self, Inputs, Prepared};

impl Run<'_> {
    /// Orders another connector already acknowledged (a `supplierOrderNumber` is set) and that we
    /// have no link for: find their Brightpearl orders with one `customerRefs` search.
    pub(super) async fn take_over_candidates(&mut self, orders: &BTreeMap<String, dsco::Order>) {
        let acknowledged: Vec<(String, String)> = orders
            .iter()
            .filter(|(_, o)| {
                o.supplier_order_number
                    .as_deref()
                    .is_some_and(|s| !s.is_empty())
            })
            .map(|(id, o)| (id.clone(), o.po_number.clone()))
            .collect();
        if acknowledged.is_empty() {
            return;
        }
        // Orders already linked (ours, acknowledged by us) need no search.
        let unlinked = self
            .store()
            .call(move |s| {
                s.read(|tx| {
                    let mut refs = Vec::new();
                    for (id, po) in acknowledged {
                        if order_link::find(tx, &id)?.is_none() {
                            refs.push(po);
                        }
                    }
                    Ok(refs)
                })
            })
            .await;
        let mut refs = match unlinked {
            Ok(refs) => refs,
            Err(e) => {
                tracing::warn!(flow = "orders", error = %e, "could not read order links for take-over; orders are checked one by one");
                return;
            }
        };
        if refs.is_empty() {
            return;
        }
        refs.sort();
        refs.dedup();
        match self
            .bp
            .search_sales_orders_by_customer_refs(Lane::Orders, &refs)
            .await
        {
            Ok(rows) => {
                for row in rows {
                    if let Some(r) = row.customer_ref.clone() {
                        self.take_over_by_ref
                            .entry(r)
                            .or_default()
                            .push((row.sales_order_id.0, row.external_ref.clone()));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(flow = "orders", error = %e, "customerRefs search for take-over failed; orders are checked one by one")
            }
        }
    }

    /// An order another connector created and acknowledged: link it instead of creating it.
    pub(super) async fn take_over(&mut self, order: &dsco::Order) -> Result<bool, FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let by_external_ref = match self
            .bp
            .search_orders_by_external_ref(Lane::Orders, &id)
            .await
        {
            Ok(rows) => lowest_with_external_ref(rows, &id),
            Err(e) => {
                let reason = format!(
                    "could not search Brightpearl for an order another connector created: {e}"
                );
                let step = Step {
                    kind: ORDER_KIND,
                    outcome: Outcome::transient(reason, &e),
                    detail: order_ref.ids(None),
                    event: "take_over_search_failed",
                    state: None,
                };
                record_step(self.ctx, &order_ref, step).await?;
                return Ok(true);
            }
        };
        let supplier_number = order.supplier_order_number.clone().unwrap_or_default();
        let by_customer_ref = self
            .take_over_by_ref
            .get(&order.po_number)
            .and_then(|hits| {
                // A PO number can span several DSCO orders: prefer the order DSCO names, then an
                // exact externalRef, then a single hit.
                hits.iter()
                    .find(|(bp, _)| bp.to_string() == supplier_number)
                    .or_else(|| {
                        hits.iter()
                            .find(|(_, ext)| ext.as_deref() == Some(id.as_str()))
                    })
                    .or_else(|| {
                        // A single hit only when it names no other DSCO order.
                        (hits.len() == 1 && hits[0].1.as_deref().is_none_or(|ext| ext == id))
                            .then(|| &hits[0])
                    })
                    .map(|(bp, _)| *bp)
            });
        let Some(bp_order_id) = by_external_ref.or(by_customer_ref) else {
            return Ok(false);
        };
        let link = OrderLink {
            acknowledged: true,
            ..OrderLink::new(&id, bp_order_id, self.ctx.now())
        };
        record_step_with(
            self.ctx,
            &order_ref,
            Step {
                kind: ORDER_KIND,
                outcome: Outcome::Synced,
                detail: order_ref.ids(Some(bp_order_id)),
                event: "linked_existing",
                state: Some(OrderState::Acknowledged),
            },
            move |tx| order_link::save(tx, &link),
        )
        .await?;
        tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, "order already in Brightpearl (another connector): linked");
        Ok(true)
    }

    /// Map the order and resolve its customer (either may need a person), then create it.
    pub(super) async fn import(&mut self, order: &dsco::Order) -> Result<(), FlowError> {
        let order_ref = OrderRef::of(order);
        let id = order_ref.dsco_order_id.clone();
        let retailer = order.dsco_retailer_id.clone().unwrap_or_default();
        let defaults = self.settings.orders_for_retailer(&retailer);
        let prepared: Prepared = match sales_order::prepare(
            order,
            &Inputs {
                defaults: &defaults,
                matcher: &self.matcher,
                products: &self.products,
                shipping_methods: &self.shipping_methods,
                reference: self.reference.as_ref(),
            },
        ) {
            Ok(p) => p,
            Err(problems) => {
                tracing::info!(flow = "orders", dsco_order_id = %id, problems = problems.len(), "order needs attention");
                return record_step(
                    self.ctx,
                    &order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Permanent {
                            reason: problems.join("; "),
                            code: None,
                        },
                        detail: order_ref.ids(None),
                        event: "needs_attention",
                        state: Some(OrderState::NeedsAttention),
                    },
                )
                .await;
            }
        };
        let mut resolver = Resolver {
            client: self.bp,
            store: &self.ctx.store,
            lock: &self.ctx.contacts,
            settings: &self.settings.customers,
            mapped: &self.customers,
            grace: self.grace,
            cache: std::mem::take(&mut self.contact_cache),
        };
        let customer = resolver.resolve(order).await;
        self.contact_cache = resolver.cache;
        let step = match customer? {
            Customer::Contact(contact_id) => {
                return self.create(&order_ref, &prepared, contact_id).await;
            }
            Customer::NeedsAttention { reason, code } => Step {
                kind: ORDER_KIND,
                outcome: Outcome::Permanent { reason, code },
                detail: order_ref.ids(None),
                event: "needs_attention",
                state: Some(OrderState::NeedsAttention),
            },
            Customer::Retry(reason) => Step {
                kind: ORDER_KIND,
                outcome: Outcome::retry(reason),
                detail: order_ref.ids(None),
                event: "customer_retry",
                state: None,
            },
            Customer::Waiting(reason) => Step {
                kind: ORDER_KIND,
                outcome: Outcome::Pending(reason),
                detail: order_ref.ids(None),
                event: "customer_waiting",
                state: Some(OrderState::Pending),
            },
        };
        record_step(self.ctx, &order_ref, step).await
    }

    /// Create the sales order exactly once (see `sync::exactly_once`), then link it, clear its
    /// intent and queue its acknowledgement.
    async fn create(
        &mut self,
        order_ref: &OrderRef,
        prepared: &Prepared,
        contact_id: u64,
    ) -> Result<(), FlowError> {
        let id = order_ref.dsco_order_id.clone();
        let sales_order = prepared.with_customer(contact_id);
        let request = serde_json::to_string(&sales_order).ok();
        let create_lines = sales_order_lines(&sales_order);
        let bp = self.bp;
        let search_id = id.clone();
        let settled = self.settled_for(&id).await;
        let attempt = create_once(
            &self.ctx.store,
            ORDER_KIND,
            &id,
            self.grace,
            || async move {
                if let Some(found) = settled {
                    return Ok(found);
                }
                let rows = bp
                    .search_orders_by_external_ref(Lane::Orders, &search_id)
                    .await?;
                Ok(lowest_with_external_ref(rows, &search_id))
            },
            || async move {
                bp.create_sales_order(Lane::Orders, &sales_order)
                    .await
                    .map(|o| o.0)
            },
        )
        .await?;
        let detail = |bp_order_id: Option<u64>, response: Option<String>| RecordDetail {
            related: order_ref.related(bp_order_id),
            request: request.clone(),
            response,
        };
        match attempt {
            Attempt::Created(bp_order_id) | Attempt::Found(bp_order_id) => {
                let how = if matches!(attempt, Attempt::Created(_)) {
                    "created"
                } else {
                    "found_after_unanswered_create"
                };
                let mut link = OrderLink {
                    pending_note: prepared.note.clone(),
                    create_lines: create_lines.clone(),
                    ..OrderLink::new(&id, bp_order_id, self.ctx.now())
                };
                let link_for_tx = link.clone();
                let intent_key = id.clone();
                record_step_with(
                    self.ctx,
                    order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Pending(format!(
                            "imported as Brightpearl order {bp_order_id}; acknowledging on DSCO"
                        )),
                        detail: detail(
                            Some(bp_order_id),
                            Some(format!("{{\"response\":{bp_order_id}}}")),
                        ),
                        event: how,
                        state: Some(OrderState::Imported),
                    },
                    move |tx| {
                        order_link::save(tx, &link_for_tx)?;
                        tx.clear_intent(ORDER_KIND, &intent_key)?;
                        Ok(())
                    },
                )
                .await?;
                tracing::info!(flow = "orders", run_id = self.ctx.run_id.0, dsco_order_id = %id, bp_order_id, how, "order imported");
                if let Some(text) = &prepared.note {
                    self.add_note(order_ref, text, &mut link).await?;
                }
                self.to_acknowledge.push((order_ref.clone(), bp_order_id));
                Ok(())
            }
            Attempt::Waiting(reason) => {
                record_step(
                    self.ctx,
                    order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Pending(reason),
                        detail: detail(None, None),
                        event: "create_waiting",
                        state: Some(OrderState::Pending),
                    },
                )
                .await
            }
            Attempt::Rejected { reason, code } => {
                record_step(
                    self.ctx,
                    order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Permanent { reason, code },
                        detail: detail(None, None),
                        event: "create_rejected",
                        state: Some(OrderState::NeedsAttention),
                    },
                )
                .await
            }
            Attempt::NotApplied { reason, error } | Attempt::Unknown { reason, error } => {
                tracing::warn!(flow = "orders", dsco_order_id = %id, reason = %reason, "order create to be retried");
                record_step(
                    self.ctx,
                    order_ref,
                    Step {
                        kind: ORDER_KIND,
                        outcome: Outcome::Retryable {
                            reason,
                            error: Some(error),
                        },
                        detail: detail(None, None),
                        event: "create_retry",
                        state: Some(OrderState::Failed),
                    },
                )
                .await
            }
        }
    }

    /// Add the link's pending note to the Brightpearl order; once added, the link forgets it.
    pub(super) async fn add_note(
        &self,
        order: &OrderRef,
        text: &str,
        link: &mut OrderLink,
    ) -> Result<(), FlowError> {
        let bp_order_id = link.bp_order_id;
        let note = OrderNote {
            text: text.to_owned(),
            is_public: Some(false),
            added_on: None,
        };
        match self
            .bp
            .add_order_note(Lane::Orders, brightpearl::OrderId(bp_order_id), &note)
            .await
        {
            Ok(_) => {
                link.pending_note = None;
                let link = link.clone();
                let id = order.dsco_order_id.clone();
                self.store()
                    .call(move |s| {
                        s.write(|tx| {
                            order_link::save(tx, &link)?;
                            if let Some(mut view) = order_view::load_in(tx, &id)? {
                                view.step("note_added", None, None, tx.now());
                                order_view::save(tx, &view)?;
                            }
                            Ok(())
                        })
                    })
                    .await?;
            }
            Err(e) => {
                // The order exists; the note is retried on the next run that sees the order.
                tracing::warn!(flow = "orders", dsco_order_id = %order.dsco_order_id, bp_order_id, error = %e, "order note not added yet");
            }
        }
        Ok(())
    }
}

/// The DSCO line numbers of a create body's rows, in row order (rows carry `dsco:line:N`).
fn sales_order_lines(sales_order: &crate::brightpearl::SalesOrder) -> Vec<u32> {
    sales_order
        .rows
        .iter()
        .filter_map(|r| {
            r.external_ref
                .as_deref()?
                .strip_prefix("dsco:line:")?
                .parse()
                .ok()
        })
        .collect()
}
