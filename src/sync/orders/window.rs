//! The run's working list: the window `(cursor − overlap, now − 10 s]` fetched by
//! `ordersUpdatedSince` (an expired scroll restarts it), plus orders outside it that still need
//! work: due records, open create intents, acknowledgements not yet confirmed, cancel requests
//! with a due record or an open intent.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::dsco::{self, OrderKey, OrderPageRequest, OrderQuery, OrderWindowStart};
use crate::flow_name::FlowName;
use crate::store::{Outcome, RecordDetail, RecordStatus};
use crate::sync::FlowError;
use crate::sync::order_link::ORDER_KIND;

use super::cancel_request::{CANCEL_REQUEST_KIND, order_id_of};
use super::{CANCELLATION_KIND, CURSOR, Cursor, Run};

/// How far each window reaches back over the previous one.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(2);
const FIRST_START: &str = "orders.first_start";
/// Restarts of one window after expired scrolls before the run gives up.
const SCROLL_RESTARTS: u32 = 3;

impl Run<'_> {
    /// Where this window starts: the cursor less the overlap, else `orders.import_from`, else the
    /// daemon's first start (remembered in the store).
    pub(super) async fn window_start(
        &self,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, FlowError> {
        let import_from = self.settings.orders.defaults.import_from;
        let (cursor, first_start) = self
            .store()
            .call(move |s| {
                let cursor: Option<Cursor> = s.read(|tx| tx.cursor(CURSOR))?;
                let first = s.write(|tx| match tx.document::<DateTime<Utc>>(FIRST_START)? {
                    Some(first) => Ok(first),
                    None => {
                        tx.put_document(FIRST_START, &now)?;
                        Ok(now)
                    }
                })?;
                Ok((cursor, first))
            })
            .await?;
        let start = match cursor {
            Some(c) => c.until - OVERLAP,
            None => import_from.unwrap_or(first_start),
        };
        // Orders created before import_from are never imported, whatever the cursor says.
        Ok(match import_from {
            Some(from) if from > start => from,
            _ => start,
        })
    }

    pub(super) async fn fetch_window(
        &self,
        start: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<dsco::Order>, FlowError> {
        let query = OrderQuery {
            since: OrderWindowStart::UpdatedSince(start),
            until,
            statuses: Vec::new(),
            orders_per_page: Some(1000),
            include_test_orders: self.settings.orders.defaults.include_test_orders,
        };
        let mut restarts = 0;
        'window: loop {
            let mut all = Vec::new();
            let mut request = OrderPageRequest::Search(query.clone());
            loop {
                match self.dsco.fetch_orders_page(&request).await {
                    Ok(page) => {
                        if page.orders.is_empty() {
                            return Ok(all);
                        }
                        all.extend(page.orders);
                        match page.scroll_id {
                            Some(scroll) => request = OrderPageRequest::Scroll(scroll),
                            None => return Ok(all),
                        }
                    }
                    Err(dsco::Error::ScrollExpired { .. }) if restarts < SCROLL_RESTARTS => {
                        restarts += 1;
                        tracing::warn!(
                            flow = "orders",
                            run_id = self.ctx.run_id.0,
                            restarts,
                            "DSCO scroll expired; fetching the same window again"
                        );
                        continue 'window;
                    }
                    Err(e) => {
                        return Err(FlowError::dsco("fetching DSCO orders", e));
                    }
                }
            }
        }
    }

    /// Orders outside the window that still need work: due records and open intents (of orders
    /// and of cancel requests).
    pub(super) async fn add_pending(
        &mut self,
        orders: &mut BTreeMap<String, dsco::Order>,
    ) -> Result<(), FlowError> {
        let now = self.ctx.now();
        let (due, intents, unacked, requests) = self
            .store()
            .call(move |s| {
                s.read(|tx| {
                    let records = tx.due_records(FlowName::Orders, now)?;
                    let due: Vec<String> = records
                        .iter()
                        .filter(|r| r.kind == ORDER_KIND || r.kind == CANCELLATION_KIND)
                        .map(|r| r.source_id.clone())
                        .collect();
                    // Cancel requests still to be noted or settled bring their order back.
                    let requests: BTreeSet<String> = records
                        .into_iter()
                        .filter(|r| r.kind == CANCEL_REQUEST_KIND)
                        .map(|r| r.source_id)
                        .chain(tx.intents(CANCEL_REQUEST_KIND)?.into_iter().map(|i| i.key))
                        .collect();
                    let intents: Vec<String> =
                        tx.intents(ORDER_KIND)?.into_iter().map(|i| i.key).collect();
                    // Imported orders whose acknowledgement is still outstanding.
                    let pending_ack: Vec<String> = tx
                        .records(
                            &crate::store::RecordFilter {
                                flow: Some(FlowName::Orders),
                                status: Some(RecordStatus::Pending),
                                kind: Some(ORDER_KIND.into()),
                                source_id: None,
                            },
                            None,
                            10_000,
                        )?
                        .into_iter()
                        .map(|r| r.source_id)
                        .collect();
                    Ok((due, intents, pending_ack, requests))
                })
            })
            .await?;
        // Orders re-read for a cancel request alone, with the requests to record a failure on
        // (their order's own record is not theirs to change).
        let mut request_orders: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for source in &requests {
            request_orders
                .entry(order_id_of(source).to_owned())
                .or_default()
                .push(source.clone());
        }
        self.cancel_requests_due = requests;
        let plain: Vec<String> = due.into_iter().chain(intents).chain(unacked).collect();
        for id in &plain {
            request_orders.remove(id);
        }
        let work = plain
            .into_iter()
            .map(|id| (id, None))
            .chain(request_orders.into_iter().map(|(id, s)| (id, Some(s))));
        for (id, request_sources) in work {
            if orders.contains_key(&id) {
                continue;
            }
            let outcome = match self.dsco.get_order(OrderKey::DscoOrderId, &id).await {
                Ok(Some(order)) => {
                    orders.insert(id, order);
                    continue;
                }
                Ok(None) => Outcome::Permanent {
                    reason: format!("DSCO no longer finds order {id}"),
                    code: None,
                },
                Err(e) => {
                    Outcome::transient(format!("could not re-read the order from DSCO: {e}"), &e)
                }
            };
            match request_sources {
                None => {
                    self.ctx
                        .record(ORDER_KIND, &id, outcome, RecordDetail::default())
                        .await?;
                }
                Some(sources) => {
                    for source in sources {
                        self.ctx
                            .record(
                                CANCEL_REQUEST_KIND,
                                &source,
                                outcome.clone(),
                                RecordDetail::default(),
                            )
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) async fn record_order_without_id(
        &self,
        order: &dsco::Order,
    ) -> Result<(), FlowError> {
        self.ctx
            .record(
                ORDER_KIND,
                &format!("po:{}", order.po_number),
                Outcome::Permanent {
                    reason: format!("DSCO order with PO {} has no dscoOrderId", order.po_number),
                    code: None,
                },
                RecordDetail::default(),
            )
            .await?;
        Ok(())
    }
}
