//! The handle on a running DSCO simulator ([`DscoSim`]): the account state behind one lock, the
//! faults and the request log, and [`DscoSim::with_state`], the one door to the data. Routing and
//! the job dispatch are in `dsco/mod.rs`.

use std::sync::{Arc, Mutex};

use super::config::DscoSimConfig;
use super::queue::{self, ApplyJob};
use super::state::{Processing, State};
use crate::sandbox::common::{self, Faults, RequestLog, SimClock};

/// A running DSCO simulator; cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct DscoSim {
    inner: Arc<Inner>,
}

struct Inner {
    config: DscoSimConfig,
    state: Mutex<State>,
    faults: Arc<Faults>,
    requests: Arc<RequestLog>,
    /// Applies due jobs; given by the constructor in `dsco/mod.rs`.
    apply: ApplyJob,
}

impl DscoSim {
    /// A simulator whose queued jobs are applied by `apply`.
    pub(super) fn with_dispatch(config: DscoSimConfig, apply: ApplyJob) -> Self {
        let state = State {
            processing: Processing {
                delay: config.processing_delay,
                held: false,
            },
            ..State::default()
        };
        Self {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(state),
                faults: Faults::new(),
                requests: RequestLog::new(),
                apply,
            }),
        }
    }

    pub fn config(&self) -> &DscoSimConfig {
        &self.inner.config
    }

    pub fn faults(&self) -> Arc<Faults> {
        self.inner.faults.clone()
    }

    pub fn requests(&self) -> Arc<RequestLog> {
        self.inner.requests.clone()
    }

    pub fn clock(&self) -> Arc<SimClock> {
        self.inner.config.clock.clone()
    }

    /// The job dispatch, for endpoints that apply their object at once.
    pub(super) fn apply_job(&self) -> ApplyJob {
        self.inner.apply
    }

    /// Run the asynchronous work that is due now (also happens before every request).
    pub fn process_pending(&self) {
        let now = self.clock().now();
        let mut state = common::lock(&self.inner.state);
        queue::process_due(&mut state, &self.inner.config, self.inner.apply, now);
    }

    /// Hold (`true`) or release (`false`) asynchronous processing. While held, accepted batches
    /// answer 202 as usual and their entries stay `pending` (a search by their `requestId` reads
    /// `PROCESSING`); on release everything due is processed at the next request.
    pub fn hold_batches(&self, held: bool) {
        common::lock(&self.inner.state).processing.held = held;
    }

    /// Set how long after submission queued work is due, for work submitted from now on
    /// (`processing_delay` of the config is the starting value).
    pub fn set_processing_delay(&self, delay: std::time::Duration) {
        common::lock(&self.inner.state).processing.delay = delay;
    }

    /// Leave the lines' stream-only `shippedQuantity`/`remainingQuantity` out of order reads
    /// (`true`), or send them (`false`, the default).
    pub fn hide_stream_quantities(&self, hidden: bool) {
        common::lock(&self.inner.state).hide_stream_quantities = hidden;
    }

    /// The processing switches now in force.
    pub fn processing(&self) -> Processing {
        common::lock(&self.inner.state).processing
    }

    /// Run `f` on the state after processing due work: the one door to the data.
    pub(super) fn with_state<T>(&self, f: impl FnOnce(&mut State, &DscoSimConfig) -> T) -> T {
        let now = self.clock().now();
        let mut state = common::lock(&self.inner.state);
        queue::process_due(&mut state, &self.inner.config, self.inner.apply, now);
        f(&mut state, &self.inner.config)
    }

    /// Drop every order, item, inventory record, invoice, log entry and scroll; issued tokens stay
    /// valid so connected clients keep working, and the processing switches stay as they are.
    pub fn reset(&self) {
        let mut state = common::lock(&self.inner.state);
        let tokens = std::mem::take(&mut state.tokens);
        let processing = state.processing;
        *state = State::default();
        state.tokens = tokens;
        state.processing = processing;
    }
}
