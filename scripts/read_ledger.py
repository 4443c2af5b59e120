#!/usr/bin/env python3
"""Independent reader of a scimport ledger, used by tests (tests/it/ledger.rs).

Reads ledger.parquet with pyarrow AND with DuckDB (neither shares code with the Rust
writer) and prints one JSON object: the schema as each library sees it, the row count,
counts per outcome/action, row groups, compression, and the distinct row numbers.

usage: read_ledger.py LEDGER.parquet
"""
import json
import sys

import duckdb
import pyarrow.parquet as pq


def main(path: str) -> None:
    table = pq.read_table(path)
    meta = pq.ParquetFile(path).metadata
    compressions = sorted(
        {
            meta.row_group(g).column(c).compression
            for g in range(meta.num_row_groups)
            for c in range(meta.num_columns)
        }
    )
    outcomes = {}
    for o in table.column("outcome").to_pylist():
        outcomes[o] = outcomes.get(o, 0) + 1
    actions = {}
    for a in table.column("action").to_pylist():
        actions[a] = actions.get(a, 0) + 1
    rows = table.column("row").to_pylist()
    pa_out = {
        "schema": [[f.name, str(f.type), f.nullable] for f in table.schema],
        "rows": table.num_rows,
        "outcomes": outcomes,
        "actions": actions,
        "row_groups": meta.num_row_groups,
        "max_row_group_rows": max(
            (meta.row_group(g).num_rows for g in range(meta.num_row_groups)), default=0
        ),
        "compression": compressions,
        "distinct_rows": len(set(rows)),
        "sorted": rows == sorted(rows),
        "run_ids": sorted(set(table.column("run_id").to_pylist())),
        "null_http_status": table.column("http_status").null_count,
        "first": json.loads(
            json.dumps(table.slice(0, 1).to_pylist()[0] if table.num_rows else None, default=str)
        ),
    }

    con = duckdb.connect()
    rel = f"read_parquet('{path}')"
    types = {
        name: typ
        for name, typ in con.execute(f"select column_name, column_type from (describe select * from {rel})").fetchall()
    }
    (n,) = con.execute(f"select count(*) from {rel}").fetchone()
    db_outcomes = dict(con.execute(f"select outcome, count(*) from {rel} group by outcome").fetchall())
    (distinct,) = con.execute(f"select count(distinct row) from {rel}").fetchone()
    (failed_with_error,) = con.execute(
        f"select count(*) from {rel} where outcome in ('failed','invalid') and error_kind is not null"
    ).fetchone()
    (changed,) = con.execute(f"select coalesce(sum(len(changed_fields)), 0) from {rel}").fetchone()
    db_out = {
        "types": types,
        "rows": n,
        "outcomes": db_outcomes,
        "distinct_rows": distinct,
        "failed_with_error": failed_with_error,
        "changed_fields_total": int(changed),
    }
    print(json.dumps({"pyarrow": pa_out, "duckdb": db_out}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
