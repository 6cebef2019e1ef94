//! `daemon`: idle RSS, exec → READY, binary size.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_dsco-brightpearl")
}

/// Start the daemon with a NOTIFY_SOCKET we own; time exec → READY=1, then read idle RSS.
pub fn daemon_figures() {
    let size = std::fs::metadata(binary()).map(|m| m.len()).unwrap_or(0);
    let mut ready_ms = Vec::new();
    let mut rss_kib = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let socket_path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "state_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"bench\"\n[schedules]\norders = \"0 */5 * * * *\"\nreference = \"0 0 3 * * *\"\n",
                dir.path().join("state").display()
            ),
        )
        .unwrap();
        let started = Instant::now();
        let mut child = Command::new(binary())
            .args(["--config", config.to_str().unwrap(), "run"])
            .env("NOTIFY_SOCKET", &socket_path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = socket.recv(&mut buf).expect("READY=1 within 30 s");
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                break;
            }
        }
        ready_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(2));
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        rss_kib.push(rss);
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
    ready_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rss_kib.sort();
    println!(
        "daemon: binary size {:.1} MiB (target <= 30 MiB)",
        size as f64 / 1048576.0
    );
    println!(
        "daemon: exec -> READY median {:.0} ms, max {:.0} ms over {} starts (target <= 300 ms)",
        ready_ms[ready_ms.len() / 2],
        ready_ms[ready_ms.len() - 1],
        ready_ms.len()
    );
    println!(
        "daemon: idle RSS 2 s after READY median {:.1} MiB, max {:.1} MiB (target <= 25 MiB)",
        rss_kib[rss_kib.len() / 2] as f64 / 1024.0,
        rss_kib[rss_kib.len() - 1] as f64 / 1024.0
    );
}
