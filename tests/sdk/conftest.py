"""Fixtures for the SDK compatibility suite.

One Wharf server per session (``wharf --data-dir DIR serve --http 127.0.0.1:PORT``), one fresh
account per test (``wharf --data-dir DIR account create --name NAME --json``), and an official
``KlaviyoAPI`` client pointed at the server with retries off.

The binary is ``$WHARF_BIN``, else ``$CARGO_TARGET_DIR/debug/wharf``, else ``<repo>/target/debug/wharf``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from klaviyo_api import KlaviyoAPI

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 30.0
REQUEST_TIMEOUT_S = 20.0


def wharf_bin() -> Path:
    if os.environ.get("WHARF_BIN"):
        return Path(os.environ["WHARF_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target / "debug" / "wharf"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: Path, data_dir: Path, log_path: Path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(self.binary), "--data-dir", str(self.data_dir), "serve", "--http", f"127.0.0.1:{self.port}"],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_DEADLINE_S
        last_err: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wharf serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
                    last_err = r.status
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                last_err = e
            time.sleep(0.05)  # polling interval for readiness, not synchronisation of test data
        self.stop()
        raise RuntimeError(f"wharf serve not healthy after {START_DEADLINE_S}s ({last_err!r}):\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "log", None):
            self.log.close()

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def create_account(self, name: str) -> dict:
        out = subprocess.run(
            [str(self.binary), "--data-dir", str(self.data_dir), "account", "create", "--name", name, "--json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
        if out.returncode != 0:
            raise RuntimeError(f"account create failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
        lines = [l for l in out.stdout.decode().splitlines() if l.strip()]
        acct = json.loads(lines[-1])
        assert acct["api_key"].startswith("pk_"), acct
        assert acct["account_id"], acct
        return acct


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    binary = wharf_bin()
    if not binary.exists():
        pytest.fail(f"Wharf binary not found at {binary}; build it or set WHARF_BIN", pytrace=False)
    root = tmp_path_factory.mktemp("wharf")
    data_dir = root / "data"
    data_dir.mkdir()
    srv = Server(binary, data_dir, root / "server.log")
    srv.start()
    _SERVERS.append(srv)
    yield srv
    srv.stop()


_SERVERS: list[Server] = []


def make_client(base_url: str, api_key: str) -> KlaviyoAPI:
    client = KlaviyoAPI(api_key, max_delay=1, max_retries=0, test_host=base_url)
    # The generated client sends requests without a timeout; give every call one so a hung
    # server fails the test instead of hanging the run.
    rest = client.api_client.rest_client
    orig = rest.request

    def request(*args, _request_timeout=None, **kwargs):
        return orig(*args, _request_timeout=_request_timeout or REQUEST_TIMEOUT_S, **kwargs)

    rest.request = request
    return client


@pytest.fixture
def account(server, request):
    return server.create_account(f"sdk-{request.node.name[:40]}-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def klaviyo(server, account) -> KlaviyoAPI:
    return make_client(server.base_url, account["api_key"])


@pytest.fixture
def new_client(server):
    """Factory for extra isolated accounts: returns (client, account)."""

    def make(name: str = "extra"):
        acct = server.create_account(f"sdk-{name}-{uuid.uuid4().hex[:6]}")
        return make_client(server.base_url, acct["api_key"]), acct

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and _SERVERS:
        rep.sections.append(("wharf server log (tail)", _SERVERS[0].log_tail()))
