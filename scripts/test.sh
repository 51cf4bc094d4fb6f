#!/usr/bin/env bash
# Runs every test of Wharf on a fresh Debian machine with the Rust toolchain:
# installs what the tests need (a Python venv with the pinned official Klaviyo SDK),
# builds, runs the Rust tests, the SDK compatibility suite and the benchmark smoke run.
#
# Caches live under $WHARF_CACHE (default ~/.cache/wharf): the venv and, unless
# CARGO_TARGET_DIR is set, the cargo target folder, so reruns are fast.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${WHARF_CACHE:-$HOME/.cache/wharf}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
mkdir -p "$CACHE"

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
need=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v node >/dev/null || need+=(nodejs)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi

step "python venv: the official klaviyo-api SDK, DuckDB and pyarrow (pinned)"
VENV="$CACHE/venv"
REQS=(tests/sdk/requirements.txt tests/warehouse/requirements.txt)
STAMP="$VENV/.requirements.sha256"
want=$(cat "${REQS[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${REQS[@]/#/-r}"
  echo "$want" > "$STAMP"
fi

step "python venv with the test peers: moto for S3 (pinned)"
PEERS="$CACHE/peers-venv"
PREQ=tests/peers/requirements.txt
PSTAMP="$PEERS/.requirements.sha256"
pwant=$(sha256sum "$PREQ" | cut -d' ' -f1)
if [ ! -x "$PEERS/bin/python" ] || [ "$(cat "$PSTAMP" 2>/dev/null)" != "$pwant" ]; then
  rm -rf "$PEERS"
  python3 -m venv "$PEERS"
  "$PEERS/bin/pip" install -q --disable-pip-version-check -r "$PREQ"
  echo "$pwant" > "$PSTAMP"
fi
# The S3 tests start $WHARF_PEERS_VENV/bin/moto_server themselves, on free ports.
export WHARF_PEERS_VENV="$PEERS"

step "build"
cargo build --workspace --all-targets

step "rust tests"
cargo test --workspace --all-targets

step "official SDK, and the warehouse output read by DuckDB and pyarrow, against a running wharf"
WHARF_BIN="$CARGO_TARGET_DIR/debug/wharf" "$VENV/bin/python" -m pytest -q tests/sdk tests/warehouse

if [ "${WHARF_SKIP_BENCH_SMOKE:-0}" != 1 ]; then
  step "benchmark smoke run (numbers are not claims; see bench/README.md)"
  cargo xtask bench ingest --smoke
  WHARF_BENCH_PYTHON="$VENV/bin/python" cargo xtask bench export --smoke --no-build
  WHARF_BENCH_PYTHON="$VENV/bin/python" cargo xtask bench backfill-memory --smoke --no-build
  WHARF_BENCH_PYTHON="$VENV/bin/python" cargo xtask bench freshness --smoke --no-build
fi
step "all tests passed"
