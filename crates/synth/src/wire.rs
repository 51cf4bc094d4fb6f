//! Renders synthetic data as the Klaviyo JSON:API request bodies clients send, for tests
//! and benchmarks that go through HTTP.

use serde_json::{Value, json};
use wharf_model::{NewEvent, Patch, ProfileWrite};

fn patch_str(p: &Patch<String>) -> Option<Value> {
    p.set_value().map(|v| json!(v))
}

/// `{"type": "profile", "attributes": {...}}` for a profile write (set fields only).
pub fn profile_resource(p: &ProfileWrite) -> Value {
    let c = &p.changes;
    let mut attrs = serde_json::Map::new();
    for (k, v) in [
        ("email", &c.email),
        ("phone_number", &c.phone_number),
        ("external_id", &c.external_id),
        ("first_name", &c.first_name),
        ("last_name", &c.last_name),
        ("locale", &c.locale),
    ] {
        if let Some(v) = patch_str(v) {
            attrs.insert(k.into(), v);
        }
    }
    let l = &c.location;
    let mut loc = serde_json::Map::new();
    for (k, v) in [
        ("address1", &l.address1),
        ("city", &l.city),
        ("region", &l.region),
        ("country", &l.country),
        ("zip", &l.zip),
        ("timezone", &l.timezone),
    ] {
        if let Some(v) = patch_str(v) {
            loc.insert(k.into(), v);
        }
    }
    if let Some(v) = l.latitude.set_value() {
        loc.insert("latitude".into(), json!(v));
    }
    if let Some(v) = l.longitude.set_value() {
        loc.insert("longitude".into(), json!(v));
    }
    if !loc.is_empty() {
        attrs.insert("location".into(), Value::Object(loc));
    }
    let props: serde_json::Map<String, Value> =
        c.properties.iter().filter_map(|(k, v)| v.set_value().map(|v| (k.clone(), v.clone()))).collect();
    if !props.is_empty() {
        attrs.insert("properties".into(), Value::Object(props));
    }
    json!({"type": "profile", "attributes": attrs})
}

fn event_attributes(e: &NewEvent) -> serde_json::Map<String, Value> {
    let mut a = serde_json::Map::new();
    a.insert("properties".into(), Value::Object(e.properties.clone()));
    if let Some(t) = e.time {
        a.insert("time".into(), json!(t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()));
    }
    if let Some(v) = e.value {
        a.insert("value".into(), json!(v));
    }
    if let Some(c) = &e.value_currency {
        a.insert("value_currency".into(), json!(c));
    }
    if let Some(u) = &e.unique_id {
        a.insert("unique_id".into(), json!(u));
    }
    let mut metric = json!({"name": e.metric_name});
    if e.integration.name != "API" {
        metric["service"] = json!(e.integration.name);
    }
    a.insert("metric".into(), json!({"data": {"type": "metric", "attributes": metric}}));
    a
}

/// A `POST /api/events` body.
pub fn create_event_body(e: &NewEvent) -> Value {
    let mut a = event_attributes(e);
    a.insert("profile".into(), json!({"data": profile_resource(&e.profile)}));
    json!({"data": {"type": "event", "attributes": a}})
}

/// A `POST /api/event-bulk-create-jobs` body; consecutive events of one profile share a group.
pub fn bulk_create_body(events: &[NewEvent]) -> Value {
    let mut groups: Vec<Value> = Vec::new();
    let mut current: Option<(&ProfileWrite, Vec<Value>)> = None;
    for e in events {
        match &mut current {
            Some((p, list)) if *p == &e.profile => {
                list.push(json!({"type": "event", "attributes": event_attributes(e)}))
            }
            _ => {
                if let Some((p, list)) = current.take() {
                    groups.push(group(p, list));
                }
                current = Some((&e.profile, vec![json!({"type": "event", "attributes": event_attributes(e)})]));
            }
        }
    }
    if let Some((p, list)) = current {
        groups.push(group(p, list));
    }
    json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": groups}}}})
}

fn group(p: &ProfileWrite, events: Vec<Value>) -> Value {
    json!({"type": "event-bulk-create", "attributes": {"profile": {"data": profile_resource(p)}, "events": {"data": events}}})
}

/// A `POST /api/profile-bulk-import-jobs` body.
pub fn bulk_import_body(profiles: &[ProfileWrite]) -> Value {
    let data: Vec<Value> = profiles.iter().map(profile_resource).collect();
    json!({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": data}}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the generator renders is what the ingest parser accepts, and means the same.
    #[test]
    fn rendered_bodies_parse_back_to_the_same_writes() {
        let end = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let shop = crate::generate(&crate::ShopSpec::new(3, 50, 300, end));
        for e in &shop.events {
            let parsed = wharf_ingest::parse_create_event(create_event_body(e), end).unwrap();
            assert_eq!(&parsed, e);
        }
        let bulk = wharf_ingest::parse_bulk_create_events(bulk_create_body(&shop.events[..200]), end).unwrap();
        assert_eq!(bulk.as_slice(), &shop.events[..200]);
        let profiles = wharf_ingest::parse_bulk_import_profiles(&bulk_import_body(&shop.profiles)).unwrap();
        assert_eq!(profiles.len(), shop.profiles.len());
        assert_eq!(profiles[0].as_ref().unwrap().identifiers, shop.profiles[0].identifiers);
    }
}
