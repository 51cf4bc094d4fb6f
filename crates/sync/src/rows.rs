//! Store items → warehouse rows (product.md §4 columns).

use serde_json::Value;
use wharf_model::warehouse::{EventRow, MetricRow, ProfileRow};
use wharf_model::{Metric, Profile, Timestamp};
use wharf_store::EventWithMetric;

pub fn event(e: &EventWithMetric, synced_at: Timestamp) -> EventRow {
    let ev = &e.event;
    EventRow {
        id: ev.id.0.clone(),
        profile_id: ev.profile_id.0.clone(),
        metric_id: ev.metric_id.0.clone(),
        metric_name: e.metric.name.clone(),
        integration_name: e.metric.integration.name.clone(),
        datetime: ev.time,
        timestamp: ev.time.timestamp(),
        uuid: wharf_model::id::ulid_as_uuid(ev.id.as_str()),
        value: ev.value,
        value_currency: ev.value_currency.clone(),
        unique_id: ev.unique_id.clone(),
        event_properties: Value::Object(ev.event_properties()).to_string(),
        synced_at,
    }
}

pub fn profile(p: &Profile, synced_at: Timestamp) -> ProfileRow {
    ProfileRow {
        id: p.id.0.clone(),
        email: p.email.clone(),
        phone_number: p.phone_number.clone(),
        external_id: p.external_id.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        organization: p.organization.clone(),
        title: p.title.clone(),
        image: p.image.clone(),
        locale: p.locale.clone(),
        location: serde_json::to_string(&p.location).unwrap_or_else(|_| "{}".into()),
        properties: Value::Object(p.properties.clone()).to_string(),
        created: p.created,
        updated: p.updated,
        last_event_date: p.last_event_date,
        synced_at,
    }
}

pub fn metric(m: &Metric, synced_at: Timestamp) -> MetricRow {
    MetricRow {
        id: m.id.0.clone(),
        name: m.name.clone(),
        integration_name: m.integration.name.clone(),
        integration_category: m.integration.category.clone(),
        created: m.created,
        updated: m.updated,
        synced_at,
    }
}
