//! The local Parquet destination through the conformance suite, reading its files back with
//! the Parquet reader.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;

use arrow_array::{Array, StringArray, TimestampMicrosecondArray};
use async_trait::async_trait;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use wharf_destinations::conformance::{self, Probe};
use wharf_destinations::local::{LocalConfig, LocalDestination};
use wharf_destinations::{Destination, ErrorKind};
use wharf_model::warehouse::{RunId, Table};

struct LocalProbe {
    root: PathBuf,
    file_in_the_way: PathBuf,
}

fn read_column(root: &std::path::Path, table: Table, column: &str) -> Vec<Vec<Option<String>>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join(table.name())).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("parquet") {
            continue;
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap().build().unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let col = batch.column_by_name(column).unwrap();
            if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
                out.push((0..s.len()).map(|i| (!s.is_null(i)).then(|| s.value(i).to_string())).collect());
            } else {
                let ts = col.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
                out.push((0..ts.len()).map(|i| Some(ts.value(i).to_string())).collect());
            }
        }
    }
    out
}

#[async_trait]
impl Probe for LocalProbe {
    async fn ids(&self, table: Table) -> Vec<String> {
        read_column(&self.root, table, "id").into_iter().flatten().flatten().collect()
    }

    async fn latest_first_names(&self) -> HashMap<String, Option<String>> {
        let ids = read_column(&self.root, Table::Profile, "id").into_iter().flatten();
        let names = read_column(&self.root, Table::Profile, "first_name").into_iter().flatten();
        let updated = read_column(&self.root, Table::Profile, "updated").into_iter().flatten();
        let mut latest: HashMap<String, (i64, Option<String>)> = HashMap::new();
        for ((id, name), up) in ids.zip(names).zip(updated) {
            let up: i64 = up.unwrap().parse().unwrap();
            let e = latest.entry(id.unwrap()).or_insert((i64::MIN, None));
            if up >= e.0 {
                *e = (up, name);
            }
        }
        latest.into_iter().map(|(k, (_, v))| (k, v)).collect()
    }

    async fn simulate_crash_mid_load(&self, run: &RunId) {
        // A half-written temporary file, as a kill -9 during the write leaves it.
        let tmp = self.root.join(run.table.name()).join(format!(".{}.parquet.tmp", run.slug()));
        std::fs::write(tmp, b"PAR1 half a file").unwrap();
    }

    fn broken(&self) -> (Box<dyn Destination>, ErrorKind) {
        // A folder path that runs through a regular file cannot be created, even by root.
        let path = self.file_in_the_way.join("warehouse");
        (Box::new(LocalDestination::new(LocalConfig { path })), ErrorKind::Permanent)
    }
}

#[tokio::test]
async fn local_passes_the_destination_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("warehouse");
    let file_in_the_way = dir.path().join("a-file");
    std::fs::write(&file_in_the_way, b"x").unwrap();
    let d = LocalDestination::new(LocalConfig { path: root.clone() });
    conformance::run_all(&d, &LocalProbe { root, file_in_the_way }).await;
}
