"""M6 watcher: polls a folder of Parquet files and reports when each marker event first
becomes queryable there.

  parquet_watch.py --dir DIR --prefix PREFIX [--interval 0.2]

Each poll lists DIR/**/*.parquet and reads only files that are new or changed (name, size,
mtime), column `unique_id` only, so a poll stays cheap as the folder grows. Writers rename
complete files into place, so a listed file is whole. For every unique_id starting with
PREFIX seen for the first time it prints {"uid": ..., "seen": <epoch s of the listing>}.
Runs until killed.
"""

import argparse
import glob
import json
import os
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--interval", type=float, default=0.2)
    args = ap.parse_args()
    known = {}
    seen = set()
    while True:
        listed_at = time.time()
        for path in glob.glob(os.path.join(args.dir, "**", "*.parquet"), recursive=True):
            try:
                st = os.stat(path)
                sig = (st.st_size, st.st_mtime_ns)
                if known.get(path) == sig:
                    continue
                col = pq.read_table(path, columns=["unique_id"]).column("unique_id")
            except (OSError, ValueError):
                continue  # replaced or removed between listing and reading: next poll
            known[path] = sig
            hits = pc.filter(col, pc.starts_with(col, pattern=args.prefix))
            for uid in hits.to_pylist():
                if uid not in seen:
                    seen.add(uid)
                    print(json.dumps({"uid": uid, "seen": listed_at}), flush=True)
        time.sleep(max(0.0, listed_at + args.interval - time.time()))


if __name__ == "__main__":
    main()
