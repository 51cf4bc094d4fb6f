//! Summary tables for the warehouse benchmarks (export, backfill-memory, freshness): per-round
//! values of ours and of a peer, the ratio computed per round then median [min, max], a
//! target check, the printed table and the JSON file in bench/results/.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::report::{Spread, fmt_num, fmt_spread};
use super::utc_stamp;

/// What a row's target is checked on.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Median ratio ours/peer at least this.
    RatioAtLeast(f64),
    /// Median ratio ours/peer at most this.
    RatioAtMost(f64),
    /// Median of ours at most this.
    OursAtMost(f64),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub metric: String,
    pub peer_name: &'static str,
    pub ours: Option<Spread>,
    pub peer: Option<Spread>,
    pub ratio: Option<Spread>,
    pub target: String,
    pub pass: Option<bool>,
}

impl Row {
    /// `ours[i]` and `peer[i]` belong to round i; the ratio is taken per round.
    pub fn new(metric: impl Into<String>, peer_name: &'static str, ours: &[f64], peer: &[f64]) -> Self {
        let ratio = ours.iter().zip(peer).filter(|(_, p)| **p != 0.0).map(|(o, p)| o / p).collect();
        Self {
            metric: metric.into(),
            peer_name,
            ours: Spread::of(ours.to_vec()),
            peer: Spread::of(peer.to_vec()),
            ratio: Spread::of(ratio),
            target: String::new(),
            pass: None,
        }
    }

    pub fn target(mut self, text: impl Into<String>, check: Check) -> Self {
        self.target = text.into();
        self.pass = match check {
            Check::RatioAtLeast(x) => self.ratio.map(|r| r.median >= x),
            Check::RatioAtMost(x) => self.ratio.map(|r| r.median <= x),
            Check::OursAtMost(x) => self.ours.map(|o| o.median <= x),
        };
        self
    }

    fn json(&self) -> Value {
        json!({
            "metric": self.metric,
            "peer": self.peer_name,
            "ours": self.ours.map(Spread::json),
            "peer_value": self.peer.map(Spread::json),
            "ratio": self.ratio.map(Spread::json),
            "target": self.target,
            "pass": self.pass,
        })
    }
}

pub fn print(title: &str, rows: &[Row]) {
    println!();
    println!("== {title} ==");
    println!(
        "{:<34} {:>24} {:>10} {:>24} {:>22}  {:<22} result",
        "metric (median [min, max])", "wharf", "peer", "peer value", "ratio wharf/peer", "target"
    );
    for r in rows {
        let pass = match r.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "",
        };
        println!(
            "{:<34} {:>24} {:>10} {:>24} {:>22}  {:<22} {pass}",
            r.metric,
            fmt_spread(r.ours, false),
            r.peer_name,
            fmt_spread(r.peer, false),
            fmt_spread(r.ratio, true),
            r.target
        );
    }
    println!();
}

/// Writes `bench/results/<name>-<UTC stamp>.json`; partial results carry `error`.
pub fn write(
    root: &Path,
    name: &str,
    meta: Value,
    rows: &[Row],
    runs: &[Value],
    failure: Option<&anyhow::Error>,
) -> Result<PathBuf> {
    let dir = root.join("bench/results");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join(format!("{name}-{}.json", utc_stamp()));
    // Allocator tuning changes RSS a lot (M5); record it when set.
    let malloc_arena_max = std::env::var("MALLOC_ARENA_MAX").ok();
    let doc = json!({
        "benchmark": name,
        "meta": meta,
        "env": {"MALLOC_ARENA_MAX": malloc_arena_max},
        "summary": rows.iter().map(Row::json).collect::<Vec<_>>(),
        "runs": runs,
        "error": failure.map(|e| format!("{e:#}")),
    });
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

/// Short human size for log lines.
pub fn mib(bytes: f64) -> String {
    format!("{} MiB", fmt_num(bytes / (1024.0 * 1024.0)))
}

/// Nearest-rank percentile of unsorted values (NaN when empty).
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_per_round() {
        let r = Row::new("x", "p", &[30.0, 10.0, 40.0], &[10.0, 10.0, 20.0]).target("", Check::RatioAtLeast(2.0));
        let s = r.ratio.unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(r.pass, Some(true));
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
