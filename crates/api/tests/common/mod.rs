//! An in-process Wharf API over a temporary SQLite store, driven with `oneshot`.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wharf_api::AppState;
use wharf_model::query::{ListQuery, Resource};
use wharf_model::{AccountId, SystemClock};
use wharf_store::{SqliteStore, Store};

pub struct TestApp {
    pub store: Arc<dyn Store>,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

pub struct Tenant {
    pub id: AccountId,
    pub key: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The first JSON:API error, after checking the error document's shape.
    pub fn error(&self) -> &Value {
        let e = &self.body["errors"][0];
        assert!(e["id"].is_string(), "error has an id: {}", self.body);
        assert_eq!(e["status"].as_u64(), Some(u64::from(self.status.as_u16())), "{}", self.body);
        assert!(e["code"].is_string() && e["title"].is_string() && e["detail"].is_string(), "{}", self.body);
        e
    }

    pub fn pointer(&self) -> &str {
        self.error()["source"]["pointer"].as_str().unwrap_or_else(|| panic!("no source.pointer in {}", self.body))
    }

    pub fn parameter(&self) -> &str {
        self.error()["source"]["parameter"].as_str().unwrap_or_else(|| panic!("no source.parameter in {}", self.body))
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), Arc::new(SystemClock)).unwrap());
        let router = wharf_api::router(AppState::new(store.clone(), Arc::new(SystemClock)));
        TestApp { store, router, _dir: dir }
    }

    /// Where the store keeps its files.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Rebuilds the router with a sync engine, so `/v1` works.
    pub fn set_engine(&mut self, engine: Arc<wharf_sync::SyncEngine>) {
        self.router = wharf_api::router(AppState::new(self.store.clone(), Arc::new(SystemClock)).with_engine(engine));
    }

    pub async fn tenant(&self, name: &str) -> Tenant {
        let a = self.store.create_account(name).await.unwrap();
        let k = self.store.create_api_key(&a.id, "test").await.unwrap();
        Tenant { id: a.id, key: k.secret }
    }

    /// Sends a request with the usual headers, minus any named in `omit`, plus `extra`.
    pub async fn raw(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri).header("host", "wharf.test");
        if let Some(k) = key {
            req = req.header("authorization", format!("Klaviyo-API-Key {k}"));
        }
        for (h, v) in headers {
            req = req.header(*h, *v);
        }
        let resp = self.router.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, headers, body }
    }

    pub async fn send(&self, method: &str, uri: &str, key: &str, body: Option<&Value>) -> Reply {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.raw(
            method,
            uri,
            Some(key),
            &[("revision", "2026-10-15"), ("content-type", "application/vnd.api+json")],
            bytes,
        )
        .await
    }

    /// (events, profiles, metrics) stored for an account.
    pub async fn counts(&self, account: &AccountId) -> (usize, usize, usize) {
        let mut q = ListQuery::all(Resource::Events);
        q.page_size = 1_000_000;
        let e = self.store.list_events(account, q).await.unwrap().items.len();
        let mut q = ListQuery::all(Resource::Profiles);
        q.page_size = 1_000_000;
        let p = self.store.list_profiles(account, q).await.unwrap().items.len();
        let m = self.store.list_metrics(account, ListQuery::all(Resource::Metrics)).await.unwrap().items.len();
        (e, p, m)
    }
}

pub fn event_doc(email: &str) -> Value {
    serde_json::json!({"data": {"type": "event", "attributes": {
        "properties": {"Brand": "Acme", "Items": ["a", "b"]},
        "time": "2025-05-10T00:00:00+00:00", "value": 9.99, "unique_id": format!("u-{email}"),
        "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": email}}}}}})
}
