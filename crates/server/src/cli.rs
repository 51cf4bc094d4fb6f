//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use wharf_model::{AccountId, KeyId, SystemClock};
use wharf_store::{SqliteStore, Store};

use crate::config::{self, Config};

#[derive(Parser, Debug)]
#[command(name = "wharf", version, about = "Wharf: customer profiles and events, synced to your warehouse")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct Global {
    /// Where Wharf keeps its data [default: ./wharf-data]
    #[arg(long, global = true, env = "WHARF_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file [default: ./wharf.toml when present]
    #[arg(long, global = true, env = "WHARF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log filter, e.g. `info` or `wharf_store=debug` [default: info]
    #[arg(long, global = true, env = "WHARF_LOG")]
    pub log: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "WHARF_HTTP")]
        http: Option<SocketAddr>,
    },
    /// Create a demo shop on embedded defaults, serve it and show what to try.
    Demo(crate::demo::DemoArgs),
    /// Accounts (tenants).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Private API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// The account's warehouse connection, on a running server.
    Connection {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ConnectionCommand,
    },
    /// The account's warehouse syncs, on a running server.
    Syncs {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: SyncsCommand,
    },
}

/// How the `connection` and `syncs` commands reach a running `wharf serve`.
#[derive(Args, Debug)]
pub struct Remote {
    /// The server's URL.
    #[arg(long, global = true, env = "WHARF_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// A private API key of the account (required).
    #[arg(long, global = true, env = "WHARF_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ConnectionCommand {
    /// Create or replace the connection, and test it step by step.
    Set(Box<SetConnection>),
    /// Test the stored connection again (retry).
    Test {
        #[arg(long)]
        json: bool,
    },
    /// Show the connection, secrets redacted.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Remove the connection: every sync becomes disabled; the warehouse is left alone.
    Remove,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DestinationType {
    /// Parquet files in a folder of the server's machine.
    Local,
    /// Parquet files in an S3 bucket or an S3-compatible store.
    S3,
}

#[derive(Args, Debug)]
pub struct SetConnection {
    /// Destination type.
    #[arg(long = "type", value_enum)]
    pub kind: DestinationType,
    /// local: the folder the tables go in (absolute, on the server's machine).
    #[arg(long)]
    pub path: Option<String>,
    /// s3: bucket name.
    #[arg(long)]
    pub bucket: Option<String>,
    /// s3: the bucket's region, e.g. us-east-1.
    #[arg(long)]
    pub region: Option<String>,
    /// s3: access key id.
    #[arg(long)]
    pub access_key_id: Option<String>,
    /// s3: secret access key.
    #[arg(long, env = "WHARF_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: Option<String>,
    /// s3: base URL of an S3-compatible store; AWS when absent.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// s3: key prefix the tables go under.
    #[arg(long)]
    pub prefix: Option<String>,
    /// s3: path-style requests (default: true with --endpoint, false on AWS).
    #[arg(long)]
    pub path_style: Option<bool>,
    /// What to sync [default: profiles,events].
    #[arg(long, value_delimiter = ',')]
    pub data_objects: Vec<String>,
    /// Integrations whose events are not synced.
    #[arg(long, value_delimiter = ',')]
    pub exclude_integrations: Vec<String>,
    /// Metric names to sync [default: all].
    #[arg(long, value_delimiter = ',')]
    pub selective_sync: Vec<String>,
    /// History the first sync covers: 30d, 90d, 1y or all [default: all].
    #[arg(long)]
    pub historical_range: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum SyncsCommand {
    /// List the syncs with their status, progress and freshness.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one sync.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Pause a sync; resume loses nothing.
    Pause { id: String },
    /// Resume a paused sync.
    Resume { id: String },
    /// Restart a failed sync.
    Reenable { id: String },
    /// Run a sync now.
    Run {
        id: String,
        /// Draw its progress and wait until it is done.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, e.g. 30s, 10m.
        #[arg(long, default_value = "10m", value_parser = parse_wait)]
        timeout: Duration,
    },
    /// Draw a sync's progress until its current or next run is done; without an id, the
    /// historical syncs' until they are completed.
    Watch {
        id: Option<String>,
        /// How long to watch, e.g. 30s, 10m.
        #[arg(long, default_value = "10m", value_parser = parse_wait)]
        timeout: Duration,
    },
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    config::parse_duration(text).map_err(|e| e.to_string())
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account and its first private API key.
    Create {
        #[arg(long)]
        name: String,
        /// Print one JSON object with `account_id` and `api_key`.
        #[arg(long)]
        json: bool,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create another private API key for an account.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[arg(long)]
        json: bool,
    },
    /// List an account's keys (ids and prefixes; secrets are never shown again).
    List {
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id.
    Revoke { key_id: String },
}

fn open_store(config: &Config) -> anyhow::Result<Arc<SqliteStore>> {
    let store = SqliteStore::open(&config.data_dir, Arc::new(SystemClock))
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    Ok(Arc::new(store))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The remote commands need no config file or data dir: only the server and a key.
    let cli = match cli.command {
        Command::Connection { remote, command } => return crate::remote::connection(&remote, command),
        Command::Syncs { remote, command } => return crate::remote::syncs(&remote, command),
        command => Cli { command, ..cli },
    };
    let file = config::load_file(cli.global.config.as_deref())?;
    let http = match &cli.command {
        Command::Serve { http } => *http,
        Command::Demo(args) => args.http,
        _ => None,
    };
    let interval = file.periodic_interval.clone();
    let config =
        Config::resolve(file, cli.global.data_dir, http, cli.global.log).with_sync_settings(interval.as_deref())?;
    match cli.command {
        Command::Serve { .. } => crate::serve::serve(config).await,
        Command::Demo(args) => crate::demo::run(config, args).await,
        Command::Account(cmd) => account(&config, cmd).await,
        Command::ApiKey(cmd) => api_key(&config, cmd).await,
        Command::Connection { .. } | Command::Syncs { .. } => unreachable!("handled above"),
    }
}

async fn account(config: &Config, cmd: AccountCommand) -> anyhow::Result<()> {
    let store = open_store(config)?;
    match cmd {
        AccountCommand::Create { name, json } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                bail!("the account name must be 1 to 200 characters");
            }
            let account = store.create_account(name).await?;
            let key = store.create_api_key(&account.id, "default").await?;
            if json {
                println!("{}", json!({"account_id": account.id, "api_key": key.secret, "name": account.name}));
            } else {
                println!("account {} ({})", account.id, account.name);
                println!("private API key: {}", key.secret);
                println!("(store it now: Wharf keeps only a hash and cannot show it again)");
            }
        }
        AccountCommand::List { json } => {
            let accounts = store.list_accounts().await?;
            if json {
                let rows: Vec<_> =
                    accounts.iter().map(|a| json!({"id": a.id, "name": a.name, "created": a.created})).collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for a in accounts {
                    println!("{}  {}  {}", a.id, a.created.format("%Y-%m-%d %H:%M"), a.name);
                }
            }
        }
    }
    Ok(())
}

async fn api_key(config: &Config, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    let store = open_store(config)?;
    match cmd {
        ApiKeyCommand::Create { account, label, json } => {
            let key = store.create_api_key(&AccountId(account), &label).await?;
            if json {
                println!(
                    "{}",
                    json!({"key_id": key.info.id, "account_id": key.info.account_id, "api_key": key.secret})
                );
            } else {
                println!("key {} for account {}", key.info.id, key.info.account_id);
                println!("private API key: {}", key.secret);
            }
        }
        ApiKeyCommand::List { account, json } => {
            let keys = store.list_api_keys(&AccountId(account)).await?;
            if json {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| json!({"key_id": k.id, "label": k.label, "prefix": k.prefix, "created": k.created, "revoked": k.revoked}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for k in keys {
                    let state = if k.revoked.is_some() { "revoked" } else { "active" };
                    println!("{}  {}…  {:<8} {}", k.id, k.prefix, state, k.label);
                }
            }
        }
        ApiKeyCommand::Revoke { key_id } => {
            let info = store.revoke_api_key(&KeyId(key_id)).await?;
            println!("revoked key {} ({}…) of account {}", info.id, info.prefix, info.account_id);
        }
    }
    Ok(())
}
