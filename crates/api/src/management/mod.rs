//! The management API under `/v1` (JSON, the same API keys as `/api`): the warehouse
//! connection, its syncs, their runs and errors.

mod connection;
mod syncs;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use wharf_model::AccountId;
use wharf_sync::{SyncEngine, SyncError};

use crate::{ApiError, AppState, http};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/connection", get(connection::show).put(connection::put).delete(connection::remove))
        .route("/v1/connection/test", post(connection::test))
        .route("/v1/syncs", get(syncs::list))
        .route("/v1/syncs/{id}", get(syncs::get_one))
        .route("/v1/syncs/{id}/runs", get(syncs::runs))
        .route("/v1/syncs/{id}/{action}", post(syncs::act))
        .route("/v1/errors", get(syncs::errors))
}

/// The account and the engine of one `/v1` request.
pub(crate) async fn call(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(AccountId, std::sync::Arc<SyncEngine>), ApiError> {
    let account = http::authenticate(state, headers).await?;
    let engine = state.engine.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "sync_disabled",
            "Service unavailable.",
            "the sync engine is not running",
        )
    })?;
    Ok((account, engine))
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", "Invalid input.", m),
            SyncError::NotFound(what) => ApiError::not_found(format!("{what} was not found")),
            SyncError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict.", m),
            SyncError::Store(e) => e.into(),
            SyncError::Destination(e) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "destination_error",
                "Destination error.",
                format!("{}: {} ({})", e.summary, e.external_message, e.code),
            ),
            SyncError::Sealed(m) => {
                tracing::error!(error = %m, "stored credentials cannot be opened");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "credentials_unavailable",
                    "Internal error.",
                    "the stored credentials cannot be opened; set the connection again",
                )
            }
        }
    }
}
