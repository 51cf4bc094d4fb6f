//! Repository tasks: `cargo xtask <task>`.
//!
//! Hand-rolled argument parsing on purpose: xtask stays dependency-light so it
//! builds fast and independently of the server crates.

mod bench;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  bench ingest [options]   M1a/M1b HTTP ingest: wharf vs the Node toy (bench/README.md)
  bench export [options]   M3 export to local Parquet: wharf vs DuckDB COPY and pyarrow
  bench backfill-memory [options]
                           M5 peak RSS of a historical backfill at two sizes, beside DuckDB's
  bench freshness [options]
                           M6 accepted -> queryable, wharf's periodic sync vs a cron + Python exporter

bench ingest options:
  --smoke            CI mode: 1 round, 3 s per run
  --rounds N         interleaved rounds (default 3; 1 with --smoke)
  --seconds S        measured seconds per run (default 15; 3 with --smoke)
  --warmup S         warm-up seconds before each measured run (default 2; 0.5 with --smoke)
  --no-build         do not run `cargo build --release -p wharf-server` first
  --wharf PATH       wharf binary (default $CARGO_TARGET_DIR/release/wharf)
  --conns N          M1a concurrent keep-alive connections (default 64)
  --bulk-conns N     M1b concurrent connections (default 8)
  --only m1a|m1b     run one benchmark only
  --rate R           M1a paced run at R req/s instead of 50% of saturated
  --peer-only        run only the Node toy (harness debugging; no ratios)

options of export, backfill-memory and freshness:
  --smoke            CI mode: small sizes, 1 round (each well under a minute once data is cached)
  --rounds N         interleaved rounds (default 3; 1 with --smoke)
  --no-build         do not run `cargo build --release -p wharf-server` first
  --wharf PATH       wharf binary (default $CARGO_TARGET_DIR/release/wharf)
  --reload-data      load the cached dataset again (export, backfill-memory)
  --batch-rows N     WHARF_SYNC_BATCH_ROWS for the server (export, backfill-memory)
export:
  --events N         events exported (default 10000000; 200000 with --smoke)
  --profiles N       profiles of the synthetic shop (default events/100, at least 1000)
  --seed S           generator seed (default 7)
backfill-memory:
  --sizes A,B        backfill sizes in events (default 100000,1000000; 50000,200000 with --smoke)
freshness:
  --cadence S        export cadence, whole seconds (default 30; 2 with --smoke)
  --seconds S        background load + markers per target (default 300; 20 with --smoke)
  --rate R           background events/s (default 277.8 = 1 M/hour)
  --marker-every S   one marker event every S seconds (default 2; 0.5 with --smoke)
  --poll S           watcher poll interval (default 0.5; 0.2 with --smoke)

Python peers: $WHARF_BENCH_PYTHON, else $WHARF_CACHE/venv (~/.cache/wharf/venv), with duckdb and pyarrow.
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        reexec_release_if_debug(&args)?;
    }
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["bench", "ingest", rest @ ..] => bench::ingest::run(&parse_ingest_opts(rest)?),
        ["bench", "export", rest @ ..] => bench::export::run(&parse_export_opts(rest)?),
        ["bench", "backfill-memory", rest @ ..] => bench::backfill::run(&parse_backfill_opts(rest)?),
        ["bench", "freshness", rest @ ..] => bench::freshness::run(&parse_freshness_opts(rest)?),
        ["bench", other, ..] => bail!("unknown benchmark `{other}`\n\n{USAGE}"),
        ["-h" | "--help" | "help", ..] | [] => {
            print!("{USAGE}");
            Ok(())
        }
        [other, ..] => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

/// The load generator shares the 2 cores with the server under test, and an
/// unoptimised build spends ~10x more CPU per request (measured: ~240 vs
/// ~23 us), which would starve the server. The `cargo xtask` alias builds in
/// debug, so benchmarks re-run themselves from a release build of xtask.
fn reexec_release_if_debug(args: &[String]) -> Result<()> {
    const GUARD: &str = "WHARF_XTASK_REEXEC";
    if !cfg!(debug_assertions) || std::env::var_os(GUARD).is_some() {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["run", "--release", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .env(GUARD, "1")
        .current_dir(bench::workspace_root())
        .status()
        .context("re-run xtask with --release")?;
    std::process::exit(status.code().unwrap_or(1));
}

fn parse_ingest_opts(args: &[&str]) -> Result<bench::ingest::Opts> {
    let smoke = args.contains(&"--smoke");
    let mut o = bench::ingest::Opts::new(smoke);
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        let mut value =
            |name: &str| -> Result<&str> { it.next().copied().with_context(|| format!("{name} needs a value")) };
        match arg {
            "--smoke" => {}
            "--no-build" => o.build = false,
            "--peer-only" => o.peer_only = true,
            "--rounds" => o.rounds = parse_num(value(arg)?, arg)?,
            "--seconds" => o.seconds = parse_num(value(arg)?, arg)?,
            "--warmup" => o.warmup = parse_num(value(arg)?, arg)?,
            "--conns" => o.conns = parse_num(value(arg)?, arg)?,
            "--bulk-conns" => o.bulk_conns = parse_num(value(arg)?, arg)?,
            "--rate" => o.rate = Some(parse_num(value(arg)?, arg)?),
            "--wharf" => o.wharf = Some(PathBuf::from(value(arg)?)),
            "--only" => {
                o.only = match value(arg)? {
                    "m1a" | "M1a" => Some(bench::ingest::Which::M1a),
                    "m1b" | "M1b" => Some(bench::ingest::Which::M1b),
                    v => bail!("--only takes m1a or m1b, not `{v}`"),
                }
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option `{other}`\n\n{USAGE}"),
        }
    }
    if o.rounds == 0 || o.conns == 0 || o.bulk_conns == 0 || o.seconds <= 0.0 {
        bail!("--rounds, --conns, --bulk-conns and --seconds must be positive");
    }
    Ok(o)
}

/// Walks `args`, handing each option to `common` first, then to `own`; `--help` prints usage.
fn parse_opts(
    args: &[&str],
    common: &mut bench::Common,
    mut own: impl FnMut(&str, &mut dyn FnMut() -> Result<String>) -> Result<bool>,
) -> Result<()> {
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        let mut value =
            || -> Result<String> { it.next().map(|v| v.to_string()).with_context(|| format!("{arg} needs a value")) };
        match arg {
            "--smoke" => {}
            "--no-build" => common.build = false,
            "--reload-data" => common.reload_data = true,
            "--rounds" => common.rounds = parse_num(&value()?, arg)?,
            "--wharf" => common.wharf = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => {
                if !own(other, &mut value)? {
                    bail!("unknown option `{other}`\n\n{USAGE}");
                }
            }
        }
    }
    if common.rounds == 0 {
        bail!("--rounds must be positive");
    }
    Ok(())
}

fn parse_export_opts(args: &[&str]) -> Result<bench::export::Opts> {
    let mut o = bench::export::Opts::new(args.contains(&"--smoke"));
    let mut common = o.common.clone();
    parse_opts(args, &mut common, |arg, value| {
        match arg {
            "--events" => o.events = parse_num(&value()?, arg)?,
            "--profiles" => o.profiles = Some(parse_num(&value()?, arg)?),
            "--seed" => o.seed = parse_num(&value()?, arg)?,
            "--batch-rows" => o.batch_rows = Some(parse_num(&value()?, arg)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    o.common = common;
    if o.events == 0 {
        bail!("--events must be positive");
    }
    Ok(o)
}

fn parse_backfill_opts(args: &[&str]) -> Result<bench::backfill::Opts> {
    let mut o = bench::backfill::Opts::new(args.contains(&"--smoke"));
    let mut common = o.common.clone();
    parse_opts(args, &mut common, |arg, value| {
        match arg {
            "--sizes" => {
                o.sizes = value()?.split(',').map(|s| parse_num(s.trim(), arg)).collect::<Result<_>>()?;
                o.sizes.sort_unstable();
            }
            "--seed" => o.seed = parse_num(&value()?, arg)?,
            "--batch-rows" => o.batch_rows = Some(parse_num(&value()?, arg)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    o.common = common;
    if o.sizes.is_empty() || o.sizes.contains(&0) {
        bail!("--sizes takes positive event counts, e.g. 100000,1000000");
    }
    Ok(o)
}

fn parse_freshness_opts(args: &[&str]) -> Result<bench::freshness::Opts> {
    let mut o = bench::freshness::Opts::new(args.contains(&"--smoke"));
    let mut common = o.common.clone();
    parse_opts(args, &mut common, |arg, value| {
        match arg {
            "--cadence" => o.cadence_s = parse_num(&value()?, arg)?,
            "--seconds" => o.seconds = parse_num(&value()?, arg)?,
            "--rate" => o.rate = parse_num(&value()?, arg)?,
            "--marker-every" => o.marker_every = parse_num(&value()?, arg)?,
            "--poll" => o.poll = parse_num(&value()?, arg)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    o.common = common;
    if o.cadence_s == 0 || o.seconds <= 0.0 || o.rate <= 0.0 || o.marker_every <= 0.0 || o.poll <= 0.0 {
        bail!("--cadence, --seconds, --rate, --marker-every and --poll must be positive");
    }
    Ok(o)
}

fn parse_num<T: std::str::FromStr>(v: &str, name: &str) -> Result<T> {
    v.parse().map_err(|_| anyhow::anyhow!("{name}: cannot parse `{v}`"))
}
