//! Conversions between rows and model types.

use rusqlite::Row;
use serde_json::{Map, Value};
use wharf_model::warehouse::EventRow;
use wharf_model::{
    Event, EventId, ImportJob, ImportJobId, ImportJobStatus, Integration, Location, Metric, MetricId, Profile,
    ProfileId, Timestamp,
};

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(v: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_micros(v).unwrap_or_default()
}

pub(crate) fn from_secs(v: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(v, 0).unwrap_or_default()
}

pub(crate) fn json_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

pub(crate) const PROFILE_COLUMNS: &str = "id, email, phone_number, external_id, first_name, last_name, organization, \
     title, image, locale, location, properties, created, updated, last_event_date";

pub(crate) fn profile(r: &Row<'_>) -> rusqlite::Result<Profile> {
    let location: String = r.get(10)?;
    let properties: String = r.get(11)?;
    Ok(Profile {
        id: ProfileId(r.get(0)?),
        email: r.get(1)?,
        phone_number: r.get(2)?,
        external_id: r.get(3)?,
        first_name: r.get(4)?,
        last_name: r.get(5)?,
        organization: r.get(6)?,
        title: r.get(7)?,
        image: r.get(8)?,
        locale: r.get(9)?,
        location: serde_json::from_str::<Location>(&location).unwrap_or_default(),
        properties: json_object(&properties),
        created: from_micros(r.get(12)?),
        updated: from_micros(r.get(13)?),
        last_event_date: r.get::<_, Option<i64>>(14)?.map(from_secs),
    })
}

pub(crate) const METRIC_COLUMNS: &str = "id, name, integration_name, integration_category, created, updated";

pub(crate) fn metric(r: &Row<'_>) -> rusqlite::Result<Metric> {
    metric_at(r, 0)
}

fn metric_at(r: &Row<'_>, o: usize) -> rusqlite::Result<Metric> {
    Ok(Metric {
        id: MetricId(r.get(o)?),
        name: r.get(o + 1)?,
        integration: Integration { name: r.get(o + 2)?, category: r.get(o + 3)? },
        created: from_micros(r.get(o + 4)?),
        updated: from_micros(r.get(o + 5)?),
    })
}

/// Event columns followed by its metric's, for `events e JOIN metrics m`.
pub(crate) const EVENT_COLUMNS: &str = "e.id, e.profile_id, e.metric_id, e.time, e.value, e.value_currency, e.unique_id, \
     e.properties, m.id, m.name, m.integration_name, m.integration_category, m.created, m.updated";

pub(crate) fn event_with_metric(r: &Row<'_>) -> rusqlite::Result<crate::EventWithMetric> {
    let properties: String = r.get(7)?;
    Ok(crate::EventWithMetric {
        event: Event {
            id: EventId(r.get(0)?),
            profile_id: ProfileId(r.get(1)?),
            metric_id: MetricId(r.get(2)?),
            time: from_secs(r.get(3)?),
            value: r.get(4)?,
            value_currency: r.get(5)?,
            unique_id: r.get(6)?,
            properties: json_object(&properties),
        },
        metric: metric_at(r, 8)?,
    })
}

/// Event columns for a `klaviyo_event` row, for `events e JOIN metrics m`.
pub(crate) const EVENT_ROW_COLUMNS: &str = "e.id, e.profile_id, e.metric_id, m.name, m.integration_name, e.time, e.value, e.value_currency, e.unique_id, e.properties";

pub(crate) fn warehouse_event(r: &Row<'_>, synced_at: wharf_model::Timestamp) -> rusqlite::Result<EventRow> {
    let id: String = r.get(0)?;
    let time: i64 = r.get(5)?;
    let value: Option<f64> = r.get(6)?;
    let unique_id: Option<String> = r.get(8)?;
    let properties = r.get_ref(9)?.as_str().unwrap_or("{}");
    Ok(EventRow {
        uuid: wharf_model::id::ulid_as_uuid(&id),
        event_properties: Event::event_properties_text(properties, value, unique_id.as_deref()),
        id,
        profile_id: r.get(1)?,
        metric_id: r.get(2)?,
        metric_name: r.get(3)?,
        integration_name: r.get(4)?,
        datetime: from_secs(time),
        timestamp: time,
        value,
        value_currency: r.get(7)?,
        unique_id,
        synced_at,
    })
}

pub(crate) const JOB_COLUMNS: &str =
    "id, status, total_count, completed_count, failed_count, created, started, completed, expires";

pub(crate) fn import_job(r: &Row<'_>) -> rusqlite::Result<ImportJob> {
    let status: String = r.get(1)?;
    Ok(ImportJob {
        id: ImportJobId(r.get(0)?),
        status: ImportJobStatus::parse(&status).unwrap_or(ImportJobStatus::Complete),
        total_count: r.get::<_, i64>(2)? as u64,
        completed_count: r.get::<_, i64>(3)? as u64,
        failed_count: r.get::<_, i64>(4)? as u64,
        created: from_micros(r.get(5)?),
        started: r.get::<_, Option<i64>>(6)?.map(from_micros),
        completed: r.get::<_, Option<i64>>(7)?.map(from_micros),
        expires: r.get::<_, Option<i64>>(8)?.map(from_micros),
    })
}
