//! The S3 destination against a real moto server (started here, on a free port) through the
//! conformance suite, reading objects back with the Parquet reader; moto stopped and frozen
//! mid-way; and error answers from a scripted server, classified by kind.
//!
//! moto comes from `$WHARF_MOTO_BIN`, or `$WHARF_PEERS_VENV/bin/moto_server` (the project's
//! test command installs it from `tests/peers/requirements.txt`). Without either, the moto
//! tests fail: they are never skipped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Array, StringArray, TimestampMicrosecondArray};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wharf_destinations::conformance::{self, Probe};
use wharf_destinations::s3::{S3Config, S3Destination, S3Options, Secret};
use wharf_destinations::{Destination, DestinationConfig, ErrorKind, parquet_files};
use wharf_model::warehouse::{Rows, RunId, Table};

const BUCKET: &str = "wharf-lake";
const PREFIX: &str = "exports/wharf";

// ---------------------------------------------------------------------------------------
// moto, started and stopped by the test

fn moto_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("WHARF_MOTO_BIN") {
        return bin.into();
    }
    match std::env::var_os("WHARF_PEERS_VENV") {
        Some(venv) => PathBuf::from(venv).join("bin").join("moto_server"),
        None => panic!(
            "the S3 tests need moto: set WHARF_PEERS_VENV to a venv with tests/peers/requirements.txt installed \
             (or WHARF_MOTO_BIN to a moto_server binary); scripts/test.sh does this"
        ),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A moto server on 127.0.0.1; killed when dropped, even when a test panics.
struct Moto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto, recording every request so that a restart can replay them (moto keeps its
    /// state in memory only).
    async fn start() -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut moto = Moto { child: Self::spawn(port, &dir), port, dir };
        moto.wait_ready().await;
        moto
    }

    fn spawn(port: u16, dir: &tempfile::TempDir) -> Child {
        let bin = moto_bin();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.path().join("moto.log")).unwrap();
        Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ENABLE_RECORDING", "True")
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto from {}: {e}", bin.display()))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = http();
        loop {
            if let Ok(r) = client.get(format!("{}/moto-api/", self.url())).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("moto exited with {status}:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "moto did not answer within 60 s:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills moto (SIGKILL) and waits until it is gone.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts moto again on the same port and replays what the killed one had recorded.
    async fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(self.port, &self.dir);
        self.wait_ready().await;
        let r = http().post(format!("{}/moto-api/recorder/replay-recording", self.url())).send().await.unwrap();
        assert!(r.status().is_success(), "replay: {}", r.status());
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {signal}");
    }

    /// Bucket creation is accepted unsigned while moto does not check authentication.
    async fn create_bucket(&self, bucket: &str) {
        let r = http().put(format!("{}/{bucket}", self.url())).send().await.unwrap();
        assert!(r.status().is_success(), "create bucket: {} {}", r.status(), r.text().await.unwrap());
    }

    /// Creates an IAM user allowed `s3:*` and returns its key pair, then makes moto check
    /// every signature from now on (so a wrong secret is refused as it would be by AWS).
    async fn enforce_auth(&self) -> (String, String) {
        let client = http();
        // Unchecked until auth is on, but moto routes IAM calls by the credential scope.
        let scope = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/iam/aws4_request, \
                     SignedHeaders=host, Signature=0";
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let calls: [&[(&str, &str)]; 3] = [
            &[("Action", "CreateUser"), ("UserName", "wharf")],
            &[("Action", "CreateAccessKey"), ("UserName", "wharf")],
            &[("Action", "PutUserPolicy"), ("UserName", "wharf"), ("PolicyName", "s3"), ("PolicyDocument", policy)],
        ];
        let mut key = String::new();
        for params in calls {
            let mut form: Vec<(&str, &str)> = params.to_vec();
            form.push(("Version", "2010-05-08"));
            let body = form.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
            let r = client
                .post(self.url())
                .header("Authorization", scope)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            let (status, text) = (r.status(), r.text().await.unwrap());
            assert!(status.is_success(), "IAM {params:?}: {status} {text}");
            if text.contains("<AccessKeyId>") {
                key = text;
            }
        }
        let r = client.post(format!("{}/moto-api/reset-auth", self.url())).body("0").send().await.unwrap();
        assert!(r.status().is_success(), "reset-auth: {}", r.status());
        (tag(&key, "AccessKeyId"), tag(&key, "SecretAccessKey"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // A frozen moto must be thawed to die cleanly; then kill and reap it.
        let _ = Command::new("kill").args(["-CONT", &self.child.id().to_string()]).status();
        self.kill();
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn tag(xml: &str, name: &str) -> String {
    let start = xml.find(&format!("<{name}>")).unwrap_or_else(|| panic!("no <{name}> in {xml}")) + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>")).unwrap();
    xml[start..end].to_string()
}

fn config(moto: &Moto, key: &str, secret: &str, prefix: Option<&str>) -> S3Config {
    S3Config {
        name: Some("test lake".into()),
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        access_key_id: key.into(),
        secret_access_key: Secret::new(secret),
        endpoint: Some(moto.url()),
        prefix: prefix.map(Into::into),
        path_style: None,
    }
}

/// Short timeouts and one retry, so that failures show within seconds.
fn quick() -> S3Options {
    S3Options {
        request_timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(1),
        max_retries: 1,
        ..S3Options::default()
    }
}

/// A client of our own, to look at the bucket the way a reader would.
fn reader(moto: &Moto, key: &str, secret: &str) -> Arc<AmazonS3> {
    let store = AmazonS3Builder::new()
        .with_endpoint(moto.url())
        .with_client_options(ClientOptions::new().with_allow_http(true))
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_access_key_id(key)
        .with_secret_access_key(secret)
        .build()
        .unwrap();
    Arc::new(store)
}

// ---------------------------------------------------------------------------------------
// Reading the bucket back

struct S3Probe {
    store: Arc<AmazonS3>,
    prefix: Option<&'static str>,
    broken: S3Config,
}

fn prefixed(prefix: Option<&str>, rest: &str) -> Path {
    Path::from(match prefix {
        Some(p) => format!("{p}/{rest}"),
        None => rest.to_string(),
    })
}

async fn keys(store: &AmazonS3, prefix: &Path) -> Vec<Path> {
    let mut keys: Vec<Path> = store.list(Some(prefix)).map_ok(|m| m.location).try_collect().await.unwrap();
    keys.sort();
    keys
}

/// One column of every `.parquet` object of a table, as text.
async fn read_column(store: &AmazonS3, prefix: Option<&str>, table: Table, column: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for key in keys(store, &prefixed(prefix, table.name())).await {
        if key.extension() != Some("parquet") {
            continue;
        }
        let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap().build().unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let col = batch.column_by_name(column).unwrap();
            if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
                out.extend((0..s.len()).map(|i| (!s.is_null(i)).then(|| s.value(i).to_string())));
            } else {
                let ts = col.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
                out.extend((0..ts.len()).map(|i| Some(ts.value(i).to_string())));
            }
        }
    }
    out
}

#[async_trait]
impl Probe for S3Probe {
    async fn ids(&self, table: Table) -> Vec<String> {
        read_column(&self.store, self.prefix, table, "id").await.into_iter().flatten().collect()
    }

    async fn latest_first_names(&self) -> HashMap<String, Option<String>> {
        let ids = read_column(&self.store, self.prefix, Table::Profile, "id").await;
        let names = read_column(&self.store, self.prefix, Table::Profile, "first_name").await;
        let updated = read_column(&self.store, self.prefix, Table::Profile, "updated").await;
        let mut latest: HashMap<String, (i64, Option<String>)> = HashMap::new();
        for ((id, name), up) in ids.into_iter().zip(names).zip(updated) {
            let up: i64 = up.unwrap().parse().unwrap();
            let e = latest.entry(id.unwrap()).or_insert((i64::MIN, None));
            if up >= e.0 {
                *e = (up, name);
            }
        }
        latest.into_iter().map(|(k, (_, v))| (k, v)).collect()
    }

    async fn simulate_crash_mid_load(&self, run: &RunId) {
        let data = prefixed(self.prefix, &format!("{}/{}.parquet", run.table.name(), run.slug()));
        // A kill -9 during a multipart upload: one part sent, never completed. S3 keeps the
        // parts aside; readers never see them.
        let mut upload = self.store.put_multipart(&data).await.unwrap();
        upload.put_part(Bytes::from(vec![b'x'; 5 * 1024 * 1024]).into()).await.unwrap();
        drop(upload);
        // A kill -9 after the data object but before the manifest: an earlier attempt's file
        // (here with only some of the run's rows) sits at the run's key.
        let rows = conformance::events(run.after as usize, 60);
        let bytes = parquet_files::encode(&rows).unwrap();
        self.store.put(&data, Bytes::from(bytes).into()).await.unwrap();
    }

    fn broken(&self) -> (Box<dyn Destination>, ErrorKind) {
        let d = S3Destination::with_options(self.broken.clone(), quick()).unwrap();
        (Box::new(d), ErrorKind::Auth)
    }
}

fn run(table: Table, after: i64, up_to: i64) -> RunId {
    RunId { kind: "periodic", table, after, up_to, part: 0 }
}

/// Events whose properties do not compress, to make files of a given size.
fn bulky_events(from: usize, n: usize) -> Rows {
    let Rows::Events(mut rows) = conformance::events(from, n) else { unreachable!() };
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for r in &mut rows {
        let noise: String = (0..32)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{x:016x}")
            })
            .collect();
        r.event_properties = format!(r#"{{"noise":"{noise}"}}"#);
    }
    Rows::Events(rows)
}

// ---------------------------------------------------------------------------------------
// Tests against moto

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_passes_the_destination_conformance_suite_against_moto() {
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let (key, secret) = moto.enforce_auth().await;

    let good = config(&moto, &key, &secret, Some(PREFIX));
    let d = S3Destination::with_options(good.clone(), quick()).unwrap();
    let store = reader(&moto, &key, &secret);
    let probe = S3Probe {
        store: store.clone(),
        prefix: Some(PREFIX),
        broken: S3Config { secret_access_key: Secret::new("not-the-secret"), ..good.clone() },
    };
    conformance::run_all(&d, &probe).await;

    // The wrong secret is refused by the signature check, with S3's own words.
    let (broken, _) = probe.broken();
    let steps = broken.test_connection().await;
    let failed = steps.iter().find(|s| !s.ok).unwrap();
    let error = failed.error.as_ref().unwrap();
    assert_eq!(failed.step, wharf_destinations::Step::Authenticate, "{steps:?}");
    assert_eq!(error.code, "SignatureDoesNotMatch", "{error:?}");
    assert!(error.external_message.contains("signature"), "{error:?}");
    // An unknown key id too.
    let unknown = S3Config { access_key_id: "AKIANOTAKEY000000000".into(), ..good.clone() };
    let steps = S3Destination::with_options(unknown, quick()).unwrap().test_connection().await;
    let error = steps.iter().find_map(|s| s.error.clone()).unwrap();
    assert_eq!((error.kind, error.code.as_str()), (ErrorKind::Auth, "InvalidAccessKeyId"), "{error:?}");

    // The layout is the local destination's, under the prefix; no probe object is left.
    let all: Vec<String> =
        keys(&store, &Path::from(PREFIX)).await.into_iter().map(|p| p.as_ref().to_string()).collect();
    let first = run(Table::Event, 0, 100).slug();
    assert!(all.contains(&format!("{PREFIX}/klaviyo_event/{first}.parquet")), "{all:#?}");
    assert!(all.contains(&format!("{PREFIX}/_wharf/manifests/klaviyo_event/{first}.json")), "{all:#?}");
    assert!(all.iter().all(|k| !k.contains("connection-test")), "{all:#?}");
    let empty = run(Table::Event, 250, 260).slug();
    assert!(!all.contains(&format!("{PREFIX}/klaviyo_event/{empty}.parquet")), "an empty run writes no data file");
    let manifest = store
        .get(&Path::from(format!("{PREFIX}/_wharf/manifests/klaviyo_event/{first}.json")))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(manifest["rows"], 100);
    assert_eq!(manifest["location"], format!("s3://{BUCKET}/{PREFIX}/klaviyo_event/{first}.parquet"));

    // A file over the multipart threshold goes up in parts, and reads back whole.
    let big = run(Table::Event, 1000, 41_000);
    let receipt = d.load(&big, &bulky_events(1000, 40_000)).await.unwrap();
    assert!(receipt.bytes > 8 * 1024 * 1024, "the test file must cross the threshold: {receipt:?}");
    let meta = store.head(&Path::from(format!("{PREFIX}/klaviyo_event/{}.parquet", big.slug()))).await.unwrap();
    assert_eq!(meta.size, receipt.bytes);
    assert!(meta.e_tag.as_deref().unwrap_or_default().contains('-'), "a multipart ETag ends in -N: {meta:?}");
    let mut ids = probe.ids(Table::Event).await;
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40_250);
    // Reloading it replaces it.
    d.load(&big, &bulky_events(1000, 40_000)).await.unwrap();
    assert_eq!(probe.ids(Table::Event).await.len(), 40_250);

    // A bucket that does not exist is NotFound, everywhere it shows.
    let missing = S3Config { bucket: "no-such-bucket".into(), ..good.clone() };
    let nowhere = S3Destination::with_options(missing, quick()).unwrap();
    let steps = nowhere.test_connection().await;
    let error = steps.iter().find_map(|s| s.error.clone()).unwrap();
    assert_eq!((error.kind, error.code.as_str()), (ErrorKind::NotFound, "NoSuchBucket"), "{steps:?}");
    assert_eq!(nowhere.committed(&run(Table::Event, 0, 100)).await.unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(nowhere.ensure_tables().await.unwrap_err().kind, ErrorKind::NotFound);

    // The registry builds the same destination from its JSON form.
    let json = serde_json::json!({
        "type": "s3", "bucket": BUCKET, "region": "us-east-1", "access_key_id": key,
        "secret_access_key": secret, "endpoint": moto.url(), "prefix": PREFIX,
    });
    let from_registry: DestinationConfig = serde_json::from_value(json).unwrap();
    from_registry.validate().unwrap();
    let built = from_registry.build().unwrap();
    assert!(built.test_connection().await.iter().all(|s| s.ok));
    assert_eq!(built.committed(&run(Table::Event, 0, 100)).await.unwrap().map(|r| r.rows), Some(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_fail_as_transient_while_moto_is_down_then_every_row_lands_once() {
    let mut moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let d = S3Destination::with_options(config(&moto, "AKIAMOTO", "moto-secret", None), quick()).unwrap();
    let store = reader(&moto, "AKIAMOTO", "moto-secret");
    let (r1, r2, r3) = (run(Table::Event, 0, 100), run(Table::Event, 100, 200), run(Table::Event, 200, 300));
    d.load(&r1, &conformance::events(0, 100)).await.unwrap();

    // Killed: connection refused, reported as transient by every operation.
    moto.kill();
    let e = d.load(&r2, &conformance::events(100, 100)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e:?}");
    assert!(!e.external_message.is_empty());
    assert_eq!(d.committed(&r1).await.unwrap_err().kind, ErrorKind::Transient);
    let steps = d.test_connection().await;
    assert_eq!((steps.len(), steps[0].error.as_ref().map(|e| e.kind)), (1, Some(ErrorKind::Transient)), "{steps:?}");

    // Back (with its state replayed): the retry goes through.
    moto.restart().await;
    assert_eq!(d.committed(&r1).await.unwrap().map(|r| r.rows), Some(100));
    assert_eq!(d.committed(&r2).await.unwrap(), None);
    d.load(&r2, &conformance::events(100, 100)).await.unwrap();

    // Frozen (SIGSTOP): requests hang; the destination times out as transient.
    moto.signal("-STOP");
    let started = Instant::now();
    let e = d.load(&r3, &conformance::events(200, 100)).await.unwrap_err();
    assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Transient, "timeout"), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "timed out only after {:?}", started.elapsed());
    moto.signal("-CONT");
    d.load(&r3, &conformance::events(200, 100)).await.unwrap();
    assert_eq!(d.committed(&r3).await.unwrap().map(|r| r.rows), Some(100));

    // Every row exactly once.
    let mut ids: Vec<String> = read_column(&store, None, Table::Event, "id").await.into_iter().flatten().collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!((before, ids.len()), (300, 300));
}

// ---------------------------------------------------------------------------------------
// Error answers from a scripted server

/// Answers every request with `response` (or never, when `None`), counting requests.
async fn scripted(response: Option<&'static str>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match response {
                None => held.push(socket),
                Some(r) => {
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut head = Vec::new();
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match socket.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        let _ = socket.write_all(r.as_bytes()).await;
                        let _ = socket.shutdown().await;
                    });
                }
            }
        }
    });
    (url, count)
}

fn s3_error(status: &str, code: &str, message: &str) -> &'static str {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
         <RequestId>4442587FB7D0A2F9</RequestId></Error>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Box::leak(response.into_boxed_str())
}

fn against(url: &str) -> S3Destination {
    let c = S3Config {
        name: None,
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        access_key_id: "AKIAEXAMPLE".into(),
        secret_access_key: Secret::new("secret"),
        endpoint: Some(url.into()),
        prefix: None,
        path_style: None,
    };
    let options = S3Options {
        request_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        max_retries: 0,
        ..S3Options::default()
    };
    S3Destination::with_options(c, options).unwrap()
}

#[tokio::test]
async fn service_errors_keep_their_code_and_message_and_get_a_kind() {
    let cases = [
        (
            "403 Forbidden",
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            ErrorKind::Auth,
        ),
        (
            "403 Forbidden",
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            ErrorKind::Auth,
        ),
        ("403 Forbidden", "AccessDenied", "Access Denied", ErrorKind::Auth),
        ("404 Not Found", "NoSuchBucket", "The specified bucket does not exist", ErrorKind::NotFound),
        ("503 Slow Down", "SlowDown", "Please reduce your request rate.", ErrorKind::RateLimited),
        ("429 Too Many Requests", "TooManyRequests", "Rate exceeded &amp; then some", ErrorKind::RateLimited),
        (
            "500 Internal Server Error",
            "InternalError",
            "We encountered an internal error. Please try again.",
            ErrorKind::Transient,
        ),
        ("503 Service Unavailable", "ServiceUnavailable", "Reduce your request rate.", ErrorKind::Transient),
        ("400 Bad Request", "InvalidArgument", "Invalid argument.", ErrorKind::Permanent),
    ];
    let r = run(Table::Event, 0, 1);
    for (status, code, message, kind) in cases {
        let (url, _) = scripted(Some(s3_error(status, code, message))).await;
        let d = against(&url);
        let e = d.committed(&r).await.unwrap_err();
        assert_eq!((e.kind, e.code.as_str()), (kind, code), "{status}: {e:?}");
        assert_eq!(e.external_message, message.replace("&amp;", "&"), "{e:?}");
        let e = d.load(&r, &conformance::events(0, 1)).await.unwrap_err();
        assert_eq!(e.kind, kind, "{status} on PUT: {e:?}");
    }

    // A missing key is simply "not committed".
    let (url, _) = scripted(Some(s3_error("404 Not Found", "NoSuchKey", "The specified key does not exist."))).await;
    assert_eq!(against(&url).committed(&r).await.unwrap(), None);
}

#[tokio::test]
async fn a_destination_that_hangs_or_is_gone_is_transient() {
    let (url, requests) = scripted(None).await;
    let d = against(&url);
    let started = Instant::now();
    let e = d.committed(&run(Table::Event, 0, 1)).await.unwrap_err();
    assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Transient, "timeout"), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(requests.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    let steps = d.test_connection().await;
    assert_eq!(steps[0].error.as_ref().map(|e| (e.kind, e.code.as_str())), Some((ErrorKind::Transient, "timeout")));

    // Nobody listening: connection refused.
    let port = free_port();
    let d = against(&format!("http://127.0.0.1:{port}"));
    let e = d.load(&run(Table::Event, 0, 1), &conformance::events(0, 1)).await.unwrap_err();
    assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Transient, "connect"), "{e:?}");
    assert!(!e.external_message.is_empty());
}
