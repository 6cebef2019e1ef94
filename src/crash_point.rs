//! Named crash points, so the crash windows of the exactly-once procedures can be tested on the
//! real binary: with `DSCOBP_CRASH_AT=<name>` in its environment the process aborts —
//! no destructor, no flush, like a SIGKILL — when it reaches the point of that name. Without the
//! variable a crash point costs one comparison. (Outside the `DSCO_BRIGHTPEARL_` prefix, which
//! the configuration reads as its keys.)

use std::sync::OnceLock;

/// The environment variable naming the crash point.
pub const ENV: &str = "DSCOBP_CRASH_AT";

/// Abort the process here when `ENV` names this point.
pub fn reached(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var(ENV).ok().filter(|v| !v.is_empty()));
    if at.as_deref() == Some(name) {
        eprintln!("{ENV}={name}: aborting here");
        std::process::abort();
    }
}
