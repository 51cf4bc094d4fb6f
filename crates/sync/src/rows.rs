//! Store items → warehouse rows (product.md §4 columns). Events come as rows from the store
//! already (`Store::changed_event_rows`).

use serde_json::Value;
use wharf_model::warehouse::{MetricRow, ProfileRow};
use wharf_model::{Metric, Profile, Timestamp};

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
