//! Wharf's HTTP surface: the Klaviyo-compatible `/api` routes, `/healthz` and `/metrics`.
//!
//! This crate owns the wire: JSON:API response documents, error bodies, headers, query
//! strings. Request documents are parsed by `wharf-ingest`; storage is behind `wharf-store`.

mod error;
mod http;
mod klaviyo;
mod management;
mod metrics;

use std::sync::Arc;

use axum::Router;
use wharf_model::Clock;
use wharf_store::Store;

pub use error::ApiError;
pub use metrics::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// The warehouse sync engine; `/v1` answers 503 without it.
    pub engine: Option<Arc<wharf_sync::SyncEngine>>,
}

impl AppState {
    pub fn with_engine(mut self, engine: Arc<wharf_sync::SyncEngine>) -> Self {
        self.engine = Some(engine);
        self
    }

    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        AppState { store, clock, metrics: Arc::new(Metrics::default()), engine: None }
    }
}

/// The complete router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(klaviyo::routes())
        .merge(management::routes())
        .merge(metrics::routes())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count_requests))
        .with_state(state)
}
