//! A retailer's request to cancel an imported order (DSCO `cancelRequested` on the order or its
//! lines, dsco-api.md §2.8), seen by the orders poll: one note on the Brightpearl order, or, with
//! `orders.cancel_request_status_id` set for the order's retailer, a move to that status with the
//! note (one status call). Recorded as a `cancel_request` under
//! `{dsco_order_id}:{cancelRequestedCode}:{line numbers joined by "+"}` and handled once however
//! often DSCO shows it. The note is not idempotent: an intent is opened before the call, and an
//! unanswered call is settled by reading the order's notes for the request's marker (the source
//! id is part of the text) before anything is sent again. A request is not an order state: the
//! order's view gains `cancel_request`, and [`answer_cancel_request`] closes it when the supplier
//! answers (the shipments flow calls it when the order ships).

use std::collections::BTreeSet;

use crate::brightpearl::{self, Lane, NoteId, OrderNote, OrderStatusUpdate};
use crate::dsco::{self, Lifecycle};
use crate::flow_name::FlowName;
use crate::store::{self, Kind, Outcome, WriteTx};
use crate::sync::FlowError;
use crate::sync::exactly_once::{Attempt, create_once, grace_check};
use crate::sync::order_link::{OrderLink, OrderRef};
use crate::sync::order_view::{self, CancelRequestView, Step, record_part_step};

use super::Run;

/// Record and intent kind of a retailer's cancel request.
pub const CANCEL_REQUEST_KIND: &str = "cancel_request";

/// A retailer's cancel request as DSCO shows it on an order.
#[derive(Debug, Clone, PartialEq)]
pub struct CancelRequest {
    /// `{dsco_order_id}:{code}:{line numbers joined by "+"}`.
    pub source_id: String,
    /// DSCO's `cancelRequestedCode` (the order's, else the first flagged line's).
    pub code: Option<String>,
    /// The DSCO line numbers it names, ascending.
    pub lines: Vec<u32>,
    /// Whether it names every line of the order.
    pub whole_order: bool,
}

/// A flagged request that cannot be named: the source id it is recorded under and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub source_id: String,
    pub reason: String,
}

/// The source id of a request: `{dsco_order_id}:{code}:{lines joined by "+"}` (no code: empty).
pub fn source_id(dsco_order_id: &str, code: Option<&str>, lines: &[String]) -> String {
    format!(
        "{dsco_order_id}:{}:{}",
        code.unwrap_or_default(),
        lines.join("+")
    )
}

/// The DSCO order id a request's source id names.
pub fn order_id_of(source_id: &str) -> &str {
    source_id.split(':').next().unwrap_or(source_id)
}

/// The request DSCO shows on `order`, if any: the flagged lines, or with only the order flagged,
/// every line of the order. A flagged line without a `lineNumber` cannot be named.
pub fn request_of(order: &dsco::Order) -> Result<Option<CancelRequest>, Unreadable> {
    let id = crate::sync::order_link::dsco_id(order);
    let flagged: Vec<&dsco::OrderLineItem> = order
        .line_items
        .iter()
        .filter(|l| l.cancel_requested == Some(true))
        .collect();
    let order_flag = order.cancel_requested == Some(true);
    if !order_flag && flagged.is_empty() {
        return Ok(None);
    }
    let named: Vec<&dsco::OrderLineItem> = if flagged.is_empty() {
        order.line_items.iter().collect()
    } else {
        flagged
    };
    let code = order
        .cancel_requested_code
        .clone()
        .or_else(|| named.iter().find_map(|l| l.cancel_requested_code.clone()))
        .filter(|c| !c.trim().is_empty());
    let mut numbers = BTreeSet::new();
    let mut unnumbered = Vec::new();
    for line in &named {
        match line.line_number {
            Some(n) => {
                numbers.insert(n);
            }
            None => unnumbered.push(line.sku.as_deref().unwrap_or("(no SKU)")),
        }
    }
    let mut parts: Vec<String> = numbers.iter().map(u32::to_string).collect();
    if !unnumbered.is_empty() {
        parts.extend(unnumbered.iter().map(|_| "?".to_owned()));
        return Err(Unreadable {
            source_id: source_id(&id, code.as_deref(), &parts),
            reason: format!(
                "the retailer asked DSCO to cancel DSCO order {id}, but the line(s) with SKU {} have no lineNumber, so the request cannot be named",
                unnumbered.join(", ")
            ),
        });
    }
    if numbers.is_empty() {
        return Err(Unreadable {
            source_id: source_id(&id, code.as_deref(), &parts),
            reason: format!(
                "the retailer asked DSCO to cancel DSCO order {id}, but the order has no lines"
            ),
        });
    }
    let all: BTreeSet<u32> = order
        .line_items
        .iter()
        .filter_map(|l| l.line_number)
        .collect();
    Ok(Some(CancelRequest {
        source_id: source_id(&id, code.as_deref(), &parts),
        code,
        whole_order: order_flag && numbers == all,
        lines: numbers.into_iter().collect(),
    }))
}

/// The text in a note that names the request (its source id in brackets, so `1+2` is never
/// taken for `1+2+3`).
pub fn marker(source_id: &str) -> String {
    format!("[cancel request {source_id}]")
}

/// The note added to the Brightpearl order.
pub fn note_text(order: &OrderRef, request: &CancelRequest) -> String {
    let lines: Vec<String> = request.lines.iter().map(u32::to_string).collect();
    let scope = if request.whole_order {
        " (the whole order)"
    } else {
        ""
    };
    format!(
        "The retailer asked DSCO to cancel DSCO order {} (PO {}): code {}, lines {}{scope}. Answer it by cancelling or shipping the order. {}",
        order.dsco_order_id,
        order.po_number,
        request.code.as_deref().unwrap_or("(none given)"),
        lines.join(", "),
        marker(&request.source_id)
    )
}

/// The note among `notes` that an earlier attempt for `source_id` added.
pub fn find_note(notes: &[brightpearl::OrderNoteEntry], source_id: &str) -> Option<NoteId> {
    let marker = marker(source_id);
    notes
        .iter()
        .find(|n| n.text.as_deref().is_some_and(|t| t.contains(&marker)))
        .map(|n| n.note_id)
}

/// The view of `request` as first seen at `now`, or as `current` already shows it.
pub fn request_view(
    current: Option<&CancelRequestView>,
    request: &CancelRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> CancelRequestView {
    match current {
        Some(view) if view.source_id == request.source_id => view.clone(),
        _ => CancelRequestView {
            source_id: request.source_id.clone(),
            code: request.code.clone(),
            lines: if request.whole_order {
                Vec::new()
            } else {
                request.lines.clone()
            },
            requested_at: now,
            open: true,
            answer: None,
        },
    }
}

/// Close the order's open cancel request with `answer` (`shipped`, `cancelled`): the view shows
/// it answered and `GET /v1/orders?cancel_requested=true` no longer lists it. No view, no
/// request or one already answered: nothing changes.
pub fn answer_cancel_request(
    tx: &WriteTx,
    dsco_order_id: &str,
    answer: &str,
) -> Result<(), store::Error> {
    let Some(mut view) = order_view::load_in(tx, dsco_order_id)? else {
        return Ok(());
    };
    match view.cancel_request.as_mut() {
        Some(request) if request.open => {
            request.open = false;
            request.answer = Some(answer.to_owned());
        }
        _ => return Ok(()),
    }
    order_view::save(tx, &view)
}

/// Show `request` on the order's view (kept as it is when the view already shows it).
fn put_request_view(
    tx: &WriteTx,
    dsco_order_id: &str,
    request: &CancelRequest,
) -> Result<(), store::Error> {
    let Some(mut view) = order_view::load_in(tx, dsco_order_id)? else {
        return Ok(());
    };
    let next = request_view(view.cancel_request.as_ref(), request, tx.now());
    if view.cancel_request.as_ref() == Some(&next) {
        return Ok(());
    }
    view.cancel_request = Some(next);
    order_view::save(tx, &view)
}

impl Run<'_> {
    /// Follow the retailer's cancel request on a linked order, once per request; requests of
    /// this order that DSCO no longer shows, but that still have an open intent or a due
    /// record, are settled.
    pub(super) async fn follow_cancel_request(
        &mut self,
        order: &dsco::Order,
        link: &OrderLink,
        state: Lifecycle,
    ) -> Result<(), FlowError> {
        let order_ref = OrderRef::of(order);
        // Only an order the supplier can still answer takes a request.
        let open = matches!(state, Lifecycle::Created | Lifecycle::Acknowledged);
        let current = if open { request_of(order) } else { Ok(None) };
        let current_id = match &current {
            Ok(Some(r)) => Some(r.source_id.clone()),
            Ok(None) => None,
            Err(u) => Some(u.source_id.clone()),
        };
        let prefix = format!("{}:", order_ref.dsco_order_id);
        let stale: Vec<String> = self
            .cancel_requests_due
            .iter()
            .filter(|s| s.starts_with(&prefix) && Some(*s) != current_id.as_ref())
            .cloned()
            .collect();
        for source in stale {
            self.cancel_requests_due.remove(&source);
            self.settle_stale_request(&order_ref, link.bp_order_id, &source)
                .await?;
        }
        match current {
            Ok(None) => Ok(()),
            Ok(Some(request)) => {
                if self.request_handled(&request.source_id).await? {
                    return Ok(());
                }
                self.note_request(order, &order_ref, link.bp_order_id, &request)
                    .await
            }
            Err(unreadable) => {
                if self.request_handled(&unreadable.source_id).await? {
                    return Ok(());
                }
                let step = Step {
                    kind: CANCEL_REQUEST_KIND,
                    outcome: Outcome::Permanent {
                        reason: unreadable.reason,
                        code: None,
                    },
                    detail: order_ref.ids(Some(link.bp_order_id)),
                    event: "cancel_request_unreadable",
                    state: None,
                };
                record_part_step(
                    self.ctx,
                    &order_ref,
                    &unreadable.source_id,
                    step,
                    None,
                    |_| Ok(()),
                )
                .await
                .map(drop)
            }
        }
    }

    /// Whether the request needs nothing now: synced, skipped, needing a person, or waiting out
    /// its backoff.
    async fn request_handled(&self, source_id: &str) -> Result<bool, FlowError> {
        let key = source_id.to_owned();
        let now = self.ctx.now();
        let record = self
            .store()
            .call(move |s| s.read(|tx| tx.record_for(FlowName::Orders, CANCEL_REQUEST_KIND, &key)))
            .await?;
        if let Some(record) = record {
            return Ok(!record.is_due(now));
        }
        // No record: never seen, or its record outlived retention — the order's view, written
        // with the record, still shows the request then.
        let (id, source) = match source_id.split_once(':') {
            Some((id, _)) => (id.to_owned(), source_id.to_owned()),
            None => return Ok(false),
        };
        let view = self
            .store()
            .call(move |s| s.read(|tx| order_view::load(tx, &id)))
            .await?;
        Ok(view
            .and_then(|v| v.cancel_request)
            .is_some_and(|r| r.source_id == source))
    }

    /// Add the note (or the status change with the note), exactly once.
    async fn note_request(
        &mut self,
        order: &dsco::Order,
        order_ref: &OrderRef,
        bp_order_id: u64,
        request: &CancelRequest,
    ) -> Result<(), FlowError> {
        let retailer = order.dsco_retailer_id.clone().unwrap_or_default();
        let status_id = self
            .settings
            .orders_for_retailer(&retailer)
            .cancel_request_status_id;
        let text = note_text(order_ref, request);
        let bp = self.bp;
        let bp_id = brightpearl::OrderId(bp_order_id);
        let source = request.source_id.clone();
        let attempt = create_once(
            self.store(),
            Kind::CancelRequest,
            &request.source_id,
            self.grace,
            || async move {
                let notes = bp.get_order_notes(Lane::Orders, bp_id).await?;
                Ok(find_note(&notes, &source).map(Some))
            },
            || {
                let note = OrderNote {
                    text,
                    is_public: Some(false),
                    added_on: None,
                };
                async move {
                    match status_id {
                        Some(status) => {
                            let update = OrderStatusUpdate {
                                order_status_id: brightpearl::OrderStatusId(u64::from(status)),
                                order_note: Some(note),
                            };
                            bp.update_order_status(Lane::Orders, bp_id, &update)
                                .await
                                .map(|()| None)
                        }
                        None => bp
                            .add_order_note(Lane::Orders, bp_id, &note)
                            .await
                            .map(Some),
                    }
                }
            },
        )
        .await?;
        let mut detail = order_ref.ids(Some(bp_order_id));
        if let Some(code) = &request.code {
            detail.related.push(("cancel_code".into(), code.clone()));
        }
        if let Some(status) = status_id {
            detail
                .related
                .push(("order_status_id".into(), status.to_string()));
        }
        let id = order_ref.dsco_order_id.clone();
        let found = matches!(attempt, Attempt::Found(_));
        let (outcome, event, clear) = match attempt {
            Attempt::Created(note) | Attempt::Found(note) => {
                let event = match (found, status_id) {
                    (true, _) => "cancel_request_found",
                    (false, Some(_)) => "cancel_request_status_set",
                    (false, None) => "cancel_request_noted",
                };
                if let Some(note) = note {
                    detail.related.push(("note_id".into(), note.to_string()));
                }
                tracing::info!(flow = "orders", dsco_order_id = %id, bp_order_id, cancel_request = %request.source_id, "retailer cancel request noted on the Brightpearl order");
                (Outcome::Synced, event, true)
            }
            Attempt::Waiting(reason) => (
                Outcome::PendingUntil {
                    reason,
                    at: self.ctx.now()
                        + chrono::Duration::from_std(self.grace)
                            .unwrap_or(chrono::Duration::seconds(60)),
                },
                "cancel_request_waiting",
                false,
            ),
            Attempt::Rejected { reason, code } => (
                Outcome::Permanent {
                    reason: format!(
                        "the retailer's cancel request could not be noted on Brightpearl order {bp_order_id}: {reason}"
                    ),
                    code,
                },
                "cancel_request_refused",
                false,
            ),
            Attempt::NotApplied { reason, error } | Attempt::Unknown { reason, error } => {
                tracing::warn!(flow = "orders", dsco_order_id = %id, bp_order_id, cancel_request = %request.source_id, reason = %reason, "retailer cancel request to be noted again");
                (
                    Outcome::Retryable {
                        reason,
                        error: Some(error),
                    },
                    "cancel_request_retry",
                    false,
                )
            }
        };
        let step = Step {
            kind: CANCEL_REQUEST_KIND,
            outcome,
            detail,
            event,
            state: None,
        };
        let (key, request) = (request.source_id.clone(), request.clone());
        record_part_step(
            self.ctx,
            order_ref,
            &request.source_id.clone(),
            step,
            None,
            move |tx| {
                if clear {
                    tx.clear_intent(CANCEL_REQUEST_KIND, &key)?;
                }
                put_request_view(tx, &id, &request)
            },
        )
        .await
        .map(drop)
    }

    /// A request of this order DSCO no longer shows (withdrawn, or the order moved on) with an
    /// open intent or a due record: an unanswered note is looked for first; found, it is synced;
    /// otherwise nothing more is sent and the record says why.
    async fn settle_stale_request(
        &mut self,
        order_ref: &OrderRef,
        bp_order_id: u64,
        source_id: &str,
    ) -> Result<(), FlowError> {
        let key = source_id.to_owned();
        let intent = self
            .store()
            .call(move |s| s.read(|tx| tx.intent(CANCEL_REQUEST_KIND, &key)))
            .await?;
        let detail = order_ref.ids(Some(bp_order_id));
        let (outcome, event) = match intent {
            Some(intent) => {
                if grace_check(&intent, self.grace, self.ctx.now()).is_err() {
                    // Looked at again by a later run, once the grace period has passed.
                    return Ok(());
                }
                match self
                    .bp
                    .get_order_notes(Lane::Orders, brightpearl::OrderId(bp_order_id))
                    .await
                {
                    Ok(notes) if find_note(&notes, source_id).is_some() => {
                        (Outcome::Synced, "cancel_request_found")
                    }
                    Ok(_) => (
                        Outcome::Skipped(
                            "DSCO no longer shows this cancel request and the earlier unanswered note was not made; nothing more is sent".into(),
                        ),
                        "cancel_request_gone",
                    ),
                    Err(e) => (
                        Outcome::transient(
                            format!(
                                "could not read Brightpearl order {bp_order_id}'s notes for an earlier unanswered note: {e}"
                            ),
                            &e,
                        ),
                        "cancel_request_retry",
                    ),
                }
            }
            None => (
                Outcome::Skipped(
                    "DSCO no longer shows this cancel request; nothing is sent".into(),
                ),
                "cancel_request_gone",
            ),
        };
        let clear = !matches!(outcome, Outcome::Retryable { .. });
        let key = source_id.to_owned();
        let dsco_order_id = order_ref.dsco_order_id.clone();
        let step = Step {
            kind: CANCEL_REQUEST_KIND,
            outcome,
            detail,
            event,
            state: None,
        };
        record_part_step(self.ctx, order_ref, source_id, step, None, move |tx| {
            if clear {
                tx.clear_intent(CANCEL_REQUEST_KIND, &key)?;
                // DSCO no longer shows the request: it is not open any more.
                answer_cancel_request(tx, &dsco_order_id, "withdrawn")?;
            }
            Ok(())
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn order(extra: Value, lines: Value) -> dsco::Order {
        let mut base = json!({
            "dscoOrderId": "1001", "poNumber": "PO-1", "dscoRetailerId": "R1",
            "dscoLifecycle": "acknowledged", "dscoStatus": "shipment_pending",
            "shipping": {"firstName": "A", "lastName": "B", "address1": "1 Main St",
                          "city": "Springfield", "postal": "62701", "country": "US"},
            "lineItems": lines,
        });
        if let (Some(b), Some(o)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base).unwrap()
    }

    fn three_lines(flags: [bool; 3]) -> Value {
        Value::Array(
            flags
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let mut line =
                        json!({"lineNumber": i + 1, "sku": format!("SKU-{i}"), "quantity": 1});
                    if *f {
                        line["cancelRequested"] = json!(true);
                        line["cancelRequestedCode"] = json!("CXRR");
                    }
                    line
                })
                .collect(),
        )
    }

    #[test]
    fn no_flag_is_no_request() {
        let o = order(json!({}), three_lines([false; 3]));
        assert_eq!(request_of(&o), Ok(None));
        let o = order(json!({"cancelRequested": false}), three_lines([false; 3]));
        assert_eq!(request_of(&o), Ok(None));
    }

    #[test]
    fn flagged_lines_name_the_request_in_order() {
        let o = order(
            json!({"cancelRequested": true, "cancelRequestedCode": "CXRR"}),
            three_lines([false, true, true]),
        );
        let r = request_of(&o).unwrap().unwrap();
        assert_eq!(r.source_id, "1001:CXRR:2+3");
        assert_eq!(r.lines, vec![2, 3]);
        assert!(!r.whole_order);
        // Lines alone (no order flag), the code from the first flagged line.
        let o = order(json!({}), three_lines([true, false, false]));
        let r = request_of(&o).unwrap().unwrap();
        assert_eq!(r.source_id, "1001:CXRR:1");
        assert_eq!(r.code.as_deref(), Some("CXRR"));
    }

    #[test]
    fn an_order_flag_without_flagged_lines_is_every_line() {
        let o = order(
            json!({"cancelRequested": true, "cancelRequestedCode": "CXSO"}),
            three_lines([false; 3]),
        );
        let r = request_of(&o).unwrap().unwrap();
        assert_eq!(r.source_id, "1001:CXSO:1+2+3");
        assert!(r.whole_order);
        // Every line flagged with the order: the whole order as well.
        let o = order(
            json!({"cancelRequested": true, "cancelRequestedCode": "CXRR"}),
            three_lines([true; 3]),
        );
        assert!(request_of(&o).unwrap().unwrap().whole_order);
        // No code: an empty segment.
        let o = order(json!({"cancelRequested": true}), three_lines([false; 3]));
        assert_eq!(request_of(&o).unwrap().unwrap().source_id, "1001::1+2+3");
    }

    #[test]
    fn a_flagged_line_without_a_number_is_named_in_the_error() {
        let o = order(
            json!({}),
            json!([{"lineNumber": 1, "sku": "A", "quantity": 1, "cancelRequested": true},
                   {"sku": "B", "quantity": 1, "cancelRequested": true, "cancelRequestedCode": "CXRR"}]),
        );
        let e = request_of(&o).unwrap_err();
        assert_eq!(e.source_id, "1001:CXRR:1+?");
        assert!(
            e.reason.contains("SKU B have no lineNumber"),
            "{}",
            e.reason
        );
        assert!(e.reason.contains("1001"), "{}", e.reason);
    }

    #[test]
    fn the_note_carries_its_marker_and_is_found_by_it_only() {
        let o = order(
            json!({"cancelRequested": true, "cancelRequestedCode": "CXRR"}),
            three_lines([true, true, false]),
        );
        let r = request_of(&o).unwrap().unwrap();
        let text = note_text(&OrderRef::of(&o), &r);
        assert!(text.starts_with("The retailer asked DSCO to cancel DSCO order 1001 (PO PO-1): code CXRR, lines 1, 2."), "{text}");
        assert!(text.ends_with("[cancel request 1001:CXRR:1+2]"), "{text}");
        let note = |id: u64, text: &str| brightpearl::OrderNoteEntry {
            note_id: NoteId(id),
            text: Some(text.into()),
            is_public: None,
            added_on: None,
            added_by: None,
            contact_id: None,
            order_status_id: None,
        };
        let notes = vec![note(1, "[cancel request 1001:CXRR:1+2+3]"), note(2, &text)];
        assert_eq!(find_note(&notes, &r.source_id), Some(NoteId(2)));
        assert_eq!(find_note(&notes[..1], &r.source_id), None);
        assert_eq!(order_id_of(&r.source_id), "1001");
    }

    #[test]
    fn the_view_keeps_what_it_shows_of_the_same_request() {
        let o = order(
            json!({"cancelRequested": true, "cancelRequestedCode": "CXRR"}),
            three_lines([false; 3]),
        );
        let r = request_of(&o).unwrap().unwrap();
        let t0 = chrono::Utc::now();
        let first = request_view(None, &r, t0);
        assert!(first.open);
        assert!(first.lines.is_empty(), "the whole order: no lines named");
        let answered = CancelRequestView {
            open: false,
            answer: Some("shipped".into()),
            ..first.clone()
        };
        let later = t0 + chrono::Duration::minutes(5);
        assert_eq!(request_view(Some(&answered), &r, later), answered);
        let other = CancelRequestView {
            source_id: "1001:CXRR:1".into(),
            ..answered
        };
        let next = request_view(Some(&other), &r, later);
        assert!(next.open);
        assert_eq!(next.requested_at, later);
    }
}
