"""Checks Wharf's export with DuckDB: count(*) and count(DISTINCT id) over the files.

  verify_parquet.py 'OUT/klaviyo_event/*.parquet'

Prints one JSON line: rows, distinct_ids, files, bytes.
"""

import glob
import json
import os
import sys

import duckdb


def main():
    pattern = sys.argv[1]
    files = sorted(glob.glob(pattern))
    if not files:
        print(json.dumps({"rows": 0, "distinct_ids": 0, "files": 0, "bytes": 0}))
        return
    rows, distinct = duckdb.sql(
        "SELECT count(*), count(DISTINCT id) FROM read_parquet($files)", params={"files": files}
    ).fetchall()[0]
    size = sum(os.path.getsize(f) for f in files)
    print(json.dumps({"rows": rows, "distinct_ids": distinct, "files": len(files), "bytes": size}))


if __name__ == "__main__":
    main()
