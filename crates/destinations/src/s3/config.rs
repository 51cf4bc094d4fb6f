//! Credentials of an S3 (or S3-compatible) destination, with pure validation and redaction.

use std::fmt;

/// A secret value: shown as `********` by `Debug` and `Display`, so that it cannot reach a
/// log line by accident. Serialization keeps the value (credentials are stored encrypted);
/// use [`crate::DestinationConfig::redacted`] for anything shown or logged.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// What a redacted secret reads as.
    pub const REDACTED: &'static str = "********";

    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that signs requests with it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted() -> Self {
        Secret(Self::REDACTED.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

/// `{"type": "s3", "bucket": "acme-warehouse", "region": "eu-west-1", "access_key_id": "AKIA…",
/// "secret_access_key": "…"}`, plus `endpoint` (and `path_style`) for S3-compatible stores and
/// an optional key `prefix`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The user's name for this destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub bucket: String,
    /// The bucket's region, e.g. `us-east-1`.
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Base URL of an S3-compatible store (`http://127.0.0.1:9000`); AWS when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Key prefix the tables go under (`exports/wharf`), without leading or trailing `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Path-style requests (`ENDPOINT/BUCKET/KEY`) rather than virtual-hosted ones
    /// (`BUCKET.ENDPOINT/KEY`). Defaults to path-style when an `endpoint` is set (what
    /// S3-compatible stores expect) and virtual-hosted on AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
}

impl S3Config {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = &self.name
            && name.chars().count() > 200
        {
            return Err("name must be at most 200 characters".into());
        }
        validate_bucket(&self.bucket)?;
        if self.region.is_empty()
            || !self.region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!("region must look like 'us-east-1', got '{}'", self.region));
        }
        if self.access_key_id.trim().is_empty() || self.access_key_id.chars().any(char::is_whitespace) {
            return Err("access_key_id must not be empty or contain spaces".into());
        }
        let secret = self.secret_access_key.expose();
        if secret.is_empty() {
            return Err("secret_access_key must not be empty".into());
        }
        if secret == Secret::REDACTED {
            return Err("secret_access_key is the redacted placeholder; enter the secret again".into());
        }
        if let Some(endpoint) = &self.endpoint {
            validate_endpoint(endpoint)?;
        }
        if let Some(prefix) = &self.prefix {
            validate_prefix(prefix)?;
        }
        if self.path_style == Some(false) && self.endpoint.is_some() {
            // Virtual-hosted style with a custom endpoint needs the bucket in the host; say so
            // rather than sign requests for the wrong host.
            let endpoint = self.endpoint.as_deref().unwrap_or_default();
            if !endpoint.contains(&self.bucket) {
                return Err("with path_style false, the endpoint must include the bucket's host name".into());
            }
        }
        Ok(())
    }

    /// Path-style unless said otherwise, or when talking to AWS itself.
    pub fn path_style(&self) -> bool {
        self.path_style.unwrap_or(self.endpoint.is_some())
    }

    /// The prefix as key segments (empty when there is none).
    pub fn prefix_segments(&self) -> Vec<&str> {
        self.prefix.as_deref().map(|p| p.split('/').filter(|s| !s.is_empty()).collect()).unwrap_or_default()
    }

    /// The bucket's URL, as an unsigned request would address it.
    pub fn bucket_url(&self) -> String {
        match (&self.endpoint, self.path_style()) {
            (Some(e), true) => format!("{}/{}", e.trim_end_matches('/'), self.bucket),
            (Some(e), false) => e.trim_end_matches('/').to_string(),
            (None, true) => format!("https://s3.{}.amazonaws.com/{}", self.region, self.bucket),
            (None, false) => format!("https://{}.s3.{}.amazonaws.com", self.bucket, self.region),
        }
    }

    /// Where a key lives, for receipts and docs: `s3://bucket/key`.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }
}

/// The S3 bucket naming rules that matter for addressing.
fn validate_bucket(bucket: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("bucket '{bucket}' {why}"));
    if !(3..=63).contains(&bucket.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-') {
        return bad("may hold only lowercase letters, digits, '.' and '-'");
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(bucket.chars().next()) || !edge_ok(bucket.chars().last()) {
        return bad("must start and end with a letter or digit");
    }
    if bucket.contains("..") {
        return bad("must not contain '..'");
    }
    if bucket.split('.').count() == 4 && bucket.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return bad("must not look like an IP address");
    }
    Ok(())
}

fn validate_endpoint(endpoint: &str) -> Result<(), String> {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .ok_or_else(|| format!("endpoint must start with http:// or https://, got '{endpoint}'"))?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("endpoint has no host: '{endpoint}'"));
    }
    if host.contains(['?', '#', '@']) || host.chars().any(char::is_whitespace) {
        return Err(format!("endpoint must be a plain base URL (no credentials, query or fragment): '{endpoint}'"));
    }
    Ok(())
}

fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.starts_with('/') || prefix.ends_with('/') {
        return Err(format!("prefix must not start or end with '/', got '{prefix}'"));
    }
    for segment in prefix.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!("prefix has an empty, '.' or '..' segment: '{prefix}'"));
        }
        if segment.chars().any(|c| c.is_control() || c == '\\') {
            return Err(format!("prefix segment '{segment}' holds a control character or '\\'"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> S3Config {
        S3Config {
            name: Some("Acme lake".into()),
            bucket: "acme-warehouse".into(),
            region: "eu-west-1".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG"),
            endpoint: None,
            prefix: None,
            path_style: None,
        }
    }

    #[test]
    fn a_plain_aws_config_is_valid_and_virtual_hosted() {
        let c = config();
        assert_eq!(c.validate(), Ok(()));
        assert!(!c.path_style());
        assert_eq!(c.bucket_url(), "https://acme-warehouse.s3.eu-west-1.amazonaws.com");
    }

    #[test]
    fn an_endpoint_defaults_to_path_style() {
        let c = S3Config { endpoint: Some("http://127.0.0.1:9000/".into()), ..config() };
        assert_eq!(c.validate(), Ok(()));
        assert!(c.path_style());
        assert_eq!(c.bucket_url(), "http://127.0.0.1:9000/acme-warehouse");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let cases = [
            S3Config { bucket: "ab".into(), ..config() },
            S3Config { bucket: "Acme".into(), ..config() },
            S3Config { bucket: "-acme".into(), ..config() },
            S3Config { bucket: "a..b".into(), ..config() },
            S3Config { bucket: "192.168.1.1".into(), ..config() },
            S3Config { region: "".into(), ..config() },
            S3Config { region: "EU West".into(), ..config() },
            S3Config { access_key_id: " ".into(), ..config() },
            S3Config { secret_access_key: Secret::new(""), ..config() },
            S3Config { secret_access_key: Secret::redacted(), ..config() },
            S3Config { endpoint: Some("127.0.0.1:9000".into()), ..config() },
            S3Config { endpoint: Some("http://".into()), ..config() },
            S3Config { endpoint: Some("http://user:pw@host".into()), ..config() },
            S3Config { prefix: Some("/a".into()), ..config() },
            S3Config { prefix: Some("a//b".into()), ..config() },
            S3Config { prefix: Some("a/../b".into()), ..config() },
            S3Config { endpoint: Some("http://minio:9000".into()), path_style: Some(false), ..config() },
        ];
        for c in cases {
            assert!(c.validate().is_err(), "{c:?} should be refused");
        }
        let nested = S3Config { prefix: Some("exports/wharf".into()), ..config() };
        assert_eq!(nested.validate(), Ok(()));
        assert_eq!(nested.prefix_segments(), ["exports", "wharf"]);
    }

    #[test]
    fn the_secret_never_shows_in_debug_or_display() {
        let c = config();
        let shown = format!("{c:?} {}", c.secret_access_key);
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(shown.contains(Secret::REDACTED));
        // Serialization keeps it: stored credentials must round-trip.
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("wJalrXUtnFEMI/K7MDENG"));
        assert_eq!(serde_json::from_str::<S3Config>(&json).unwrap(), c);
    }
}
