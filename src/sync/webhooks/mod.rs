//! The one Brightpearl webhook registry, computed from the enabled flows (a flow is enabled when
//! it has a `[schedules]` entry): `desired` is the pure desired set and
//! the event → flows map, `reconcile` the one procedure that makes Brightpearl's list match,
//! `receive` what a delivery to the public listener stores.
//!
//! [`WebhookRegistry`] runs the reconcile: at start (after the public listener is up), after a
//! settings or connection change (in the background: a failure is logged, shown by
//! `GET /v1/brightpearl/webhooks` and retried, and never fails the change), and on
//! `POST /v1/brightpearl/webhooks/sync`. One reconcile at a time. Webhooks only make changes
//! arrive sooner: every flow's scheduled sweep still finds them without.

pub mod desired;
pub mod receive;
pub mod reconcile;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

pub use self::desired::{
    BODY_TEMPLATE, GOODS_OUT_NOTE_EVENTS, HOOK_PATH, NOTE_DESTROYED_EVENT, ON_HAND_EVENT,
    ORDER_STATUS_EVENT, desired_webhooks, flows_for_event, hook_uri, is_ours, redacted_uri,
};
pub use self::receive::{Accepted, Delivery, accept};
pub use self::reconcile::{HookChange, LANE, ReconcileReport, reconcile};

use crate::brightpearl::{self, Webhook};
use crate::connections::Connections;
use crate::flow_name::FlowName;
use crate::secret::Secret;
use crate::settings::Settings;
use crate::store::{self, Install, Store, lock};

/// The document noting whether this install may have hooks on Brightpearl: set before the first
/// create, cleared by a reconcile that leaves none. While clear and none are wanted, a reconcile
/// makes no call (a sweep-only install never lists webhooks).
pub const STATE_DOCUMENT: &str = "webhooks.state";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
struct RegistryState {
    may_have_hooks: bool,
}

/// A failed background reconcile is tried again after this long, doubling up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(30);
const RETRY_MAX: Duration = Duration::from_secs(30 * 60);

/// Why a reconcile did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("not connected: {0}")]
    NotConnected(String),
    #[error("registering Brightpearl webhooks: {0}")]
    Brightpearl(#[from] brightpearl::Error),
    #[error("store: {0}")]
    Store(#[from] store::Error),
}

/// The last reconcile: when, why, and what it did or why it failed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LastSync {
    pub at: DateTime<Utc>,
    /// What asked for it (`start`, `settings changed`, `connection changed`, `requested`).
    pub reason: String,
    pub report: Option<ReconcileReport>,
    pub error: Option<String>,
}

/// A new install identity: a 16-byte id and a 32-byte secret, random, hex (URL-safe).
pub fn new_install() -> Install {
    Install {
        id: random_hex(16),
        key: Secret::new(random_hex(32)),
    }
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keeps Brightpearl's webhooks of this install equal to what the enabled flows want.
pub struct WebhookRegistry {
    store: Store,
    connections: Arc<Connections>,
    enabled: BTreeSet<FlowName>,
    public_url: Option<Url>,
    install: Install,
    /// One reconcile at a time: two at once would both create the missing hooks.
    turn: tokio::sync::Mutex<()>,
    last: std::sync::Mutex<Option<LastSync>>,
    tasks: TaskTracker,
    stop: CancellationToken,
    /// Bumped by each background request; an older request's retries stand down.
    generation: AtomicU64,
}

impl std::fmt::Debug for WebhookRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRegistry")
            .field("enabled", &self.enabled)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl WebhookRegistry {
    /// The registry of this install (its identity made on first start and kept in the store).
    /// `public_url` is `None` without a public listener: then no hooks are wanted.
    pub async fn open(
        store: Store,
        connections: Arc<Connections>,
        enabled: BTreeSet<FlowName>,
        public_url: Option<Url>,
    ) -> Result<WebhookRegistry, store::Error> {
        let install = store
            .call(|s| s.write(|tx| tx.install_or_create(new_install)))
            .await?;
        Ok(WebhookRegistry {
            store,
            connections,
            enabled,
            public_url,
            install,
            turn: tokio::sync::Mutex::new(()),
            last: std::sync::Mutex::new(None),
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            generation: AtomicU64::new(0),
        })
    }

    pub fn install(&self) -> &Install {
        &self.install
    }

    /// The enabled flows (deliveries for any other flow are dropped).
    pub fn enabled(&self) -> &BTreeSet<FlowName> {
        &self.enabled
    }

    pub fn public_url(&self) -> Option<&Url> {
        self.public_url.as_ref()
    }

    /// The webhooks wanted with the current settings.
    pub async fn desired(&self) -> Result<Vec<Webhook>, SyncError> {
        let settings = self.store.call(|s| s.read(Settings::load)).await?;
        Ok(desired_webhooks(
            &self.enabled,
            &settings,
            self.public_url.as_ref(),
            &self.install,
        ))
    }

    /// Reconcile now (waiting for one already going) and say what was done.
    pub async fn sync(&self, reason: &str) -> Result<ReconcileReport, SyncError> {
        let _turn = self.turn.lock().await;
        let result = self.reconcile_now().await;
        match &result {
            Ok(report) if report.unchanged() => {
                tracing::debug!(
                    reason,
                    kept = report.kept.len(),
                    "Brightpearl webhooks up to date"
                )
            }
            Ok(report) => tracing::info!(
                reason,
                created = report.created.len(),
                deleted = report.deleted.len(),
                kept = report.kept.len(),
                "Brightpearl webhooks registered"
            ),
            Err(SyncError::NotConnected(why)) => {
                tracing::info!(reason, why = %why, "Brightpearl webhooks not registered: not connected")
            }
            Err(error) => {
                tracing::warn!(reason, error = %error, "Brightpearl webhook registration failed")
            }
        }
        *lock(&self.last) = Some(LastSync {
            at: self.store.now(),
            reason: reason.to_owned(),
            report: result.as_ref().ok().cloned(),
            error: result.as_ref().err().map(|e| self.redact(e.to_string())),
        });
        result
    }

    async fn reconcile_now(&self) -> Result<ReconcileReport, SyncError> {
        let desired = self.desired().await?;
        let state: RegistryState = self
            .store
            .call(|s| s.read(|tx| tx.document(STATE_DOCUMENT)))
            .await?
            .unwrap_or_default();
        if desired.is_empty() && !state.may_have_hooks {
            return Ok(ReconcileReport::default());
        }
        let client = self
            .connections
            .brightpearl()
            .map_err(SyncError::NotConnected)?;
        if !desired.is_empty() && !state.may_have_hooks {
            self.set_may_have_hooks(true).await?;
        }
        let report = reconcile(&client, &desired, &self.install.id).await?;
        if desired.is_empty() {
            self.set_may_have_hooks(false).await?;
        }
        Ok(report)
    }

    async fn set_may_have_hooks(&self, may_have_hooks: bool) -> Result<(), store::Error> {
        self.store
            .call(move |s| {
                s.write(|tx| tx.put_document(STATE_DOCUMENT, &RegistryState { may_have_hooks }))
            })
            .await
    }

    /// Reconcile on a tracked background task; a failure (other than not being connected, which
    /// a connection change asks about again) is retried with a growing pause until it succeeds,
    /// a newer request takes over, or the daemon stops.
    pub fn sync_in_background(self: &Arc<Self>, reason: &'static str) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let registry = self.clone();
        self.tasks.spawn(async move {
            let mut pause = RETRY_FIRST;
            loop {
                let outcome = tokio::select! {
                    outcome = registry.sync(reason) => outcome,
                    _ = registry.stop.cancelled() => return,
                };
                match outcome {
                    Ok(_) | Err(SyncError::NotConnected(_)) => return,
                    Err(_) => {}
                }
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = registry.stop.cancelled() => return,
                }
                if registry.generation.load(Ordering::SeqCst) != generation {
                    return;
                }
                pause = (pause * 2).min(RETRY_MAX);
            }
        });
    }

    /// This install's hooks as Brightpearl lists them now.
    pub async fn registered(&self) -> Result<Vec<Webhook>, SyncError> {
        let client = self
            .connections
            .brightpearl()
            .map_err(SyncError::NotConnected)?;
        let hooks = client.list_webhooks(LANE).await?;
        Ok(hooks
            .into_iter()
            .filter(|hook| is_ours(hook, &self.install.id))
            .collect())
    }

    /// The last delivery time per event.
    pub async fn deliveries(&self) -> Result<BTreeMap<String, DateTime<Utc>>, SyncError> {
        Ok(self
            .store
            .call(|s| s.read(|tx| tx.webhook_deliveries()))
            .await?)
    }

    /// `text` without any known secret: the connections' and our webhook key.
    pub fn redact(&self, text: String) -> String {
        self.connections
            .redact(text)
            .replace(self.install.key.expose().as_str(), "***")
    }

    pub fn last_sync(&self) -> Option<LastSync> {
        lock(&self.last).clone()
    }

    /// Stop background reconciles and wait for them (the ordered stop).
    pub async fn close(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_installs_are_random_and_url_safe() {
        let (a, b) = (new_install(), new_install());
        assert_ne!(a.id, b.id);
        assert_ne!(a.key.expose(), b.key.expose());
        assert_eq!(a.id.len(), 32);
        assert_eq!(a.key.expose().len(), 64);
        assert!(a.key.expose().chars().all(|c| c.is_ascii_hexdigit()));
    }
}
