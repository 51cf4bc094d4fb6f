//! The Python peers (bench/peers/*.py): which interpreter, running a script to completion,
//! and long-running helpers (watcher, cron exporter) whose JSON lines are read afterwards.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::process::ProcCpu;
use super::workspace_root;

/// `$WHARF_BENCH_PYTHON`, else the venv with duckdb and pyarrow that the tests use.
pub fn interpreter() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("WHARF_BENCH_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let cache = std::env::var_os("WHARF_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/wharf")));
    let candidates =
        cache.into_iter().map(|c| c.join("venv/bin/python")).chain([PathBuf::from("/work/cache/venv/bin/python")]);
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
    }
    bail!("no Python with duckdb and pyarrow: set WHARF_BENCH_PYTHON (or WHARF_CACHE to the folder holding venv/)")
}

pub fn script(name: &str) -> PathBuf {
    workspace_root().join("bench/peers").join(name)
}

/// Versions of the peer libraries, for the results' meta.
pub fn versions(py: &Path) -> String {
    let out = Command::new(py)
        .args(["-c", "import duckdb, pyarrow; print(f'duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}')"])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => "unknown".into(),
    }
}

/// The outcome of a script run to completion.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The script's last stdout line, parsed.
    pub report: Value,
    /// Highest VmRSS the harness saw while polling (cross-check of the self-reported VmHWM).
    pub polled_rss_kib: u64,
}

/// Runs `py script args…` and parses the JSON line it ends with.
pub fn run(py: &Path, script_name: &str, args: &[&str], log: &Path) -> Result<Finished> {
    let mut child = spawn(py, script_name, args, log)?;
    let mut polled = 0;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        polled = polled.max(vm_rss_kib(child.id()));
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = fs::read_to_string(log).unwrap_or_default();
    if !status.success() {
        bail!("{script_name} failed ({status}):\n{}", tail(&text, 30));
    }
    let line = text.lines().rev().find(|l| l.starts_with('{')).with_context(|| format!("{script_name}: no JSON"))?;
    Ok(Finished { report: serde_json::from_str(line)?, polled_rss_kib: polled })
}

/// Starts a long-running script with stdout into `log` (stderr too).
pub fn spawn(py: &Path, script_name: &str, args: &[&str], log: &Path) -> Result<Child> {
    let out = File::create(log).with_context(|| format!("create {}", log.display()))?;
    let err = out.try_clone()?;
    Command::new(py)
        .arg(script(script_name))
        .args(args)
        // No __pycache__ beside the peers in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .with_context(|| format!("spawn {script_name}"))
}

/// A helper process killed on drop (watcher, cron exporter).
#[derive(Debug)]
pub struct Helper {
    child: Child,
    pub log: PathBuf,
}

impl Helper {
    pub fn start(py: &Path, script_name: &str, args: &[&str], log: PathBuf) -> Result<Self> {
        Ok(Self { child: spawn(py, script_name, args, &log)?, log })
    }

    pub fn cpu(&self) -> Option<ProcCpu> {
        ProcCpu::read(self.child.id()).ok()
    }

    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(s) = self.child.try_wait()? {
            bail!("{} exited ({s}):\n{}", self.log.display(), tail(&fs::read_to_string(&self.log)?, 30));
        }
        Ok(())
    }

    /// The JSON lines printed so far.
    pub fn lines(&self) -> Vec<Value> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn vm_rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
