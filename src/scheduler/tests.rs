//! The scheduler's guard, queued follow-ups, modes and schedules, with gated test flows.

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
