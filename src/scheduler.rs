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
            tracing::info!(flow = %flow, "follow-up run for records coming due");
            if let Err(e) = scheduler.request(flow, Trigger::FollowUp).await
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
        .with_connections(self.inner.registry.connections());
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
mod tests {
    use super::*;
    use crate::sync::{Flow, FlowError, RunReport};
    use futures_util::future::BoxFuture;
    use tokio::sync::Semaphore;

    /// A flow whose every run takes one permit from `gate` and notes the mode its context got.
    struct Gated {
        name: FlowName,
        gate: Arc<Semaphore>,
        modes_seen: Arc<Mutex<Vec<&'static str>>>,
    }

    impl Flow for Gated {
        fn name(&self) -> FlowName {
            self.name
        }

        fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
            Box::pin(async move {
                lock(&self.modes_seen).push(ctx.mode.as_str());
                self.gate.acquire().await.unwrap().forget();
                Ok(RunReport::default())
            })
        }
    }

    fn scheduler() -> (Scheduler, Arc<Semaphore>, tempfile::TempDir) {
        let (s, gate, _, dir) = scheduler_of(FlowName::Orders);
        (s, gate, dir)
    }

    /// A scheduler with one gated flow named `name`, and the modes its runs saw.
    fn scheduler_of(
        name: FlowName,
    ) -> (
        Scheduler,
        Arc<Semaphore>,
        Arc<Mutex<Vec<&'static str>>>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        let gate = Arc::new(Semaphore::new(0));
        let modes_seen = Arc::new(Mutex::new(Vec::new()));
        let registry = Registry::default().with(Arc::new(Gated {
            name,
            gate: gate.clone(),
            modes_seen: modes_seen.clone(),
        }));
        (
            Scheduler::new(store, registry, Schedules::default()),
            gate,
            modes_seen,
            dir,
        )
    }

    fn runs(s: &Scheduler) -> Vec<Run> {
        runs_of(s, FlowName::Orders)
    }

    fn runs_of(s: &Scheduler, flow: FlowName) -> Vec<Run> {
        s.inner
            .store
            .read(|tx| tx.runs(Some(flow), None, 100))
            .unwrap()
    }

    async fn idle(s: &Scheduler) {
        idle_of(s, FlowName::Orders).await
    }

    async fn idle_of(s: &Scheduler, flow: FlowName) {
        while s.running(flow).is_some() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn requests_during_a_run_collapse_into_one_follow_up_after_it() {
        let (s, gate, _dir) = scheduler();
        let first = s.request(FlowName::Orders, Trigger::Manual).await.unwrap();
        assert!(matches!(first, Queued::Started(_)));
        // A request and a tick while it runs: one follow-up, not two, and no overlap.
        assert_eq!(
            s.request(FlowName::Orders, Trigger::Manual).await.unwrap(),
            Queued::Pending(FlowName::Orders.default_mode())
        );
        assert_eq!(
            s.request(FlowName::Orders, Trigger::Schedule)
                .await
                .unwrap(),
            Queued::Pending(FlowName::Orders.default_mode())
        );
        assert!(s.follow_up_pending(FlowName::Orders));
        gate.add_permits(1);
        // The follow-up starts when the first run ends and waits for its own permit.
        while runs(&s).len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!s.follow_up_pending(FlowName::Orders));
        gate.add_permits(1);
        idle(&s).await;
        let all = runs(&s);
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0].trigger, Trigger::FollowUp);
        assert!(all.iter().all(|r| r.status == RunStatus::Succeeded));
        // Idle again: a request starts a run at once.
        gate.add_permits(1);
        assert!(matches!(
            s.request(FlowName::Orders, Trigger::Manual).await.unwrap(),
            Queued::Started(_)
        ));
        idle(&s).await;
        assert_eq!(runs(&s).len(), 3);
    }

    /// Runs `requests` (modes of the inventory flow) while a first run in `first` is going and
    /// returns the modes of every run, oldest first.
    async fn modes_after(first: &str, requests: &[&str]) -> (Vec<&'static str>, Vec<String>) {
        let inventory = FlowName::Inventory;
        let (s, gate, modes_seen, _dir) = scheduler_of(inventory);
        let mode = |m| inventory.mode(m).unwrap();
        assert!(matches!(
            s.request_mode(inventory, Trigger::Manual, mode(first))
                .await
                .unwrap(),
            Queued::Started(_)
        ));
        let mut last = None;
        for m in requests {
            match s
                .request_mode(inventory, Trigger::Manual, mode(m))
                .await
                .unwrap()
            {
                Queued::Pending(collapsed) => last = Some(collapsed),
                Queued::Started(_) => panic!("a request while running started a run"),
            }
        }
        assert_eq!(s.pending_mode(inventory), last);
        gate.add_permits(10);
        while runs_of(&s, inventory).len() < 1 + usize::from(!requests.is_empty()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        idle_of(&s, inventory).await;
        let mut stored: Vec<String> = runs_of(&s, inventory).into_iter().map(|r| r.mode).collect();
        stored.reverse();
        let seen = lock(&modes_seen).clone();
        (seen, stored)
    }

    #[tokio::test]
    async fn pending_follow_ups_collapse_to_the_later_mode_in_the_flows_list() {
        // A pending `full` and a request for `delta` → one pending `full`.
        let (seen, stored) = modes_after("delta", &["full", "delta"]).await;
        assert_eq!(seen, ["delta", "full"]);
        assert_eq!(stored, ["delta", "full"]);
        // A pending `delta` and a request for `reconcile` → `reconcile`.
        let (seen, _) = modes_after("full", &["delta", "reconcile", "delta"]).await;
        assert_eq!(seen, ["full", "reconcile"]);
        // Only narrow requests: the follow-up stays narrow, whatever the running run's mode.
        let (seen, _) = modes_after("reconcile", &["delta", "delta"]).await;
        assert_eq!(seen, ["reconcile", "delta"]);
    }

    #[tokio::test]
    async fn unqualified_runs_use_the_flows_first_mode_and_a_foreign_mode_is_refused() {
        let (s, gate, modes_seen, _dir) = scheduler_of(FlowName::Inventory);
        gate.add_permits(10);
        s.trigger(FlowName::Inventory, Trigger::Manual)
            .await
            .unwrap();
        idle_of(&s, FlowName::Inventory).await;
        let run = s
            .run_to_completion_mode(
                FlowName::Inventory,
                Trigger::Cli,
                FlowName::Inventory.mode("reconcile").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(run.mode, "reconcile");
        assert_eq!(*lock(&modes_seen), ["delta", "reconcile"]);
        let err = s
            .trigger_mode(
                FlowName::Inventory,
                Trigger::Manual,
                FlowName::Orders.default_mode(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, TriggerError::WrongFlowMode { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_delayed_follow_up_fires_once_and_the_earliest_timer_wins() {
        let (s, gate, _dir) = scheduler();
        gate.add_permits(10);
        s.request_after(FlowName::Orders, Duration::from_secs(3600));
        s.request_after(FlowName::Orders, Duration::from_millis(20));
        s.request_after(FlowName::Orders, Duration::from_millis(500));
        while runs(&s).is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        idle(&s).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let all = runs(&s);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].trigger, Trigger::FollowUp);
        // Shutdown cancels an armed timer instead of waiting for it.
        s.request_after(FlowName::Orders, Duration::from_secs(3600));
        s.stop_accepting().await;
        assert!(s.drain(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn each_mode_has_its_own_schedule_and_the_flows_next_run_is_the_earliest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        let inventory = |m| FlowName::Inventory.mode(m).unwrap();
        let by_mode = BTreeMap::from([
            (inventory("reconcile"), "0 0 0 1 1 *".to_owned()),
            (inventory("full"), "* * * * * *".to_owned()),
            (FlowName::Orders.default_mode(), "0 0 3 * * *".to_owned()),
        ]);
        let s = Scheduler::new(
            store,
            Registry::default(),
            Schedules {
                by_mode,
                ..Default::default()
            },
        );
        let modes: Vec<&str> = s
            .schedules_of(FlowName::Inventory)
            .into_iter()
            .map(|(mode, _)| mode.as_str())
            .collect();
        assert_eq!(modes, ["full", "reconcile"]);
        // No plain schedule, yet scheduled.
        assert_eq!(s.schedule(FlowName::Inventory), None);
        assert!(s.is_scheduled(FlowName::Inventory));
        assert_eq!(s.schedule(FlowName::Orders), Some("0 0 3 * * *"));
        assert!(!s.is_scheduled(FlowName::Shipments));
        assert_eq!(s.next_run(FlowName::Shipments), None);
        let full = s.next_run_of(inventory("full")).unwrap();
        let reconcile = s.next_run_of(inventory("reconcile")).unwrap();
        assert!(full < reconcile);
        assert_eq!(
            full.timestamp_subsec_nanos(),
            0,
            "ticks are on whole seconds"
        );
        let next = s.next_run(FlowName::Inventory).unwrap();
        assert!(next < reconcile, "{next} is the full read's tick");
    }

    /// Fails its object transiently on the first run, syncs it on the next.
    struct FailsOnce;

    impl Flow for FailsOnce {
        fn name(&self) -> FlowName {
            FlowName::Orders
        }

        fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
            Box::pin(async move {
                let seen = ctx
                    .store
                    .read(|tx| tx.record_for(FlowName::Orders, "thing", "T1"))?;
                let outcome = match seen {
                    None => crate::store::Outcome::Retryable {
                        reason: "timed out".into(),
                        error: None,
                    },
                    Some(_) => crate::store::Outcome::Synced,
                };
                ctx.record("thing", "T1", outcome, Default::default())
                    .await?;
                Ok(RunReport {
                    counts: ctx.counts(),
                    note: None,
                })
            })
        }
    }

    #[tokio::test]
    async fn a_run_ending_with_records_due_soon_is_followed_by_one_run_when_they_are_due() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"))
            .unwrap()
            .with_record_backoff(crate::store::RecordBackoff {
                base: Duration::from_millis(20),
                cap: Duration::from_millis(40),
                ..Default::default()
            });
        let registry = Registry::default().with(Arc::new(FailsOnce));
        let s = Scheduler::new(store, registry, Schedules::default());
        s.trigger(FlowName::Orders, Trigger::Manual).await.unwrap();
        while runs(&s).len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        idle(&s).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let all = runs(&s);
        assert_eq!(all.len(), 2, "one follow-up, then nothing is due: {all:?}");
        assert_eq!(all[0].trigger, Trigger::FollowUp);
        assert_eq!(all[0].counts.synced, 1);
        // With follow-ups off, a failed record waits for the next tick.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        let registry = Registry::default().with(Arc::new(FailsOnce));
        let s = Scheduler::new(
            store,
            registry,
            Schedules {
                retry_soon: Duration::ZERO,
                ..Default::default()
            },
        );
        s.trigger(FlowName::Orders, Trigger::Manual).await.unwrap();
        idle(&s).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs(&s).len(), 1);
    }
}
