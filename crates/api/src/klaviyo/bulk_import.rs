//! `POST /api/profile-bulk-import-jobs`, `GET …/{id}` and `GET …/{id}/import-errors`.
//!
//! Jobs run to completion before the 202 is sent, so a job is `complete` when first seen.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use wharf_model::ImportJobId;
use wharf_model::query::Cursor;
use wharf_store::{BulkProfile, Rejected};

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
    let writes = wharf_ingest::parse_bulk_import_profiles(&doc)?;
    let originals = doc["data"]["attributes"]["profiles"]["data"].as_array().cloned().unwrap_or_default();
    let profiles: Vec<BulkProfile> = writes
        .into_iter()
        .zip(originals)
        .map(|(write, original)| BulkProfile {
            write: write.map_err(|e| Rejected { code: e.code.to_string(), detail: e.detail, pointer: e.pointer }),
            original,
        })
        .collect();
    let job = state.store.bulk_import_profiles(&call.account, profiles).await?;
    state.metrics.profiles_accepted(job.completed_count as usize);
    Ok(call.reply(StatusCode::ACCEPTED, Some(render::document(render::import_job(&job, &call.base, &fields)))))
}

pub async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let fields = query::parse_get(raw.as_deref())?;
    let job = state
        .store
        .get_import_job(&call.account, &ImportJobId(id.clone()))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("bulk import job '{id}' was not found")))?;
    Ok(call.reply(StatusCode::OK, Some(render::document(render::import_job(&job, &call.base, &fields)))))
}

pub async fn errors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let call = Call::new(&state, &headers).await?;
    let job_id = ImportJobId(id.clone());
    state
        .store
        .get_import_job(&call.account, &job_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("bulk import job '{id}' was not found")))?;
    let (default, max) = wharf_model::limits::IMPORT_ERROR_PAGE;
    let mut size = default;
    let mut after = None;
    let mut fields = query::Fields::new();
    for (k, v) in query::pairs(raw.as_deref()) {
        match k.as_str() {
            "page[size]" => {
                size = v.parse().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                    ApiError::invalid_parameter("page[size]", format!("page[size] must be an integer from 1 to {max}"))
                })?
            }
            "page[cursor]" => {
                let token = v.rsplit("page%5Bcursor%5D=").next().unwrap_or_default().trim_start_matches('=');
                let c = Cursor::decode(token).and_then(|c| c.key.parse::<u64>().ok());
                after =
                    Some(c.ok_or_else(|| ApiError::invalid_parameter("page[cursor]", "the page cursor is not valid"))?);
            }
            _ if query::take_fields(&k, &v, &mut fields) => {}
            _ => {
                return Err(ApiError::invalid_parameter(&k, format!("'{k}' is not a supported query parameter")));
            }
        }
    }
    let mut errors = state.store.list_import_errors(&call.account, &job_id, after, size + 1).await?;
    let next = if errors.len() > size {
        errors.truncate(size);
        errors.last().map(|e| Cursor { key: e.index.to_string(), id: String::new() })
    } else {
        None
    };
    let items = errors.iter().map(|e| render::import_error(&id, e, &fields)).collect();
    let path = format!("/api/profile-bulk-import-jobs/{id}/import-errors");
    Ok(call.reply(StatusCode::OK, Some(render::collection(items, &call.base, &path, raw.as_deref(), next))))
}
