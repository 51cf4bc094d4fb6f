//! Warehouse sync state: the connection, its syncs, their runs and errors.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection as Db, OptionalExtension, Row, params, params_from_iter};
use serde_json::json;
use wharf_model::sync::{
    ConnectionState, DataObject, HistoricalRange, SyncErrorEntry, SyncKind, SyncOptions, SyncRun, SyncStatus,
    WarehouseConnection, WarehouseSync,
};
use wharf_model::{AccountId, Timestamp};

use super::rows::{from_micros, micros};
use super::writer::WriteCtx;
use crate::{PutConnection, Result, StoreError};

fn options_json(o: &SyncOptions) -> String {
    json!({
        "data_objects": o.data_objects.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "excluded_integrations": o.excluded_integrations,
        "selective_sync": o.selective_sync,
        "historical_range": o.historical_range.name(),
    })
    .to_string()
}

fn options_from_json(text: &str) -> SyncOptions {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let strings = |k: &str| -> Vec<String> {
        v[k].as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    SyncOptions {
        data_objects: strings("data_objects").iter().filter_map(|s| DataObject::parse(s)).collect(),
        excluded_integrations: strings("excluded_integrations"),
        selective_sync: strings("selective_sync"),
        historical_range: v["historical_range"]
            .as_str()
            .and_then(HistoricalRange::parse)
            .unwrap_or(HistoricalRange::All),
    }
}

const CONNECTION_COLUMNS: &str = "destination_type, sealed_destination, options, state, last_test, created, updated";

fn connection(r: &Row<'_>) -> rusqlite::Result<WarehouseConnection> {
    let options: String = r.get(2)?;
    let state: String = r.get(3)?;
    Ok(WarehouseConnection {
        destination_type: r.get(0)?,
        sealed_destination: r.get(1)?,
        options: options_from_json(&options),
        state: ConnectionState::parse(&state).unwrap_or(ConnectionState::UnableToConnect),
        last_test: r.get(4)?,
        created: from_micros(r.get(5)?),
        updated: from_micros(r.get(6)?),
    })
}

pub(crate) fn get_connection(db: &Db, account: &AccountId) -> Result<Option<WarehouseConnection>> {
    let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE account_id = ?1");
    Ok(db.prepare_cached(&sql)?.query_row([account.as_str()], connection).optional()?)
}

pub(crate) const SYNC_COLUMNS: &str = "id, kind, object, status, cursor, target, since, pending_after, pending_up_to, \
     pending_part, rows_done, rows_total, attempt, next_run_at, last_run_at, last_success_at, started_at, ended_at";

pub(crate) fn sync(r: &Row<'_>) -> rusqlite::Result<WarehouseSync> {
    sync_at(r, 0)
}

pub(crate) fn list_syncs(db: &Db, account: &AccountId) -> Result<Vec<WarehouseSync>> {
    let sql = format!("SELECT {SYNC_COLUMNS} FROM syncs WHERE account_id = ?1 ORDER BY kind, object, id");
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map([account.as_str()], sync)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The values of [`SYNC_COLUMNS`] after `id`, `kind` and `object`, in order.
fn state_values(s: &WarehouseSync) -> [SqlValue; 15] {
    let int = |v: Option<i64>| v.map_or(SqlValue::Null, SqlValue::Integer);
    let time = |v: Option<Timestamp>| int(v.map(micros));
    [
        SqlValue::Text(s.status.name().into()),
        SqlValue::Integer(s.cursor),
        int(s.target),
        time(s.since),
        int(s.pending.map(|p| p.0)),
        int(s.pending.map(|p| p.1)),
        int(s.pending.map(|p| i64::from(p.2))),
        SqlValue::Integer(s.rows_done as i64),
        SqlValue::Integer(s.rows_total as i64),
        SqlValue::Integer(i64::from(s.attempt)),
        time(s.next_run_at),
        time(s.last_run_at),
        time(s.last_success_at),
        time(s.started_at),
        time(s.ended_at),
    ]
}

fn insert_sync(ctx: &WriteCtx<'_>, account: &AccountId, s: &WarehouseSync) -> Result<()> {
    let key = [
        SqlValue::Text(account.0.clone()),
        SqlValue::Text(s.id.clone()),
        SqlValue::Text(s.kind.name().into()),
        SqlValue::Text(s.object.name().into()),
    ];
    ctx.conn
        .prepare_cached(&format!(
            "INSERT INTO syncs (account_id, {SYNC_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        ))?
        .execute(params_from_iter(key.into_iter().chain(state_values(s))))?;
    Ok(())
}

pub(crate) fn save_sync(ctx: &WriteCtx<'_>, account: &AccountId, s: &WarehouseSync) -> Result<()> {
    let key = [SqlValue::Text(account.0.clone()), SqlValue::Text(s.id.clone())];
    let n = ctx
        .conn
        .prepare_cached(
            // A pause or a removal made while a run was going wins over the run's outcome.
            "UPDATE syncs SET status = CASE WHEN status IN ('paused', 'disabled') THEN status ELSE ?3 END, \
             cursor = ?4, target = ?5, since = ?6, pending_after = ?7, pending_up_to = ?8, pending_part = ?9, \
             rows_done = ?10, rows_total = ?11, attempt = ?12, next_run_at = ?13, last_run_at = ?14, \
             last_success_at = ?15, started_at = ?16, ended_at = ?17 WHERE account_id = ?1 AND id = ?2",
        )?
        .execute(params_from_iter(key.into_iter().chain(state_values(s))))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("sync {}", s.id)));
    }
    Ok(())
}

fn new_syncs(
    ctx: &mut WriteCtx<'_>,
    objects: &[DataObject],
    options: &SyncOptions,
    anchor: i64,
    interval: std::time::Duration,
) -> Vec<WarehouseSync> {
    let now = ctx.now;
    let mut out = Vec::new();
    for object in objects {
        for kind in [SyncKind::Historical, SyncKind::Periodic] {
            let historical = kind == SyncKind::Historical;
            out.push(WarehouseSync {
                id: ctx.new_id(),
                kind,
                object: *object,
                status: SyncStatus::Scheduled,
                cursor: if historical { 0 } else { anchor },
                target: historical.then_some(anchor),
                since: if historical && *object == DataObject::Events {
                    options.historical_range.cutoff(now)
                } else {
                    None
                },
                pending: None,
                rows_done: 0,
                rows_total: 0,
                attempt: 0,
                next_run_at: Some(if historical {
                    now
                } else {
                    now + chrono::TimeDelta::from_std(interval).unwrap_or_default()
                }),
                last_run_at: None,
                last_success_at: if historical { None } else { Some(now) },
                started_at: None,
                ended_at: None,
            });
        }
    }
    out
}

pub(crate) fn put_connection(
    ctx: &mut WriteCtx<'_>,
    account: &AccountId,
    put: PutConnection,
) -> Result<(WarehouseConnection, Vec<WarehouseSync>)> {
    let anchor: i64 = ctx
        .conn
        .query_row("SELECT last_seq FROM accounts WHERE id = ?1", [account.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("account {account}")))?;
    let existing = get_connection(ctx.conn, account)?;
    let now = micros(ctx.now);
    let options = options_json(&put.options);
    match &existing {
        Some(c) if c.destination_type != put.destination_type => {
            return Err(StoreError::AlreadyExists(format!(
                "this account already has a {} connection; an account has one destination: remove it first",
                c.destination_type
            )));
        }
        Some(_) => {
            ctx.conn.execute(
                "UPDATE connections SET sealed_destination = ?2, options = ?3, updated = ?4 WHERE account_id = ?1",
                params![account.as_str(), put.sealed_destination, options, now],
            )?;
        }
        None => {
            // A fresh connection starts fresh syncs; those of a removed one go.
            ctx.conn.execute("DELETE FROM syncs WHERE account_id = ?1", [account.as_str()])?;
            ctx.conn.execute(
                "INSERT INTO connections (account_id, destination_type, sealed_destination, options, state, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'unable_to_connect', ?5, ?5)",
                params![account.as_str(), put.destination_type, put.sealed_destination, options, now],
            )?;
        }
    }
    // Syncs follow the selected objects: new objects get syncs anchored now; deselected
    // objects lose theirs.
    let wanted = put.options.objects();
    let current = list_syncs(ctx.conn, account)?;
    for s in &current {
        if !wanted.contains(&s.object) {
            ctx.conn.execute("DELETE FROM syncs WHERE account_id = ?1 AND id = ?2", params![account.as_str(), s.id])?;
        }
    }
    let missing: Vec<DataObject> = wanted.iter().copied().filter(|o| !current.iter().any(|s| s.object == *o)).collect();
    for s in new_syncs(ctx, &missing, &put.options, anchor, put.periodic_interval) {
        insert_sync(ctx, account, &s)?;
    }
    let connection = get_connection(ctx.conn, account)?.expect("just written");
    Ok((connection, list_syncs(ctx.conn, account)?))
}

pub(crate) fn delete_connection(ctx: &WriteCtx<'_>, account: &AccountId) -> Result<()> {
    let n = ctx.conn.execute("DELETE FROM connections WHERE account_id = ?1", [account.as_str()])?;
    if n == 0 {
        return Err(StoreError::NotFound("connection".into()));
    }
    ctx.conn.execute(
        "UPDATE syncs SET status = 'disabled', next_run_at = NULL, pending_after = NULL, pending_up_to = NULL, \
         pending_part = NULL WHERE account_id = ?1",
        [account.as_str()],
    )?;
    Ok(())
}

pub(crate) fn record_run(
    ctx: &WriteCtx<'_>,
    account: &AccountId,
    run: &SyncRun,
    error: Option<&SyncErrorEntry>,
) -> Result<()> {
    if let Some(e) = error {
        ctx.conn
            .prepare_cached(
                "INSERT INTO sync_errors (account_id, id, sync_id, kind, summary, code, external_message, at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                account.as_str(),
                e.id,
                e.sync_id,
                e.kind,
                e.summary,
                e.code,
                e.external_message,
                micros(e.at)
            ])?;
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO sync_runs (account_id, sync_id, started, run, after, up_to, rows, bytes, finished, error_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            account.as_str(),
            run.sync_id,
            micros(run.started),
            run.run,
            run.after,
            run.up_to,
            run.rows as i64,
            run.bytes as i64,
            micros(run.finished),
            run.error_id,
        ])?;
    Ok(())
}

pub(crate) fn list_runs(db: &Db, account: &AccountId, sync_id: &str, limit: usize) -> Result<Vec<SyncRun>> {
    let mut stmt = db.prepare_cached(
        "SELECT sync_id, run, after, up_to, rows, bytes, started, finished, error_id FROM sync_runs \
         WHERE account_id = ?1 AND sync_id = ?2 ORDER BY started DESC, rowid DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![account.as_str(), sync_id, limit as i64], |r| {
        Ok(SyncRun {
            sync_id: r.get(0)?,
            run: r.get(1)?,
            after: r.get(2)?,
            up_to: r.get(3)?,
            rows: r.get::<_, i64>(4)? as u64,
            bytes: r.get::<_, i64>(5)? as u64,
            started: from_micros(r.get(6)?),
            finished: from_micros(r.get(7)?),
            error_id: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn list_errors(db: &Db, account: &AccountId, since: Timestamp, limit: usize) -> Result<Vec<SyncErrorEntry>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, sync_id, kind, summary, code, external_message, at FROM sync_errors \
         WHERE account_id = ?1 AND at >= ?2 ORDER BY at DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![account.as_str(), micros(since), limit as i64], |r| {
        Ok(SyncErrorEntry {
            id: r.get(0)?,
            sync_id: r.get(1)?,
            kind: r.get(2)?,
            summary: r.get(3)?,
            code: r.get(4)?,
            external_message: r.get(5)?,
            at: from_micros(r.get(6)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn due_syncs(db: &Db, now: Timestamp) -> Result<Vec<(AccountId, WarehouseSync)>> {
    let cols: Vec<String> = SYNC_COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect();
    let sql = format!(
        "SELECT s.account_id, {} FROM syncs s JOIN connections c ON c.account_id = s.account_id \
         WHERE c.state = 'enabled' AND s.status IN ('scheduled', 'errored', 'in_progress') \
         AND (s.next_run_at IS NULL OR s.next_run_at <= ?1) ORDER BY s.next_run_at",
        cols.join(", ")
    );
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map([micros(now)], |r| {
        let account = AccountId(r.get(0)?);
        // The sync's columns start at index 1.
        let s = sync_at(r, 1)?;
        Ok((account, s))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Reads a sync whose columns start at `offset` (for joins).
fn sync_at(r: &Row<'_>, offset: usize) -> rusqlite::Result<WarehouseSync> {
    let kind: String = r.get(offset + 1)?;
    let object: String = r.get(offset + 2)?;
    let status: String = r.get(offset + 3)?;
    let opt_time =
        |i: usize| -> rusqlite::Result<Option<Timestamp>> { Ok(r.get::<_, Option<i64>>(offset + i)?.map(from_micros)) };
    let pending = match (
        r.get::<_, Option<i64>>(offset + 7)?,
        r.get::<_, Option<i64>>(offset + 8)?,
        r.get::<_, Option<i64>>(offset + 9)?,
    ) {
        (Some(a), Some(u), Some(p)) => Some((a, u, p as u32)),
        _ => None,
    };
    Ok(WarehouseSync {
        id: r.get(offset)?,
        kind: SyncKind::parse(&kind).unwrap_or(SyncKind::Periodic),
        object: DataObject::parse(&object).unwrap_or(DataObject::Events),
        status: SyncStatus::parse(&status).unwrap_or(SyncStatus::Failed),
        cursor: r.get(offset + 4)?,
        target: r.get(offset + 5)?,
        since: opt_time(6)?,
        pending,
        rows_done: r.get::<_, i64>(offset + 10)? as u64,
        rows_total: r.get::<_, i64>(offset + 11)? as u64,
        attempt: r.get::<_, i64>(offset + 12)? as u32,
        next_run_at: opt_time(13)?,
        last_run_at: opt_time(14)?,
        last_success_at: opt_time(15)?,
        started_at: opt_time(16)?,
        ended_at: opt_time(17)?,
    })
}

pub(crate) fn count_changes(
    db: &Db,
    account: &AccountId,
    object: DataObject,
    after: i64,
    up_to: i64,
    since: Option<Timestamp>,
) -> Result<u64> {
    let n: i64 = match object {
        DataObject::Events => db
            .prepare_cached(
                "SELECT count(*) FROM events WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3 AND time >= ?4",
            )?
            .query_row(params![account.as_str(), after, up_to, since.map_or(i64::MIN, |t| t.timestamp())], |r| {
                r.get(0)
            })?,
        DataObject::Profiles => db
            .prepare_cached("SELECT count(*) FROM profiles WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3")?
            .query_row(params![account.as_str(), after, up_to], |r| r.get(0))?,
        DataObject::Metrics => db
            .prepare_cached("SELECT count(*) FROM metrics WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3")?
            .query_row(params![account.as_str(), after, up_to], |r| r.get(0))?,
    };
    Ok(n as u64)
}

pub(crate) fn first_change_after(
    db: &Db,
    account: &AccountId,
    object: DataObject,
    after: i64,
) -> Result<Option<Timestamp>> {
    let sql = match object {
        DataObject::Events => "SELECT accepted_at FROM events WHERE account_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 1",
        DataObject::Profiles => {
            "SELECT changed_at FROM profiles WHERE account_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 1"
        }
        DataObject::Metrics => "SELECT changed_at FROM metrics WHERE account_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 1",
    };
    Ok(db
        .prepare_cached(sql)?
        .query_row(params![account.as_str(), after], |r| r.get::<_, i64>(0))
        .optional()?
        .map(from_micros))
}

pub(crate) fn set_status(
    ctx: &WriteCtx<'_>,
    account: &AccountId,
    id: &str,
    status: SyncStatus,
    next_run_at: Option<Timestamp>,
    reset_attempts: bool,
) -> Result<()> {
    let n = ctx
        .conn
        .prepare_cached(
            "UPDATE syncs SET status = ?3, next_run_at = ?4, attempt = CASE WHEN ?5 THEN 0 ELSE attempt END \
             WHERE account_id = ?1 AND id = ?2",
        )?
        .execute(params![account.as_str(), id, status.name(), next_run_at.map(micros), reset_attempts])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("sync {id}")));
    }
    Ok(())
}
