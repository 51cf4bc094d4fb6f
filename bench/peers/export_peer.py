"""M3/M5 peers: export every event of Wharf's SQLite store to one Parquet file.

  export_peer.py duckdb  --db D/wharf.sqlite3 --out x.parquet [--account A]
  export_peer.py pyarrow --db D/wharf.sqlite3 --out x.parquet [--account A]
  export_peer.py count   --db D/wharf.sqlite3 [--account A]     (rows of the account)

duckdb:  rows are read with Python's sqlite3 (DuckDB's sqlite extension cannot be fetched
         offline), handed to DuckDB as an Arrow stream, and written by
         `COPY ... TO (FORMAT parquet, COMPRESSION zstd)`. Measured end to end, read included.
pyarrow: the same batches through `pyarrow.parquet.ParquetWriter(compression="zstd")` with
         its defaults (the file-size reference).

Prints one JSON line: rows, seconds and cpu_s (both counted after the imports, like a
server that is already up), bytes, peak_rss_kib (the process's VmHWM).
"""

import argparse
import os
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import sqlite_rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["duckdb", "pyarrow", "count"])
    ap.add_argument("--db", required=True)
    ap.add_argument("--out")
    ap.add_argument("--account")
    ap.add_argument("--batch-rows", type=int, default=100_000)
    args = ap.parse_args()

    con = sqlite_rows.connect(args.db)
    account = args.account or sqlite_rows.account_id(con)
    if args.mode == "count":
        (n,) = con.execute("SELECT count(*) FROM events WHERE account_id = ?", (account,)).fetchone()
        sqlite_rows.report(rows=n, account=account)
        return
    t0, cpu0 = time.time(), sqlite_rows.cpu_s()
    stats = {}
    batches = sqlite_rows.batches(con, account, batch_rows=args.batch_rows, stats=stats)
    if args.mode == "duckdb":
        reader = pa.RecordBatchReader.from_batches(sqlite_rows.SCHEMA, batches)  # noqa: F841 (DuckDB scans it)
        out = args.out.replace("'", "''")
        duckdb.sql(f"COPY (SELECT * FROM reader) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    else:
        with pq.ParquetWriter(args.out, sqlite_rows.SCHEMA, compression="zstd") as w:
            for b in batches:
                w.write_batch(b)
    sqlite_rows.report(
        mode=args.mode,
        rows=stats.get("rows", 0),
        seconds=time.time() - t0,
        bytes=os.path.getsize(args.out),
        cpu_s=sqlite_rows.cpu_s() - cpu0,
    )


if __name__ == "__main__":
    main()
