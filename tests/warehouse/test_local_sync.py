"""The warehouse sync to the local Parquet destination, end to end, read back with DuckDB and
pyarrow: kill -9 at many points during historical and periodic runs, a destination that runs
out of space and comes back, and every event exactly once at the end."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 60.0


def wharf_bin() -> Path:
    if os.environ.get("WHARF_BIN"):
        return Path(os.environ["WHARF_BIN"])
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "debug" / "wharf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Wharf:
    """A `wharf serve` process over one data dir that can be killed and restarted."""

    def __init__(self, data: Path, log: Path):
        self.data, self.log_path = data, log
        self.proc: subprocess.Popen | None = None
        self.port = 0
        out = subprocess.run([str(wharf_bin()), "--data-dir", str(data), "account", "create", "--name", "wh", "--json"],
                             check=True, capture_output=True)
        self.key = json.loads(out.stdout)["api_key"]

    def start(self) -> None:
        self.port = free_port()
        env = dict(os.environ, WHARF_PERIODIC_INTERVAL="300ms", WHARF_SYNC_BATCH_ROWS="40", WHARF_LOG="warn")
        self.proc = subprocess.Popen([str(wharf_bin()), "--data-dir", str(self.data), "serve", "--http", f"127.0.0.1:{self.port}"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
        self.wait(lambda: self.get("/healthz", raw=True) == 200, "healthy")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def request(self, method: str, path: str, body: object | None = None, timeout: float = 10) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers={
            "Authorization": f"Klaviyo-API-Key {self.key}", "revision": "2026-10-15", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, self.decode(r.read())
        except urllib.error.HTTPError as e:
            return e.code, self.decode(e.read())

    @staticmethod
    def decode(text: bytes) -> object:
        try:
            return json.loads(text) if text else None
        except ValueError:
            return text.decode(errors="replace")

    def get(self, path: str, raw: bool = False):
        try:
            status, body = self.request("GET", path, timeout=2)
        except (urllib.error.URLError, ConnectionError, OSError):
            return None
        return status if raw else body

    def syncs(self) -> list[dict]:
        body = self.get("/v1/syncs")
        return body["data"] if body else []

    @staticmethod
    def wait(check, what: str, deadline: float = DEADLINE_S) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if check():
                return
            time.sleep(0.05)  # polling interval with a deadline
        raise AssertionError(f"timed out waiting for {what}")


def event(uid: str, email: str) -> dict:
    return {"data": {"type": "event", "attributes": {
        "properties": {"OrderId": uid, "Items": [{"sku": "A1", "qty": 2}]}, "value": 12.5, "unique_id": uid,
        "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order", "service": "shopify"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": email}}}}}}


def bulk(uids: list[str]) -> dict:
    return {"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": [
        {"type": "event-bulk-create", "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"email": f"bulk{i % 9}@example.org"}}},
            "events": {"data": [{"type": "event", "attributes": {"properties": {"n": i}, "unique_id": uid,
                "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed Product"}}}}}]}}}
        for i, uid in enumerate(uids)]}}}}


@pytest.fixture()
def wharf(tmp_path):
    w = Wharf(tmp_path / "data", tmp_path / "wharf.log")
    yield w
    w.stop()


def parquet_ids(out: Path) -> list[str]:
    files = sorted((out / "klaviyo_event").glob("*.parquet"))
    return [] if not files else pq.read_table(out / "klaviyo_event").column("unique_id").to_pylist()


def test_kill_9_during_historical_and_periodic_runs_delivers_every_event_once(wharf, tmp_path):
    out = tmp_path / "warehouse"
    wharf.start()
    history = [f"h{i}" for i in range(600)]
    for i in range(0, len(history), 200):
        assert wharf.request("POST", "/api/event-bulk-create-jobs", bulk(history[i:i + 200]))[0] == 202
    status, body = wharf.request("PUT", "/v1/connection", {"destination": {"type": "local", "path": str(out)},
                                                           "options": {"data_objects": ["profiles", "events"]}})
    assert status == 201 and body["state"] == "enabled", body

    acked: list[str] = []
    sent: list[str] = []
    stop = threading.Event()

    def ingest():
        n = 0
        while not stop.is_set():
            uid = f"p{n}"
            sent.append(uid)
            try:
                status, _ = wharf.request("POST", "/api/events", event(uid, f"live{n % 13}@example.org"), timeout=5)
                if status == 202:
                    acked.append(uid)
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.02)  # the server is down between a kill and its restart
            n += 1

    feeder = threading.Thread(target=ingest, daemon=True)
    feeder.start()
    rng = random.Random(7)
    for _ in range(6):
        time.sleep(rng.uniform(0.05, 0.6))  # picks the kill point; not synchronisation
        wharf.kill9()
        wharf.start()
    stop.set()
    feeder.join()
    assert len(acked) > 50, "enough events were acknowledged around the kills"

    expected = set(history) | set(acked)
    wharf.wait(lambda: expected <= set(parquet_ids(out)), "every acknowledged event in the warehouse")
    ids = parquet_ids(out)
    assert len(ids) == len(set(ids)), "no event twice"
    # An event whose answer was lost in a kill may or may not be stored; nothing else may appear.
    assert set(ids) <= set(history) | set(sent), "nothing that was never sent"

    con = duckdb.connect()
    total, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{out}/klaviyo_event/*.parquet')").fetchone()
    assert total == distinct == len(ids)
    (order_id,) = con.execute(
        f"SELECT json_extract_string(event_properties, '$.OrderId') FROM read_parquet('{out}/klaviyo_event/*.parquet') "
        "WHERE unique_id = 'p0'").fetchone()
    assert order_id == "p0"
    latest = con.execute(f"""SELECT count(*) FROM (SELECT * FROM read_parquet('{out}/klaviyo_profile/*.parquet')
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated DESC, _synced_at DESC) = 1)""").fetchone()[0]
    assert latest == 9 + 13, "one latest row per profile"
    kinds = {(s["kind"], s["object"]): s["status"] for s in wharf.syncs()}
    assert kinds[("historical", "events")] == "completed"


def mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)


def test_a_full_destination_goes_errored_and_recovers_without_loss(wharf, tmp_path):
    # The warehouse folder is a small tmpfs (needs root, as CI runs): fill it, then free it.
    out = tmp_path / "small"
    mount_tmpfs(out, "2m")
    try:
        wharf.start()
        status, body = wharf.request("PUT", "/v1/connection", {"destination": {"type": "local", "path": str(out)},
                                                               "options": {"data_objects": ["events"]}})
        assert body["state"] == "enabled", body
        filler = out / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        uids = [f"e{i}" for i in range(200)]
        assert wharf.request("POST", "/api/event-bulk-create-jobs", bulk(uids))[0] == 202
        wharf.wait(lambda: any(s["status"] == "errored" for s in wharf.syncs()), "a sync Errored")
        errors = wharf.get("/v1/errors")["data"]
        assert errors and "No space left" in errors[0]["external_message"], errors
        assert errors[0]["summary"] and errors[0]["code"] and errors[0]["date"]
        errored = next(s for s in wharf.syncs() if s["status"] == "errored")
        assert errored["next_run_at"], errored

        filler.unlink()
        assert wharf.request("POST", f"/v1/syncs/{errored['id']}/run")[0] == 200
        wharf.wait(lambda: set(uids) <= set(parquet_ids(out)), "recovery")
        ids = parquet_ids(out)
        assert len(ids) == len(set(ids)) == 200
        runs = wharf.get(f"/v1/syncs/{errored['id']}/runs")["data"]
        assert {r["result"] for r in runs} == {"ok", "error"}, runs
    finally:
        wharf.stop()
        subprocess.run(["umount", str(out)], check=False)
