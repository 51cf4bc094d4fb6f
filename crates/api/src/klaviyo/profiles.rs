//! `POST /api/profiles`, `POST /api/profile-import`, `GET|PATCH /api/profiles/{id}`,
//! `GET /api/profiles`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use wharf_ingest::ProfileDocument;
use wharf_model::ProfileId;
use wharf_model::query::Resource;
use wharf_store::StoreError;

use super::{Call, query, render};
use crate::{ApiError, AppState, http};

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let fields = query::parse_get(raw.as_deref())?;
    let doc = http::json_body(&headers, body).await?;
    let write = wharf_ingest::parse_profile_document(&doc, ProfileDocument::Create)?;
    let profile = state.store.create_profile(&call.account, write).await?;
    state.metrics.profiles_accepted(1);
    Ok(call.reply(StatusCode::CREATED, Some(render::document(render::profile(&profile, &call.base, &fields)))))
}

pub async fn upsert(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let fields = query::parse_get(raw.as_deref())?;
    let doc = http::json_body(&headers, body).await?;
    let write = wharf_ingest::parse_profile_document(&doc, ProfileDocument::Upsert)?;
    let (profile, created) = state.store.upsert_profile(&call.account, write).await?;
    state.metrics.profiles_accepted(1);
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(call.reply(status, Some(render::document(render::profile(&profile, &call.base, &fields)))))
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let fields = query::parse_get(raw.as_deref())?;
    let doc = http::json_body(&headers, body).await?;
    let write = wharf_ingest::parse_profile_document(&doc, ProfileDocument::Patch(&id))?;
    let profile = state.store.update_profile(&call.account, write).await.map_err(|e| match e {
        StoreError::UnknownProfile { .. } | StoreError::NotFound(_) => {
            ApiError::not_found(format!("profile '{id}' was not found"))
        }
        e => e.into(),
    })?;
    state.metrics.profiles_accepted(1);
    Ok(call.reply(StatusCode::OK, Some(render::document(render::profile(&profile, &call.base, &fields)))))
}

pub async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let fields = query::parse_get(raw.as_deref())?;
    let profile = state
        .store
        .get_profile(&call.account, &ProfileId(id.clone()))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("profile '{id}' was not found")))?;
    Ok(call.reply(StatusCode::OK, Some(render::document(render::profile(&profile, &call.base, &fields)))))
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let (q, fields) = query::parse_list(Resource::Profiles, raw.as_deref())?;
    let page = state.store.list_profiles(&call.account, q).await?;
    let items = page.items.iter().map(|p| render::profile(p, &call.base, &fields)).collect();
    Ok(call
        .reply(StatusCode::OK, Some(render::collection(items, &call.base, "/api/profiles", raw.as_deref(), page.next))))
}
