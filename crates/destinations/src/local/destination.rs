use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use wharf_model::warehouse::{Rows, RunId, Table};

use super::LocalConfig;
use crate::{Destination, DestinationError, ErrorKind, LoadReceipt, Step, StepOutcome, parquet_files};

pub struct LocalDestination {
    root: PathBuf,
}

impl LocalDestination {
    pub fn new(config: LocalConfig) -> Self {
        LocalDestination { root: config.path }
    }

    fn data_file(&self, run: &RunId) -> PathBuf {
        self.root.join(run.table.name()).join(format!("{}.parquet", run.slug()))
    }

    fn manifest(&self, run: &RunId) -> PathBuf {
        self.root.join("_wharf").join("manifests").join(run.table.name()).join(format!("{}.json", run.slug()))
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one: a hidden
/// temporary name, fsync, rename, fsync of the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("files live in a folder");
    let name = path.file_name().expect("a file name").to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

fn io(summary: &str) -> impl Fn(std::io::Error) -> DestinationError + '_ {
    move |e| DestinationError::from_io(summary, &e)
}

/// Runs filesystem work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DestinationError> + Send + 'static,
) -> Result<T, DestinationError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(DestinationError::new(ErrorKind::Transient, "local write task failed", "task", e.to_string()))
    })
}

/// One step of the connection test.
type StepCheck<'a> = Box<dyn Fn() -> Result<(), DestinationError> + 'a>;

impl LocalDestination {
    fn test_steps(root: &Path) -> Vec<StepOutcome> {
        let mut out = Vec::new();
        let probe_dir = root.join("_wharf");
        // Unique per process and per test, so concurrent tests of one folder do not collide.
        static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let probe = probe_dir.join(format!("connection-test-{}-{n}", std::process::id()));
        let content = b"wharf connection test";
        let steps: [(Step, StepCheck<'_>); 5] = [
            (
                Step::Reach,
                Box::new(|| {
                    let anchor = root.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
                    fs::metadata(anchor).map(|_| ()).map_err(io("cannot reach the folder"))
                }),
            ),
            (Step::Authenticate, Box::new(|| fs::create_dir_all(&probe_dir).map_err(io("cannot create the folder")))),
            (Step::Write, Box::new(|| write_atomically(&probe, content).map_err(io("cannot write a file")))),
            (
                Step::ReadBack,
                Box::new(|| {
                    let read = fs::read(&probe).map_err(io("cannot read the file back"))?;
                    if read != content {
                        return Err(DestinationError::new(
                            ErrorKind::Permanent,
                            "the file read back differs from what was written",
                            "mismatch",
                            format!("wrote {} bytes, read {}", content.len(), read.len()),
                        ));
                    }
                    Ok(())
                }),
            ),
            (Step::CleanUp, Box::new(|| fs::remove_file(&probe).map_err(io("cannot delete the test file")))),
        ];
        for (step, run) in steps {
            match run() {
                Ok(()) => out.push(StepOutcome { step, ok: true, error: None }),
                Err(e) => {
                    out.push(StepOutcome { step, ok: false, error: Some(e) });
                    break;
                }
            }
        }
        out
    }
}

#[async_trait]
impl Destination for LocalDestination {
    async fn test_connection(&self) -> Vec<StepOutcome> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || Self::test_steps(&root)).await.unwrap_or_default()
    }

    async fn ensure_tables(&self) -> Result<(), DestinationError> {
        let root = self.root.clone();
        blocking(move || {
            for t in Table::ALL {
                fs::create_dir_all(root.join(t.name())).map_err(io("cannot create the table folder"))?;
                fs::create_dir_all(root.join("_wharf").join("manifests").join(t.name()))
                    .map_err(io("cannot create the manifest folder"))?;
            }
            Ok(())
        })
        .await
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
        let bytes = if rows.is_empty() {
            None
        } else {
            Some(parquet_files::encode(rows).map_err(|e| {
                DestinationError::new(ErrorKind::Permanent, "cannot encode Parquet", "parquet", e.to_string())
            })?)
        };
        let (file, manifest) = (self.data_file(run), self.manifest(run));
        let count = rows.len() as u64;
        blocking(move || {
            let size = bytes.as_ref().map_or(0, |b| b.len() as u64);
            match &bytes {
                Some(b) => {
                    fs::create_dir_all(file.parent().expect("table folder"))
                        .map_err(io("cannot create the table folder"))?;
                    write_atomically(&file, b).map_err(io("cannot write the data file"))?;
                }
                // A reload of the run with no rows replaces whatever an earlier attempt wrote.
                None => match fs::remove_file(&file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(DestinationError::from_io("cannot replace the data file", &e));
                    }
                    _ => {}
                },
            }
            let receipt = LoadReceipt {
                rows: count,
                bytes: size,
                location: if bytes.is_some() { file.display().to_string() } else { String::new() },
            };
            fs::create_dir_all(manifest.parent().expect("manifest folder"))
                .map_err(io("cannot create the manifest folder"))?;
            let text = serde_json::to_vec_pretty(&receipt).expect("receipt serializes");
            write_atomically(&manifest, &text).map_err(io("cannot write the manifest"))?;
            Ok(receipt)
        })
        .await
    }

    async fn committed(&self, run: &RunId) -> Result<Option<LoadReceipt>, DestinationError> {
        let manifest = self.manifest(run);
        blocking(move || match fs::read(&manifest) {
            Ok(text) => serde_json::from_slice(&text).map(Some).map_err(|e| {
                DestinationError::new(ErrorKind::Permanent, "unreadable manifest", "manifest", e.to_string())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DestinationError::from_io("cannot read the manifest", &e)),
        })
        .await
    }
}
