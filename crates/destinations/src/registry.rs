//! The registry: one config enum, tagged by `type`, and one `match` that builds the
//! destination.

use crate::{Destination, DestinationError, local};

/// A destination's configuration as the management API takes it.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DestinationConfig {
    /// Parquet files in a local folder.
    Local(local::LocalConfig),
}

impl DestinationConfig {
    /// Checks the configuration without connecting to anything.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            DestinationConfig::Local(c) => c.validate(),
        }
    }

    /// The configuration with every secret replaced, safe to show and log.
    pub fn redacted(&self) -> DestinationConfig {
        match self {
            DestinationConfig::Local(c) => DestinationConfig::Local(c.clone()),
        }
    }

    pub fn build(&self) -> Result<Box<dyn Destination>, DestinationError> {
        match self {
            DestinationConfig::Local(c) => Ok(Box::new(local::LocalDestination::new(c.clone()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_parse_by_type_and_refuse_unknown_ones() {
        let c: DestinationConfig = serde_json::from_str(r#"{"type": "local", "path": "/srv/out"}"#).unwrap();
        assert!(c.validate().is_ok());
        assert!(serde_json::from_str::<DestinationConfig>(r#"{"type": "ftp", "path": "/x"}"#).is_err());
        assert!(serde_json::from_str::<DestinationConfig>(r#"{"type": "local"}"#).is_err());
        assert!(serde_json::from_str::<DestinationConfig>(r#"{"type": "local", "path": "/x", "extra": 1}"#).is_err());
        let relative: DestinationConfig = serde_json::from_str(r#"{"type": "local", "path": ""}"#).unwrap();
        assert!(relative.validate().is_err());
    }
}
