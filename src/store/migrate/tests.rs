//! The migration steps against the committed fixtures of each earlier version.

use super::*;
use crate::flow_name::FlowName;
use crate::store::db::Store;
use crate::store::intents::Intent;
use crate::store::kind::Kind;
use crate::store::links::Link;
use crate::store::records::{Outcome, RecordBackoff, RecordDetail, RecordStatus};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v1.redb");

/// Write the version-1 fixture: two order records and no status index, as version 1 stored
/// them. Run with REGENERATE_FIXTURES=1 to rewrite the committed file.
fn write_v1_fixture(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let store = Store::open_at_version(path, 1).unwrap();
    store
        .write(|tx| {
            let now = chrono::Utc::now();
            for (id, outcome) in [
                ("D-1", Outcome::Synced),
                (
                    "D-2",
                    Outcome::Permanent {
                        reason: "unknown SKU X".into(),
                        code: None,
                    },
                ),
            ] {
                tx.record_outcome_with(
                    FlowName::Orders,
                    "order",
                    id,
                    outcome,
                    RecordDetail::default(),
                    None,
                    &RecordBackoff::default(),
                    now,
                )?;
            }
            // Version 1 had no status index: drop what the shared write path added.
            tx.tx
                .delete_table(STATUS_FLOW_ID_TO_UNIT)
                .map_err(Error::db)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn committed_v1_fixture_is_a_version_1_store_without_the_index() {
    if std::env::var_os("REGENERATE_FIXTURES").is_some() {
        write_v1_fixture(std::path::Path::new(FIXTURE));
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("v1.redb");
    std::fs::copy(FIXTURE, &copy).unwrap();
    let db = redb::Database::create(&copy).unwrap();
    assert_eq!(stored_version(&db).unwrap(), 1);
    let tx = db.begin_read().unwrap();
    assert!(matches!(
        tx.open_table(STATUS_FLOW_ID_TO_UNIT),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
}

const FIXTURE_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v2.redb");

/// Write the version-2 fixture: a settings document and an item mapping, and no catalog
/// tables. Run with REGENERATE_FIXTURES=1 to rewrite the committed file.
fn write_v2_fixture(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let store = Store::open_at_version(path, 2).unwrap();
    store
        .write(|tx| {
            tx.put_document(
                "settings",
                &serde_json::json!({"orders": {"currency": "USD"}}),
            )?;
            tx.put_mapping(
                "items",
                "sku-1",
                &serde_json::json!({"dsco_sku": "SKU-1", "brightpearl_product_id": 101}),
            )
        })
        .unwrap();
}

#[test]
fn the_version_2_fixture_gains_the_catalog_tables_and_keeps_its_data() {
    if std::env::var_os("REGENERATE_FIXTURES").is_some() {
        write_v2_fixture(std::path::Path::new(FIXTURE_V2));
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("v2.redb");
    std::fs::copy(FIXTURE_V2, &copy).unwrap();
    {
        let db = redb::Database::create(&copy).unwrap();
        assert_eq!(stored_version(&db).unwrap(), 2);
        let tx = db.begin_read().unwrap();
        assert!(matches!(
            tx.open_table(PRODUCT_ID_TO_PRODUCT),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }
    let store = Store::open_at_version(&copy, 3).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    store
        .read(|tx| {
            assert!(tx.catalog()?.is_empty());
            assert!(tx.dsco_items()?.is_empty());
            assert!(tx.retailers()?.is_empty());
            // Read through the settings and mapping types in tests/store_fixtures.rs.
            let settings: serde_json::Value = tx.document("settings")?.unwrap();
            assert_eq!(settings["orders"]["currency"], "USD");
            let items = tx.mappings::<serde_json::Value>("items")?;
            assert_eq!(items[0].1["brightpearl_product_id"], 101);
            Ok(())
        })
        .unwrap();
}

const FIXTURE_V3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v3.redb");

/// Order views as version 3 stored them: one document `order/<DSCO order id>` each.
const V3_ORDER_VIEWS: [(&str, &str); 3] = [
    (
        "D-1",
        r#"{"dsco_order_id":"D-1","po_number":"PO-1","dsco_retailer_id":"R-1","bp_order_id":100,"state":"imported","reason":null,"updated_at":"2026-03-02T10:00:01Z","timeline":[{"at":"2026-03-02T10:00:00Z","event":"fetched","detail":null},{"at":"2026-03-02T10:00:01Z","event":"created","detail":"sales order 100"}]}"#,
    ),
    (
        "D-2",
        r#"{"dsco_order_id":"D-2","po_number":"PO-2","dsco_retailer_id":null,"bp_order_id":null,"state":"needs_attention","reason":"line 1: unknown SKU X","updated_at":"2026-03-02T10:00:02Z","timeline":[{"at":"2026-03-02T10:00:02Z","event":"failed","detail":"line 1: unknown SKU X"}]}"#,
    ),
    (
        "D-3",
        r#"{"dsco_order_id":"D-3","po_number":"PO-3","dsco_retailer_id":"R-1","bp_order_id":101,"state":"imported","reason":null,"updated_at":"2026-03-02T10:00:03Z","timeline":[{"at":"2026-03-02T10:00:03Z","event":"created","detail":"sales order 101"}]}"#,
    ),
];

/// Write the version-3 fixture: order views as documents, next to a settings document, an
/// order record, an order link, a contact link, an open intent and the orders cursor. Run
/// with REGENERATE_FIXTURES=1 to rewrite the committed file.
fn write_v3_fixture(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let store = Store::open_at_version(path, 3).unwrap();
    store
        .write(|tx| {
            let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
                .unwrap()
                .to_utc();
            // The bytes as the view type serialized them (field order included).
            let mut documents = tx.tx.open_table(NAME_TO_DOCUMENT).map_err(Error::db)?;
            for (id, json) in V3_ORDER_VIEWS {
                documents
                    .insert(format!("order/{id}").as_str(), json.as_bytes())
                    .map_err(Error::db)?;
            }
            drop(documents);
            tx.put_document(
                "settings",
                &serde_json::json!({"orders": {"currency": "USD"}}),
            )?;
            tx.record_outcome_with(
                FlowName::Orders,
                "order",
                "D-1",
                Outcome::Synced,
                RecordDetail {
                    related: vec![("bp_order_id".into(), "100".into())],
                    ..Default::default()
                },
                None,
                &RecordBackoff::default(),
                at,
            )?;
            tx.put_link(
                "order",
                &Link {
                    dsco_id: "D-1".into(),
                    bp_id: "100".into(),
                    linked_at: at,
                    data: serde_json::json!({"pending_note": null, "cancelled": false, "acknowledged": true}),
                },
            )?;
            tx.put_link(
                "contact",
                &Link {
                    dsco_id: "retailer:R-1".into(),
                    bp_id: "207".into(),
                    linked_at: at,
                    data: serde_json::Value::Null,
                },
            )?;
            tx.put_intent(&Intent {
                kind: "order".into(),
                key: "D-4".into(),
                opened_at: at,
                last_attempt_at: at,
                attempts: 1,
                data: serde_json::Value::Null,
            })?;
            tx.set_cursor(
                "orders.window",
                &serde_json::json!({"until": "2026-03-02T09:59:50Z"}),
            )
        })
        .unwrap();
}

#[test]
fn committed_v3_fixture_is_a_version_3_store_with_views_as_documents() {
    if std::env::var_os("REGENERATE_FIXTURES").is_some() {
        write_v3_fixture(std::path::Path::new(FIXTURE_V3));
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("v3.redb");
    std::fs::copy(FIXTURE_V3, &copy).unwrap();
    let db = redb::Database::create(&copy).unwrap();
    assert_eq!(stored_version(&db).unwrap(), 3);
    let tx = db.begin_read().unwrap();
    let documents = tx.open_table(NAME_TO_DOCUMENT).unwrap();
    for (id, _) in V3_ORDER_VIEWS {
        assert!(
            documents
                .get(format!("order/{id}").as_str())
                .unwrap()
                .is_some()
        );
    }
}

#[test]
fn the_version_3_fixture_moves_order_views_to_their_table_listed_by_state() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("v3.redb");
    std::fs::copy(FIXTURE_V3, &copy).unwrap();
    let store = Store::open(&copy).unwrap();
    assert_eq!(store.schema_version().unwrap(), LATEST);
    let ids = |views: Vec<serde_json::Value>| -> Vec<String> {
        views
            .iter()
            .map(|v| v["dsco_order_id"].as_str().unwrap().to_owned())
            .collect()
    };
    store
        .read(|tx| {
            let imported = tx.order_views(Some("imported"), None, 10)?;
            assert_eq!(ids(imported), ["D-1", "D-3"]);
            let attention = tx.order_views(Some("needs_attention"), None, 10)?;
            assert_eq!(ids(attention), ["D-2"]);
            assert_eq!(ids(tx.order_views(None, None, 10)?), ["D-1", "D-2", "D-3"]);
            // The bytes moved unchanged.
            let table = tx.table(DSCO_ORDER_ID_TO_ORDER_VIEW)?;
            for (id, json) in V3_ORDER_VIEWS {
                assert_eq!(
                    table.get(id).map_err(Error::db)?.unwrap().value(),
                    json.as_bytes()
                );
            }
            let documents = tx.documents_with_prefix::<serde_json::Value>("order/", None, 10)?;
            assert!(documents.is_empty(), "{documents:?}");
            let settings: serde_json::Value = tx.document("settings")?.unwrap();
            assert_eq!(settings["orders"]["currency"], "USD");
            assert_eq!(tx.link("order", "D-1")?.unwrap().bp_id, "100");
            assert_eq!(
                tx.link_by_bp_id("contact", "207")?.unwrap().dsco_id,
                "retailer:R-1"
            );
            assert_eq!(tx.intents("order")?[0].key, "D-4");
            let record = tx.record_for(FlowName::Orders, "order", "D-1")?.unwrap();
            assert_eq!(record.kind, Kind::Order);
            assert_eq!(record.status, RecordStatus::Synced);
            Ok(())
        })
        .unwrap();
    store
        .write(|tx| {
            let mut view: serde_json::Value = tx.order_view("D-2")?.unwrap();
            view["state"] = "imported".into();
            tx.put_order_view("D-2", "imported", &view)
        })
        .unwrap();
    store
        .read(|tx| {
            assert!(
                tx.order_views::<serde_json::Value>(Some("needs_attention"), None, 10)?
                    .is_empty()
            );
            assert_eq!(
                ids(tx.order_views(Some("imported"), None, 10)?),
                ["D-1", "D-2", "D-3"]
            );
            Ok(())
        })
        .unwrap();
}

const FIXTURE_V4: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v4.redb");

/// Write the version-4 fixture: a settings document, an order view and an order record, and no
/// webhook tables. Run with REGENERATE_FIXTURES=1 to rewrite the committed file.
fn write_v4_fixture(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let store = Store::open_at_version(path, 4).unwrap();
    store
        .write(|tx| {
            let at = chrono::DateTime::parse_from_rfc3339("2026-04-01T10:00:00Z")
                .unwrap()
                .to_utc();
            tx.put_document(
                "settings",
                &serde_json::json!({"shipments": {"trigger": "order_status", "order_status_id": 4}}),
            )?;
            tx.put_order_view("D-1", "imported", &serde_json::json!({"dsco_order_id": "D-1", "state": "imported"}))?;
            tx.record_outcome_with(
                FlowName::Orders,
                "order",
                "D-1",
                Outcome::Synced,
                RecordDetail::default(),
                None,
                &RecordBackoff::default(),
                at,
            )?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn committed_v4_fixture_is_a_version_4_store_without_the_inbox() {
    if std::env::var_os("REGENERATE_FIXTURES").is_some() {
        write_v4_fixture(std::path::Path::new(FIXTURE_V4));
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("v4.redb");
    std::fs::copy(FIXTURE_V4, &copy).unwrap();
    let db = redb::Database::create(&copy).unwrap();
    assert_eq!(stored_version(&db).unwrap(), 4);
    let tx = db.begin_read().unwrap();
    assert!(matches!(
        tx.open_table(FLOW_SEQ_TO_INBOX_ENTRY),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
}

#[test]
fn the_version_4_fixture_gains_an_empty_inbox_and_keeps_its_data() {
    use crate::store::inbox::InboxEntry;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("v4.redb");
    std::fs::copy(FIXTURE_V4, &copy).unwrap();
    let store = Store::open(&copy).unwrap();
    // Through version 5 (the inbox) and 6 (inventory) to the latest.
    assert_eq!(store.schema_version().unwrap(), LATEST);
    store
        .read(|tx| {
            assert!(tx.inventory_items()?.is_empty());
            assert!(tx.stock_changes()?.is_empty());
            assert!(tx.pending_units()?.is_empty());
            assert!(tx.inbox(FlowName::Shipments, 10)?.is_empty());
            assert!(tx.webhook_deliveries()?.is_empty());
            assert!(tx.install()?.is_none());
            let settings: serde_json::Value = tx.document("settings")?.unwrap();
            assert_eq!(settings["shipments"]["order_status_id"], 4);
            let view: serde_json::Value = tx.order_view("D-1")?.unwrap();
            assert_eq!(view["state"], "imported");
            let record = tx.record_for(FlowName::Orders, "order", "D-1")?.unwrap();
            assert_eq!(record.status, RecordStatus::Synced);
            Ok(())
        })
        .unwrap();
    let entry = InboxEntry {
        flow: FlowName::Shipments,
        event: "goods-out-note.created".into(),
        id: 5,
        received_at: store.now(),
    };
    assert_eq!(
        store
            .write(|tx| tx.inbox_add(std::slice::from_ref(&entry)))
            .unwrap(),
        1
    );
    assert_eq!(
        store.read(|tx| tx.inbox(FlowName::Shipments, 10)).unwrap(),
        [entry]
    );
}

#[test]
fn each_step_runs_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let store = Store::open_at_version(&path, 1).unwrap();
    assert_eq!(store.schema_version().unwrap(), 1);
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), LATEST);
    drop(store);
    assert_eq!(
        Store::open(&path).unwrap().schema_version().unwrap(),
        LATEST
    );
}
