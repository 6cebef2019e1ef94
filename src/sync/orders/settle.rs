//! Unanswered creates settled in bulk: before the orders are processed, the open create intents
//! of this run's orders whose grace period has passed are looked up in Brightpearl with one
//! `customerRefs` search per 50 PO numbers (brightpearl-api.md §4.5, §5.1), instead of one
//! `externalRef` search each; an intent that comes due while the run goes on triggers one more
//! bulk search for every intent due by then. What the bulk search settles, the exactly-once create takes as its
//! search result; what it cannot (the search failed, or a hit without `externalRef` makes the PO
//! ambiguous) is searched one by one as before.

use std::collections::BTreeMap;

use crate::brightpearl::limits;
use crate::brightpearl::{Lane, SalesOrderSearchRow};
use crate::dsco;
use crate::store::Intent;
use crate::sync::FlowError;
use crate::sync::exactly_once::grace_check;
use crate::sync::order_link::ORDER_KIND;

use super::Run;

impl Run<'_> {
    /// Note the open create intents of `orders` (kept in `self.unsettled`) and settle those
    /// already due with bulk searches.
    pub(super) async fn settle_open_intents(
        &mut self,
        orders: &BTreeMap<String, dsco::Order>,
    ) -> Result<(), FlowError> {
        let ids: Vec<String> = orders.keys().cloned().collect();
        let open: Vec<Intent> = self
            .store()
            .call(move |s| {
                s.read(|tx| {
                    let mut open = Vec::new();
                    for id in ids {
                        if let Some(intent) = tx.intent(ORDER_KIND, &id)? {
                            open.push(intent);
                        }
                    }
                    Ok(open)
                })
            })
            .await?;
        for intent in open {
            let Some(order) = orders.get(&intent.key) else {
                continue;
            };
            // The customerRef Brightpearl holds: the PO number as the create cut it.
            let customer_ref = order.po_number.chars().take(limits::REF).collect();
            self.unsettled
                .insert(intent.key.clone(), (customer_ref, intent));
        }
        self.settle_due().await;
        Ok(())
    }

    /// What the bulk search found for this order's open intent, if one settled it; an intent
    /// that came due since the last bulk search triggers one for every intent now due.
    pub(super) async fn settled_for(&mut self, dsco_order_id: &str) -> Option<Option<u64>> {
        if !self.settled.contains_key(dsco_order_id)
            && self
                .unsettled
                .get(dsco_order_id)
                .is_some_and(|(_, intent)| grace_check(intent, self.grace, self.ctx.now()).is_ok())
        {
            self.settle_due().await;
        }
        self.unsettled.remove(dsco_order_id);
        self.settled.remove(dsco_order_id)
    }

    /// One bulk search (per 50 POs) for every noted intent whose grace has passed, when there
    /// are at least two (one order costs one search either way).
    async fn settle_due(&mut self) {
        let now = self.ctx.now();
        let due: Vec<(String, String)> = self
            .unsettled
            .iter()
            .filter(|(_, (_, intent))| grace_check(intent, self.grace, now).is_ok())
            .map(|(id, (customer_ref, _))| (id.clone(), customer_ref.clone()))
            .collect();
        if due.len() < 2 {
            return;
        }
        let mut refs: Vec<String> = due.iter().map(|(_, r)| r.clone()).collect();
        refs.sort();
        refs.dedup();
        match self
            .bp
            .search_sales_orders_by_customer_refs(Lane::Orders, &refs)
            .await
        {
            Ok(rows) => {
                for (id, customer_ref) in &due {
                    self.unsettled.remove(id);
                    if let Some(found) = settled_by(&rows, id, customer_ref) {
                        self.settled.insert(id.clone(), found);
                    }
                }
            }
            Err(e) => {
                for (id, _) in &due {
                    self.unsettled.remove(id);
                }
                tracing::warn!(flow = "orders", error = %e, "bulk search for unanswered creates failed; they are checked one by one");
            }
        }
    }
}

/// What the bulk search says of one DSCO order: `Some(Some(id))` an earlier create made it (the
/// lowest such Brightpearl order), `Some(None)` it made nothing, `None` the rows cannot tell (a
/// row of this PO without `externalRef` may be it).
pub(super) fn settled_by(
    rows: &[SalesOrderSearchRow],
    dsco_order_id: &str,
    customer_ref: &str,
) -> Option<Option<u64>> {
    let mine = rows
        .iter()
        .filter(|r| r.external_ref.as_deref() == Some(dsco_order_id))
        .map(|r| r.sales_order_id.0)
        .min();
    if mine.is_some() {
        return Some(mine);
    }
    let ambiguous = rows
        .iter()
        .any(|r| r.customer_ref.as_deref() == Some(customer_ref) && r.external_ref.is_none());
    (!ambiguous).then_some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, customer_ref: &str, external_ref: Option<&str>) -> SalesOrderSearchRow {
        serde_json::from_value(serde_json::json!({
            "salesOrderId": id,
            "customerRef": customer_ref,
            "externalRef": external_ref,
        }))
        .unwrap()
    }

    #[test]
    fn a_hit_by_external_ref_settles_to_the_lowest_order() {
        let rows = [
            row(12, "PO-1", Some("100")),
            row(11, "PO-1", Some("100")),
            row(13, "PO-1", Some("101")),
        ];
        assert_eq!(settled_by(&rows, "100", "PO-1"), Some(Some(11)));
        assert_eq!(settled_by(&rows, "101", "PO-1"), Some(Some(13)));
    }

    #[test]
    fn no_row_of_the_po_means_nothing_was_created() {
        let rows = [row(13, "PO-2", Some("200"))];
        assert_eq!(settled_by(&rows, "100", "PO-1"), Some(None));
        assert_eq!(settled_by(&[], "100", "PO-1"), Some(None));
    }

    #[test]
    fn a_row_of_the_po_without_external_ref_leaves_it_to_the_one_by_one_search() {
        let rows = [row(13, "PO-1", None), row(14, "PO-1", Some("101"))];
        assert_eq!(settled_by(&rows, "100", "PO-1"), None);
        // Another DSCO order of the same PO is still settled by its own externalRef.
        assert_eq!(settled_by(&rows, "101", "PO-1"), Some(Some(14)));
    }
}
