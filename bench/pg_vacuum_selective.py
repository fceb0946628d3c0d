"""Benchmark: pg_vacuum's threshold mode against the runbook's blanket `VACUUM ANALYZE`.

A database of 200 tables (autovacuum off) gets 5 of them dirty before every measurement.
"Ours" vacuums by thresholds, which picks exactly those 5; the baseline is the runbook's
`psql -c "VACUUM ANALYZE"` on the whole database. Each round measures every variant
(interleaved, order alternating), and the medians are printed as one JSON object per line:

  {"bench": "pg_vacuum_selective", "metric": ..., "ours": x, "baseline": y, "unit": "s", "ratio": x/y, "rounds": n}

The headline, last, is the task as users run it (ansible-playbook, process start included).
Uses the running services named by SRE_SERVICES_FILE, else starts its own and stops them after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from contextlib import closing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402

from tests.harness import services as harness  # noqa: E402
from tests.integration.module_runner import ensure_collection_link, run_module  # noqa: E402

BENCH = "pg_vacuum_selective"
TABLES = 200
DIRTY = ["t007", "t051", "t099", "t150", "t193"]
THRESHOLDS = {"dead_tuple_ratio": 0.05, "min_dead_tuples": 100}  # dirty tables get rows / 10 dead


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


class BenchDatabase:
    def __init__(self, server, name):
        self.server, self.name = server, name

    def connect(self):
        conn = psycopg2.connect(host=self.server["host"], port=self.server["port"], user=self.server["user"],
                                password=self.server["password"], dbname=self.name, application_name=BENCH)
        conn.autocommit = True
        return conn

    def module_args(self):
        return {"operation": "vacuum", "host": self.server["host"], "port": self.server["port"],
                "user": self.server["user"], "database": self.name, "thresholds": THRESHOLDS}

    def load(self, rows):
        with closing(self.connect()) as conn, conn.cursor() as cursor:
            cursor.execute(f"""
                DO $$
                BEGIN
                  FOR i IN 0..{TABLES - 1} LOOP
                    EXECUTE format('CREATE TABLE public.%I (id int PRIMARY KEY, payload text, n int) '
                                   'WITH (autovacuum_enabled = false)', 't' || lpad(i::text, 3, '0'));
                    EXECUTE format('INSERT INTO public.%I SELECT g, md5(g::text), g %% 97 FROM generate_series(1, {rows}) g',
                                   't' || lpad(i::text, 3, '0'));
                  END LOOP;
                END $$""")
            # Warm-up, not measured: the first pass over fresh tables sets hint bits and the
            # visibility map, work neither side should be charged for in every round.
            cursor.execute("VACUUM ANALYZE")

    def make_dirty(self, rows):
        """Turn 10% of the rows of the 5 dirty tables into dead tuples; wait until the stats show it."""
        with closing(self.connect()) as conn, conn.cursor() as cursor:
            for name in DIRTY:
                cursor.execute(sql.SQL("UPDATE public.{} SET n = n + 1 WHERE id % 10 = 0").format(sql.Identifier(name)))
            cursor.execute("SELECT pg_stat_force_next_flush()")
        wanted = rows // 10
        deadline = time.monotonic() + 60
        with closing(self.connect()) as conn, conn.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute("SELECT count(*) FROM pg_stat_user_tables WHERE relname = ANY(%s) AND n_dead_tup >= %s",
                               (DIRTY, wanted))
                if cursor.fetchone()[0] == len(DIRTY):
                    return
                time.sleep(0.05)
        raise RuntimeError("the dirty tables' dead tuples never showed up in pg_stat_user_tables")


def check_chosen(tables):
    names = sorted(t["name"] for t in tables)
    if names != sorted(f"public.{name}" for name in DIRTY):
        raise RuntimeError(f"threshold mode chose {names}, expected exactly the 5 dirty tables")


def measure_ansible(db):
    started = time.perf_counter()
    result = run_module("sre.runbooks.pg_vacuum", db.module_args(), env={"PGPASSWORD": db.server["password"]})
    elapsed = time.perf_counter() - started
    if result.failed:
        raise RuntimeError(f"pg_vacuum failed: {result.get('msg')}")
    check_chosen(result["tables"])
    return elapsed


def measure_module_logic(db):
    """The module's own code in-process: selection query, decision and the 5 VACUUMs, no process start."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.sre.runbooks.plugins.module_utils._postgres import vacuum_args
    from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_runner import VacuumRunner

    params = dict(pg_vacuum_defaults(vacuum_args), **db.module_args())
    module = types.SimpleNamespace(params=params, check_mode=False, _diff=False, warn=log)
    conn = db.connect()
    try:
        started = time.perf_counter()
        result = VacuumRunner(module, conn, vacuum_args.parse_intervals(params)).run()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    check_chosen(result["tables"])
    return elapsed


def pg_vacuum_defaults(vacuum_args):
    return {name: spec.get("default") for name, spec in vacuum_args.argument_spec().items()}


def measure_baseline(db, psql):
    """The runbook's step: psql -c "VACUUM ANALYZE" on the whole database (password via environment)."""
    env = dict(os.environ, PGPASSWORD=db.server["password"])
    command = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", db.server["host"], "-p", str(db.server["port"]),
               "-U", db.server["user"], "-d", db.name, "-c", "VACUUM ANALYZE"]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def emit(metric, ours, baseline, unit, rounds):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": unit, "ratio": round(ours / baseline, 4), "rounds": rounds}), flush=True)


def run(server, rounds, rows):
    admin = psycopg2.connect(host=server["host"], port=server["port"], user=server["user"],
                             password=server["password"], dbname="postgres")
    admin.autocommit = True
    db = BenchDatabase(server, f"bench_vacuum_{uuid.uuid4().hex[:8]}")
    admin.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db.name)))
    try:
        log(f"loading {TABLES} tables x {rows} rows into {db.name}")
        db.load(rows)
        psql = str(Path(server["bin_dir"]) / "psql")
        variants = {
            "ansible": lambda: measure_ansible(db),
            "logic": lambda: measure_module_logic(db),
            "baseline": lambda: measure_baseline(db, psql),
        }
        timings = {name: [] for name in variants}
        for number in range(rounds):
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for name in order:
                db.make_dirty(rows)
                timings[name].append(variants[name]())
            log(f"round {number + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in timings.items()))
        baseline = statistics.median(timings["baseline"])
        emit("tables_vacuumed", len(DIRTY), TABLES, "tables", rounds)
        emit("module_logic_threshold_vs_vacuum_analyze", statistics.median(timings["logic"]), baseline, "s", rounds)
        emit("ansible_task_threshold_vs_vacuum_analyze", statistics.median(timings["ansible"]), baseline, "s", rounds)
    finally:
        admin.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))
        admin.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "5")))
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_PG_ROWS", "20000")),
                        help="rows per table (default 20000, about 300 MB in all)")
    options = parser.parse_args()
    ensure_collection_link()
    services_file = os.environ.get("SRE_SERVICES_FILE")
    if services_file and Path(services_file).exists():
        run(json.loads(Path(services_file).read_text())["postgres"], options.rounds, options.rows)
        return 0
    run_dir = Path(tempfile.mkdtemp(prefix="sre-bench-services-"))
    os.chmod(run_dir, 0o755)  # the 'postgres' user must reach the cluster inside
    try:
        state = harness.up(run_dir)
        run(state["postgres"], options.rounds, options.rows)
    finally:
        harness.down(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
