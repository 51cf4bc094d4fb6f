//! `wharf connection …` and `wharf syncs …` against a real `wharf serve`, and `wharf demo`'s
//! warehouse: the binary is spawned, nothing is mocked.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{WHARF, free_port, request};
use serde_json::Value;

/// A running `wharf serve`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Server {
    let port = free_port();
    let child = Command::new(WHARF)
        .args(["--data-dir", data.to_str().unwrap(), "serve", "--http", &format!("127.0.0.1:{port}")])
        .env("WHARF_LOG", "warn")
        .env("WHARF_PERIODIC_INTERVAL", "1s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((200, _)) = request(port, "GET", "/healthz", "", "") {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("wharf did not become healthy");
}

/// Runs the CLI against the server; the environment cannot point it elsewhere.
fn cli(server: &Server, key: &str, args: &[&str]) -> Output {
    Command::new(WHARF)
        .args(args)
        .args(["--server", &format!("http://127.0.0.1:{}", server.port), "--api-key", key])
        .env_remove("WHARF_SERVER")
        .env_remove("WHARF_API_KEY")
        .env_remove("WHARF_S3_SECRET_ACCESS_KEY")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "stdout: {}\nstderr: {}", stdout(&out), stderr(&out));
    out
}

fn syncs(server: &Server, key: &str) -> Vec<Value> {
    let out = ok(cli(server, key, &["syncs", "list", "--json"]));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["data"].as_array().unwrap().clone()
}

fn find<'a>(syncs: &'a [Value], kind: &str, object: &str) -> &'a Value {
    syncs.iter().find(|s| s["kind"] == kind && s["object"] == object).unwrap_or_else(|| panic!("{kind} {object}"))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn send_events(port: u16, key: &str, from: usize, n: usize) {
    for i in from..from + n {
        let body = serde_json::json!({"data": {"type": "event", "attributes": {
            "properties": {"n": i},
            "unique_id": format!("cli-sync-{i}"),
            "metric": {"data": {"type": "metric", "attributes": {"name": if i % 2 == 0 { "Placed Order" } else { "Viewed Product" }}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": format!("p{}@example.org", i % 3)}}}}}})
        .to_string();
        let (status, answer) = request(port, "POST", "/api/events", key, &body).expect("server answers");
        assert_eq!(status, 202, "{answer}");
    }
}

fn parquet_files(dir: &Path, prefix: &str) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(prefix) && n.ends_with(".parquet"))
            .collect(),
        Err(_) => vec![],
    }
}

#[test]
fn connection_and_syncs_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let warehouse = dir.path().join("warehouse");
    let server = serve(&data);

    // The account is created by the CLI on the store, beside the running server.
    let created = ok(Command::new(WHARF)
        .args(["--data-dir", data.to_str().unwrap(), "account", "create", "--name", "Sync CLI", "--json"])
        .output()
        .unwrap());
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let key = created["api_key"].as_str().unwrap().to_string();
    send_events(server.port, &key, 0, 6);

    // No key: a clear message before any request. A wrong key: the server's answer, one line.
    let out = Command::new(WHARF)
        .args(["syncs", "list", "--server", &format!("http://127.0.0.1:{}", server.port)])
        .env_remove("WHARF_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("API key is required"), "{}", stderr(&out));
    let out = cli(&server, "pk_wrong", &["syncs", "list"]);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 401"), "{}", stderr(&out));

    // Bad options are refused by the server, with where and why.
    let path = warehouse.to_str().unwrap();
    let out = cli(&server, &key, &["connection", "set", "--type", "local", "--path", path, "--historical-range", "2y"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown range '2y'"), "{}", stderr(&out));
    assert!(stderr(&out).contains("/options/historical_range"), "{}", stderr(&out));

    // Set the Local destination: Enabled, every step shown.
    let out = ok(cli(&server, &key, &["connection", "set", "--type", "local", "--path", path]));
    let text = stdout(&out);
    assert!(text.contains("state: enabled"), "{text}");
    for step in ["✓ reach", "✓ authenticate", "✓ write", "✓ read back", "✓ clean up"] {
        assert!(text.contains(step), "{step}: {text}");
    }

    // The historical syncs complete by themselves; `watch` draws them until they do.
    ok(cli(&server, &key, &["syncs", "watch", "--timeout", "60s"]));
    let list = syncs(&server, &key);
    assert_eq!(list.len(), 6, "{list:?}");
    for object in ["profiles", "events", "metrics"] {
        assert_eq!(find(&list, "historical", object)["status"], "completed");
        assert_eq!(find(&list, "historical", object)["progress_percent"], 100.0);
    }
    assert_eq!(find(&list, "historical", "events")["rows_done"], 6);
    assert_eq!(parquet_files(&warehouse.join("klaviyo_event"), "historical-").len(), 1);

    let table = stdout(&ok(cli(&server, &key, &["syncs", "list"])));
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains("FRESHNESS") && table.contains("completed") && table.contains("100%"), "{table}");
    assert_eq!(table.lines().count(), 7, "{table}");

    // Pause and resume the periodic events sync.
    let periodic = find(&list, "periodic", "events")["id"].as_str().unwrap().to_string();
    let out = ok(cli(&server, &key, &["syncs", "pause", &periodic]));
    assert!(stdout(&out).contains(": paused"), "{}", stdout(&out));
    assert_eq!(find(&syncs(&server, &key), "periodic", "events")["status"], "paused");
    let out = ok(cli(&server, &key, &["syncs", "resume", &periodic]));
    assert!(stdout(&out).contains(": scheduled"), "{}", stdout(&out));

    // A completed historical sync cannot be paused: non-zero, one clear line.
    let historical = find(&list, "historical", "events")["id"].as_str().unwrap().to_string();
    let out = cli(&server, &key, &["syncs", "pause", &historical]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("a completed historical sync cannot be paused") && err.contains("409"), "{err}");
    let out = cli(&server, &key, &["syncs", "pause", "NOSUCHSYNC"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    // New events go out with the periodic sync; `run --wait` returns once its run is done.
    send_events(server.port, &key, 100, 4);
    let out = ok(cli(&server, &key, &["syncs", "run", &periodic, "--wait", "--timeout", "60s"]));
    assert!(stdout(&out).contains("periodic events"), "{}", stdout(&out));
    wait_until("a periodic events file", || !parquet_files(&warehouse.join("klaviyo_event"), "periodic-").is_empty());
    let shown: Value =
        serde_json::from_slice(&ok(cli(&server, &key, &["syncs", "show", &periodic, "--json"])).stdout).unwrap();
    assert_eq!(shown["id"], periodic.as_str());
    assert!(shown["freshness_seconds"].is_number(), "{shown}");

    // A path under a regular file cannot work: Unable to connect, the failing step, non-zero.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let bad = file.join("warehouse");
    let out = cli(&server, &key, &["connection", "set", "--type", "local", "--path", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("state: unable to connect"), "{}", stdout(&out));
    assert!(stdout(&out).contains("✗"), "{}", stdout(&out));
    assert!(stderr(&out).contains("unable to connect"), "{}", stderr(&out));
    let out = cli(&server, &key, &["connection", "test"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("✗"), "{}", stdout(&out));
    let shown = stdout(&ok(cli(&server, &key, &["connection", "show"])));
    assert!(shown.contains("state: unable to connect"), "{shown}");

    // Removing the connection disables every sync.
    ok(cli(&server, &key, &["connection", "remove"]));
    let list = syncs(&server, &key);
    assert!(list.iter().all(|s| s["status"] == "disabled"), "{list:?}");
    let out = cli(&server, &key, &["connection", "show"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    // Secrets never come back: not from set, not from show.
    let secret = "s3cr3t-never-shown";
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let s3 = [
        "connection",
        "set",
        "--type",
        "s3",
        "--bucket",
        "acme-lake",
        "--region",
        "us-east-1",
        "--access-key-id",
        "AKIATEST",
        "--secret-access-key",
        secret,
        "--endpoint",
        &endpoint,
    ];
    let out = cli(&server, &key, &s3);
    assert!(!out.status.success(), "nothing listens on {endpoint}");
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));
    assert!(stdout(&out).contains("secret_access_key: ********"), "{}", stdout(&out));
    for args in [&["connection", "show"][..], &["connection", "show", "--json"]] {
        let out = ok(cli(&server, &key, args));
        assert!(!stdout(&out).contains(secret), "{}", stdout(&out));
        assert!(stdout(&out).contains("********"), "{}", stdout(&out));
        assert!(stdout(&out).contains("acme-lake"), "{}", stdout(&out));
    }
    // A second destination type needs the first removed; flags of the other type are refused.
    let out = cli(&server, &key, &["connection", "set", "--type", "local", "--path", path]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("409"), "{}", stderr(&out));
    let out = cli(&server, &key, &["connection", "set", "--type", "local", "--path", path, "--bucket", "b"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--bucket is an S3 setting"), "{}", stderr(&out));
}

#[test]
fn demo_syncs_the_shop_to_parquet_and_prints_a_query() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = || {
        Command::new(WHARF)
            .args(["--data-dir", data.to_str().unwrap()])
            .args(["demo", "--no-serve", "--profiles", "50", "--events", "400", "--http", "127.0.0.1:0"])
            .env_remove("WHARF_HTTP")
            .env_remove("WHARF_PERIODIC_INTERVAL")
            .output()
            .unwrap()
    };
    let out = ok(run());
    let text = stdout(&out);
    assert!(text.contains("Loaded 50 profiles and 400 events"), "{text}");
    assert!(text.contains("✓ clean up"), "{text}");
    assert!(text.contains("Historical sync completed"), "{text}");
    assert!(text.contains("Periodic syncs run every 1h"), "{text}");
    let warehouse = std::path::absolute(data.join("warehouse")).unwrap();
    let events = warehouse.join("klaviyo_event");
    let query = format!(
        "duckdb -c \"SELECT metric_name, count(*) FROM read_parquet('{}/*.parquet') GROUP BY 1 ORDER BY 2 DESC\"",
        events.display()
    );
    assert!(text.contains(&query), "{text}");
    assert!(text.contains("QUALIFY row_number() OVER (PARTITION BY id"), "{text}");
    assert_eq!(parquet_files(&events, "historical-").len(), 1);
    assert_eq!(parquet_files(&warehouse.join("klaviyo_profile"), "historical-").len(), 1);
    assert_eq!(parquet_files(&warehouse.join("klaviyo_metric"), "historical-").len(), 1);

    // A second run reuses the account and its connection, and writes nothing again.
    let out = ok(run());
    let text = stdout(&out);
    assert!(text.contains("Reusing the demo account"), "{text}");
    assert!(text.contains("Reusing the warehouse connection"), "{text}");
    assert!(!text.contains("Connected the Local destination"), "{text}");
    assert_eq!(parquet_files(&events, "").len(), 1);
}
