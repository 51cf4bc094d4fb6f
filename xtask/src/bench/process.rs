//! Server processes under test: spawning, readiness, CPU accounting, teardown.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::loadgen;

/// A temporary directory removed on drop (fresh data dir per wharf run).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self> {
        Self::new_in(&std::env::temp_dir(), prefix)
    }

    pub fn new_in(parent: &Path, prefix: &str) -> Result<Self> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let path = parent.join(format!("{prefix}-{}-{nanos:09}", std::process::id()));
        fs::create_dir_all(&path).with_context(|| format!("create {}", path.display()))?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A running server. Dropping it stops the process (TERM, then KILL after a
/// grace period), so servers never outlive the harness on `?` error paths.
#[derive(Debug)]
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Spawns `cmd` (stdout/stderr into `log`) and waits until `GET /healthz`
    /// answers 200, polling against a deadline rather than sleeping blindly.
    pub fn spawn(name: &str, mut cmd: Command, addr: SocketAddr, log: PathBuf) -> Result<Self> {
        let out = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(Stdio::from(out)).stderr(Stdio::from(err));
        let child = cmd.spawn().with_context(|| format!("spawn {name}: {cmd:?}"))?;
        let mut server = Self { name: name.to_owned(), addr, child, log };
        server.wait_healthy(Duration::from_secs(30))?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_healthy(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last_err = String::from("no attempt");
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited during startup ({status}); log tail:\n{}", self.name, self.log_tail());
            }
            match loadgen::get(self.addr, "/healthz", Duration::from_secs(2)) {
                Ok((200, _)) => return Ok(()),
                Ok((code, body)) => last_err = format!("status {code}: {}", String::from_utf8_lossy(&body)),
                Err(e) => last_err = format!("{e:#}"),
            }
            // Poll interval, not a readiness guess: the loop is bounded by `deadline`.
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("{} not healthy within {timeout:?} ({last_err}); log tail:\n{}", self.name, self.log_tail())
    }

    /// Fails if the server died (e.g. crashed under load).
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} died ({status}); log tail:\n{}", self.name, self.log_tail());
        }
        Ok(())
    }

    pub fn cpu(&self) -> Result<ProcCpu> {
        ProcCpu::read(self.pid())
    }

    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Server {
    /// Stops the process (idempotent); `Drop` does the same.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // Graceful first so the server can close its store; std only offers SIGKILL.
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reserves a free loopback port. The tiny race between dropping the listener
/// and the server binding is acceptable for a benchmark harness.
pub fn free_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// CPU time and peak RSS of one process (all its threads), from /proc.
#[derive(Debug, Clone, Copy)]
pub struct ProcCpu {
    /// utime + stime, in seconds.
    pub cpu_s: f64,
    pub peak_rss_kib: u64,
}

impl ProcCpu {
    pub fn read(pid: u32) -> Result<Self> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("read /proc/{pid}/stat"))?;
        let ticks = parse_stat_ticks(&stat).context("parse /proc/PID/stat")?;
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let peak_rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Ok(Self { cpu_s: ticks as f64 / clk_tck() as f64, peak_rss_kib })
    }
}

/// Current anonymous and file-backed resident memory (RssAnon, RssFile) in KiB: SQLite's
/// page cache is anonymous, but mmap'd database pages would count as file-backed.
pub fn rss_parts_kib(pid: u32) -> (u64, u64) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("RssAnon:"), field("RssFile:"))
}

/// utime + stime in clock ticks. Fields are counted after the last `)` because
/// the command name (field 2) may itself contain spaces or parentheses.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clk_tck() -> u64 {
    static TCK: OnceLock<u64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_comm() {
        let s = "1234 (a) b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_ticks(s), Some(300));
    }

    #[test]
    fn own_cpu_is_readable() {
        let c = ProcCpu::read(std::process::id()).unwrap();
        assert!(c.cpu_s >= 0.0);
    }
}
