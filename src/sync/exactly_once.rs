//! Exactly-once creation of objects whose API has no idempotency key (Brightpearl sales orders
//! and contacts today), generic over the upstream's error and the id it answers with.
//!
//! Before the POST an intent is stored. A clear answer lets the caller store the link and clear
//! the intent in one transaction. An unknown outcome (timeout, reset, 5xx, an unreadable 2xx, the
//! process killed) keeps the intent open; an open intent is resolved only by searching the
//! upstream after a grace period longer than the request timeout (the first POST may still be
//! running upstream). A hit is linked; only an empty search allows a new POST. DSCO's
//! asynchronous writes are settled by their change log instead (`sync::dsco_once`, planned).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{Intent, Kind, Store};
use crate::upstream::{ErrorSummary, UpstreamError};

/// How long after an unanswered Brightpearl create the upstream is searched for it: the request
/// timeout × 1.25 + 1 s, so a POST still running upstream has finished (the one copy of the rule).
pub fn brightpearl_grace(request_timeout: Duration) -> Duration {
    request_timeout + request_timeout / 4 + Duration::from_secs(1)
}

/// When an open intent may be settled by a search; `Err` carries the plain words of the wait.
pub fn grace_check(intent: &Intent, grace: Duration, now: DateTime<Utc>) -> Result<(), String> {
    let due = intent.last_attempt_at
        + chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::seconds(60));
    if now < due {
        return Err(format!(
            "an earlier create was not answered; Brightpearl is checked for it after {}",
            due.format("%H:%M:%S UTC")
        ));
    }
    Ok(())
}

/// How an exactly-once create ended, with the id type `I` the upstream answers with.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt<I> {
    /// The POST answered with this id: commit the link and clear the intent.
    Created(I),
    /// An earlier unanswered POST did take effect: this is its id. Commit and clear the intent.
    Found(I),
    /// The grace period after an unanswered POST has not passed; nothing was sent.
    Waiting(String),
    /// The upstream refused the object (validation): the intent is cleared.
    Rejected {
        reason: String,
        code: Option<String>,
    },
    /// The request certainly did not take effect (throttle, 429, refused connection): retry later.
    NotApplied { reason: String, error: ErrorSummary },
    /// The outcome is unknown: the intent stays open until a search settles it.
    Unknown { reason: String, error: ErrorSummary },
}

/// Describe a refusal with the upstream's codes: the words and the first code.
pub fn describe_rejection(e: &impl UpstreamError) -> (String, Option<String>) {
    e.refusal()
}

/// Create `kind`/`key` at most once. `search` looks for an object an earlier POST made;
/// `create` sends the POST. The caller commits on `Created`/`Found`, clearing the intent in the
/// same transaction (`WriteTx::clear_intent`).
pub async fn create_once<I, E, S, SF, C, CF>(
    store: &Store,
    kind: impl Into<Kind>,
    key: &str,
    grace: Duration,
    search: S,
    create: C,
) -> Result<Attempt<I>, crate::store::Error>
where
    E: UpstreamError,
    S: FnOnce() -> SF,
    SF: Future<Output = Result<Option<I>, E>>,
    C: FnOnce() -> CF,
    CF: Future<Output = Result<I, E>>,
{
    let kind: Kind = kind.into();
    let (k, id) = (kind.clone(), key.to_owned());
    let open = store.call(move |s| s.read(|tx| tx.intent(k, &id))).await?;
    let now = store.now();
    let intent = match open {
        Some(mut intent) => {
            if let Err(waiting) = grace_check(&intent, grace, now) {
                return Ok(Attempt::Waiting(waiting));
            }
            match search().await {
                Ok(Some(found)) => return Ok(Attempt::Found(found)),
                Ok(None) => {}
                Err(e) => {
                    return Ok(Attempt::NotApplied {
                        reason: format!(
                            "could not check Brightpearl for an earlier unanswered create: {e}"
                        ),
                        error: e.summary(),
                    });
                }
            }
            intent.attempts += 1;
            intent.last_attempt_at = now;
            intent
        }
        None => Intent {
            kind: kind.clone(),
            key: key.to_owned(),
            opened_at: now,
            last_attempt_at: now,
            attempts: 1,
            data: serde_json::Value::Null,
        },
    };
    store
        .call(move |s| s.write(|tx| tx.put_intent(&intent)))
        .await?;
    let result = create().await;
    let clear = |store: &Store| {
        let (k, id) = (kind.clone(), key.to_owned());
        let store = store.clone();
        async move {
            store
                .call(move |s| s.write(|tx| tx.clear_intent(k, &id)))
                .await
        }
    };
    Ok(match result {
        Ok(id) => Attempt::Created(id),
        Err(e) if e.is_definitely_not_applied() => {
            clear(store).await?;
            Attempt::NotApplied {
                reason: format!("Brightpearl did not take the request: {e}"),
                error: e.summary(),
            }
        }
        // A 5xx that carries server codes, a timeout, a reset: the create may have happened.
        Err(e) if e.is_unknown_outcome() => {
            // The grace period runs from the end of the unanswered attempt: the client may have
            // waited for quota or retried a throttle before the request that got no answer.
            let (k, id) = (kind.clone(), key.to_owned());
            store
                .call(move |s| {
                    s.write(|tx| match tx.intent(k, &id)? {
                        Some(mut intent) => {
                            intent.last_attempt_at = tx.now();
                            tx.put_intent(&intent)
                        }
                        None => Ok(()),
                    })
                })
                .await?;
            Attempt::Unknown {
                reason: format!(
                    "no clear answer from Brightpearl ({e}); it is checked for the object before any new attempt"
                ),
                error: e.summary(),
            }
        }
        Err(e) => {
            clear(store).await?;
            let (reason, code) = describe_rejection(&e);
            Attempt::Rejected { reason, code }
        }
    })
}
