//! `cargo xtask bench freshness` (M6): event accepted → queryable in the warehouse, with
//! background ingest, wharf's periodic sync vs "a cron + Python exporter" over the same
//! cadence (bench/peers/cron_exporter.py), interleaved per round.
//!
//! Method: a paced load posts single events at `--rate` (1 M/hour ≈ 280/s) while marker
//! events (unique_id `mk-…`) are posted every `--marker-every` s and their 2xx time noted. A
//! watcher (bench/peers/parquet_watch.py) lists the Parquet folder every `--poll` s and notes
//! when each marker first appears; freshness = appear time − 2xx time. Both targets ingest
//! through a wharf server; only the exporter differs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::loadgen::{self, Pace, RunSpec};
use super::process::TempDir;
use super::results::{self, Check, Row, percentile};
use super::wharf::{self, Instance, path_str};
use super::{Common, python, workload, workspace_root};

const OURS: &str = "wharf";
const PEER: &str = "cron-py";

#[derive(Debug, Clone)]
pub struct Opts {
    pub common: Common,
    /// Export cadence in whole seconds (`WHARF_PERIODIC_INTERVAL`, the cron period).
    pub cadence_s: u64,
    /// Seconds of background load and markers per target.
    pub seconds: f64,
    /// Background events per second.
    pub rate: f64,
    pub marker_every: f64,
    /// Watcher poll interval (bounds the measurement's own resolution).
    pub poll: f64,
}

impl Opts {
    pub fn new(smoke: bool) -> Self {
        Self {
            common: Common::new(smoke),
            cadence_s: if smoke { 2 } else { 30 },
            seconds: if smoke { 20.0 } else { 300.0 },
            rate: 1_000_000.0 / 3600.0,
            marker_every: if smoke { 0.5 } else { 2.0 },
            poll: if smoke { 0.2 } else { 0.5 },
        }
    }
}

#[derive(Debug, Clone, Default)]
struct FreshRun {
    round: usize,
    target: &'static str,
    sent: usize,
    freshness_s: Vec<f64>,
    /// Export time of each window that carried rows (wharf: the run's duration).
    window_export_s: Vec<f64>,
    /// Rows of those windows (same order).
    window_rows: Vec<u64>,
    /// CPU-seconds of the exporter: wharf's server (which also ingests) or the cron script.
    cpu_s: f64,
    background_events: u64,
    background_errors: u64,
}

impl FreshRun {
    fn p(&self, q: f64) -> f64 {
        percentile(&self.freshness_s, q)
    }

    fn export_median(&self) -> f64 {
        percentile(&self.window_export_s, 0.5)
    }

    /// Export seconds per 1,000 rows over all windows: fair when window sizes differ.
    fn export_per_k_rows(&self) -> f64 {
        let rows: u64 = self.window_rows.iter().sum();
        self.window_export_s.iter().sum::<f64>() * 1000.0 / rows.max(1) as f64
    }

    fn line(&self) -> String {
        format!(
            "{:<8} markers {}/{} seen  freshness p50 {:.2} s p95 {:.2} s max {:.2} s  export/window median {:.3} s over {} windows ({} rows)  CPU {:.2} s  background {} events ({} errors)",
            self.target,
            self.freshness_s.len(),
            self.sent,
            self.p(0.5),
            self.p(0.95),
            percentile(&self.freshness_s, 1.0),
            self.export_median(),
            self.window_export_s.len(),
            self.window_rows.iter().sum::<u64>(),
            self.cpu_s,
            self.background_events,
            self.background_errors
        )
    }

    fn json(&self) -> Value {
        json!({
            "round": self.round, "target": self.target, "markers_sent": self.sent,
            "markers_seen": self.freshness_s.len(), "freshness_s": self.freshness_s,
            "p50_s": self.p(0.5), "p95_s": self.p(0.95), "window_export_s": self.window_export_s,
            "export_median_s": self.export_median(), "window_rows": self.window_rows,
            "export_s_per_1k_rows": self.export_per_k_rows(), "exporter_cpu_s": self.cpu_s,
            "background_events": self.background_events, "background_errors": self.background_errors,
        })
    }
}

pub fn run(opts: &Opts) -> Result<()> {
    let root = workspace_root();
    let bin = wharf::locate(opts.common.build, opts.common.wharf.as_deref())?;
    let py = python::interpreter()?;
    let tmp = TempDir::new("wharf-bench-fresh")?;
    let mut runs = Vec::new();
    let mut failure = None;
    'rounds: for round in 1..=opts.common.rounds {
        println!("round {round}/{}:", opts.common.rounds);
        for target in [OURS, PEER] {
            match run_target(opts, &bin, &py, &tmp, round, target) {
                Ok(r) => {
                    println!("  {}", r.line());
                    runs.push(r);
                }
                Err(e) => {
                    failure = Some(e.context(format!("round {round} {target}")));
                    break 'rounds;
                }
            }
        }
    }

    let pick = |t: &str, f: fn(&FreshRun) -> f64| -> Vec<f64> {
        (1..=opts.common.rounds).filter_map(|r| runs.iter().find(|x| x.round == r && x.target == t)).map(f).collect()
    };
    let p95_target = opts.cadence_s as f64 + 60.0;
    let rows = vec![
        Row::new("freshness p50 s", PEER, &pick(OURS, |r| r.p(0.5)), &pick(PEER, |r| r.p(0.5))),
        Row::new("freshness p95 s", PEER, &pick(OURS, |r| r.p(0.95)), &pick(PEER, |r| r.p(0.95)))
            .target(format!("wharf <= {p95_target} s"), Check::OursAtMost(p95_target)),
        Row::new(
            "export s per window (median)",
            PEER,
            &pick(OURS, FreshRun::export_median),
            &pick(PEER, FreshRun::export_median),
        )
        .target("ratio <= 0.25", Check::RatioAtMost(0.25)),
        Row::new(
            "export s per 1k rows",
            PEER,
            &pick(OURS, FreshRun::export_per_k_rows),
            &pick(PEER, FreshRun::export_per_k_rows),
        ),
        Row::new("markers seen / sent", PEER, &pick(OURS, seen_ratio), &pick(PEER, seen_ratio)),
        Row::new("exporter CPU-s (wharf: +ingest)", PEER, &pick(OURS, |r| r.cpu_s), &pick(PEER, |r| r.cpu_s)),
    ];
    let title = format!(
        "M6 freshness: cadence {} s, {} s per target, {:.0} events/s background, {} round(s)",
        opts.cadence_s, opts.seconds, opts.rate, opts.common.rounds
    );
    results::print(&title, &rows);
    let meta = json!({
        "smoke": opts.common.smoke, "rounds": opts.common.rounds, "cadence_s": opts.cadence_s,
        "seconds_per_target": opts.seconds, "background_events_per_s": opts.rate,
        "marker_every_s": opts.marker_every, "watcher_poll_s": opts.poll,
        "wharf_binary": path_str(&bin), "peers": python::versions(&py),
    });
    let runs_json: Vec<Value> = runs.iter().map(FreshRun::json).collect();
    let path = results::write(&root, "freshness", meta, &rows, &runs_json, failure.as_ref())?;
    println!("results: {}", path.display());
    failure.map_or(Ok(()), Err)
}

fn seen_ratio(r: &FreshRun) -> f64 {
    r.freshness_s.len() as f64 / r.sent.max(1) as f64
}

fn now_s() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn run_target(
    opts: &Opts,
    bin: &Path,
    py: &Path,
    tmp: &TempDir,
    round: usize,
    target: &'static str,
) -> Result<FreshRun> {
    let tag = format!("r{round}-{target}");
    // The peer's wharf only ingests: no connection, so no periodic sync competes with cron.
    let interval = if target == OURS { format!("{}s", opts.cadence_s) } else { "1h".into() };
    let vars = [("WHARF_PERIODIC_INTERVAL", interval), ("WHARF_LOG", "warn".to_owned())];
    let mut inst = Instance::start(bin, None, tmp.path(), &tag, &vars)?;
    let out = inst.data.path().join("out");
    std::fs::create_dir_all(&out)?;
    let out_s = path_str(&out);
    let mut cron = None;
    if target == OURS {
        inst.connect_local(&out)?;
        inst.wait_historical(Duration::from_secs(60), || {})?;
    } else {
        let (db, every) = (path_str(&inst.db()), opts.cadence_s.to_string());
        let args = ["--db", &db, "--out", &out_s, "--every", &every, "--account", &inst.account];
        cron = Some(python::Helper::start(py, "cron_exporter.py", &args, tmp.path().join(format!("{tag}-cron.log")))?);
    }
    let prefix = format!("mk-{:x}-{tag}-", std::process::id());
    let interval = opts.poll.to_string();
    let watch_args = ["--dir", out_s.as_str(), "--prefix", &prefix, "--interval", &interval];
    let mut watcher =
        python::Helper::start(py, "parquet_watch.py", &watch_args, tmp.path().join(format!("{tag}-watch.log")))?;

    let cpu = |inst: &Instance, cron: &Option<python::Helper>| -> f64 {
        match cron {
            Some(c) => c.cpu().map_or(0.0, |c| c.cpu_s),
            None => inst.server.cpu().map_or(0.0, |c| c.cpu_s),
        }
    };
    let cpu0 = cpu(&inst, &cron);

    // Background ingest on its own threads, paced, for the whole marker period.
    let auth = inst.auth();
    let hdrs =
        [("Authorization", auth.as_str()), ("revision", "2026-10-15"), ("Content-Type", "application/vnd.api+json")];
    let bodies = workload::single_events(1024, &format!("bg{round}{target}"));
    let reqs = loadgen::prepare(&bodies, "/api/events", inst.server.addr, &hdrs);
    let spec = RunSpec {
        addr: inst.server.addr,
        conns: 4,
        duration: Duration::from_secs_f64(opts.seconds),
        pace: Pace::Rate(opts.rate),
        phase: round as u8,
    };
    let bg = std::thread::spawn({
        let reqs = Arc::clone(&reqs);
        move || loadgen::run(spec, &reqs)
    });

    let acked = send_markers(&inst, opts, &prefix)?;
    let bg = bg.join().map_err(|_| anyhow::anyhow!("background load panicked"))??;

    // Wait for every marker (bounded by the p95 target's slack), checking the helpers live.
    let deadline = Instant::now() + Duration::from_secs(opts.cadence_s + 60);
    let seen = loop {
        let seen: HashMap<String, f64> = watcher
            .lines()
            .into_iter()
            .filter_map(|v| Some((v["uid"].as_str()?.to_owned(), v["seen"].as_f64()?)))
            .collect();
        if acked.keys().all(|k| seen.contains_key(k)) || Instant::now() >= deadline {
            break seen;
        }
        watcher.check_alive()?;
        if let Some(c) = cron.as_mut() {
            c.check_alive()?;
        }
        inst.server.check_alive()?;
        std::thread::sleep(Duration::from_millis(200));
    };
    let cpu_s = cpu(&inst, &cron) - cpu0;

    let windows = windows(&inst, cron.as_ref())?;
    let freshness_s = acked.iter().filter_map(|(uid, ack)| seen.get(uid).map(|s| s - ack)).collect();
    Ok(FreshRun {
        round,
        target,
        sent: acked.len(),
        freshness_s,
        window_export_s: windows.iter().map(|w| w.0).collect(),
        window_rows: windows.iter().map(|w| w.1).collect(),
        cpu_s,
        background_events: bg.ok_events,
        background_errors: bg.error_count(),
    })
}

/// Posts one marker event every `marker_every` s for `seconds`; returns uid → 2xx time.
fn send_markers(inst: &Instance, opts: &Opts, prefix: &str) -> Result<HashMap<String, f64>> {
    let start = Instant::now();
    let mut acked = HashMap::new();
    for i in 0.. {
        let due = start + Duration::from_secs_f64(opts.marker_every * i as f64);
        if due > start + Duration::from_secs_f64(opts.seconds) {
            break;
        }
        // Pacing the markers, not synchronisation.
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let uid = format!("{prefix}{i:06}");
        let body = json!({"data": {"type": "event", "attributes": {
            "properties": {"bench": "freshness"},
            "unique_id": uid,
            "metric": {"data": {"type": "metric", "attributes": {"name": "Bench Marker"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "marker@bench.example"}}},
        }}});
        let (status, v) = inst.call("POST", "/api/events", Some(&body), "application/vnd.api+json")?;
        if !(200..300).contains(&status) {
            bail!("marker POST /api/events: {status} {v}");
        }
        acked.insert(uid, now_s());
    }
    Ok(acked)
}

/// (export seconds, rows) of every window that carried rows: the cron script's lines, or
/// wharf's periodic events sync runs (the newest 200).
fn windows(inst: &Instance, cron: Option<&python::Helper>) -> Result<Vec<(f64, u64)>> {
    let all: Vec<(f64, u64)> = match cron {
        Some(c) => c.lines().iter().filter_map(|l| Some((l["export_s"].as_f64()?, l["rows"].as_u64()?))).collect(),
        None => {
            let sync = inst.events_sync("periodic")?.context("no periodic events sync")?;
            let id = sync["id"].as_str().context("sync id")?;
            inst.runs(id)?
                .iter()
                .filter_map(|r| Some((r["duration_ms"].as_f64()? / 1000.0, r["rows"].as_u64()?)))
                .collect()
        }
    };
    Ok(all.into_iter().filter(|w| w.1 > 0).collect())
}
