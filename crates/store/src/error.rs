use wharf_model::{IdentifierField, ProfileId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// An identifier of the write already belongs to another profile.
    #[error("a profile with this {} already exists", .field.name())]
    Conflict { field: IdentifierField, existing: ProfileId },
    /// A write names a profile id that does not exist; `position` is the write's index.
    #[error("no profile has id {id}")]
    UnknownProfile { position: usize, id: String },
    /// The thing to create exists already and cannot be replaced by this request.
    #[error("{0}")]
    AlreadyExists(String),
    /// The database failed (disk full, I/O error, corruption): nothing was stored.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}
