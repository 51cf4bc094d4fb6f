//! One step of one sync: choose (or resume) a window, read it, load it, move the cursor.

use std::time::Duration;

use chrono::TimeDelta;
use wharf_destinations::{Destination, DestinationError};
use wharf_model::sync::{
    DataObject, RetryPolicy, SyncErrorEntry, SyncKind, SyncOptions, SyncRun, SyncStatus, WarehouseSync,
};
use wharf_model::warehouse::{Rows, RunId};
use wharf_model::{AccountId, Clock, Timestamp};
use wharf_store::Store;

use crate::{SyncError, rows};

/// Rows per run. Bounds memory (a run is held in memory while it is encoded; 25k rows keep a
/// backfill's peak resident memory under 256 MiB) and the work a retry repeats.
pub const BATCH_ROWS: usize = 25_000;

/// What a step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Delivered a window; more may follow right away.
    Delivered,
    /// Nothing left to deliver: caught up (periodic) or Completed (historical).
    CaughtUp,
    /// The destination failed; the sync is Errored (retrying later) or Failed.
    DestinationFailed,
    /// Paused or disabled meanwhile; the pending window waits.
    Stopped,
}

pub struct StepContext<'a> {
    pub store: &'a dyn Store,
    pub destination: &'a dyn Destination,
    pub options: &'a SyncOptions,
    pub account: &'a AccountId,
    pub now: Timestamp,
    /// For the end time of a load; `now` is the step's start.
    pub clock: &'a dyn Clock,
    pub interval: Duration,
    pub policy: RetryPolicy,
    /// In [0, 1): spreads retries.
    pub jitter: f64,
    pub batch_rows: usize,
}

/// The rows of a window, and how many of them count for progress.
struct Window {
    rows: Rows,
    /// Rows read in the window (before integration and metric filters): progress counts these.
    scanned: u64,
    /// Position of the last row read, when the read was cut at `limit`.
    last_seq: Option<i64>,
}

async fn read_window(
    cx: &StepContext<'_>,
    sync: &WarehouseSync,
    after: i64,
    up_to: i64,
    limit: usize,
) -> Result<Window, SyncError> {
    let synced_at = cx.now;
    Ok(match sync.object {
        DataObject::Events => {
            let changes = cx.store.changed_event_rows(cx.account, after, up_to, limit, synced_at).await?;
            let last_seq = (changes.len() == limit).then(|| changes.last().map(|c| c.seq)).flatten();
            let in_range: Vec<_> =
                changes.into_iter().filter(|c| sync.since.is_none_or(|since| c.item.datetime >= since)).collect();
            let scanned = in_range.len() as u64;
            let rows = in_range
                .into_iter()
                .filter(|c| cx.options.includes_event(&c.item.metric_name, &c.item.integration_name))
                .map(|c| c.item)
                .collect();
            Window { rows: Rows::Events(rows), scanned, last_seq }
        }
        DataObject::Profiles => {
            let changes = cx.store.changed_profiles(cx.account, after, up_to, limit).await?;
            let last_seq = (changes.len() == limit).then(|| changes.last().map(|c| c.seq)).flatten();
            let scanned = changes.len() as u64;
            Window {
                rows: Rows::Profiles(changes.iter().map(|c| rows::profile(&c.item, synced_at)).collect()),
                scanned,
                last_seq,
            }
        }
        DataObject::Metrics => {
            let changes = cx.store.changed_metrics(cx.account, after, up_to, limit).await?;
            let last_seq = (changes.len() == limit).then(|| changes.last().map(|c| c.seq)).flatten();
            let scanned = changes.len() as u64;
            Window {
                rows: Rows::Metrics(changes.iter().map(|c| rows::metric(&c.item, synced_at)).collect()),
                scanned,
                last_seq,
            }
        }
    })
}

/// Runs one step of `sync`, saving its state before and after the load.
pub async fn step(cx: &StepContext<'_>, mut sync: WarehouseSync) -> Result<(WarehouseSync, Step), SyncError> {
    let high = match (sync.kind, sync.target) {
        (SyncKind::Historical, target) => target.unwrap_or(0),
        // A periodic cycle delivers what was there when it started; changes that arrive
        // meanwhile wait for the next cycle, one cadence later.
        (SyncKind::Periodic, Some(bound)) if sync.status == SyncStatus::InProgress => bound,
        (SyncKind::Periodic, _) => {
            let position = cx.store.change_position(cx.account).await?;
            sync.target = Some(position);
            position
        }
    };
    if sync.kind == SyncKind::Historical && sync.started_at.is_none() {
        sync.started_at = Some(cx.now);
        sync.rows_done = 0;
        sync.rows_total = cx.store.count_changes(cx.account, sync.object, 0, high, sync.since).await?;
    }

    let (after, up_to, part, window) = match sync.pending {
        Some((after, up_to, part)) => (after, up_to, part, None),
        None if sync.cursor >= high => {
            match sync.kind {
                SyncKind::Historical => {
                    sync.status = SyncStatus::Completed;
                    sync.ended_at = Some(cx.now);
                    sync.next_run_at = None;
                }
                SyncKind::Periodic => {
                    sync.target = None;
                    sync.status = SyncStatus::Scheduled;
                    sync.last_success_at = Some(cx.now);
                    sync.next_run_at = Some(cx.now + TimeDelta::from_std(cx.interval).unwrap_or(TimeDelta::hours(1)));
                }
            }
            sync.attempt = 0;
            cx.store.save_sync(cx.account, sync.clone()).await?;
            return Ok((sync, Step::CaughtUp));
        }
        None => {
            let window = read_window(cx, &sync, sync.cursor, high, cx.batch_rows).await?;
            let up_to = window.last_seq.unwrap_or(high);
            if sync.kind == SyncKind::Periodic && sync.status != SyncStatus::InProgress {
                // A new cycle: progress counts what is waiting now.
                sync.rows_done = 0;
                sync.rows_total = cx.store.count_changes(cx.account, sync.object, sync.cursor, high, None).await?;
            }
            (sync.cursor, up_to, 0, Some(window))
        }
    };

    // Record the window before loading anything: after a crash the same window runs again.
    sync.pending = Some((after, up_to, part));
    sync.status = SyncStatus::InProgress;
    sync.last_run_at = Some(cx.now);
    cx.store.save_sync(cx.account, sync.clone()).await?;
    let stored = cx.store.get_sync(cx.account, &sync.id).await?.ok_or_else(|| SyncError::NotFound("sync".into()))?;
    if matches!(stored.status, SyncStatus::Paused | SyncStatus::Disabled) {
        return Ok((stored, Step::Stopped));
    }

    let window = match window {
        Some(w) => w,
        None => read_window(cx, &sync, after, up_to, usize::MAX / 2).await?,
    };
    let run = RunId { kind: sync.kind.name(), table: sync.object.table(), after, up_to, part };
    let started = cx.now;
    let outcome: Result<_, DestinationError> = async {
        if let Some(receipt) = cx.destination.committed(&run).await? {
            return Ok(receipt);
        }
        cx.destination.load(&run, &window.rows).await
    }
    .await;
    let finished = cx.clock.now().max(started);
    match outcome {
        Ok(receipt) => {
            sync.cursor = up_to;
            sync.pending = None;
            sync.rows_done += window.scanned;
            sync.rows_total = sync.rows_total.max(sync.rows_done);
            sync.attempt = 0;
            let record = SyncRun {
                sync_id: sync.id.clone(),
                run: run.slug(),
                after,
                up_to,
                rows: receipt.rows,
                bytes: receipt.bytes,
                started,
                finished,
                error_id: None,
            };
            cx.store.save_run(cx.account, sync.clone(), record, None).await?;
            Ok((sync, Step::Delivered))
        }
        Err(e) => {
            sync.attempt += 1;
            let delay = if e.kind.is_retryable() { cx.policy.delay(sync.attempt, cx.jitter) } else { None };
            match delay {
                Some(d) => {
                    sync.status = SyncStatus::Errored;
                    sync.next_run_at = Some(cx.now + TimeDelta::from_std(d).unwrap_or(TimeDelta::seconds(30)));
                }
                None => {
                    sync.status = SyncStatus::Failed;
                    sync.next_run_at = None;
                }
            }
            let entry = SyncErrorEntry {
                id: format!("{:013}-{:016x}", cx.now.timestamp_millis(), rand::random::<u64>()),
                sync_id: sync.id.clone(),
                kind: serde_json::to_value(e.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                summary: e.summary.clone(),
                code: e.code.clone(),
                external_message: e.external_message.clone(),
                at: cx.now,
            };
            tracing::warn!(sync = %sync.id, attempt = sync.attempt, kind = %entry.kind, code = %e.code, "load failed");
            let record = SyncRun {
                sync_id: sync.id.clone(),
                run: run.slug(),
                after,
                up_to,
                rows: 0,
                bytes: 0,
                started,
                finished,
                error_id: Some(entry.id.clone()),
            };
            cx.store.save_run(cx.account, sync.clone(), record, Some(entry)).await?;
            Ok((sync, Step::DestinationFailed))
        }
    }
}
