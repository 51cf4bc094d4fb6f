//! Property tests: the request parsers answer every JSON document with a value or an
//! `InputError`, never a panic, and every error's pointer names a place in the document.

use proptest::prelude::*;
use serde_json::{Value, json};
use wharf_ingest::{
    ProfileDocument, parse_bulk_create_events, parse_bulk_import_profiles, parse_create_event, parse_profile_document,
};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("a@b.co"),
            Just("+15005550006"),
            Just("2024-05-10T00:00:00Z"),
            Just("event"),
            Just("profile"),
            Just("metric")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    let keys = prop_oneof![
        Just("data".to_string()),
        Just("type".to_string()),
        Just("attributes".to_string()),
        Just("properties".to_string()),
        Just("profile".to_string()),
        Just("metric".to_string()),
        Just("email".to_string()),
        Just("time".to_string()),
        Just("name".to_string()),
        Just("location".to_string()),
        Just("id".to_string()),
        Just("events".to_string()),
        Just("events-bulk-create".to_string()),
        Just("profiles".to_string()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn pointer_exists_or_is_a_missing_child(doc: &Value, pointer: &str) -> bool {
    if pointer == "/" || doc.pointer(pointer).is_some() {
        return true;
    }
    // A required field that is absent is named by its would-be path: its parent exists.
    let parent = pointer.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    parent.is_empty() || doc.pointer(parent).is_some()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn event_parsers_never_panic(body in any_json()) {
        let now = chrono::Utc::now();
        if let Err(e) = parse_create_event(body.clone(), now) {
            prop_assert!(pointer_exists_or_is_a_missing_child(&body, &e.pointer), "{} not in {}", e.pointer, body);
        }
        let _ = parse_bulk_create_events(body, now);
    }

    #[test]
    fn profile_parsers_never_panic(body in any_json()) {
        for endpoint in [ProfileDocument::Create, ProfileDocument::Upsert, ProfileDocument::Patch("X")] {
            if let Err(e) = parse_profile_document(&body, endpoint) {
                prop_assert!(pointer_exists_or_is_a_missing_child(&body, &e.pointer), "{} not in {}", e.pointer, body);
            }
        }
        let _ = parse_bulk_import_profiles(&body);
    }

    /// Well-formed events with arbitrary property values either parse or fail on a limit.
    #[test]
    fn arbitrary_properties_keep_their_values(props in prop::collection::btree_map("[a-zA-Z ]{1,10}", any_json(), 0..8)) {
        let props: serde_json::Map<String, Value> = props.into_iter().collect();
        let doc = json!({"data": {"type": "event", "attributes": {"properties": props,
            "metric": {"data": {"type": "metric", "attributes": {"name": "M"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}}}}});
        if let Ok(e) = parse_create_event(doc, chrono::Utc::now()) {
            prop_assert_eq!(e.properties, props);
        }
    }
}
