//! Logging: structured journald fields under systemd (`JOURNAL_STREAM` set), a human format on a
//! terminal. `RUST_LOG` overrides `[log] filter`.
//!
//! Journald field names are the tracing field names upper-cased with no prefix, so
//! `dsco_order_id` becomes `DSCO_ORDER_ID` (`journalctl DSCO_ORDER_ID=...`). Secrets are never
//! logged: they live in `Secret`, which prints `***`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Chatty dependencies kept at `warn` unless the filter names them.
const QUIET: &[&str] = &[
    "hyper",
    "hyper_util",
    "reqwest",
    "rustls",
    "h2",
    "tokio_cron_scheduler",
];

/// Build the filter: `RUST_LOG` if set, else `configured`; dependencies stay quiet unless named.
pub fn filter(configured: &str) -> EnvFilter {
    let base = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| configured.to_owned());
    let mut directives = base.clone();
    for krate in QUIET {
        if !base.contains(krate) {
            directives.push_str(&format!(",{krate}=warn"));
        }
    }
    EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Install the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(configured_filter: &str) {
    let filter = filter(configured_filter);
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let journald = under_journald
        .then(|| tracing_journald::layer().ok())
        .flatten()
        .map(|layer| {
            layer
                .with_field_prefix(None)
                .with_syslog_identifier("dsco-brightpearl".into())
        });
    let fmt = journald.is_none().then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(journald)
        .with(fmt)
        .try_init();
}
