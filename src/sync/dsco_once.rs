//! The one exactly-once procedure for DSCO's asynchronous batch writes (shipments,
//! acknowledgements, inventory, invoices and item cancels), dsco-api.md §1.6 and §1.8:
//!
//! 1. an intent per object (kind, key, payload hash and how its change-log entry is recognised)
//!    is committed before the submit ([`open`]);
//! 2. the `requestId` of the 202 is stored in it ([`submitted`]);
//! 3. an intent with a `requestId` is settled only by `GET /{order|invoice|inventory}/log?requestId=`;
//! 4. one without (crash, timeout or reset before the 202) is settled by the change log searched
//!    by date (`startDate` = last attempt − 10 s, `endDate` = now) for an entry matching the
//!    object; only when that search is empty now *and again* `[dsco] settle_grace` later is the
//!    object [`Settled::Absent`], i.e. may be sent again (a write DSCO applies idempotently —
//!    an acknowledgement — after the first empty search, [`SettleRules::idempotent`]). A read of the object (an order's
//!    `packages[]`) is a positive check only, done by the flow: found ⇒ done, never proof of
//!    absence. Change-log entries live about two weeks, so an intent older than 13 days is
//!    [`Settled::Lost`] and goes to a person.
//!
//! The flow commits the object's record and clears the intent in one transaction.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dsco::{self, ApiResponseMessage, AsyncWrite, ChangeLog, ChangeLogEntry, RequestId};
use crate::store::{self, Intent, Kind, Store};
use crate::upstream::{ErrorSummary, UpstreamError};

/// How far before the last attempt a date search starts (DSCO's dates lag, dsco-api.md §1.8).
pub const SEARCH_LEAD: chrono::Duration = chrono::Duration::seconds(10);
/// Change-log entries live about two weeks (§1.8): an intent older than this cannot be settled.
pub const SETTLE_HORIZON: chrono::Duration = chrono::Duration::days(13);

/// How an object's change-log entry is recognised: the entry's payload key (`dscoOrderId`,
/// `sku`, `invoiceId`) and, inside it, what identifies this object among others of the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// The payload's identifying value (`dscoOrderId` for shipments).
    pub key: String,
    /// A shipment's tracking number; `None` for an untracked package (then `lines` decide).
    #[serde(default)]
    pub tracking: Option<String>,
    /// `(lineNumber, quantity)` of the package, sorted.
    #[serde(default)]
    pub lines: Vec<(u32, i64)>,
    /// Other payload fields that must be these values (an acknowledgement's
    /// `supplierOrderNumber`): another write on the same key is not this one.
    #[serde(default)]
    pub fields: Vec<(String, String)>,
    /// An inventory item's `(code, quantity)` per warehouse, sorted: a publication of other
    /// quantities for the same SKU is not this one.
    #[serde(default)]
    pub warehouses: Vec<(String, i64)>,
    /// An item cancel (`lines` are `(lineNumber, cancelledQuantity)`): it never matches a
    /// shipment on the same order's log, nor a shipment's matcher a cancel.
    #[serde(default)]
    pub cancel: bool,
}

impl Match {
    /// Whether a change-log entry's payload is this object.
    pub fn matches(&self, payload: &Value) -> bool {
        if dsco::batch::object_key(payload).as_deref() != Some(self.key.as_str()) {
            return false;
        }
        let same = |field: &str, want: &str| match payload.get(field) {
            Some(Value::String(s)) => s == want,
            Some(Value::Number(n)) => n.to_string() == want,
            _ => false,
        };
        if !self.fields.iter().all(|(f, v)| same(f, v)) {
            return false;
        }
        if !self.warehouses.is_empty() {
            let mut got: Vec<(String, i64)> = payload
                .get("warehouses")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|w| {
                            Some((
                                w.get("code")?.as_str()?.to_owned(),
                                w.get("quantity")?.as_i64()?,
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            got.sort();
            return got == self.warehouses;
        }
        if self.cancel {
            // An item cancel: exactly these lines and cancelled quantities.
            return payload.get("shipments").is_none() && cancel_lines(payload) == self.lines;
        }
        let Some(packages) = payload.get("shipments").and_then(Value::as_array) else {
            // Not a shipment payload: the key alone identifies it (a package's matcher, with
            // lines or tracking, never matches an item cancel on the same order).
            return self.tracking.is_none() && self.lines.is_empty();
        };
        packages.iter().any(|p| match &self.tracking {
            Some(t) => p.get("trackingNumber").and_then(Value::as_str) == Some(t.as_str()),
            None => {
                p.get("untracked").and_then(Value::as_bool) == Some(true)
                    && package_lines(p) == self.lines
            }
        })
    }
}

/// `(lineNumber, quantity)` of a submitted package's `lineItems`, sorted.
fn package_lines(package: &Value) -> Vec<(u32, i64)> {
    let mut lines: Vec<(u32, i64)> = package
        .get("lineItems")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some((
                        u32::try_from(i.get("lineNumber")?.as_u64()?).ok()?,
                        i.get("quantity")?.as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    lines.sort_unstable();
    lines
}

/// `(lineNumber, cancelledQuantity)` of a submitted item cancel's `lineItems`, sorted.
fn cancel_lines(payload: &Value) -> Vec<(u32, i64)> {
    let mut lines: Vec<(u32, i64)> = payload
        .get("lineItems")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some((
                        u32::try_from(i.get("lineNumber")?.as_u64()?).ok()?,
                        i.get("cancelledQuantity")?.as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    lines.sort_unstable();
    lines
}

/// What an open DSCO write intent holds (the `data` of its store intent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteIntent {
    pub matcher: Match,
    /// A hash of the object as submitted: a changed object is a different write.
    pub hash: String,
    /// DSCO's `requestId`, once the 202 was read.
    #[serde(default)]
    pub request_id: Option<String>,
    /// When a date search first found nothing.
    #[serde(default)]
    pub empty_since: Option<DateTime<Utc>>,
}

impl WriteIntent {
    pub fn new(matcher: Match, payload: &impl Serialize) -> WriteIntent {
        WriteIntent {
            matcher,
            hash: hash(payload),
            request_id: None,
            empty_since: None,
        }
    }

    fn of(intent: &Intent) -> Option<WriteIntent> {
        serde_json::from_value(intent.data.clone()).ok()
    }
}

/// A stable hash (FNV-1a, hex) of an object's JSON.
pub fn hash(payload: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(payload).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The open intent of `kind`/`key` and what it holds.
pub fn read(intent: &Intent) -> Option<WriteIntent> {
    WriteIntent::of(intent)
}

/// Commit one intent per object before the submit (one transaction for the batch). An intent
/// already open for a key is kept (its attempt count goes up): the caller only submits objects
/// whose earlier attempt was settled as absent.
pub async fn open(
    store: &Store,
    kind: Kind,
    objects: Vec<(String, WriteIntent)>,
) -> Result<(), store::Error> {
    store
        .call(move |s| {
            s.write(|tx| {
                let now = tx.now();
                for (key, data) in &objects {
                    let previous = tx.intent(kind.clone(), key)?;
                    let intent = Intent {
                        kind: kind.clone(),
                        key: key.clone(),
                        opened_at: previous.as_ref().map_or(now, |p| p.opened_at),
                        last_attempt_at: now,
                        attempts: previous.as_ref().map_or(0, |p| p.attempts) + 1,
                        data: serde_json::to_value(data).unwrap_or_default(),
                    };
                    tx.put_intent(&intent)?;
                }
                Ok(())
            })
        })
        .await
}

/// Store DSCO's `requestId` in the intents of the objects it accepted.
pub async fn submitted(
    store: &Store,
    kind: Kind,
    keys: Vec<String>,
    request_id: &RequestId,
) -> Result<(), store::Error> {
    let id = request_id.0.clone();
    store
        .call(move |s| {
            s.write(|tx| {
                for key in &keys {
                    let Some(mut intent) = tx.intent(kind.clone(), key)? else {
                        continue;
                    };
                    if let Some(mut data) = WriteIntent::of(&intent) {
                        data.request_id = Some(id.clone());
                        data.empty_since = None;
                        intent.data = serde_json::to_value(&data).unwrap_or_default();
                        tx.put_intent(&intent)?;
                    }
                }
                Ok(())
            })
        })
        .await
}

/// Close intents whose objects certainly did not reach DSCO.
pub async fn abandon(store: &Store, kind: Kind, keys: Vec<String>) -> Result<(), store::Error> {
    store
        .call(move |s| {
            s.write(|tx| {
                for key in &keys {
                    tx.clear_intent(kind.clone(), key)?;
                }
                Ok(())
            })
        })
        .await
}

/// What became of a submit.
#[derive(Debug)]
pub enum Submitted {
    /// DSCO queued the batch: its outcome is in the change log under this id.
    Accepted(RequestId),
    /// DSCO refused the whole batch (validation): nothing was applied; intents closed.
    Rejected {
        reason: String,
        code: Option<String>,
    },
    /// The request certainly did not take effect (429, refused connection): intents closed.
    NotApplied { reason: String, error: ErrorSummary },
    /// The outcome is unknown (timeout, reset, 5xx): the intents stay open without a request id
    /// and are settled by a date search.
    Unknown { reason: String, error: ErrorSummary },
}

impl Submitted {
    /// The record outcome of a submit and DSCO's request id when it took it: accepted ⇒ pending
    /// until `again` (waiting for `log`, e.g. "DSCO's invoice log"); refused ⇒ needs attention;
    /// not taken or unanswered ⇒ retried.
    pub fn outcome(
        self,
        log: &str,
        again: DateTime<Utc>,
    ) -> (crate::store::Outcome, Option<String>) {
        use crate::store::Outcome;
        match self {
            Submitted::Accepted(rid) => (
                Outcome::PendingUntil {
                    reason: format!("sent to DSCO in request {rid}; waiting for {log}"),
                    at: again,
                },
                Some(rid.0),
            ),
            Submitted::Rejected { reason, code } => (Outcome::Permanent { reason, code }, None),
            Submitted::NotApplied { reason, error } | Submitted::Unknown { reason, error } => (
                Outcome::Retryable {
                    reason,
                    error: Some(error),
                },
                None,
            ),
        }
    }
}

/// Submit `objects` (their intents already [`open`]ed under `keys`) and store the request id.
pub async fn submit<T: Serialize>(
    client: &dsco::Client,
    store: &Store,
    write: AsyncWrite,
    kind: Kind,
    keys: Vec<String>,
    objects: &[T],
) -> Result<Submitted, store::Error> {
    match client.submit(write, objects).await {
        Ok(request_id) => {
            submitted(store, kind, keys, &request_id).await?;
            Ok(Submitted::Accepted(request_id))
        }
        Err(e) if e.is_unknown_outcome() => Ok(Submitted::Unknown {
            reason: format!("DSCO did not answer the submit: {e}"),
            error: e.summary(),
        }),
        Err(e) if e.is_definitely_not_applied() && e.is_retryable() => {
            abandon(store, kind, keys).await?;
            Ok(Submitted::NotApplied {
                reason: format!("DSCO did not take the submit: {e}"),
                error: e.summary(),
            })
        }
        Err(e) if e.is_retryable() => Ok(Submitted::Unknown {
            reason: format!("DSCO did not answer the submit: {e}"),
            error: e.summary(),
        }),
        Err(e) => {
            abandon(store, kind, keys).await?;
            let (reason, code) = e.refusal();
            Ok(Submitted::Rejected {
                reason: format!("DSCO refused the batch: {reason}"),
                code,
            })
        }
    }
}

/// How an open intent stands after looking at the change log.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// A successful entry: the object is in DSCO.
    Succeeded {
        request_id: Option<String>,
        date_processed: Option<String>,
        /// DSCO's informational messages (`ITEM_SKIPPED` for an unknown SKU it dropped).
        messages: Vec<ApiResponseMessage>,
    },
    /// DSCO rejected the object, with its codes and words.
    Failed {
        request_id: Option<String>,
        messages: Vec<ApiResponseMessage>,
    },
    /// Not settled yet (still processing, first empty search, grace not passed): look again at
    /// `again`.
    Waiting {
        reason: String,
        again: DateTime<Utc>,
    },
    /// Two empty searches `settle_grace` apart: the object never reached DSCO; send it again.
    Absent,
    /// The request completed without an entry for the object, or the intent outlived the change
    /// log: a person must look.
    Lost(String),
    /// The change log could not be read now.
    Unreadable { reason: String, error: ErrorSummary },
}

/// The words of DSCO's messages: `CODE description; ...`.
pub fn describe(messages: &[ApiResponseMessage]) -> String {
    let text = messages
        .iter()
        .map(|m| {
            format!("{} {}", m.code, m.description_text())
                .trim()
                .to_owned()
        })
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if text.is_empty() {
        "no reason given".into()
    } else {
        text
    }
}

/// What a settle needs besides the intents.
#[derive(Debug, Clone, Copy)]
pub struct SettleRules {
    pub log: ChangeLog,
    pub grace: Duration,
    /// How soon a request still processing is looked at again.
    pub processing_again: Duration,
    /// DSCO applies the write idempotently (an acknowledgement sets the same state and
    /// `supplierOrderNumber` again, dsco-api.md §2.5): sending it twice does no harm, so an
    /// unanswered submit may go again after the first empty search instead of waiting for the
    /// grace. Never for writes that add something (packages, invoices, cancels).
    pub idempotent: bool,
}

/// Settle open intents: one change-log read per request id, one date search for all intents
/// without one. Updates `empty_since` in the store; the caller commits every other outcome.
pub async fn settle(
    client: &dsco::Client,
    store: &Store,
    rules: SettleRules,
    kind: Kind,
    intents: Vec<Intent>,
) -> Result<BTreeMap<String, Settled>, store::Error> {
    let now = store.now();
    let mut out = BTreeMap::new();
    let mut by_request: BTreeMap<String, Vec<(Intent, WriteIntent)>> = BTreeMap::new();
    let mut by_date: Vec<(Intent, WriteIntent)> = Vec::new();
    for intent in intents {
        let Some(data) = WriteIntent::of(&intent) else {
            out.insert(
                intent.key.clone(),
                Settled::Lost("the open write's bookkeeping is unreadable".into()),
            );
            continue;
        };
        if now - intent.opened_at > SETTLE_HORIZON {
            out.insert(
                intent.key.clone(),
                Settled::Lost(format!(
                    "sent {} and never confirmed; DSCO keeps change-log entries about two weeks, so \
                     check the order in DSCO",
                    intent.opened_at.format("%Y-%m-%d %H:%M UTC")
                )),
            );
            continue;
        }
        match &data.request_id {
            Some(id) => by_request
                .entry(id.clone())
                .or_default()
                .push((intent, data)),
            None => by_date.push((intent, data)),
        }
    }
    let again = now + chrono::Duration::from_std(rules.processing_again).unwrap_or_default();
    for (request_id, items) in by_request {
        let rid = RequestId(request_id.clone());
        // Each page is matched as it comes: per intent the first final entry, else the last
        // pending one (`find`'s rule), without holding the whole log.
        let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (_, data)) in items.iter().enumerate() {
            by_key.entry(data.matcher.key.as_str()).or_default().push(i);
        }
        let mut found: Vec<Option<(bool, Settled)>> = vec![None; items.len()];
        let (mut entries, mut pending) = (0usize, 0usize);
        let read = client
            .change_log_pages(rules.log, &rid, |page| {
                for entry in page {
                    entries += 1;
                    let is_final = !entry.status.eq_ignore_ascii_case("pending");
                    if !is_final {
                        pending += 1;
                    }
                    let Some(key) = dsco::batch::object_key(&entry.payload) else {
                        continue;
                    };
                    for &i in by_key.get(key.as_str()).into_iter().flatten() {
                        if matches!(found[i], Some((true, _)))
                            || !items[i].1.matcher.matches(&entry.payload)
                        {
                            continue;
                        }
                        found[i] = Some((is_final, from_entry(&entry, again)));
                    }
                }
            })
            .await;
        match read {
            Ok(status) => {
                let completed = match status.as_deref() {
                    Some(s) => s.eq_ignore_ascii_case("COMPLETED"),
                    None => entries > 0 && pending == 0,
                };
                for ((intent, _), found) in items.into_iter().zip(found) {
                    let settled = match found {
                        Some((_, settled)) => settled,
                        None if completed => Settled::Lost(format!(
                            "DSCO completed request {request_id} without reporting this object"
                        )),
                        None => Settled::Waiting {
                            reason: format!("DSCO is still processing request {request_id}"),
                            again,
                        },
                    };
                    out.insert(intent.key, settled);
                }
            }
            Err(e) => {
                for (intent, _) in items {
                    out.insert(
                        intent.key,
                        Settled::Unreadable {
                            reason: format!(
                                "reading DSCO's change log for {request_id} failed: {e}"
                            ),
                            error: e.summary(),
                        },
                    );
                }
            }
        }
    }
    if by_date.is_empty() {
        return Ok(out);
    }
    let start = by_date
        .iter()
        .map(|(i, _)| i.last_attempt_at)
        .min()
        .unwrap_or(now)
        - SEARCH_LEAD;
    let grace = chrono::Duration::from_std(rules.grace).unwrap_or_default();
    // `endDate` is exclusive: a second past now keeps an entry DSCO processes while it answers
    // this very search inside the window (guess: a slightly future `endDate` is accepted).
    let end = now + chrono::Duration::seconds(1);
    match client.change_log_between(rules.log, start, end).await {
        Ok(entries) => {
            let mut first_empty = Vec::new();
            let by_key = by_key(&entries);
            for (intent, data) in by_date {
                let since = intent.last_attempt_at - SEARCH_LEAD;
                let found = by_key
                    .get(data.matcher.key.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|e| processed_at(e).is_none_or(|at| at >= since))
                    .find(|e| data.matcher.matches(&e.payload))
                    .copied();
                let settled = match found {
                    Some(entry) => from_entry(entry, again),
                    None if rules.idempotent => Settled::Absent,
                    None => match data.empty_since {
                        Some(first) if now - first >= grace => Settled::Absent,
                        Some(first) => Settled::Waiting {
                            reason: format!(
                                "the submit was not answered and DSCO's change log does not show it \
                                 yet; searched again after {}",
                                (first + grace).format("%H:%M:%S UTC")
                            ),
                            again: first + grace,
                        },
                        None => {
                            first_empty.push(intent.key.clone());
                            Settled::Waiting {
                                reason: format!(
                                    "the submit was not answered and DSCO's change log does not show \
                                     it yet; searched again after {}",
                                    (now + grace).format("%H:%M:%S UTC")
                                ),
                                again: now + grace,
                            }
                        }
                    },
                };
                out.insert(intent.key, settled);
            }
            if !first_empty.is_empty() {
                mark_empty(store, kind, first_empty, now).await?;
            }
        }
        Err(e) => {
            for (intent, _) in by_date {
                out.insert(
                    intent.key,
                    Settled::Unreadable {
                        reason: format!("searching DSCO's change log failed: {e}"),
                        error: e.summary(),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// Wait, at most `max_wait` and at the client's change-log pace, for DSCO to process a batch
/// this run sent: the outcomes of the `keys` still open as soon as one is more than
/// [`Settled::Waiting`]; `None` when the wait ran out (or `stopping` said so) — the next run
/// settles them.
pub async fn await_settled(
    client: &dsco::Client,
    store: &Store,
    rules: SettleRules,
    kind: Kind,
    keys: &[String],
    max_wait: Duration,
    stopping: &(dyn Fn() -> bool + Send + Sync),
) -> Result<Option<BTreeMap<String, Settled>>, store::Error> {
    let polling = client.polling().clone();
    let started = tokio::time::Instant::now();
    let mut look = 0u32;
    loop {
        let delay = polling.delay(look);
        if started.elapsed() + delay > max_wait || stopping() {
            return Ok(None);
        }
        tokio::time::sleep(delay).await;
        look += 1;
        let wanted = keys.to_vec();
        let k = kind.clone();
        let intents: Vec<Intent> = store
            .call(move |s| {
                s.read(|tx| {
                    let mut out = Vec::new();
                    for key in &wanted {
                        if let Some(i) = tx.intent(k.clone(), key)? {
                            out.push(i);
                        }
                    }
                    Ok(out)
                })
            })
            .await?;
        if intents.is_empty() {
            return Ok(Some(BTreeMap::new()));
        }
        let settled = settle(client, store, rules, kind.clone(), intents).await?;
        if !settled
            .values()
            .all(|s| matches!(s, Settled::Waiting { .. }))
        {
            return Ok(Some(settled));
        }
    }
}

/// Split objects into batches of at most `max_bytes` of JSON each — `wire` is what of an object
/// is sent; an object larger than that goes alone —, keeping their order.
pub fn batches_by_size<T, W: Serialize>(
    objects: Vec<T>,
    max_bytes: usize,
    wire: impl Fn(&T) -> &W,
) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut size = 0usize;
    for object in objects {
        let len = serde_json::to_vec(wire(&object)).map_or(0, |b| b.len()) + 1;
        match out.last_mut() {
            Some(batch) if size + len <= max_bytes => {
                size += len;
                batch.push(object);
            }
            _ => {
                size = len + 2;
                out.push(vec![object]);
            }
        }
    }
    out
}

/// Remember when a date search first found nothing for these intents.
async fn mark_empty(
    store: &Store,
    kind: Kind,
    keys: Vec<String>,
    now: DateTime<Utc>,
) -> Result<(), store::Error> {
    store
        .call(move |s| {
            s.write(|tx| {
                for key in &keys {
                    let Some(mut intent) = tx.intent(kind.clone(), key)? else {
                        continue;
                    };
                    if let Some(mut data) = WriteIntent::of(&intent)
                        && data.empty_since.is_none()
                    {
                        data.empty_since = Some(now);
                        intent.data = serde_json::to_value(&data).unwrap_or_default();
                        tx.put_intent(&intent)?;
                    }
                }
                Ok(())
            })
        })
        .await
}

fn processed_at(entry: &ChangeLogEntry) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&entry.date_processed)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Log entries by their payload's key, in log order: a request of 100,000 items is matched in
/// one pass instead of one scan of the whole log per item.
fn by_key(logs: &[ChangeLogEntry]) -> HashMap<String, Vec<&ChangeLogEntry>> {
    let mut out: HashMap<String, Vec<&ChangeLogEntry>> = HashMap::new();
    for entry in logs {
        if let Some(key) = dsco::batch::object_key(&entry.payload) {
            out.entry(key).or_default().push(entry);
        }
    }
    out
}

fn from_entry(entry: &ChangeLogEntry, again: DateTime<Utc>) -> Settled {
    let request_id = entry.request_id.as_ref().map(|r| r.0.clone());
    match entry.status.to_ascii_lowercase().as_str() {
        "success" => Settled::Succeeded {
            request_id,
            date_processed: Some(entry.date_processed.clone()),
            messages: entry.results.clone(),
        },
        "failure" => Settled::Failed {
            request_id,
            messages: entry.results.clone(),
        },
        _ => Settled::Waiting {
            reason: "DSCO logged the object but has not finished it".into(),
            again,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn matcher(key: &str, lines: Vec<(u32, i64)>) -> Match {
        Match {
            key: key.into(),
            tracking: None,
            cancel: !lines.is_empty(),
            lines,
            fields: Vec::new(),
            warehouses: Vec::new(),
        }
    }

    #[test]
    fn an_item_cancel_matches_only_with_its_lines_and_quantities() {
        let payload = json!({"id": "1001", "type": "DSCO_ORDER_ID", "lineItems": [
            {"lineNumber": 2, "cancelledQuantity": 1, "cancelCode": "CXSO"},
            {"lineNumber": 1, "cancelledQuantity": 3, "cancelCode": "CXSO"}]});
        assert!(matcher("1001", vec![(1, 3), (2, 1)]).matches(&payload));
        assert!(
            !matcher("1001", vec![(1, 3)]).matches(&payload),
            "fewer lines"
        );
        assert!(
            !matcher("1001", vec![(1, 2), (2, 1)]).matches(&payload),
            "another quantity"
        );
        assert!(
            !matcher("1002", vec![(1, 3), (2, 1)]).matches(&payload),
            "another order"
        );
    }

    #[test]
    fn an_invoice_matches_by_its_id_alone() {
        let payload = json!({"invoiceId": "SI-7", "totalAmount": 1.0,
            "lineItems": [{"lineNumber": 1, "quantity": 1, "unitPrice": 1.0}]});
        assert!(matcher("SI-7", Vec::new()).matches(&payload));
        assert!(!matcher("SI-8", Vec::new()).matches(&payload));
    }

    #[test]
    fn batches_keep_order_and_stay_under_the_size() {
        let objects: Vec<String> = (0..10).map(|i| format!("{i:0>20}")).collect();
        let batches = batches_by_size(objects.clone(), 70, |o| o);
        assert!(batches.iter().all(|b| !b.is_empty()));
        for b in &batches {
            assert!(serde_json::to_vec(b).unwrap().len() <= 70, "{b:?}");
        }
        assert_eq!(batches.concat(), objects);
        // One object larger than the limit goes alone.
        let big = batches_by_size(vec!["x".repeat(100), "y".into()], 50, |o| o);
        assert_eq!(big.len(), 2);
    }
}
