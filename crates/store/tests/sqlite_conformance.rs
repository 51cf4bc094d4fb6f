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
