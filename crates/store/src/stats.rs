//! Write-path counters every backend keeps, exported by the server on /metrics.

use std::sync::atomic::AtomicU64;

/// Counters the server exports on /metrics.
#[derive(Default, Debug)]
pub struct CommitStats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
    /// Sum of commit durations in microseconds (fsync included).
    pub commit_micros: AtomicU64,
    /// Histogram buckets of commit latency: ≤1, 2, 5, 10, 25, 50, 100, 250 ms, and above.
    pub buckets: [AtomicU64; 9],
}

pub const COMMIT_BUCKETS_MS: [f64; 8] = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0];
