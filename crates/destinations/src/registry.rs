//! The registry: one config enum, tagged by `type`, and one `match` that builds the
//! destination.

use crate::{Destination, DestinationError, local, s3};

/// A destination's configuration as the management API takes it.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DestinationConfig {
    /// Parquet files in a local folder.
    Local(local::LocalConfig),
    /// Parquet files in an S3 bucket (or an S3-compatible store).
    S3(s3::S3Config),
}

impl DestinationConfig {
    /// Checks the configuration without connecting to anything.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            DestinationConfig::Local(c) => c.validate(),
            DestinationConfig::S3(c) => c.validate(),
        }
    }

    /// The configuration with every secret replaced, safe to show and log.
    pub fn redacted(&self) -> DestinationConfig {
        match self {
            DestinationConfig::Local(c) => DestinationConfig::Local(c.clone()),
            DestinationConfig::S3(c) => {
                DestinationConfig::S3(s3::S3Config { secret_access_key: s3::Secret::redacted(), ..c.clone() })
            }
        }
    }

    pub fn build(&self) -> Result<Box<dyn Destination>, DestinationError> {
        match self {
            DestinationConfig::Local(c) => Ok(Box::new(local::LocalDestination::new(c.clone()))),
            DestinationConfig::S3(c) => Ok(Box::new(s3::S3Destination::new(c.clone())?)),
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

    const S3: &str = r#"{"type": "s3", "bucket": "acme-lake", "region": "us-east-1", "access_key_id": "AKIAX",
        "secret_access_key": "s3cr3t-value", "endpoint": "http://127.0.0.1:9000"}"#;

    #[test]
    fn s3_configs_parse_validate_and_redact() {
        let c: DestinationConfig = serde_json::from_str(S3).unwrap();
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let shown = serde_json::to_string(&c.redacted()).unwrap();
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains(r#""secret_access_key":"********""#), "{shown}");
        // A redacted config sent back as-is is not a usable one.
        assert!(c.redacted().validate().is_err());
        assert!(c.build().is_ok());
        let unknown = S3.replace(r#""region""#, r#""zone": "a", "region""#);
        assert!(serde_json::from_str::<DestinationConfig>(&unknown).is_err());
        let no_secret = r#"{"type": "s3", "bucket": "acme-lake", "region": "us-east-1", "access_key_id": "A"}"#;
        assert!(serde_json::from_str::<DestinationConfig>(no_secret).is_err());
    }
}
