//! `cargo xtask bench ingest`: M1a (single-event) and M1b (bulk) HTTP ingest,
//! wharf vs the Node toy (bench/peers/node-toy.js), interleaved per round.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::loadgen::{self, Body, Pace, Prepared, RunSpec, RunStats};
use super::process::{ProcCpu, Server, TempDir, free_addr};
use super::report::{self, Meta, RunRecord};
use super::{workload, workspace_root};

const API_REVISION: &str = "2026-10-15";
const SINGLE_PATH: &str = "/api/events";
const BULK_PATH: &str = "/api/event-bulk-create-jobs";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    M1a,
    M1b,
}

impl Which {
    pub fn label(self) -> &'static str {
        match self {
            Self::M1a => "M1a",
            Self::M1b => "M1b",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Ours,
    Peer,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ours => "wharf",
            Self::Peer => "node-toy",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Opts {
    pub smoke: bool,
    pub rounds: usize,
    pub seconds: f64,
    pub warmup: f64,
    pub build: bool,
    pub wharf: Option<PathBuf>,
    pub conns: usize,
    pub bulk_conns: usize,
    pub only: Option<Which>,
    pub peer_only: bool,
    /// Fixed M1a paced rate (req/s) instead of half of saturated.
    pub rate: Option<f64>,
}

impl Opts {
    pub fn new(smoke: bool) -> Self {
        Self {
            smoke,
            rounds: if smoke { 1 } else { 3 },
            seconds: if smoke { 3.0 } else { 15.0 },
            warmup: if smoke { 0.5 } else { 2.0 },
            build: true,
            wharf: None,
            // Enough in-flight requests to saturate 2 cores and give group
            // commit something to group; the Node toy is indifferent.
            conns: 64,
            bulk_conns: 8,
            only: None,
            peer_only: false,
            rate: None,
        }
    }
}

/// Everything a run needs besides the server: prepared bodies and tools.
struct Ctx<'a> {
    opts: &'a Opts,
    tmp: TempDir,
    node: String,
    node_toy: PathBuf,
    wharf: Option<PathBuf>,
    single: Vec<Body>,
    bulk: Vec<Body>,
}

pub fn run(opts: &Opts) -> Result<()> {
    let root = workspace_root();
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let node_version = tool_version(&node, "--version")
        .with_context(|| format!("`{node} --version` failed; the peer needs Node 20"))?;
    if !node_version.starts_with("v20.") {
        eprintln!("warning: peer spec says Node 20, found {node_version}");
    }
    let wharf = if opts.peer_only { None } else { Some(locate_wharf(opts)?) };

    // Rendering before any server starts keeps generation out of the measurements.
    let nonce = format!("b{:x}", std::process::id());
    let single = workload::single_events(4096, &nonce);
    let bulk = workload::bulk_events(if opts.smoke { 8 } else { 24 }, &nonce);
    // Every event must carry a patchable unique_id, or the server could de-dup.
    if !single.iter().chain(&bulk).all(|b| b.slot_count() as u64 == b.events) {
        bail!("workload bug: unique_id slots do not match event counts");
    }
    let avg = |v: &[Body]| v.iter().map(Body::len).sum::<usize>() / v.len().max(1);
    println!(
        "workload: M1a {} bodies, avg {} B; M1b {} bodies x {} events, avg {} KiB",
        single.len(),
        avg(&single),
        bulk.len(),
        bulk.first().map_or(0, |b| b.events),
        avg(&bulk) / 1024
    );

    let ctx = Ctx {
        opts,
        tmp: TempDir::new("wharf-bench")?,
        node,
        node_toy: root.join("bench/peers/node-toy.js"),
        wharf,
        single,
        bulk,
    };
    let meta = Meta {
        smoke: opts.smoke,
        rounds: opts.rounds,
        seconds: opts.seconds,
        warmup: opts.warmup,
        conns: opts.conns,
        bulk_conns: opts.bulk_conns,
        node_version,
        wharf: ctx.wharf.as_ref().map(|p| p.display().to_string()),
        m1a_body_bytes: avg(&ctx.single),
        m1b_body_bytes: avg(&ctx.bulk),
    };

    let benches: Vec<Which> =
        [Which::M1a, Which::M1b].into_iter().filter(|w| opts.only.is_none_or(|o| o == *w)).collect();
    let targets: &[Target] = if opts.peer_only { &[Target::Peer] } else { &[Target::Ours, Target::Peer] };

    let mut records = Vec::new();
    let mut failure = None;
    'outer: for round in 1..=opts.rounds {
        for &which in &benches {
            for &target in targets {
                println!("round {round}/{}: {} {} ...", opts.rounds, which.label(), target.label());
                match run_one(&ctx, round, which, target) {
                    Ok(recs) => {
                        for r in &recs {
                            println!("  {}", r.one_line());
                        }
                        records.extend(recs);
                    }
                    Err(e) => {
                        failure = Some(e.context(format!("round {round} {} {}", which.label(), target.label())));
                        break 'outer;
                    }
                }
            }
        }
    }

    // Report whatever was measured, even when a run failed part-way.
    let summary = report::summarize(&records);
    report::print(&meta, &records, &summary);
    let path = report::write_json(&root, &meta, &records, &summary, failure.as_ref())?;
    println!("results: {}", path.display());
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn tool_version(cmd: &str, arg: &str) -> Result<String> {
    let out = Command::new(cmd).arg(arg).output()?;
    if !out.status.success() {
        bail!("exit {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn locate_wharf(opts: &Opts) -> Result<PathBuf> {
    super::wharf::locate(opts.build, opts.wharf.as_deref())
}

/// A started server plus what requests to it need.
struct Started {
    server: Server,
    api_key: String,
    /// Fresh wharf data dir, removed when the run ends.
    data: Option<TempDir>,
}

fn start(ctx: &Ctx<'_>, target: Target, tag: &str) -> Result<Started> {
    let addr = free_addr()?;
    let log = ctx.tmp.path().join(format!("{tag}.log"));
    match target {
        Target::Peer => {
            let mut cmd = Command::new(&ctx.node);
            cmd.arg(&ctx.node_toy).arg(addr.port().to_string());
            Ok(Started {
                server: Server::spawn(target.label(), cmd, addr, log)?,
                // The toy ignores auth; send a same-length header for parity.
                api_key: "pk_bench_peer_0000000000000000000000000000".into(),
                data: None,
            })
        }
        Target::Ours => {
            let bin = ctx.wharf.as_ref().context("no wharf binary")?;
            let data = TempDir::new_in(ctx.tmp.path(), tag)?;
            let out = Command::new(bin)
                .arg("--data-dir")
                .arg(data.path())
                .args(["account", "create", "--name", "bench", "--json"])
                .output()
                .context("run `wharf account create`")?;
            if !out.status.success() {
                bail!("`wharf account create` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
            }
            let api_key = parse_api_key(&out.stdout)?;
            let mut cmd = Command::new(bin);
            cmd.arg("--data-dir").arg(data.path()).args(["serve", "--http", &addr.to_string()]);
            Ok(Started { server: Server::spawn(target.label(), cmd, addr, log)?, api_key, data: Some(data) })
        }
    }
}

fn parse_api_key(stdout: &[u8]) -> Result<String> {
    // Tolerate log lines before the JSON object.
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("no JSON in `account create` output: {text:?}"))?;
    let v: serde_json::Value = serde_json::from_str(line.trim())?;
    v["api_key"].as_str().map(str::to_owned).with_context(|| format!("no api_key in {line}"))
}

fn headers(api_key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Authorization", format!("Klaviyo-API-Key {api_key}")),
        ("revision", API_REVISION.into()),
        ("Content-Type", "application/vnd.api+json".into()),
        ("Accept", "application/vnd.api+json".into()),
    ]
}

fn run_one(ctx: &Ctx<'_>, round: usize, which: Which, target: Target) -> Result<Vec<RunRecord>> {
    let tag = format!("r{round}-{}-{}", which.label().to_lowercase(), target.label());
    let mut st = start(ctx, target, &tag)?;
    let addr = st.server.addr;
    let hdrs = headers(&st.api_key);
    let hdrs: Vec<(&str, &str)> = hdrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (bodies, path, conns) = match which {
        Which::M1a => (&ctx.single, SINGLE_PATH, ctx.opts.conns),
        Which::M1b => (&ctx.bulk, BULK_PATH, ctx.opts.bulk_conns),
    };
    let reqs = loadgen::prepare(bodies, path, addr, &hdrs);
    let spec = |pace, secs: f64, phase| RunSpec { addr, conns, duration: Duration::from_secs_f64(secs), pace, phase };
    let base = RunRecord { round, bench: which.label(), target: target.label(), ..RunRecord::default() };

    // Warm-up: connections, allocator, JIT (Node), caches; results discarded.
    if ctx.opts.warmup > 0.0 {
        loadgen::run(spec(Pace::Closed, ctx.opts.warmup, 0), &reqs)?;
    }
    let mut out = Vec::new();
    let sat = measured(&mut st, &reqs, spec(Pace::Closed, ctx.opts.seconds, 1), &base, "saturated")?;
    if which == Which::M1a {
        // p99 target is stated at half of saturation: pace at 50% of what
        // this very server just sustained.
        let rate = ctx.opts.rate.unwrap_or(sat.req_per_s * 0.5);
        out.push(sat);
        if rate > 0.0 {
            let half = measured(&mut st, &reqs, spec(Pace::Rate(rate), ctx.opts.seconds, 2), &base, "half-rate")?;
            out.push(half);
        }
    } else {
        out.push(sat);
    }

    if let Some(data) = &st.data {
        let bytes = dir_size(data.path());
        for r in &mut out {
            r.data_dir_bytes = Some(bytes);
        }
    }
    if out.iter().any(|r| r.errors > 0) {
        let tail = st.server.log_tail();
        for r in &mut out {
            r.server_log_tail = Some(tail.clone());
        }
    }
    Ok(out)
}

/// One measured load run with server and client CPU read around it.
fn measured(
    st: &mut Started,
    reqs: &Arc<Vec<Prepared>>,
    spec: RunSpec,
    base: &RunRecord,
    kind: &'static str,
) -> Result<RunRecord> {
    let me = std::process::id();
    let (s0, c0) = (st.server.cpu()?, ProcCpu::read(me)?);
    let stats: RunStats = loadgen::run(spec, reqs)?;
    let (s1, c1) = (st.server.cpu()?, ProcCpu::read(me)?);
    st.server.check_alive()?;
    let rate = match spec.pace {
        Pace::Closed => None,
        Pace::Rate(r) => Some(r),
    };
    Ok(RunRecord::from_stats(base, kind, spec.conns, rate, &stats).with_cpu(
        s1.cpu_s - s0.cpu_s,
        c1.cpu_s - c0.cpu_s,
        s1.peak_rss_kib,
    ))
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
