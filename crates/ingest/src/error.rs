//! The one error type of request validation.

/// A request document that cannot be accepted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{detail} (at {pointer})")]
pub struct InputError {
    /// HTTP status the API answers with: 400, or 409 for a wrong resource `type`.
    pub status: u16,
    /// Short machine-readable code, as in Klaviyo's error bodies.
    pub code: &'static str,
    /// JSON pointer into the request body.
    pub pointer: String,
    pub detail: String,
}

impl InputError {
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        InputError { status: 400, code: "invalid", pointer: pointer.into(), detail: detail.into() }
    }

    pub fn required(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        InputError { status: 400, code: "required", pointer: pointer.into(), detail: detail.into() }
    }

    pub fn wrong_type(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        InputError { status: 409, code: "conflict", pointer: pointer.into(), detail: detail.into() }
    }
}
