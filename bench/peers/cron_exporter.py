"""M6 peer: "a cron + Python exporter". Every --every seconds it reads the events added to
Wharf's SQLite store since its last window (seq > last) and writes them as one Parquet file
(pyarrow, zstd) into --out, atomically (temporary name, then rename).

  cron_exporter.py --db D/wharf.sqlite3 --out DIR --every 2 [--account A]

Runs until killed. Prints one JSON line per window: window, rows, export_s (read + write),
started (epoch s), cpu_s (cumulative).
"""

import argparse
import json
import os
import time

import pyarrow.parquet as pq

import sqlite_rows


def export_window(con, account, after, path):
    stats = {}
    writer = None
    for b in sqlite_rows.batches(con, account, after_seq=after, stats=stats):
        if writer is None:
            writer = pq.ParquetWriter(path + ".tmp", sqlite_rows.SCHEMA, compression="zstd")
        writer.write_batch(b)
    if writer is not None:
        writer.close()
        os.rename(path + ".tmp", path)
    return stats.get("rows", 0), stats.get("last_seq", after)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--every", type=float, required=True)
    ap.add_argument("--account")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    con = sqlite_rows.connect(args.db)
    account = args.account or sqlite_rows.account_id(con)
    last = 0
    start = time.time()
    window = 0
    while True:
        # Cron-like: ticks at fixed times, not "every seconds after the last run ended".
        window += 1
        tick = start + window * args.every
        time.sleep(max(0.0, tick - time.time()))
        t0 = time.time()
        rows, last = export_window(con, account, last, os.path.join(args.out, f"events-{window:06}.parquet"))
        line = {"window": window, "rows": rows, "export_s": time.time() - t0, "started": t0}
        print(json.dumps(dict(line, cpu_s=sqlite_rows.cpu_s())), flush=True)


if __name__ == "__main__":
    main()
