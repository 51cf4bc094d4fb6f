//! Profile bulk-import jobs and their per-profile errors.

use crate::{ImportJobId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportJobStatus {
    Queued,
    Processing,
    Complete,
    Cancelled,
}

impl ImportJobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportJobStatus::Queued => "queued",
            ImportJobStatus::Processing => "processing",
            ImportJobStatus::Complete => "complete",
            ImportJobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "processing" => Self::Processing,
            "complete" => Self::Complete,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImportJob {
    pub id: ImportJobId,
    pub status: ImportJobStatus,
    pub total_count: u64,
    pub completed_count: u64,
    pub failed_count: u64,
    pub created: Timestamp,
    pub started: Option<Timestamp>,
    pub completed: Option<Timestamp>,
    pub expires: Option<Timestamp>,
}

/// Why one profile of a bulk import was not imported.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportError {
    /// Position of the profile in the request, which also makes the error's id.
    pub index: u64,
    pub code: String,
    pub title: String,
    pub detail: String,
    pub pointer: String,
    pub original_payload: serde_json::Value,
}
