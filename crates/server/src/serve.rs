//! `wharf serve`: open the store, take the data-dir lock, serve HTTP until a signal.

use std::fs::File;
use std::sync::Arc;

use anyhow::Context;
use wharf_api::AppState;
use wharf_model::SystemClock;
use wharf_store::{SqliteStore, Store};
use wharf_sync::seal::Sealer;
use wharf_sync::{EngineConfig, SyncEngine};

use crate::config::Config;

pub fn init_logging(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Holds the data dir's lock file for as long as it lives: one server per data dir.
pub struct DataDirLock(#[allow(dead_code)] File);

pub fn lock_data_dir(config: &Config) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    let path = config.data_dir.join("wharf.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.try_lock().map_err(|_| anyhow::anyhow!("another wharf server is using {}", config.data_dir.display()))?;
    Ok(DataDirLock(file))
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config.log);
    let _lock = lock_data_dir(&config)?;
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&config.data_dir, Arc::new(SystemClock))
            .with_context(|| format!("opening the store in {}", config.data_dir.display()))?,
    );
    let engine = engine(&config, store.clone())?;
    run_http(config, store, engine).await
}

/// The sync engine over `store`, with the operator's settings.
pub fn engine(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Arc<SyncEngine>> {
    let sealer = Sealer::open(&config.data_dir, config.secret_key.as_deref()).context("opening the credentials key")?;
    let mut settings = EngineConfig { periodic_interval: config.periodic_interval, ..EngineConfig::default() };
    if let Some(n) = config.sync_batch_rows {
        settings.batch_rows = n;
    }
    Ok(Arc::new(SyncEngine::new(store, sealer, Arc::new(SystemClock), settings)))
}

/// Serves the router on the configured address, and runs the sync scheduler, until SIGINT
/// or SIGTERM.
pub async fn run_http(config: Config, store: Arc<dyn Store>, engine: Arc<SyncEngine>) -> anyhow::Result<()> {
    let state = AppState::new(store, Arc::new(SystemClock)).with_engine(engine.clone());
    let listener =
        tokio::net::TcpListener::bind(config.http).await.with_context(|| format!("binding {}", config.http))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %config.data_dir.display(), interval = ?config.periodic_interval, "wharf listening");
    eprintln!("wharf listening on http://{addr}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let scheduler = tokio::spawn(engine.run_scheduler(async move {
        let _ = stop_rx.await;
    }));
    axum::serve(listener, wharf_api::router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    let _ = stop_tx.send(());
    let _ = scheduler.await;
    tracing::info!("wharf stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
