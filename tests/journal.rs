//! Under systemd (`JOURNAL_STREAM` set) the daemon logs structured journald fields named
//! exactly `FLOW`, `RUN_ID`, `DSCO_ORDER_ID`, `BP_ORDER_ID` (no `F_` prefix). journald's socket
//! path is fixed, so the daemon runs in its own mount namespace where our socket stands at
//! `/run/systemd/journal/socket`.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{self, Sims, TOKEN, wait_for};

#[tokio::test]
async fn journald_gets_flow_run_and_order_id_fields() {
    let sims = Sims::start().await;
    sims.brightpearl.seed_demo(200);
    sims.dsco.seed_demo(200, 0, 1);
    let dir = tempfile::tempdir().unwrap();
    let sock_dir = dir.path().join("journal");
    std::fs::create_dir_all(&sock_dir).unwrap();
    let socket = UnixDatagram::bind(sock_dir.join("socket")).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Drain the socket as the daemon writes: a unix datagram queue holds only a few messages,
    // and a full queue blocks the writer.
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (received, done) = (received.clone(), done.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(n) = socket.recv(&mut buf) {
                    received
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).to_string());
                }
            }
        })
    };
    let state = dir.path().join("state");
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "state_dir = \"{}\"\n{}\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n",
            state.display(),
            sims.config_toml()
        ),
    )
    .unwrap();
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && mount --bind {} /run/systemd/journal && exec {} --config {} run",
        sock_dir.display(),
        support::binary(),
        dir.path().join("config.toml").display()
    );
    let mut child = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .env("JOURNAL_STREAM", "8:12345")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("unshare (util-linux) runs the daemon in its own mount namespace");
    let addr = wait_for(Duration::from_secs(30), || {
        let path = state.join("api.addr");
        async move {
            std::fs::read_to_string(path)
                .ok()
                .filter(|s| !s.trim().is_empty())
        }
    })
    .await;
    let base = addr.trim().to_owned();
    let http = support::http();
    wait_for(Duration::from_secs(60), || async {
        let runs: Value = http
            .get(format!("{base}/v1/runs?flow=reference"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        runs["items"]
            .as_array()?
            .iter()
            .any(|r| r["status"] == "succeeded")
            .then_some(())
    })
    .await;
    let r = http
        .patch(format!("{base}/v1/settings"))
        .bearer_auth(TOKEN)
        .json(&json!({"orders": {"import_from": "2020-01-01T00:00:00Z", "tax_code": "T", "shipping_method_id": 1, "warehouse_id": 1}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    for (kind, csv) in [
        (
            "warehouses",
            "brightpearl_warehouse_id,dsco_warehouse_code\n1,WH-MAIN\n",
        ),
        (
            "shipping-methods",
            "use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id\nboth,UPCG,UPS,Ground,1\n",
        ),
    ] {
        let r = http
            .put(format!("{base}/v1/mappings/{kind}"))
            .bearer_auth(TOKEN)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{kind}");
    }
    let id = sims
        .dsco
        .create_order(json!({"poNumber": "PO-J", "dscoRetailerId": "1000001",
            "shipping": {"name": "Kim Lee", "address1": "1 St", "city": "C", "postal": "1", "country": "US"},
            "lineItems": [{"sku": "SKU-0036", "quantity": 1}]}))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    http.post(format!("{base}/v1/sync/orders/run"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let mut view = Value::Null;
    for _ in 0..600 {
        view = http
            .get(format!("{base}/v1/orders/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if view["state"] == "acknowledged" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["state"], "acknowledged", "{view}");
    // One shipment: its entries carry the goods-out note and the tracking number.
    let bp = view["bp_order_id"].as_u64().unwrap() as u32;
    let note = sims.brightpearl.create_goods_out_note(bp, &[]).unwrap();
    sims.brightpearl
        .ship_goods_out_note(note, Some("1ZJOURNAL"), None)
        .unwrap();
    let run: Value = http
        .post(format!("{base}/v1/sync/shipments/run"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_u64().unwrap();
    wait_for(Duration::from_secs(60), || async {
        let run: Value = http
            .get(format!("{base}/v1/runs/{run_id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (run["status"] != "running").then_some(())
    })
    .await;
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = child.wait();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    reader.join().unwrap();
    let entries = received.lock().unwrap().clone();
    let imported = entries
        .iter()
        .find(|e| e.contains("order imported"))
        .unwrap_or_else(|| panic!("no 'order imported' entry among {} entries", entries.len()));
    for field in [
        "FLOW",
        "RUN_ID",
        "DSCO_ORDER_ID",
        "BP_ORDER_ID",
        "PRIORITY",
        "MESSAGE",
    ] {
        assert!(
            imported.contains(field),
            "{field} missing from {imported:?}"
        );
    }
    assert!(imported.contains(&id), "{imported:?}");
    let sent = entries
        .iter()
        .find(|e| e.contains("shipment sent to DSCO"))
        .unwrap_or_else(|| panic!("no 'shipment sent to DSCO' entry among {entries:?}"));
    assert_eq!(
        field(sent, "GOODS_OUT_NOTE_ID").as_deref(),
        Some(note.to_string().as_str()),
        "{sent:?}"
    );
    assert_eq!(
        field(sent, "TRACKING").as_deref(),
        Some("1ZJOURNAL"),
        "{sent:?}"
    );
    assert!(
        !entries
            .iter()
            .any(|e| e.contains("F_FLOW") || e.contains("F_DSCO_ORDER_ID"))
    );
    assert!(
        entries
            .iter()
            .any(|e| e.contains("run finished") && e.contains("RUN_ID"))
    );
    for secret in [
        TOKEN,
        sims.brightpearl.config().account_token.as_str(),
        sims.dsco.config().client_secret.as_str(),
    ] {
        assert!(
            !entries.iter().any(|e| e.contains(secret)),
            "a secret reached the journal"
        );
    }
}

/// A field's value in one journald datagram: `NAME=value\n`, or `NAME\n`, a 64-bit
/// little-endian length and the value, then `\n` (the native protocol's two forms).
fn field(entry: &str, name: &str) -> Option<String> {
    let bytes = entry.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let end = rest.iter().position(|b| *b == b'\n' || *b == b'=')?;
        let key = std::str::from_utf8(&rest[..end]).ok()?;
        let (value, next) = if rest[end] == b'=' {
            let stop = rest[end..].iter().position(|b| *b == b'\n')? + end;
            (&rest[end + 1..stop], stop + 1)
        } else {
            let len = u64::from_le_bytes(rest.get(end + 1..end + 9)?.try_into().ok()?) as usize;
            let start = end + 9;
            (rest.get(start..start + len)?, start + len + 1)
        };
        if key == name {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
        at += next;
    }
    None
}
