//! The sync engine end to end: SQLite store → engine → local Parquet, read back with the
//! Parquet reader. Failures are injected by wrapping the local destination.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use arrow_array::{Array, StringArray};
use async_trait::async_trait;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use wharf_destinations::{Destination, DestinationConfig, DestinationError, ErrorKind, LoadReceipt, StepOutcome};
use wharf_model::sync::{DataObject, HistoricalRange, RetryPolicy, SyncAction, SyncKind, SyncOptions, SyncStatus};
use wharf_model::warehouse::{Rows, RunId};
use wharf_model::{
    AccountId, Integration, NewEvent, Patch, ProfileChanges, ProfileIdentifiers, ProfileWrite, SystemClock,
};
use wharf_store::{SqliteStore, Store};
use wharf_sync::seal::Sealer;
use wharf_sync::{EngineConfig, SyncEngine};

/// Fails the next `fail` loads with `kind`; with `after_load`, it loads first and fails after
/// (what a crash between the warehouse commit and Wharf's own commit looks like).
struct Flaky {
    inner: Box<dyn Destination>,
    fail: Arc<AtomicU32>,
    kind: ErrorKind,
    after_load: bool,
}

#[async_trait]
impl Destination for Flaky {
    async fn test_connection(&self) -> Vec<StepOutcome> {
        self.inner.test_connection().await
    }
    async fn ensure_tables(&self) -> Result<(), DestinationError> {
        self.inner.ensure_tables().await
    }
    async fn load(&self, run: &RunId, rows: &Rows) -> Result<LoadReceipt, DestinationError> {
        if self.fail.load(Ordering::SeqCst) > 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            if self.after_load {
                self.inner.load(run, rows).await?;
            }
            return Err(DestinationError::new(
                self.kind,
                "injected failure",
                "TEST42",
                "the warehouse said no (injected)",
            ));
        }
        self.inner.load(run, rows).await
    }
    async fn committed(&self, run: &RunId) -> Result<Option<LoadReceipt>, DestinationError> {
        self.inner.committed(run).await
    }
}

struct Fixture {
    store: Arc<dyn Store>,
    engine: Arc<SyncEngine>,
    account: AccountId,
    out: PathBuf,
    fail: Arc<AtomicU32>,
    _dir: tempfile::TempDir,
}

async fn fixture(kind: ErrorKind, after_load: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("data"), Arc::new(SystemClock)).unwrap());
    let account = store.create_account("shop").await.unwrap().id;
    let fail = Arc::new(AtomicU32::new(0));
    let f2 = fail.clone();
    let config = EngineConfig {
        periodic_interval: Duration::from_millis(50),
        retry: RetryPolicy { base: Duration::from_millis(20), max_delay: Duration::from_millis(100), max_attempts: 4 },
        tick: Duration::from_millis(20),
        batch_rows: 7,
    };
    let engine = SyncEngine::new(store.clone(), Sealer::from_key([1; 32]), Arc::new(SystemClock), config)
        .with_destination_factory(Arc::new(move |c: &DestinationConfig| {
            Ok(Box::new(Flaky { inner: c.build()?, fail: f2.clone(), kind, after_load }) as Box<dyn Destination>)
        }));
    let out = dir.path().join("warehouse");
    Fixture { store, engine: Arc::new(engine), account, out, fail, _dir: dir }
}

fn new_event(email: &str, metric: &str, service: &str, uid: &str, secs: i64) -> NewEvent {
    NewEvent {
        profile: ProfileWrite {
            identifiers: ProfileIdentifiers { email: Some(email.into()), ..Default::default() },
            changes: ProfileChanges { email: Patch::Set(email.into()), ..Default::default() },
        },
        metric_name: metric.into(),
        integration: Integration::from_service(service),
        time: chrono::DateTime::from_timestamp(secs, 0),
        value: Some(1.0),
        value_currency: None,
        unique_id: Some(uid.into()),
        properties: Default::default(),
    }
}

async fn ingest(f: &Fixture, from: usize, n: usize) {
    let now = chrono::Utc::now().timestamp();
    let events = (from..from + n)
        .map(|i| {
            let (metric, service) = if i % 3 == 0 { ("Opened Email", "Klaviyo") } else { ("Placed Order", "Shopify") };
            new_event(&format!("c{}@example.org", i % 5), metric, service, &format!("u{i}"), now - 1000 + i as i64)
        })
        .collect();
    f.store.create_events(&f.account, events).await.unwrap();
}

fn options(objects: &[DataObject]) -> SyncOptions {
    SyncOptions {
        data_objects: objects.to_vec(),
        excluded_integrations: vec![],
        selective_sync: vec![],
        historical_range: HistoricalRange::All,
    }
}

fn column(dir: &Path, table: &str, name: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join(table)) else { return out };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("parquet") {
            continue;
        }
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap().build().unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let col = batch.column_by_name(name).unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
            out.extend((0..col.len()).map(|i| (!col.is_null(i)).then(|| col.value(i).to_string())));
        }
    }
    out
}

/// Runs due syncs until `done` holds, with a deadline.
async fn run_until(f: &Fixture, what: &str, done: impl Fn(&[wharf_model::sync::WarehouseSync], i64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        f.engine.run_due().await.unwrap();
        let syncs = f.store.list_syncs(&f.account).await.unwrap();
        let high = f.store.change_position(&f.account).await.unwrap();
        if done(&syncs, high) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {syncs:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn all_caught_up(syncs: &[wharf_model::sync::WarehouseSync], high: i64) -> bool {
    syncs.iter().all(|s| match s.kind {
        SyncKind::Historical => s.status == SyncStatus::Completed,
        SyncKind::Periodic => s.cursor == high && s.pending.is_none(),
    })
}

fn local(out: &Path) -> DestinationConfig {
    serde_json::from_value(serde_json::json!({"type": "local", "path": out})).unwrap()
}

fn exactly_once(ids: Vec<Option<String>>, expected: usize) {
    let mut ids: Vec<String> = ids.into_iter().map(Option::unwrap).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((total, ids.len()), (expected, expected), "every row once");
}

#[tokio::test]
async fn historical_then_periodic_deliver_every_event_exactly_once() {
    let f = fixture(ErrorKind::Transient, false).await;
    ingest(&f, 0, 50).await;
    let (c, steps) = f
        .engine
        .connect(&f.account, local(&f.out), options(&[DataObject::Profiles, DataObject::Events]))
        .await
        .unwrap();
    assert_eq!(c.state.name(), "enabled", "{steps:?}");
    assert_eq!(f.store.list_syncs(&f.account).await.unwrap().len(), 6);
    // Changes keep arriving while the historical sync runs.
    ingest(&f, 50, 20).await;
    run_until(&f, "historical done", |s, _| {
        s.iter().filter(|s| s.kind == SyncKind::Historical).all(|s| s.status == SyncStatus::Completed)
    })
    .await;
    let hist = f
        .store
        .list_syncs(&f.account)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.kind == SyncKind::Historical && s.object == DataObject::Events)
        .unwrap();
    assert_eq!((hist.rows_done, hist.rows_total, hist.progress_percent()), (50, 50, Some(100.0)));
    ingest(&f, 70, 30).await;
    let mut rename = ProfileWrite::default();
    rename.identifiers.email = Some("c1@example.org".into());
    rename.changes.first_name = Patch::Set("Renamed".into());
    f.store.upsert_profile(&f.account, rename).await.unwrap();
    run_until(&f, "periodic caught up", all_caught_up).await;

    exactly_once(column(&f.out, "klaviyo_event", "id"), 100);
    exactly_once(column(&f.out, "klaviyo_metric", "id"), 2);
    let ids: HashSet<_> = column(&f.out, "klaviyo_profile", "id").into_iter().collect();
    assert_eq!(ids.len(), 5, "every profile");
    let names = column(&f.out, "klaviyo_profile", "first_name");
    assert!(names.iter().any(|n| n.as_deref() == Some("Renamed")), "the profile's new version reached the warehouse");
    let runs = f.store.list_runs(&f.account, &hist.id, 100).await.unwrap();
    assert!(runs.len() >= 8, "50 events in windows of 7 rows: {}", runs.len());
    assert!(runs.iter().all(|r| r.error_id.is_none()));
}

#[tokio::test]
async fn excluded_integrations_and_selective_sync_filter_events_not_profiles() {
    let f = fixture(ErrorKind::Transient, false).await;
    ingest(&f, 0, 30).await;
    let mut o = options(&[DataObject::Profiles, DataObject::Events]);
    o.excluded_integrations = vec!["klaviyo".into()];
    o.selective_sync = vec!["Placed Order".into()];
    f.engine.connect(&f.account, local(&f.out), o).await.unwrap();
    run_until(&f, "caught up", all_caught_up).await;
    let names = column(&f.out, "klaviyo_event", "metric_name");
    assert_eq!(names.len(), 20);
    assert!(names.iter().all(|n| n.as_deref() == Some("Placed Order")));
    assert_eq!(column(&f.out, "klaviyo_profile", "id").len(), 5, "profiles are never filtered");
}

#[tokio::test]
async fn historical_range_limits_old_events_but_periodic_takes_every_change() {
    let f = fixture(ErrorKind::Transient, false).await;
    let now = chrono::Utc::now().timestamp();
    let old = now - 200 * 86_400;
    let events = vec![
        new_event("a@example.org", "M", "API", "old", old),
        new_event("a@example.org", "M", "API", "new", now - 60),
    ];
    f.store.create_events(&f.account, events).await.unwrap();
    let mut o = options(&[DataObject::Events]);
    o.historical_range = HistoricalRange::Days90;
    f.engine.connect(&f.account, local(&f.out), o).await.unwrap();
    run_until(&f, "caught up", all_caught_up).await;
    assert_eq!(column(&f.out, "klaviyo_event", "unique_id"), vec![Some("new".to_string())]);
    // A late-arriving old event after the connection is a change: periodic delivers it.
    f.store.create_events(&f.account, vec![new_event("a@example.org", "M", "API", "late", old)]).await.unwrap();
    run_until(&f, "periodic", all_caught_up).await;
    assert_eq!(column(&f.out, "klaviyo_event", "unique_id").len(), 2);
}

#[tokio::test]
async fn transient_failures_go_errored_then_recover_without_duplicates() {
    let f = fixture(ErrorKind::Transient, false).await;
    ingest(&f, 0, 20).await;
    f.fail.store(2, Ordering::SeqCst);
    f.engine.connect(&f.account, local(&f.out), options(&[DataObject::Events])).await.unwrap();
    f.engine.run_due().await.unwrap();
    let errored: Vec<_> =
        f.store.list_syncs(&f.account).await.unwrap().into_iter().filter(|s| s.status == SyncStatus::Errored).collect();
    assert!(!errored.is_empty(), "a transient failure makes the sync Errored");
    assert!(errored.iter().all(|s| s.next_run_at.is_some() && s.attempt >= 1));
    run_until(&f, "recovered", all_caught_up).await;
    exactly_once(column(&f.out, "klaviyo_event", "id"), 20);
    let errors =
        f.store.list_sync_errors(&f.account, chrono::Utc::now() - chrono::TimeDelta::hours(1), 100).await.unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].code, "TEST42");
    assert_eq!(errors[0].external_message, "the warehouse said no (injected)");
    assert_eq!(errors[0].kind, "transient");
}

#[tokio::test]
async fn retries_exhausted_fail_and_reenable_restarts() {
    let f = fixture(ErrorKind::Transient, false).await;
    ingest(&f, 0, 5).await;
    f.fail.store(100, Ordering::SeqCst);
    f.engine.connect(&f.account, local(&f.out), options(&[DataObject::Profiles])).await.unwrap();
    run_until(&f, "failed", |s, _| s.iter().any(|s| s.status == SyncStatus::Failed)).await;
    let failed =
        f.store.list_syncs(&f.account).await.unwrap().into_iter().find(|s| s.status == SyncStatus::Failed).unwrap();
    assert_eq!(failed.attempt, 4, "max_attempts");
    assert!(f.engine.act(&f.account, &failed.id, SyncAction::Resume).await.is_err());
    f.fail.store(0, Ordering::SeqCst);
    let s = f.engine.act(&f.account, &failed.id, SyncAction::Reenable).await.unwrap();
    assert_eq!((s.status, s.attempt), (SyncStatus::Scheduled, 0));
    run_until(&f, "recovered", all_caught_up).await;
    exactly_once(column(&f.out, "klaviyo_profile", "id"), 5);
}

#[tokio::test]
async fn permanent_errors_fail_at_once() {
    let f = fixture(ErrorKind::Auth, false).await;
    ingest(&f, 0, 5).await;
    f.fail.store(1, Ordering::SeqCst);
    f.engine.connect(&f.account, local(&f.out), options(&[DataObject::Profiles])).await.unwrap();
    f.engine.run_due().await.unwrap();
    let syncs = f.store.list_syncs(&f.account).await.unwrap();
    let failed = syncs.iter().find(|s| s.status == SyncStatus::Failed).expect("an auth error fails the sync");
    assert_eq!(failed.attempt, 1);
}

#[tokio::test]
async fn a_crash_after_the_warehouse_committed_is_not_loaded_twice() {
    // The destination commits, then the engine hears an error (as when Wharf dies before
    // recording the run): the retry finds the run committed and only records it.
    let f = fixture(ErrorKind::Transient, true).await;
    ingest(&f, 0, 20).await;
    f.fail.store(3, Ordering::SeqCst);
    f.engine.connect(&f.account, local(&f.out), options(&[DataObject::Events])).await.unwrap();
    run_until(&f, "caught up", all_caught_up).await;
    exactly_once(column(&f.out, "klaviyo_event", "id"), 20);
}

#[tokio::test]
async fn pause_and_resume_lose_nothing_and_completed_cannot_pause() {
    let f = fixture(ErrorKind::Transient, false).await;
    ingest(&f, 0, 10).await;
    f.engine.connect(&f.account, local(&f.out), options(&[DataObject::Events])).await.unwrap();
    run_until(&f, "caught up", all_caught_up).await;
    let syncs = f.store.list_syncs(&f.account).await.unwrap();
    let completed = syncs.iter().find(|s| s.kind == SyncKind::Historical).unwrap();
    assert!(f.engine.act(&f.account, &completed.id, SyncAction::Pause).await.is_err());
    let periodic = syncs.iter().find(|s| s.kind == SyncKind::Periodic && s.object == DataObject::Events).unwrap();
    f.engine.act(&f.account, &periodic.id, SyncAction::Pause).await.unwrap();
    ingest(&f, 10, 15).await;
    for _ in 0..5 {
        f.engine.run_due().await.unwrap();
    }
    assert_eq!(column(&f.out, "klaviyo_event", "id").len(), 10, "a paused sync delivers nothing");
    assert_eq!(f.store.get_sync(&f.account, &periodic.id).await.unwrap().unwrap().status, SyncStatus::Paused);
    f.engine.act(&f.account, &periodic.id, SyncAction::Resume).await.unwrap();
    run_until(&f, "resumed", all_caught_up).await;
    exactly_once(column(&f.out, "klaviyo_event", "id"), 25);
}

#[tokio::test]
async fn removing_the_connection_disables_syncs_and_forgets_credentials() {
    let f = fixture(ErrorKind::Transient, false).await;
    ingest(&f, 0, 5).await;
    f.engine.connect(&f.account, local(&f.out), options(&[DataObject::Events])).await.unwrap();
    run_until(&f, "caught up", all_caught_up).await;
    f.engine.remove(&f.account).await.unwrap();
    assert!(f.store.get_connection(&f.account).await.unwrap().is_none());
    let syncs = f.store.list_syncs(&f.account).await.unwrap();
    assert!(syncs.iter().all(|s| s.status == SyncStatus::Disabled));
    assert_eq!(column(&f.out, "klaviyo_event", "id").len(), 5, "the warehouse is left alone");
    assert!(f.engine.act(&f.account, &syncs[0].id, SyncAction::Resume).await.is_err());
    assert!(f.engine.remove(&f.account).await.is_err(), "nothing left to remove");
}

#[tokio::test]
async fn an_unreachable_destination_is_unable_to_connect_and_runs_nothing() {
    let f = fixture(ErrorKind::Transient, false).await;
    ingest(&f, 0, 5).await;
    let blocker = f.out.with_extension("file");
    std::fs::write(&blocker, b"x").unwrap();
    let (c, steps) = f
        .engine
        .connect(&f.account, local(&blocker.join("under-a-file")), options(&[DataObject::Events]))
        .await
        .unwrap();
    assert_eq!(c.state.name(), "unable_to_connect");
    let failed = steps.iter().find(|s| !s.ok).unwrap();
    assert!(failed.error.as_ref().unwrap().external_message.contains("Not a directory"), "{steps:?}");
    assert_eq!(f.engine.run_due().await.unwrap(), 0);
    // Edit the credentials: the same type replaces the connection and the test passes.
    let (c, _) = f.engine.connect(&f.account, local(&f.out), options(&[DataObject::Events])).await.unwrap();
    assert_eq!(c.state.name(), "enabled");
    run_until(&f, "caught up", all_caught_up).await;
    exactly_once(column(&f.out, "klaviyo_event", "id"), 5);
}
