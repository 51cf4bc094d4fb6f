//! Per-run records, the ours/peer summary (median ratio with min/max over
//! rounds), the printed tables and the JSON file in bench/results/.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::loadgen::RunStats;
use super::utc_stamp;

const OURS: &str = "wharf";
const PEER: &str = "node-toy";

#[derive(Debug, Clone)]
pub struct Meta {
    pub smoke: bool,
    pub rounds: usize,
    pub seconds: f64,
    pub warmup: f64,
    pub conns: usize,
    pub bulk_conns: usize,
    pub node_version: String,
    pub wharf: Option<String>,
    pub m1a_body_bytes: usize,
    pub m1b_body_bytes: usize,
}

/// One measured load run against one server.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    pub round: usize,
    pub bench: &'static str,
    pub target: &'static str,
    /// "saturated" (closed loop) or "half-rate" (paced at 50% of saturated).
    pub kind: &'static str,
    pub conns: usize,
    pub target_rate: Option<f64>,
    pub ok_requests: u64,
    pub ok_events: u64,
    pub errors: u64,
    pub error_classes: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
    pub elapsed_s: f64,
    pub req_per_s: f64,
    pub events_per_s: f64,
    pub server_cpu_s: f64,
    pub client_cpu_s: f64,
    pub events_per_cpu_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub late_sends: u64,
    /// Paced runs: p99 of the generator's own send lag (ms).
    pub send_lag_p99_ms: f64,
    /// Paced runs: p99 measured from the actual send instead of the schedule.
    pub service_p99_ms: f64,
    pub peak_rss_kib: u64,
    pub data_dir_bytes: Option<u64>,
    pub server_log_tail: Option<String>,
}

impl RunRecord {
    pub fn from_stats(base: &Self, kind: &'static str, conns: usize, target_rate: Option<f64>, s: &RunStats) -> Self {
        Self {
            kind,
            conns,
            target_rate,
            ok_requests: s.ok_requests,
            ok_events: s.ok_events,
            errors: s.error_count(),
            error_classes: s.errors.clone(),
            error_samples: s.error_samples.clone(),
            elapsed_s: s.elapsed.as_secs_f64(),
            req_per_s: s.req_per_s(),
            events_per_s: s.events_per_s(),
            p50_ms: s.pct_ms(0.50),
            p90_ms: s.pct_ms(0.90),
            p99_ms: s.pct_ms(0.99),
            p999_ms: s.pct_ms(0.999),
            max_ms: s.pct_ms(1.0),
            late_sends: s.late_sends,
            send_lag_p99_ms: s.lag_pct_ms(0.99),
            service_p99_ms: s.service_pct_ms(0.99),
            ..base.clone()
        }
    }

    pub fn with_cpu(mut self, server_cpu_s: f64, client_cpu_s: f64, peak_rss_kib: u64) -> Self {
        self.server_cpu_s = server_cpu_s;
        self.client_cpu_s = client_cpu_s;
        self.peak_rss_kib = peak_rss_kib;
        // Tick resolution is 10 ms; guard against a zero reading on tiny runs.
        self.events_per_cpu_s = self.ok_events as f64 / server_cpu_s.max(0.01);
        self
    }

    pub fn one_line(&self) -> String {
        let mut s = format!(
            "{:<9} {:>9} req/s {:>9} ev/s  server {:>6.2} CPU-s  {:>9} ev/CPU-s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            self.kind,
            fmt_num(self.req_per_s),
            fmt_num(self.events_per_s),
            self.server_cpu_s,
            fmt_num(self.events_per_cpu_s),
            self.p50_ms,
            self.p99_ms,
        );
        if let Some(r) = self.target_rate {
            let _ = write!(
                s,
                "  (paced {} req/s; from-send p99 {:.2} ms; generator wake-lag p99 {:.2} ms; {} sends >1 ms behind on a busy connection)",
                fmt_num(r),
                self.service_p99_ms,
                self.send_lag_p99_ms,
                self.late_sends
            );
        }
        if self.errors > 0 {
            let _ = write!(s, "  ERRORS {}: {:?}", self.errors, self.error_classes);
        }
        s
    }
}

/// Median with min/max over rounds.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(mut v: Vec<f64>) -> Option<Self> {
        v.retain(|x| x.is_finite());
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Self { median, min: v[0], max: v[n - 1] })
    }

    pub fn json(self) -> Value {
        json!({"median": self.median, "min": self.min, "max": self.max})
    }
}

#[derive(Debug, Clone)]
pub struct SummaryRow {
    pub metric: &'static str,
    pub ours: Option<Spread>,
    pub peer: Option<Spread>,
    /// ours / peer, computed per round, then median/min/max.
    pub ratio: Option<Spread>,
    pub target: &'static str,
    pub pass: Option<bool>,
}

struct MetricDef {
    metric: &'static str,
    bench: &'static str,
    kind: &'static str,
    value: fn(&RunRecord) -> f64,
    target: &'static str,
    check: Option<fn(&SummaryRow) -> Option<bool>>,
}

fn metric_defs() -> Vec<MetricDef> {
    vec![
        MetricDef {
            metric: "M1a events/server-CPU-s",
            bench: "M1a",
            kind: "saturated",
            value: |r| r.events_per_cpu_s,
            target: "ratio >= 2.0",
            check: Some(|s| s.ratio.map(|r| r.median >= 2.0)),
        },
        MetricDef {
            metric: "M1a events/s (saturated)",
            bench: "M1a",
            kind: "saturated",
            value: |r| r.events_per_s,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "M1a p50 ms (saturated)",
            bench: "M1a",
            kind: "saturated",
            value: |r| r.p50_ms,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "M1a p99 ms (saturated)",
            bench: "M1a",
            kind: "saturated",
            value: |r| r.p99_ms,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "M1a p99 ms @50% load",
            bench: "M1a",
            kind: "half-rate",
            value: |r| r.p99_ms,
            target: "wharf < 10 ms",
            check: Some(|s| s.ours.map(|o| o.median < 10.0)),
        },
        MetricDef {
            metric: "  p99 from actual send",
            bench: "M1a",
            kind: "half-rate",
            value: |r| r.service_p99_ms,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "  generator wake-lag p99",
            bench: "M1a",
            kind: "half-rate",
            value: |r| r.send_lag_p99_ms,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "M1a server CPU-s / run",
            bench: "M1a",
            kind: "saturated",
            value: |r| r.server_cpu_s,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "M1b events/server-CPU-s",
            bench: "M1b",
            kind: "saturated",
            value: |r| r.events_per_cpu_s,
            target: "wharf >= 300k",
            check: Some(|s| s.ours.map(|o| o.median >= 300_000.0)),
        },
        MetricDef {
            metric: "M1b events/s",
            bench: "M1b",
            kind: "saturated",
            value: |r| r.events_per_s,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "M1b p99 ms / request",
            bench: "M1b",
            kind: "saturated",
            value: |r| r.p99_ms,
            target: "",
            check: None,
        },
        MetricDef {
            metric: "M1b server CPU-s / run",
            bench: "M1b",
            kind: "saturated",
            value: |r| r.server_cpu_s,
            target: "",
            check: None,
        },
    ]
}

pub fn summarize(records: &[RunRecord]) -> Vec<SummaryRow> {
    let rounds: Vec<usize> = {
        let mut r: Vec<usize> = records.iter().map(|r| r.round).collect();
        r.dedup();
        r
    };
    metric_defs()
        .into_iter()
        .filter_map(|d| {
            let find = |round: usize, target: &str| {
                records
                    .iter()
                    .find(|r| r.round == round && r.bench == d.bench && r.kind == d.kind && r.target == target)
                    .map(d.value)
            };
            let mut ours = Vec::new();
            let mut peer = Vec::new();
            let mut ratio = Vec::new();
            for &round in &rounds {
                let (o, p) = (find(round, OURS), find(round, PEER));
                ours.extend(o);
                peer.extend(p);
                if let (Some(o), Some(p)) = (o, p) {
                    ratio.push(o / p);
                }
            }
            if ours.is_empty() && peer.is_empty() {
                return None;
            }
            let mut row = SummaryRow {
                metric: d.metric,
                ours: Spread::of(ours),
                peer: Spread::of(peer),
                ratio: Spread::of(ratio),
                target: d.target,
                pass: None,
            };
            row.pass = d.check.and_then(|c| c(&row));
            Some(row)
        })
        .collect()
}

pub fn print(meta: &Meta, records: &[RunRecord], summary: &[SummaryRow]) {
    println!();
    println!(
        "== ingest benchmark: {} round(s), {} s/run, {} conns (M1a) / {} conns (M1b), node {} ==",
        meta.rounds, meta.seconds, meta.conns, meta.bulk_conns, meta.node_version
    );
    println!();
    println!(
        "{:<5} {:<4} {:<9} {:<9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "round",
        "",
        "server",
        "kind",
        "req/s",
        "events/s",
        "srv CPU",
        "cli CPU",
        "ev/CPU-s",
        "p50 ms",
        "p99 ms",
        "RSS MiB",
        "errors"
    );
    for r in records {
        println!(
            "{:<5} {:<4} {:<9} {:<9} {:>9} {:>9} {:>8.2} {:>8.2} {:>10} {:>8.2} {:>8.2} {:>8.0} {:>7}",
            r.round,
            r.bench,
            r.target,
            r.kind,
            fmt_num(r.req_per_s),
            fmt_num(r.events_per_s),
            r.server_cpu_s,
            r.client_cpu_s,
            fmt_num(r.events_per_cpu_s),
            r.p50_ms,
            r.p99_ms,
            r.peak_rss_kib as f64 / 1024.0,
            r.errors
        );
    }
    println!();
    println!(
        "{:<26} {:>24} {:>24} {:>24}  {:<14} result",
        "metric (median [min, max])", OURS, PEER, "ratio wharf/peer", "target"
    );
    for s in summary {
        let pass = match s.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "",
        };
        println!(
            "{:<26} {:>24} {:>24} {:>24}  {:<14} {pass}",
            s.metric,
            fmt_spread(s.ours, false),
            fmt_spread(s.peer, false),
            fmt_spread(s.ratio, true),
            s.target,
        );
    }
    let mut any_err = false;
    for r in records.iter().filter(|r| r.errors > 0) {
        if !any_err {
            println!();
            println!("errors (non-2xx responses and I/O failures):");
            any_err = true;
        }
        println!("  round {} {} {} {}: {} errors {:?}", r.round, r.bench, r.target, r.kind, r.errors, r.error_classes);
        for sample in &r.error_samples {
            println!("    {sample}");
        }
    }
    println!();
}

pub fn write_json(
    root: &Path,
    meta: &Meta,
    records: &[RunRecord],
    summary: &[SummaryRow],
    failure: Option<&anyhow::Error>,
) -> Result<PathBuf> {
    let dir = root.join("bench/results");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join(format!("ingest-{}.json", utc_stamp()));
    let doc = json!({
        "benchmark": "ingest",
        "meta": {
            "smoke": meta.smoke,
            "rounds": meta.rounds,
            "seconds_per_run": meta.seconds,
            "warmup_seconds": meta.warmup,
            "m1a_conns": meta.conns,
            "m1b_conns": meta.bulk_conns,
            "node_version": meta.node_version,
            "wharf_binary": meta.wharf,
            "m1a_avg_body_bytes": meta.m1a_body_bytes,
            "m1b_avg_body_bytes": meta.m1b_body_bytes,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        },
        "summary": summary.iter().map(|s| json!({
            "metric": s.metric,
            "ours": s.ours.map(Spread::json),
            "peer": s.peer.map(Spread::json),
            "ratio": s.ratio.map(Spread::json),
            "target": s.target,
            "pass": s.pass,
        })).collect::<Vec<_>>(),
        "runs": records.iter().map(record_json).collect::<Vec<_>>(),
        "error": failure.map(|e| format!("{e:#}")),
    });
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

fn record_json(r: &RunRecord) -> Value {
    json!({
        "round": r.round,
        "bench": r.bench,
        "server": r.target,
        "kind": r.kind,
        "conns": r.conns,
        "target_rate_req_per_s": r.target_rate,
        "ok_requests": r.ok_requests,
        "ok_events": r.ok_events,
        "errors": r.errors,
        "error_classes": r.error_classes,
        "error_samples": r.error_samples,
        "elapsed_s": r.elapsed_s,
        "req_per_s": r.req_per_s,
        "events_per_s": r.events_per_s,
        "server_cpu_s": r.server_cpu_s,
        "client_cpu_s": r.client_cpu_s,
        "events_per_server_cpu_s": r.events_per_cpu_s,
        "latency_ms": {"p50": r.p50_ms, "p90": r.p90_ms, "p99": r.p99_ms, "p999": r.p999_ms, "max": r.max_ms},
        "late_sends": r.late_sends,
        "send_lag_p99_ms": r.send_lag_p99_ms,
        "p99_from_actual_send_ms": r.service_p99_ms,
        "server_peak_rss_kib": r.peak_rss_kib,
        "data_dir_bytes": r.data_dir_bytes,
        "server_log_tail": r.server_log_tail,
    })
}

pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

pub fn fmt_spread(s: Option<Spread>, ratio: bool) -> String {
    match s {
        None => "-".into(),
        Some(s) if ratio => format!("{:.2}x [{:.2}, {:.2}]", s.median, s.min, s.max),
        Some(s) => format!("{} [{}, {}]", fmt_num(s.median), fmt_num(s.min), fmt_num(s.max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(round: usize, target: &'static str, epc: f64) -> RunRecord {
        RunRecord { round, bench: "M1a", target, kind: "saturated", events_per_cpu_s: epc, ..RunRecord::default() }
    }

    #[test]
    fn ratio_is_per_round_then_median() {
        let recs = vec![
            rec(1, OURS, 30.0),
            rec(1, PEER, 10.0),
            rec(2, OURS, 10.0),
            rec(2, PEER, 10.0),
            rec(3, OURS, 40.0),
            rec(3, PEER, 20.0),
        ];
        let s = summarize(&recs);
        let r = s[0].ratio.unwrap();
        assert_eq!((r.median, r.min, r.max), (2.0, 1.0, 3.0));
        assert_eq!(s[0].pass, Some(true));
    }
}
