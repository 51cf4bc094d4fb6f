//! `GET /v1/syncs`, `POST /v1/syncs/{id}/{pause|resume|reenable|run}`,
//! `GET /v1/syncs/{id}/runs`, `GET /v1/errors?since=…`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wharf_model::sync::SyncAction;

use super::call;
use crate::{ApiError, AppState};

fn json_response(body: Value) -> Response {
    (StatusCode::OK, [(axum::http::header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (account, engine) = call(&state, &headers).await?;
    let mut data = Vec::new();
    for s in state.store.list_syncs(&account).await? {
        data.push(engine.sync_view(&account, &s).await?);
    }
    Ok(json_response(json!({"data": data})))
}

pub async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (account, engine) = call(&state, &headers).await?;
    let sync = state
        .store
        .get_sync(&account, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("sync '{id}' was not found")))?;
    Ok(json_response(json!({"data": engine.sync_view(&account, &sync).await?})))
}

pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (account, engine) = call(&state, &headers).await?;
    let action = SyncAction::parse(&action)
        .ok_or_else(|| ApiError::not_found(format!("no action '{action}'; use pause, resume, reenable or run")))?;
    let sync = engine.act(&account, &id, action).await?;
    Ok(json_response(json!({"data": engine.sync_view(&account, &sync).await?})))
}

pub async fn runs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (account, _) = call(&state, &headers).await?;
    state
        .store
        .get_sync(&account, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("sync '{id}' was not found")))?;
    let runs = state.store.list_runs(&account, &id, 200).await?;
    let data: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "run": r.run,
                "window": {"after": r.after, "up_to": r.up_to},
                "rows": r.rows,
                "bytes": r.bytes,
                "started": r.started.to_rfc3339(),
                "finished": r.finished.to_rfc3339(),
                "duration_ms": (r.finished - r.started).num_milliseconds(),
                "result": if r.error_id.is_some() { "error" } else { "ok" },
                "error_id": r.error_id,
            })
        })
        .collect();
    Ok(json_response(json!({"data": data})))
}

pub async fn errors(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (account, _) = call(&state, &headers).await?;
    let mut since = state.clock.now() - chrono::TimeDelta::hours(24);
    for (k, v) in crate::klaviyo::query_pairs(raw.as_deref()) {
        match k.as_str() {
            "since" => {
                since = wharf_ingest::parse_datetime(&v)
                    .map_err(|e| ApiError::invalid_parameter("since", format!("since: {e}")))?;
            }
            _ => return Err(ApiError::invalid_parameter(&k, format!("'{k}' is not a supported query parameter"))),
        }
    }
    let entries = state.store.list_sync_errors(&account, since, 1000).await?;
    let data: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "sync_id": e.sync_id,
                "summary": e.summary,
                "code": e.code,
                "external_message": e.external_message,
                "kind": e.kind,
                "date": e.at.to_rfc3339(),
            })
        })
        .collect();
    Ok(json_response(json!({"data": data})))
}
