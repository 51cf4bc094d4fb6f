//! `wharf demo`: a synthetic coffee shop on embedded defaults, synced to local Parquet files,
//! served, with what to try next.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use wharf_destinations::DestinationConfig;
use wharf_destinations::local::LocalConfig;
use wharf_model::sync::{ConnectionState, DataObject, HistoricalRange, SyncKind, SyncOptions, SyncStatus};
use wharf_model::{AccountId, SystemClock};
use wharf_store::{BulkProfile, SqliteStore, Store};
use wharf_sync::SyncEngine;
use wharf_synth::{ShopSpec, generate};

use crate::config::Config;
use crate::serve::{init_logging, lock_data_dir, run_http};

const DEMO_ACCOUNT: &str = "Demo Coffee Roasters";

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "WHARF_HTTP")]
    pub http: Option<SocketAddr>,
    /// Profiles to generate.
    #[arg(long, default_value_t = 5_000)]
    pub profiles: usize,
    /// Events to generate, spread over the last 180 days.
    #[arg(long, default_value_t = 50_000)]
    pub events: usize,
    /// Seed of the generator: the same seed gives the same shop.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Load the data, run the historical sync, and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

pub async fn run(config: Config, args: DemoArgs) -> anyhow::Result<()> {
    init_logging(&format!("warn,{}", config.log));
    let _lock = lock_data_dir(&config)?;
    let sqlite = SqliteStore::open(&config.data_dir, Arc::new(SystemClock))
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let store: Arc<dyn Store> = Arc::new(sqlite);

    let existing = store.list_accounts().await?.into_iter().find(|a| a.name == DEMO_ACCOUNT);
    let account = match existing {
        Some(a) => {
            println!("Reusing the demo account {} in {}", a.id, config.data_dir.display());
            a
        }
        None => {
            let a = store.create_account(DEMO_ACCOUNT).await?;
            load_shop(store.as_ref(), &a.id, &args).await?;
            a
        }
    };
    let engine = crate::serve::engine(&config, store.clone())?;
    let warehouse = connect_warehouse(&config, &engine, store.as_ref(), &account.id).await?;
    run_historical(&engine, store.as_ref(), &account.id).await?;
    let key = store.create_api_key(&account.id, "demo").await?;
    print_banner(&config, &account.id.0, &key.secret);
    print_warehouse(&config, warehouse.as_deref(), &key.secret);
    if args.no_serve {
        return Ok(());
    }
    run_http(config, store, engine).await
}

/// Connects the Local destination at `<data_dir>/warehouse`, unless the account already has a
/// connection. Returns the folder of a Local connection.
async fn connect_warehouse(
    config: &Config,
    engine: &SyncEngine,
    store: &dyn Store,
    account: &AccountId,
) -> anyhow::Result<Option<PathBuf>> {
    if store.get_connection(account).await?.is_some() {
        let (connection, destination) = engine.show(account).await?;
        let path = match &destination {
            DestinationConfig::Local(c) => Some(c.path.clone()),
            _ => None,
        };
        let shown = path.as_ref().map(|p| format!("local: {}", p.display())).unwrap_or_else(|| "not local".into());
        println!("Reusing the warehouse connection ({shown}), {}", connection.state.name());
        return Ok(path);
    }
    let path = std::path::absolute(config.data_dir.join("warehouse")).context("resolving the warehouse folder")?;
    let options = SyncOptions {
        data_objects: vec![DataObject::Profiles, DataObject::Events],
        excluded_integrations: vec![],
        selective_sync: vec![],
        historical_range: HistoricalRange::All,
    };
    let destination = DestinationConfig::Local(LocalConfig { path: path.clone() });
    let (connection, steps) = engine.connect(account, destination, options).await?;
    println!("Connected the Local destination (Parquet files) at {}", path.display());
    for s in &steps {
        let step = serde_json::to_value(s.step).ok().and_then(|v| v.as_str().map(|n| n.replace('_', " ")));
        let step = step.unwrap_or_default();
        match &s.error {
            None => println!("  ✓ {step}"),
            Some(e) => println!("  ✗ {step}: {e}"),
        }
    }
    if connection.state != ConnectionState::Enabled {
        bail!("the demo's warehouse folder {} is not usable (see the failed step above)", path.display());
    }
    Ok(Some(path))
}

/// Runs the historical syncs to completion, drawing their progress.
async fn run_historical(engine: &Arc<SyncEngine>, store: &dyn Store, account: &AccountId) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut idle_passes = 0;
    loop {
        let historical = historical_syncs(store, account).await?;
        draw_historical(&historical);
        if historical.iter().all(|s| s.status == SyncStatus::Completed) {
            let rows: u64 = historical.iter().map(|s| s.rows_done).sum();
            eprintln!();
            println!("Historical sync completed: {rows} rows in {:.1}s", started.elapsed().as_secs_f64());
            return Ok(());
        }
        if let Some(s) = historical.iter().find(|s| !s.status.runnable() && s.status != SyncStatus::Completed) {
            eprintln!();
            let error = store.list_sync_errors(account, chrono::DateTime::UNIX_EPOCH, 1000).await?;
            let last = error.iter().filter(|e| e.sync_id == s.id).max_by_key(|e| e.at);
            let why = last.map(|e| format!(": {} ({}): {}", e.summary, e.code, e.external_message));
            bail!("the historical {} sync is {}{}", s.object.name(), s.status, why.unwrap_or_default());
        }
        // One pass runs every due sync until it is caught up; draw while it goes.
        let pass = tokio::spawn({
            let engine = engine.clone();
            async move { engine.run_due().await }
        });
        tokio::pin!(pass);
        let delivered = loop {
            tokio::select! {
                done = &mut pass => break done.context("the sync pass panicked")??,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    draw_historical(&historical_syncs(store, account).await?);
                }
            }
        };
        if delivered == 0 {
            // Nothing was due (a retry waits for its time): wait a little, but not forever.
            idle_passes += 1;
            if idle_passes > 600 {
                eprintln!();
                bail!("the historical syncs made no progress for a minute");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            idle_passes = 0;
        }
    }
}

async fn historical_syncs(
    store: &dyn Store,
    account: &AccountId,
) -> anyhow::Result<Vec<wharf_model::sync::WarehouseSync>> {
    Ok(store.list_syncs(account).await?.into_iter().filter(|s| s.kind == SyncKind::Historical).collect())
}

fn draw_historical(historical: &[wharf_model::sync::WarehouseSync]) {
    // A sync counts its rows when it starts; until then it adds nothing to the total.
    let done: u64 = historical.iter().map(|s| s.rows_done).sum();
    let total: u64 = historical.iter().map(|s| s.rows_total).sum();
    let completed = historical.iter().filter(|s| s.status == SyncStatus::Completed).count();
    let what = format!("rows to the warehouse ({completed}/{} historical syncs done)", historical.len());
    if total == 0 && completed < historical.len() {
        eprint!("\r  starting the historical sync…");
        let _ = std::io::stderr().flush();
    } else {
        progress(&what, done as usize, total as usize);
    }
}

/// Human cadence: `1h`, `5s`, `1m 30s`, `250ms`.
fn cadence(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (h, 0, 0) if h > 0 => format!("{h}h"),
        (0, m, 0) => format!("{m}m"),
        (0, 0, s) => format!("{s}s"),
        (h, m, s) => [(h, "h"), (m, "m"), (s, "s")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n}{u}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A path inside single quotes of SQL.
fn sql_path(p: &Path) -> String {
    p.display().to_string().replace('\'', "''")
}

fn print_warehouse(config: &Config, warehouse: Option<&Path>, key: &str) {
    let base = format!("http://{}", config.http);
    let every = cadence(config.periodic_interval);
    if let Some(dir) = warehouse {
        let events = sql_path(&dir.join("klaviyo_event").join("*.parquet"));
        let profiles = sql_path(&dir.join("klaviyo_profile").join("*.parquet"));
        println!(
            r#"Warehouse (Local destination, Parquet): {dir}
Query it with DuckDB (https://duckdb.org):
  duckdb -c "SELECT metric_name, count(*) FROM read_parquet('{events}') GROUP BY 1 ORDER BY 2 DESC"
  duckdb -c "SELECT id, email, updated FROM read_parquet('{profiles}') QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated DESC, _synced_at DESC) = 1 LIMIT 10"
"#,
            dir = dir.display()
        );
    }
    let hint = if config.periodic_interval > Duration::from_secs(60) {
        " (WHARF_PERIODIC_INTERVAL=5s for a livelier demo)"
    } else {
        ""
    };
    println!(
        r#"Periodic syncs run every {every} while the server runs{hint}.
Watch them:
  wharf syncs list --server {base} --api-key {key}
"#
    );
}

async fn load_shop(store: &dyn Store, account: &wharf_model::AccountId, args: &DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let shop = generate(&ShopSpec::new(args.seed, args.profiles, args.events, chrono::Utc::now()));
    let total = shop.profiles.len() + shop.events.len();
    let mut done = 0;
    for chunk in shop.profiles.chunks(1_000) {
        let batch =
            chunk.iter().map(|w| BulkProfile { write: Ok(w.clone()), original: serde_json::Value::Null }).collect();
        store.bulk_import_profiles(account, batch).await?;
        done += chunk.len();
        progress("profiles and events", done, total);
    }
    for chunk in shop.events.chunks(1_000) {
        store.create_events(account, chunk.to_vec()).await?;
        done += chunk.len();
        progress("profiles and events", done, total);
    }
    println!(
        "\nLoaded {} profiles and {} events in {:.1}s",
        shop.profiles.len(),
        shop.events.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A one-line progress bar on stderr.
pub fn progress(what: &str, done: usize, total: usize) {
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    let filled = pct / 4;
    eprint!("\r  [{}{}] {pct:>3}% {done}/{total} {what}", "#".repeat(filled), " ".repeat(25 - filled));
    let _ = std::io::stderr().flush();
}

fn print_banner(config: &Config, account: &str, key: &str) {
    let base = format!("http://{}", config.http);
    println!(
        r#"
Wharf demo: account {account} ("{DEMO_ACCOUNT}")
Private API key (shown once): {key}

Try it:
  curl -s {base}/api/metrics -H 'Authorization: Klaviyo-API-Key {key}' -H 'revision: 2026-10-15'
  curl -s '{base}/api/profiles?page%5Bsize%5D=3' -H 'Authorization: Klaviyo-API-Key {key}' -H 'revision: 2026-10-15'
  curl -s -X POST {base}/api/events -H 'Authorization: Klaviyo-API-Key {key}' -H 'revision: 2026-10-15' \
       -H 'Content-Type: application/vnd.api+json' \
       -d '{{"data":{{"type":"event","attributes":{{"properties":{{"Brand":"Acme"}},"metric":{{"data":{{"type":"metric","attributes":{{"name":"Viewed Product"}}}}}},"profile":{{"data":{{"type":"profile","attributes":{{"email":"you@example.org"}}}}}}}}}}}}'

Or with the official Python SDK (pip install klaviyo-api):
  from klaviyo_api import KlaviyoAPI
  k = KlaviyoAPI("{key}", test_host="{base}")
  print(k.Metrics.get_metrics())

Prometheus metrics: {base}/metrics    Data: {data}
"#,
        data = config.data_dir.display()
    );
}
