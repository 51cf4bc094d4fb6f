//! Write transactions: identity resolution against stored rows, profile upserts, metrics,
//! events and bulk imports. Everything here runs on the writer thread inside a job.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use wharf_model::identity::{self, IdentifierField, IdentityMatches, ResolveError};
use wharf_model::{
    AccountId, Event, ImportError, ImportJob, ImportJobId, ImportJobStatus, Integration, NewEvent, Patch, Profile,
    ProfileId, ProfileWrite,
};

use super::rows::{self, micros};
use super::writer::{WriteCtx, exec};
use crate::{BulkProfile, EventsOutcome, Result, StoreError};

/// What to do when an identifier of a write belongs to another profile.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    /// Refuse the write (profile endpoints: 409).
    Reject,
    /// Leave that identifier where it is and go on (events must not be lost over it).
    KeepExisting,
}

/// Which profiles a write may touch.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Must create: any matching identifier is a conflict.
    CreateOnly,
    /// Create or update by identity resolution.
    Upsert,
    /// Must update the profile named by `id`.
    UpdateOnly,
}

/// The profile a write landed on.
pub(crate) struct Written {
    pub id: ProfileId,
    pub created: bool,
    /// Seconds since the epoch of the profile's last event, as stored.
    pub last_event_date: Option<i64>,
}

struct Found {
    id: ProfileId,
    last_event_date: Option<i64>,
}

fn lookup(ctx: &WriteCtx<'_>, account: &AccountId, field: IdentifierField, value: &str) -> Result<Option<Found>> {
    let sql = match field {
        IdentifierField::Id => "SELECT id, last_event_date FROM profiles WHERE account_id = ?1 AND id = ?2",
        IdentifierField::Email => "SELECT id, last_event_date FROM profiles WHERE account_id = ?1 AND email = ?2",
        IdentifierField::PhoneNumber => {
            "SELECT id, last_event_date FROM profiles WHERE account_id = ?1 AND phone_number = ?2"
        }
        IdentifierField::ExternalId => {
            "SELECT id, last_event_date FROM profiles WHERE account_id = ?1 AND external_id = ?2"
        }
    };
    Ok(ctx
        .conn
        .prepare_cached(sql)?
        .query_row(params![account.as_str(), value], |r| {
            Ok(Found { id: ProfileId(r.get(0)?), last_event_date: r.get(1)? })
        })
        .optional()?)
}

pub(crate) fn load_profile(ctx: &WriteCtx<'_>, account: &AccountId, id: &ProfileId) -> Result<Profile> {
    let sql = format!("SELECT {} FROM profiles WHERE account_id = ?1 AND id = ?2", rows::PROFILE_COLUMNS);
    ctx.conn
        .prepare_cached(&sql)?
        .query_row(params![account.as_str(), id.as_str()], rows::profile)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("profile {id}")))
}

/// Creates or updates one profile, applying Wharf's identity rule (see `wharf_model::identity`).
pub(crate) fn write_profile(
    ctx: &mut WriteCtx<'_>,
    account: &AccountId,
    mut write: ProfileWrite,
    mode: Mode,
    on_conflict: OnConflict,
) -> Result<Written> {
    let ids = write.identifiers.clone();
    let mut found: Vec<(IdentifierField, Found)> = Vec::new();
    let mut matches = IdentityMatches::default();
    for (field, value, slot) in [
        (IdentifierField::Id, ids.id.as_ref().map(|i| i.0.clone()), &mut matches.id),
        (IdentifierField::Email, ids.email.clone(), &mut matches.email),
        (IdentifierField::PhoneNumber, ids.phone_number.clone(), &mut matches.phone_number),
        (IdentifierField::ExternalId, ids.external_id.clone(), &mut matches.external_id),
    ] {
        if let Some(v) = value {
            let hit = lookup(ctx, account, field, &v)?;
            *slot = Some(hit.as_ref().map(|f| f.id.clone()));
            if let Some(f) = hit {
                found.push((field, f));
            }
        }
    }
    let resolution = identity::resolve(ids.id.as_ref().map(|i| i.as_str()), &matches).map_err(|e| match e {
        ResolveError::UnknownId(id) => StoreError::UnknownProfile { position: 0, id },
        ResolveError::NoIdentifier => StoreError::NotFound("profile (no identifier given)".into()),
    })?;

    match (mode, &resolution.target) {
        (Mode::CreateOnly, Some(existing)) => {
            let field =
                found.iter().find(|(_, f)| &f.id == existing).map(|(fl, _)| *fl).unwrap_or(IdentifierField::Email);
            return Err(StoreError::Conflict { field, existing: existing.clone() });
        }
        (Mode::UpdateOnly, None) => return Err(StoreError::NotFound("profile".into())),
        _ => {}
    }

    // Identifier changes that would take a value another profile holds.
    let mut conflicts = resolution.conflicts.clone();
    if let Some(target) = &resolution.target {
        for (field, patch) in [
            (IdentifierField::Email, &write.changes.email),
            (IdentifierField::PhoneNumber, &write.changes.phone_number),
            (IdentifierField::ExternalId, &write.changes.external_id),
        ] {
            let Some(v) = patch.set_value() else { continue };
            if conflicts.iter().any(|(f, _)| *f == field)
                || found.iter().any(|(f, hit)| *f == field && &hit.id == target)
            {
                continue;
            }
            if let Some(owner) = lookup(ctx, account, field, v)?
                && &owner.id != target
            {
                conflicts.push((field, owner.id));
            }
        }
    }
    if let Some((field, existing)) = conflicts.first() {
        if on_conflict == OnConflict::Reject {
            return Err(StoreError::Conflict { field: *field, existing: existing.clone() });
        }
        for (field, _) in &conflicts {
            match field {
                IdentifierField::Email => write.changes.email = Patch::Absent,
                IdentifierField::PhoneNumber => write.changes.phone_number = Patch::Absent,
                IdentifierField::ExternalId => write.changes.external_id = Patch::Absent,
                IdentifierField::Id => {}
            }
        }
    }

    match resolution.target {
        Some(id) => {
            let last_event_date = found.iter().find(|(_, f)| f.id == id).and_then(|(_, f)| f.last_event_date);
            // Identifiers it was found by cannot change it; anything else needs a load.
            let restates_only = write.changes.only_sets_identifiers()
                && [
                    (IdentifierField::Email, &write.changes.email),
                    (IdentifierField::PhoneNumber, &write.changes.phone_number),
                    (IdentifierField::ExternalId, &write.changes.external_id),
                ]
                .iter()
                .all(|(field, patch)| patch.is_absent() || found.iter().any(|(f, hit)| f == field && hit.id == id));
            if !restates_only {
                let mut profile = load_profile(ctx, account, &id)?;
                if write.apply_to(&mut profile) {
                    profile.updated = ctx.now;
                    save_row(ctx, account, &profile)?;
                }
                return Ok(Written {
                    id,
                    created: false,
                    last_event_date: profile.last_event_date.map(|t| t.timestamp()),
                });
            }
            Ok(Written { id, created: false, last_event_date })
        }
        None => {
            let id = ProfileId(ctx.new_id());
            let mut profile = Profile {
                id: id.clone(),
                email: None,
                phone_number: None,
                external_id: None,
                first_name: None,
                last_name: None,
                organization: None,
                title: None,
                image: None,
                locale: None,
                location: Default::default(),
                properties: Default::default(),
                created: ctx.now,
                updated: ctx.now,
                last_event_date: None,
            };
            write.apply_to(&mut profile);
            save_row(ctx, account, &profile)?;
            Ok(Written { id, created: true, last_event_date: None })
        }
    }
}

/// Writes a profile row, new or changed, at the next change position. `created` is kept
/// from the first write.
fn save_row(ctx: &mut WriteCtx<'_>, account: &AccountId, p: &Profile) -> Result<()> {
    let seq = ctx.next_seq(account)?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO profiles (account_id, id, email, phone_number, external_id, first_name, last_name, \
             organization, title, image, locale, location, properties, created, updated, last_event_date, seq, changed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) \
             ON CONFLICT (account_id, id) DO UPDATE SET email = ?3, phone_number = ?4, external_id = ?5, \
             first_name = ?6, last_name = ?7, organization = ?8, title = ?9, image = ?10, locale = ?11, location = ?12, \
             properties = ?13, updated = ?15, last_event_date = ?16, seq = ?17, changed_at = ?18",
        )?
        .execute(params![
            account.as_str(),
            p.id.as_str(),
            p.email,
            p.phone_number,
            p.external_id,
            p.first_name,
            p.last_name,
            p.organization,
            p.title,
            p.image,
            p.locale,
            serde_json::to_string(&p.location).expect("location serializes"),
            serde_json::to_string(&p.properties).expect("properties serialize"),
            micros(p.created),
            micros(p.updated),
            p.last_event_date.map(|t| t.timestamp()),
            seq,
            micros(ctx.now),
        ])?;
    Ok(())
}

fn metric_id(ctx: &mut WriteCtx<'_>, account: &AccountId, name: &str, integration: &Integration) -> Result<String> {
    let key = (account.0.clone(), name.to_string(), integration.name.clone());
    if let Some(id) = ctx.caches().metrics.get(&key) {
        return Ok(id.clone());
    }
    let existing: Option<String> = ctx
        .conn
        .prepare_cached("SELECT id FROM metrics WHERE account_id = ?1 AND name = ?2 AND integration_name = ?3")?
        .query_row(params![account.as_str(), name, integration.name], |r| r.get(0))
        .optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id = ctx.new_id();
            let seq = ctx.next_seq(account)?;
            let now = micros(ctx.now);
            ctx.conn
                .prepare_cached(
                    "INSERT INTO metrics (account_id, id, name, integration_name, integration_category, created, updated, seq, changed_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?6)",
                )?
                .execute(params![account.as_str(), id, name, integration.name, integration.category, now, seq])?;
            id
        }
    };
    ctx.caches().metrics.insert(key, id.clone());
    Ok(id)
}

pub(crate) fn create_events(
    ctx: &mut WriteCtx<'_>,
    account: &AccountId,
    events: Vec<NewEvent>,
) -> Result<EventsOutcome> {
    let mut outcome = EventsOutcome::default();
    let accepted_at = micros(ctx.now);
    // Latest new event time per profile, with the profile's stored last_event_date: applied
    // once per profile at the end, not once per event.
    let mut latest: HashMap<ProfileId, (i64, Option<i64>)> = HashMap::new();
    for (position, ev) in events.into_iter().enumerate() {
        let written =
            write_profile(ctx, account, ev.profile, Mode::Upsert, OnConflict::KeepExisting).map_err(|e| match e {
                StoreError::UnknownProfile { id, .. } => StoreError::UnknownProfile { position, id },
                e => e,
            })?;
        let metric = metric_id(ctx, account, &ev.metric_name, &ev.integration)?;
        let time = ev.time.unwrap_or(ctx.now).timestamp();
        let dedup = Event::dedup_key(ev.unique_id.as_deref(), rows::from_secs(time));
        let id = ctx.new_id();
        let seq = ctx.next_seq(account)?;
        let inserted = ctx
            .conn
            .prepare_cached(
                "INSERT INTO events (account_id, id, profile_id, metric_id, time, value, value_currency, unique_id, \
                 dedup_key, properties, seq, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (account_id, profile_id, metric_id, dedup_key) DO NOTHING",
            )?
            .execute(params![
                account.as_str(),
                id,
                written.id.as_str(),
                metric,
                time,
                ev.value,
                ev.value_currency,
                ev.unique_id,
                dedup,
                Value::Object(ev.properties).to_string(),
                seq,
                accepted_at,
            ])?;
        if inserted == 0 {
            outcome.duplicates += 1;
            continue;
        }
        outcome.stored += 1;
        let entry = latest.entry(written.id).or_insert((time, written.last_event_date));
        entry.0 = entry.0.max(time);
    }
    for (profile, (time, stored)) in latest {
        if stored.is_none_or(|last| last < time) {
            let seq = ctx.next_seq(account)?;
            ctx.conn
                .prepare_cached(
                    "UPDATE profiles SET last_event_date = ?3, updated = ?4, seq = ?5, changed_at = ?4 \
                     WHERE account_id = ?1 AND id = ?2",
                )?
                .execute(params![account.as_str(), profile.as_str(), time, accepted_at, seq])?;
        }
    }
    Ok(outcome)
}

pub(crate) fn bulk_import(
    ctx: &mut WriteCtx<'_>,
    account: &AccountId,
    profiles: Vec<BulkProfile>,
) -> Result<ImportJob> {
    let started = ctx.now;
    let job_id = ImportJobId(ctx.new_id());
    let total = profiles.len() as u64;
    let mut errors: Vec<ImportError> = Vec::new();
    for (index, bp) in profiles.into_iter().enumerate() {
        let write = match bp.write {
            Ok(w) => w,
            Err(rejected) => {
                errors.push(ImportError {
                    index: index as u64,
                    code: rejected.code,
                    title: "Invalid input.".into(),
                    detail: rejected.detail,
                    pointer: rejected.pointer,
                    original_payload: bp.original,
                });
                continue;
            }
        };
        exec(ctx.conn, "SAVEPOINT profile")?;
        match write_profile(ctx, account, write, Mode::Upsert, OnConflict::Reject) {
            Ok(_) => exec(ctx.conn, "RELEASE profile")?,
            Err(e @ (StoreError::Conflict { .. } | StoreError::UnknownProfile { .. })) => {
                exec(ctx.conn, "ROLLBACK TO profile")?;
                exec(ctx.conn, "RELEASE profile")?;
                let (code, title, pointer) = match &e {
                    StoreError::Conflict { field, .. } => {
                        ("duplicate_profile", "Conflict.", format!("/data/attributes/{}", field.name()))
                    }
                    _ => ("not_found", "Not found.", "/data/id".to_string()),
                };
                errors.push(ImportError {
                    index: index as u64,
                    code: code.into(),
                    title: title.into(),
                    detail: e.to_string(),
                    pointer,
                    original_payload: bp.original,
                });
            }
            Err(e) => return Err(e),
        }
    }
    let now = micros(ctx.now);
    let job = ImportJob {
        id: job_id,
        status: ImportJobStatus::Complete,
        total_count: total,
        completed_count: total - errors.len() as u64,
        failed_count: errors.len() as u64,
        created: started,
        started: Some(started),
        completed: Some(ctx.now),
        expires: Some(ctx.now + chrono::TimeDelta::days(7)),
    };
    ctx.conn
        .prepare_cached(
            "INSERT INTO import_jobs (account_id, id, status, total_count, completed_count, failed_count, created, started, completed, expires) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
        )?
        .execute(params![
            account.as_str(),
            job.id.as_str(),
            job.status.as_str(),
            job.total_count as i64,
            job.completed_count as i64,
            job.failed_count as i64,
            micros(started),
            now,
            job.expires.map(micros),
        ])?;
    for e in &errors {
        ctx.conn
            .prepare_cached(
                "INSERT INTO import_errors (account_id, job_id, idx, code, title, detail, pointer, original_payload) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                account.as_str(),
                job.id.as_str(),
                e.index as i64,
                e.code,
                e.title,
                e.detail,
                e.pointer,
                e.original_payload.to_string()
            ])?;
    }
    Ok(job)
}
