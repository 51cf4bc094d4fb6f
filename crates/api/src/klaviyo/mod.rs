//! The Klaviyo-compatible `/api` routes (product.md §3). Behaviour and the list of what is
//! and is not supported: docs/api-compatibility.md.

mod bulk_import;
mod events;
mod metrics;
mod profiles;
mod query;

pub(crate) use query::pairs as query_pairs;
mod render;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use wharf_model::AccountId;

use crate::{ApiError, AppState, http};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(events::list).post(events::create))
        .route("/api/events/{id}", get(events::get_one))
        .route("/api/event-bulk-create-jobs", axum::routing::post(events::bulk_create))
        .route("/api/profiles", get(profiles::list).post(profiles::create))
        .route("/api/profiles/{id}", get(profiles::get_one).patch(profiles::update))
        .route("/api/profile-import", axum::routing::post(profiles::upsert))
        .route("/api/profile-bulk-import-jobs", axum::routing::post(bulk_import::create))
        .route("/api/profile-bulk-import-jobs/{id}", get(bulk_import::get_one))
        .route("/api/profile-bulk-import-jobs/{id}/import-errors", get(bulk_import::errors))
        .route("/api/metrics", get(metrics::list))
        .route("/api/metrics/{id}", get(metrics::get_one))
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed.",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// The authenticated context of one `/api` request.
pub(crate) struct Call {
    pub account: AccountId,
    pub revision: String,
    pub base: String,
}

impl Call {
    pub async fn new(state: &AppState, headers: &HeaderMap) -> Result<Call, ApiError> {
        let account = http::authenticate(state, headers).await?;
        let revision = http::revision(headers)?;
        Ok(Call { account, revision, base: render::base_url(headers) })
    }

    /// A response with the revision echoed and, when there is a body, the JSON:API type.
    pub fn reply(&self, status: StatusCode, body: Option<Value>) -> Response {
        let mut resp = match body {
            Some(v) => (status, v.to_string()).into_response(),
            None => status.into_response(),
        };
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.revision) {
            h.insert("revision", v);
        }
        if status != StatusCode::ACCEPTED || h.contains_key(header::CONTENT_LENGTH) {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.api+json"));
        }
        resp
    }
}
