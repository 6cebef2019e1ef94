//! sd-notify: READY, STOPPING, STATUS and WATCHDOG. Every call is a no-op without `NOTIFY_SOCKET`.

use std::time::Duration;

use sd_notify::NotifyState;

pub fn ready() {
    notify(&[NotifyState::Ready]);
}

pub fn stopping() {
    notify(&[NotifyState::Stopping]);
}

pub fn status(text: &str) {
    notify(&[NotifyState::Status(text)]);
}

pub fn watchdog() {
    notify(&[NotifyState::Watchdog]);
}

/// The watchdog interval systemd expects pings within, if it set one for this process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}
