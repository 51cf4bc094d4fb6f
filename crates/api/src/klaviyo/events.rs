//! `POST /api/events`, `POST /api/event-bulk-create-jobs`, `GET /api/events[/{id}]`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use wharf_model::query::Resource;
use wharf_store::StoreError;

use super::{Call, query, render};
use crate::{ApiError, AppState, http};

pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let doc = http::json_body(&headers, body).await?;
    let event = wharf_ingest::parse_create_event(doc, state.clock.now())?;
    let outcome = state.store.create_events(&call.account, vec![event]).await.map_err(|e| match e {
        StoreError::UnknownProfile { id, .. } => {
            ApiError::invalid_pointer("/data/attributes/profile/data/id", format!("no profile has id '{id}'"))
        }
        e => e.into(),
    })?;
    state.metrics.events_accepted(outcome.stored, outcome.duplicates);
    Ok(call.reply(StatusCode::ACCEPTED, None))
}

pub async fn bulk_create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let doc = http::json_body(&headers, body).await?;
    let events = wharf_ingest::parse_bulk_create_events(doc, state.clock.now())?;
    let outcome = state.store.create_events(&call.account, events).await.map_err(|e| match e {
        StoreError::UnknownProfile { id, position } => ApiError::invalid_pointer(
            "/data/attributes/events-bulk-create/data",
            format!("event {position}: no profile has id '{id}'; nothing was stored"),
        ),
        e => e.into(),
    })?;
    state.metrics.events_accepted(outcome.stored, outcome.duplicates);
    Ok(call.reply(StatusCode::ACCEPTED, None))
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let (q, fields) = query::parse_list(Resource::Events, raw.as_deref())?;
    let page = state.store.list_events(&call.account, q).await?;
    let items = page.items.iter().map(|e| render::event(e, &call.base, &fields)).collect();
    Ok(call
        .reply(StatusCode::OK, Some(render::collection(items, &call.base, "/api/events", raw.as_deref(), page.next))))
}

pub async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let fields = query::parse_get(raw.as_deref())?;
    let event = state
        .store
        .get_event(&call.account, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("event '{id}' was not found")))?;
    Ok(call.reply(StatusCode::OK, Some(render::document(render::event(&event, &call.base, &fields)))))
}
