//! The scheduler: one cron job per scheduled flow and mode, a per-flow guard so a flow never overlaps itself,
//! and the single path through which every run starts (cron ticks, `POST /v1/sync/{flow}/run`,
//! start-up runs and `run-once`).
//!
//! Runs execute on a [`TaskTracker`], so shutdown can wait for them; they get a cancellation token
//! that asks them to stop at the next record boundary.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::parse_cron;
use crate::flow_name::{FlowName, Mode};
use crate::store::{self, Run, RunId, RunStatus, Store, Trigger, lock};
use crate::sync::{FlowCtx, Registry};

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("flow {flow} is already running (run {run_id})")]
    AlreadyRunning { flow: FlowName, run_id: u64 },
    #[error("flow {0} is not available in this version")]
    NotAvailable(FlowName),
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// A mode of another flow was asked for (a caller's mistake; modes are parsed per flow).
    #[error("mode {mode} is a mode of flow {mode_flow}, not of flow {flow}")]
    WrongFlowMode {
        flow: FlowName,
        mode: &'static str,
        mode_flow: FlowName,
    },
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What the scheduler needs to know about schedules.
#[derive(Debug, Clone)]
pub struct Schedules {
    /// Flow mode → six-field cron schedule (`[schedules] <flow>` for the flow's first mode,
    /// `<flow>_<mode>` for another; `Config::schedules`).
    pub by_mode: BTreeMap<Mode, String>,
    pub timezone: Option<chrono_tz::Tz>,
    /// A run ending with records due within this long is followed by one more run when the
    /// first of them is due (`[records] retry_soon`); zero turns follow-ups off.
    pub retry_soon: Duration,
}

impl Default for Schedules {
    fn default() -> Self {
        Schedules {
            by_mode: BTreeMap::new(),
            timezone: None,
            retry_soon: Duration::from_secs(30),
        }
    }
}

struct Inner {
    store: Store,
    registry: Registry,
    schedules: Schedules,
    /// Flows with a run in progress → its run id (0 while the run record is being written).
    running: Mutex<HashMap<FlowName, u64>>,
    tracker: TaskTracker,
    /// Cancelled at shutdown: runs stop at their next record boundary.
    stop_runs: CancellationToken,
    accepting: AtomicBool,
    cron: tokio::sync::Mutex<Option<JobScheduler>>,
    progress: crate::sync::Progress,
    /// Flows with a follow-up run waiting for the current one to end → the mode it runs in
    /// (several collapse into one, in the later of their modes in the flow's list).
    pending: Mutex<HashMap<FlowName, Mode>>,
    /// Flows with a delayed follow-up timer armed → when it fires (the earliest wins).
    timers: Mutex<HashMap<FlowName, tokio::time::Instant>>,
}

/// What a queued request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// The flow was idle: this run started.
    Started(RunId),
    /// The flow is running: one follow-up run starts when it ends, in this mode (the later in
    /// the flow's list of the modes asked for while it ran).
    Pending(Mode),
}

/// The scheduler; cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl Scheduler {
    pub fn new(store: Store, registry: Registry, schedules: Schedules) -> Scheduler {
        Scheduler {
            inner: Arc::new(Inner {
                store,
                registry,
                schedules,
                running: Mutex::default(),
                tracker: TaskTracker::new(),
                stop_runs: CancellationToken::new(),
                accepting: AtomicBool::new(true),
                cron: tokio::sync::Mutex::new(None),
                progress: Default::default(),
                pending: Mutex::default(),
                timers: Mutex::default(),
            }),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Start one cron job per scheduled flow and mode; a tick queues a run of the flow in that
    /// mode ([`Scheduler::request_mode`], so it collapses with a running run like any follow-up).
    /// Flows this build lacks are logged and skipped.
    pub async fn start(&self) -> Result<(), String> {
        let cron = JobScheduler::new().await.map_err(|e| e.to_string())?;
        let tz = self.inner.schedules.timezone.unwrap_or(chrono_tz::UTC);
        for (mode, schedule) in &self.inner.schedules.by_mode {
            let (mode, flow) = (*mode, mode.flow());
            if self.inner.registry.get(flow).is_none() {
                tracing::warn!(flow = %flow, mode = %mode, "flow is not available in this version; its schedule is ignored");
                continue;
            }
            let scheduler = self.clone();
            let job = Job::new_async_tz(schedule.as_str(), tz, move |_, _| {
                let scheduler = scheduler.clone();
                Box::pin(async move {
                    match scheduler.request_mode(flow, Trigger::Schedule, mode).await {
                        Ok(Queued::Started(_)) => {}
                        Ok(Queued::Pending(pending)) => tracing::info!(
                            flow = %flow,
                            mode = %mode,
                            pending = %pending,
                            "scheduled tick while the previous run is going: one follow-up run queued"
                        ),
                        Err(TriggerError::ShuttingDown) => {}
                        Err(e) => {
                            tracing::error!(flow = %flow, mode = %mode, error = %e, "scheduled run did not start")
                        }
                    }
                })
            })
            .map_err(|e| format!("schedules.{}: {e}", mode.schedule_key()))?;
            cron.add(job).await.map_err(|e| e.to_string())?;
            tracing::info!(flow = %flow, mode = %mode, schedule = %schedule, timezone = %tz, "flow scheduled");
        }
        cron.start().await.map_err(|e| e.to_string())?;
        *self.inner.cron.lock().await = Some(cron);
        Ok(())
    }

    /// Whether the cron scheduler is up.
    pub async fn is_started(&self) -> bool {
        self.inner.cron.lock().await.is_some()
    }

    /// Start a run of `flow` in its first mode now, unless one is going. Returns at once with
    /// the run id.
    pub async fn trigger(&self, flow: FlowName, trigger: Trigger) -> Result<RunId, TriggerError> {
        self.trigger_mode(flow, trigger, flow.default_mode()).await
    }

    /// Start a run of `flow` in `mode` now, unless one is going. Returns at once with the run id.
    pub async fn trigger_mode(
        &self,
        flow: FlowName,
        trigger: Trigger,
        mode: Mode,
    ) -> Result<RunId, TriggerError> {
        let (run, task_flow, mode) = self.begin(flow, trigger, mode).await?;
        let run_id = RunId(run.id);
        let scheduler = self.clone();
        self.inner.tracker.spawn(async move {
            scheduler.execute(task_flow, run, mode).await;
        });
        Ok(run_id)
    }

    /// [`Scheduler::request_mode`] in the flow's first mode (webhooks, `[schedules] <flow>`).
    pub async fn request(&self, flow: FlowName, trigger: Trigger) -> Result<Queued, TriggerError> {
        self.request_mode(flow, trigger, flow.default_mode()).await
    }

    /// The queued form: start a run of `flow` in `mode` now, or, while one is going, make sure
    /// one follow-up run starts when it ends. Several requests during one run collapse into one
    /// follow-up, in the later of their modes in the flow's list (a pending `full` and a request
    /// for `delta` stay one `full`); a flow never runs twice at once.
    pub async fn request_mode(
        &self,
        flow: FlowName,
        trigger: Trigger,
        mode: Mode,
    ) -> Result<Queued, TriggerError> {
        loop {
            match self.trigger_mode(flow, trigger, mode).await {
                Ok(run_id) => return Ok(Queued::Started(run_id)),
                Err(TriggerError::AlreadyRunning { .. }) => {
                    let mut pending = lock(&self.inner.pending);
                    // The run may have ended between the two looks: then start it now.
                    if lock(&self.inner.running).contains_key(&flow) {
                        let collapsed = pending
                            .get(&flow)
                            .map_or(mode, |waiting| waiting.wider(mode));
                        pending.insert(flow, collapsed);
                        return Ok(Queued::Pending(collapsed));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The delayed form: a follow-up request of `flow` after `delay`, on the scheduler's task
    /// tracker (cancelled at shutdown). While a timer for the flow is armed, only an earlier one
    /// replaces it.
    pub fn request_after(&self, flow: FlowName, delay: Duration) {
        self.request_after_as(flow, delay, Trigger::FollowUp);
    }

    /// [`Scheduler::request_after`] started as `trigger` (a webhook delivery coalesced with
    /// the others of the next `delay`).
    pub fn request_after_as(&self, flow: FlowName, delay: Duration, trigger: Trigger) {
        let fire_at = tokio::time::Instant::now() + delay;
        {
            let mut timers = lock(&self.inner.timers);
            if timers.get(&flow).is_some_and(|armed| *armed <= fire_at) {
                return;
            }
            timers.insert(flow, fire_at);
        }
        let scheduler = self.clone();
        let stop = self.inner.stop_runs.clone();
        self.inner.tracker.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(fire_at) => {}
            }
            {
                let mut timers = lock(&scheduler.inner.timers);
                if timers.get(&flow) != Some(&fire_at) {
                    return; // replaced by an earlier timer, which fired or will fire
                }
                timers.remove(&flow);
            }
            tracing::info!(flow = %flow, trigger = ?trigger, "delayed run requested");
            if let Err(e) = scheduler.request(flow, trigger).await
                && !matches!(e, TriggerError::ShuttingDown)
            {
                tracing::error!(flow = %flow, error = %e, "follow-up run did not start");
            }
        });
    }

    /// Whether a follow-up run of `flow` waits for the current run to end.
    pub fn follow_up_pending(&self, flow: FlowName) -> bool {
        self.pending_mode(flow).is_some()
    }

    /// The mode of the follow-up run of `flow` waiting for the current run to end, if any.
    pub fn pending_mode(&self, flow: FlowName) -> Option<Mode> {
        lock(&self.inner.pending).get(&flow).copied()
    }

    /// Run `flow` in its first mode now and wait for it.
    pub async fn run_to_completion(
        &self,
        flow: FlowName,
        trigger: Trigger,
    ) -> Result<Run, TriggerError> {
        self.run_to_completion_mode(flow, trigger, flow.default_mode())
            .await
    }

    /// Run `flow` in `mode` now and wait for it (the `run-once` command).
    pub async fn run_to_completion_mode(
        &self,
        flow: FlowName,
        trigger: Trigger,
        mode: Mode,
    ) -> Result<Run, TriggerError> {
        let (run, task_flow, mode) = self.begin(flow, trigger, mode).await?;
        let id = run.id;
        let scheduler = self.clone();
        self.inner
            .tracker
            .spawn(async move { scheduler.execute(task_flow, run, mode).await })
            .await
            .map_err(|e| TriggerError::Store(store::Error::Task(e.to_string())))?;
        self.inner
            .store
            .call(move |s| s.read(|tx| tx.run(id)))
            .await?
            .ok_or(TriggerError::Store(store::Error::NotFound {
                what: "run",
                id: id.to_string(),
            }))
    }

    async fn begin(
        &self,
        flow: FlowName,
        trigger: Trigger,
        mode: Mode,
    ) -> Result<(Run, Arc<dyn crate::sync::Flow>, Mode), TriggerError> {
        if mode.flow() != flow {
            return Err(TriggerError::WrongFlowMode {
                flow,
                mode: mode.as_str(),
                mode_flow: mode.flow(),
            });
        }
        if !self.inner.accepting.load(Ordering::SeqCst) {
            return Err(TriggerError::ShuttingDown);
        }
        let task_flow = self
            .inner
            .registry
            .get(flow)
            .ok_or(TriggerError::NotAvailable(flow))?;
        {
            let mut running = lock(&self.inner.running);
            if let Some(run_id) = running.get(&flow) {
                return Err(TriggerError::AlreadyRunning {
                    flow,
                    run_id: *run_id,
                });
            }
            running.insert(flow, 0);
        }
        let started = self
            .inner
            .store
            .call(move |s| s.write(|tx| tx.start_run(flow, trigger, mode, tx.now())))
            .await;
        match started {
            Ok(run) => {
                lock(&self.inner.running).insert(flow, run.id);
                Ok((run, task_flow, mode))
            }
            Err(e) => {
                lock(&self.inner.running).remove(&flow);
                Err(e.into())
            }
        }
    }

    async fn execute(&self, task_flow: Arc<dyn crate::sync::Flow>, mut run: Run, mode: Mode) {
        let flow = run.flow;
        let span = tracing::info_span!("run", flow = %flow, run_id = run.id);
        tracing::info!(flow = %flow, run_id = run.id, trigger = ?run.trigger, mode = %mode, "run started");
        let ctx = FlowCtx::new(
            flow,
            RunId(run.id),
            self.inner.store.clone(),
            self.inner.stop_runs.child_token(),
        )
        .with_mode(mode)
        .with_progress(self.inner.progress.clone())
        .with_contacts(self.inner.registry.contacts())
        .with_connections(self.inner.registry.connections())
        .with_requester({
            let scheduler = self.clone();
            Arc::new(move |other: FlowName, delay: Duration| {
                if !scheduler.is_scheduled(other) {
                    return false;
                }
                scheduler.request_after(other, delay);
                true
            })
        });
        // A panicking flow fails its run; it must not leave the flow marked running for good.
        let result = match futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            tracing::Instrument::instrument(task_flow.run(&ctx), span),
        ))
        .await
        {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(crate::sync::FlowError::Other(format!(
                    "the run panicked: {what}"
                )))
            }
        };
        run.finished_at = Some(self.inner.store.now());
        match result {
            Ok(report) => {
                run.status = RunStatus::Succeeded;
                run.counts = report.counts;
                run.note = report.note;
                tracing::info!(
                    flow = %flow,
                    run_id = run.id,
                    synced = run.counts.synced,
                    failed = run.counts.failed,
                    needs_attention = run.counts.needs_attention,
                    skipped = run.counts.skipped,
                    pending = run.counts.pending,
                    "run finished"
                );
            }
            Err(e) => {
                run.status = RunStatus::Failed;
                run.counts = ctx.counts();
                run.error = Some(e.to_string());
                tracing::error!(flow = %flow, run_id = run.id, error = %e, "run failed");
            }
        }
        let saved = run.clone();
        if let Err(e) = self
            .inner
            .store
            .call(move |s| s.write(|tx| tx.save_run(&saved)))
            .await
        {
            tracing::error!(flow = %flow, run_id = run.id, error = %e, "run result not saved");
        }
        lock(&self.inner.progress).remove(&flow);
        // What the run allocated is freed now: give it back to the system.
        crate::memory::release();
        let follow_up = {
            let mut pending = lock(&self.inner.pending);
            lock(&self.inner.running).remove(&flow);
            pending.remove(&flow)
        };
        if let Some(mode) = follow_up {
            self.start_follow_up(flow, mode).await;
        } else {
            self.follow_up_due_records(flow).await;
        }
    }

    /// Records that failed transiently come back within seconds: when the flow's earliest due
    /// record is due within `retry_soon`, one follow-up run is timed for it.
    async fn follow_up_due_records(&self, flow: FlowName) {
        let soon = self.inner.schedules.retry_soon;
        if soon.is_zero() || !self.inner.accepting.load(Ordering::SeqCst) {
            return;
        }
        let due = match self
            .inner
            .store
            .call(move |s| s.read(|tx| Ok(tx.next_due(flow)?.map(|at| (at, tx.now())))))
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(flow = %flow, error = %e, "cannot read when records come due");
                return;
            }
        };
        if let Some((at, now)) = due {
            let wait = (at - now).to_std().unwrap_or_default();
            if wait <= soon {
                tracing::info!(flow = %flow, due_in = ?wait, "records come due soon: a follow-up run is timed for them");
                self.request_after(flow, wait);
            }
        }
    }

    /// Boxed, so that a run starting its follow-up is not a future that contains itself.
    fn start_follow_up(
        &self,
        flow: FlowName,
        mode: Mode,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        let scheduler = self.clone();
        Box::pin(async move {
            match scheduler.trigger_mode(flow, Trigger::FollowUp, mode).await {
                Ok(run_id) => {
                    tracing::info!(flow = %flow, run_id = run_id.0, mode = %mode, "follow-up run started")
                }
                Err(TriggerError::ShuttingDown) => {}
                Err(e) => tracing::warn!(flow = %flow, error = %e, "follow-up run did not start"),
            }
        })
    }

    /// What the flow's current run last said about its progress.
    pub fn progress(&self, flow: FlowName) -> Option<String> {
        lock(&self.inner.progress).get(&flow).cloned()
    }

    /// The run in progress for `flow`, if any.
    pub fn running(&self, flow: FlowName) -> Option<u64> {
        lock(&self.inner.running).get(&flow).copied()
    }

    /// The schedule of the flow's first mode (`[schedules] <flow>`), if it has one.
    pub fn schedule(&self, flow: FlowName) -> Option<&str> {
        self.mode_schedule(flow.default_mode())
    }

    /// The schedule of one mode of a flow, if it has one.
    pub fn mode_schedule(&self, mode: Mode) -> Option<&str> {
        self.inner.schedules.by_mode.get(&mode).map(String::as_str)
    }

    /// The flow's scheduled modes with their schedules, in the flow's order of modes.
    pub fn schedules_of(&self, flow: FlowName) -> Vec<(Mode, &str)> {
        self.inner
            .schedules
            .by_mode
            .iter()
            .filter(|(mode, _)| mode.flow() == flow)
            .map(|(mode, schedule)| (*mode, schedule.as_str()))
            .collect()
    }

    /// Whether any mode of the flow has a schedule (the flow is enabled).
    pub fn is_scheduled(&self, flow: FlowName) -> bool {
        !self.schedules_of(flow).is_empty()
    }

    /// When the flow's next scheduled tick is due, whichever of its modes it is for (cron ticks
    /// follow the wall clock).
    pub fn next_run(&self, flow: FlowName) -> Option<DateTime<Utc>> {
        self.schedules_of(flow)
            .into_iter()
            .filter_map(|(mode, _)| self.next_run_of(mode))
            .min()
    }

    /// When the next tick of one mode's schedule is due, to the second (cron ticks are on whole
    /// seconds).
    pub fn next_run_of(&self, mode: Mode) -> Option<DateTime<Utc>> {
        let cron = parse_cron(self.mode_schedule(mode)?).ok()?;
        let tz = self.inner.schedules.timezone.unwrap_or(chrono_tz::UTC);
        let now = Utc::now();
        let now = now - Duration::from_nanos(u64::from(now.timestamp_subsec_nanos()));
        cron.find_next_occurrence(&now.with_timezone(&tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Stop starting runs: no more cron ticks, no more manual triggers.
    pub async fn stop_accepting(&self) {
        self.inner.accepting.store(false, Ordering::SeqCst);
        if let Some(mut cron) = self.inner.cron.lock().await.take()
            && let Err(e) = cron.shutdown().await
        {
            tracing::warn!(error = %e, "cron scheduler did not shut down cleanly");
        }
    }

    /// Ask runs to stop at their next record boundary and wait for them, at most `grace`.
    /// Returns whether every run finished in time.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.inner.stop_runs.cancel();
        self.inner.tracker.close();
        tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests;
