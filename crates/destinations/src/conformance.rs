//! The destination conformance suite: behaviour every warehouse must show. Each destination's
//! tests implement [`Probe`] (how to read the warehouse back, and how to break it) and call
//! [`run_all`].

use std::collections::HashMap;

use async_trait::async_trait;
use wharf_model::warehouse::{EventRow, ProfileRow, Rows, RunId, Table};

use crate::{Destination, ErrorKind};

/// Test-only access to what a destination wrote.
#[async_trait]
pub trait Probe: Send + Sync {
    /// Every row id in a table, once per stored row (duplicates show up twice).
    async fn ids(&self, table: Table) -> Vec<String>;
    /// The latest `first_name` per profile id, as a reader following the destination's
    /// documented "latest version" rule sees it.
    async fn latest_first_names(&self) -> HashMap<String, Option<String>>;
    /// Leaves behind what a crash in the middle of loading `run` would.
    async fn simulate_crash_mid_load(&self, run: &RunId);
    /// A destination that cannot work (bad credentials, unwritable target) and the error
    /// kind it must report.
    fn broken(&self) -> (Box<dyn Destination>, ErrorKind);
}

fn t(secs: i64) -> wharf_model::Timestamp {
    chrono::DateTime::from_timestamp(secs, 0).expect("valid time")
}

pub fn events(from: usize, n: usize) -> Rows {
    Rows::Events(
        (from..from + n)
            .map(|i| EventRow {
                id: format!("E{i:08}"),
                profile_id: format!("P{}", i % 7),
                metric_id: "M1".into(),
                metric_name: "Placed Order".into(),
                integration_name: "Shopify".into(),
                datetime: t(1_700_000_000 + i as i64),
                timestamp: 1_700_000_000 + i as i64,
                uuid: format!("00000000-0000-0000-0000-{i:012}"),
                value: Some(i as f64 + 0.5),
                value_currency: Some("USD".into()),
                unique_id: Some(format!("u{i}")),
                event_properties: format!(r#"{{"$value":{}.5,"$event_id":"u{i}","Items":["a","b"]}}"#, i),
                synced_at: t(1_800_000_000),
            })
            .collect(),
    )
}

pub fn profile(id: &str, first_name: &str, updated: i64) -> ProfileRow {
    ProfileRow {
        id: id.into(),
        email: Some(format!("{id}@example.org").to_lowercase()),
        phone_number: None,
        external_id: None,
        first_name: Some(first_name.into()),
        last_name: None,
        organization: None,
        title: None,
        image: None,
        locale: None,
        location: r#"{"city":"Boston"}"#.into(),
        properties: r#"{"Tier":"Gold"}"#.into(),
        created: t(1_700_000_000),
        updated: t(updated),
        last_event_date: None,
        synced_at: t(updated + 10),
    }
}

fn run(table: Table, after: i64, up_to: i64) -> RunId {
    RunId { kind: "periodic", table, after, up_to, part: 0 }
}

pub async fn run_all(d: &dyn Destination, probe: &dyn Probe) {
    // Connection test and tables.
    let steps = d.test_connection().await;
    assert_eq!(steps.len(), 5, "{steps:?}");
    assert!(steps.iter().all(|s| s.ok), "{steps:?}");
    d.ensure_tables().await.unwrap();
    d.ensure_tables().await.unwrap();

    // Load, then load the same run again: no duplicates.
    let first = run(Table::Event, 0, 100);
    assert_eq!(d.committed(&first).await.unwrap(), None);
    let receipt = d.load(&first, &events(0, 100)).await.unwrap();
    assert_eq!(receipt.rows, 100);
    assert_eq!(d.committed(&first).await.unwrap(), Some(receipt));
    d.load(&first, &events(0, 100)).await.unwrap();
    assert_eq!(probe.ids(Table::Event).await.len(), 100, "a reloaded run must not duplicate rows");

    // A crash in the middle of the next run, then its retry: every row once.
    let second = run(Table::Event, 100, 250);
    probe.simulate_crash_mid_load(&second).await;
    assert_eq!(d.committed(&second).await.unwrap(), None, "a crashed load is not committed");
    d.load(&second, &events(100, 150)).await.unwrap();
    let mut ids = probe.ids(Table::Event).await;
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!((before, ids.len()), (250, 250), "every event exactly once");

    // An empty window commits without rows.
    let empty = run(Table::Event, 250, 260);
    assert_eq!(d.load(&empty, &Rows::Events(vec![])).await.unwrap().rows, 0);
    assert!(d.committed(&empty).await.unwrap().is_some());

    // Reloading a committed run replaces it, even with fewer or no rows.
    let shrinking = run(Table::Event, 260, 270);
    d.load(&shrinking, &events(1000, 5)).await.unwrap();
    d.load(&shrinking, &events(1000, 2)).await.unwrap();
    assert_eq!(probe.ids(Table::Event).await.len(), 252);
    d.load(&shrinking, &Rows::Events(vec![])).await.unwrap();
    assert_eq!(probe.ids(Table::Event).await.len(), 250, "an empty reload leaves none of the earlier rows");

    // Profiles: the latest version wins.
    d.load(
        &run(Table::Profile, 0, 10),
        &Rows::Profiles(vec![profile("A", "Ana", 1_700_000_100), profile("B", "Bo", 1_700_000_100)]),
    )
    .await
    .unwrap();
    d.load(&run(Table::Profile, 10, 20), &Rows::Profiles(vec![profile("A", "Anna", 1_700_000_200)])).await.unwrap();
    let latest = probe.latest_first_names().await;
    assert_eq!(latest.get("A"), Some(&Some("Anna".to_string())));
    assert_eq!(latest.get("B"), Some(&Some("Bo".to_string())));

    // Rows of the wrong table are refused.
    assert!(d.load(&run(Table::Metric, 0, 1), &events(0, 1)).await.is_err());

    // A broken destination fails its connection test with the expected kind.
    let (broken, kind) = probe.broken();
    let steps = broken.test_connection().await;
    let failed = steps.iter().find(|s| !s.ok).expect("a broken destination fails a step");
    assert_eq!(failed.error.as_ref().map(|e| e.kind), Some(kind), "{steps:?}");
    assert!(!failed.error.as_ref().unwrap().external_message.is_empty());
    assert!(broken.load(&first, &events(0, 1)).await.is_err());
}
