//! Flows: the units of sync work the scheduler runs. Each flow is one direction of data between
//! DSCO and Brightpearl; this module holds what they share: names, the [`Flow`] trait, the context a
//! run gets, and the run report.
//!
//! Flows record what happened to every object through [`FlowCtx::record`], which writes a sync
//! record (see `store::records`) and counts it into the run; they never build HTTP requests
//! themselves (the clients do) and never touch redb (the store does).

pub mod address;
pub mod cancellations;
pub mod contacts;
pub mod dsco_once;
pub mod exactly_once;
pub mod inventory;
pub mod invoices;
pub mod money;
pub mod order_link;
pub mod order_view;
pub mod orders;
pub mod reference;
pub mod shipments;
pub mod webhooks;

use std::sync::Arc;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::connections::Connections;
use crate::flow_name::{FlowName, Mode};
use crate::store::{self, Outcome, RecordDetail, RunId, StatusCounts, Store, SyncRecord};
use crate::sync::contacts::ContactsLock;

/// A run-level failure: the run stops; per-object problems are records, not this.
///
/// Typed by cause, so an alert can tell refused credentials from an outage.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("not connected: {0}")]
    NotConnected(String),
    #[error("store: {0}")]
    Store(#[from] store::Error),
    /// A Brightpearl call the run cannot go on without failed (after the client's retries).
    #[error("{what}: {source}")]
    Brightpearl {
        what: String,
        #[source]
        source: crate::brightpearl::Error,
    },
    /// A DSCO call the run cannot go on without failed (after the client's retries).
    #[error("{what}: {source}")]
    Dsco {
        what: String,
        #[source]
        source: crate::dsco::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl FlowError {
    pub fn brightpearl(what: impl Into<String>, source: crate::brightpearl::Error) -> FlowError {
        FlowError::Brightpearl {
            what: what.into(),
            source,
        }
    }

    pub fn dsco(what: impl Into<String>, source: crate::dsco::Error) -> FlowError {
        FlowError::Dsco {
            what: what.into(),
            source,
        }
    }

    /// The upstream refused our credentials: a person must fix the connection.
    pub fn is_refused_credentials(&self) -> bool {
        use crate::upstream::UpstreamError as _;
        match self {
            FlowError::Brightpearl { source, .. } => {
                source.is_unauthorized()
                    || matches!(source, crate::brightpearl::Error::Token { .. })
            }
            FlowError::Dsco { source, .. } => {
                source.is_unauthorized() || matches!(source, crate::dsco::Error::Token { .. })
            }
            FlowError::NotConnected(_) => true,
            _ => false,
        }
    }

    /// The upstream failed in a way that passes (an outage, throttling): the next run retries.
    pub fn is_transient(&self) -> bool {
        match self {
            FlowError::Brightpearl { source, .. } => source.is_retryable(),
            FlowError::Dsco { source, .. } => source.is_retryable(),
            _ => false,
        }
    }
}

/// What a run did, for the run record and the journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunReport {
    pub counts: StatusCounts,
    /// A short note for the operator ("window 10:00–10:05, 12 orders"), if the flow has one.
    pub note: Option<String>,
}

/// Everything a run may use. Built by the scheduler for each run.
#[derive(Clone)]
pub struct FlowCtx {
    pub flow: FlowName,
    pub run_id: RunId,
    /// The run's mode, one of `flow.modes()` (the flow's first unless the run asked for another).
    pub mode: Mode,
    pub store: Store,
    /// Cancelled when the daemon stops: check between records, never mid-record.
    pub cancel: CancellationToken,
    /// The app's one lock on creating retailer contacts, shared with the control API.
    pub contacts: ContactsLock,
    /// The connections the run's clients come from (none in machinery tests).
    connections: Option<Arc<Connections>>,
    /// What "now" is: the store's clock (the system clock, or a test's adjustable one).
    pub clock: SharedClock,
    /// The latest status of each object this run touched, by (kind, source id): an object
    /// recorded twice in a run (imported, then acknowledged) counts once, in its final status.
    touched: Arc<Mutex<std::collections::HashMap<(String, String), store::RecordStatus>>>,
    progress: Progress,
    /// Asks the scheduler for a run of another flow (queued, like a follow-up); answers whether
    /// that flow is scheduled at all. None outside the scheduler.
    requester: Option<RunRequester>,
}

/// Asks for a run of a flow; `false` when the flow has no schedule (it is off).
pub type RunRequester = Arc<dyn Fn(FlowName, std::time::Duration) -> bool + Send + Sync>;

/// What running flows last said about their progress, shown in `GET /v1/status`.
pub type Progress = Arc<Mutex<std::collections::HashMap<FlowName, String>>>;

impl FlowCtx {
    pub fn new(flow: FlowName, run_id: RunId, store: Store, cancel: CancellationToken) -> Self {
        FlowCtx {
            flow,
            run_id,
            mode: flow.default_mode(),
            clock: store.clock().clone(),
            store,
            cancel,
            contacts: ContactsLock::default(),
            connections: None,
            touched: Arc::default(),
            progress: Arc::default(),
            requester: None,
        }
    }

    /// Run in `mode` (a mode of this flow).
    pub fn with_requester(mut self, requester: RunRequester) -> Self {
        self.requester = Some(requester);
        self
    }

    /// Ask for a run of `flow` after `delay` (queued behind a running one). `None` when there
    /// is no scheduler; `Some(false)` when `flow` has no schedule.
    pub fn request_run(&self, flow: FlowName, delay: std::time::Duration) -> Option<bool> {
        self.requester.as_ref().map(|r| r(flow, delay))
    }

    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Share the scheduler's progress board.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Hand the run the clients of `connections`.
    pub fn with_connections(mut self, connections: Option<Arc<Connections>>) -> Self {
        self.connections = connections;
        self
    }

    /// The connected Brightpearl client, or why there is none.
    pub fn brightpearl(&self) -> Result<Arc<crate::brightpearl::Client>, FlowError> {
        self.connections()?
            .brightpearl()
            .map_err(FlowError::NotConnected)
    }

    /// The connected DSCO client, or why there is none.
    pub fn dsco(&self) -> Result<Arc<crate::dsco::Client>, FlowError> {
        self.connections()?.dsco().map_err(FlowError::NotConnected)
    }

    /// How long after an unanswered Brightpearl create it is searched for.
    pub fn brightpearl_create_grace(&self) -> Result<std::time::Duration, FlowError> {
        Ok(self.connections()?.brightpearl_create_grace())
    }

    /// `[dsco] settle_grace` (see `sync::dsco_once`).
    pub fn dsco_settle_grace(&self) -> Result<std::time::Duration, FlowError> {
        Ok(self.connections()?.dsco_settle_grace())
    }

    fn connections(&self) -> Result<&Arc<Connections>, FlowError> {
        self.connections
            .as_ref()
            .ok_or_else(|| FlowError::NotConnected("no connections for this run".into()))
    }

    /// Take turns at creating retailer contacts with everyone else holding `contacts`.
    pub fn with_contacts(mut self, contacts: ContactsLock) -> Self {
        self.contacts = contacts;
        self
    }

    /// Say how far the run is, for `GET /v1/status` and the journal.
    pub fn progress(&self, text: impl Into<String>) {
        let text = text.into();
        tracing::info!(flow = %self.flow, run_id = self.run_id.0, progress = %text, "run progress");
        crate::store::lock(&self.progress).insert(self.flow, text);
    }

    /// Record what happened to one object (upserting its sync record by flow, kind and source
    /// id) and count it into this run.
    pub async fn record(
        &self,
        kind: &str,
        source_id: &str,
        outcome: Outcome,
        detail: RecordDetail,
    ) -> Result<SyncRecord, store::Error> {
        let (flow, run_id) = (self.flow, self.run_id);
        let (kind, source_id) = (kind.to_owned(), source_id.to_owned());
        let record = self
            .store
            .call(move |s| {
                s.write(|tx| tx.record_outcome(flow, &kind, &source_id, outcome, detail, run_id))
            })
            .await?;
        self.touch(&record);
        Ok(record)
    }

    /// [`FlowCtx::record`], with more writes (`extra`, which sees the updated record) in the same
    /// transaction: a link, an intent cleared and the record commit together or not at all.
    pub async fn record_with<F>(
        &self,
        kind: &str,
        source_id: &str,
        outcome: Outcome,
        detail: RecordDetail,
        extra: F,
    ) -> Result<SyncRecord, store::Error>
    where
        F: FnOnce(&store::WriteTx, &SyncRecord) -> Result<(), store::Error> + Send + 'static,
    {
        let (flow, run_id) = (self.flow, self.run_id);
        let (kind, source_id) = (kind.to_owned(), source_id.to_owned());
        let record = self
            .store
            .call(move |s| {
                s.write(|tx| {
                    let record =
                        tx.record_outcome(flow, &kind, &source_id, outcome, detail, run_id)?;
                    extra(tx, &record)?;
                    Ok(record)
                })
            })
            .await?;
        self.touch(&record);
        Ok(record)
    }

    fn touch(&self, record: &SyncRecord) {
        crate::store::lock(&self.touched).insert(
            (record.kind.to_string(), record.source_id.clone()),
            record.status,
        );
    }

    /// Objects touched so far in this run, by their latest status.
    pub fn counts(&self) -> StatusCounts {
        let mut counts = StatusCounts::default();
        for status in crate::store::lock(&self.touched).values() {
            counts.add(*status);
        }
        counts
    }

    /// The daemon's "now" (the injected clock, shared with the store).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Whether the daemon asked runs to stop at the next record boundary.
    pub fn stopping(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// One sync flow. Runs must be idempotent: a run that stopped half-way is finished by the next.
pub trait Flow: Send + Sync + 'static {
    fn name(&self) -> FlowName;

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>>;
}

/// The flows this build can run, by name, and the contacts lock their runs share.
#[derive(Clone, Default)]
pub struct Registry {
    flows: Vec<Arc<dyn Flow>>,
    contacts: ContactsLock,
    connections: Option<Arc<Connections>>,
}

impl Registry {
    /// Runs of these flows take turns at creating retailer contacts through `contacts`.
    pub fn sharing_contacts(mut self, contacts: ContactsLock) -> Self {
        self.contacts = contacts;
        self
    }

    /// Runs of these flows get their clients from `connections`.
    pub fn with_connections(mut self, connections: Arc<Connections>) -> Self {
        self.connections = Some(connections);
        self
    }

    /// The connections each run's clients come from.
    pub fn connections(&self) -> Option<Arc<Connections>> {
        self.connections.clone()
    }

    /// The lock each run's [`FlowCtx::contacts`] is.
    pub fn contacts(&self) -> ContactsLock {
        self.contacts.clone()
    }

    pub fn with(mut self, flow: Arc<dyn Flow>) -> Self {
        self.flows.retain(|f| f.name() != flow.name());
        self.flows.push(flow);
        self
    }

    pub fn get(&self, name: FlowName) -> Option<Arc<dyn Flow>> {
        self.flows.iter().find(|f| f.name() == name).cloned()
    }

    pub fn names(&self) -> Vec<FlowName> {
        self.flows.iter().map(|f| f.name()).collect()
    }
}
