//! The real `wharf` binary for the warehouse benchmarks: building/locating it, loading a
//! synthetic shop once (cached), running a server over a copy of it, and the management API
//! calls the benchmarks need (connect a Local destination, watch the syncs).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::loadgen;
use super::process::{Server, TempDir, free_addr};
use super::{python, workspace_root};

const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `--wharf PATH`, else `$CARGO_TARGET_DIR/release/wharf`, built first unless `build` is false.
pub fn locate(build: bool, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_owned());
    }
    let root = workspace_root();
    if build {
        println!("building: cargo build --release -p wharf-server");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "wharf-server"])
            .current_dir(&root)
            .status()
            .context("run cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p wharf-server failed ({status})");
        }
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let bin = target_dir.join("release/wharf");
    if !bin.is_file() {
        bail!("{} not found (build it or pass --wharf PATH)", bin.display());
    }
    Ok(bin)
}

/// Runs a `wharf` CLI command and returns its last JSON line.
fn cli_json(bin: &Path, data: &Path, args: &[&str]) -> Result<Value> {
    let out = Command::new(bin).arg("--data-dir").arg(data).args(args).output().context("run wharf")?;
    if !out.status.success() {
        bail!("`wharf {}` failed ({}): {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(['{', '[']))
        .with_context(|| format!("no JSON from `wharf {}`: {text:?}", args.join(" ")))?;
    Ok(serde_json::from_str(line.trim())?)
}

/// A loaded synthetic shop, kept between invocations: loading 10 M events takes many minutes,
/// copying the folder seconds, so every run works on a copy of this one.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub dir: PathBuf,
    pub account: String,
    pub events: u64,
    /// How long `wharf demo` took when the dataset was loaded (not a measured quantity).
    pub load_s: f64,
}

impl Dataset {
    pub fn db(&self) -> PathBuf {
        self.dir.join("wharf.sqlite3")
    }

    /// The cached dataset for these parameters, loaded with `wharf demo --no-serve` if absent.
    pub fn ensure(bin: &Path, py: &Path, events: u64, profiles: u64, seed: u64, reload: bool) -> Result<Self> {
        let root = std::env::var_os("WHARF_BENCH_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("wharf-bench-data"));
        let dir = root.join(format!("demo-e{events}-p{profiles}-s{seed}"));
        let ready = dir.join("bench-dataset.json");
        if !reload && let Ok(text) = fs::read_to_string(&ready) {
            let v: Value = serde_json::from_str(&text)?;
            println!("dataset: reusing {} ({} events)", dir.display(), v["events"]);
            return Ok(Self {
                account: v["account"].as_str().context("account in dataset meta")?.to_owned(),
                events: v["events"].as_u64().context("events in dataset meta")?,
                load_s: v["load_s"].as_f64().unwrap_or(f64::NAN),
                dir,
            });
        }
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))?;
        }
        fs::create_dir_all(&dir)?;
        println!("dataset: loading {events} events over {profiles} profiles into {} (once) ...", dir.display());
        let started = Instant::now();
        let log = fs::File::create(root.join(format!("demo-e{events}-p{profiles}-s{seed}.log")))?;
        let status = Command::new(bin)
            .arg("--data-dir")
            .arg(&dir)
            .args(["demo", "--no-serve", "--seed", &seed.to_string()])
            .args(["--profiles", &profiles.to_string(), "--events", &events.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .status()
            .context("run wharf demo")?;
        let load_s = started.elapsed().as_secs_f64();
        let accounts = cli_json(bin, &dir, &["account", "list", "--json"])?;
        let account = accounts[0]["id"].as_str().context("no account after wharf demo")?.to_owned();
        let tmp = TempDir::new("wharf-bench-count")?;
        let db = path_str(&dir.join("wharf.sqlite3"));
        let counted = python::run(py, "export_peer.py", &["count", "--db", &db], &tmp.path().join("count.log"))?;
        let stored = counted.report["rows"].as_u64().context("count")?;
        if !status.success() {
            // `demo` loads first, then runs its own historical sync; only the load matters here.
            if stored != events {
                bail!("`wharf demo` failed ({status}) with {stored}/{events} events stored; see {}", root.display());
            }
            println!("dataset: `wharf demo` exited with {status} after loading every event (its own sync failed)");
        }
        println!("dataset: {stored} events stored in {load_s:.1} s");
        fs::write(&ready, json!({"account": account, "events": stored, "load_s": load_s}).to_string())?;
        Ok(Self { dir, account, events: stored, load_s })
    }
}

/// A wharf server over its own data dir (a copy of a dataset, or a fresh account).
#[derive(Debug)]
pub struct Instance {
    pub server: Server,
    pub key: String,
    pub account: String,
    pub copy_s: f64,
    // Dropped after `server` (field order), so the process is gone before its folder.
    pub data: TempDir,
}

impl Instance {
    pub fn start(
        bin: &Path,
        dataset: Option<&Dataset>,
        parent: &Path,
        tag: &str,
        env: &[(&str, String)],
    ) -> Result<Self> {
        let data = TempDir::new_in(parent, tag)?;
        let started = Instant::now();
        let (account, key) = match dataset {
            Some(ds) => {
                // `cp -r SRC/. DST` copies the contents (WAL and all) into the fresh folder.
                let status = Command::new("cp")
                    .arg("-r")
                    .arg(format!("{}/.", ds.dir.display()))
                    .arg(data.path())
                    .status()
                    .context("cp -r dataset")?;
                if !status.success() {
                    bail!("copying {} failed ({status})", ds.dir.display());
                }
                let v = cli_json(bin, data.path(), &["api-key", "create", "--account", &ds.account, "--json"])?;
                (ds.account.clone(), v["api_key"].as_str().context("api_key")?.to_owned())
            }
            None => {
                let v = cli_json(bin, data.path(), &["account", "create", "--name", "bench", "--json"])?;
                let account = v["account_id"].as_str().context("account_id")?.to_owned();
                (account, v["api_key"].as_str().context("api_key")?.to_owned())
            }
        };
        let copy_s = started.elapsed().as_secs_f64();
        let addr = free_addr()?;
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir").arg(data.path()).args(["serve", "--http", &addr.to_string()]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let server = Server::spawn("wharf", cmd, addr, parent.join(format!("{tag}.log")))?;
        Ok(Self { server, key, account, copy_s, data })
    }

    pub fn db(&self) -> PathBuf {
        self.data.path().join("wharf.sqlite3")
    }

    pub fn auth(&self) -> String {
        format!("Klaviyo-API-Key {}", self.key)
    }

    /// One management/API call; the body is JSON when given.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>, content_type: &str) -> Result<(u16, Value)> {
        let auth = self.auth();
        let bytes = body.map(Value::to_string).unwrap_or_default();
        let headers = [("Authorization", auth.as_str()), ("Content-Type", content_type), ("revision", "2026-10-15")];
        let (status, resp) = loadgen::request(self.server.addr, method, path, &headers, bytes.as_bytes(), HTTP_TIMEOUT)
            .with_context(|| format!("{method} {path}"))?;
        let v = serde_json::from_slice(&resp).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&resp).into()));
        Ok((status, v))
    }

    /// Connects the Local destination at `out` for events (historical range: all).
    pub fn connect_local(&self, out: &Path) -> Result<()> {
        // A dataset loaded by a `demo` that connects its own warehouse carries a connection.
        let (status, _) = self.call("GET", "/v1/connection", None, "application/json")?;
        if status == 200 {
            println!("  (dataset has a connection; removing it first)");
            let (s, v) = self.call("DELETE", "/v1/connection", None, "application/json")?;
            if !(200..300).contains(&s) {
                bail!("DELETE /v1/connection: {s} {v}");
            }
        }
        let body = json!({
            "destination": {"type": "local", "path": path_str(out)},
            "options": {"data_objects": ["events"], "historical_range": "all"},
        });
        let (status, v) = self.call("PUT", "/v1/connection", Some(&body), "application/json")?;
        if !(200..300).contains(&status) {
            bail!("PUT /v1/connection: {status} {v}");
        }
        Ok(())
    }

    /// The events sync of `kind` ("historical" or "periodic").
    pub fn events_sync(&self, kind: &str) -> Result<Option<Value>> {
        let (status, v) = self.call("GET", "/v1/syncs", None, "application/json")?;
        if status != 200 {
            bail!("GET /v1/syncs: {status} {v}");
        }
        let found = v["data"].as_array().into_iter().flatten().find(|s| s["kind"] == kind && s["object"] == "events");
        Ok(found.cloned())
    }

    /// Polls until the historical events sync is completed; fails on a status needing a user.
    pub fn wait_historical(&mut self, timeout: Duration, mut tick: impl FnMut()) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.server.check_alive()?;
            if let Some(s) = self.events_sync("historical")? {
                match s["status"].as_str().unwrap_or_default() {
                    "completed" => return Ok(s),
                    "failed" | "paused" | "disabled" => {
                        let (_, errors) = self.call("GET", "/v1/errors", None, "application/json")?;
                        bail!("historical events sync is {}: {s}\nerrors: {errors}", s["status"]);
                    }
                    _ => {}
                }
            }
            tick();
            // Poll interval, bounded by `deadline`.
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("historical events sync not completed within {timeout:?}; log tail:\n{}", self.server.log_tail())
    }

    /// Runs of a sync (newest first, at most 200), from `/v1/syncs/{id}/runs`.
    pub fn runs(&self, sync_id: &str) -> Result<Vec<Value>> {
        let (status, v) = self.call("GET", &format!("/v1/syncs/{sync_id}/runs"), None, "application/json")?;
        if status != 200 {
            bail!("GET runs: {status} {v}");
        }
        Ok(v["data"].as_array().cloned().unwrap_or_default())
    }
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
