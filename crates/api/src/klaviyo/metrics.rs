//! `GET /api/metrics[/{id}]`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use wharf_model::query::Resource;

use super::{Call, query, render};
use crate::{ApiError, AppState};

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let (q, fields) = query::parse_list(Resource::Metrics, raw.as_deref())?;
    let page = state.store.list_metrics(&call.account, q).await?;
    let items = page.items.iter().map(|m| render::metric(m, &call.base, &fields)).collect();
    Ok(call
        .reply(StatusCode::OK, Some(render::collection(items, &call.base, "/api/metrics", raw.as_deref(), page.next))))
}

pub async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let fields = query::parse_get(raw.as_deref())?;
    let metric = state
        .store
        .get_metric(&call.account, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("metric '{id}' was not found")))?;
    Ok(call.reply(StatusCode::OK, Some(render::document(render::metric(&metric, &call.base, &fields)))))
}
