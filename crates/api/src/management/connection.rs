//! `PUT|GET|DELETE /v1/connection`, `POST /v1/connection/test`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wharf_destinations::{DestinationConfig, StepOutcome};
use wharf_model::sync::{DataObject, HistoricalRange, SyncOptions, WarehouseConnection};

use super::call;
use crate::{ApiError, AppState, http};

fn invalid(pointer: &str, detail: impl Into<String>) -> ApiError {
    ApiError::invalid_pointer(pointer, detail)
}

fn string_list(v: &Value, pointer: &str) -> Result<Vec<String>, ApiError> {
    match v {
        Value::Null => Ok(vec![]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str().map(str::to_string).ok_or_else(|| invalid(&format!("{pointer}/{i}"), "must be a string"))
            })
            .collect(),
        _ => Err(invalid(pointer, "must be an array of strings")),
    }
}

/// Parses `options`; absent fields take their defaults (profiles and events, nothing
/// excluded, all metrics, all history).
fn parse_options(v: Option<&Value>) -> Result<SyncOptions, ApiError> {
    let empty = json!({});
    let v = v.unwrap_or(&empty);
    let Some(obj) = v.as_object() else { return Err(invalid("/options", "must be an object")) };
    for k in obj.keys() {
        if !["data_objects", "excluded_integrations", "selective_sync", "historical_range", "periodic_cadence"]
            .contains(&k.as_str())
        {
            return Err(invalid(&format!("/options/{k}"), format!("'{k}' is not an option")));
        }
    }
    if obj.get("periodic_cadence").is_some_and(|c| c != "hourly") {
        return Err(invalid("/options/periodic_cadence", "the periodic cadence is hourly and cannot be changed"));
    }

    let data_objects = match obj.get("data_objects") {
        None => vec![DataObject::Profiles, DataObject::Events],
        Some(v) => string_list(v, "/options/data_objects")?
            .iter()
            .enumerate()
            .map(|(i, s)| match DataObject::parse(s) {
                Some(d) if d != DataObject::Metrics => Ok(d),
                _ => Err(invalid(
                    &format!("/options/data_objects/{i}"),
                    format!("unknown data object '{s}'; use profiles or events"),
                )),
            })
            .collect::<Result<_, _>>()?,
    };
    let historical_range = match obj.get("historical_range") {
        None => HistoricalRange::All,
        Some(Value::String(s)) => HistoricalRange::parse(s).ok_or_else(|| {
            invalid("/options/historical_range", format!("unknown range '{s}'; use 30d, 90d, 1y or all"))
        })?,
        Some(_) => return Err(invalid("/options/historical_range", "must be a string: 30d, 90d, 1y or all")),
    };
    let options = SyncOptions {
        data_objects,
        excluded_integrations: string_list(
            obj.get("excluded_integrations").unwrap_or(&Value::Null),
            "/options/excluded_integrations",
        )?,
        selective_sync: string_list(obj.get("selective_sync").unwrap_or(&Value::Null), "/options/selective_sync")?,
        historical_range,
    };
    options.validate().map_err(|e| invalid("/options", e))?;
    Ok(options)
}

pub(crate) fn options_json(o: &SyncOptions) -> Value {
    json!({
        "data_objects": o.data_objects.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "excluded_integrations": o.excluded_integrations,
        "selective_sync": o.selective_sync,
        "historical_range": o.historical_range.name(),
        "periodic_cadence": "hourly",
    })
}

fn view(c: &WarehouseConnection, destination: &DestinationConfig, steps: Option<&[StepOutcome]>) -> Value {
    let test = match steps {
        Some(s) => serde_json::to_value(s).unwrap_or(Value::Null),
        None => c.last_test.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null),
    };
    json!({
        "destination": destination,
        "state": c.state.name(),
        "test": test,
        "options": options_json(&c.options),
        "created": c.created.to_rfc3339(),
        "updated": c.updated.to_rfc3339(),
    })
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

pub async fn put(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (account, engine) = call(&state, &headers).await?;
    let doc = http::json_body(&headers, body).await?;
    let Some(obj) = doc.as_object() else { return Err(invalid("/", "must be an object")) };
    if let Some(k) = obj.keys().find(|k| !["destination", "options"].contains(&k.as_str())) {
        return Err(invalid(&format!("/{k}"), format!("'{k}' is not a field; use destination and options")));
    }
    let raw =
        obj.get("destination").ok_or_else(|| ApiError::invalid_pointer("/destination", "'destination' is required"))?;
    let destination: DestinationConfig = serde_json::from_value(raw.clone())
        .map_err(|e| invalid("/destination", format!("invalid destination: {e}")))?;
    let options = parse_options(obj.get("options"))?;
    let existed = engine.show(&account).await.is_ok();
    let (connection, steps) = engine.connect(&account, destination.clone(), options).await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(json_response(status, view(&connection, &destination.redacted(), Some(&steps))))
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (account, engine) = call(&state, &headers).await?;
    let (connection, destination) = engine.show(&account).await?;
    let mut body = view(&connection, &destination, None);
    let day_ago = state.clock.now() - chrono::TimeDelta::hours(24);
    let errors = state.store.list_sync_errors(&account, day_ago, 10_000).await?;
    let syncs = state.store.list_syncs(&account).await?;
    body["errors_past_24h"] = json!(errors.len());
    body["last_sync_at"] = json!(syncs.iter().filter_map(|s| s.last_run_at).max().map(|t| t.to_rfc3339()));
    Ok(json_response(StatusCode::OK, body))
}

pub async fn test(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (account, engine) = call(&state, &headers).await?;
    let (connection, steps) = engine.test(&account).await?;
    let (_, destination) = engine.show(&account).await?;
    Ok(json_response(StatusCode::OK, view(&connection, &destination, Some(&steps))))
}

pub async fn remove(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (account, engine) = call(&state, &headers).await?;
    engine.remove(&account).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
