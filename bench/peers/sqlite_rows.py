"""Shared by the Python peers: Wharf's SQLite store -> Arrow record batches shaped like
Wharf's `klaviyo_event` Parquet files (same columns, same types), so file sizes compare.

Only the standard library and pyarrow (no numpy): the derived columns are computed in bulk
(C speed), never per row in Python, so the peers are not slowed by the harness.
"""

import base64
import json
import os
import resource
import sqlite3
import time

import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("us", tz="UTC")

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), False),
        pa.field("profile_id", pa.string(), False),
        pa.field("metric_id", pa.string(), False),
        pa.field("metric_name", pa.string(), False),
        pa.field("integration_name", pa.string(), False),
        pa.field("datetime", TS, False),
        pa.field("timestamp", pa.int64(), False),
        pa.field("uuid", pa.string(), False),
        pa.field("value", pa.float64(), True),
        pa.field("value_currency", pa.string(), True),
        pa.field("unique_id", pa.string(), True),
        pa.field("event_properties", pa.string(), False),
        pa.field("_synced_at", TS, False),
    ]
)

QUERY = """
SELECT e.id, e.profile_id, e.metric_id, m.name, m.integration_name, e.time,
       e.value, e.value_currency, e.unique_id, e.properties, e.seq
FROM events e JOIN metrics m ON m.account_id = e.account_id AND m.id = e.metric_id
WHERE e.account_id = ? AND e.seq > ?
ORDER BY e.seq
"""

# Crockford base32 (ULIDs) -> RFC 4648 base32, so base64.b32decode does the bit work.
_CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_RFC = bytes.maketrans(_CROCKFORD, _RFC4648)


def connect(db):
    # Read-only, beside a running server (WAL lets readers run beside the writer).
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
    con.execute("PRAGMA busy_timeout = 10000")
    return con


def account_id(con):
    return con.execute("SELECT id FROM accounts ORDER BY created LIMIT 1").fetchone()[0]


def _uuids(ids):
    """ULIDs (26 chars, 130 bits) -> UUID strings, the way Wharf's `ulid_as_uuid` does."""
    n = len(ids)
    # Six leading zero digits pad each id to 32 base32 digits = 20 bytes, 4 of them zero.
    raw = base64.b32decode(("000000" + "000000".join(ids)).encode().translate(_TO_RFC))
    hexed = raw.hex().encode()
    offsets = pa.array(range(0, 40 * (n + 1), 40), pa.int32()).buffers()[1]
    arr = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(hexed))
    parts = [pc.utf8_slice_codeunits(arr, a, b) for a, b in ((8, 16), (16, 20), (20, 24), (24, 28), (28, 40))]
    return pc.binary_join_element_wise(*parts, "-")


def to_batch(rows, synced_at_us):
    """One batch of store rows -> (record batch in SCHEMA, last seq)."""
    cols = list(zip(*rows))
    ts = pa.array(cols[5], pa.int64())
    n = len(rows)
    arrays = [
        pa.array(cols[0], pa.string()),
        pa.array(cols[1], pa.string()),
        pa.array(cols[2], pa.string()),
        pa.array(cols[3], pa.string()),
        pa.array(cols[4], pa.string()),
        pc.multiply(ts, 1_000_000).cast(TS),
        ts,
        _uuids(cols[0]),
        pa.array(cols[6], pa.float64()),
        pa.array(cols[7], pa.string()),
        pa.array(cols[8], pa.string()),
        pa.array(cols[9], pa.string()),
        pa.array([synced_at_us] * n, pa.int64()).cast(TS),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA), cols[10][-1]


def batches(con, account, after_seq=0, batch_rows=100_000, stats=None):
    """Yields record batches of the account's events with seq > after_seq, in seq order."""
    synced_at = int(time.time() * 1_000_000)
    cur = con.execute(QUERY, (account, after_seq))
    while True:
        rows = cur.fetchmany(batch_rows)
        if not rows:
            return
        batch, last = to_batch(rows, synced_at)
        if stats is not None:
            stats["rows"] = stats.get("rows", 0) + batch.num_rows
            stats["last_seq"] = last
        yield batch


def vm_hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)  # all threads, DuckDB's included
    return r.ru_utime + r.ru_stime


def report(**fields):
    """The one JSON line the harness parses (last line of stdout)."""
    fields.setdefault("peak_rss_kib", vm_hwm_kib())
    fields.setdefault("cpu_s", cpu_s())
    fields.setdefault("pid", os.getpid())
    print(json.dumps(fields), flush=True)
