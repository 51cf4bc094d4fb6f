//! `GET /healthz` and `GET /metrics` (Prometheus text format), and the request counter.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use wharf_store::COMMIT_BUCKETS_MS;

use crate::AppState;

#[derive(Default, Debug)]
pub struct Metrics {
    /// (route, method, status) → count. A short list searched linearly: there are a few dozen
    /// combinations, and this way counting a request allocates nothing.
    requests: Mutex<Vec<(String, axum::http::Method, u16, u64)>>,
    events_stored: AtomicU64,
    events_duplicate: AtomicU64,
    profiles_written: AtomicU64,
}

impl Metrics {
    pub fn events_accepted(&self, stored: usize, duplicates: usize) {
        self.events_stored.fetch_add(stored as u64, Relaxed);
        self.events_duplicate.fetch_add(duplicates as u64, Relaxed);
    }

    pub fn profiles_accepted(&self, n: usize) {
        self.profiles_written.fetch_add(n as u64, Relaxed);
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { "ok\n" })).route("/metrics", get(render))
}

pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let resp = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    let status = resp.status().as_u16();
    let mut counts = state.metrics.requests.lock().expect("metrics");
    match counts.iter_mut().find(|(r, m, s, _)| r == route && *m == method && *s == status) {
        Some(entry) => entry.3 += 1,
        None => counts.push((route.to_string(), method, status, 1)),
    }
    resp
}

async fn render(State(state): State<AppState>) -> Response {
    use std::fmt::Write;
    let m = &state.metrics;
    let mut out = String::new();
    out.push_str("# HELP wharf_http_requests_total HTTP requests by route, method and status.\n# TYPE wharf_http_requests_total counter\n");
    let mut counts = m.requests.lock().expect("metrics").clone();
    counts.sort_by(|a, b| (&a.0, a.1.as_str(), a.2).cmp(&(&b.0, b.1.as_str(), b.2)));
    for (route, method, status, n) in &counts {
        let _ =
            writeln!(out, "wharf_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP wharf_events_accepted_total Events stored.\n# TYPE wharf_events_accepted_total counter\nwharf_events_accepted_total {}",
        m.events_stored.load(Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP wharf_events_deduplicated_total Events dropped as duplicates.\n# TYPE wharf_events_deduplicated_total counter\nwharf_events_deduplicated_total {}",
        m.events_duplicate.load(Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP wharf_profiles_accepted_total Profiles created or updated.\n# TYPE wharf_profiles_accepted_total counter\nwharf_profiles_accepted_total {}",
        m.profiles_written.load(Relaxed)
    );
    let stats = state.store.commit_stats();
    out.push_str("# HELP wharf_store_commit_seconds Store commit latency (fsync included).\n# TYPE wharf_store_commit_seconds histogram\n");
    let mut cumulative = 0;
    for (i, le) in COMMIT_BUCKETS_MS.iter().enumerate() {
        cumulative += stats.buckets[i].load(Relaxed);
        let _ = writeln!(out, "wharf_store_commit_seconds_bucket{{le=\"{}\"}} {cumulative}", le / 1000.0);
    }
    let commits = stats.commits.load(Relaxed);
    let _ = writeln!(out, "wharf_store_commit_seconds_bucket{{le=\"+Inf\"}} {commits}");
    let _ = writeln!(out, "wharf_store_commit_seconds_sum {}", stats.commit_micros.load(Relaxed) as f64 / 1e6);
    let _ = writeln!(out, "wharf_store_commit_seconds_count {commits}");
    let _ = writeln!(
        out,
        "# HELP wharf_store_writes_total Write jobs committed (several share one commit).\n# TYPE wharf_store_writes_total counter\nwharf_store_writes_total {}",
        stats.jobs.load(Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
