//! Exactly-once creation of Brightpearl objects that have no idempotency key upstream (sales
//! orders, contacts).
//!
//! Before the POST an intent is stored. A clear answer lets the caller store the link and clear
//! the intent in one transaction. An unknown outcome (timeout, reset, 5xx without an error body,
//! an unreadable 200, the process killed) keeps the intent open; an open intent is resolved only
//! by searching Brightpearl after a grace period longer than the request timeout (the first POST
//! may still be running upstream). A hit is linked; only an empty search allows a new POST.

use std::future::Future;
use std::time::Duration;

use crate::brightpearl;
use crate::store::{Intent, Store};

/// How an exactly-once create ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The POST answered with this id: commit the link and clear the intent.
    Created(u64),
    /// An earlier unanswered POST did take effect: this is its id. Commit and clear the intent.
    Found(u64),
    /// The grace period after an unanswered POST has not passed; nothing was sent.
    Waiting(String),
    /// Brightpearl refused the object (validation): the intent is cleared.
    Rejected {
        reason: String,
        code: Option<String>,
    },
    /// The request certainly did not take effect (throttle, 429, refused connection): retry later.
    NotApplied(String),
    /// The outcome is unknown: the intent stays open until a search settles it.
    Unknown(String),
}

/// Describe a refusal with Brightpearl's codes.
pub fn describe_rejection(e: &brightpearl::Error) -> (String, Option<String>) {
    let errors = e.api_errors();
    if errors.is_empty() {
        return (format!("Brightpearl refused it: {e}"), None);
    }
    let text = errors
        .iter()
        .map(|a| format!("{} {}", a.code, a.message))
        .collect::<Vec<_>>()
        .join("; ");
    (
        format!("Brightpearl refused it: {text}"),
        errors.first().map(|a| a.code.clone()),
    )
}

/// Create `kind`/`key` at most once. `search` looks for an object an earlier POST made;
/// `create` sends the POST. The caller commits on `Created`/`Found`, clearing the intent in the
/// same transaction (`WriteTx::clear_intent`).
pub async fn create_once<S, SF, C, CF>(
    store: &Store,
    kind: &str,
    key: &str,
    grace: Duration,
    search: S,
    create: C,
) -> Result<Attempt, crate::store::Error>
where
    S: FnOnce() -> SF,
    SF: Future<Output = Result<Option<u64>, brightpearl::Error>>,
    C: FnOnce() -> CF,
    CF: Future<Output = Result<u64, brightpearl::Error>>,
{
    let (k, id) = (kind.to_owned(), key.to_owned());
    let open = store.call(move |s| s.read(|tx| tx.intent(&k, &id))).await?;
    let now = store.now();
    let intent = match open {
        Some(mut intent) => {
            let due = intent.last_attempt_at
                + chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::seconds(60));
            if now < due {
                return Ok(Attempt::Waiting(format!(
                    "an earlier create was not answered; Brightpearl is checked for it after {}",
                    due.format("%H:%M:%S UTC")
                )));
            }
            match search().await {
                Ok(Some(found)) => return Ok(Attempt::Found(found)),
                Ok(None) => {}
                Err(e) => {
                    return Ok(Attempt::NotApplied(format!(
                        "could not check Brightpearl for an earlier unanswered create: {e}"
                    )));
                }
            }
            intent.attempts += 1;
            intent.last_attempt_at = now;
            intent
        }
        None => Intent {
            kind: kind.into(),
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
        let (k, id) = (kind.to_owned(), key.to_owned());
        let store = store.clone();
        async move {
            store
                .call(move |s| s.write(|tx| tx.clear_intent(&k, &id)))
                .await
        }
    };
    Ok(match result {
        Ok(id) => Attempt::Created(id),
        // A refusal with Brightpearl's codes is definite only from a 4xx; a 5xx that carries
        // codes may still have applied the create.
        Err(e) if !e.api_errors().is_empty() && e.status().is_some_and(|s| s.is_client_error()) => {
            clear(store).await?;
            let (reason, code) = describe_rejection(&e);
            Attempt::Rejected { reason, code }
        }
        Err(e) if e.is_definitely_not_applied() => {
            clear(store).await?;
            Attempt::NotApplied(format!("Brightpearl did not take the request: {e}"))
        }
        Err(e) if e.is_unknown_outcome() || e.status().is_some_and(|s| s.is_server_error()) => {
            // The grace period runs from the end of the unanswered attempt: the client may have
            // waited for quota or retried a throttle before the request that got no answer.
            let (k, id) = (kind.to_owned(), key.to_owned());
            store
                .call(move |s| {
                    s.write(|tx| match tx.intent(&k, &id)? {
                        Some(mut intent) => {
                            intent.last_attempt_at = tx.now();
                            tx.put_intent(&intent)
                        }
                        None => Ok(()),
                    })
                })
                .await?;
            Attempt::Unknown(format!(
                "no clear answer from Brightpearl ({e}); it is checked for the object before any new attempt"
            ))
        }
        Err(e) => {
            clear(store).await?;
            let (reason, code) = describe_rejection(&e);
            Attempt::Rejected { reason, code }
        }
    })
}
