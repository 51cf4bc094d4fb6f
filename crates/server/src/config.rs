//! Operator configuration: `wharf.toml`, then `WHARF_*` environment variables, then flags.
//! Every default is here and in docs/operations.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The file's shape. Unknown keys are an error, so a typo is caught at start.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub http: Option<SocketAddr>,
    pub log: Option<String>,
    pub periodic_interval: Option<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the store lives. Default `./wharf-data`.
    pub data_dir: PathBuf,
    /// HTTP listen address. Default `127.0.0.1:8080`.
    pub http: SocketAddr,
    /// `tracing` filter. Default `info`.
    pub log: String,
    /// Cadence of periodic syncs. Default one hour; tests and demos use seconds.
    pub periodic_interval: Duration,
    /// Key that seals stored credentials (64 hex characters). Default: `secret.key` in the data dir.
    pub secret_key: Option<String>,
    /// Rows per sync run (`WHARF_SYNC_BATCH_ROWS`). Default 25,000; tests use small values to
    /// get many windows.
    pub sync_batch_rows: Option<usize>,
}

/// Parses `500ms`, `5s`, `10m`, `1h`.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().with_context(|| format!("'{text}' is not a duration like 5s, 10m or 1h"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => anyhow::bail!("'{text}' is not a duration like 5s, 10m or 1h"),
    };
    if d < Duration::from_millis(100) {
        anyhow::bail!("'{text}' is too short; the periodic interval is at least 100ms");
    }
    Ok(d)
}

pub const DEFAULT_DATA_DIR: &str = "wharf-data";
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
pub const DEFAULT_CONFIG_FILE: &str = "wharf.toml";

/// Reads the config file: the one named explicitly (which must exist), else `./wharf.toml`
/// when present.
pub fn load_file(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok(FileConfig::default()),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

impl Config {
    /// Flags and environment (already merged by clap) win over the file, which wins over defaults.
    pub fn resolve(
        file: FileConfig,
        data_dir: Option<PathBuf>,
        http: Option<SocketAddr>,
        log: Option<String>,
    ) -> Config {
        Config {
            data_dir: data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            http: http.or(file.http).unwrap_or_else(|| DEFAULT_HTTP.parse().expect("valid default address")),
            log: log.or(file.log).unwrap_or_else(|| "info".into()),
            periodic_interval: Duration::from_secs(3600),
            secret_key: None,
            sync_batch_rows: None,
        }
    }

    /// Applies the sync settings: `WHARF_PERIODIC_INTERVAL` over the file's `periodic_interval`,
    /// and `WHARF_SECRET_KEY`.
    pub fn with_sync_settings(mut self, file_interval: Option<&str>) -> anyhow::Result<Config> {
        let env = std::env::var("WHARF_PERIODIC_INTERVAL").ok();
        if let Some(text) = env.as_deref().or(file_interval) {
            self.periodic_interval = parse_duration(text).context("periodic interval")?;
        }
        self.secret_key = std::env::var("WHARF_SECRET_KEY").ok().filter(|k| !k.is_empty());
        if let Ok(text) = std::env::var("WHARF_SYNC_BATCH_ROWS") {
            let n: usize = text.trim().parse().context("WHARF_SYNC_BATCH_ROWS must be a positive integer")?;
            anyhow::ensure!(n > 0, "WHARF_SYNC_BATCH_ROWS must be a positive integer");
            self.sync_batch_rows = Some(n);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flag_then_file_then_default() {
        let file: FileConfig = toml::from_str("data_dir = \"/srv/wharf\"\nhttp = \"0.0.0.0:9000\"").unwrap();
        let c = Config::resolve(file, None, Some("127.0.0.1:1".parse().unwrap()), None);
        assert_eq!(c.data_dir, PathBuf::from("/srv/wharf"));
        assert_eq!(c.http.port(), 1);
        assert_eq!(c.log, "info");
        let c = Config::resolve(FileConfig::default(), None, None, None);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in ["", "5", "s", "5 days", "10ms", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("data_dri = \"x\"").is_err());
    }
}
