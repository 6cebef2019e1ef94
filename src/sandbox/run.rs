//! `dsco-brightpearl sandbox`: both simulators on loopback, a seeded demo account, and the daemon
//! configured against them.

use std::path::Path;

use crate::cli::SandboxArgs;

pub async fn run(_args: SandboxArgs, _config: Option<&Path>) -> anyhow::Result<()> {
    anyhow::bail!("the sandbox simulators are not wired into this build")
}
