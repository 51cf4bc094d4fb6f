//! Warehouse destinations: the [`Destination`] trait, its registry, and one module per
//! warehouse, all in the same shape (`config.rs`: credentials and pure validation,
//! `destination.rs`: the trait impl, plus what the warehouse needs).
//!
//! Destinations know nothing of HTTP, SFTP, the scheduler or the store: they receive rows
//! for one run and make loading that run idempotent.

pub mod conformance;
mod destination;
mod error;
pub mod local;
pub mod parquet_files;
mod registry;
pub mod s3;

pub use destination::{Destination, LoadReceipt, Step, StepOutcome};
pub use error::{DestinationError, ErrorKind};
pub use registry::DestinationConfig;
