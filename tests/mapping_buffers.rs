//! The `inventory-buffers` mapping over real HTTP against an in-process daemon: CSV and JSON
//! uploads, bad rows named by line and column, keys compared case-insensitively, the CSV
//! round trip, and what the inventory flow reads back (`InventoryBufferMap`).

use dsco_brightpearl::mapping::inventory_buffers::InventoryBufferMap;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TOKEN, TestApp};

const HEADER: &str = "dsco_sku,buffer";

async fn send(app: &TestApp, method: Method, path: &str, body: Body) -> (u16, Value, String) {
    let request = app
        .http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(TOKEN);
    let request = match body {
        Body::None => request,
        Body::Csv(csv) => request.header("content-type", "text/csv").body(csv),
        Body::Json(value) => request.json(&value),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, text)
}

enum Body {
    None,
    Csv(String),
    Json(Value),
}

/// Every error detail as (field, message).
fn details(body: &Value) -> Vec<(String, String)> {
    body["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap().to_owned(),
                        e["message"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn loaded(app: &TestApp) -> InventoryBufferMap {
    app.running().store.read(InventoryBufferMap::load).unwrap()
}

#[tokio::test]
async fn inventory_buffers_upload_as_csv_and_json_refuse_bad_rows_and_round_trip() {
    // No reference data has been retrieved: buffers name no Brightpearl ids and need none.
    let app = TestApp::start("", vec![]).await;
    let csv = format!("{HEADER}\nDS-1,3\nds-2,0\n");
    let (status, body, _) = send(
        &app,
        Method::PUT,
        "/v1/mappings/inventory-buffers",
        Body::Csv(csv.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["kind"].as_str(), body["created"].as_u64()),
        (Some("inventory-buffers"), Some(2)),
        "{body}"
    );
    let map = loaded(&app);
    assert_eq!(map.buffer_for("ds-1"), Some(3));
    assert_eq!(map.buffer_for("DS-2"), Some(0));
    assert_eq!(map.buffer_for("DS-3"), None);

    // One row as JSON, by key; the key is the SKU in any case.
    let (status, body, _) = send(
        &app,
        Method::PUT,
        "/v1/mappings/inventory-buffers/DS-3",
        Body::Json(json!({"buffer": 5})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"dsco_sku": "DS-3", "buffer": 5}));
    let (status, body, _) = send(
        &app,
        Method::GET,
        "/v1/mappings/inventory-buffers/ds-1",
        Body::None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"dsco_sku": "DS-1", "buffer": 3}));
    assert_eq!(loaded(&app).buffer_for("ds-3"), Some(5));

    // Bad rows: each named by line and column, and nothing applied.
    let bad = format!("{HEADER}\nDS-1,9\nDS-4,-1\nDS-5,1.5\n,2\nDS-6,\nDS-7,many\n");
    let (status, body, _) = send(
        &app,
        Method::PUT,
        "/v1/mappings/inventory-buffers?mode=replace",
        Body::Csv(bad),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        details(&body),
        vec![
            (
                "line 3".to_owned(),
                r#"buffer "-1" is not an integer 0 or more"#.to_owned()
            ),
            (
                "line 4".to_owned(),
                r#"buffer "1.5" is not an integer 0 or more"#.to_owned()
            ),
            ("line 5".to_owned(), "dsco_sku is empty".to_owned()),
            ("line 6".to_owned(), "buffer is empty".to_owned()),
            (
                "line 7".to_owned(),
                r#"buffer "many" is not an integer 0 or more"#.to_owned()
            ),
        ],
        "{body}"
    );
    assert_eq!(loaded(&app).buffer_for("DS-1"), Some(3), "nothing applied");
    for (value, expected) in [
        (json!(-2), r#"buffer "-2" is not an integer 0 or more"#),
        (json!(2.5), r#"buffer "2.5" is not an integer 0 or more"#),
        (json!(true), "buffer must be a string or a number, not true"),
    ] {
        let (status, body, _) = send(
            &app,
            Method::PUT,
            "/v1/mappings/inventory-buffers/DS-8",
            Body::Json(json!({"buffer": value})),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            details(&body),
            vec![("body".to_owned(), expected.to_owned())],
            "{value}"
        );
    }
    // A SKU in a different case is the same row, so a second spelling is a duplicate.
    let (status, body, _) = send(
        &app,
        Method::PUT,
        "/v1/mappings/inventory-buffers",
        Body::Csv(format!("{HEADER}\nDS-9,1\nds-9,2\n")),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let rows = details(&body);
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0].0, "line 3");
    assert!(rows[0].1.contains("duplicate key"), "{body}");

    // Download as CSV, upload it back unchanged: nothing changes.
    let (status, _, downloaded) = send(
        &app,
        Method::GET,
        "/v1/mappings/inventory-buffers?format=csv",
        Body::None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(downloaded, format!("{HEADER}\nDS-1,3\nds-2,0\nDS-3,5\n"));
    let (status, body, _) = send(
        &app,
        Method::PUT,
        "/v1/mappings/inventory-buffers?mode=replace",
        Body::Csv(downloaded.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["created"].as_u64(),
            body["updated"].as_u64(),
            body["removed"].as_u64(),
            body["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(3)),
        "{body}"
    );
    // The JSON page holds the same rows.
    let page = app.json("/v1/mappings/inventory-buffers").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3, "{page}");
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .contains(&json!({"dsco_sku": "ds-2", "buffer": 0}))
    );
    // Replace with fewer rows removes the others; delete by key in any case.
    let (status, body, _) = send(
        &app,
        Method::PUT,
        "/v1/mappings/inventory-buffers?mode=replace",
        Body::Csv(format!("{HEADER}\nDS-1,4\n")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["updated"].as_u64(), body["removed"].as_u64()),
        (Some(1), Some(2)),
        "{body}"
    );
    let (status, _, _) = send(
        &app,
        Method::DELETE,
        "/v1/mappings/inventory-buffers/ds-1",
        Body::None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(loaded(&app).is_empty());
    app.stop().await;
}
