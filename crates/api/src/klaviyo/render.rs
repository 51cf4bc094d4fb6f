//! JSON:API response documents for profiles, events, metrics and bulk-import jobs, in the
//! shapes the official SDK validates (tests/sdk/SDK_SHAPES.md).

use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use wharf_model::query::Cursor;
use wharf_model::{ImportError, ImportJob, Metric, Profile, Timestamp};
use wharf_store::EventWithMetric;

use super::query::Fields;

/// `scheme://host` of this request, for absolute links.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    format!("{scheme}://{host}")
}

fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map(|t| Value::String(time(t))).unwrap_or(Value::Null)
}

/// Keeps only the requested attributes; `a.b` keeps one key of an object attribute.
fn sparse(attrs: Map<String, Value>, wanted: Option<&Vec<String>>) -> Map<String, Value> {
    let Some(wanted) = wanted else { return attrs };
    let mut out = Map::new();
    for (k, v) in attrs {
        if wanted.iter().any(|w| w == &k) {
            out.insert(k, v);
        } else {
            let prefix = format!("{k}.");
            let subkeys: Vec<&str> = wanted.iter().filter_map(|w| w.strip_prefix(&prefix)).collect();
            if let (false, Value::Object(m)) = (subkeys.is_empty(), &v) {
                let sub: Map<String, Value> = m
                    .iter()
                    .filter(|(sk, _)| subkeys.contains(&sk.as_str()))
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect();
                out.insert(k, Value::Object(sub));
            }
        }
    }
    out
}

fn relationship(base: &str, path: &str, name: &str, data: Option<Value>) -> Value {
    let mut r = json!({"links": {"self": format!("{base}{path}/relationships/{name}"), "related": format!("{base}{path}/{name}")}});
    if let Some(d) = data {
        r["data"] = d;
    }
    r
}

pub fn profile(p: &Profile, base: &str, fields: &Fields) -> Value {
    let path = format!("/api/profiles/{}", p.id);
    let loc = &p.location;
    let attrs = json!({
        "email": p.email, "phone_number": p.phone_number, "external_id": p.external_id,
        "first_name": p.first_name, "last_name": p.last_name, "organization": p.organization,
        "locale": p.locale, "title": p.title, "image": p.image,
        "created": time(p.created), "updated": time(p.updated), "last_event_date": opt_time(p.last_event_date),
        "location": {
            "address1": loc.address1, "address2": loc.address2, "city": loc.city, "country": loc.country,
            "latitude": loc.latitude, "longitude": loc.longitude, "region": loc.region, "zip": loc.zip,
            "timezone": loc.timezone, "ip": loc.ip,
        },
        "properties": p.properties,
    });
    let Value::Object(attrs) = attrs else { unreachable!("json! object") };
    json!({
        "type": "profile",
        "id": p.id,
        "attributes": sparse(attrs, fields.get("profile")),
        "relationships": {
            "lists": relationship(base, &path, "lists", None),
            "segments": relationship(base, &path, "segments", None),
        },
        "links": {"self": format!("{base}{path}")},
    })
}

pub fn event(e: &EventWithMetric, base: &str, fields: &Fields) -> Value {
    let ev = &e.event;
    let path = format!("/api/events/{}", ev.id);
    let attrs = json!({
        "timestamp": ev.time.timestamp(),
        "datetime": time(ev.time),
        "event_properties": ev.event_properties(),
        "uuid": wharf_model::id::ulid_as_uuid(ev.id.as_str()),
    });
    let Value::Object(attrs) = attrs else { unreachable!("json! object") };
    json!({
        "type": "event",
        "id": ev.id,
        "attributes": sparse(attrs, fields.get("event")),
        "relationships": {
            "profile": relationship(base, &path, "profile", Some(json!({"type": "profile", "id": ev.profile_id}))),
            "metric": relationship(base, &path, "metric", Some(json!({"type": "metric", "id": ev.metric_id}))),
        },
        "links": {"self": format!("{base}{path}")},
    })
}

/// A short stable id for an integration, derived from its name (FNV-1a).
fn integration_id(name: &str) -> String {
    let h = name
        .to_ascii_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{:06x}", h & 0xFF_FFFF)
}

pub fn metric(m: &Metric, base: &str, fields: &Fields) -> Value {
    let attrs = json!({
        "name": m.name,
        "created": time(m.created),
        "updated": time(m.updated),
        "integration": {
            "object": "integration",
            "id": integration_id(&m.integration.name),
            "name": m.integration.name,
            "category": m.integration.category,
        },
    });
    let Value::Object(attrs) = attrs else { unreachable!("json! object") };
    json!({
        "type": "metric",
        "id": m.id,
        "attributes": sparse(attrs, fields.get("metric")),
        "links": {"self": format!("{base}/api/metrics/{}", m.id)},
    })
}

pub fn import_job(j: &ImportJob, base: &str, fields: &Fields) -> Value {
    let path = format!("/api/profile-bulk-import-jobs/{}", j.id);
    let attrs = json!({
        "status": j.status.as_str(),
        "created_at": time(j.created),
        "total_count": j.total_count,
        "completed_count": j.completed_count,
        "failed_count": j.failed_count,
        "started_at": opt_time(j.started),
        "completed_at": opt_time(j.completed),
        "expires_at": opt_time(j.expires),
    });
    let Value::Object(attrs) = attrs else { unreachable!("json! object") };
    json!({
        "type": "profile-bulk-import-job",
        "id": j.id,
        "attributes": sparse(attrs, fields.get("profile-bulk-import-job")),
        "relationships": {
            "lists": relationship(base, &path, "lists", Some(json!([]))),
            "profiles": relationship(base, &path, "profiles", None),
            "import-errors": {"links": {"related": format!("{base}{path}/import-errors")}},
        },
        "links": {"self": format!("{base}{path}")},
    })
}

pub fn import_error(job: &str, e: &ImportError, fields: &Fields) -> Value {
    let attrs = json!({
        "code": e.code,
        "title": e.title,
        "detail": e.detail,
        "source": {"pointer": e.pointer},
        "original_payload": if e.original_payload.is_object() { e.original_payload.clone() } else { Value::Null },
    });
    let Value::Object(attrs) = attrs else { unreachable!("json! object") };
    json!({"type": "import-error", "id": format!("{job}-{}", e.index), "attributes": sparse(attrs, fields.get("import-error"))})
}

/// A single-resource document.
pub fn document(data: Value) -> Value {
    let self_link = data["links"]["self"].clone();
    if self_link.is_null() { json!({"data": data}) } else { json!({"data": data, "links": {"self": self_link}}) }
}

/// A collection document with `links.self` and, when there is more, `links.next`.
pub fn collection(items: Vec<Value>, base: &str, path: &str, raw_query: Option<&str>, next: Option<Cursor>) -> Value {
    let self_link = match raw_query {
        Some(q) if !q.is_empty() => format!("{base}{path}?{q}"),
        _ => format!("{base}{path}"),
    };
    let next_link = next.map(|c| {
        let kept: Vec<&str> = raw_query
            .unwrap_or_default()
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("page%5Bcursor%5D=") && !kv.starts_with("page[cursor]="))
            .collect();
        let mut q = kept.join("&");
        if !q.is_empty() {
            q.push('&');
        }
        format!("{base}{path}?{q}page%5Bcursor%5D={}", c.encode())
    });
    json!({"data": items, "links": {"self": self_link, "next": next_link, "prev": null}})
}
