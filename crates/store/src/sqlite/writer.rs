//! The single writer thread and its group commit.
//!
//! Every write becomes a job on a channel. The writer takes whatever jobs are waiting,
//! runs each inside its own SAVEPOINT of one transaction (so one job's failure undoes only
//! that job), commits once (one WAL fsync for the whole group), and only then answers every
//! job. Concurrent requests therefore share fsyncs, and nobody hears "done" before the
//! commit is on disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rand::RngCore;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use wharf_model::{AccountId, Clock, Timestamp};

use crate::{CommitStats, Result, StoreError, stats::COMMIT_BUCKETS_MS};

/// Most jobs folded into one commit; bounds the latency one commit adds.
const MAX_GROUP: usize = 1024;

/// A closure run inside the write transaction; it returns the reply to send after commit.
/// It gets `None` when the transaction could not even begin.
pub(crate) type Job = Box<dyn FnOnce(Option<&mut WriteCtx<'_>>) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<()>) + Send>;

/// Write-side state available to jobs: the open transaction and caches that survive
/// across commits (cleared whenever a rollback could have made them wrong).
pub(crate) struct WriteCtx<'c> {
    pub conn: &'c Connection,
    pub now: Timestamp,
    caches: &'c mut Caches,
    rng: &'c mut rand::rngs::StdRng,
    /// Change-sequence positions handed out by the running job, per account; written back
    /// to `accounts.last_seq` when the job succeeds.
    seqs: HashMap<String, i64>,
}

#[derive(Default)]
pub(crate) struct Caches {
    /// (account, metric name, integration name) → metric id.
    pub metrics: HashMap<(String, String, String), String>,
}

impl WriteCtx<'_> {
    /// A new ULID at this transaction's time.
    pub fn new_id(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        wharf_model::id::ulid_string(self.now.timestamp_millis() as u64, u128::from_le_bytes(bytes))
    }

    /// Hands out the next position of the account's change sequence.
    pub fn next_seq(&mut self, account: &AccountId) -> Result<i64> {
        if let Some(last) = self.seqs.get_mut(account.as_str()) {
            *last += 1;
            return Ok(*last);
        }
        let last: i64 = self
            .conn
            .prepare_cached("SELECT last_seq FROM accounts WHERE id = ?1")?
            .query_row([account.as_str()], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound(format!("account {account}")),
                e => e.into(),
            })?;
        self.seqs.insert(account.as_str().to_string(), last + 1);
        Ok(last + 1)
    }

    fn flush_seqs(&mut self) -> Result<()> {
        for (account, last) in self.seqs.drain() {
            self.conn
                .prepare_cached("UPDATE accounts SET last_seq = ?1 WHERE id = ?2")?
                .execute(rusqlite::params![last, account])?;
        }
        Ok(())
    }

    pub fn caches(&mut self) -> &mut Caches {
        self.caches
    }

    pub fn random_bytes(&mut self, out: &mut [u8]) {
        self.rng.fill_bytes(out);
    }
}

/// Submits jobs to the writer thread.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Writer {
    pub fn start(mut conn: Connection, clock: Arc<dyn Clock>, stats: Arc<CommitStats>) -> Writer {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("wharf-store-writer".into())
            .spawn(move || {
                let mut caches = Caches::default();
                let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
                let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
                while let Some(first) = rx.blocking_recv() {
                    group.push(first);
                    while group.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(job) => group.push(job),
                            Err(_) => break,
                        }
                    }
                    run_group(&mut conn, &mut group, &clock, &mut caches, &mut rng, &stats);
                }
            })
            .expect("spawn the store writer thread");
        Writer { jobs: tx }
    }

    /// Runs `f` in the write transaction and returns its result once committed.
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |ctx| {
            let result = match ctx {
                Some(ctx) => in_savepoint(ctx, f),
                None => Err(StoreError::Storage("could not begin a write transaction".into())),
            };
            Box::new(move |commit: Result<()>| {
                let _ = tx.send(commit.and(result));
            })
        });
        self.jobs.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// Runs a statement from the connection's statement cache: these run for every job, and
/// `execute_batch` would parse them each time.
pub(crate) fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn in_savepoint<R>(ctx: &mut WriteCtx<'_>, f: impl FnOnce(&mut WriteCtx<'_>) -> Result<R>) -> Result<R> {
    if let Err(e) = exec(ctx.conn, "SAVEPOINT job") {
        return Err(e.into());
    }
    ctx.seqs.clear();
    match f(ctx).and_then(|r| {
        ctx.flush_seqs()?;
        exec(ctx.conn, "RELEASE job")?;
        Ok(r)
    }) {
        Ok(r) => Ok(r),
        Err(e) => {
            // Undo this job only; the caches may name rows that no longer exist.
            let _ = exec(ctx.conn, "ROLLBACK TO job").and_then(|_| exec(ctx.conn, "RELEASE job"));
            ctx.caches.metrics.clear();
            ctx.seqs.clear();
            Err(e)
        }
    }
}

fn run_group(
    conn: &mut Connection,
    group: &mut Vec<Job>,
    clock: &Arc<dyn Clock>,
    caches: &mut Caches,
    rng: &mut rand::rngs::StdRng,
    stats: &CommitStats,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let started = Instant::now();
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "could not begin a write transaction");
        for job in group.drain(..) {
            job(None)(Err(StoreError::Storage(e.to_string())));
        }
        return;
    }
    let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
    {
        // Stored times have microsecond precision; truncate so what a write returns equals
        // what a later read returns.
        let now = clock.now();
        let now = chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let mut ctx = WriteCtx { conn, now, caches, rng, seqs: HashMap::new() };
        for job in group.drain(..) {
            replies.push(job(Some(&mut ctx)));
        }
    }
    let outcome = exec(conn, "COMMIT").map_err(StoreError::from);
    if let Err(e) = &outcome {
        tracing::error!(error = %e, jobs = replies.len(), "commit failed; nothing of this group was stored");
        let _ = conn.execute_batch("ROLLBACK");
        caches.metrics.clear();
    }
    let micros = started.elapsed().as_micros() as u64;
    stats.commits.fetch_add(1, Relaxed);
    stats.jobs.fetch_add(replies.len() as u64, Relaxed);
    stats.commit_micros.fetch_add(micros, Relaxed);
    let ms = micros as f64 / 1000.0;
    let bucket = COMMIT_BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(COMMIT_BUCKETS_MS.len());
    stats.buckets[bucket].fetch_add(1, Relaxed);
    for reply in replies {
        reply(match &outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(StoreError::Storage(e.to_string())),
        });
    }
}
