//! Event documents: `POST /api/events` and `POST /api/event-bulk-create-jobs`.

use serde_json::Value;
use wharf_model::{Integration, NewEvent, ProfileWrite, Timestamp, limits};

use crate::fields::to_second;
use crate::json::{At, expect_type};
use crate::profile::{IdRule, NullMeans, parse_profile_resource};
use crate::{InputError, parse_datetime};

const EVENT_ATTRIBUTES: &[&str] =
    &["properties", "time", "value", "value_currency", "unique_id", "backfill", "metric", "profile"];

/// Parses a create-event document. `now` bounds the event time.
///
/// Takes the document by value so the event's properties move out of it instead of being
/// copied.
pub fn parse_create_event(mut doc: Value, now: Timestamp) -> Result<NewEvent, InputError> {
    let mut event = validate_create_event(&doc, now)?;
    event.properties = take_object(&mut doc["data"]["attributes"]["properties"]);
    Ok(event)
}

fn take_object(v: &mut Value) -> serde_json::Map<String, Value> {
    match v.take() {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn validate_create_event(doc: &Value, now: Timestamp) -> Result<NewEvent, InputError> {
    let root = At::root(doc);
    root.only_keys(&["data"])?;
    let data = root.required("data")?;
    data.only_keys(&["type", "attributes"])?;
    expect_type(&data, "event")?;
    let attrs = data.required("attributes")?;
    let profile_at = attrs.required("profile")?;
    let profile = parse_event_profile(&profile_at)?;
    parse_event_attributes(&attrs, profile, now, true)
}

/// Parses a bulk-create document: profiles each with their events, at most 1,000 events in
/// all. Either every event is valid or the whole request is refused.
pub fn parse_bulk_create_events(mut doc: Value, now: Timestamp) -> Result<Vec<NewEvent>, InputError> {
    let mut events = validate_bulk_create_events(&doc, now)?;
    let mut next = events.iter_mut();
    // Validation succeeded, so every path below exists; move each event's properties out.
    if let Some(groups) = doc["data"]["attributes"]["events-bulk-create"]["data"].as_array_mut() {
        for group in groups {
            if let Some(list) = group["attributes"]["events"]["data"].as_array_mut() {
                for e in list {
                    if let Some(ev) = next.next() {
                        ev.properties = take_object(&mut e["attributes"]["properties"]);
                    }
                }
            }
        }
    }
    Ok(events)
}

fn validate_bulk_create_events(doc: &Value, now: Timestamp) -> Result<Vec<NewEvent>, InputError> {
    let root = At::root(doc);
    root.only_keys(&["data"])?;
    let data = root.required("data")?;
    data.only_keys(&["type", "attributes"])?;
    expect_type(&data, "event-bulk-create-job")?;
    let attrs = data.required("attributes")?;
    attrs.only_keys(&["events-bulk-create"])?;
    let groups_doc = attrs.required("events-bulk-create")?;
    groups_doc.only_keys(&["data"])?;
    let groups = groups_doc.required("data")?;
    let mut out = Vec::new();
    for group in groups.items()? {
        group.only_keys(&["type", "attributes"])?;
        expect_type(&group, "event-bulk-create")?;
        let gattrs = group.required("attributes")?;
        // The official SDK sends `backfill` on each group too.
        gattrs.only_keys(&["profile", "events", "backfill"])?;
        let profile = parse_event_profile(&gattrs.required("profile")?)?;
        let events_doc = gattrs.required("events")?;
        events_doc.only_keys(&["data"])?;
        let events = events_doc.required("data")?;
        for event in events.items()? {
            if out.len() == limits::MAX_BULK_EVENTS {
                return Err(event.invalid(format!("more than {} events in one request", limits::MAX_BULK_EVENTS)));
            }
            event.only_keys(&["type", "attributes"])?;
            expect_type(&event, "event")?;
            let eattrs = event.required("attributes")?;
            out.push(parse_event_attributes(&eattrs, profile.clone(), now, false)?);
        }
    }
    if out.is_empty() {
        return Err(groups.invalid("at least one event is required"));
    }
    Ok(out)
}

fn parse_event_profile(profile_at: &At<'_>) -> Result<ProfileWrite, InputError> {
    profile_at.only_keys(&["data"])?;
    let res = profile_at.required("data")?;
    let w = parse_profile_resource(&res, NullMeans::Clear, IdRule::Optional)?;
    if w.identifiers.is_empty() {
        return Err(InputError::required(
            format!("{}/attributes", res.pointer()),
            "the event's profile needs an identifier: id, email, phone_number or external_id",
        ));
    }
    Ok(w)
}

fn parse_event_attributes(
    attrs: &At<'_>,
    profile: ProfileWrite,
    now: Timestamp,
    single: bool,
) -> Result<NewEvent, InputError> {
    if single {
        attrs.only_keys(EVENT_ATTRIBUTES)?;
    } else {
        // In bulk the profile is given once per group, not per event.
        attrs.only_keys(&EVENT_ATTRIBUTES[..EVENT_ATTRIBUTES.len() - 1])?;
    }
    let props_at = attrs.required("properties")?;
    let count = props_at.object()?.len();
    if count > limits::MAX_EVENT_PROPERTIES {
        return Err(props_at.invalid(format!("{count} properties; at most {} allowed", limits::MAX_EVENT_PROPERTIES)));
    }
    props_at.check_free_form(1)?;

    let time = match attrs.optional("time")? {
        Some(at) if !at.value.is_null() => {
            let t = parse_datetime(at.string()?).map_err(|e| at.invalid(e))?;
            if t.timestamp() < limits::MIN_EVENT_EPOCH {
                return Err(at.invalid("event time must be in the year 2000 or later"));
            }
            if t > now + limits::MAX_EVENT_FUTURE {
                return Err(at.invalid("event time must be at most one year in the future"));
            }
            Some(to_second(t))
        }
        _ => None,
    };
    let value = match attrs.optional("value")? {
        Some(at) if !at.value.is_null() => Some(at.number()?),
        _ => None,
    };
    let value_currency = match attrs.optional("value_currency")? {
        Some(at) if !at.value.is_null() => {
            let s = at.string()?;
            if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(at.invalid(format!("'{s}' is not an ISO 4217 currency code, e.g. USD")));
            }
            Some(s.to_ascii_uppercase())
        }
        _ => None,
    };
    let unique_id = match attrs.optional("unique_id")? {
        Some(at) if !at.value.is_null() => {
            let s = at.string()?;
            let n = s.chars().count();
            if !limits::UNIQUE_ID_CHARS.contains(&n) {
                return Err(at.invalid(format!("unique_id must be 1 to 255 characters, found {n}")));
            }
            Some(s.to_string())
        }
        _ => None,
    };
    if let Some(at) = attrs.optional("backfill")?
        && !at.value.is_null()
        && !at.value.is_boolean()
    {
        return Err(at.invalid("must be a boolean"));
    }
    let metric_doc = attrs.required("metric")?;
    metric_doc.only_keys(&["data"])?;
    let metric = metric_doc.required("data")?;
    metric.only_keys(&["type", "attributes"])?;
    expect_type(&metric, "metric")?;
    let mattrs = metric.required("attributes")?;
    mattrs.only_keys(&["name", "service"])?;
    let name_at = mattrs.required("name")?;
    let name = name_at.string()?.trim();
    if name.is_empty() || name.chars().count() > limits::MAX_METRIC_NAME_CHARS {
        return Err(name_at.invalid(format!("metric name must be 1 to {} characters", limits::MAX_METRIC_NAME_CHARS)));
    }
    let integration = match mattrs.optional("service")? {
        Some(at) if !at.value.is_null() => {
            let s = at.string()?.trim();
            if s.is_empty() || s.len() > 64 {
                return Err(at.invalid("service must be 1 to 64 characters"));
            }
            Integration::from_service(s)
        }
        _ => Integration::api(),
    };
    Ok(NewEvent {
        profile,
        metric_name: name.to_string(),
        integration,
        time,
        value,
        value_currency,
        unique_id,
        // Filled by the caller, which owns the document.
        properties: serde_json::Map::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap()
    }

    /// The body the official SDK 25.0.0 sends, captured on the wire.
    fn sdk_body() -> Value {
        json!({"data": {"type": "event", "attributes": {"properties": {"PasswordResetLink": "https://www.example.com/reset/1"},
            "time": "2022-11-08T00:00:00+00:00", "value": 9.99, "unique_id": "4b5d3f33-2e21-4c1c-b392-2dae2a74a2ed",
            "backfill": false, "metric": {"data": {"type": "metric", "attributes": {"name": "Reset Password"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "sarah.mason@klaviyo-demo.com"}}}}}})
    }

    #[test]
    fn sdk_event_parses() {
        let e = parse_create_event(sdk_body(), now()).unwrap();
        assert_eq!(e.metric_name, "Reset Password");
        assert_eq!(e.integration, Integration::api());
        assert_eq!(e.value, Some(9.99));
        assert_eq!(e.time.unwrap().timestamp(), 1_667_865_600);
        assert_eq!(e.profile.identifiers.email.as_deref(), Some("sarah.mason@klaviyo-demo.com"));
    }

    fn with(path: &[&str], v: Value) -> Value {
        let mut doc = sdk_body();
        let mut cur = &mut doc;
        for p in &path[..path.len() - 1] {
            cur = cur.get_mut(*p).unwrap();
        }
        cur.as_object_mut().unwrap().insert(path[path.len() - 1].to_string(), v);
        doc
    }

    #[test]
    fn each_limit_names_its_field() {
        let a = ["data", "attributes"];
        let cases: Vec<(Value, &str)> = vec![
            (with(&[a[0], a[1], "time"], json!("1999-12-31T23:59:59Z")), "/data/attributes/time"),
            (with(&[a[0], a[1], "time"], json!("2028-01-01T00:00:00Z")), "/data/attributes/time"),
            (with(&[a[0], a[1], "time"], json!("soon")), "/data/attributes/time"),
            (with(&[a[0], a[1], "unique_id"], json!("")), "/data/attributes/unique_id"),
            (with(&[a[0], a[1], "unique_id"], json!("x".repeat(256))), "/data/attributes/unique_id"),
            (with(&[a[0], a[1], "value"], json!("9.99")), "/data/attributes/value"),
            (with(&[a[0], a[1], "properties"], json!([1])), "/data/attributes/properties"),
            (
                with(&[a[0], a[1], "properties"], json!({"s": "x".repeat(100 * 1024 + 1)})),
                "/data/attributes/properties/s",
            ),
            (with(&[a[0], a[1], "properties"], json!({"a": vec![0; 4001]})), "/data/attributes/properties/a"),
            (
                with(&[a[0], a[1], "profile"], json!({"data": {"type": "profile", "attributes": {}}})),
                "/data/attributes/profile/data/attributes",
            ),
        ];
        for (doc, pointer) in cases {
            let e = parse_create_event(doc, now()).expect_err(pointer);
            assert_eq!(e.pointer, pointer, "{}", e.detail);
        }
        let many: serde_json::Map<String, Value> = (0..401).map(|i| (format!("k{i}"), json!(i))).collect();
        let e = parse_create_event(with(&[a[0], a[1], "properties"], Value::Object(many)), now()).unwrap_err();
        assert_eq!(e.pointer, "/data/attributes/properties");
    }

    #[test]
    fn nesting_limit_is_ten_levels() {
        fn nest(levels: usize) -> Value {
            (1..levels).fold(json!({"leaf": 1}), |inner, _| json!({ "n": inner }))
        }
        assert!(parse_create_event(with(&["data", "attributes", "properties"], nest(10)), now()).is_ok());
        assert!(parse_create_event(with(&["data", "attributes", "properties"], nest(11)), now()).is_err());
    }

    #[test]
    fn bulk_over_one_thousand_is_refused() {
        let ev = json!({"type": "event", "attributes": {"properties": {}, "metric": {"data": {"type": "metric", "attributes": {"name": "M"}}}}});
        let group = |n: usize| {
            json!({"type": "event-bulk-create", "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}},
            "events": {"data": vec![ev.clone(); n]}}})
        };
        let doc = |groups: Vec<Value>| json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": groups}}}});
        assert_eq!(parse_bulk_create_events(doc(vec![group(500), group(500)]), now()).unwrap().len(), 1000);
        let e = parse_bulk_create_events(doc(vec![group(500), group(501)]), now()).unwrap_err();
        assert_eq!(e.pointer, "/data/attributes/events-bulk-create/data/1/attributes/events/data/500");
    }
}
