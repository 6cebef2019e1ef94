//! Which orders an invoices run looks at: the order search by `updatedOn` from the cursor less
//! 10 minutes (invoicing changes the order), `order.modified` webhook deliveries, and orders with
//! open invoice records — all intersected with links. Open write intents are settled first.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{CURSOR, Cursor, INVOICE_KIND, Linked, Run};
use crate::brightpearl::{Lane, OrderSearchRow, SearchQuery};
use crate::flow_name::FlowName;
use crate::store::Kind;
use crate::sync::FlowError;
use crate::sync::order_link;

/// The order search overlaps the previous window this much (`updatedOn` lags a little).
const OVERLAP: chrono::Duration = chrono::Duration::minutes(10);
/// The first sweep looks back this far.
const FIRST_LOOK_BACK: chrono::Duration = chrono::Duration::days(1);
/// A run brought by webhooks searches again only when the last sweep began this long ago: a
/// burst of deliveries costs one order read per batch, not a search each.
const SWEEP_EVERY: chrono::Duration = chrono::Duration::seconds(60);
/// At most this many inbox entries per run; the rest wait for the next.
const INBOX_BATCH: usize = 10_000;

impl Run<'_> {
    /// Fill the run's linked orders; returns where the sweep started (none when it did not).
    pub(super) async fn gather(&mut self) -> Result<Option<DateTime<Utc>>, FlowError> {
        let now = self.started;
        let (cursor, open, inbox) = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let cursor: Option<Cursor> = tx.cursor(CURSOR)?;
                    let open: Vec<u64> = tx
                        .due_records(FlowName::Invoices, now)?
                        .into_iter()
                        .filter(|r| r.kind.as_str() == INVOICE_KIND)
                        .filter_map(|r| r.related.get("bp_order_id")?.parse().ok())
                        .collect();
                    let inbox = tx.inbox(FlowName::Invoices, INBOX_BATCH)?;
                    Ok((cursor, open, inbox))
                })
            })
            .await?;
        let mut ids: BTreeSet<u64> = open.into_iter().collect();
        ids.extend(inbox.iter().map(|e| e.id));
        if !inbox.is_empty() {
            self.notes.push(format!(
                "webhooks: {} order changes",
                inbox.iter().map(|e| e.id).collect::<BTreeSet<_>>().len()
            ));
        }
        let by_webhook = !inbox.is_empty();
        self.inbox = inbox;
        let recent = cursor.as_ref().is_some_and(|c| now - c.since < SWEEP_EVERY);
        let mut since = None;
        if !(by_webhook && recent) {
            let from = cursor.map_or(now - FIRST_LOOK_BACK, |c| c.since) - OVERLAP;
            let query = SearchQuery::new().filter(
                "updatedOn",
                format!("{}/", from.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
            let rows = self
                .bp
                .search_all(Lane::Shipments, "order-service/order-search", &query)
                .await
                .map_err(|e| {
                    FlowError::brightpearl("searching orders updated since the last run", e)
                })?;
            ids.extend(
                rows.into_iter()
                    .filter_map(|r| {
                        serde_json::from_value::<OrderSearchRow>(serde_json::Value::Object(r)).ok()
                    })
                    .map(|r| r.order_id.0),
            );
            self.swept = true;
            since = Some(from);
        }
        let linked: Vec<(u64, Linked)> = self
            .ctx
            .store
            .call(move |s| {
                s.read(|tx| {
                    let mut out = Vec::new();
                    for id in ids {
                        let Some(link) = order_link::find_by_bp_order(tx, id)? else {
                            continue;
                        };
                        let view = crate::sync::order_view::load(tx, &link.dsco_order_id)?;
                        let order = order_link::OrderRef {
                            dsco_order_id: link.dsco_order_id.clone(),
                            po_number: view
                                .as_ref()
                                .map(|v| v.po_number.clone())
                                .unwrap_or_default(),
                            retailer: view.and_then(|v| v.dsco_retailer_id),
                        };
                        out.push((id, Linked { order, link }));
                    }
                    Ok(out)
                })
            })
            .await?;
        self.orders.extend(linked);
        Ok(since)
    }

    /// Open write intents: settle each by DSCO's invoice log before anything is sent again.
    pub(super) async fn settle_open(&mut self) -> Result<(), FlowError> {
        let intents = self
            .ctx
            .store
            .call(|s| s.read(|tx| tx.intents(Kind::Invoice)))
            .await?;
        if intents.is_empty() {
            return Ok(());
        }
        self.notes
            .push(format!("{} open invoices settled", intents.len()));
        self.settle_intents(intents).await
    }
}
