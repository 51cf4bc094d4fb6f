//! The engine: what the management API and the CLI call, and the scheduler loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;
use wharf_destinations::{Destination, DestinationConfig, StepOutcome};
use wharf_model::sync::{
    ConnectionState, RetryPolicy, SyncAction, SyncKind, SyncOptions, SyncStatus, WarehouseConnection, WarehouseSync,
};
use wharf_model::{AccountId, Clock, Timestamp};
use wharf_store::{PutConnection, Store};

use crate::SyncError;
use crate::runner::{self, Step, StepContext};
use crate::seal::Sealer;

/// Windows one sync may deliver in one scheduler pass before the next due sync gets a turn.
const WINDOWS_PER_PASS: usize = 16;

/// Operator settings of the engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Periodic cadence: hourly unless the operator says otherwise (`WHARF_PERIODIC_INTERVAL`).
    pub periodic_interval: Duration,
    pub retry: RetryPolicy,
    /// How often the scheduler looks for due syncs when nothing wakes it.
    pub tick: Duration,
    /// Rows per run (window).
    pub batch_rows: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            periodic_interval: Duration::from_secs(3600),
            retry: RetryPolicy::default(),
            tick: Duration::from_millis(500),
            batch_rows: runner::BATCH_ROWS,
        }
    }
}

/// Builds a destination from its configuration. The default is the registry's `build`;
/// tests wrap it to inject failures.
pub type DestinationFactory =
    Arc<dyn Fn(&DestinationConfig) -> Result<Box<dyn Destination>, wharf_destinations::DestinationError> + Send + Sync>;

pub struct SyncEngine {
    store: Arc<dyn Store>,
    sealer: Sealer,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    wake: Notify,
    factory: DestinationFactory,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine").field("config", &self.config).finish_non_exhaustive()
    }
}

fn steps_json(steps: &[StepOutcome]) -> Value {
    serde_json::to_value(steps).unwrap_or(Value::Null)
}

impl SyncEngine {
    pub fn new(store: Arc<dyn Store>, sealer: Sealer, clock: Arc<dyn Clock>, config: EngineConfig) -> Self {
        let factory: DestinationFactory = Arc::new(|c: &DestinationConfig| c.build());
        SyncEngine { store, sealer, clock, config, wake: Notify::new(), factory }
    }

    /// Replaces how destinations are built (tests inject failing destinations).
    pub fn with_destination_factory(mut self, factory: DestinationFactory) -> Self {
        self.factory = factory;
        self
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn destination_config(&self, c: &WarehouseConnection) -> Result<DestinationConfig, SyncError> {
        let plain = self.sealer.unseal(&c.sealed_destination)?;
        serde_json::from_slice(&plain).map_err(|e| SyncError::Sealed(e.to_string()))
    }

    /// Creates or replaces the connection, tests it step by step, and records the outcome:
    /// Enabled when every step passed, Unable to connect otherwise (retry or edit).
    pub async fn connect(
        &self,
        account: &AccountId,
        destination: DestinationConfig,
        options: SyncOptions,
    ) -> Result<(WarehouseConnection, Vec<StepOutcome>), SyncError> {
        destination.validate().map_err(|e| SyncError::Invalid(format!("destination: {e}")))?;
        options.validate().map_err(|e| SyncError::Invalid(format!("options: {e}")))?;
        let steps = (self.factory)(&destination)?.test_connection().await;
        let destination_type = serde_json::to_value(&destination)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string))
            .unwrap_or_default();
        let sealed = self.sealer.seal(&serde_json::to_vec(&destination).expect("config serializes"));
        let put = PutConnection {
            destination_type,
            sealed_destination: sealed,
            options,
            periodic_interval: self.config.periodic_interval,
        };
        self.store.put_connection(account, put).await.map_err(|e| match e {
            wharf_store::StoreError::AlreadyExists(m) => SyncError::Conflict(m),
            e => e.into(),
        })?;
        let connection = self.record_test(account, &steps).await?;
        if connection.state == ConnectionState::Enabled {
            (self.factory)(&destination)?.ensure_tables().await?;
        }
        self.wake.notify_one();
        Ok((connection, steps))
    }

    async fn record_test(&self, account: &AccountId, steps: &[StepOutcome]) -> Result<WarehouseConnection, SyncError> {
        let state =
            if steps.iter().all(|s| s.ok) { ConnectionState::Enabled } else { ConnectionState::UnableToConnect };
        self.store.set_connection_state(account, state, steps_json(steps).to_string()).await?;
        self.store.get_connection(account).await?.ok_or_else(|| SyncError::NotFound("connection".into()))
    }

    /// Re-runs the connection test of the stored connection ("retry").
    pub async fn test(&self, account: &AccountId) -> Result<(WarehouseConnection, Vec<StepOutcome>), SyncError> {
        let c = self.store.get_connection(account).await?.ok_or_else(|| SyncError::NotFound("connection".into()))?;
        let destination = self.destination_config(&c)?;
        let steps = (self.factory)(&destination)?.test_connection().await;
        let connection = self.record_test(account, &steps).await?;
        if connection.state == ConnectionState::Enabled {
            (self.factory)(&destination)?.ensure_tables().await?;
        }
        self.wake.notify_one();
        Ok((connection, steps))
    }

    /// The connection with its destination configuration, secrets redacted.
    pub async fn show(&self, account: &AccountId) -> Result<(WarehouseConnection, DestinationConfig), SyncError> {
        let c = self.store.get_connection(account).await?.ok_or_else(|| SyncError::NotFound("connection".into()))?;
        let d = self.destination_config(&c)?.redacted();
        Ok((c, d))
    }

    /// Removes the connection: syncs Disabled, credentials deleted, the warehouse untouched.
    pub async fn remove(&self, account: &AccountId) -> Result<(), SyncError> {
        self.store.delete_connection(account).await.map_err(|e| match e {
            wharf_store::StoreError::NotFound(_) => SyncError::NotFound("connection".into()),
            e => e.into(),
        })
    }

    /// Applies a user action to a sync of the account.
    pub async fn act(
        &self,
        account: &AccountId,
        sync_id: &str,
        action: SyncAction,
    ) -> Result<WarehouseSync, SyncError> {
        let sync = self
            .store
            .get_sync(account, sync_id)
            .await?
            .ok_or_else(|| SyncError::NotFound(format!("sync '{sync_id}'")))?;
        let status = action.apply(sync.kind, sync.status).map_err(SyncError::Conflict)?;
        let now = self.clock.now();
        let next = match (action, status) {
            (_, SyncStatus::Paused) => sync.next_run_at,
            _ => Some(now),
        };
        self.store.set_sync_status(account, sync_id, status, next, action == SyncAction::Reenable).await?;
        self.wake.notify_one();
        self.store.get_sync(account, sync_id).await?.ok_or_else(|| SyncError::NotFound(format!("sync '{sync_id}'")))
    }

    /// Seconds since the newest moment up to which every accepted row of a periodic sync's
    /// object is in the warehouse.
    pub async fn freshness_seconds(&self, account: &AccountId, sync: &WarehouseSync) -> Result<Option<f64>, SyncError> {
        if sync.kind != SyncKind::Periodic || sync.status == SyncStatus::Disabled {
            return Ok(None);
        }
        let now = self.clock.now();
        let covered_until = match self.store.first_change_after(account, sync.object, sync.cursor).await? {
            // Everything accepted before the first undelivered change is delivered.
            Some(first_waiting) => Some(first_waiting),
            None => sync.last_success_at,
        };
        Ok(covered_until.map(|t| ((now - t).num_milliseconds().max(0) as f64) / 1000.0))
    }

    /// Runs every due sync until it is caught up, fails or is stopped. Returns how many
    /// windows were delivered.
    pub async fn run_due(&self) -> Result<usize, SyncError> {
        let due = self.store.due_syncs(self.clock.now()).await?;
        let mut destinations: HashMap<AccountId, (Box<dyn Destination>, SyncOptions)> = HashMap::new();
        let mut delivered = 0;
        for (account, sync) in due {
            if !destinations.contains_key(&account) {
                let Some(c) = self.store.get_connection(&account).await? else { continue };
                let built = self.destination_config(&c).and_then(|d| Ok((self.factory)(&d)?));
                match built {
                    Ok(d) => {
                        destinations.insert(account.clone(), (d, c.options.clone()));
                    }
                    Err(e) => {
                        tracing::error!(%account, error = %e, "cannot open the connection's destination");
                        continue;
                    }
                }
            }
            let (destination, options) = destinations.get(&account).expect("inserted above");
            delivered += self.run_sync(&account, sync, destination.as_ref(), options).await?;
        }
        Ok(delivered)
    }

    async fn run_sync(
        &self,
        account: &AccountId,
        mut sync: WarehouseSync,
        destination: &dyn Destination,
        options: &SyncOptions,
    ) -> Result<usize, SyncError> {
        let mut delivered = 0;
        loop {
            let cx = StepContext {
                store: self.store.as_ref(),
                destination,
                options,
                account,
                now: self.clock.now(),
                clock: self.clock.as_ref(),
                interval: self.config.periodic_interval,
                policy: self.config.retry,
                jitter: rand::random::<f64>(),
                batch_rows: self.config.batch_rows,
            };
            let (next, step) = runner::step(&cx, sync).await?;
            match step {
                // A sync that keeps finding work yields after a few windows, so one busy account
                // cannot starve the others; it is still due and continues on the next pass.
                Step::Delivered if delivered + 1 >= WINDOWS_PER_PASS => return Ok(delivered + 1),
                Step::Delivered => delivered += 1,
                Step::CaughtUp | Step::DestinationFailed | Step::Stopped => return Ok(delivered),
            }
            sync = next;
        }
    }

    /// The scheduler: runs due syncs, sleeping until the next tick or a wake-up (a new
    /// connection, an action). Ends when `shutdown` resolves.
    pub async fn run_scheduler(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.run_due().await {
                tracing::error!(error = %e, "sync scheduler pass failed; retrying");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.tick) => {}
            }
        }
    }

    /// A JSON view of a sync for the management API and the CLI.
    pub async fn sync_view(&self, account: &AccountId, s: &WarehouseSync) -> Result<Value, SyncError> {
        let t = |v: Option<Timestamp>| v.map(|t| t.to_rfc3339());
        Ok(json!({
            "id": s.id,
            "kind": s.kind.name(),
            "object": s.object.name(),
            "status": s.status.name(),
            "progress_percent": s.progress_percent(),
            "rows_done": s.rows_done,
            "rows_total": s.rows_total,
            "freshness_seconds": self.freshness_seconds(account, s).await?,
            "last_run_at": t(s.last_run_at),
            "last_success_at": t(s.last_success_at),
            "next_run_at": if matches!(s.status, SyncStatus::Scheduled | SyncStatus::Errored) { t(s.next_run_at) } else { None },
            "started_at": t(s.started_at),
            "ended_at": t(s.ended_at),
            "attempt": s.attempt,
            "cursor": s.cursor,
        }))
    }
}
