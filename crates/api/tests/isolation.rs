//! A key of account A can neither read nor write account B's data.

mod common;

use axum::http::StatusCode;
use common::{TestApp, event_doc};
use serde_json::json;

#[tokio::test]
async fn accounts_never_see_each_other() {
    let app = TestApp::new().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;

    assert_eq!(
        app.send("POST", "/api/events", &a.key, Some(&event_doc("shared@example.org"))).await.status,
        StatusCode::ACCEPTED
    );
    let events = app.send("GET", "/api/events", &a.key, None).await.body;
    let event_id = events["data"][0]["id"].as_str().unwrap().to_string();
    let profile_id = events["data"][0]["relationships"]["profile"]["data"]["id"].as_str().unwrap().to_string();
    let metric_id = events["data"][0]["relationships"]["metric"]["data"]["id"].as_str().unwrap().to_string();
    let job = app
        .send("POST", "/api/profile-bulk-import-jobs", &a.key, Some(&json!({"data": {"type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": [{"type": "profile", "attributes": {"email": "bulk@example.org"}}]}}}})))
        .await;
    let job_id = job.body["data"]["id"].as_str().unwrap().to_string();

    // Reads with B's key.
    for uri in [
        format!("/api/events/{event_id}"),
        format!("/api/profiles/{profile_id}"),
        format!("/api/metrics/{metric_id}"),
        format!("/api/profile-bulk-import-jobs/{job_id}"),
        format!("/api/profile-bulk-import-jobs/{job_id}/import-errors"),
    ] {
        let r = app.send("GET", &uri, &b.key, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.body);
    }
    for uri in
        ["/api/events", "/api/profiles", "/api/metrics", "/api/profiles?filter=equals(email,%22shared@example.org%22)"]
    {
        let r = app.send("GET", uri, &b.key, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["data"], json!([]), "{uri}");
    }

    // Writes with B's key that name A's objects.
    let patch = json!({"data": {"type": "profile", "id": profile_id, "attributes": {"first_name": "Mallory"}}});
    assert_eq!(
        app.send("PATCH", &format!("/api/profiles/{profile_id}"), &b.key, Some(&patch)).await.status,
        StatusCode::NOT_FOUND
    );
    let mut ev = event_doc("x@example.org");
    ev["data"]["attributes"]["profile"]["data"] = json!({"type": "profile", "id": profile_id});
    assert_eq!(app.send("POST", "/api/events", &b.key, Some(&ev)).await.status, StatusCode::BAD_REQUEST);
    let upsert = json!({"data": {"type": "profile", "id": profile_id, "attributes": {"first_name": "Mallory"}}});
    assert_eq!(app.send("POST", "/api/profile-import", &b.key, Some(&upsert)).await.status, StatusCode::BAD_REQUEST);

    // The same email in B is B's own profile, and A's is untouched.
    let r = app.send("POST", "/api/profile-import", &b.key, Some(&json!({"data": {"type": "profile", "attributes": {"email": "shared@example.org", "first_name": "Bee"}}}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_ne!(r.body["data"]["id"], json!(profile_id));
    let mine = app.send("GET", &format!("/api/profiles/{profile_id}"), &a.key, None).await;
    assert_eq!(mine.body["data"]["attributes"]["first_name"], json!(null));
    assert_eq!(app.counts(&a.id).await, (1, 2, 1));
    assert_eq!(app.counts(&b.id).await, (0, 1, 0));
}
