//! Webhook delivery bookkeeping (brightpearl-api.md §4.16): resource events, the queue of matched
//! events waiting for their call, the pause / duplicate switches and the log of calls made. Plain
//! state: matching, batching and the HTTP calls themselves are `webhooks.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::state::Webhook;
use crate::sandbox::common::lock;

/// A resource event: full name (`goods-out-note.modified.shipped`) and resource id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub full: String,
    pub id: u32,
}

impl Event {
    pub fn new(full: &str, id: u32) -> Self {
        Event {
            full: full.to_owned(),
            id,
        }
    }
}

/// One webhook call as made (or attempted).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WebhookDelivery {
    pub webhook_id: u32,
    pub event: String,
    /// `${resource-id}`: one id, or an ID set when the webhook accepts them.
    pub resource_id: String,
    pub method: String,
    pub url: String,
    pub body: Option<String>,
    pub attempt: u32,
    /// Receiver's status, when it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// True for the deliberate second copy sent when duplicate delivery is on.
    pub duplicate: bool,
}

/// A matched event waiting for its webhook call.
pub(crate) struct Pending {
    pub hook: Webhook,
    pub full: String,
    pub id: u32,
    pub raised_on: DateTime<Utc>,
}

/// Delivery machinery shared by the router and the scenario API.
pub struct Hooks {
    queue: Mutex<Vec<Pending>>,
    paused: AtomicBool,
    duplicate: AtomicBool,
    scheduled: AtomicBool,
    log: Mutex<Vec<WebhookDelivery>>,
    client: OnceLock<reqwest::Client>,
}

impl Hooks {
    pub fn new(duplicate: bool) -> Self {
        Hooks {
            queue: Mutex::new(Vec::new()),
            paused: AtomicBool::new(false),
            duplicate: AtomicBool::new(duplicate),
            scheduled: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
            client: OnceLock::new(),
        }
    }

    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.log).clone()
    }

    pub fn set_duplicate(&self, enabled: bool) {
        self.duplicate.store(enabled, Ordering::SeqCst);
    }

    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    pub fn pending(&self) -> usize {
        lock(&self.queue).len()
    }

    pub fn reset(&self) {
        lock(&self.queue).clear();
        lock(&self.log).clear();
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Queue matched events; `true` when anything (now or from before) waits for delivery.
    pub(crate) fn enqueue(&self, items: Vec<Pending>) -> bool {
        let mut queue = lock(&self.queue);
        queue.extend(items);
        !queue.is_empty()
    }

    /// Everything queued, leaving the queue empty.
    pub(crate) fn take_queue(&self) -> Vec<Pending> {
        std::mem::take(&mut *lock(&self.queue))
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    pub(crate) fn duplicate(&self) -> bool {
        self.duplicate.load(Ordering::SeqCst)
    }

    /// Claim the one scheduled delivery run; `false` when paused or one is already scheduled.
    pub(crate) fn claim_schedule(&self) -> bool {
        !(self.is_paused() || self.scheduled.swap(true, Ordering::SeqCst))
    }

    /// Let the next event schedule a delivery run again.
    pub(crate) fn release_schedule(&self) {
        self.scheduled.store(false, Ordering::SeqCst);
    }

    /// Log one call as made (or attempted).
    pub(crate) fn record(&self, delivery: WebhookDelivery) {
        lock(&self.log).push(delivery);
    }

    pub(crate) fn client(&self) -> reqwest::Client {
        self.client
            .get_or_init(|| {
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::builder()
                    // guess: 10 s delivery timeout (brightpearl-api.md §4.16: UNCONFIRMED)
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default()
            })
            .clone()
    }
}
