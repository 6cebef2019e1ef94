//! The shared Brightpearl request budget: one per account pool, shared by every client on it.
//!
//! Brightpearl allows about 200 requests per rolling minute per pool and answers 503 beyond that
//! (brightpearl-api.md §3). Every response carries `brightpearl-requests-remaining` and
//! `brightpearl-next-throttle-period` (ms). The budget keeps a local estimate, reserves one unit per
//! request before it is sent, adopts the server's figure when it is lower, and makes callers wait
//! for the next window instead of tripping the 503. Lanes give orders and shipments priority:
//! low lanes stop while a reserve is left, and stand aside while a high lane is waiting.
//! This module knows nothing of HTTP; the client feeds it header values.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Which kind of work a call serves; decides how much of the budget it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Importing DSCO orders into Brightpearl (searches, creates).
    Orders,
    /// Reading goods-out notes to confirm shipments to DSCO.
    Shipments,
    /// Reading stock for DSCO inventory feeds.
    Inventory,
    /// Lookups: warehouses, statuses, products, webhooks, connection tests.
    Reference,
}

impl Lane {
    pub const ALL: [Lane; 4] = [
        Lane::Orders,
        Lane::Shipments,
        Lane::Inventory,
        Lane::Reference,
    ];

    /// High lanes may spend the whole budget; low lanes leave the reserve to them.
    pub fn is_high_priority(self) -> bool {
        matches!(self, Lane::Orders | Lane::Shipments)
    }

    fn index(self) -> usize {
        match self {
            Lane::Orders => 0,
            Lane::Shipments => 1,
            Lane::Inventory => 2,
            Lane::Reference => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lane::Orders => "orders",
            Lane::Shipments => "shipments",
            Lane::Inventory => "inventory",
            Lane::Reference => "reference",
        }
    }
}

/// Budget settings. Defaults follow the documented cap of 200 per minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Requests per window for the pool.
    pub requests_per_window: u32,
    /// Length of a window when the server has not told us otherwise.
    pub window: Duration,
    /// Units that low lanes (inventory, reference) must leave free for high lanes.
    pub low_lane_reserve: u32,
    /// Units nobody spends, to absorb a request another tool sends between two of ours.
    pub safety_margin: u32,
    /// Upper bound on how long one wait for the next window may last.
    pub max_wait: Duration,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            requests_per_window: 200,
            window: Duration::from_secs(60),
            low_lane_reserve: 50,
            safety_margin: 2,
            max_wait: Duration::from_secs(61),
        }
    }
}

/// Counters for benchmarks and the status API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSnapshot {
    /// Requests sent to Brightpearl, retries included.
    pub calls_total: u64,
    /// Requests sent per lane, in [`Lane::ALL`] order.
    pub calls_by_lane: [u64; 4],
    /// Throttle answers (503/429) received.
    pub throttled_total: u64,
    /// Current estimate of requests left in the window (reservations deducted).
    pub remaining_estimate: u32,
    /// Time until the current window ends, as far as we know.
    pub window_resets_in: Duration,
}

/// The budget itself; share it with `Arc` between clients on the same Brightpearl pool.
#[derive(Debug)]
pub struct QuotaBudget {
    config: QuotaConfig,
    state: Mutex<State>,
    changed: Notify,
    calls_total: AtomicU64,
    calls_by_lane: [AtomicU64; 4],
    throttled_total: AtomicU64,
    /// One sequence for requests and grants, so their order can be told apart.
    sequence: AtomicU64,
    grants: Mutex<std::collections::VecDeque<Grant>>,
}

/// The most recent grants kept.
const GRANTS_KEPT: usize = 10_000;

/// One granted request: its lane, and where its request and its grant fall in one sequence
/// (a grant between another call's request and grant went before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub lane: Lane,
    pub requested: u64,
    pub granted: u64,
}

#[derive(Debug)]
struct State {
    remaining: u32,
    resets_at: Instant,
    high_lane_waiters: u32,
    /// Until when a high lane counts as busy (its last grant plus [`HIGH_ACTIVE`]): low lanes
    /// then leave it twice the reserve, so an orders run between two of its calls does not find
    /// the window spent by a stock read.
    high_active_until: Instant,
    /// The pool's cap as the server's own figures show it (the largest `remaining` seen, plus
    /// the call that produced it); `None` until an answer carried the header.
    learned_cap: Option<u32>,
}

/// Keeps the count of queued high-lane callers right even when a caller's future is dropped.
struct WaiterGuard<'a> {
    budget: &'a QuotaBudget,
    registered: bool,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        if self.registered {
            let mut state = self.budget.lock();
            state.high_lane_waiters = state.high_lane_waiters.saturating_sub(1);
            drop(state);
            self.budget.changed.notify_waiters();
        }
    }
}

/// What [`decide`] says about one acquisition attempt.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Go,
    WaitUntil(Instant),
}

impl QuotaBudget {
    pub fn new(config: QuotaConfig) -> Self {
        let state = State {
            remaining: config.requests_per_window,
            resets_at: Instant::now() + config.window,
            high_lane_waiters: 0,
            high_active_until: Instant::now(),
            learned_cap: None,
        };
        QuotaBudget {
            config,
            state: Mutex::new(state),
            changed: Notify::new(),
            calls_total: AtomicU64::new(0),
            calls_by_lane: Default::default(),
            throttled_total: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            grants: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// The most recent grants, oldest first.
    pub fn recent_grants(&self) -> Vec<Grant> {
        self.grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }

    pub fn config(&self) -> &QuotaConfig {
        &self.config
    }

    /// Wait until `lane` may send one request, then reserve it and count the call.
    pub async fn acquire(&self, lane: Lane) {
        let requested = self.sequence.fetch_add(1, Ordering::SeqCst);
        let mut waiter = WaiterGuard {
            budget: self,
            registered: false,
        };
        loop {
            let notified = self.changed.notified();
            let decision = {
                let mut state = self.lock();
                let now = Instant::now();
                roll_window(&mut state, &self.config, now);
                let decision = decide(&state, &self.config, lane, now);
                match decision {
                    Decision::Go => {
                        state.remaining = state.remaining.saturating_sub(1);
                        if lane.is_high_priority() {
                            state.high_active_until = now + HIGH_ACTIVE;
                        }
                        // Numbered under the state lock: grants are in the order they were made.
                        let granted = self.sequence.fetch_add(1, Ordering::SeqCst);
                        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
                        if grants.len() >= GRANTS_KEPT {
                            grants.pop_front();
                        }
                        grants.push_back(Grant {
                            lane,
                            requested,
                            granted,
                        });
                    }
                    Decision::WaitUntil(_) => {
                        if lane.is_high_priority() && !waiter.registered {
                            state.high_lane_waiters += 1;
                            waiter.registered = true;
                        }
                    }
                }
                decision
            };
            match decision {
                Decision::Go => {
                    self.calls_total.fetch_add(1, Ordering::Relaxed);
                    self.calls_by_lane[lane.index()].fetch_add(1, Ordering::Relaxed);
                    // Dropping the guard deregisters a high-lane waiter and wakes the low lanes.
                    drop(waiter);
                    return;
                }
                Decision::WaitUntil(deadline) => {
                    tracing::debug!(lane = lane.name(), "brightpearl budget exhausted, waiting");
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {}
                        _ = notified => {}
                    }
                }
            }
        }
    }

    /// Feed the throttle headers of a response (any status) into the estimate.
    pub fn observe(&self, requests_remaining: Option<u32>, next_throttle_period: Option<Duration>) {
        if requests_remaining.is_none() && next_throttle_period.is_none() {
            return;
        }
        let mut state = self.lock();
        let now = Instant::now();
        roll_window(&mut state, &self.config, now);
        apply_observation(
            &mut state,
            &self.config,
            now,
            requests_remaining,
            next_throttle_period,
        );
        drop(state);
        self.changed.notify_waiters();
    }

    /// Record a throttle answer: nothing is left until the window ends. Brightpearl says when
    /// that is (`brightpearl-next-throttle-period`); an answer without the header (a 429 from a
    /// proxy, say) pauses briefly instead of for a whole guessed window, and the next answer,
    /// which carries the header, corrects the estimate.
    pub fn observe_throttled(&self, next_throttle_period: Option<Duration>) {
        self.throttled_total.fetch_add(1, Ordering::Relaxed);
        let wait = next_throttle_period
            .unwrap_or(UNANNOUNCED_THROTTLE_PAUSE.min(self.config.window))
            .min(self.config.max_wait);
        let mut state = self.lock();
        state.remaining = 0;
        state.resets_at = Instant::now() + wait;
    }

    pub fn snapshot(&self) -> QuotaSnapshot {
        let state = self.lock();
        let now = Instant::now();
        let (remaining, resets_in) = if now >= state.resets_at {
            (self.config.requests_per_window, Duration::ZERO)
        } else {
            (state.remaining, state.resets_at - now)
        };
        QuotaSnapshot {
            calls_total: self.calls_total.load(Ordering::Relaxed),
            calls_by_lane: std::array::from_fn(|i| self.calls_by_lane[i].load(Ordering::Relaxed)),
            throttled_total: self.throttled_total.load(Ordering::Relaxed),
            remaining_estimate: remaining,
            window_resets_in: resets_in,
        }
    }

    /// Requests sent so far (retries included): the numerator of "calls per imported order".
    pub fn calls_total(&self) -> u64 {
        self.calls_total.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked mid-update of plain integers;
        // the numbers are still usable as an estimate.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How long after its last grant a high lane counts as busy (an orders run's calls follow each
/// other within this).
const HIGH_ACTIVE: Duration = Duration::from_secs(1);

/// How long a throttle answer without `brightpearl-next-throttle-period` pauses the budget.
const UNANNOUNCED_THROTTLE_PAUSE: Duration = Duration::from_secs(2);

impl Default for QuotaBudget {
    fn default() -> Self {
        QuotaBudget::new(QuotaConfig::default())
    }
}

/// Start a fresh window once the previous one has ended.
fn roll_window(state: &mut State, config: &QuotaConfig, now: Instant) {
    if now >= state.resets_at {
        // The first answer of the new window corrects this downwards if the pool is smaller.
        state.remaining = config.requests_per_window;
        state.resets_at = now + config.window;
    }
}

/// How many units a lane must leave untouched. The low lanes' reserve shrinks with a pool whose
/// cap is smaller than configured (a quarter of the cap at most), so they still make progress.
fn floor_for(state: &State, config: &QuotaConfig, lane: Lane, now: Instant) -> u32 {
    if lane.is_high_priority() {
        config.safety_margin
    } else {
        let cap = state
            .learned_cap
            .unwrap_or(config.requests_per_window)
            .min(config.requests_per_window);
        let reserve = match state.learned_cap {
            Some(cap) if cap < config.requests_per_window => config.low_lane_reserve.min(cap / 4),
            _ => config.low_lane_reserve,
        };
        // While a high lane is busy it keeps twice the reserve (never all of the pool).
        let reserve = if now < state.high_active_until {
            (2 * reserve).min(cap / 2).max(reserve)
        } else {
            reserve
        };
        config.safety_margin + reserve
    }
}

fn decide(state: &State, config: &QuotaConfig, lane: Lane, now: Instant) -> Decision {
    let wait = Decision::WaitUntil(state.resets_at.min(now + config.max_wait));
    // Low lanes stand aside while a high lane is queued, so the window's first units go to it.
    if !lane.is_high_priority() && state.high_lane_waiters > 0 {
        return wait;
    }
    if state.remaining > floor_for(state, config, lane, now) {
        Decision::Go
    } else {
        wait
    }
}

fn apply_observation(
    state: &mut State,
    config: &QuotaConfig,
    now: Instant,
    requests_remaining: Option<u32>,
    next_throttle_period: Option<Duration>,
) {
    if let Some(remaining) = requests_remaining {
        let seen = remaining.saturating_add(1);
        state.learned_cap = Some(state.learned_cap.map_or(seen, |cap| cap.max(seen)));
    }
    if let Some(period) = next_throttle_period {
        // The header is whole milliseconds, rounded down: the window ends up to 1 ms later.
        let server_reset = now + period.min(config.max_wait) + Duration::from_millis(1);
        // The server's clock defines the window; a later reset means a window we had not seen.
        if server_reset > state.resets_at + Duration::from_secs(1) {
            state.resets_at = server_reset;
            if let Some(remaining) = requests_remaining {
                state.remaining = remaining;
            }
            return;
        }
        state.resets_at = server_reset;
    }
    if let Some(remaining) = requests_remaining {
        // Answers arrive out of order and our own reservations are not yet in the server's
        // figure, so within one window only ever lower the estimate.
        state.remaining = state.remaining.min(remaining);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> QuotaConfig {
        QuotaConfig {
            requests_per_window: 10,
            window: Duration::from_secs(60),
            low_lane_reserve: 4,
            safety_margin: 1,
            max_wait: Duration::from_secs(61),
        }
    }

    // Paused time: the waits below are whole seconds of virtual time, over at once.
    #[tokio::test(start_paused = true)]
    async fn low_lanes_keep_the_reserve_for_high_lanes() {
        let budget = QuotaBudget::new(config());
        // Low lanes may go while remaining > margin + reserve = 5: 10, 9, 8, 7, 6 → five calls.
        for _ in 0..5 {
            budget.acquire(Lane::Inventory).await;
        }
        assert_eq!(budget.snapshot().remaining_estimate, 5);
        let low =
            tokio::time::timeout(Duration::from_secs(10), budget.acquire(Lane::Reference)).await;
        assert!(low.is_err(), "a low lane must not eat into the reserve");
        // High lanes may go down to the safety margin.
        for _ in 0..4 {
            budget.acquire(Lane::Orders).await;
        }
        assert_eq!(budget.snapshot().remaining_estimate, 1);
        let high =
            tokio::time::timeout(Duration::from_secs(10), budget.acquire(Lane::Shipments)).await;
        assert!(high.is_err(), "nobody spends the safety margin");
        let snap = budget.snapshot();
        assert_eq!(snap.calls_total, 9);
        assert_eq!(snap.calls_by_lane, [4, 0, 5, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_next_window_instead_of_tripping() {
        let budget = QuotaBudget::new(config());
        budget.observe(Some(1), Some(Duration::from_secs(40)));
        // One left, margin 1: the next call waits until the server's window ends, then goes
        // with a fresh window.
        let before = Instant::now();
        budget.acquire(Lane::Orders).await;
        assert!(
            Instant::now() - before >= Duration::from_secs(40),
            "it waited for the window"
        );
        assert_eq!(budget.snapshot().remaining_estimate, 9);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pool_smaller_than_configured_keeps_low_lanes_moving() {
        // Configured for Brightpearl's 200 per minute with 50 kept for orders; the pool shows 20.
        let budget = QuotaBudget::new(QuotaConfig::default());
        budget.observe(Some(19), Some(Duration::from_secs(10)));
        // The reserve becomes a quarter of 20: low lanes go while more than 2 + 5 remain.
        for _ in 0..12 {
            tokio::time::timeout(Duration::from_secs(1), budget.acquire(Lane::Reference))
                .await
                .expect("a low lane makes progress in a small pool");
        }
        assert_eq!(budget.snapshot().remaining_estimate, 7);
        let low =
            tokio::time::timeout(Duration::from_secs(1), budget.acquire(Lane::Inventory)).await;
        assert!(low.is_err(), "the rest is kept for orders and shipments");
        budget.acquire(Lane::Orders).await;
        assert_eq!(
            budget.snapshot().remaining_estimate,
            6,
            "orders may use the reserve"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_without_the_period_header_pauses_briefly() {
        let budget = QuotaBudget::new(config());
        budget.observe_throttled(None);
        let before = Instant::now();
        budget.acquire(Lane::Orders).await;
        let waited = Instant::now() - before;
        assert!(
            waited >= UNANNOUNCED_THROTTLE_PAUSE && waited < Duration::from_secs(10),
            "{waited:?}"
        );
    }

    #[test]
    fn observation_only_lowers_within_a_window() {
        let cfg = config();
        let now = Instant::now();
        let mut state = State {
            remaining: 6,
            resets_at: now + Duration::from_secs(30),
            high_lane_waiters: 0,
            high_active_until: now,
            learned_cap: None,
        };
        // A stale, higher figure from a slow answer does not raise the estimate.
        apply_observation(
            &mut state,
            &cfg,
            now,
            Some(8),
            Some(Duration::from_secs(30)),
        );
        assert_eq!(state.remaining, 6);
        // Another tool spent units: adopt the lower figure.
        apply_observation(
            &mut state,
            &cfg,
            now,
            Some(3),
            Some(Duration::from_secs(30)),
        );
        assert_eq!(state.remaining, 3);
        // A reset further away than ours is a new window: adopt the server's figure outright.
        apply_observation(
            &mut state,
            &cfg,
            now,
            Some(9),
            Some(Duration::from_secs(50)),
        );
        assert_eq!(state.remaining, 9);
        // (One millisecond later: the header is rounded down.)
        assert_eq!(
            state.resets_at,
            now + Duration::from_secs(50) + Duration::from_millis(1)
        );
    }

    #[test]
    fn low_lane_stands_aside_while_high_lane_waits() {
        let cfg = config();
        let now = Instant::now();
        let state = State {
            remaining: 9,
            resets_at: now + Duration::from_secs(30),
            high_lane_waiters: 1,
            high_active_until: now,
            learned_cap: None,
        };
        assert!(matches!(
            decide(&state, &cfg, Lane::Reference, now),
            Decision::WaitUntil(_)
        ));
        assert_eq!(decide(&state, &cfg, Lane::Orders, now), Decision::Go);
    }

    #[test]
    fn a_busy_high_lane_keeps_twice_the_reserve() {
        let cfg = config(); // cap 10, reserve 4, margin 1
        let now = Instant::now();
        let mut state = State {
            remaining: 7,
            resets_at: now + Duration::from_secs(30),
            high_lane_waiters: 0,
            high_active_until: now,
            learned_cap: None,
        };
        // Idle high lanes: the low lane may go down to margin + reserve (5).
        assert_eq!(decide(&state, &cfg, Lane::Inventory, now), Decision::Go);
        // An orders call was just granted: the low lane leaves margin + min(8, 5) = 6.
        state.high_active_until = now + HIGH_ACTIVE;
        assert_eq!(decide(&state, &cfg, Lane::Inventory, now), Decision::Go);
        state.remaining = 6;
        assert!(matches!(
            decide(&state, &cfg, Lane::Inventory, now),
            Decision::WaitUntil(_)
        ));
        assert_eq!(decide(&state, &cfg, Lane::Orders, now), Decision::Go);
        // A second later the high lane is idle again.
        let later = now + HIGH_ACTIVE;
        assert_eq!(decide(&state, &cfg, Lane::Inventory, later), Decision::Go);
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_empties_the_window() {
        let budget = QuotaBudget::new(config());
        budget.observe_throttled(Some(Duration::from_millis(2500)));
        let snap = budget.snapshot();
        assert_eq!(snap.remaining_estimate, 0);
        assert_eq!(snap.throttled_total, 1);
        assert!(snap.window_resets_in > Duration::ZERO);
        assert!(snap.window_resets_in <= Duration::from_millis(2500));
    }

    /// Inventory calls queued behind an exhausted window, then orders calls queued after them:
    /// when the window opens, every orders call is granted before any queued inventory call
    /// (asserted on the grant order, not on time).
    #[tokio::test(start_paused = true)]
    async fn queued_orders_calls_are_granted_before_queued_inventory_calls() {
        let budget = std::sync::Arc::new(QuotaBudget::new(QuotaConfig {
            requests_per_window: 6,
            window: Duration::from_secs(10),
            low_lane_reserve: 2,
            safety_margin: 0,
            max_wait: Duration::from_secs(11),
        }));
        budget.observe(Some(0), Some(Duration::from_secs(5)));
        let mut tasks = Vec::new();
        for lane in [
            Lane::Inventory,
            Lane::Inventory,
            Lane::Inventory,
            Lane::Inventory,
        ] {
            let b = budget.clone();
            tasks.push(tokio::spawn(async move { b.acquire(lane).await }));
        }
        tokio::task::yield_now().await;
        for _ in 0..3 {
            let b = budget.clone();
            tasks.push(tokio::spawn(async move { b.acquire(Lane::Orders).await }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let grants = budget.recent_grants();
        assert_eq!(grants.len(), 7);
        for o in grants.iter().filter(|g| g.lane == Lane::Orders) {
            let cut_in = grants
                .iter()
                .filter(|i| i.lane == Lane::Inventory)
                .any(|i| i.granted > o.requested && i.granted < o.granted);
            assert!(
                !cut_in,
                "an inventory call went while an orders call waited: {grants:?}"
            );
        }
    }
}
