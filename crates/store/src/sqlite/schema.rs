//! Schema migrations, applied in order at open. `PRAGMA user_version` records the last one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: accounts, keys, profiles, metrics, events, bulk-import jobs.
    r#"
    CREATE TABLE accounts (
        id        TEXT PRIMARY KEY,
        name      TEXT NOT NULL,
        created   INTEGER NOT NULL,
        -- Last position handed out in this account's change sequence.
        last_seq  INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE api_keys (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL REFERENCES accounts(id),
        label       TEXT NOT NULL,
        prefix      TEXT NOT NULL,
        secret_hash BLOB NOT NULL UNIQUE,
        created     INTEGER NOT NULL,
        revoked     INTEGER
    );
    CREATE INDEX api_keys_account ON api_keys(account_id);
    CREATE TABLE profiles (
        account_id      TEXT NOT NULL,
        id              TEXT NOT NULL,
        email           TEXT,
        phone_number    TEXT,
        external_id     TEXT,
        first_name      TEXT,
        last_name       TEXT,
        organization    TEXT,
        title           TEXT,
        image           TEXT,
        locale          TEXT,
        location        TEXT NOT NULL,
        properties      TEXT NOT NULL,
        created         INTEGER NOT NULL,
        updated         INTEGER NOT NULL,
        last_event_date INTEGER,
        seq             INTEGER NOT NULL,
        changed_at      INTEGER NOT NULL,
        PRIMARY KEY (account_id, id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX profiles_email ON profiles(account_id, email) WHERE email IS NOT NULL;
    CREATE UNIQUE INDEX profiles_phone ON profiles(account_id, phone_number) WHERE phone_number IS NOT NULL;
    CREATE UNIQUE INDEX profiles_external ON profiles(account_id, external_id) WHERE external_id IS NOT NULL;
    CREATE INDEX profiles_seq ON profiles(account_id, seq);
    CREATE INDEX profiles_updated ON profiles(account_id, updated, id);
    CREATE TABLE metrics (
        account_id           TEXT NOT NULL,
        id                   TEXT NOT NULL,
        name                 TEXT NOT NULL,
        integration_name     TEXT NOT NULL,
        integration_category TEXT NOT NULL,
        created              INTEGER NOT NULL,
        updated              INTEGER NOT NULL,
        seq                  INTEGER NOT NULL,
        changed_at           INTEGER NOT NULL,
        PRIMARY KEY (account_id, id),
        UNIQUE (account_id, name, integration_name)
    ) WITHOUT ROWID;
    CREATE INDEX metrics_seq ON metrics(account_id, seq);
    CREATE TABLE events (
        account_id     TEXT NOT NULL,
        id             TEXT NOT NULL,
        profile_id     TEXT NOT NULL,
        metric_id      TEXT NOT NULL,
        time           INTEGER NOT NULL,
        value          REAL,
        value_currency TEXT,
        unique_id      TEXT,
        -- 'u:' || unique_id, or 't:' || time: Klaviyo's de-duplication key.
        dedup_key      TEXT NOT NULL,
        properties     TEXT NOT NULL,
        seq            INTEGER NOT NULL,
        accepted_at    INTEGER NOT NULL,
        -- Clustered by change position: the export reads windows of it as range scans.
        PRIMARY KEY (account_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX events_id ON events(account_id, id);
    CREATE UNIQUE INDEX events_dedup ON events(account_id, profile_id, metric_id, dedup_key);
    CREATE INDEX events_time ON events(account_id, time, id);
    CREATE TABLE import_jobs (
        account_id      TEXT NOT NULL,
        id              TEXT NOT NULL,
        status          TEXT NOT NULL,
        total_count     INTEGER NOT NULL,
        completed_count INTEGER NOT NULL,
        failed_count    INTEGER NOT NULL,
        created         INTEGER NOT NULL,
        started         INTEGER,
        completed       INTEGER,
        expires         INTEGER,
        PRIMARY KEY (account_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE import_errors (
        account_id       TEXT NOT NULL,
        job_id           TEXT NOT NULL,
        idx              INTEGER NOT NULL,
        code             TEXT NOT NULL,
        title            TEXT NOT NULL,
        detail           TEXT NOT NULL,
        pointer          TEXT NOT NULL,
        original_payload TEXT NOT NULL,
        PRIMARY KEY (account_id, job_id, idx)
    ) WITHOUT ROWID;
    "#,
    // 2: warehouse connection, syncs, their runs and errors.
    r#"
    CREATE TABLE connections (
        account_id         TEXT PRIMARY KEY REFERENCES accounts(id),
        destination_type   TEXT NOT NULL,
        sealed_destination BLOB NOT NULL,
        options            TEXT NOT NULL,
        state              TEXT NOT NULL,
        last_test          TEXT,
        created            INTEGER NOT NULL,
        updated            INTEGER NOT NULL
    );
    CREATE TABLE syncs (
        account_id      TEXT NOT NULL,
        id              TEXT NOT NULL,
        kind            TEXT NOT NULL,
        object          TEXT NOT NULL,
        status          TEXT NOT NULL,
        cursor          INTEGER NOT NULL,
        target          INTEGER,
        since           INTEGER,
        pending_after   INTEGER,
        pending_up_to   INTEGER,
        pending_part    INTEGER,
        rows_done       INTEGER NOT NULL,
        rows_total      INTEGER NOT NULL,
        attempt         INTEGER NOT NULL,
        next_run_at     INTEGER,
        last_run_at     INTEGER,
        last_success_at INTEGER,
        started_at      INTEGER,
        ended_at        INTEGER,
        PRIMARY KEY (account_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE sync_runs (
        account_id TEXT NOT NULL,
        sync_id    TEXT NOT NULL,
        started    INTEGER NOT NULL,
        run        TEXT NOT NULL,
        after      INTEGER NOT NULL,
        up_to      INTEGER NOT NULL,
        rows       INTEGER NOT NULL,
        bytes      INTEGER NOT NULL,
        finished   INTEGER NOT NULL,
        error_id   TEXT
    );
    CREATE INDEX sync_runs_by_sync ON sync_runs(account_id, sync_id, started);
    CREATE TABLE sync_errors (
        account_id       TEXT NOT NULL,
        id               TEXT NOT NULL,
        sync_id          TEXT NOT NULL,
        kind             TEXT NOT NULL,
        summary          TEXT NOT NULL,
        code             TEXT NOT NULL,
        external_message TEXT NOT NULL,
        at               INTEGER NOT NULL,
        PRIMARY KEY (account_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX sync_errors_at ON sync_errors(account_id, at);
    "#,
];

/// Brings the database to the newest schema, one transaction per migration.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Settings every connection gets. `synchronous=FULL` in WAL mode syncs the log at each
/// commit: that is what makes a 2xx durable.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -64_000)?;
    // Savepoints journal the pages they touch; keep that sub-journal in memory, not a temp file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The writer leaves checkpoints to the background checkpointer (see `SqliteStore::open`), so
/// commits never pay for copying the log back into the database.
///
/// The writer's page cache stays small: SQLite scans the whole cache at the end of every
/// transaction, which with a large cache cost more than the reads it saved (measured).
pub fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "cache_size", -8_000)?;
    Ok(())
}
