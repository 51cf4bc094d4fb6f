//! Destination errors, classified by kind. The scheduler decides retry or fail from the kind
//! alone; the warehouse's own code and message are kept verbatim for the error drawer.

/// What kind of failure, which is all the scheduler looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Network trouble, timeouts, a warehouse that is briefly unavailable: retry.
    Transient,
    /// Throttled: retry later.
    RateLimited,
    /// Bad or insufficient credentials: needs the user.
    Auth,
    /// The bucket, folder, schema or table is missing: needs the user.
    NotFound,
    /// A table exists with an incompatible shape: needs the user.
    Schema,
    /// Anything else that retrying cannot fix.
    Permanent,
}

impl ErrorKind {
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::RateLimited)
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, thiserror::Error)]
#[error("{summary} ({code}): {external_message}")]
pub struct DestinationError {
    pub kind: ErrorKind,
    /// Short, ours: what went wrong in the user's terms.
    pub summary: String,
    /// The warehouse's error code, or ours when it has none.
    pub code: String,
    /// The warehouse's (or operating system's) message, verbatim.
    pub external_message: String,
}

impl DestinationError {
    pub fn new(
        kind: ErrorKind,
        summary: impl Into<String>,
        code: impl Into<String>,
        external: impl Into<String>,
    ) -> Self {
        DestinationError { kind, summary: summary.into(), code: code.into(), external_message: external.into() }
    }

    /// Classifies a filesystem error the way a warehouse would be classified.
    pub fn from_io(summary: &str, e: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::PermissionDenied | K::ReadOnlyFilesystem => ErrorKind::Auth,
            K::NotFound => ErrorKind::NotFound,
            // A path that cannot be a folder will not become one by retrying.
            K::NotADirectory | K::IsADirectory | K::InvalidInput | K::InvalidFilename | K::AlreadyExists => {
                ErrorKind::Permanent
            }
            // A full disk, a timeout, an interruption, and anything unknown: worth retrying.
            _ => ErrorKind::Transient,
        };
        let code = e.raw_os_error().map(|c| format!("os error {c}")).unwrap_or_else(|| format!("{:?}", e.kind()));
        DestinationError::new(kind, summary, code, e.to_string())
    }
}
