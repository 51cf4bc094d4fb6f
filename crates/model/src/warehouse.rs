//! Rows of the three warehouse tables (product.md §4). Names stay Klaviyo's so queries
//! written for Klaviyo's own sync keep working. JSON parts are carried as JSON text.

use crate::Timestamp;

/// The warehouse tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    Event,
    Profile,
    Metric,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Event, Table::Profile, Table::Metric];

    pub fn name(self) -> &'static str {
        match self {
            Table::Event => "klaviyo_event",
            Table::Profile => "klaviyo_profile",
            Table::Metric => "klaviyo_metric",
        }
    }
}

/// A `klaviyo_event` row. Events are append-only and never duplicated.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub id: String,
    pub profile_id: String,
    pub metric_id: String,
    pub metric_name: String,
    pub integration_name: String,
    pub datetime: Timestamp,
    /// Epoch seconds of `datetime`.
    pub timestamp: i64,
    pub uuid: String,
    pub value: Option<f64>,
    pub value_currency: Option<String>,
    pub unique_id: Option<String>,
    /// JSON object text; carries `$value` and `$event_id` as Klaviyo does.
    pub event_properties: String,
    pub synced_at: Timestamp,
}

/// A `klaviyo_profile` row. Profiles are upserted by `id`: the latest version wins.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileRow {
    pub id: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub organization: Option<String>,
    pub title: Option<String>,
    pub image: Option<String>,
    pub locale: Option<String>,
    /// JSON object text.
    pub location: String,
    /// JSON object text.
    pub properties: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub last_event_date: Option<Timestamp>,
    pub synced_at: Timestamp,
}

/// A `klaviyo_metric` row, upserted by `id`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRow {
    pub id: String,
    pub name: String,
    pub integration_name: String,
    pub integration_category: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub synced_at: Timestamp,
}

/// The rows of one run, all for one table.
#[derive(Clone, Debug, PartialEq)]
pub enum Rows {
    Events(Vec<EventRow>),
    Profiles(Vec<ProfileRow>),
    Metrics(Vec<MetricRow>),
}

impl Rows {
    pub fn table(&self) -> Table {
        match self {
            Rows::Events(_) => Table::Event,
            Rows::Profiles(_) => Table::Profile,
            Rows::Metrics(_) => Table::Metric,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Rows::Events(r) => r.len(),
            Rows::Profiles(r) => r.len(),
            Rows::Metrics(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Names one load. Derived from the sync and its window, so a retried run has the same id
/// and every destination can make loading it twice a no-op.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RunId {
    /// `historical` or `periodic`.
    pub kind: &'static str,
    pub table: Table,
    /// The window over the change sequence, (after, up_to].
    pub after: i64,
    pub up_to: i64,
    /// Part of a window too large for one load; 0 for the first.
    pub part: u32,
}

impl RunId {
    /// A file-name-safe rendering that sorts in window order.
    pub fn slug(&self) -> String {
        format!("{}-{:020}-{:020}-{:05}", self.kind, self.after, self.up_to, self.part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_slugs_sort_by_window() {
        let a = RunId { kind: "periodic", table: Table::Event, after: 9, up_to: 100, part: 0 };
        let b = RunId { kind: "periodic", table: Table::Event, after: 100, up_to: 1000, part: 0 };
        assert!(a.slug() < b.slug());
        assert!(a.slug().chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
