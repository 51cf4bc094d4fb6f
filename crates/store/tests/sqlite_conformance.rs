use std::sync::Arc;

use wharf_model::SystemClock;
use wharf_store::{SqliteStore, conformance};

#[tokio::test]
async fn sqlite_passes_the_store_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Arc::new(SystemClock)).unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let account = {
        let store = SqliteStore::open(dir.path(), Arc::new(SystemClock)).unwrap();
        store.create_account("persist").await.unwrap()
    };
    let store = SqliteStore::open(dir.path(), Arc::new(SystemClock)).unwrap();
    use wharf_store::Store;
    assert!(store.list_accounts().await.unwrap().contains(&account));
}

/// Concurrent single-event writes share commits: many jobs, fewer fsyncs, all durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    use wharf_model::{Integration, NewEvent, Patch, ProfileChanges, ProfileIdentifiers, ProfileWrite};
    use wharf_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), Arc::new(SystemClock)).unwrap());
    let account = store.create_account("group").await.unwrap().id;
    let before = store.commit_stats().commits.load(std::sync::atomic::Ordering::Relaxed);
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let (store, account) = (store.clone(), account.clone());
            tokio::spawn(async move {
                let email = format!("g{}@example.org", i % 10);
                let event = NewEvent {
                    profile: ProfileWrite {
                        identifiers: ProfileIdentifiers { email: Some(email.clone()), ..Default::default() },
                        changes: ProfileChanges { email: Patch::Set(email), ..Default::default() },
                    },
                    metric_name: "Viewed".into(),
                    integration: Integration::api(),
                    time: chrono::DateTime::from_timestamp(1_700_000_000 + i, 0),
                    value: None,
                    value_currency: None,
                    unique_id: Some(format!("u{i}")),
                    properties: Default::default(),
                };
                store.create_events(&account, vec![event]).await.unwrap().stored
            })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        stored += t.await.unwrap();
    }
    assert_eq!(stored, 300);
    let commits = store.commit_stats().commits.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(commits < 300, "300 concurrent writes took {commits} commits: no grouping");
    let mut q = wharf_model::query::ListQuery::all(wharf_model::query::Resource::Events);
    q.page_size = 1000;
    assert_eq!(store.list_events(&account, q).await.unwrap().items.len(), 300);
}
