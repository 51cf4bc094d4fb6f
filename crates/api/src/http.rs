//! What every `/api` request goes through before its handler's own work: authentication,
//! the `revision` header, the content type, the body size and JSON decoding.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use wharf_model::{AccountId, limits};

use crate::{ApiError, AppState};

/// The account behind a valid `Authorization: Klaviyo-API-Key pk_…` header.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<AccountId, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "missing Authorization header; send 'Authorization: Klaviyo-API-Key <private key>'",
        ));
    };
    let value = value.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
    let Some(secret) = value.strip_prefix("Klaviyo-API-Key ") else {
        return Err(ApiError::unauthorized("malformed Authorization header; expected 'Klaviyo-API-Key <private key>'"));
    };
    let secret = secret.trim();
    if !secret.starts_with("pk_") || secret.len() > 128 {
        return Err(ApiError::unauthorized("malformed private API key; private keys start with 'pk_'"));
    }
    match state.store.authenticate(secret).await? {
        Some(account) => Ok(account),
        None => Err(ApiError::unauthorized("the API key is unknown or has been revoked")),
    }
}

/// The `revision` header: required, `YYYY-MM-DD` with an optional `.suffix`; echoed back.
pub fn revision(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get("revision") else {
        return Err(ApiError::invalid_parameter(
            "revision",
            "the 'revision' header is required, e.g. 'revision: 2026-10-15'",
        ));
    };
    let text = value.to_str().unwrap_or_default().trim();
    let date = text.split('.').next().unwrap_or_default();
    if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() || date.len() != 10 {
        return Err(ApiError::invalid_parameter(
            "revision",
            format!("'{text}' is not a valid revision; use YYYY-MM-DD"),
        ));
    }
    Ok(text.to_string())
}

/// Reads and decodes a JSON body, refusing wrong content types, bodies over 5 MB and
/// documents that are not JSON objects.
pub async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != "application/vnd.api+json" && media != "application/json" {
        let shown = if ct.is_empty() { "none".to_string() } else { format!("'{ct}'") };
        return Err(ApiError {
            source: crate::error::Source::Parameter("Content-Type".into()),
            ..ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type.",
                format!("Content-Type must be application/vnd.api+json or application/json, found {shown}"),
            )
        });
    }
    if let Some(enc) = headers.get(header::CONTENT_ENCODING)
        && !enc.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type.",
            "compressed request bodies are not supported; send Content-Encoding: identity",
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large.",
            format!("the request body exceeds {} bytes", limits::MAX_BODY_BYTES),
        )
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits::MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let bytes: Bytes = axum::body::to_bytes(body, limits::MAX_BODY_BYTES).await.map_err(|_| too_large())?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid_pointer("/", format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid_pointer("/", "the body must be a JSON:API document (a JSON object with 'data')"));
    }
    Ok(value)
}
