//! Warehouse sync: connection options, syncs, their statuses, and the retry policy. Pure.

use std::fmt;
use std::time::Duration;

use crate::Timestamp;

/// What can be synced. Selecting `events` also syncs `metrics` (events refer to them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataObject {
    Profiles,
    Events,
    Metrics,
}

impl DataObject {
    pub fn name(self) -> &'static str {
        match self {
            DataObject::Profiles => "profiles",
            DataObject::Events => "events",
            DataObject::Metrics => "metrics",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "profiles" => DataObject::Profiles,
            "events" => DataObject::Events,
            "metrics" => DataObject::Metrics,
            _ => return None,
        })
    }

    pub fn table(self) -> crate::warehouse::Table {
        match self {
            DataObject::Profiles => crate::warehouse::Table::Profile,
            DataObject::Events => crate::warehouse::Table::Event,
            DataObject::Metrics => crate::warehouse::Table::Metric,
        }
    }
}

/// How much history the one-off historical sync covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoricalRange {
    Days30,
    Days90,
    Year1,
    All,
}

impl HistoricalRange {
    pub fn name(self) -> &'static str {
        match self {
            HistoricalRange::Days30 => "30d",
            HistoricalRange::Days90 => "90d",
            HistoricalRange::Year1 => "1y",
            HistoricalRange::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "30d" => HistoricalRange::Days30,
            "90d" => HistoricalRange::Days90,
            "1y" => HistoricalRange::Year1,
            "all" => HistoricalRange::All,
            _ => return None,
        })
    }

    /// The earliest event time included, for a connection made at `at`.
    pub fn cutoff(self, at: Timestamp) -> Option<Timestamp> {
        let days = match self {
            HistoricalRange::Days30 => 30,
            HistoricalRange::Days90 => 90,
            HistoricalRange::Year1 => 365,
            HistoricalRange::All => return None,
        };
        Some(at - chrono::TimeDelta::days(days))
    }
}

/// The options of a connection (product.md §6). The periodic cadence is not an option: it is
/// hourly, and only the operator can change it.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncOptions {
    /// Profiles and/or events; never empty.
    pub data_objects: Vec<DataObject>,
    /// Integration names whose events are not synced. Profiles are never filtered.
    pub excluded_integrations: Vec<String>,
    /// Metric names to sync; empty means all. Profiles are never filtered.
    pub selective_sync: Vec<String>,
    pub historical_range: HistoricalRange,
}

impl SyncOptions {
    /// Checks the options, naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.data_objects.is_empty() {
            return Err("data_objects must name at least one of: profiles, events".into());
        }
        if self.data_objects.contains(&DataObject::Metrics) {
            return Err("data_objects takes profiles and/or events; metrics sync with events".into());
        }
        if !self.data_objects.contains(&DataObject::Events) && !self.selective_sync.is_empty() {
            return Err("selective_sync applies to events; select the events data object".into());
        }
        for (what, list) in
            [("excluded_integrations", &self.excluded_integrations), ("selective_sync", &self.selective_sync)]
        {
            if list.len() > 1000 {
                return Err(format!("{what} has more than 1000 entries"));
            }
            if list.iter().any(|s| s.trim().is_empty() || s.len() > 255) {
                return Err(format!("{what} entries must be 1 to 255 characters"));
            }
        }
        Ok(())
    }

    /// The syncs a connection with these options has: one historical and one periodic per
    /// object, metrics included when events are.
    pub fn objects(&self) -> Vec<DataObject> {
        let mut out = self.data_objects.clone();
        if out.contains(&DataObject::Events) {
            out.push(DataObject::Metrics);
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether an event of this metric and integration is synced.
    pub fn includes_event(&self, metric_name: &str, integration_name: &str) -> bool {
        !self.excluded_integrations.iter().any(|i| i.eq_ignore_ascii_case(integration_name))
            && (self.selective_sync.is_empty() || self.selective_sync.iter().any(|m| m == metric_name))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncKind {
    Historical,
    Periodic,
}

impl SyncKind {
    pub fn name(self) -> &'static str {
        match self {
            SyncKind::Historical => "historical",
            SyncKind::Periodic => "periodic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "historical" => Some(SyncKind::Historical),
            "periodic" => Some(SyncKind::Periodic),
            _ => None,
        }
    }
}

/// The statuses of product.md §6, with their exact meanings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncStatus {
    /// Waiting for its next run.
    Scheduled,
    /// Running.
    InProgress,
    /// A historical sync that finished; it never runs again by itself.
    Completed,
    /// The last attempt failed with a transient error; retries continue with backoff.
    Errored,
    /// Retries exhausted or a permanent error: needs the user (re-enable).
    Failed,
    /// Paused by the user.
    Paused,
    /// The connection was removed.
    Disabled,
}

impl SyncStatus {
    pub fn name(self) -> &'static str {
        match self {
            SyncStatus::Scheduled => "scheduled",
            SyncStatus::InProgress => "in_progress",
            SyncStatus::Completed => "completed",
            SyncStatus::Errored => "errored",
            SyncStatus::Failed => "failed",
            SyncStatus::Paused => "paused",
            SyncStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scheduled" => SyncStatus::Scheduled,
            "in_progress" => SyncStatus::InProgress,
            "completed" => SyncStatus::Completed,
            "errored" => SyncStatus::Errored,
            "failed" => SyncStatus::Failed,
            "paused" => SyncStatus::Paused,
            "disabled" => SyncStatus::Disabled,
            _ => return None,
        })
    }

    /// Whether the scheduler may run a sync in this status when it is due.
    pub fn runnable(self) -> bool {
        matches!(self, SyncStatus::Scheduled | SyncStatus::Errored | SyncStatus::InProgress)
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user action on a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAction {
    Pause,
    Resume,
    Reenable,
    RunNow,
}

impl SyncAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pause" => SyncAction::Pause,
            "resume" => SyncAction::Resume,
            "reenable" => SyncAction::Reenable,
            "run" => SyncAction::RunNow,
            _ => return None,
        })
    }

    /// The status after the action, or why the action does not apply.
    pub fn apply(self, kind: SyncKind, status: SyncStatus) -> Result<SyncStatus, String> {
        use SyncStatus::*;
        match (self, status) {
            (_, Disabled) => Err("the sync is disabled: its connection was removed".into()),
            (SyncAction::Pause, Completed) => Err("a completed historical sync cannot be paused".into()),
            (SyncAction::Pause, Paused) => Err("the sync is already paused".into()),
            (SyncAction::Pause, _) => Ok(Paused),
            (SyncAction::Resume, Paused) => Ok(Scheduled),
            (SyncAction::Resume, s) => Err(format!("only a paused sync can be resumed; this one is {s}")),
            (SyncAction::Reenable, Failed) => Ok(Scheduled),
            (SyncAction::Reenable, s) => Err(format!("only a failed sync can be re-enabled; this one is {s}")),
            (SyncAction::RunNow, Completed) if kind == SyncKind::Historical => {
                Err("a completed historical sync does not run again".into())
            }
            (SyncAction::RunNow, Paused) => Err("resume the sync first".into()),
            (SyncAction::RunNow, Failed) => Err("re-enable the sync first".into()),
            (SyncAction::RunNow, s) => Ok(if s == InProgress { InProgress } else { Scheduled }),
        }
    }
}

/// Exponential backoff with jitter, bounded: what happens after the `attempt`-th consecutive
/// transient failure (1-based).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    /// Transient failures in a row before the sync is Failed.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(30), max_delay: Duration::from_secs(3600), max_attempts: 12 }
    }
}

impl RetryPolicy {
    /// `None` when retries are exhausted. `jitter` in [0, 1) spreads the delay over
    /// [d/2, d) so many syncs that failed together do not retry together.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_delay);
        Some(capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 0.999)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn options(objects: &[DataObject]) -> SyncOptions {
        SyncOptions {
            data_objects: objects.to_vec(),
            excluded_integrations: vec![],
            selective_sync: vec![],
            historical_range: HistoricalRange::All,
        }
    }

    #[test]
    fn events_bring_metrics_and_filters_apply_to_events_only() {
        assert_eq!(options(&[DataObject::Events]).objects(), vec![DataObject::Events, DataObject::Metrics]);
        assert_eq!(options(&[DataObject::Profiles]).objects(), vec![DataObject::Profiles]);
        let mut o = options(&[DataObject::Events]);
        o.excluded_integrations = vec!["Klaviyo".into()];
        o.selective_sync = vec!["Placed Order".into()];
        assert!(o.includes_event("Placed Order", "Shopify"));
        assert!(!o.includes_event("Placed Order", "klaviyo"));
        assert!(!o.includes_event("Viewed Product", "Shopify"));
        assert!(options(&[]).validate().is_err());
        let mut p = options(&[DataObject::Profiles]);
        p.selective_sync = vec!["X".into()];
        assert!(p.validate().is_err());
    }

    #[test]
    fn actions_follow_the_status_table() {
        use SyncStatus::*;
        assert_eq!(SyncAction::Pause.apply(SyncKind::Periodic, Scheduled), Ok(Paused));
        assert!(SyncAction::Pause.apply(SyncKind::Historical, Completed).is_err());
        assert_eq!(SyncAction::Resume.apply(SyncKind::Periodic, Paused), Ok(Scheduled));
        assert!(SyncAction::Resume.apply(SyncKind::Periodic, Scheduled).is_err());
        assert_eq!(SyncAction::Reenable.apply(SyncKind::Periodic, Failed), Ok(Scheduled));
        assert!(SyncAction::Reenable.apply(SyncKind::Periodic, Errored).is_err());
        assert!(SyncAction::RunNow.apply(SyncKind::Historical, Completed).is_err());
        assert!(SyncAction::Pause.apply(SyncKind::Periodic, Disabled).is_err());
    }

    proptest! {
        #[test]
        fn backoff_grows_is_bounded_and_ends(attempt in 1u32..40, jitter in 0.0f64..1.0) {
            let p = RetryPolicy::default();
            match p.delay(attempt, jitter) {
                None => prop_assert!(attempt >= p.max_attempts),
                Some(d) => {
                    prop_assert!(d <= p.max_delay);
                    prop_assert!(d >= p.base / 2);
                    if let (Some(next_min), true) = (p.delay(attempt + 1, 0.0), attempt + 1 < p.max_attempts) {
                        // The lower bound never shrinks from one attempt to the next.
                        prop_assert!(next_min >= p.delay(attempt, 0.0).unwrap());
                    }
                }
            }
        }
    }
}

/// Whether the last connection test passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    Enabled,
    UnableToConnect,
}

impl ConnectionState {
    pub fn name(self) -> &'static str {
        match self {
            ConnectionState::Enabled => "enabled",
            ConnectionState::UnableToConnect => "unable_to_connect",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(ConnectionState::Enabled),
            "unable_to_connect" => Some(ConnectionState::UnableToConnect),
            _ => None,
        }
    }
}

/// An account's warehouse connection (at most one). The destination configuration is kept
/// sealed (encrypted) by the layer above the store; the store never sees credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct WarehouseConnection {
    /// `local`, `s3`, …: shown without unsealing.
    pub destination_type: String,
    pub sealed_destination: Vec<u8>,
    pub options: SyncOptions,
    pub state: ConnectionState,
    /// JSON of the last connection test's steps.
    pub last_test: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// One sync: a kind (historical or periodic) of one data object.
#[derive(Clone, Debug, PartialEq)]
pub struct WarehouseSync {
    pub id: String,
    pub kind: SyncKind,
    pub object: DataObject,
    pub status: SyncStatus,
    /// Changes up to this position are delivered (the next window starts after it).
    pub cursor: i64,
    /// The last change position the sync (historical) or its running cycle (periodic) covers:
    /// for a historical sync, the position when the connection was made; for a periodic one,
    /// the position when the cycle started (changes after it wait for the next cycle).
    pub target: Option<i64>,
    /// Historical: events before this time are outside the chosen range.
    pub since: Option<Timestamp>,
    /// A window chosen and not yet committed: (after, up_to, part). Re-run as is after a crash.
    pub pending: Option<(i64, i64, u32)>,
    pub rows_done: u64,
    pub rows_total: u64,
    /// Consecutive transient failures.
    pub attempt: u32,
    pub next_run_at: Option<Timestamp>,
    pub last_run_at: Option<Timestamp>,
    /// When the sync last verified it had delivered everything up to its cursor.
    pub last_success_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

impl WarehouseSync {
    /// Honest progress: rows delivered out of rows in the sync's scope.
    pub fn progress_percent(&self) -> Option<f64> {
        match (self.kind, self.status) {
            (SyncKind::Historical, SyncStatus::Completed) => Some(100.0),
            _ if self.rows_total == 0 => None,
            _ => Some((self.rows_done as f64 * 100.0 / self.rows_total as f64).min(100.0)),
        }
    }
}

/// One attempt at one window, for the sync's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncRun {
    pub sync_id: String,
    pub run: String,
    pub after: i64,
    pub up_to: i64,
    pub rows: u64,
    pub bytes: u64,
    pub started: Timestamp,
    pub finished: Timestamp,
    /// `None` on success; else the error entry's id.
    pub error_id: Option<String>,
}

/// An error entry of the error drawer.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncErrorEntry {
    pub id: String,
    pub sync_id: String,
    pub kind: String,
    pub summary: String,
    pub code: String,
    pub external_message: String,
    pub at: Timestamp,
}
