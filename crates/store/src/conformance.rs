//! The store conformance suite: behaviour every [`Store`] backend must show. Each backend's
//! tests call [`run_all`] with a fresh, empty store.

use serde_json::json;
use wharf_model::query::{Condition, ListQuery, Op, Operand, Resource};
use wharf_model::{Integration, NewEvent, Patch, ProfileChanges, ProfileIdentifiers, ProfileWrite};

use crate::{BulkProfile, Store, StoreError};

pub async fn run_all(store: &dyn Store) {
    accounts_and_keys(store).await;
    profile_upsert_semantics(store).await;
    identity_conflicts(store).await;
    event_dedup_and_sequence(store).await;
    bulk_import_reports_conflicts(store).await;
    pagination_visits_every_row_once(store).await;
    accounts_are_isolated(store).await;
    change_feed_covers_every_change_once(store).await;
}

fn by_email(email: &str) -> ProfileWrite {
    ProfileWrite {
        identifiers: ProfileIdentifiers { email: Some(email.into()), ..Default::default() },
        changes: ProfileChanges { email: Patch::Set(email.into()), ..Default::default() },
    }
}

fn event(email: &str, metric: &str, unique_id: Option<&str>, secs: i64) -> NewEvent {
    NewEvent {
        profile: by_email(email),
        metric_name: metric.into(),
        integration: Integration::api(),
        time: chrono::DateTime::from_timestamp(secs, 0),
        value: Some(1.5),
        value_currency: None,
        unique_id: unique_id.map(str::to_string),
        properties: json!({"k": "v"}).as_object().unwrap().clone(),
    }
}

async fn accounts_and_keys(store: &dyn Store) {
    let a = store.create_account("keys").await.unwrap();
    let key = store.create_api_key(&a.id, "default").await.unwrap();
    assert!(key.secret.starts_with("pk_"));
    assert_eq!(store.authenticate(&key.secret).await.unwrap(), Some(a.id.clone()));
    assert_eq!(store.authenticate("pk_unknown").await.unwrap(), None);
    store.revoke_api_key(&key.info.id).await.unwrap();
    assert_eq!(store.authenticate(&key.secret).await.unwrap(), None, "a revoked key must not authenticate");
    let keys = store.list_api_keys(&a.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].revoked.is_some());
    assert!(store.list_accounts().await.unwrap().iter().any(|x| x.id == a.id));
}

async fn profile_upsert_semantics(store: &dyn Store) {
    let a = store.create_account("upsert").await.unwrap().id;
    let mut w = by_email("ana@example.org");
    w.changes.first_name = Patch::Set("Ana".into());
    w.changes.last_name = Patch::Set("Lima".into());
    let (p, created) = store.upsert_profile(&a, w).await.unwrap();
    assert!(created);
    let mut w = by_email("ana@example.org");
    w.changes.last_name = Patch::Clear;
    let (p2, created) = store.upsert_profile(&a, w).await.unwrap();
    assert!(!created);
    assert_eq!(p2.id, p.id);
    assert_eq!(p2.first_name.as_deref(), Some("Ana"), "absent fields are left unchanged");
    assert_eq!(p2.last_name, None, "null clears");
    let err = store.create_profile(&a, by_email("ana@example.org")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { existing, .. } if existing == p.id));
}

async fn identity_conflicts(store: &dyn Store) {
    let a = store.create_account("identity").await.unwrap().id;
    let (pa, _) = store.upsert_profile(&a, by_email("a@example.org")).await.unwrap();
    let mut w = by_email("b@example.org");
    w.identifiers.phone_number = Some("+15005550006".into());
    w.changes.phone_number = Patch::Set("+15005550006".into());
    let (pb, _) = store.upsert_profile(&a, w).await.unwrap();
    // A's email with B's phone: resolves to A by email; B's phone is a conflict.
    let mut w = by_email("a@example.org");
    w.identifiers.phone_number = Some("+15005550006".into());
    w.changes.phone_number = Patch::Set("+15005550006".into());
    let err = store.upsert_profile(&a, w.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { existing, .. } if existing == pb.id));
    // An event with the same identifiers is kept, on A, and leaves the phone with B.
    let mut ev = event("a@example.org", "Viewed", None, 1_700_000_000);
    ev.profile = w;
    assert_eq!(store.create_events(&a, vec![ev]).await.unwrap().stored, 1);
    let pa2 = store.get_profile(&a, &pa.id).await.unwrap().unwrap();
    assert_eq!(pa2.phone_number, None);
    assert_eq!(store.get_profile(&a, &pb.id).await.unwrap().unwrap().phone_number.as_deref(), Some("+15005550006"));
}

async fn event_dedup_and_sequence(store: &dyn Store) {
    let a = store.create_account("events").await.unwrap().id;
    let out = store
        .create_events(
            &a,
            vec![
                event("e@example.org", "Placed Order", Some("u1"), 1_700_000_000),
                event("e@example.org", "Placed Order", Some("u1"), 1_700_000_500),
                event("e@example.org", "Placed Order", None, 1_700_000_000),
                event("e@example.org", "Placed Order", None, 1_700_000_000),
                event("e@example.org", "Opened Email", None, 1_700_000_000),
            ],
        )
        .await
        .unwrap();
    assert_eq!((out.stored, out.duplicates), (3, 2));
    let page = store.list_events(&a, ListQuery::all(Resource::Events)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let metrics = store.list_metrics(&a, ListQuery::all(Resource::Metrics)).await.unwrap();
    assert_eq!(metrics.items.len(), 2);
    let profiles = store.list_profiles(&a, ListQuery::all(Resource::Profiles)).await.unwrap();
    assert_eq!(profiles.items.len(), 1);
    assert_eq!(profiles.items[0].last_event_date.map(|t| t.timestamp()), Some(1_700_000_000));
    // A failing write stores nothing: an unknown profile id in the second event.
    let mut bad = event("f@example.org", "Placed Order", Some("u9"), 1_700_000_000);
    bad.profile.identifiers =
        ProfileIdentifiers { id: Some(wharf_model::ProfileId("01NOPE".into())), ..Default::default() };
    let err = store
        .create_events(&a, vec![event("g@example.org", "Placed Order", Some("u8"), 1_700_000_000), bad])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownProfile { position: 1, .. }), "{err:?}");
    assert_eq!(store.list_events(&a, ListQuery::all(Resource::Events)).await.unwrap().items.len(), 3);
    assert_eq!(store.list_profiles(&a, ListQuery::all(Resource::Profiles)).await.unwrap().items.len(), 1);
}

async fn bulk_import_reports_conflicts(store: &dyn Store) {
    let a = store.create_account("bulk").await.unwrap().id;
    store.upsert_profile(&a, by_email("x@example.org")).await.unwrap();
    let mut phone = by_email("y@example.org");
    phone.identifiers.phone_number = Some("+15005550007".into());
    phone.changes.phone_number = Patch::Set("+15005550007".into());
    store.upsert_profile(&a, phone).await.unwrap();
    let mut conflicting = by_email("x@example.org");
    conflicting.changes.phone_number = Patch::Set("+15005550007".into());
    let job = store
        .bulk_import_profiles(
            &a,
            vec![
                BulkProfile { write: Ok(by_email("z@example.org")), original: json!({"n": 0}) },
                BulkProfile { write: Ok(conflicting), original: json!({"n": 1}) },
            ],
        )
        .await
        .unwrap();
    assert_eq!((job.total_count, job.completed_count, job.failed_count), (2, 1, 1));
    let errors = store.list_import_errors(&a, &job.id, None, 100).await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].index, 1);
    assert_eq!(errors[0].original_payload, json!({"n": 1}));
    assert_eq!(store.get_import_job(&a, &job.id).await.unwrap().unwrap(), job);
}

async fn pagination_visits_every_row_once(store: &dyn Store) {
    let a = store.create_account("pages").await.unwrap().id;
    let events: Vec<NewEvent> = (0..57)
        .map(|i| event(&format!("p{}@example.org", i % 7), "M", Some(&format!("u{i}")), 1_700_000_000 + (i % 5)))
        .collect();
    store.create_events(&a, events).await.unwrap();
    for descending in [false, true] {
        let mut q = ListQuery::all(Resource::Events);
        q.page_size = 10;
        q.sort.descending = descending;
        let mut seen = Vec::new();
        loop {
            let page = store.list_events(&a, q.clone()).await.unwrap();
            seen.extend(page.items.iter().map(|e| (e.event.time, e.event.id.clone())));
            match page.next {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 57);
        let mut sorted = seen.clone();
        sorted.sort();
        if descending {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "pages come in sort order without repeats");
    }
    let mut q = ListQuery::all(Resource::Profiles);
    q.conditions.push(Condition {
        field: "email",
        op: Op::Any,
        value: Operand::List(vec![Operand::Text("p1@example.org".into()), Operand::Text("p2@example.org".into())]),
    });
    assert_eq!(store.list_profiles(&a, q).await.unwrap().items.len(), 2);
    let mut q = ListQuery::all(Resource::Events);
    q.conditions.push(Condition { field: "timestamp", op: Op::GreaterOrEqual, value: Operand::Int(1_700_000_004) });
    assert_eq!(store.list_events(&a, q).await.unwrap().items.len(), 11);
}

async fn accounts_are_isolated(store: &dyn Store) {
    let a = store.create_account("iso-a").await.unwrap().id;
    let b = store.create_account("iso-b").await.unwrap().id;
    let (pa, _) = store.upsert_profile(&a, by_email("same@example.org")).await.unwrap();
    let (pb, created) = store.upsert_profile(&b, by_email("same@example.org")).await.unwrap();
    assert!(created, "the same email in another account is another profile");
    assert_ne!(pa.id, pb.id);
    assert!(store.get_profile(&b, &pa.id).await.unwrap().is_none());
    store.create_events(&a, vec![event("same@example.org", "M", None, 1_700_000_000)]).await.unwrap();
    assert!(store.list_events(&b, ListQuery::all(Resource::Events)).await.unwrap().items.is_empty());
    assert!(store.list_metrics(&b, ListQuery::all(Resource::Metrics)).await.unwrap().items.is_empty());
}

/// Windows over the change feed, read in turn, deliver every event once and every profile in
/// its latest state, whatever changed between the reads.
async fn change_feed_covers_every_change_once(store: &dyn Store) {
    let a = store.create_account("feed").await.unwrap().id;
    assert_eq!(store.change_position(&a).await.unwrap(), 0);
    let batch = |from: usize| {
        (from..from + 20)
            .map(|i| event(&format!("f{}@example.org", i % 4), "M", Some(&format!("u{i}")), 1_700_000_000 + i as i64))
            .collect::<Vec<_>>()
    };
    store.create_events(&a, batch(0)).await.unwrap();
    let first = store.change_position(&a).await.unwrap();
    assert!(first > 0);
    // Changes land after the first window's bound was taken.
    store.create_events(&a, batch(20)).await.unwrap();
    let mut renamed = by_email("f1@example.org");
    renamed.changes.first_name = Patch::Set("Renamed".into());
    store.upsert_profile(&a, renamed).await.unwrap();
    let second = store.change_position(&a).await.unwrap();

    let mut events = Vec::new();
    let mut profiles = std::collections::HashMap::new();
    let mut metrics = 0;
    for (after, up_to) in [(0, first), (first, second)] {
        // Read in small pages to exercise the limit.
        let mut from = after;
        loop {
            let page = store.changed_events(&a, from, up_to, 7).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.windows(2).all(|w| w[0].seq < w[1].seq));
            from = page.last().unwrap().seq;
            events.extend(page.into_iter().map(|c| c.item.event.unique_id.unwrap()));
        }
        for c in store.changed_profiles(&a, after, up_to, 1000).await.unwrap() {
            assert!(c.seq > after && c.seq <= up_to);
            profiles.insert(c.item.id.clone(), c.item);
        }
        metrics += store.changed_metrics(&a, after, up_to, 1000).await.unwrap().len();
    }
    let mut sorted = events.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 40, "every event exactly once");
    assert_eq!(events.len(), 40);
    assert_eq!(profiles.len(), 4, "every profile");
    assert!(profiles.values().any(|p| p.first_name.as_deref() == Some("Renamed")), "in its latest state");
    assert_eq!(metrics, 1);
    assert!(store.changed_events(&a, second, i64::MAX, 10).await.unwrap().is_empty());

    // The export's fast path reads the same events, with the same `event_properties`.
    let synced_at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let parsed = store.changed_events(&a, 0, second, 1000).await.unwrap();
    let rows = store.changed_event_rows(&a, 0, second, 1000, synced_at).await.unwrap();
    assert_eq!(parsed.len(), rows.len());
    for (p, r) in parsed.iter().zip(&rows) {
        assert_eq!((p.seq, p.item.event.id.as_str()), (r.seq, r.item.id.as_str()));
        assert_eq!((r.item.metric_name.as_str(), r.item.synced_at), (p.item.metric.name.as_str(), synced_at));
        let props: serde_json::Value = serde_json::from_str(&r.item.event_properties).unwrap();
        assert_eq!(props, serde_json::Value::Object(p.item.event.event_properties()));
    }
}
