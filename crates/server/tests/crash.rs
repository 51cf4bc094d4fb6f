//! Durability: kill -9 the server while several clients send events; after a restart every
//! event that got a 2xx is stored, exactly once.

mod common;

use common::{WHARF, free_port, request};

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn start(data: &Path, port: u16) -> Child {
    let mut child = Command::new(WHARF)
        .args(["--data-dir", data.to_str().unwrap(), "serve", "--http", &format!("127.0.0.1:{port}")])
        .env("WHARF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((200, _)) = request(port, "GET", "/healthz", "", "") {
            return child;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("wharf did not become healthy");
}

fn create_account(data: &Path) -> String {
    let out = Command::new(WHARF)
        .args(["--data-dir", data.to_str().unwrap(), "account", "create", "--name", "crash", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["api_key"].as_str().unwrap().to_string()
}

fn event_body(client: usize, n: usize) -> String {
    serde_json::json!({"data": {"type": "event", "attributes": {
        "properties": {"client": client, "n": n, "pad": "x".repeat(300)},
        "unique_id": format!("c{client}-{n}"),
        "metric": {"data": {"type": "metric", "attributes": {"name": "Crash Test"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": format!("c{client}@example.org")}}}}}})
    .to_string()
}

/// Every stored event's unique_id, with how often it occurs.
fn stored_unique_ids(port: u16, key: &str) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    let mut path = "/api/events?page%5Bsize%5D=1000".to_string();
    loop {
        let (status, body) = request(port, "GET", &path, key, "").expect("server answers");
        assert_eq!(status, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        for e in doc["data"].as_array().unwrap() {
            *seen.entry(e["attributes"]["event_properties"]["$event_id"].as_str().unwrap().to_string()).or_insert(0) +=
                1;
        }
        match doc["links"]["next"].as_str() {
            Some(next) => {
                path = next.split_once("127.0.0.1").unwrap().1.split_once('/').map(|(_, p)| format!("/{p}")).unwrap()
            }
            None => return seen,
        }
    }
}

#[test]
fn every_acknowledged_event_survives_kill_9_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = create_account(&data);
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut sent_total = 0;

    for round in 0..3 {
        let port = free_port();
        let mut server = start(&data, port);
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..6)
            .map(|c| {
                let (stop, count, acked, key) = (stop.clone(), count.clone(), acked.clone(), key.clone());
                std::thread::spawn(move || {
                    let client = round * 100 + c;
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        match request(port, "POST", "/api/events", &key, &event_body(client, n)) {
                            Some((202, _)) => {
                                acked.lock().unwrap().insert(format!("c{client}-{n}"));
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                            Some((status, body)) => panic!("unexpected {status}: {body}"),
                            None => return n,
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        // Kill at a different load each round, mid-stream.
        let target = 150 + round * 120;
        let deadline = Instant::now() + Duration::from_secs(60);
        while count.load(Ordering::Relaxed) < target && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            sent_total += c.join().unwrap();
        }
    }

    let port = free_port();
    let mut server = start(&data, port);
    let stored = stored_unique_ids(port, &key);
    server.kill().unwrap();
    server.wait().unwrap();

    let acked = acked.lock().unwrap();
    assert!(acked.len() >= 150 + 270 + 390, "enough load reached the server: {}", acked.len());
    let missing: Vec<_> = acked.iter().filter(|u| !stored.contains_key(*u)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    assert!(stored.len() <= sent_total + 18, "nothing appears that was never sent");
}
