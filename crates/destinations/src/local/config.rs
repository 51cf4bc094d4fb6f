use std::path::PathBuf;

/// `{"type": "local", "path": "/srv/warehouse"}`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The folder the tables go in; created when missing.
    pub path: PathBuf,
}

impl LocalConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.path.as_os_str().is_empty() {
            return Err("path must not be empty".into());
        }
        if !self.path.is_absolute() {
            return Err(format!("path must be absolute, got '{}'", self.path.display()));
        }
        Ok(())
    }
}
