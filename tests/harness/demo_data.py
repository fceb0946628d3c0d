"""Seed the local services with a small version of the platform's data for `make demo`.

PostgreSQL: database ``platform`` with the EXP runbook's schemas (production,
experiments_v1, quarantine) and an audit log, a few tables bloated by deletes so the
weekly maintenance has something to vacuum, and the rest clean.
"""

from __future__ import annotations

import sys

import psycopg2
from psycopg2 import sql

from tests.harness.services import read_state, DEFAULT_RUN_DIR

SCHEMAS = {
    "production": ["models", "predictions", "deployments", "api_keys"],
    "experiments_v1": ["experiments", "runs", "code_samples", "metrics"],
    "quarantine": ["records", "impact_analysis"],
    "audit": ["event_log"],
}
# (schema, table, share of rows deleted): the bloat the weekly run should find.
BLOATED = [("production", "predictions", 0.5), ("experiments_v1", "runs", 0.4), ("audit", "event_log", 0.3)]
ROWS = 20000


def seed_postgres(pg: dict, database: str = "platform") -> None:
    admin = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    admin.close()
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                            dbname=database)
    conn.autocommit = True
    with conn.cursor() as cur:
        for schema, tables in SCHEMAS.items():
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            for table in tables:
                ident = sql.Identifier(schema, table)
                # autovacuum off: the demo shows the maintenance run finding the bloat itself.
                cur.execute(sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, created_at timestamptz NOT NULL "
                                    "DEFAULT now(), payload jsonb) WITH (autovacuum_enabled = off)").format(ident))
                cur.execute(sql.SQL("INSERT INTO {} (id, payload) SELECT g, jsonb_build_object('n', g, 'h', "
                                    "md5(g::text)) FROM generate_series(1, %s) g").format(ident), (ROWS,))
                cur.execute(sql.SQL("CREATE INDEX ON {} (created_at)").format(ident))
        for schema, table, share in BLOATED:
            cur.execute(sql.SQL("DELETE FROM {} WHERE id %% 100 < %s").format(sql.Identifier(schema, table)),
                        (int(share * 100),))
        cur.execute("SELECT pg_stat_force_next_flush()")
    conn.close()


def main() -> int:
    state = read_state(DEFAULT_RUN_DIR if len(sys.argv) < 2 else sys.argv[1])
    if not state:
        print("demo-data: services are not running (make services-up)", file=sys.stderr)
        return 1
    seed_postgres(state["postgres"])
    bloated = ", ".join(f"{schema}.{table}" for schema, table, _share in BLOATED)
    print(f"demo-data: database 'platform' with schemas {', '.join(SCHEMAS)}; bloated tables: {bloated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
