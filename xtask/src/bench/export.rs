//! `cargo xtask bench export` (M3): every event of the store to local Parquet, end to end,
//! wharf's historical sync vs DuckDB `COPY … (FORMAT parquet, COMPRESSION zstd)` and a pyarrow
//! `ParquetWriter` over the same rows (bench/peers/export_peer.py), interleaved per round.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::process::{TempDir, rss_parts_kib};
use super::report::fmt_num;
use super::results::{self, Check, Row, mib};
use super::wharf::{self, Dataset, Instance, path_str};
use super::{Common, python, workspace_root};

#[derive(Debug, Clone)]
pub struct Opts {
    pub common: Common,
    pub events: u64,
    /// Profiles of the synthetic shop (default: events / 100, at least 1,000).
    pub profiles: Option<u64>,
    pub seed: u64,
    /// `WHARF_SYNC_BATCH_ROWS` for the server (rows per run); its default when unset.
    pub batch_rows: Option<u64>,
}

impl Opts {
    pub fn new(smoke: bool) -> Self {
        Self {
            common: Common::new(smoke),
            events: if smoke { 200_000 } else { 10_000_000 },
            profiles: None,
            seed: 7,
            batch_rows: None,
        }
    }
}

pub fn profiles_for(events: u64) -> u64 {
    (events / 100).max(1_000)
}

/// One export, by wharf or a peer.
#[derive(Debug, Clone, Default)]
pub struct ExportRun {
    pub round: usize,
    pub target: &'static str,
    pub events: u64,
    pub rows: u64,
    /// Wall seconds of the export itself (wharf: PUT /v1/connection → historical sync completed;
    /// peers: after their imports → file closed).
    pub seconds: f64,
    /// CPU-seconds of the exporting process during the export.
    pub cpu_s: f64,
    /// VmHWM of the exporting process.
    pub peak_rss_kib: u64,
    /// wharf: highest RssAnon / RssFile seen while polling during the export.
    pub peak_anon_kib: Option<u64>,
    pub peak_file_kib: Option<u64>,
    pub bytes: u64,
    pub files: u64,
    /// wharf: `count(DISTINCT id)` read back with DuckDB.
    pub distinct_ids: Option<u64>,
    pub copy_s: Option<f64>,
}

impl ExportRun {
    pub fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }

    pub fn rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }

    pub fn line(&self) -> String {
        let parts = match (self.peak_anon_kib, self.peak_file_kib) {
            (Some(a), Some(f)) => format!(" (polled anon {:.0} + file {:.0})", a as f64 / 1024.0, f as f64 / 1024.0),
            _ => String::new(),
        };
        format!(
            "{:<8} {:>9} rows in {:>7.2} s = {:>9} rows/s  CPU {:>7.2} s  peak RSS {:>7.1} MiB{parts}  {} in {} file(s)",
            self.target,
            self.rows,
            self.seconds,
            fmt_num(self.rows_per_s()),
            self.cpu_s,
            self.rss_mib(),
            mib(self.bytes as f64),
            self.files
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "round": self.round, "target": self.target, "events": self.events, "rows": self.rows,
            "seconds": self.seconds, "rows_per_s": self.rows_per_s(), "cpu_s": self.cpu_s,
            "peak_rss_kib": self.peak_rss_kib, "peak_rss_anon_kib_polled": self.peak_anon_kib,
            "peak_rss_file_kib_polled": self.peak_file_kib, "bytes": self.bytes, "files": self.files,
            "distinct_ids": self.distinct_ids, "dataset_copy_s": self.copy_s,
        })
    }
}

/// What every export run needs.
pub struct Env {
    pub bin: PathBuf,
    pub py: PathBuf,
    pub tmp: TempDir,
    pub batch_rows: Option<u64>,
}

impl Env {
    pub fn new(common: &Common, batch_rows: Option<u64>) -> Result<Self> {
        let bin = wharf::locate(common.build, common.wharf.as_deref())?;
        let py = python::interpreter()?;
        // Under the target dir's filesystem, not tmpfs: fsync and page cache costs are real.
        Ok(Self { bin, py, tmp: TempDir::new("wharf-bench-export")?, batch_rows })
    }

    pub fn dataset(&self, common: &Common, events: u64, profiles: Option<u64>, seed: u64) -> Result<Dataset> {
        let profiles = profiles.unwrap_or_else(|| profiles_for(events));
        Dataset::ensure(&self.bin, &self.py, events, profiles, seed, common.reload_data)
    }
}

/// wharf: a server over a copy of the dataset, then the historical events sync to local Parquet.
pub fn run_ours(env: &Env, ds: &Dataset, round: usize) -> Result<ExportRun> {
    let tag = format!("r{round}-wharf-{}", ds.events);
    let mut vars = vec![("WHARF_PERIODIC_INTERVAL", "1h".to_owned()), ("WHARF_LOG", "warn".to_owned())];
    if let Some(n) = env.batch_rows {
        vars.push(("WHARF_SYNC_BATCH_ROWS", n.to_string()));
    }
    let mut inst = Instance::start(&env.bin, Some(ds), env.tmp.path(), &tag, &vars)?;
    let out = inst.data.path().join("out");
    std::fs::create_dir_all(&out)?;
    let cpu0 = inst.server.cpu()?;
    let started = Instant::now();
    inst.connect_local(&out)?;
    // Generous: 10 M rows at a pessimistic 5 k rows/s is ~35 min.
    let timeout = Duration::from_secs(120 + ds.events / 5_000);
    let pid = inst.server.pid();
    let (mut anon, mut file) = (0, 0);
    inst.wait_historical(timeout, || {
        let (a, f) = rss_parts_kib(pid);
        (anon, file) = (anon.max(a), file.max(f));
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu1 = inst.server.cpu()?;
    inst.server.check_alive()?;
    // Stopped before the files are checked, so the check does not compete with it.
    inst.server.stop();

    let pattern = path_str(&out.join("klaviyo_event").join("*.parquet"));
    let v = python::run(&env.py, "verify_parquet.py", &[&pattern], &env.tmp.path().join(format!("{tag}-verify.log")))?;
    let get = |k: &str| v.report[k].as_u64().unwrap_or(0);
    let run = ExportRun {
        round,
        target: "wharf",
        events: ds.events,
        rows: get("rows"),
        seconds,
        cpu_s: cpu1.cpu_s - cpu0.cpu_s,
        peak_rss_kib: cpu1.peak_rss_kib,
        peak_anon_kib: Some(anon),
        peak_file_kib: Some(file),
        bytes: get("bytes"),
        files: get("files"),
        distinct_ids: Some(get("distinct_ids")),
        copy_s: Some(inst.copy_s),
    };
    if run.rows != ds.events || run.distinct_ids != Some(ds.events) {
        bail!(
            "wharf export check failed: count(*) = {}, count(DISTINCT id) = {:?}, expected {}",
            run.rows,
            run.distinct_ids,
            ds.events
        );
    }
    Ok(run)
}

/// A Python peer (`duckdb` or `pyarrow`) over the dataset's SQLite file, read-only.
pub fn run_peer(env: &Env, ds: &Dataset, round: usize, mode: &'static str) -> Result<ExportRun> {
    let tag = format!("r{round}-{mode}-{}", ds.events);
    let out = env.tmp.path().join(format!("{tag}.parquet"));
    let args = ["--db", &path_str(&ds.db()), "--out", &path_str(&out), "--account", &ds.account];
    let mut all = vec![mode];
    all.extend(args);
    let f = python::run(&env.py, "export_peer.py", &all, &env.tmp.path().join(format!("{tag}.log")))?;
    let r = &f.report;
    let run = ExportRun {
        round,
        target: mode,
        events: ds.events,
        rows: r["rows"].as_u64().unwrap_or(0),
        seconds: r["seconds"].as_f64().unwrap_or(f64::NAN),
        cpu_s: r["cpu_s"].as_f64().unwrap_or(f64::NAN),
        peak_rss_kib: r["peak_rss_kib"].as_u64().unwrap_or(0).max(f.polled_rss_kib),
        peak_anon_kib: None,
        peak_file_kib: None,
        bytes: r["bytes"].as_u64().unwrap_or(0),
        files: 1,
        distinct_ids: None,
        copy_s: None,
    };
    let _ = std::fs::remove_file(&out);
    if run.rows != ds.events {
        bail!("{mode} peer exported {} rows, expected {}", run.rows, ds.events);
    }
    Ok(run)
}

pub fn run(opts: &Opts) -> Result<()> {
    let root = workspace_root();
    let env = Env::new(&opts.common, opts.batch_rows)?;
    let versions = python::versions(&env.py);
    let ds = env.dataset(&opts.common, opts.events, opts.profiles, opts.seed)?;
    let mut runs: Vec<ExportRun> = Vec::new();
    let failure = measure(opts, &env, &ds, &mut runs).err();

    let pick = |t: &str, f: fn(&ExportRun) -> f64| -> Vec<f64> {
        (1..=opts.common.rounds).filter_map(|r| runs.iter().find(|x| x.round == r && x.target == t).map(f)).collect()
    };
    let rows = vec![
        Row::new(
            "rows/s end to end",
            "duckdb",
            &pick("wharf", ExportRun::rows_per_s),
            &pick("duckdb", ExportRun::rows_per_s),
        )
        .target("ratio >= 3.0", Check::RatioAtLeast(3.0)),
        Row::new(
            "rows/s end to end",
            "pyarrow",
            &pick("wharf", ExportRun::rows_per_s),
            &pick("pyarrow", ExportRun::rows_per_s),
        ),
        Row::new("file bytes", "pyarrow", &pick("wharf", |r| r.bytes as f64), &pick("pyarrow", |r| r.bytes as f64))
            .target("ratio <= 1.1", Check::RatioAtMost(1.1)),
        Row::new("file bytes", "duckdb", &pick("wharf", |r| r.bytes as f64), &pick("duckdb", |r| r.bytes as f64)),
        Row::new("CPU-s of the exporter", "duckdb", &pick("wharf", |r| r.cpu_s), &pick("duckdb", |r| r.cpu_s)),
        Row::new("peak RSS MiB", "duckdb", &pick("wharf", ExportRun::rss_mib), &pick("duckdb", ExportRun::rss_mib)),
    ];
    let title = format!("M3 export to local Parquet: {} events, {} round(s)", ds.events, opts.common.rounds);
    results::print(&title, &rows);
    let meta = json!({
        "smoke": opts.common.smoke, "rounds": opts.common.rounds, "events": ds.events, "seed": opts.seed,
        "dataset": path_str(&ds.dir), "dataset_load_s": ds.load_s, "sync_batch_rows": opts.batch_rows,
        "wharf_binary": path_str(&env.bin), "python": path_str(&env.py), "peers": versions,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    let runs_json: Vec<Value> = runs.iter().map(ExportRun::json).collect();
    let path = results::write(&root, "export", meta, &rows, &runs_json, failure.as_ref())?;
    println!("results: {}", path.display());
    failure.map_or(Ok(()), Err)
}

fn measure(opts: &Opts, env: &Env, ds: &Dataset, runs: &mut Vec<ExportRun>) -> Result<()> {
    for round in 1..=opts.common.rounds {
        println!("round {round}/{}:", opts.common.rounds);
        let r = run_ours(env, ds, round).with_context(|| format!("round {round} wharf"))?;
        println!("  {}   (dataset copy {:.1} s, not measured)", r.line(), r.copy_s.unwrap_or(0.0));
        runs.push(r);
        for mode in ["duckdb", "pyarrow"] {
            let r = run_peer(env, ds, round, mode).with_context(|| format!("round {round} {mode}"))?;
            println!("  {}", r.line());
            runs.push(r);
        }
    }
    Ok(())
}
