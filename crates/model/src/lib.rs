//! Wharf's domain types: accounts, profiles, metrics, events, queries and limits.
//!
//! Pure data and pure rules. This crate does no I/O and knows no async runtime, so the
//! store, the API, the importers and the sync engine can all share it.

pub mod account;
pub mod event;
pub mod id;
pub mod identity;
pub mod limits;
pub mod patch;
pub mod profile;
pub mod query;
pub mod sync;
pub mod warehouse;

pub use account::{Account, ApiKeyInfo};
pub use event::{Event, Integration, Metric, NewEvent};
pub use id::{AccountId, EventId, ImportJobId, KeyId, MetricId, ProfileId};
pub use identity::{IdentifierField, IdentityMatches, Resolution, ResolveError};
pub use patch::Patch;
pub use profile::{Location, Profile, ProfileChanges, ProfileIdentifiers, ProfileWrite};

/// Every time in Wharf is UTC with second or finer precision.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
pub mod bulk;
pub mod clock;

pub use bulk::{ImportError, ImportJob, ImportJobStatus};
pub use clock::{Clock, SystemClock};
