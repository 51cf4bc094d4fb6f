//! The embedded SQLite backend: one file under the data dir, WAL mode, a single writer
//! thread with group commit, and a small pool of reader connections.

mod reads;
mod rows;
mod schema;
mod sync_state;
mod writer;
mod writes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sha2::{Digest, Sha256};
use wharf_model::query::{ListQuery, Page, Resource};
use wharf_model::sync::{
    ConnectionState, DataObject, SyncErrorEntry, SyncRun, SyncStatus, WarehouseConnection, WarehouseSync,
};
use wharf_model::warehouse::EventRow;
use wharf_model::{
    Account, AccountId, ApiKeyInfo, Clock, ImportError, ImportJob, ImportJobId, KeyId, Metric, NewEvent, Profile,
    ProfileId, ProfileWrite, Timestamp,
};

use crate::{
    BulkProfile, Change, CommitStats, EventWithMetric, EventsOutcome, NewApiKey, PutConnection, Result, Store,
    StoreError,
};
use writer::Writer;
use writes::{Mode, OnConflict};

/// How long an authentication answer is reused. Revocations made through this process
/// take effect at once; those made by another process (the CLI) within this delay.
const AUTH_CACHE_TTL: Duration = Duration::from_secs(2);
const AUTH_CACHE_MAX: usize = 10_000;

type SecretHash = [u8; 32];

pub struct SqliteStore {
    writer: Writer,
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    auth_cache: Mutex<HashMap<SecretHash, (Option<AccountId>, Instant)>>,
    stats: Arc<CommitStats>,
    stop_checkpointer: Arc<AtomicBool>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.stop_checkpointer.store(true, Ordering::Relaxed);
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, migrating the schema.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Storage(format!("cannot create data dir {}: {e}", data_dir.display())))?;
        let path = data_dir.join("wharf.sqlite3");
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        schema::configure_writer(&conn)?;
        let stop_checkpointer = Arc::new(AtomicBool::new(false));
        start_checkpointer(&path, stop_checkpointer.clone())?;
        let stats = Arc::new(CommitStats::default());
        Ok(SqliteStore {
            writer: Writer::start(conn, clock, stats.clone()),
            path,
            readers: Mutex::new(Vec::new()),
            auth_cache: Mutex::new(HashMap::new()),
            stats,
            stop_checkpointer,
        })
    }

    fn reader(&self) -> Result<Connection> {
        if let Some(c) = self.readers.lock().expect("reader pool").pop() {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(conn)
    }

    /// Runs a read on a pooled connection off the async runtime.
    async fn read<R: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<R> + Send + 'static) -> Result<R> {
        let conn = self.reader()?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let r = f(&conn);
            (conn, r)
        })
        .await
        .map_err(|e| StoreError::Storage(format!("read task failed: {e}")))?;
        let mut pool = self.readers.lock().expect("reader pool");
        if pool.len() < 8 {
            pool.push(conn);
        }
        result
    }
}

/// Copies the write-ahead log back into the database every half second, off the write path.
/// PASSIVE never blocks the writer or readers; when the WAL grows past 256 MB (a checkpoint
/// that keeps losing to a busy writer) a TRUNCATE checkpoint makes room.
fn start_checkpointer(path: &Path, stop: Arc<AtomicBool>) -> Result<()> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let wal = path.with_extension("sqlite3-wal");
    std::thread::Builder::new()
        .name("wharf-store-checkpoint".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                let big = std::fs::metadata(&wal).map(|m| m.len() > 256 << 20).unwrap_or(false);
                let mode = if big { "TRUNCATE" } else { "PASSIVE" };
                if let Err(e) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| StoreError::Storage(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

/// A window (after, up_to] of an account's change feed.
struct Window {
    account: AccountId,
    after: i64,
    up_to: i64,
    limit: usize,
}

impl Window {
    /// Runs `sql`, whose last two columns are the change position and its acceptance time.
    fn read<T>(
        &self,
        c: &Connection,
        sql: &str,
        item: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<Change<T>>> {
        let mut stmt = c.prepare_cached(sql)?;
        let n = stmt.column_count();
        let limit = i64::try_from(self.limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![self.account.as_str(), self.after, self.up_to, limit], |r| {
            Ok(Change { seq: r.get(n - 2)?, accepted_at: rows::from_micros(r.get(n - 1)?), item: item(r)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn key_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyInfo> {
    Ok(ApiKeyInfo {
        id: KeyId(r.get(0)?),
        account_id: AccountId(r.get(1)?),
        label: r.get(2)?,
        prefix: r.get(3)?,
        created: rows::from_micros(r.get(4)?),
        revoked: r.get::<_, Option<i64>>(5)?.map(rows::from_micros),
    })
}

const KEY_COLUMNS: &str = "id, account_id, label, prefix, created, revoked";

#[async_trait]
impl Store for SqliteStore {
    fn commit_stats(&self) -> Arc<CommitStats> {
        self.stats.clone()
    }

    async fn create_account(&self, name: &str) -> Result<Account> {
        let name = name.to_string();
        self.writer
            .write(move |ctx| {
                let account = Account { id: AccountId(ctx.new_id()), name, created: ctx.now };
                ctx.conn.execute(
                    "INSERT INTO accounts (id, name, created) VALUES (?1, ?2, ?3)",
                    params![account.id.as_str(), account.name, rows::micros(account.created)],
                )?;
                Ok(account)
            })
            .await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id, name, created FROM accounts ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(Account { id: AccountId(r.get(0)?), name: r.get(1)?, created: rows::from_micros(r.get(2)?) })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn create_api_key(&self, account: &AccountId, label: &str) -> Result<NewApiKey> {
        let (account, label) = (account.clone(), label.to_string());
        self.writer
            .write(move |ctx| {
                let exists: bool = ctx
                    .conn
                    .query_row("SELECT 1 FROM accounts WHERE id = ?1", [account.as_str()], |_| Ok(()))
                    .optional()?
                    .is_some();
                if !exists {
                    return Err(StoreError::NotFound(format!("account {account}")));
                }
                let mut raw = [0u8; 20];
                ctx.random_bytes(&mut raw);
                let secret = format!("pk_{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
                let info = ApiKeyInfo {
                    id: KeyId(ctx.new_id()),
                    account_id: account.clone(),
                    label,
                    prefix: secret[..8].to_string(),
                    created: ctx.now,
                    revoked: None,
                };
                ctx.conn.execute(
                    "INSERT INTO api_keys (id, account_id, label, prefix, secret_hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        info.id.as_str(),
                        account.as_str(),
                        info.label,
                        info.prefix,
                        &hash_secret(&secret)[..],
                        rows::micros(info.created)
                    ],
                )?;
                Ok(NewApiKey { info, secret })
            })
            .await
    }

    async fn list_api_keys(&self, account: &AccountId) -> Result<Vec<ApiKeyInfo>> {
        let account = account.clone();
        self.read(move |c| {
            let mut stmt =
                c.prepare(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE account_id = ?1 ORDER BY id"))?;
            let rows = stmt.query_map([account.as_str()], key_info)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke_api_key(&self, key: &KeyId) -> Result<ApiKeyInfo> {
        let key = key.clone();
        let info = self
            .writer
            .write(move |ctx| {
                ctx.conn.execute(
                    "UPDATE api_keys SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                    params![key.as_str(), rows::micros(ctx.now)],
                )?;
                ctx.conn
                    .query_row(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"), [key.as_str()], key_info)
                    .optional()?
                    .ok_or_else(|| StoreError::NotFound(format!("API key {key}")))
            })
            .await?;
        self.auth_cache.lock().expect("auth cache").clear();
        Ok(info)
    }

    async fn authenticate(&self, secret: &str) -> Result<Option<AccountId>> {
        let hash = hash_secret(secret);
        if let Some((account, at)) = self.auth_cache.lock().expect("auth cache").get(&hash)
            && at.elapsed() < AUTH_CACHE_TTL
        {
            return Ok(account.clone());
        }
        let account = self
            .read(move |c| {
                Ok(c.prepare_cached("SELECT account_id FROM api_keys WHERE secret_hash = ?1 AND revoked IS NULL")?
                    .query_row([&hash[..]], |r| r.get::<_, String>(0))
                    .optional()?
                    .map(AccountId))
            })
            .await?;
        let mut cache = self.auth_cache.lock().expect("auth cache");
        if cache.len() >= AUTH_CACHE_MAX {
            cache.clear();
        }
        cache.insert(hash, (account.clone(), Instant::now()));
        Ok(account)
    }

    async fn create_events(&self, account: &AccountId, events: Vec<NewEvent>) -> Result<EventsOutcome> {
        let account = account.clone();
        self.writer.write(move |ctx| writes::create_events(ctx, &account, events)).await
    }

    async fn create_profile(&self, account: &AccountId, write: ProfileWrite) -> Result<Profile> {
        let account = account.clone();
        self.writer
            .write(move |ctx| {
                let w = writes::write_profile(ctx, &account, write, Mode::CreateOnly, OnConflict::Reject)?;
                writes::load_profile(ctx, &account, &w.id)
            })
            .await
    }

    async fn upsert_profile(&self, account: &AccountId, write: ProfileWrite) -> Result<(Profile, bool)> {
        let account = account.clone();
        self.writer
            .write(move |ctx| {
                let w = writes::write_profile(ctx, &account, write, Mode::Upsert, OnConflict::Reject)?;
                Ok((writes::load_profile(ctx, &account, &w.id)?, w.created))
            })
            .await
    }

    async fn update_profile(&self, account: &AccountId, write: ProfileWrite) -> Result<Profile> {
        let account = account.clone();
        self.writer
            .write(move |ctx| {
                let w = writes::write_profile(ctx, &account, write, Mode::UpdateOnly, OnConflict::Reject)?;
                writes::load_profile(ctx, &account, &w.id)
            })
            .await
    }

    async fn bulk_import_profiles(&self, account: &AccountId, profiles: Vec<BulkProfile>) -> Result<ImportJob> {
        let account = account.clone();
        self.writer.write(move |ctx| writes::bulk_import(ctx, &account, profiles)).await
    }

    async fn get_profile(&self, account: &AccountId, id: &ProfileId) -> Result<Option<Profile>> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| {
            let sql = format!("SELECT {} FROM profiles WHERE account_id = ?1 AND id = ?2", rows::PROFILE_COLUMNS);
            Ok(c.prepare_cached(&sql)?.query_row(params![account.as_str(), id.as_str()], rows::profile).optional()?)
        })
        .await
    }

    async fn list_profiles(&self, account: &AccountId, query: ListQuery) -> Result<Page<Profile>> {
        let account = account.clone();
        self.read(move |c| reads::list(c, Resource::Profiles, account.as_str(), &query, rows::profile)).await
    }

    async fn get_event(&self, account: &AccountId, id: &str) -> Result<Option<EventWithMetric>> {
        let (account, id) = (account.clone(), id.to_string());
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM events e JOIN metrics m ON m.account_id = e.account_id AND m.id = e.metric_id \
                 WHERE e.account_id = ?1 AND e.id = ?2",
                rows::EVENT_COLUMNS
            );
            Ok(c.prepare_cached(&sql)?.query_row(params![account.as_str(), id], rows::event_with_metric).optional()?)
        })
        .await
    }

    async fn list_events(&self, account: &AccountId, query: ListQuery) -> Result<Page<EventWithMetric>> {
        let account = account.clone();
        self.read(move |c| reads::list(c, Resource::Events, account.as_str(), &query, rows::event_with_metric)).await
    }

    async fn get_metric(&self, account: &AccountId, id: &str) -> Result<Option<Metric>> {
        let (account, id) = (account.clone(), id.to_string());
        self.read(move |c| {
            let sql = format!("SELECT {} FROM metrics WHERE account_id = ?1 AND id = ?2", rows::METRIC_COLUMNS);
            Ok(c.prepare_cached(&sql)?.query_row(params![account.as_str(), id], rows::metric).optional()?)
        })
        .await
    }

    async fn list_metrics(&self, account: &AccountId, query: ListQuery) -> Result<Page<Metric>> {
        let account = account.clone();
        self.read(move |c| reads::list(c, Resource::Metrics, account.as_str(), &query, rows::metric)).await
    }

    async fn get_import_job(&self, account: &AccountId, id: &ImportJobId) -> Result<Option<ImportJob>> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| {
            let sql = format!("SELECT {} FROM import_jobs WHERE account_id = ?1 AND id = ?2", rows::JOB_COLUMNS);
            Ok(c.prepare_cached(&sql)?
                .query_row(params![account.as_str(), id.as_str()], rows::import_job)
                .optional()?)
        })
        .await
    }

    async fn change_position(&self, account: &AccountId) -> Result<i64> {
        let account = account.clone();
        self.read(move |c| {
            c.prepare_cached("SELECT last_seq FROM accounts WHERE id = ?1")?
                .query_row([account.as_str()], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("account {account}")))
        })
        .await
    }

    async fn changed_events(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<Change<EventWithMetric>>> {
        let window = Window { account: account.clone(), after, up_to, limit };
        let sql = format!(
            "SELECT {}, e.seq, e.accepted_at FROM events e \
             JOIN metrics m ON m.account_id = e.account_id AND m.id = e.metric_id \
             WHERE e.account_id = ?1 AND e.seq > ?2 AND e.seq <= ?3 ORDER BY e.seq LIMIT ?4",
            rows::EVENT_COLUMNS
        );
        self.read(move |c| window.read(c, &sql, rows::event_with_metric)).await
    }

    async fn changed_event_rows(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
        synced_at: Timestamp,
    ) -> Result<Vec<Change<EventRow>>> {
        let window = Window { account: account.clone(), after, up_to, limit };
        let sql = format!(
            "SELECT {}, e.seq, e.accepted_at FROM events e \
             JOIN metrics m ON m.account_id = e.account_id AND m.id = e.metric_id \
             WHERE e.account_id = ?1 AND e.seq > ?2 AND e.seq <= ?3 ORDER BY e.seq LIMIT ?4",
            rows::EVENT_ROW_COLUMNS
        );
        self.read(move |c| window.read(c, &sql, |r| rows::warehouse_event(r, synced_at))).await
    }

    async fn changed_profiles(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<Change<Profile>>> {
        let window = Window { account: account.clone(), after, up_to, limit };
        let sql = format!(
            "SELECT {}, seq, changed_at FROM profiles \
             WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
            rows::PROFILE_COLUMNS
        );
        self.read(move |c| window.read(c, &sql, rows::profile)).await
    }

    async fn changed_metrics(
        &self,
        account: &AccountId,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<Change<Metric>>> {
        let window = Window { account: account.clone(), after, up_to, limit };
        let sql = format!(
            "SELECT {}, seq, changed_at FROM metrics \
             WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
            rows::METRIC_COLUMNS
        );
        self.read(move |c| window.read(c, &sql, rows::metric)).await
    }

    async fn put_connection(
        &self,
        account: &AccountId,
        put: PutConnection,
    ) -> Result<(WarehouseConnection, Vec<WarehouseSync>)> {
        let account = account.clone();
        self.writer.write(move |ctx| sync_state::put_connection(ctx, &account, put)).await
    }

    async fn get_connection(&self, account: &AccountId) -> Result<Option<WarehouseConnection>> {
        let account = account.clone();
        self.read(move |c| sync_state::get_connection(c, &account)).await
    }

    async fn set_connection_state(&self, account: &AccountId, state: ConnectionState, last_test: String) -> Result<()> {
        let account = account.clone();
        self.writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "UPDATE connections SET state = ?2, last_test = ?3, updated = ?4 WHERE account_id = ?1",
                    params![account.as_str(), state.name(), last_test, rows::micros(ctx.now)],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound("connection".into()));
                }
                Ok(())
            })
            .await
    }

    async fn delete_connection(&self, account: &AccountId) -> Result<()> {
        let account = account.clone();
        self.writer.write(move |ctx| sync_state::delete_connection(ctx, &account)).await
    }

    async fn list_syncs(&self, account: &AccountId) -> Result<Vec<WarehouseSync>> {
        let account = account.clone();
        self.read(move |c| sync_state::list_syncs(c, &account)).await
    }

    async fn get_sync(&self, account: &AccountId, id: &str) -> Result<Option<WarehouseSync>> {
        let (account, id) = (account.clone(), id.to_string());
        self.read(move |c| {
            let sql = format!("SELECT {} FROM syncs WHERE account_id = ?1 AND id = ?2", sync_state::SYNC_COLUMNS);
            Ok(c.prepare_cached(&sql)?.query_row(params![account.as_str(), id], sync_state::sync).optional()?)
        })
        .await
    }

    async fn set_sync_status(
        &self,
        account: &AccountId,
        id: &str,
        status: SyncStatus,
        next_run_at: Option<Timestamp>,
        reset_attempts: bool,
    ) -> Result<()> {
        let (account, id) = (account.clone(), id.to_string());
        self.writer
            .write(move |ctx| sync_state::set_status(ctx, &account, &id, status, next_run_at, reset_attempts))
            .await
    }

    async fn save_sync(&self, account: &AccountId, sync: WarehouseSync) -> Result<()> {
        let account = account.clone();
        self.writer.write(move |ctx| sync_state::save_sync(ctx, &account, &sync)).await
    }

    async fn save_run(
        &self,
        account: &AccountId,
        sync: WarehouseSync,
        run: SyncRun,
        error: Option<SyncErrorEntry>,
    ) -> Result<()> {
        let account = account.clone();
        self.writer
            .write(move |ctx| {
                sync_state::save_sync(ctx, &account, &sync)?;
                sync_state::record_run(ctx, &account, &run, error.as_ref())
            })
            .await
    }

    async fn list_runs(&self, account: &AccountId, sync_id: &str, limit: usize) -> Result<Vec<SyncRun>> {
        let (account, sync_id) = (account.clone(), sync_id.to_string());
        self.read(move |c| sync_state::list_runs(c, &account, &sync_id, limit)).await
    }

    async fn list_sync_errors(
        &self,
        account: &AccountId,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<SyncErrorEntry>> {
        let account = account.clone();
        self.read(move |c| sync_state::list_errors(c, &account, since, limit)).await
    }

    async fn due_syncs(&self, now: Timestamp) -> Result<Vec<(AccountId, WarehouseSync)>> {
        self.read(move |c| sync_state::due_syncs(c, now)).await
    }

    async fn count_changes(
        &self,
        account: &AccountId,
        object: DataObject,
        after: i64,
        up_to: i64,
        since: Option<Timestamp>,
    ) -> Result<u64> {
        let account = account.clone();
        self.read(move |c| sync_state::count_changes(c, &account, object, after, up_to, since)).await
    }

    async fn first_change_after(
        &self,
        account: &AccountId,
        object: DataObject,
        after: i64,
    ) -> Result<Option<Timestamp>> {
        let account = account.clone();
        self.read(move |c| sync_state::first_change_after(c, &account, object, after)).await
    }

    async fn list_import_errors(
        &self,
        account: &AccountId,
        job: &ImportJobId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ImportError>> {
        let (account, job) = (account.clone(), job.clone());
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT idx, code, title, detail, pointer, original_payload FROM import_errors \
                 WHERE account_id = ?1 AND job_id = ?2 AND idx > ?3 ORDER BY idx LIMIT ?4",
            )?;
            let after = after.map(|a| a as i64).unwrap_or(-1);
            let rows = stmt.query_map(params![account.as_str(), job.as_str(), after, limit as i64], |r| {
                let payload: String = r.get(5)?;
                Ok(ImportError {
                    index: r.get::<_, i64>(0)? as u64,
                    code: r.get(1)?,
                    title: r.get(2)?,
                    detail: r.get(3)?,
                    pointer: r.get(4)?,
                    original_payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
