//! The handle on a running Brightpearl simulator ([`BrightpearlSim`]) and the world its clones
//! share ([`Inner`]): configuration, state behind one lock, faults, the request log, the account's
//! date style and webhook delivery. Construction, routing and the scenario API are in
//! `brightpearl/mod.rs`.

use std::sync::{Arc, Mutex};

use super::config::BrightpearlSimConfig;
use super::hooks::Hooks;
use super::state::State;
use super::wire::Dates;
use crate::sandbox::common::{Faults, RequestLog, SimClock};

/// The simulator: cheap to clone, all clones share one world.
#[derive(Clone)]
pub struct BrightpearlSim {
    inner: Arc<Inner>,
}

/// The shared world behind every clone of [`BrightpearlSim`]; handlers take it as `&Inner`.
pub(crate) struct Inner {
    pub config: BrightpearlSimConfig,
    pub state: Mutex<State>,
    pub faults: Arc<Faults>,
    pub log: Arc<RequestLog>,
    pub dates: Dates,
    pub hooks: Hooks,
}

impl Inner {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.config.clock.now()
    }
}

impl BrightpearlSim {
    /// Wrap a freshly built world.
    pub(super) fn from_inner(inner: Inner) -> Self {
        BrightpearlSim {
            inner: Arc::new(inner),
        }
    }

    pub fn config(&self) -> &BrightpearlSimConfig {
        &self.inner.config
    }

    pub fn faults(&self) -> Arc<Faults> {
        self.inner.faults.clone()
    }

    pub fn requests(&self) -> Arc<RequestLog> {
        self.inner.log.clone()
    }

    pub fn clock(&self) -> Arc<SimClock> {
        self.inner.config.clock.clone()
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }
}
