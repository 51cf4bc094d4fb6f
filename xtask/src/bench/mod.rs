//! Benchmark harness (engineering.md §4): ours and a peer side by side in one
//! run, interleaved, several rounds, median ratio with min/max, plus server
//! CPU-seconds read from /proc.

pub mod backfill;
pub mod export;
pub mod freshness;
pub mod ingest;
mod loadgen;
mod process;
mod python;
mod report;
mod results;
mod wharf;
mod workload;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Options every warehouse benchmark (export, backfill-memory, freshness) takes.
#[derive(Debug, Clone)]
pub struct Common {
    pub smoke: bool,
    pub rounds: usize,
    pub build: bool,
    pub wharf: Option<PathBuf>,
    /// Load the cached dataset again even if present.
    pub reload_data: bool,
}

impl Common {
    pub fn new(smoke: bool) -> Self {
        Self { smoke, rounds: if smoke { 1 } else { 3 }, build: true, wharf: None, reload_data: false }
    }
}

/// Workspace root, known at compile time so `cargo xtask` works from any cwd.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// UTC timestamp like `20260412T103000Z` for result file names (no chrono dep).
pub fn utc_stamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's days-since-epoch to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// SplitMix64: deterministic, dependency-free data generation. Fixed seeds
/// make the request bodies identical across runs and machines.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (modulo bias is irrelevant for test data).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
    }
}
