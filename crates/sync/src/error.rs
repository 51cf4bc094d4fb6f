use wharf_destinations::DestinationError;
use wharf_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Bad input from the user: a clear message, nothing changed.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (a second connection, pausing a
    /// completed sync).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The sealed credentials cannot be opened (wrong or lost key).
    #[error("cannot open the stored credentials: {0}")]
    Sealed(String),
}
