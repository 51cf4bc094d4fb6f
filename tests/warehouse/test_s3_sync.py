"""The warehouse sync to S3 (moto) end to end: moto dies in the middle of syncing, the syncs go
Errored, moto comes back with its state, and afterwards the bucket holds every event exactly
once, read with pyarrow's S3 filesystem."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from test_local_sync import Wharf, bulk, free_port

BUCKET = "lake"


class Moto:
    def __init__(self, workdir: Path):
        venv = os.environ.get("WHARF_PEERS_VENV")
        if not venv:
            pytest.fail("WHARF_PEERS_VENV is not set: scripts/test.sh installs moto there and sets it")
        self.bin = Path(venv) / "bin" / "moto_server"
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, replay: bool = False) -> None:
        env = dict(os.environ, MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=str(self.dir / "recording.jsonl"))
        self.proc = subprocess.Popen([str(self.bin), "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.dir / "moto.log", "ab"))
        Wharf.wait(self.ready, "moto", deadline=90)
        if replay:
            urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/recorder/replay-recording", method="POST"), timeout=30)
        else:
            urllib.request.urlopen(urllib.request.Request(f"{self.url}/{BUCKET}", method="PUT"), timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def event_ids(self) -> list[str]:
        fs = pafs.S3FileSystem(access_key="test", secret_key="test", endpoint_override=f"127.0.0.1:{self.port}",
                               scheme="http", region="us-east-1")
        try:
            return pq.read_table(f"{BUCKET}/wharf/klaviyo_event", filesystem=fs).column("unique_id").to_pylist()
        except (FileNotFoundError, OSError):
            return []


@pytest.fixture()
def moto(tmp_path):
    m = Moto(tmp_path)
    m.start()
    yield m
    m.kill()


@pytest.fixture()
def wharf(tmp_path):
    w = Wharf(tmp_path / "data", tmp_path / "wharf.log")
    yield w
    w.stop()


def test_moto_dying_mid_sync_goes_errored_and_back_with_every_event_once(wharf, moto):
    wharf.start()
    first = [f"a{i}" for i in range(300)]
    assert wharf.request("POST", "/api/event-bulk-create-jobs", bulk(first[:150]))[0] == 202
    assert wharf.request("POST", "/api/event-bulk-create-jobs", bulk(first[150:]))[0] == 202
    status, body = wharf.request("PUT", "/v1/connection", {
        "destination": {"type": "s3", "bucket": BUCKET, "region": "us-east-1", "access_key_id": "test",
                        "secret_access_key": "test-secret", "endpoint": moto.url, "prefix": "wharf"},
        "options": {"data_objects": ["events"]}})
    assert status == 201 and body["state"] == "enabled", body
    assert "test-secret" not in str(body)
    wharf.wait(lambda: set(first) <= set(moto.event_ids()), "the historical sync in S3")

    moto.kill()
    second = [f"b{i}" for i in range(200)]
    assert wharf.request("POST", "/api/event-bulk-create-jobs", bulk(second))[0] == 202
    wharf.wait(lambda: any(s["status"] == "errored" and s["kind"] == "periodic" for s in wharf.syncs()),
               "the periodic sync Errored while S3 is down")
    errors = wharf.get("/v1/errors")["data"]
    assert errors and errors[0]["code"] and errors[0]["external_message"], errors

    moto.start(replay=True)
    for s in wharf.syncs():
        if s["status"] == "errored":
            assert wharf.request("POST", f"/v1/syncs/{s['id']}/run")[0] == 200
    wharf.wait(lambda: set(first) | set(second) <= set(moto.event_ids()), "recovery")
    wharf.wait(lambda: all(s["status"] in ("scheduled", "completed") for s in wharf.syncs()), "statuses back")
    ids = moto.event_ids()
    assert len(ids) == len(set(ids)) == 500, "every event exactly once"
