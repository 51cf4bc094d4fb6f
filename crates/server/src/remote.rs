//! `wharf connection …` and `wharf syncs …`: the management API (`/v1`) of a running server.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::cli::{ConnectionCommand, DestinationType, Remote, SetConnection, SyncsCommand};
use crate::client::Client;

/// How often `--wait` and `watch` ask.
const POLL: Duration = Duration::from_millis(250);

fn client(remote: &Remote) -> anyhow::Result<Client> {
    let key = remote.api_key.as_deref().unwrap_or_default();
    if key.trim().is_empty() {
        bail!("an API key is required: pass --api-key or set WHARF_API_KEY");
    }
    Client::new(&remote.server, key)
}

pub fn connection(remote: &Remote, command: ConnectionCommand) -> anyhow::Result<()> {
    let client = client(remote)?;
    match command {
        ConnectionCommand::Set(args) => {
            let body = set_body(&args)?;
            let answer = client.call("PUT", "/v1/connection", Some(&body))?;
            print_connection(&answer, args.json, "connection set")?;
            connected(&answer)
        }
        ConnectionCommand::Test { json } => {
            let answer = client.call("POST", "/v1/connection/test", None)?;
            print_connection(&answer, json, "connection tested")?;
            connected(&answer)
        }
        ConnectionCommand::Show { json } => {
            let answer = client.call("GET", "/v1/connection", None)?;
            print_connection(&answer, json, "connection")
        }
        ConnectionCommand::Remove => {
            client.call("DELETE", "/v1/connection", None)?;
            println!("connection removed: every sync is disabled and its credentials deleted");
            println!("(the warehouse itself is left as it is)");
            Ok(())
        }
    }
}

/// The `PUT /v1/connection` document of `connection set`.
pub(super) fn set_body(args: &SetConnection) -> anyhow::Result<Value> {
    let s3_flags = [
        ("--bucket", args.bucket.is_some()),
        ("--region", args.region.is_some()),
        ("--access-key-id", args.access_key_id.is_some()),
        ("--secret-access-key", args.secret_access_key.is_some()),
        ("--endpoint", args.endpoint.is_some()),
        ("--prefix", args.prefix.is_some()),
        ("--path-style", args.path_style.is_some()),
    ];
    let destination = match args.kind {
        DestinationType::Local => {
            if let Some((flag, _)) = s3_flags.iter().find(|(_, given)| *given) {
                bail!("{flag} is an S3 setting; --type local takes --path");
            }
            let path = args.path.as_deref().ok_or_else(|| anyhow!("--type local needs --path /absolute/folder"))?;
            json!({"type": "local", "path": path})
        }
        DestinationType::S3 => {
            if args.path.is_some() {
                bail!("--path is a local setting; --type s3 takes --bucket, --region and credentials");
            }
            let required = |v: &Option<String>, flag: &str| v.clone().ok_or_else(|| anyhow!("--type s3 needs {flag}"));
            let mut d = Map::new();
            d.insert("type".into(), json!("s3"));
            d.insert("bucket".into(), json!(required(&args.bucket, "--bucket")?));
            d.insert("region".into(), json!(required(&args.region, "--region")?));
            d.insert("access_key_id".into(), json!(required(&args.access_key_id, "--access-key-id")?));
            d.insert(
                "secret_access_key".into(),
                json!(required(&args.secret_access_key, "--secret-access-key (or WHARF_S3_SECRET_ACCESS_KEY)")?),
            );
            if let Some(e) = &args.endpoint {
                d.insert("endpoint".into(), json!(e));
            }
            if let Some(p) = &args.prefix {
                d.insert("prefix".into(), json!(p));
            }
            if let Some(p) = args.path_style {
                d.insert("path_style".into(), json!(p));
            }
            Value::Object(d)
        }
    };
    // Options left out take the server's defaults.
    let mut options = Map::new();
    if !args.data_objects.is_empty() {
        options.insert("data_objects".into(), json!(trimmed(&args.data_objects)));
    }
    if !args.exclude_integrations.is_empty() {
        options.insert("excluded_integrations".into(), json!(trimmed(&args.exclude_integrations)));
    }
    if !args.selective_sync.is_empty() {
        options.insert("selective_sync".into(), json!(trimmed(&args.selective_sync)));
    }
    if let Some(r) = &args.historical_range {
        options.insert("historical_range".into(), json!(r));
    }
    Ok(json!({"destination": destination, "options": options}))
}

fn trimmed(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect()
}

/// Non-zero exit when the connection test failed.
fn connected(answer: &Value) -> anyhow::Result<()> {
    match answer["state"].as_str() {
        Some("enabled") => Ok(()),
        _ => Err(anyhow!(
            "unable to connect: fix the destination, then `wharf connection test` or `wharf connection set` again"
        )),
    }
}

fn print_connection(c: &Value, json: bool, title: &str) -> anyhow::Result<()> {
    if json {
        println!("{c}");
        return Ok(());
    }
    let d = &c["destination"];
    println!("{title}: {} destination", d["type"].as_str().unwrap_or("?"));
    if let Some(fields) = d.as_object() {
        for (k, v) in fields.iter().filter(|(k, _)| k.as_str() != "type") {
            println!("  {k}: {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        }
    }
    let state = c["state"].as_str().unwrap_or("?");
    println!("state: {}", if state == "unable_to_connect" { "unable to connect" } else { state });
    match c["test"].as_array() {
        Some(steps) if !steps.is_empty() => {
            println!("connection test:");
            for s in steps {
                print_step(s);
            }
        }
        _ => {}
    }
    let o = &c["options"];
    let names = |v: &Value, none: &str| match v.as_array() {
        Some(a) if !a.is_empty() => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        _ => none.to_string(),
    };
    println!("options:");
    println!("  data objects: {}", names(&o["data_objects"], "-"));
    println!("  excluded integrations: {}", names(&o["excluded_integrations"], "none"));
    println!("  selective sync: {}", names(&o["selective_sync"], "all metrics"));
    println!("  historical range: {}", o["historical_range"].as_str().unwrap_or("-"));
    println!("  periodic cadence: {}", o["periodic_cadence"].as_str().unwrap_or("hourly"));
    if let Some(n) = c["errors_past_24h"].as_u64() {
        println!("errors in the past 24 hours: {n}");
    }
    if c.get("last_sync_at").is_some() {
        println!("last sync: {}", relative(&c["last_sync_at"]));
    }
    Ok(())
}

fn print_step(s: &Value) {
    let step = s["step"].as_str().unwrap_or("?").replace('_', " ");
    if s["ok"].as_bool() == Some(true) {
        println!("  ✓ {step}");
        return;
    }
    let e = &s["error"];
    if e.is_null() {
        println!("  ✗ {step}");
        return;
    }
    println!(
        "  ✗ {step}: {} (code {}, {}): {}",
        e["summary"].as_str().unwrap_or("failed"),
        e["code"].as_str().unwrap_or("?"),
        e["kind"].as_str().unwrap_or("?"),
        e["external_message"].as_str().unwrap_or("")
    );
}

pub fn syncs(remote: &Remote, command: SyncsCommand) -> anyhow::Result<()> {
    let client = client(remote)?;
    match command {
        SyncsCommand::List { json } => {
            let answer = client.call("GET", "/v1/syncs", None)?;
            if json {
                println!("{answer}");
            } else {
                print_table(answer["data"].as_array().map(Vec::as_slice).unwrap_or_default());
            }
            Ok(())
        }
        SyncsCommand::Show { id, json } => {
            let sync = find(&client, &id)?;
            if json {
                println!("{sync}");
            } else {
                print_sync(&sync);
            }
            Ok(())
        }
        SyncsCommand::Pause { id } => act(&client, &id, "pause").map(|s| print_sync(&s)),
        SyncsCommand::Resume { id } => act(&client, &id, "resume").map(|s| print_sync(&s)),
        SyncsCommand::Reenable { id } => act(&client, &id, "reenable").map(|s| print_sync(&s)),
        SyncsCommand::Run { id, wait, timeout } => {
            let sync = act(&client, &id, "run")?;
            if !wait {
                print_sync(&sync);
                return Ok(());
            }
            watch_one(&client, &sync, timeout)
        }
        SyncsCommand::Watch { id: Some(id), timeout } => {
            let sync = find(&client, &id)?;
            watch_one(&client, &sync, timeout)
        }
        SyncsCommand::Watch { id: None, timeout } => watch_historical(&client, timeout),
    }
}

fn path_segment(id: &str) -> anyhow::Result<&str> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("'{id}' is not a sync id (see `wharf syncs list`)");
    }
    Ok(id)
}

fn act(client: &Client, id: &str, action: &str) -> anyhow::Result<Value> {
    let answer = client.call("POST", &format!("/v1/syncs/{}/{action}", path_segment(id)?), None)?;
    Ok(answer["data"].clone())
}

fn list(client: &Client) -> anyhow::Result<Vec<Value>> {
    let answer = client.call("GET", "/v1/syncs", None)?;
    Ok(answer["data"].as_array().cloned().unwrap_or_default())
}

fn find(client: &Client, id: &str) -> anyhow::Result<Value> {
    path_segment(id)?;
    list(client)?
        .into_iter()
        .find(|s| s["id"] == id)
        .ok_or_else(|| anyhow!("sync '{id}' was not found (see `wharf syncs list`)"))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn percent(v: &Value) -> String {
    v.as_f64().map(|p| format!("{p:.0}%")).unwrap_or_else(|| "-".into())
}

pub(super) fn seconds(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// `12s ago`, `in 59m 48s`, or `-`.
pub(super) fn relative(v: &Value) -> String {
    let Some(t) = v.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()) else { return "-".into() };
    let delta = (t.with_timezone(&Utc) - Utc::now()).num_milliseconds() as f64 / 1000.0;
    if delta >= 0.5 { format!("in {}", seconds(delta)) } else { format!("{} ago", seconds(-delta)) }
}

fn print_table(syncs: &[Value]) {
    if syncs.is_empty() {
        println!("no syncs: set a connection first (`wharf connection set`)");
        return;
    }
    let header = ["ID", "KIND", "OBJECT", "STATUS", "PROGRESS", "FRESHNESS", "LAST RUN", "NEXT RUN"];
    let rows: Vec<[String; 8]> = syncs
        .iter()
        .map(|s| {
            [
                text(&s["id"]).to_string(),
                text(&s["kind"]).to_string(),
                text(&s["object"]).to_string(),
                text(&s["status"]).to_string(),
                percent(&s["progress_percent"]),
                s["freshness_seconds"].as_f64().map(seconds).unwrap_or_else(|| "-".into()),
                relative(&s["last_run_at"]),
                relative(&s["next_run_at"]),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Progress reads best right-aligned.
            let cell = if i == 4 { format!("{cell:>w$}") } else { format!("{cell:<w$}") };
            out.push_str(&cell);
            out.push_str("  ");
        }
        out.trim_end().to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for row in &rows {
        println!("{}", line(row));
    }
}

fn print_sync(s: &Value) {
    let status = text(&s["status"]);
    let mut line = format!("sync {} ({} {}): {status}", text(&s["id"]), text(&s["kind"]), text(&s["object"]));
    if let Some(p) = s["progress_percent"].as_f64() {
        line.push_str(&format!(", {p:.0}% ({}/{} rows)", s["rows_done"], s["rows_total"]));
    }
    if let Some(f) = s["freshness_seconds"].as_f64() {
        line.push_str(&format!(", freshness {}", seconds(f)));
    }
    if !s["next_run_at"].is_null() {
        line.push_str(&format!(", next run {}", relative(&s["next_run_at"])));
    }
    println!("{line}");
}

/// The newest error entry of a sync, as one line.
fn last_error(client: &Client, id: &str) -> String {
    let since = (Utc::now() - chrono::TimeDelta::days(7)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let path = format!("/v1/errors?since={}", since.replace('+', "%2B"));
    let entries = client.call("GET", &path, None).ok().and_then(|v| v["data"].as_array().cloned());
    let newest = entries.unwrap_or_default().into_iter().filter(|e| e["sync_id"] == id).max_by(|a, b| {
        let key = |e: &Value| (e["date"].as_str().unwrap_or_default().to_string(), e["id"].to_string());
        key(a).cmp(&key(b))
    });
    match newest {
        Some(e) => format!(
            "{} (code {}): {}",
            text(&e["summary"]),
            text(&e["code"]),
            e["external_message"].as_str().unwrap_or_default()
        ),
        None => "no error entry found".into(),
    }
}

/// Where a watched sync stands.
enum Outcome {
    Running,
    Done,
    Stopped(String),
}

fn judge(client: &Client, s: &Value, first_next_run: &Value) -> Outcome {
    let id = text(&s["id"]);
    match (text(&s["kind"]), text(&s["status"])) {
        (_, "errored") => Outcome::Stopped(format!(
            "sync {id} errored (retrying {}): {}",
            relative(&s["next_run_at"]),
            last_error(client, id)
        )),
        (_, "failed") => Outcome::Stopped(format!(
            "sync {id} failed (re-enable it with `wharf syncs reenable {id}`): {}",
            last_error(client, id)
        )),
        (_, "paused") => Outcome::Stopped(format!("sync {id} is paused (`wharf syncs resume {id}`)")),
        (_, "disabled") => Outcome::Stopped(format!("sync {id} is disabled: its connection was removed")),
        ("historical", "completed") => Outcome::Done,
        // A periodic sync is done with its run when it is scheduled again, for a later time.
        ("periodic", "scheduled") if s["next_run_at"] != *first_next_run => Outcome::Done,
        _ => Outcome::Running,
    }
}

fn rows(s: &Value) -> (usize, usize) {
    let n = |v: &Value| v.as_u64().unwrap_or(0) as usize;
    (n(&s["rows_done"]), n(&s["rows_total"]))
}

fn draw(what: &str, done: usize, total: usize, status: &str) {
    if total == 0 {
        eprint!("\r  {what}: {status}…{:30}", "");
        let _ = std::io::Write::flush(&mut std::io::stderr());
    } else {
        crate::demo::progress(what, done, total);
    }
}

fn watch_one(client: &Client, start: &Value, timeout: Duration) -> anyhow::Result<()> {
    let id = text(&start["id"]).to_string();
    let what = format!("{} {} rows", text(&start["kind"]), text(&start["object"]));
    // For a periodic sync, a run ends when it is scheduled for a time other than this one.
    let first_next_run = start["next_run_at"].clone();
    let deadline = Instant::now() + timeout;
    loop {
        let s = list(client)?
            .into_iter()
            .find(|s| s["id"] == id.as_str())
            .ok_or_else(|| anyhow!("sync '{id}' is gone (was the connection removed?)"))?;
        let (done, total) = rows(&s);
        draw(&what, done, total, text(&s["status"]));
        match judge(client, &s, &first_next_run) {
            Outcome::Done => {
                eprintln!();
                print_sync(&s);
                return Ok(());
            }
            Outcome::Stopped(why) => {
                eprintln!();
                bail!("{why}");
            }
            Outcome::Running if Instant::now() >= deadline => {
                eprintln!();
                bail!("sync {id} is still {} after {timeout:?}; it goes on in the server", text(&s["status"]));
            }
            Outcome::Running => std::thread::sleep(POLL),
        }
    }
}

fn watch_historical(client: &Client, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let historical: Vec<Value> = list(client)?.into_iter().filter(|s| s["kind"] == "historical").collect();
        if historical.is_empty() {
            bail!("no historical syncs: set a connection first (`wharf connection set`)");
        }
        let (done, total) = historical.iter().map(rows).fold((0, 0), |(d, t), (a, b)| (d + a, t + b));
        let completed = historical.iter().filter(|s| s["status"] == "completed").count();
        let what = format!("rows, {completed}/{} historical syncs completed", historical.len());
        draw(&what, done, total, "starting");
        let mut stopped = None;
        for s in &historical {
            if let Outcome::Stopped(why) = judge(client, s, &Value::Null) {
                stopped = Some(why);
            }
        }
        if let Some(why) = stopped {
            eprintln!();
            bail!("{why}");
        }
        if completed == historical.len() {
            eprintln!();
            println!("historical syncs completed: {done} rows");
            return Ok(());
        }
        if Instant::now() >= deadline {
            eprintln!();
            bail!("the historical syncs are still running after {timeout:?}; they go on in the server");
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(seconds(4.4), "4s");
        assert_eq!(seconds(192.0), "3m 12s");
        assert_eq!(seconds(7500.0), "2h 5m");
        assert_eq!(seconds(-3.0), "0s");
        assert_eq!(relative(&Value::Null), "-");
    }
}
