//! The only file that talks to the network: object_store's S3 client (signed requests) and
//! one unsigned request to see whether the endpoint answers at all. Every request has a
//! timeout, retries are few and bounded, and every failure is classified here, keeping the
//! service's own code and message.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

use super::S3Config;
use crate::{DestinationError, ErrorKind};

/// Knobs of the S3 client. The defaults suit AWS; tests shorten the timeouts.
#[derive(Clone, Debug)]
pub struct S3Options {
    /// Longest wait for one HTTP request, body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries of one request inside the client (connection errors, 5xx, throttling). The
    /// scheduler retries whole runs; these only smooth over blips.
    pub max_retries: usize,
    /// Files larger than this go up as a multipart upload.
    pub multipart_threshold: usize,
    /// Size of each part but the last (S3 wants at least 5 MiB).
    pub part_size: usize,
    /// Parts uploaded at once.
    pub part_concurrency: usize,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            multipart_threshold: 8 * 1024 * 1024,
            part_size: 8 * 1024 * 1024,
            part_concurrency: 2,
        }
    }
}

impl S3Options {
    /// The most one operation may take: every attempt timing out, plus backoff between them.
    fn deadline(&self) -> Duration {
        let attempts = u32::try_from(self.max_retries + 1).unwrap_or(u32::MAX);
        (self.request_timeout + self.connect_timeout).saturating_mul(attempts) + self.retry_timeout()
    }

    fn retry_timeout(&self) -> Duration {
        self.request_timeout.min(Duration::from_secs(30))
    }
}

/// What went wrong talking to S3, before it is put in the user's terms.
#[derive(Debug)]
pub(crate) enum S3Error {
    Store(object_store::Error),
    /// The whole operation outlived its deadline.
    TimedOut(Duration),
    /// The unsigned reachability request failed.
    Unreachable(reqwest::Error),
}

impl S3Error {
    /// The shared error, with `summary` as ours and the service's code and message verbatim.
    pub(crate) fn classify(&self, summary: &str) -> DestinationError {
        match self {
            S3Error::TimedOut(d) => DestinationError::new(
                ErrorKind::Transient,
                summary,
                "timeout",
                format!("no answer within {:.1} s", d.as_secs_f64()),
            ),
            S3Error::Unreachable(e) => {
                let code = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else if e.is_builder() {
                    return DestinationError::new(ErrorKind::Permanent, summary, "endpoint", chain(e));
                } else {
                    "request"
                };
                DestinationError::new(ErrorKind::Transient, summary, code, chain(e))
            }
            S3Error::Store(e) => classify_store(summary, e),
        }
    }

    /// A missing key (not a missing bucket).
    fn is_missing_key(&self) -> bool {
        match self {
            S3Error::Store(e @ object_store::Error::NotFound { .. }) => {
                xml_text(&chain(e), "Code").as_deref() != Some("NoSuchBucket")
            }
            _ => false,
        }
    }
}

fn classify_store(summary: &str, e: &object_store::Error) -> DestinationError {
    use object_store::Error as E;
    let text = chain(e);
    let (status, code, message) = service_error(e, &text);
    if status.is_some() || code.is_some() {
        let kind = kind_of(status.unwrap_or_default(), code.as_deref());
        let code = code.or_else(|| status.map(|s| format!("HTTP {s}"))).unwrap_or_default();
        return DestinationError::new(kind, summary, code, message.unwrap_or(text));
    }
    if let Some(http) = find::<HttpError>(e) {
        let code = match http.kind() {
            HttpErrorKind::Connect => "connect",
            HttpErrorKind::Timeout => "timeout",
            HttpErrorKind::Request => "request",
            HttpErrorKind::Interrupted => "interrupted",
            HttpErrorKind::Decode => "decode",
            _ => "network",
        };
        return DestinationError::new(ErrorKind::Transient, summary, code, text);
    }
    let (kind, code) = match e {
        E::NotFound { .. } => (ErrorKind::NotFound, "not_found"),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => (ErrorKind::Auth, "denied"),
        E::Precondition { .. } | E::NotModified { .. } | E::AlreadyExists { .. } => {
            (ErrorKind::Permanent, "precondition")
        }
        E::InvalidPath { .. } | E::NotSupported { .. } | E::NotImplemented { .. } => {
            (ErrorKind::Permanent, "unsupported")
        }
        E::UnknownConfigurationKey { .. } => (ErrorKind::Permanent, "config"),
        // S3 redirects when the bucket lives in another region.
        _ if text.contains("redirect") => (ErrorKind::Permanent, "redirect"),
        // An unreadable answer or a failed task: nothing says retrying cannot help.
        _ => (ErrorKind::Transient, "s3"),
    };
    DestinationError::new(kind, summary, code, text)
}

/// The kind of an S3 error answer, by its code first and its status second.
fn kind_of(status: u16, code: Option<&str>) -> ErrorKind {
    match code {
        Some(
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "AccessDenied"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired"
            | "AccountProblem"
            | "AllAccessDisabled"
            | "NotSignedUp"
            | "InvalidSecurity",
        ) => return ErrorKind::Auth,
        Some("NoSuchBucket") => return ErrorKind::NotFound,
        Some(
            "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequests"
            | "RequestThrottled",
        ) => return ErrorKind::RateLimited,
        Some("InternalError" | "ServiceUnavailable" | "RequestTimeout" | "OperationAborted") => {
            return ErrorKind::Transient;
        }
        _ => {}
    }
    match status {
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        408 | 409 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

/// The HTTP status and the `<Code>` and `<Message>` of S3's error document, when the
/// service answered. object_store keeps its request error private, but its message carries
/// the status and the response body verbatim (`… status code: 403 Forbidden: <?xml …`); the
/// error variant gives the status when the text does not.
fn service_error(e: &object_store::Error, text: &str) -> (Option<u16>, Option<String>, Option<String>) {
    use object_store::Error as E;
    let from_text =
        text.find("status code: ").and_then(|i| text.get(i + 13..i + 16)).and_then(|s| s.parse::<u16>().ok());
    let from_variant = match e {
        E::NotFound { .. } => Some(404),
        E::PermissionDenied { .. } => Some(403),
        E::Unauthenticated { .. } => Some(401),
        E::Precondition { .. } => Some(412),
        E::NotModified { .. } => Some(304),
        E::AlreadyExists { .. } => Some(409),
        _ => None,
    };
    (from_text.or(from_variant), xml_text(text, "Code"), xml_text(text, "Message"))
}

/// The first error of type `T` in `e`'s source chain.
fn find<T: std::error::Error + 'static>(e: &object_store::Error) -> Option<&T> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

/// An error and its sources, each said once.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// The text of the first `<tag>…</tag>` in an XML document, unescaped.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = xml[start..].find(&format!("</{tag}>"))?;
    let raw = &xml[start..start + len];
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// rustls needs a crypto provider; ring's keeps aws-lc (a C build) out. Installing is
/// process-wide and only the first install wins, which is fine: any provider works.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `f`, or a timeout error once `deadline` has passed.
async fn timed<T>(deadline: Duration, f: impl Future<Output = object_store::Result<T>>) -> Result<T, S3Error> {
    match tokio::time::timeout(deadline, f).await {
        Ok(r) => r.map_err(S3Error::Store),
        Err(_) => Err(S3Error::TimedOut(deadline)),
    }
}

pub(crate) struct S3Client {
    store: Arc<AmazonS3>,
    http: reqwest::Client,
    bucket_url: String,
    options: S3Options,
}

impl S3Client {
    pub(crate) fn new(config: &S3Config, options: S3Options) -> Result<Self, DestinationError> {
        install_crypto_provider();
        let allow_http = config.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        let client_options = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_timeout(options.request_timeout)
            .with_connect_timeout(options.connect_timeout);
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: options.max_retries,
            retry_timeout: options.retry_timeout(),
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(config.secret_access_key.expose())
            .with_virtual_hosted_style_request(!config.path_style())
            .with_client_options(client_options)
            .with_retry(retry);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
        }
        let invalid = |e: &dyn std::fmt::Display| {
            DestinationError::new(ErrorKind::Permanent, "invalid S3 configuration", "config", e.to_string())
        };
        let store = builder.build().map_err(|e| invalid(&e))?;
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(|e| invalid(&e))?;
        Ok(S3Client { store: Arc::new(store), http, bucket_url: config.bucket_url(), options })
    }

    async fn bounded<T>(&self, f: impl Future<Output = object_store::Result<T>>) -> Result<T, S3Error> {
        let deadline = self.options.deadline();
        match tokio::time::timeout(deadline, f).await {
            Ok(r) => r.map_err(S3Error::Store),
            Err(_) => Err(S3Error::TimedOut(deadline)),
        }
    }

    /// Any HTTP answer from the bucket's URL, even a refusal, means the endpoint is reachable.
    pub(crate) async fn reach(&self) -> Result<u16, S3Error> {
        let sent = self.http.head(&self.bucket_url).send();
        match tokio::time::timeout(self.options.request_timeout + self.options.connect_timeout, sent).await {
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(e)) => Err(S3Error::Unreachable(e)),
            Err(_) => Err(S3Error::TimedOut(self.options.request_timeout)),
        }
    }

    /// One signed listing under `prefix`: proves the credentials and the bucket.
    pub(crate) async fn list_folder(&self, prefix: &Path) -> Result<(), S3Error> {
        self.bounded(self.store.list_with_delimiter(Some(prefix))).await.map(|_| ())
    }

    /// Writes `bytes` at `key` in one request, or as a multipart upload when large. Either
    /// way the object appears whole or not at all, replacing what was there.
    pub(crate) async fn put(&self, key: &Path, bytes: Bytes) -> Result<(), S3Error> {
        if bytes.len() <= self.options.multipart_threshold {
            return self.bounded(self.store.put(key, bytes.into())).await.map(|_| ());
        }
        let mut upload = self.bounded(self.store.put_multipart(key)).await?;
        let part_size = self.options.part_size.max(1);
        let deadline = self.options.deadline();
        let parts: Vec<_> = (0..bytes.len())
            .step_by(part_size)
            .map(|start| {
                let part = bytes.slice(start..(start + part_size).min(bytes.len()));
                timed(deadline, upload.put_part(part.into()))
            })
            .collect();
        let uploaded = futures_util::stream::iter(parts)
            .buffer_unordered(self.options.part_concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await;
        let completed = match uploaded {
            Ok(_) => self.bounded(upload.complete()).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if completed.is_err() {
            // Best effort: parts of an abandoned upload are invisible to readers, and a
            // bucket lifecycle rule reclaims them if this fails too.
            let _ = self.bounded(upload.abort()).await;
        }
        completed
    }

    /// The object at `key`, or `None` when there is none.
    pub(crate) async fn get(&self, key: &Path) -> Result<Option<Bytes>, S3Error> {
        let read = async { self.store.get(key).await?.bytes().await };
        match self.bounded(read).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.is_missing_key() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes `key`; deleting a missing key succeeds.
    pub(crate) async fn delete(&self, key: &Path) -> Result<(), S3Error> {
        match self.bounded(self.store.delete(key)).await {
            Err(e) if e.is_missing_key() => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_codes_decide_the_kind_before_the_status() {
        assert_eq!(kind_of(403, Some("InvalidAccessKeyId")), ErrorKind::Auth);
        assert_eq!(kind_of(403, Some("SignatureDoesNotMatch")), ErrorKind::Auth);
        assert_eq!(kind_of(403, None), ErrorKind::Auth);
        assert_eq!(kind_of(404, Some("NoSuchBucket")), ErrorKind::NotFound);
        assert_eq!(kind_of(503, Some("SlowDown")), ErrorKind::RateLimited);
        assert_eq!(kind_of(429, None), ErrorKind::RateLimited);
        assert_eq!(kind_of(503, Some("ServiceUnavailable")), ErrorKind::Transient);
        assert_eq!(kind_of(500, None), ErrorKind::Transient);
        assert_eq!(kind_of(400, Some("InvalidArgument")), ErrorKind::Permanent);
        assert_eq!(kind_of(301, Some("PermanentRedirect")), ErrorKind::Permanent);
    }

    #[test]
    fn the_error_document_is_read_verbatim() {
        let body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
                    <Message>The request signature we calculated does not match &amp; so on</Message></Error>";
        assert_eq!(xml_text(body, "Code").as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(
            xml_text(body, "Message").as_deref(),
            Some("The request signature we calculated does not match & so on")
        );
        assert_eq!(xml_text(body, "RequestId"), None);
    }

    #[test]
    fn the_deadline_covers_every_attempt() {
        let o = S3Options {
            request_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            max_retries: 1,
            ..S3Options::default()
        };
        assert_eq!(o.deadline(), Duration::from_secs(8));
    }
}
