//! The scheduler: one cron job per enabled flow, a per-flow guard so a flow never overlaps itself,
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
use crate::flow_name::FlowName;
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
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What the scheduler needs to know about schedules.
#[derive(Debug, Clone, Default)]
pub struct Schedules {
    pub by_flow: BTreeMap<FlowName, String>,
    pub timezone: Option<chrono_tz::Tz>,
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
            }),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Start one cron job per flow with a schedule. Flows this build lacks are logged and skipped.
    pub async fn start(&self) -> Result<(), String> {
        let cron = JobScheduler::new().await.map_err(|e| e.to_string())?;
        let tz = self.inner.schedules.timezone.unwrap_or(chrono_tz::UTC);
        for (flow, schedule) in &self.inner.schedules.by_flow {
            if self.inner.registry.get(*flow).is_none() {
                tracing::warn!(flow = %flow, "flow is not available in this version; its schedule is ignored");
                continue;
            }
            let scheduler = self.clone();
            let flow = *flow;
            let job = Job::new_async_tz(schedule.as_str(), tz, move |_, _| {
                let scheduler = scheduler.clone();
                Box::pin(async move {
                    match scheduler.trigger(flow, Trigger::Schedule).await {
                        Ok(_) => {}
                        Err(TriggerError::AlreadyRunning { run_id, .. }) => tracing::info!(
                            flow = %flow,
                            run_id,
                            "scheduled tick skipped: the previous run is still going"
                        ),
                        Err(TriggerError::ShuttingDown) => {}
                        Err(e) => {
                            tracing::error!(flow = %flow, error = %e, "scheduled run did not start")
                        }
                    }
                })
            })
            .map_err(|e| format!("schedules.{flow}: {e}"))?;
            cron.add(job).await.map_err(|e| e.to_string())?;
            tracing::info!(flow = %flow, schedule = %schedule, timezone = %tz, "flow scheduled");
        }
        cron.start().await.map_err(|e| e.to_string())?;
        *self.inner.cron.lock().await = Some(cron);
        Ok(())
    }

    /// Whether the cron scheduler is up.
    pub async fn is_started(&self) -> bool {
        self.inner.cron.lock().await.is_some()
    }

    /// Start a run of `flow` now, unless one is going. Returns at once with the run id.
    pub async fn trigger(&self, flow: FlowName, trigger: Trigger) -> Result<RunId, TriggerError> {
        let (run, task_flow) = self.begin(flow, trigger).await?;
        let run_id = RunId(run.id);
        let scheduler = self.clone();
        self.inner.tracker.spawn(async move {
            scheduler.execute(task_flow, run).await;
        });
        Ok(run_id)
    }

    /// Run `flow` now and wait for it (the `run-once` command).
    pub async fn run_to_completion(
        &self,
        flow: FlowName,
        trigger: Trigger,
    ) -> Result<Run, TriggerError> {
        let (run, task_flow) = self.begin(flow, trigger).await?;
        let id = run.id;
        let scheduler = self.clone();
        self.inner
            .tracker
            .spawn(async move { scheduler.execute(task_flow, run).await })
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
    ) -> Result<(Run, Arc<dyn crate::sync::Flow>), TriggerError> {
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
            .call(move |s| s.write(|tx| tx.start_run(flow, trigger, Utc::now())))
            .await;
        match started {
            Ok(run) => {
                lock(&self.inner.running).insert(flow, run.id);
                Ok((run, task_flow))
            }
            Err(e) => {
                lock(&self.inner.running).remove(&flow);
                Err(e.into())
            }
        }
    }

    async fn execute(&self, task_flow: Arc<dyn crate::sync::Flow>, mut run: Run) {
        let flow = run.flow;
        let span = tracing::info_span!("run", flow = %flow, run_id = run.id);
        tracing::info!(flow = %flow, run_id = run.id, trigger = ?run.trigger, "run started");
        let ctx = FlowCtx::new(
            flow,
            RunId(run.id),
            self.inner.store.clone(),
            self.inner.stop_runs.child_token(),
        )
        .with_progress(self.inner.progress.clone())
        .with_contacts(self.inner.registry.contacts());
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
        run.finished_at = Some(Utc::now());
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
        lock(&self.inner.running).remove(&flow);
        lock(&self.inner.progress).remove(&flow);
    }

    /// What the flow's current run last said about its progress.
    pub fn progress(&self, flow: FlowName) -> Option<String> {
        lock(&self.inner.progress).get(&flow).cloned()
    }

    /// The run in progress for `flow`, if any.
    pub fn running(&self, flow: FlowName) -> Option<u64> {
        lock(&self.inner.running).get(&flow).copied()
    }

    /// The flow's schedule, if enabled.
    pub fn schedule(&self, flow: FlowName) -> Option<&str> {
        self.inner.schedules.by_flow.get(&flow).map(String::as_str)
    }

    /// When the flow's next scheduled tick is due.
    pub fn next_run(&self, flow: FlowName) -> Option<DateTime<Utc>> {
        let cron = parse_cron(self.schedule(flow)?).ok()?;
        let tz = self.inner.schedules.timezone.unwrap_or(chrono_tz::UTC);
        cron.find_next_occurrence(&Utc::now().with_timezone(&tz), false)
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
