//! Runs: one per flow execution, with its trigger, times, outcome and counts.

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::error::{Error, decode, encode};
use super::records::StatusCounts;
use super::tables::RUN_ID_TO_RUN;
use super::tx::{Reads, Tx, WriteTx};
use crate::flow_name::{FlowName, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
    Startup,
    Cli,
    /// Queued while the flow ran (a request or a tick), or due records coming back soon.
    FollowUp,
    /// A Brightpearl webhook delivery put entries in the flow's inbox.
    Webhook,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Run {
    pub id: u64,
    pub flow: FlowName,
    pub trigger: Trigger,
    /// The run's mode, one of the flow's `FlowName::modes` (runs stored before modes existed
    /// read as `default`).
    #[serde(default = "default_mode")]
    pub mode: String,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: StatusCounts,
    pub note: Option<String>,
    /// Why a failed run failed.
    pub error: Option<String>,
}

fn default_mode() -> String {
    "default".into()
}

impl<T: Reads> Tx<T> {
    pub fn run(&self, id: u64) -> Result<Option<Run>, Error> {
        let table = self.table(RUN_ID_TO_RUN)?;
        match table.get(id).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("runs", v.value())?)),
            None => Ok(None),
        }
    }

    /// Runs newest first, ids below `before`, optionally of one flow.
    pub fn runs(
        &self,
        flow: Option<FlowName>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Run>, Error> {
        let table = self.table(RUN_ID_TO_RUN)?;
        let mut out = Vec::new();
        for entry in table
            .range(..before.unwrap_or(u64::MAX))
            .map_err(Error::db)?
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let run: Run = decode("runs", entry.map_err(Error::db)?.1.value())?;
            if flow.is_none_or(|f| f == run.flow) {
                out.push(run);
            }
        }
        Ok(out)
    }

    /// The newest run of a flow.
    pub fn last_run(&self, flow: FlowName) -> Result<Option<Run>, Error> {
        Ok(self.runs(Some(flow), None, 1)?.pop())
    }
}

impl WriteTx<'_> {
    pub fn start_run(
        &self,
        flow: FlowName,
        trigger: Trigger,
        mode: Mode,
        now: DateTime<Utc>,
    ) -> Result<Run, Error> {
        let run = Run {
            id: self.next_id("next_run_id")?,
            flow,
            trigger,
            mode: mode.as_str().to_owned(),
            status: RunStatus::Running,
            started_at: now,
            finished_at: None,
            counts: StatusCounts::default(),
            note: None,
            error: None,
        };
        self.save_run(&run)?;
        Ok(run)
    }

    pub fn save_run(&self, run: &Run) -> Result<(), Error> {
        let mut table = self.table_mut(RUN_ID_TO_RUN)?;
        table
            .insert(run.id, encode(run).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    /// Runs still marked `running` belong to a process that died: mark them failed.
    pub fn fail_interrupted_runs(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let mut interrupted = Vec::new();
        {
            let table = self.table(RUN_ID_TO_RUN)?;
            for entry in table.iter().map_err(Error::db)? {
                let run: Run = decode("runs", entry.map_err(Error::db)?.1.value())?;
                if run.status == RunStatus::Running {
                    interrupted.push(run);
                }
            }
        }
        for mut run in interrupted.iter().cloned() {
            run.status = RunStatus::Failed;
            run.finished_at = Some(now);
            run.error = Some("interrupted: the daemon stopped before the run finished".into());
            self.save_run(&run)?;
        }
        Ok(interrupted.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Store;

    #[test]
    fn runs_round_trip_and_interrupted_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb")).unwrap();
        let now = Utc::now();
        let a = s
            .write(|tx| {
                tx.start_run(
                    FlowName::Orders,
                    Trigger::Manual,
                    FlowName::Orders.default_mode(),
                    now,
                )
            })
            .unwrap();
        let b = s
            .write(|tx| {
                tx.start_run(
                    FlowName::Inventory,
                    Trigger::Schedule,
                    FlowName::Inventory.mode("full").unwrap(),
                    now,
                )
            })
            .unwrap();
        assert_eq!(b.mode, "full");
        assert!(b.id > a.id);
        assert_eq!(
            s.read(|tx| tx.last_run(FlowName::Orders))
                .unwrap()
                .unwrap()
                .id,
            a.id
        );
        assert_eq!(s.write(|tx| tx.fail_interrupted_runs(now)).unwrap(), 2);
        let a = s.read(|tx| tx.run(a.id)).unwrap().unwrap();
        assert_eq!(a.status, RunStatus::Failed);
        assert!(a.error.unwrap().contains("interrupted"));
        assert_eq!(a.mode, "default");
    }

    #[test]
    fn a_run_stored_before_modes_reads_as_the_default_mode() {
        let stored = r#"{"id":7,"flow":"orders","trigger":"manual","status":"succeeded",
            "started_at":"2024-01-01T00:00:00Z","finished_at":null,
            "counts":{"synced":0,"failed":0,"needs_attention":0,"skipped":0,"pending":0},
            "note":null,"error":null}"#;
        let run: Run = decode("runs", stored.as_bytes()).unwrap();
        assert_eq!(run.mode, "default");
    }
}
