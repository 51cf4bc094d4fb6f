//! Metrics (event types) and events.

use serde_json::{Map, Value};

use crate::{EventId, MetricId, ProfileId, ProfileWrite, Timestamp};

/// The source that sent a metric's events. A metric is identified by (name, integration name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Integration {
    pub name: String,
    pub category: String,
}

impl Integration {
    /// Events created through the API without a `service`.
    pub fn api() -> Self {
        Integration { name: "API".into(), category: "API".into() }
    }

    /// An integration named by a create-event request's `metric.service`.
    pub fn from_service(service: &str) -> Self {
        if service.eq_ignore_ascii_case("api") {
            return Self::api();
        }
        Integration { name: service.to_string(), category: "Custom".into() }
    }

    /// Events imported from CSV files over SFTP.
    pub fn sftp() -> Self {
        Integration { name: "SFTP".into(), category: "Import".into() }
    }
}

/// An event type.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub id: MetricId,
    pub name: String,
    pub integration: Integration,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub profile_id: ProfileId,
    pub metric_id: MetricId,
    /// Event time, truncated to the second.
    pub time: Timestamp,
    pub value: Option<f64>,
    pub value_currency: Option<String>,
    pub unique_id: Option<String>,
    pub properties: Map<String, Value>,
}

impl Event {
    /// The properties as Klaviyo shows them on read: the request's properties plus
    /// `$value` and `$event_id` when the event has them.
    pub fn event_properties(&self) -> Map<String, Value> {
        let mut props = self.properties.clone();
        if let Some(v) = self.value
            && let Some(n) = serde_json::Number::from_f64(v)
        {
            props.insert("$value".into(), Value::Number(n));
        }
        if let Some(u) = &self.unique_id {
            props.insert("$event_id".into(), Value::String(u.clone()));
        }
        props
    }

    /// [`Event::event_properties`] as JSON text, from the stored properties text: spliced
    /// without parsing when the properties do not carry `$value` or `$event_id` themselves
    /// (the warehouse export writes millions of these).
    pub fn event_properties_text(properties: &str, value: Option<f64>, unique_id: Option<&str>) -> String {
        let mut extra = String::new();
        if let Some(n) = value.and_then(serde_json::Number::from_f64) {
            extra.push_str(&format!("\"$value\":{n}"));
        }
        if let Some(u) = unique_id {
            if !extra.is_empty() {
                extra.push(',');
            }
            extra.push_str("\"$event_id\":");
            extra.push_str(&Value::String(u.to_string()).to_string());
        }
        let body = properties.trim();
        if extra.is_empty() {
            return body.to_string();
        }
        let spliceable = body.starts_with('{')
            && body.ends_with('}')
            && !body.contains("\"$value\"")
            && !body.contains("\"$event_id\"");
        if !spliceable {
            let mut map: Map<String, Value> = serde_json::from_str(body).unwrap_or_default();
            if let Some(n) = value.and_then(serde_json::Number::from_f64) {
                map.insert("$value".into(), Value::Number(n));
            }
            if let Some(u) = unique_id {
                map.insert("$event_id".into(), Value::String(u.to_string()));
            }
            return Value::Object(map).to_string();
        }
        let inner = &body[..body.len() - 1];
        let sep = if inner.trim_end().ends_with('{') { "" } else { "," };
        format!("{inner}{sep}{extra}}}")
    }

    /// The Klaviyo de-duplication key, together with profile and metric:
    /// the `unique_id`, else the event time to the second.
    pub fn dedup_key(unique_id: Option<&str>, time: Timestamp) -> String {
        match unique_id {
            Some(u) => format!("u:{u}"),
            None => format!("t:{}", time.timestamp()),
        }
    }
}

/// A validated create-event request, ready for the store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// Who did it; the profile is created or updated with these changes.
    pub profile: ProfileWrite,
    pub metric_name: String,
    pub integration: Integration,
    /// `None`: the time the store accepts it.
    pub time: Option<Timestamp>,
    pub value: Option<f64>,
    pub value_currency: Option<String>,
    pub unique_id: Option<String>,
    pub properties: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dedup_key_prefers_unique_id_then_second() {
        let t = chrono::Utc.timestamp_opt(1_700_000_000, 999_000_000).unwrap();
        assert_eq!(Event::dedup_key(Some("x"), t), "u:x");
        assert_eq!(Event::dedup_key(None, t), "t:1700000000");
    }

    #[test]
    fn spliced_event_properties_mean_the_same_as_parsed_ones() {
        let cases = [
            (r#"{}"#, Some(9.5), Some("u1")),
            (r#"{"a":1,"b":{"c":[1,2]}}"#, Some(12.0), Some("q\"uote")),
            (r#"{"a":1}"#, None, Some("u")),
            (r#"{"a":1}"#, Some(1.25), None),
            (r#"{"a":1}"#, None, None),
            (r#"{"$value":3,"a":1}"#, Some(4.0), Some("u")),
        ];
        for (props, value, uid) in cases {
            let e = Event {
                id: EventId("e".into()),
                profile_id: ProfileId("p".into()),
                metric_id: MetricId("m".into()),
                time: chrono::Utc.timestamp_opt(0, 0).unwrap(),
                value,
                value_currency: None,
                unique_id: uid.map(str::to_string),
                properties: serde_json::from_str(props).unwrap(),
            };
            let spliced: Value = serde_json::from_str(&Event::event_properties_text(props, value, uid)).unwrap();
            assert_eq!(spliced, Value::Object(e.event_properties()), "{props}");
        }
    }

    #[test]
    fn event_properties_carry_value_and_event_id() {
        let e = Event {
            id: EventId("e".into()),
            profile_id: ProfileId("p".into()),
            metric_id: MetricId("m".into()),
            time: chrono::Utc.timestamp_opt(0, 0).unwrap(),
            value: Some(9.5),
            value_currency: Some("USD".into()),
            unique_id: Some("u1".into()),
            properties: serde_json::json!({"k": "v"}).as_object().unwrap().clone(),
        };
        assert_eq!(
            Value::Object(e.event_properties()),
            serde_json::json!({"k": "v", "$value": 9.5, "$event_id": "u1"})
        );
    }
}
