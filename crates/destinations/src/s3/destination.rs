use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;
use wharf_model::warehouse::{Rows, RunId};

use super::client::{S3Client, S3Error};
use super::{S3Config, S3Options};
use crate::{Destination, DestinationError, ErrorKind, LoadReceipt, Step, StepOutcome, parquet_files};

pub struct S3Destination {
    config: S3Config,
    client: S3Client,
}

/// Tells connection-test probes of one process apart.
static PROBES: AtomicU64 = AtomicU64::new(0);

impl S3Destination {
    /// Builds the client; nothing is sent until a method is called.
    pub fn new(config: S3Config) -> Result<Self, DestinationError> {
        Self::with_options(config, S3Options::default())
    }

    pub fn with_options(config: S3Config, options: S3Options) -> Result<Self, DestinationError> {
        let client = S3Client::new(&config, options)?;
        Ok(S3Destination { config, client })
    }

    /// `<prefix>/<parts…>`.
    fn key(&self, parts: &[&str]) -> Path {
        let mut segments = self.config.prefix_segments();
        segments.extend_from_slice(parts);
        Path::from_iter(segments)
    }

    fn data_key(&self, run: &RunId) -> Path {
        self.key(&[run.table.name(), &format!("{}.parquet", run.slug())])
    }

    fn manifest_key(&self, run: &RunId) -> Path {
        self.key(&["_wharf", "manifests", run.table.name(), &format!("{}.json", run.slug())])
    }

    async fn test_step(&self, step: Step, probe: &Path, content: &Bytes) -> Result<(), DestinationError> {
        match step {
            Step::Reach => self.client.reach().await.map(|_| ()).map_err(|e| e.classify("cannot reach the endpoint")),
            Step::Authenticate => self
                .client
                .list_folder(&self.key(&["_wharf"]))
                .await
                .map_err(|e| e.classify("cannot list the bucket with these credentials")),
            Step::Write => {
                self.client.put(probe, content.clone()).await.map_err(|e| e.classify("cannot write an object"))
            }
            Step::ReadBack => {
                let read = self.client.get(probe).await.map_err(|e| e.classify("cannot read the object back"))?;
                match read {
                    Some(b) if b == *content => Ok(()),
                    other => Err(DestinationError::new(
                        ErrorKind::Permanent,
                        "the object read back differs from what was written",
                        "mismatch",
                        format!(
                            "wrote {} bytes, read {}",
                            content.len(),
                            other.map_or_else(|| "nothing".to_string(), |b| format!("{} bytes", b.len()))
                        ),
                    )),
                }
            }
            Step::CleanUp => self.client.delete(probe).await.map_err(|e| e.classify("cannot delete the test object")),
        }
    }
}

fn store(summary: &'static str) -> impl Fn(S3Error) -> DestinationError {
    move |e| e.classify(summary)
}

#[async_trait]
impl Destination for S3Destination {
    async fn test_connection(&self) -> Vec<StepOutcome> {
        let n = PROBES.fetch_add(1, Ordering::Relaxed);
        let name = format!("connection-test-{}-{n}", std::process::id());
        let probe = self.key(&["_wharf", &name]);
        let content = Bytes::from_static(b"wharf connection test");
        let mut out = Vec::new();
        for step in [Step::Reach, Step::Authenticate, Step::Write, Step::ReadBack, Step::CleanUp] {
            match self.test_step(step, &probe, &content).await {
                Ok(()) => out.push(StepOutcome { step, ok: true, error: None }),
                Err(e) => {
                    out.push(StepOutcome { step, ok: false, error: Some(e) });
                    break;
                }
            }
        }
        out
    }

    /// Object stores have no folders to create: checks that the bucket answers a listing.
    async fn ensure_tables(&self) -> Result<(), DestinationError> {
        self.client.list_folder(&self.key(&[])).await.map_err(store("cannot list the bucket"))
    }

    async fn load(&self, run: &RunId, rows: &Rows) -> Result<LoadReceipt, DestinationError> {
        if rows.table() != run.table {
            return Err(DestinationError::new(
                ErrorKind::Permanent,
                "rows do not belong to the run's table",
                "wrong_table",
                format!("run for {}, rows for {}", run.table.name(), rows.table().name()),
            ));
        }
        let key = self.data_key(run);
        let receipt = if rows.is_empty() {
            // A run reloaded empty must not keep the rows of an earlier attempt.
            self.client.delete(&key).await.map_err(store("cannot remove an earlier data file"))?;
            LoadReceipt { rows: 0, bytes: 0, location: String::new() }
        } else {
            let bytes = parquet_files::encode(rows).map_err(|e| {
                DestinationError::new(ErrorKind::Permanent, "cannot encode Parquet", "parquet", e.to_string())
            })?;
            let size = bytes.len() as u64;
            self.client.put(&key, Bytes::from(bytes)).await.map_err(store("cannot write the data file"))?;
            LoadReceipt { rows: rows.len() as u64, bytes: size, location: self.config.uri(key.as_ref()) }
        };
        // The manifest goes last: a run is committed once it is there.
        let text = serde_json::to_vec_pretty(&receipt).expect("receipt serializes");
        self.client
            .put(&self.manifest_key(run), Bytes::from(text))
            .await
            .map_err(store("cannot write the manifest"))?;
        Ok(receipt)
    }

    async fn committed(&self, run: &RunId) -> Result<Option<LoadReceipt>, DestinationError> {
        let Some(text) = self.client.get(&self.manifest_key(run)).await.map_err(store("cannot read the manifest"))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| DestinationError::new(ErrorKind::Permanent, "unreadable manifest", "manifest", e.to_string()))
    }
}
