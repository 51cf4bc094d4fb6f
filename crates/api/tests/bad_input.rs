//! Every kind of bad input gets the right status, a JSON:API error naming the offending
//! field, and stores nothing.

mod common;

use axum::http::StatusCode;
use common::{TestApp, event_doc};
use serde_json::{Value, json};

/// Replaces the value at a JSON pointer (creating the last key).
fn set(mut doc: Value, pointer: &str, v: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(key.to_string(), v);
    doc
}

fn remove(mut doc: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key);
    doc
}

fn nested(levels: usize) -> Value {
    (1..levels).fold(json!({"leaf": 1}), |inner, _| json!({ "n": inner }))
}

#[tokio::test]
async fn bad_event_documents_are_refused_with_a_pointer_and_store_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant("shop").await;
    let ok = event_doc("ana@example.org");
    let many: serde_json::Map<String, Value> = (0..401).map(|i| (format!("p{i}"), json!(i))).collect();
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("missing type", remove(ok.clone(), "/data/type"), 400, "/data/type"),
        ("unknown type", set(ok.clone(), "/data/type", json!("evnt")), 409, "/data/type"),
        ("type of wrong JSON type", set(ok.clone(), "/data/type", json!(5)), 400, "/data/type"),
        ("no data", json!({"dta": {}}), 400, "/dta"),
        (
            "properties not an object",
            set(ok.clone(), "/data/attributes/properties", json!("x")),
            400,
            "/data/attributes/properties",
        ),
        ("value as a string", set(ok.clone(), "/data/attributes/value", json!("9.99")), 400, "/data/attributes/value"),
        ("missing properties", remove(ok.clone(), "/data/attributes/properties"), 400, "/data/attributes/properties"),
        ("missing metric", remove(ok.clone(), "/data/attributes/metric"), 400, "/data/attributes/metric"),
        ("missing profile", remove(ok.clone(), "/data/attributes/profile"), 400, "/data/attributes/profile"),
        (
            "no identifier",
            set(ok.clone(), "/data/attributes/profile/data/attributes", json!({"first_name": "Ana"})),
            400,
            "/data/attributes/profile/data/attributes",
        ),
        (
            "invalid email",
            set(ok.clone(), "/data/attributes/profile/data/attributes/email", json!("ana@")),
            400,
            "/data/attributes/profile/data/attributes/email",
        ),
        (
            "invalid phone",
            set(ok.clone(), "/data/attributes/profile/data/attributes/phone_number", json!("555-1234")),
            400,
            "/data/attributes/profile/data/attributes/phone_number",
        ),
        ("bad time", set(ok.clone(), "/data/attributes/time", json!("last tuesday")), 400, "/data/attributes/time"),
        (
            "time before 2000",
            set(ok.clone(), "/data/attributes/time", json!("1999-12-31T23:59:59Z")),
            400,
            "/data/attributes/time",
        ),
        (
            "time over a year ahead",
            set(
                ok.clone(),
                "/data/attributes/time",
                json!((chrono::Utc::now() + chrono::TimeDelta::days(400)).to_rfc3339()),
            ),
            400,
            "/data/attributes/time",
        ),
        (
            "401 properties",
            set(ok.clone(), "/data/attributes/properties", Value::Object(many)),
            400,
            "/data/attributes/properties",
        ),
        (
            "11 nesting levels",
            set(ok.clone(), "/data/attributes/properties", nested(11)),
            400,
            "/data/attributes/properties/n/n/n/n/n/n/n/n/n/n",
        ),
        (
            "string over 100 kB",
            set(ok.clone(), "/data/attributes/properties/s", json!("x".repeat(100 * 1024 + 1))),
            400,
            "/data/attributes/properties/s",
        ),
        (
            "array over 4000 items",
            set(ok.clone(), "/data/attributes/properties/a", json!(vec![1; 4001])),
            400,
            "/data/attributes/properties/a",
        ),
        (
            "empty unique_id",
            set(ok.clone(), "/data/attributes/unique_id", json!("")),
            400,
            "/data/attributes/unique_id",
        ),
        (
            "unique_id over 255",
            set(ok.clone(), "/data/attributes/unique_id", json!("u".repeat(256))),
            400,
            "/data/attributes/unique_id",
        ),
        (
            "metric name too long",
            set(ok.clone(), "/data/attributes/metric/data/attributes/name", json!("m".repeat(128))),
            400,
            "/data/attributes/metric/data/attributes/name",
        ),
        (
            "bad currency",
            set(ok.clone(), "/data/attributes/value_currency", json!("dollars")),
            400,
            "/data/attributes/value_currency",
        ),
        ("unknown attribute", set(ok.clone(), "/data/attributes/valu", json!(1)), 400, "/data/attributes/valu"),
        (
            "unknown profile id",
            set(ok.clone(), "/data/attributes/profile/data/id", json!("01NOSUCHPROFILE0000000000")),
            400,
            "/data/attributes/profile/data/id",
        ),
    ];
    for (name, doc, status, pointer) in cases {
        let r = app.send("POST", "/api/events", &t.key, Some(&doc)).await;
        assert_eq!(r.status.as_u16(), status, "{name}: {}", r.body);
        assert_eq!(r.pointer(), pointer, "{name}");
    }
    // The limits are inclusive: exactly 400 properties, 10 levels, 4000 items, 255 chars pass.
    let at_limit = set(
        set(ok.clone(), "/data/attributes/unique_id", json!("u".repeat(255))),
        "/data/attributes/properties",
        json!({"deep": nested(9), "arr": vec![1; 4000], "s": "x".repeat(100 * 1024)}),
    );
    assert_eq!(app.send("POST", "/api/events", &t.key, Some(&at_limit)).await.status, StatusCode::ACCEPTED);
    assert_eq!(app.counts(&t.id).await, (1, 1, 1), "only the valid event was stored");
}

#[tokio::test]
async fn transport_errors_headers_keys_and_sizes() {
    let app = TestApp::new().await;
    let t = app.tenant("shop").await;
    let body = event_doc("ana@example.org").to_string().into_bytes();
    let std = [("revision", "2026-10-15"), ("content-type", "application/vnd.api+json")];

    let r = app.raw("POST", "/api/events", Some(&t.key), &std, b"{\"data\": ".to_vec()).await;
    assert_eq!((r.status, r.pointer()), (StatusCode::BAD_REQUEST, "/"));
    let r = app.raw("POST", "/api/events", Some(&t.key), &std, b"[1,2]".to_vec()).await;
    assert_eq!((r.status, r.pointer()), (StatusCode::BAD_REQUEST, "/"));

    let r = app
        .raw(
            "POST",
            "/api/events",
            Some(&t.key),
            &[("revision", "2026-10-15"), ("content-type", "text/plain")],
            body.clone(),
        )
        .await;
    assert_eq!((r.status, r.parameter()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type"));
    let r = app.raw("POST", "/api/events", Some(&t.key), &[("revision", "2026-10-15")], body.clone()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = app
        .raw(
            "POST",
            "/api/events",
            Some(&t.key),
            &[("revision", "2026-10-15"), ("content-type", "application/json")],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "plain application/json is accepted");
    assert_eq!(r.headers["revision"], "2026-10-15", "revision is echoed");

    let r = app.raw("POST", "/api/events", Some(&t.key), &[("content-type", "application/json")], body.clone()).await;
    assert_eq!((r.status, r.parameter()), (StatusCode::BAD_REQUEST, "revision"));
    let r = app
        .raw(
            "POST",
            "/api/events",
            Some(&t.key),
            &[("revision", "tomorrow"), ("content-type", "application/json")],
            body.clone(),
        )
        .await;
    assert_eq!((r.status, r.parameter()), (StatusCode::BAD_REQUEST, "revision"));

    for auth in [None, Some("pk_0000000000000000000000000000000000000000"), Some("not-a-key")] {
        let r = app.raw("POST", "/api/events", auth, &std, body.clone()).await;
        assert_eq!((r.status, r.parameter()), (StatusCode::UNAUTHORIZED, "Authorization"), "{auth:?}");
    }
    let r =
        app.raw("POST", "/api/events", None, &[("authorization", "Bearer abc"), std[0], std[1]], body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let key2 = app.store.create_api_key(&t.id, "second").await.unwrap();
    app.store.revoke_api_key(&key2.info.id).await.unwrap();
    let r = app.raw("POST", "/api/events", Some(&key2.secret), &std, body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a revoked key is refused");

    // 5 MB + 1 byte of otherwise valid JSON.
    let mut big = event_doc("big@example.org");
    big["data"]["attributes"]["properties"]["pad"] = json!("x".repeat(5 * 1024 * 1024));
    let r = app.raw("POST", "/api/events", Some(&t.key), &std, big.to_string().into_bytes()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    r.error();

    let r = app.send("DELETE", "/api/events", &t.key, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    r.error();
    let r = app.send("GET", "/api/nothing-here", &t.key, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    r.error();

    assert_eq!(app.counts(&t.id).await, (1, 1, 1), "only the application/json event was stored");
}

#[tokio::test]
async fn bulk_requests_are_all_or_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant("shop").await;
    let ev = |name: &str, uid: String| {
        json!({"type": "event", "attributes": {"properties": {"k": 1}, "unique_id": uid,
        "metric": {"data": {"type": "metric", "attributes": {"name": name}}}}})
    };
    let group = |email: &str, events: Vec<Value>| {
        json!({"type": "event-bulk-create", "attributes": {
        "profile": {"data": {"type": "profile", "attributes": {"email": email}}}, "events": {"data": events}}})
    };
    let doc = |groups: Vec<Value>| json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": groups}}}});

    let mut bad_middle: Vec<Value> = (0..10).map(|i| ev("Viewed", format!("u{i}"))).collect();
    bad_middle[5]["attributes"]["properties"] = json!("oops");
    let r = app
        .send("POST", "/api/event-bulk-create-jobs", &t.key, Some(&doc(vec![group("a@example.org", bad_middle)])))
        .await;
    assert_eq!(
        (r.status, r.pointer()),
        (
            StatusCode::BAD_REQUEST,
            "/data/attributes/events-bulk-create/data/0/attributes/events/data/5/attributes/properties"
        )
    );

    let thousand_and_one: Vec<Value> = (0..1001).map(|i| ev("Viewed", format!("u{i}"))).collect();
    let r = app
        .send("POST", "/api/event-bulk-create-jobs", &t.key, Some(&doc(vec![group("a@example.org", thousand_and_one)])))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error()["detail"].as_str().unwrap().contains("1000"), "{}", r.body);
    assert_eq!(app.counts(&t.id).await, (0, 0, 0));

    let thousand: Vec<Value> = (0..1000).map(|i| ev("Viewed", format!("u{i}"))).collect();
    let r = app
        .send("POST", "/api/event-bulk-create-jobs", &t.key, Some(&doc(vec![group("a@example.org", thousand)])))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(app.counts(&t.id).await, (1000, 1, 1));

    let profiles = |n: usize, bad: Option<usize>| {
        let data: Vec<Value> = (0..n)
            .map(|i| {
                let email = if Some(i) == bad { "broken".to_string() } else { format!("p{i}@example.org") };
                json!({"type": "profile", "attributes": {"email": email}})
            })
            .collect();
        json!({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": data}}}})
    };
    let r = app.send("POST", "/api/profile-bulk-import-jobs", &t.key, Some(&profiles(10_001, None))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.counts(&t.id).await.1, 1, "no profile of a refused import was stored");
    // One invalid profile in a valid job is that profile's import error; the rest import.
    let r = app.send("POST", "/api/profile-bulk-import-jobs", &t.key, Some(&profiles(50, Some(37)))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let attrs = &r.body["data"]["attributes"];
    assert_eq!((attrs["completed_count"].as_u64(), attrs["failed_count"].as_u64()), (Some(49), Some(1)));
    let job = r.body["data"]["id"].as_str().unwrap();
    let errors = app.send("GET", &format!("/api/profile-bulk-import-jobs/{job}/import-errors"), &t.key, None).await;
    let first = &errors.body["data"][0]["attributes"];
    assert_eq!(first["source"]["pointer"], "/data/attributes/profiles/data/37/attributes/email");
    assert_eq!(first["original_payload"]["attributes"]["email"], "broken");
    assert_eq!(app.counts(&t.id).await.1, 50);
    let r = app.send("POST", "/api/profile-bulk-import-jobs", &t.key, Some(&profiles(10_000, None))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["data"]["attributes"]["completed_count"], 10_000);
    assert_eq!(app.counts(&t.id).await.1, 10_001, "p0..p49 were updated, not duplicated");
}

#[tokio::test]
async fn bad_profile_writes_and_queries() {
    let app = TestApp::new().await;
    let t = app.tenant("shop").await;
    let doc = |attrs: Value| json!({"data": {"type": "profile", "attributes": attrs}});
    let r = app
        .send("POST", "/api/profiles", &t.key, Some(&doc(json!({"email": "ana@example.org", "first_name": "Ana"}))))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["data"]["id"].as_str().unwrap().to_string();

    let r = app.send("POST", "/api/profiles", &t.key, Some(&doc(json!({"email": "ANA@example.org"})))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error()["meta"]["duplicate_profile_id"], json!(id));

    let big = doc(json!({"email": "big@example.org", "properties": {"pad": "x".repeat(100 * 1024)}}));
    let r = app.send("POST", "/api/profile-import", &t.key, Some(&big)).await;
    assert_eq!((r.status, r.pointer()), (StatusCode::BAD_REQUEST, "/data"));
    let r = app.send("POST", "/api/profile-import", &t.key, Some(&doc(json!({"first_name": "Nobody"})))).await;
    assert_eq!((r.status, r.pointer()), (StatusCode::BAD_REQUEST, "/data/attributes"));
    let r = app
        .send(
            "POST",
            "/api/profile-import",
            &t.key,
            Some(&doc(json!({"email": "x@example.org", "location": {"latitude": "north"}}))),
        )
        .await;
    assert_eq!((r.status, r.pointer()), (StatusCode::BAD_REQUEST, "/data/attributes/location/latitude"));

    let patch = json!({"data": {"type": "profile", "id": "SOMEONEELSE", "attributes": {"first_name": "B"}}});
    let r = app.send("PATCH", &format!("/api/profiles/{id}"), &t.key, Some(&patch)).await;
    assert_eq!((r.status, r.pointer()), (StatusCode::BAD_REQUEST, "/data/id"));
    let patch =
        json!({"data": {"type": "profile", "id": "01NOSUCHPROFILE0000000000", "attributes": {"first_name": "B"}}});
    let r = app.send("PATCH", "/api/profiles/01NOSUCHPROFILE0000000000", &t.key, Some(&patch)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    for (uri, param) in [
        ("/api/profiles?filter=equals(first_name,%22x%22)", "filter"),
        ("/api/profiles?page%5Bsize%5D=0", "page[size]"),
        ("/api/profiles?page%5Bsize%5D=101", "page[size]"),
        ("/api/profiles?page%5Bcursor%5D=zz", "page[cursor]"),
        ("/api/profiles?sort=first_name", "sort"),
        ("/api/profiles?include=lists", "include"),
        ("/api/events?filter=greater-than(datetime,someday)", "filter"),
        ("/api/events?colour=blue", "colour"),
    ] {
        let r = app.send("GET", uri, &t.key, None).await;
        assert_eq!((r.status, r.parameter()), (StatusCode::BAD_REQUEST, param), "{uri}");
    }
    let r = app.send("GET", &format!("/api/profiles/{id}"), &t.key, None).await;
    assert_eq!(r.body["data"]["attributes"]["first_name"], "Ana", "failed writes changed nothing");
    assert_eq!(app.counts(&t.id).await.1, 1);
}
