//! Test-only flows for the machinery tests.

use std::sync::Arc;
use std::time::Duration;

use dsco_brightpearl::flow_name::FlowName;
use dsco_brightpearl::store::{Outcome, RecordDetail};
use dsco_brightpearl::sync::{Flow, FlowCtx, FlowError, RunReport};
use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;

/// A flow that records `items` objects, taking one permit from `gate` per object, and stops at a
/// record boundary when asked to.
pub struct GatedFlow {
    pub name: FlowName,
    pub items: usize,
    pub gate: Arc<Semaphore>,
}

impl GatedFlow {
    pub fn new(name: FlowName, items: usize) -> (Arc<GatedFlow>, Arc<Semaphore>) {
        let gate = Arc::new(Semaphore::new(0));
        (
            Arc::new(GatedFlow {
                name,
                items,
                gate: gate.clone(),
            }),
            gate,
        )
    }
}

impl Flow for GatedFlow {
    fn name(&self) -> FlowName {
        self.name
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            for i in 0..self.items {
                if ctx.stopping() {
                    return Ok(RunReport {
                        counts: ctx.counts(),
                        note: Some(format!(
                            "stopped after {i} of {} objects for shutdown",
                            self.items
                        )),
                    });
                }
                tokio::select! {
                    permit = self.gate.acquire() => permit.map_err(|e| FlowError::Other(e.to_string()))?.forget(),
                    _ = ctx.cancel.cancelled() => continue,
                }
                // A record takes a little while; the stop request must wait for it.
                tokio::time::sleep(Duration::from_millis(5)).await;
                ctx.record(
                    "thing",
                    &format!("T{i}"),
                    Outcome::Synced,
                    RecordDetail::default(),
                )
                .await?;
            }
            Ok(RunReport {
                counts: ctx.counts(),
                note: None,
            })
        })
    }
}

/// A flow that fails one object permanently and one retryably, and syncs one.
pub struct MixedFlow;

impl Flow for MixedFlow {
    fn name(&self) -> FlowName {
        FlowName::Inventory
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            ctx.record("item", "ok", Outcome::Synced, RecordDetail::default())
                .await?;
            ctx.record(
                "item",
                "bad-sku",
                Outcome::Permanent {
                    reason: "unknown SKU BAD-1".into(),
                    code: None,
                },
                RecordDetail::default(),
            )
            .await?;
            ctx.record(
                "item",
                "slow",
                Outcome::Retryable {
                    error: None,
                    reason: "timeout after 30s".into(),
                },
                RecordDetail::default(),
            )
            .await?;
            Ok(RunReport {
                counts: ctx.counts(),
                note: None,
            })
        })
    }
}

/// A flow that panics on its first run and succeeds afterwards.
#[derive(Default)]
pub struct PanicOnceFlow {
    panicked: std::sync::atomic::AtomicBool,
}

impl Flow for PanicOnceFlow {
    fn name(&self) -> FlowName {
        FlowName::Invoices
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            if !self
                .panicked
                .swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                panic!("test flow blew up");
            }
            Ok(RunReport {
                counts: ctx.counts(),
                note: None,
            })
        })
    }
}

/// A flow that does nothing but count its runs; it leaves its inbox alone, so a test can read
/// what webhook deliveries stored.
pub struct NoopFlow {
    pub name: FlowName,
    pub runs: std::sync::atomic::AtomicUsize,
}

impl NoopFlow {
    pub fn new(name: FlowName) -> Arc<NoopFlow> {
        Arc::new(NoopFlow {
            name,
            runs: Default::default(),
        })
    }
}

impl Flow for NoopFlow {
    fn name(&self) -> FlowName {
        self.name
    }

    fn run<'a>(&'a self, ctx: &'a FlowCtx) -> BoxFuture<'a, Result<RunReport, FlowError>> {
        Box::pin(async move {
            self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(RunReport {
                counts: ctx.counts(),
                note: None,
            })
        })
    }
}
