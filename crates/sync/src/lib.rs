//! The warehouse sync engine (product.md §6): connecting a destination, the historical and
//! periodic syncs, their statuses and retries, and the scheduler that runs them.
//!
//! Exactly once, whatever fails: each run is a window (after, up_to] over the account's change
//! sequence, saved as `pending` before anything is loaded; the destination loads a run under a
//! name derived from its window (a retry replaces, never adds); the sync's cursor moves past the
//! window only after the destination committed it. A crash at any point re-runs the same window.

mod engine;
mod error;
mod rows;
mod runner;
pub mod seal;

pub use engine::{DestinationFactory, EngineConfig, SyncEngine};
pub use error::SyncError;
pub use runner::BATCH_ROWS;
