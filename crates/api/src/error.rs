//! JSON:API error documents: `{"errors":[{"id","status","code","title","detail","source"}]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wharf_ingest::InputError;
use wharf_store::StoreError;

/// Where an error points: a JSON pointer into the body, or a query/header parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    None,
    Pointer(String),
    Parameter(String),
}

#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub source: Source,
    pub meta: Option<Box<Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, title, detail: detail.into(), source: Source::None, meta: None }
    }

    pub fn invalid_parameter(parameter: &str, detail: impl Into<String>) -> Self {
        ApiError {
            source: Source::Parameter(parameter.to_string()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid", "Invalid input.", detail)
        }
    }

    pub fn invalid_pointer(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError {
            source: Source::Pointer(pointer.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid", "Invalid input.", detail)
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.", what)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError {
            source: Source::Parameter("Authorization".into()),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                "Authentication credentials were not provided.",
                detail,
            )
        }
    }

    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.source = Source::Pointer(pointer.into());
        self
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        let (status, title) = match e.status {
            409 => (StatusCode::CONFLICT, "Conflict."),
            _ => (StatusCode::BAD_REQUEST, "Invalid input."),
        };
        ApiError { status, code: e.code, title, detail: e.detail, source: Source::Pointer(e.pointer), meta: None }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} was not found")),
            StoreError::Conflict { field, existing } => ApiError {
                meta: Some(Box::new(json!({"duplicate_profile_id": existing.as_str()}))),
                source: Source::Pointer(format!("/data/attributes/{}", field.name())),
                ..ApiError::new(
                    StatusCode::CONFLICT,
                    "duplicate_profile",
                    "Conflict.",
                    format!("A profile already exists with this {}.", field.name()),
                )
            },
            StoreError::AlreadyExists(what) => ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict.", what),
            StoreError::UnknownProfile { id, .. } => {
                ApiError::invalid_pointer("/data/id", format!("no profile has id '{id}'"))
            }
            StoreError::Storage(msg) => {
                tracing::error!(error = %msg, "storage failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "Service unavailable.",
                    "the store could not commit this request; nothing was stored, retry later",
                )
            }
            StoreError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "Service unavailable.",
                "the server is shutting down; retry later",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({
            "id": error_id(),
            "status": self.status.as_u16(),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "source": match &self.source {
                Source::None => json!({}),
                Source::Pointer(p) => json!({"pointer": p}),
                Source::Parameter(p) => json!({"parameter": p}),
            },
        });
        if let Some(meta) = self.meta {
            err["meta"] = *meta;
        }
        let body = json!({"errors": [err]}).to_string();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.api+json"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// A random UUID-shaped id for each error, as Klaviyo gives.
fn error_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}
