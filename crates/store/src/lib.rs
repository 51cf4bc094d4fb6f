//! Wharf's store: the [`Store`] trait every backend implements, and the embedded SQLite
//! backend. Callers hold an `Arc<dyn Store>` and never see which backend runs.
//!
//! Contract of every write method: when it returns `Ok`, the change is durable (committed
//! and synced to disk); when it returns `Err`, nothing of it was stored.

pub mod conformance;
mod error;
pub mod sqlite;
mod stats;

use async_trait::async_trait;
use serde_json::Value;
use wharf_model::query::{ListQuery, Page};
use wharf_model::sync::{
    ConnectionState, DataObject, SyncErrorEntry, SyncOptions, SyncRun, SyncStatus, WarehouseConnection, WarehouseSync,
};
use wharf_model::warehouse::EventRow;
use wharf_model::{
    Account, AccountId, ApiKeyInfo, Event, ImportError, ImportJob, ImportJobId, KeyId, Metric, NewEvent, Profile,
    ProfileId, ProfileWrite, Timestamp,
};

pub use error::StoreError;
pub use sqlite::SqliteStore;
pub use stats::{COMMIT_BUCKETS_MS, CommitStats};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A freshly created private API key. The secret exists only here, once.
#[derive(Clone)]
pub struct NewApiKey {
    pub info: ApiKeyInfo,
    pub secret: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey").field("info", &self.info).field("secret", &"<redacted>").finish()
    }
}

/// What a create-events call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventsOutcome {
    /// Events stored now.
    pub stored: usize,
    /// Events dropped as duplicates of stored ones (Klaviyo's de-duplication).
    pub duplicates: usize,
}

/// An event together with the metric it belongs to, as reads return it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventWithMetric {
    pub event: Event,
    pub metric: Metric,
}

/// A request to create or replace a connection.
#[derive(Clone, Debug)]
pub struct PutConnection {
    pub destination_type: String,
    pub sealed_destination: Vec<u8>,
    pub options: SyncOptions,
    /// The cadence of periodic syncs: their first run is this long after connecting.
    pub periodic_interval: std::time::Duration,
}

/// One entry of an account's change feed: the row as it is now, at the change-sequence
/// position of its latest change, and when that change was accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct Change<T> {
    pub seq: i64,
    pub accepted_at: Timestamp,
    pub item: T,
}

/// One profile of a bulk import: the parsed write (or why it could not be parsed) and the
/// resource as it was sent, which import errors echo back.
#[derive(Clone, Debug)]
pub struct BulkProfile {
    pub write: std::result::Result<ProfileWrite, Rejected>,
    pub original: Value,
}

/// Why a profile of a bulk import was refused before it reached the store.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    pub code: String,
    pub detail: String,
    pub pointer: String,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Write-path counters (commits, jobs per commit, commit latency).
    fn commit_stats(&self) -> std::sync::Arc<CommitStats>;

    // Accounts and keys.
    async fn create_account(&self, name: &str) -> Result<Account>;
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    async fn create_api_key(&self, account: &AccountId, label: &str) -> Result<NewApiKey>;
    async fn list_api_keys(&self, account: &AccountId) -> Result<Vec<ApiKeyInfo>>;
    async fn revoke_api_key(&self, key: &KeyId) -> Result<ApiKeyInfo>;
    /// The account a secret belongs to; `None` for unknown or revoked keys.
    async fn authenticate(&self, secret: &str) -> Result<Option<AccountId>>;

    // Writes. Each call is atomic.
    async fn create_events(&self, account: &AccountId, events: Vec<NewEvent>) -> Result<EventsOutcome>;
    /// Creates a profile; [`StoreError::Conflict`] if any identifier is taken.
    async fn create_profile(&self, account: &AccountId, write: ProfileWrite) -> Result<Profile>;
    /// Creates or updates by identity resolution; `true` when created.
    async fn upsert_profile(&self, account: &AccountId, write: ProfileWrite) -> Result<(Profile, bool)>;
    /// Updates the profile `write.identifiers.id`.
    async fn update_profile(&self, account: &AccountId, write: ProfileWrite) -> Result<Profile>;
    /// Imports profiles one by one; a profile that cannot be imported becomes an import
    /// error of the job and the others still import. The job is complete on return.
    async fn bulk_import_profiles(&self, account: &AccountId, profiles: Vec<BulkProfile>) -> Result<ImportJob>;

    // Reads.
    async fn get_profile(&self, account: &AccountId, id: &ProfileId) -> Result<Option<Profile>>;
    async fn list_profiles(&self, account: &AccountId, query: ListQuery) -> Result<Page<Profile>>;
    async fn get_event(&self, account: &AccountId, id: &str) -> Result<Option<EventWithMetric>>;
    async fn list_events(&self, account: &AccountId, query: ListQuery) -> Result<Page<EventWithMetric>>;
    async fn get_metric(&self, account: &AccountId, id: &str) -> Result<Option<Metric>>;
    async fn list_metrics(&self, account: &AccountId, query: ListQuery) -> Result<Page<Metric>>;
    async fn get_import_job(&self, account: &AccountId, id: &ImportJobId) -> Result<Option<ImportJob>>;
    // The change feed, read by the sync engine. Positions are handed out by one writer and
    // committed in order, so once `change_position` returns N every change up to N is
    // readable: a window (after, up_to] read later never misses a row.
    /// The account's last handed-out change position (its high-water mark).
    async fn change_position(&self, account: &AccountId) -> Result<i64>;
    /// Events stored at positions in (after, up_to], in position order, at most `limit`.
    async fn changed_events(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<Change<EventWithMetric>>>;
    /// The same events as [`Store::changed_events`], already as `klaviyo_event` rows: the
    /// export's fast path, which never parses the properties.
    async fn changed_event_rows(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
        synced_at: Timestamp,
    ) -> Result<Vec<Change<EventRow>>>;
    /// Profiles whose latest change is in (after, up_to]. A profile changed again later has
    /// moved past `up_to` and is read, in its newer state, by a later window.
    async fn changed_profiles(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<Change<Profile>>>;
    /// Metrics created or changed in (after, up_to].
    async fn changed_metrics(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<Change<Metric>>>;

    // Warehouse sync state. The store keeps the destination configuration sealed (it never
    // sees credentials) and creates the syncs, so that their anchor (the change position at
    // connection time) is read in the same transaction that records them.

    /// Creates the account's connection, or replaces the one of the same destination type
    /// (new credentials or options). A connection of another type is
    /// [`StoreError::AlreadyExists`]: one destination per account.
    async fn put_connection(
        &self,
        account: &AccountId,
        put: PutConnection,
    ) -> Result<(WarehouseConnection, Vec<WarehouseSync>)>;
    async fn get_connection(&self, account: &AccountId) -> Result<Option<WarehouseConnection>>;
    /// Records a connection test's outcome.
    async fn set_connection_state(&self, account: &AccountId, state: ConnectionState, last_test: String) -> Result<()>;
    /// Deletes the connection and its credentials; every sync becomes Disabled.
    async fn delete_connection(&self, account: &AccountId) -> Result<()>;
    async fn list_syncs(&self, account: &AccountId) -> Result<Vec<WarehouseSync>>;
    async fn get_sync(&self, account: &AccountId, id: &str) -> Result<Option<WarehouseSync>>;
    /// Sets a sync's status from a user action (pause, resume, re-enable, run now).
    async fn set_sync_status(
        &self,
        account: &AccountId,
        id: &str,
        status: SyncStatus,
        next_run_at: Option<Timestamp>,
        reset_attempts: bool,
    ) -> Result<()>;
    /// Saves a sync's state (status, cursor, pending window, progress, schedule) as the
    /// engine moved it. A Paused or Disabled status set meanwhile is kept.
    async fn save_sync(&self, account: &AccountId, sync: WarehouseSync) -> Result<()>;
    /// Saves a sync's state together with the run that moved it, atomically.
    async fn save_run(
        &self,
        account: &AccountId,
        sync: WarehouseSync,
        run: SyncRun,
        error: Option<SyncErrorEntry>,
    ) -> Result<()>;
    async fn list_runs(&self, account: &AccountId, sync_id: &str, limit: usize) -> Result<Vec<SyncRun>>;
    async fn list_sync_errors(
        &self,
        account: &AccountId,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<SyncErrorEntry>>;
    /// Runnable syncs of enabled connections that are due at `now`, across accounts.
    async fn due_syncs(&self, now: Timestamp) -> Result<Vec<(AccountId, WarehouseSync)>>;
    /// Rows an object has in the window (after, up_to]; events only from `since` on.
    async fn count_changes(
        &self,
        account: &AccountId,
        object: DataObject,
        after: i64,
        up_to: i64,
        since: Option<Timestamp>,
    ) -> Result<u64>;
    /// The acceptance time of the first change after `after`, if any: how fresh a periodic
    /// sync whose cursor is `after` is.
    async fn first_change_after(
        &self,
        account: &AccountId,
        object: DataObject,
        after: i64,
    ) -> Result<Option<Timestamp>>;

    async fn list_import_errors(
        &self,
        account: &AccountId,
        job: &ImportJobId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ImportError>>;
}
