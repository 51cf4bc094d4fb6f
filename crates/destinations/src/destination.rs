//! The trait every warehouse implements. Small on purpose: test the connection, make sure
//! the tables exist, load one run idempotently, and say whether a run is committed.

use async_trait::async_trait;
use wharf_model::warehouse::{Rows, RunId};

use crate::DestinationError;

/// One step of a connection test, in the order a real load performs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Reach,
    Authenticate,
    Write,
    ReadBack,
    CleanUp,
}

/// How one step went.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StepOutcome {
    pub step: Step,
    pub ok: bool,
    /// On failure, the destination's classified error.
    pub error: Option<DestinationError>,
}

/// What a committed load wrote.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadReceipt {
    pub rows: u64,
    pub bytes: u64,
    /// Where the data landed (file or table), for the run timeline.
    pub location: String,
}

#[async_trait]
pub trait Destination: Send + Sync {
    /// Runs what a load will do, step by step, stopping at the first failure.
    async fn test_connection(&self) -> Vec<StepOutcome>;

    /// Creates the three tables (or folders) when missing; checks them when present.
    async fn ensure_tables(&self) -> Result<(), DestinationError>;

    /// Loads one run. Loading a run that is already committed replaces it, so a retried run
    /// never leaves a row twice; the load is committed only when this returns `Ok`.
    async fn load(&self, run: &RunId, rows: &Rows) -> Result<LoadReceipt, DestinationError>;

    /// The receipt of a committed run, if it is committed: after a crash, the engine asks
    /// before re-running.
    async fn committed(&self, run: &RunId) -> Result<Option<LoadReceipt>, DestinationError>;
}
