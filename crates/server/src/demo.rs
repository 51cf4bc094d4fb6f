//! `wharf demo`: a synthetic coffee shop on embedded defaults, served, with what to try next.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use wharf_model::SystemClock;
use wharf_store::{BulkProfile, SqliteStore, Store};
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
    /// Load the data and exit instead of serving.
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
    let key = store.create_api_key(&account.id, "demo").await?;
    print_banner(&config, &account.id.0, &key.secret);
    if args.no_serve {
        return Ok(());
    }
    run_http(config, store).await
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
