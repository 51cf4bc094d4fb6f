//! The `wharf` command line: accounts, keys, config validation and the demo loader.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::WHARF;

fn wharf(data: &Path, args: &[&str]) -> Output {
    Command::new(WHARF).arg("--data-dir").arg(data).args(args).env_remove("WHARF_HTTP").output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn accounts_and_keys_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let created = json(&wharf(dir.path(), &["account", "create", "--name", "Acme", "--json"]));
    let account = created["account_id"].as_str().unwrap();
    assert!(created["api_key"].as_str().unwrap().starts_with("pk_"));

    let list = json(&wharf(dir.path(), &["account", "list", "--json"]));
    assert_eq!(list[0]["id"], account);
    assert_eq!(list[0]["name"], "Acme");

    let key = json(&wharf(dir.path(), &["api-key", "create", "--account", account, "--label", "ci", "--json"]));
    let key_id = key["key_id"].as_str().unwrap();
    let out = wharf(dir.path(), &["api-key", "revoke", key_id]);
    assert!(out.status.success());
    let keys = json(&wharf(dir.path(), &["api-key", "list", "--account", account, "--json"]));
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let revoked = keys.as_array().unwrap().iter().find(|k| k["key_id"] == key_id).unwrap();
    assert!(!revoked["revoked"].is_null());
    let listing = String::from_utf8(wharf(dir.path(), &["api-key", "list", "--account", account]).stdout).unwrap();
    assert!(!listing.contains(key["api_key"].as_str().unwrap()), "secrets are never shown again");

    let out = wharf(dir.path(), &["api-key", "create", "--account", "NOSUCHACCOUNT"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = wharf(dir.path(), &["account", "create", "--name", "  "]);
    assert!(!out.status.success());
}

#[test]
fn config_file_is_validated_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wharf.toml");
    std::fs::write(&cfg, "data_dri = \"typo\"\n").unwrap();
    let out = Command::new(WHARF).args(["--config", cfg.to_str().unwrap(), "account", "list"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid config file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The file's data_dir is used when no flag or environment variable overrides it.
    let data = dir.path().join("from-file");
    std::fs::write(&cfg, format!("data_dir = {:?}\n", data.to_str().unwrap())).unwrap();
    let out = Command::new(WHARF)
        .args(["--config", cfg.to_str().unwrap(), "account", "create", "--name", "F"])
        .env_remove("WHARF_DATA_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(data.join("wharf.sqlite3").exists());
}

#[test]
fn demo_loads_a_shop_and_a_second_run_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["demo", "--no-serve", "--profiles", "60", "--events", "900", "--http", "127.0.0.1:0"];
    let out = wharf(dir.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Loaded 60 profiles and 900 events"), "{stdout}");
    assert!(stdout.contains("Private API key (shown once): pk_"), "{stdout}");
    let again = wharf(dir.path(), &args);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("Reusing the demo account"), "{stdout}");
    let accounts = json(&wharf(dir.path(), &["account", "list", "--json"]));
    assert_eq!(accounts.as_array().unwrap().len(), 1);
}
