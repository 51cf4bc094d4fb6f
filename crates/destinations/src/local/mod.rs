//! The embedded default destination: Parquet files in a local folder.
//!
//! Layout (docs/destinations/local.md): one folder per table, one file per run named after
//! the run's window, and a manifest per run written last under `_wharf/manifests/`. A retried
//! run rewrites the same file name, so readers globbing `klaviyo_event/*.parquet` never count
//! a row twice.

mod config;
mod destination;

pub use config::LocalConfig;
pub use destination::LocalDestination;
