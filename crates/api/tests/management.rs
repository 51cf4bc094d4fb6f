//! The `/v1` management API: connection, syncs, actions, runs, errors, and bad input.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::{TestApp, event_doc};
use serde_json::{Value, json};
use wharf_model::SystemClock;
use wharf_sync::seal::Sealer;
use wharf_sync::{EngineConfig, SyncEngine};

async fn app() -> (TestApp, Arc<SyncEngine>) {
    let mut app = TestApp::new().await;
    let engine = Arc::new(SyncEngine::new(
        app.store.clone(),
        Sealer::from_key([3; 32]),
        Arc::new(SystemClock),
        EngineConfig::default(),
    ));
    app.set_engine(engine.clone());
    (app, engine)
}

fn local(path: &std::path::Path) -> Value {
    json!({"destination": {"type": "local", "path": path}, "options": {"data_objects": ["profiles", "events"], "historical_range": "90d"}})
}

#[tokio::test]
async fn connect_list_act_and_remove() {
    let (app, engine) = app().await;
    let t = app.tenant("shop").await;
    let out = tempfile::tempdir().unwrap();
    assert_eq!(
        app.send("POST", "/api/events", &t.key, Some(&event_doc("a@example.org"))).await.status,
        StatusCode::ACCEPTED
    );

    let r = app.send("PUT", "/v1/connection", &t.key, Some(&local(out.path()))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["state"], "enabled");
    let steps: Vec<&str> = r.body["test"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["reach", "authenticate", "write", "read_back", "clean_up"]);
    assert_eq!(r.body["options"]["historical_range"], "90d");
    // Editing the same destination replaces it.
    let r = app.send("PUT", "/v1/connection", &t.key, Some(&local(out.path()))).await;
    assert_eq!(r.status, StatusCode::OK);

    let syncs = app.send("GET", "/v1/syncs", &t.key, None).await.body["data"].as_array().unwrap().clone();
    assert_eq!(syncs.len(), 6, "historical and periodic for profiles, events and metrics");
    for s in &syncs {
        assert_eq!(s["status"], "scheduled");
        for k in ["id", "kind", "object", "progress_percent", "freshness_seconds", "last_run_at", "next_run_at"] {
            assert!(s.get(k).is_some(), "{k} in {s}");
        }
    }
    engine.run_due().await.unwrap();
    let syncs = app.send("GET", "/v1/syncs", &t.key, None).await.body["data"].as_array().unwrap().clone();
    let hist = syncs.iter().find(|s| s["kind"] == "historical" && s["object"] == "events").unwrap();
    assert_eq!((hist["status"].as_str(), hist["progress_percent"].as_f64()), (Some("completed"), Some(100.0)));
    let periodic = syncs.iter().find(|s| s["kind"] == "periodic" && s["object"] == "events").unwrap();
    assert!(periodic["freshness_seconds"].as_f64().is_some());
    assert!(periodic["next_run_at"].is_string());

    let hid = hist["id"].as_str().unwrap();
    let one = app.send("GET", &format!("/v1/syncs/{hid}"), &t.key, None).await;
    assert_eq!(one.body["data"]["status"], "completed");
    assert!(one.body["data"].get("last_success_at").is_some());
    let r = app.send("POST", &format!("/v1/syncs/{hid}/pause"), &t.key, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a completed sync cannot be paused: {}", r.body);
    r.error();
    let runs = app.send("GET", &format!("/v1/syncs/{hid}/runs"), &t.key, None).await;
    // The one event is from 2025, outside the 90-day range: the window ran and held nothing.
    assert_eq!(runs.body["data"][0]["rows"], 0);
    assert_eq!(runs.body["data"][0]["result"], "ok");

    let pid = periodic["id"].as_str().unwrap();
    let r = app.send("POST", &format!("/v1/syncs/{pid}/pause"), &t.key, None).await;
    assert_eq!((r.status, r.body["data"]["status"].as_str()), (StatusCode::OK, Some("paused")));
    let r = app.send("POST", &format!("/v1/syncs/{pid}/resume"), &t.key, None).await;
    assert_eq!(r.body["data"]["status"], "scheduled");
    let r = app.send("POST", &format!("/v1/syncs/{pid}/run"), &t.key, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.send("POST", &format!("/v1/syncs/{pid}/explode"), &t.key, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Another account cannot see or act on these syncs.
    let other = app.tenant("other").await;
    assert_eq!(
        app.send("POST", &format!("/v1/syncs/{pid}/pause"), &other.key, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.send("GET", &format!("/v1/syncs/{pid}/runs"), &other.key, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.send("GET", "/v1/connection", &other.key, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.send("GET", "/v1/syncs", &other.key, None).await.body["data"], json!([]));

    let shown = app.send("GET", "/v1/connection", &t.key, None).await;
    assert_eq!(shown.body["errors_past_24h"], 0);
    assert!(shown.body["last_sync_at"].is_string());

    assert_eq!(app.send("DELETE", "/v1/connection", &t.key, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.send("GET", "/v1/connection", &t.key, None).await.status, StatusCode::NOT_FOUND);
    let syncs = app.send("GET", "/v1/syncs", &t.key, None).await.body["data"].as_array().unwrap().clone();
    assert!(syncs.iter().all(|s| s["status"] == "disabled"));
    assert!(out.path().join("klaviyo_profile").read_dir().unwrap().next().is_some(), "the warehouse is left alone");
    assert_eq!(app.send("DELETE", "/v1/connection", &t.key, None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_connection_input_is_refused_and_changes_nothing() {
    let (app, _) = app().await;
    let t = app.tenant("shop").await;
    let out = tempfile::tempdir().unwrap();
    let path = out.path().to_str().unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"destination": {"type": "ftp", "path": path}}), "/destination"),
        (json!({"destination": {"type": "local"}}), "/destination"),
        (json!({"destination": {"type": "local", "path": 5}}), "/destination"),
        (json!({"destination": {"type": "local", "path": path, "colour": "red"}}), "/destination"),
        (json!({"options": {}}), "/destination"),
        (
            json!({"destination": {"type": "local", "path": path}, "options": {"data_objects": ["orders"]}}),
            "/options/data_objects/0",
        ),
        (json!({"destination": {"type": "local", "path": path}, "options": {"data_objects": []}}), "/options"),
        (
            json!({"destination": {"type": "local", "path": path}, "options": {"historical_range": "2y"}}),
            "/options/historical_range",
        ),
        (
            json!({"destination": {"type": "local", "path": path}, "options": {"periodic_cadence": "5m"}}),
            "/options/periodic_cadence",
        ),
        (
            json!({"destination": {"type": "local", "path": path}, "options": {"data_objects": ["profiles"], "selective_sync": ["Placed Order"]}}),
            "/options",
        ),
        (
            json!({"destination": {"type": "local", "path": path}, "options": {"excluded_integrations": "Klaviyo"}}),
            "/options/excluded_integrations",
        ),
        (json!({"destination": {"type": "local", "path": path}, "extra": 1}), "/extra"),
    ];
    for (body, pointer) in cases {
        let r = app.send("PUT", "/v1/connection", &t.key, Some(&body)).await;
        assert_eq!((r.status, r.pointer()), (StatusCode::BAD_REQUEST, pointer), "{body}: {}", r.body);
    }
    let r = app
        .send("PUT", "/v1/connection", &t.key, Some(&json!({"destination": {"type": "local", "path": "relative/dir"}})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(
        app.send("GET", "/v1/connection", &t.key, None).await.status,
        StatusCode::NOT_FOUND,
        "nothing was stored"
    );
    assert_eq!(app.send("GET", "/v1/syncs", &t.key, None).await.body["data"], json!([]));

    // One destination per account: another type while one exists is a conflict.
    assert_eq!(app.send("PUT", "/v1/connection", &t.key, Some(&local(out.path()))).await.status, StatusCode::CREATED);
    let s3 = json!({"destination": {"type": "s3", "bucket": "lake", "region": "us-east-1", "access_key_id": "AKIATEST",
        "secret_access_key": "do-not-show-me", "endpoint": "http://127.0.0.1:9"}});
    let r = app.send("PUT", "/v1/connection", &t.key, Some(&s3)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(!r.body.to_string().contains("do-not-show-me"));
    assert_eq!(app.send("GET", "/v1/connection", &t.key, None).await.body["destination"]["type"], "local");

    let r = app.send("GET", "/v1/errors?since=yesterday", &t.key, None).await;
    assert_eq!((r.status, r.parameter()), (StatusCode::BAD_REQUEST, "since"));
    let r = app.raw("GET", "/v1/syncs", None, &[], vec![]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn secrets_are_never_shown_back() {
    let (app, _) = app().await;
    let t = app.tenant("shop").await;
    // An unreachable S3 endpoint: stored, Unable to connect, the secret never echoed.
    let s3 = json!({"destination": {"type": "s3", "bucket": "lake", "region": "us-east-1", "access_key_id": "AKIATEST",
        "secret_access_key": "do-not-show-me", "endpoint": "http://127.0.0.1:9"}});
    let r = app.send("PUT", "/v1/connection", &t.key, Some(&s3)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["state"], "unable_to_connect");
    let failed = r.body["test"].as_array().unwrap().iter().find(|s| s["ok"] == false).unwrap().clone();
    assert!(failed["error"]["external_message"].as_str().is_some_and(|m| !m.is_empty()), "{failed}");
    for body in [r.body.to_string(), app.send("GET", "/v1/connection", &t.key, None).await.body.to_string()] {
        assert!(!body.contains("do-not-show-me"), "{body}");
        assert!(body.contains("********"));
    }
    let r = app.send("POST", "/v1/connection/test", &t.key, None).await;
    assert_eq!(r.body["state"], "unable_to_connect");
    assert!(!r.body.to_string().contains("do-not-show-me"));
    // At rest the credentials are sealed: no file of the store holds the secret in clear.
    for entry in std::fs::read_dir(app.data_dir()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(14).any(|w| w == b"do-not-show-me"), "the secret is stored in clear");
    }
}
