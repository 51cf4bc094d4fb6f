//! `cargo xtask bench backfill-memory` (M5): peak RSS of the wharf server during a historical
//! backfill at two sizes (flat is the target: ≤ 256 MiB whatever the size), beside the DuckDB
//! peer's peak RSS for the same export. Runs are the export benchmark's (`export.rs`).

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::export::{Env, ExportRun, run_ours, run_peer};
use super::results::{self, Check, Row};
use super::wharf::path_str;
use super::{Common, python, workspace_root};

const RSS_TARGET_MIB: f64 = 256.0;

#[derive(Debug, Clone)]
pub struct Opts {
    pub common: Common,
    /// Backfill sizes (events), smallest first.
    pub sizes: Vec<u64>,
    pub seed: u64,
    pub batch_rows: Option<u64>,
}

impl Opts {
    pub fn new(smoke: bool) -> Self {
        Self {
            common: Common::new(smoke),
            sizes: if smoke { vec![50_000, 200_000] } else { vec![100_000, 1_000_000] },
            seed: 7,
            batch_rows: None,
        }
    }
}

pub fn run(opts: &Opts) -> Result<()> {
    let root = workspace_root();
    let env = Env::new(&opts.common, opts.batch_rows)?;
    let versions = python::versions(&env.py);
    let datasets =
        opts.sizes.iter().map(|&n| env.dataset(&opts.common, n, None, opts.seed)).collect::<Result<Vec<_>>>()?;

    let mut runs: Vec<ExportRun> = Vec::new();
    let mut failure = None;
    'rounds: for round in 1..=opts.common.rounds {
        println!("round {round}/{}:", opts.common.rounds);
        for ds in &datasets {
            let ours = run_ours(&env, ds, round).with_context(|| format!("round {round} wharf {}", ds.events));
            let peer = ours.and_then(|o| {
                println!("  {}", o.line());
                runs.push(o);
                run_peer(&env, ds, round, "duckdb").with_context(|| format!("round {round} duckdb {}", ds.events))
            });
            match peer {
                Ok(p) => {
                    println!("  {}", p.line());
                    runs.push(p);
                }
                Err(e) => {
                    failure = Some(e);
                    break 'rounds;
                }
            }
        }
    }

    let pick = |t: &str, events: u64| -> Vec<f64> {
        (1..=opts.common.rounds)
            .filter_map(|r| runs.iter().find(|x| x.round == r && x.target == t && x.events == events))
            .map(ExportRun::rss_mib)
            .collect()
    };
    let mut rows: Vec<Row> = datasets
        .iter()
        .map(|ds| {
            Row::new(
                format!("peak RSS MiB, {} events", ds.events),
                "duckdb",
                &pick("wharf", ds.events),
                &pick("duckdb", ds.events),
            )
            .target(format!("wharf <= {RSS_TARGET_MIB} MiB"), Check::OursAtMost(RSS_TARGET_MIB))
        })
        .collect();
    if let (Some(small), Some(large)) = (datasets.first(), datasets.last())
        && large.events > small.events
    {
        // Flatness: wharf's (and DuckDB's) peak at the largest size over the smallest, per round.
        let growth = |t: &str| -> Vec<f64> {
            pick(t, large.events).iter().zip(pick(t, small.events)).map(|(l, s)| l / s).collect()
        };
        let label = format!("RSS growth {}x rows", large.events / small.events.max(1));
        rows.push(Row::new(label, "duckdb", &growth("wharf"), &growth("duckdb")));
    }
    let title = format!("M5 peak RSS during a historical backfill, {} round(s)", opts.common.rounds);
    results::print(&title, &rows);
    let meta = json!({
        "smoke": opts.common.smoke, "rounds": opts.common.rounds, "sizes": datasets.iter().map(|d| d.events).collect::<Vec<_>>(),
        "datasets": datasets.iter().map(|d| json!({"dir": path_str(&d.dir), "events": d.events, "load_s": d.load_s})).collect::<Vec<_>>(),
        "sync_batch_rows": opts.batch_rows, "wharf_binary": path_str(&env.bin), "peers": versions,
    });
    let runs_json: Vec<Value> = runs.iter().map(ExportRun::json).collect();
    let path = results::write(&root, "backfill-memory", meta, &rows, &runs_json, failure.as_ref())?;
    println!("results: {}", path.display());
    failure.map_or(Ok(()), Err)
}
