"""Benchmark: how the cost of three modules grows with the size of what they work on (issue 17, "Scale").

Each module runs through ansible-playbook (the user's path) at a small and a large size, and
the bench reports the growth exponent ``log(t2/t1) / log(n2/n1)`` (1.0 is linear) and the module
process' peak memory:

* pg_vacuum ``operation=vacuum`` with thresholds, in check mode (the selection path: catalog
  query, threshold decision, statements rendered) over 500 and 5,000 tables of which every
  tenth has dead tuples; timed by the module's own ``duration_s`` (connection excluded);
* pg_backup_info over 200 and 2,000 backups under an S3 prefix of moto's server (a valid
  manifest and a small artifact per backup, so 400 and 4,000 keys: ``list_objects_v2`` pages
  through them); timed as the module process' wall time, less that of an empty prefix (start,
  imports, client), and also end to end; target: 2,000 backups within a few seconds;
* redis_maintain ``operation=ttl_sweep`` over 1M and 10M keys (``--sweep-keys`` or
  BENCH_SCALE_SWEEP_KEYS=1000000,3000000 where RAM or time is short; 75 % match ``request:*``
  with no TTL), on a redis-server of its own (10M keys take about 1.2 GB, not for the shared
  one), loaded with ``redis-cli --pipe``; timed by the sweep's ``duration_s``.

Peak memory is the module process' peak RSS: the task's ``ansible_python_interpreter`` is a
small wrapper that runs the venv's Python as a child and records ``getrusage(RUSAGE_CHILDREN)``
(``ru_maxrss``, the largest descendant) and the child's wall time. Targets: exponent <= 1.2,
sweep peak RSS at the large size <= 1.15x the small one, pg_backup_info 2,000 <= 3 s.

Output, one JSON object per line like the other benches, ``{"bench": "scale", "metric", "ours"
(large size), "baseline" (small size), "unit", "ratio", "rounds", "sizes", "exponent", "target",
"verdict"}``. Uses the PostgreSQL and S3 services named by SRE_SERVICES_FILE, else starts its own.
``--only pg_vacuum,pg_backup_info,redis_ttl_sweep`` picks parts.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402

from bench.redis_ttl_sweep import BenchServer, expires, protocol  # noqa: E402
from tests.harness import services as harness  # noqa: E402
from tests.harness.services import LOOPBACK  # noqa: E402
from tests.integration.module_runner import ensure_collection_link, run_module_tasks  # noqa: E402

BENCH = "scale"
PARTS = ("pg_vacuum", "pg_backup_info", "redis_ttl_sweep")
MAX_EXPONENT = 1.2
MAX_RSS_RATIO = 1.15
MAX_INFO_SECONDS = 3.0
DIRTY_EVERY = 10  # every tenth table gets dead tuples
TABLE_ROWS = 20
DEAD_ROWS = 10
THRESHOLDS = {"min_dead_tuples": DEAD_ROWS, "dead_tuple_ratio": 0.2}
LOAD_CHUNK = 1_000_000
WRAPPER = """#!{python}
# Runs the module under a child Python and records its peak RSS (KiB) and wall time.
import json, os, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call([{python!r}, *sys.argv[1:]])
wall = time.perf_counter() - started
with open(os.environ["SRE_BENCH_RSS_FILE"], "a", encoding="utf-8") as out:
    out.write(json.dumps({{"maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                           "wall_s": wall}}) + "\\n")
sys.exit(code)
"""


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


class MeasuredModule:
    """Runs one module task through ansible-playbook with the measuring interpreter wrapper."""

    def __init__(self, workdir: Path):
        self.wrapper = workdir / "python-peak-rss"
        self.wrapper.write_text(WRAPPER.format(python=sys.executable))
        self.wrapper.chmod(0o755)
        self.record = workdir / "rss.jsonl"

    def run(self, module, args, check=False, env=None):
        """(result, {"maxrss_kib", "wall_s"} of the module process, seconds of the whole ansible-playbook run)."""
        self.record.write_text("")
        task = {"name": module, module: args, "vars": {"ansible_python_interpreter": str(self.wrapper)}}
        started = time.perf_counter()
        results, proc = run_module_tasks(module, [task], check=check,
                                         env=dict(env or {}, SRE_BENCH_RSS_FILE=str(self.record)), timeout=1800)
        elapsed = time.perf_counter() - started
        lines = self.record.read_text().splitlines()
        if not results or len(lines) != 1:
            raise RuntimeError(f"{module}: no result or no measurement (rc={proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        if results[0].failed:
            raise RuntimeError(f"{module} failed: {results[0].get('msg')}")
        return results[0], json.loads(lines[0]), elapsed


def exponent(small, large, n_small, n_large):
    return math.log(large / small) / math.log(n_large / n_small)


def emit(metric, large, small, unit, rounds, sizes, **extra):
    line = {"bench": BENCH, "metric": metric, "ours": round(large, 4), "baseline": round(small, 4), "unit": unit,
            "ratio": round(large / small, 4), "rounds": rounds, "sizes": list(sizes)}
    line.update(extra)
    print(json.dumps(line), flush=True)


def emit_growth(metric, times, sizes, rounds):
    """The time line of one part: ratio large/small, the growth exponent and its verdict."""
    small, large = (statistics.median(times[n]) for n in sizes)
    grow = exponent(small, large, *sizes)
    emit(metric, large, small, "s", rounds, sizes, exponent=round(grow, 3), target=f"exponent <= {MAX_EXPONENT}",
         verdict="meets target" if grow <= MAX_EXPONENT else "misses target")


def emit_memory(metric, peaks, sizes, rounds, limit=None):
    small, large = (max(peaks[n]) for n in sizes)
    extra = {}
    if limit:
        met = large / small <= limit
        extra = {"target": f"ratio <= {limit}", "verdict": "meets target" if met else "misses target"}
    emit(metric, large, small, "KiB peak RSS", rounds, sizes, **extra)


# -- pg_vacuum ------------------------------------------------------------------------------


def pg_connect(server, dbname):
    conn = psycopg2.connect(host=server["host"], port=server["port"], user=server["user"],
                            password=server["password"], dbname=dbname, application_name=f"bench-{BENCH}")
    conn.autocommit = True
    return conn


def load_tables(server, dbname, count):
    """``count`` small tables (autovacuum off), every DIRTY_EVERY-th with DEAD_ROWS dead tuples; returns those."""
    names = [f"t{i:05d}" for i in range(count)]
    dirty = [f"public.{name}" for name in names[::DIRTY_EVERY]]
    with closing(pg_connect(server, dbname)) as conn, conn.cursor() as cursor:
        for first in range(0, count, 500):  # one transaction per 500 tables keeps the lock table small
            cursor.execute("".join(f"CREATE TABLE public.{name} (id int PRIMARY KEY, n int) "
                                   "WITH (autovacuum_enabled = false);"
                                   f"INSERT INTO public.{name} SELECT g, g FROM generate_series(1, {TABLE_ROWS}) g;"
                                   for name in names[first:first + 500]))
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("".join(f"DELETE FROM {name} WHERE id <= {DEAD_ROWS};" for name in dirty))
        cursor.execute("SELECT pg_stat_force_next_flush()")
    deadline = time.monotonic() + 120
    with closing(pg_connect(server, dbname)) as conn, conn.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_user_tables WHERE n_dead_tup >= %s", (DEAD_ROWS,))
            if cursor.fetchone()[0] == len(dirty):
                return dirty
            time.sleep(0.1)
    raise RuntimeError(f"the dead tuples of {len(dirty)} tables never showed up in pg_stat_user_tables")


def bench_pg_vacuum(server, measured, sizes, rounds):
    times, walls, peaks = ({n: [] for n in sizes} for _unused in range(3))
    admin = pg_connect(server, "postgres")
    try:
        for count in sizes:
            dbname = f"bench_scale_{count}_{uuid.uuid4().hex[:6]}"
            admin.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            try:
                log(f"pg_vacuum: creating {count} tables in {dbname}")
                dirty = load_tables(server, dbname, count)
                args = {"operation": "vacuum", "host": server["host"], "port": server["port"], "user": server["user"],
                        "database": dbname, "thresholds": THRESHOLDS}
                for _round in range(rounds):
                    result, proc, _wall = measured.run("sre.runbooks.pg_vacuum", args, check=True,
                                                       env={"PGPASSWORD": server["password"]})
                    chosen = sorted(t["name"] for t in result["tables"])
                    if chosen != dirty or result["counts"]["candidates"] != count:
                        raise RuntimeError(f"pg_vacuum chose {len(chosen)} of {result['counts']['candidates']} tables, "
                                           f"expected the {len(dirty)} dirty ones of {count}")
                    times[count].append(result["duration_s"])
                    walls[count].append(proc["wall_s"])
                    peaks[count].append(proc["maxrss_kib"])
                    log(f"pg_vacuum {count} tables: selection {result['duration_s']:.3f}s, module process "
                        f"{proc['wall_s']:.2f}s, peak RSS {proc['maxrss_kib'] / 1024:.0f} MiB")
            finally:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
                admin.cursor().execute(drop)
    finally:
        admin.close()
    emit_growth("pg_vacuum_selection_time", times, sizes, rounds)
    emit_growth("pg_vacuum_module_process_time", walls, sizes, rounds)
    emit_memory("pg_vacuum_module_peak_rss", peaks, sizes, rounds)


# -- pg_backup_info -------------------------------------------------------------------------


def s3_client(s3):
    import boto3  # pylint: disable=import-outside-toplevel

    return boto3.client("s3", endpoint_url=s3["endpoint_url"], aws_access_key_id=s3["access_key"],
                        aws_secret_access_key=s3["secret_key"], region_name=s3["region"])


def backup_objects(prefix, count):
    """(key, bytes) of ``count`` backups as pg_backup uploads them: the artifact, then a valid manifest."""
    from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests  # noqa: E501

    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    for index in range(count):
        finished = start + datetime.timedelta(hours=index)
        name = f"daily-benchdb-database-{finished:%Y%m%dT%H%M%SZ}"
        data = f"-- pg_dump of benchdb, backup {index}\n".encode()
        manifest = {"tool": manifests.TOOL, "manifest_version": manifests.MANIFEST_VERSION, "name": name,
                    "label": "daily", "database": "benchdb", "scope": "database", "scope_id": "database",
                    "set_key": "daily/benchdb/database", "format": "plain", "compression": "none",
                    "file": name + ".sql", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                    "started_at": (finished - datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "finished_at": finished.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_seconds": 30.0,
                    "row_counts": {"public.accounts": 1000 + index, "public.orders": 5000},
                    "verification": {"level": "checksum", "status": "passed"}}
        yield f"{prefix}{name}.sql", data
        yield f"{prefix}{name}.manifest.json", manifests.dumps(manifest).encode()


def fill_bucket(client, bucket, prefix, count):
    objects = list(backup_objects(prefix, count))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: client.put_object(Bucket=bucket, Key=item[0], Body=item[1]), objects))


def empty_bucket(client, bucket):
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents") or []]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


def bench_pg_backup_info(s3, measured, sizes, rounds):
    client = s3_client(s3)
    bucket = f"bench-scale-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    times, totals, walls, peaks = ({n: [] for n in (0, *sizes)} for _unused in range(4))
    try:
        for count in (0, *sizes):
            prefix = f"n{count}/"
            if count:
                log(f"pg_backup_info: writing {count} backups ({2 * count} objects) under s3://{bucket}/{prefix}")
                fill_bucket(client, bucket, prefix, count)
            args = {"s3": {"bucket": bucket, "prefix": prefix.rstrip("/"), "endpoint_url": s3["endpoint_url"],
                           "access_key": s3["access_key"], "secret_key": s3["secret_key"], "region": s3["region"]}}
            for _round in range(rounds):
                result, proc, wall = measured.run("sre.runbooks.pg_backup_info", args)
                found = result["backups"]
                if len(found) != count or result.get("warnings") or any(b["status"] != "ok" for b in found):
                    raise RuntimeError(f"pg_backup_info listed {len(found)} backups (warnings: "
                                       f"{(result.get('warnings') or [])[:2]}), expected {count} good ones")
                walls[count].append(proc["wall_s"])
                totals[count].append(wall)
                peaks[count].append(proc["maxrss_kib"])
                log(f"pg_backup_info {count} backups: module process {proc['wall_s']:.2f}s, ansible-playbook "
                    f"{wall:.2f}s, peak RSS {proc['maxrss_kib'] / 1024:.0f} MiB")
    finally:
        empty_bucket(client, bucket)
    fixed = statistics.median(walls[0])
    for count in sizes:
        times[count] = [max(wall - fixed, 1e-3) for wall in walls[count]]
    emit_growth("pg_backup_info_listing_time_over_empty_prefix", times, sizes, rounds)
    large = statistics.median(walls[sizes[1]])
    emit(f"pg_backup_info_module_process_time_{sizes[1]}_backups", large, statistics.median(walls[sizes[0]]), "s",
         rounds, sizes, empty_prefix_s=round(fixed, 3), target=f"<= {MAX_INFO_SECONDS} s at {sizes[1]}",
         verdict="meets target" if large <= MAX_INFO_SECONDS else "misses target")
    emit(f"pg_backup_info_ansible_task_time_{sizes[1]}_backups", statistics.median(totals[sizes[1]]),
         statistics.median(totals[sizes[0]]), "s", rounds, sizes, empty_prefix_s=round(statistics.median(totals[0]), 3))
    emit_memory("pg_backup_info_module_peak_rss", peaks, sizes, rounds)


# -- redis TTL sweep ------------------------------------------------------------------------


def load_keyspace(server, keys):
    """``keys`` keys in db 0, 3/4 of them ``request:N`` (no TTL), loaded with redis-cli --pipe in chunks."""
    matching = keys * 3 // 4
    server.client(0).flushdb()
    for start in range(0, keys, LOAD_CHUNK):
        chunk = [b"request:%d" % i if i < matching else b"other:%d" % i
                 for i in range(start, min(keys, start + LOAD_CHUNK))]
        server.pipe(protocol(0, chunk))
    if server.client(0).dbsize() != keys:
        raise RuntimeError(f"db0 holds {server.client(0).dbsize()} keys after loading, expected {keys}")
    return matching


def bench_redis_sweep(measured, sizes, rounds):
    times, peaks = ({n: [] for n in sizes} for _unused in range(2))
    workdir = Path(tempfile.mkdtemp(prefix="sre-bench-scale-redis-"))
    server = BenchServer(workdir)
    try:
        for keys in sizes:
            for _round in range(rounds):
                log(f"redis: loading {keys} keys")
                matching = load_keyspace(server, keys)
                args = {"operation": "ttl_sweep", "host": LOOPBACK,
                        "port": server.port, "db": 0, "patterns": ["request:*"], "ttl": 86400}
                result, proc, wall = measured.run("sre.runbooks.redis_maintain", args)
                sweep = result["ttl_sweep"]
                if sweep["updated"] != matching or sweep["scanned"] < keys or expires(server, 0) != matching:
                    raise RuntimeError(f"the sweep of {keys} keys updated {sweep['updated']} "
                                       f"(scanned {sweep['scanned']}), "
                                       f"expected {matching}")
                times[keys].append(sweep["duration_s"])
                peaks[keys].append(proc["maxrss_kib"])
                log(f"redis sweep {keys} keys ({sweep['method']}): sweep {sweep['duration_s']:.2f}s, module process "
                    f"{proc['wall_s']:.2f}s, ansible-playbook {wall:.2f}s, "
                    f"peak RSS {proc['maxrss_kib'] / 1024:.0f} MiB")
            server.client(0).flushdb()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    emit_growth("redis_ttl_sweep_time", times, sizes, rounds)
    emit_memory("redis_ttl_sweep_module_peak_rss", peaks, sizes, rounds, limit=MAX_RSS_RATIO)


# -- main -----------------------------------------------------------------------------------


def sizes_arg(text):
    sizes = tuple(int(float(part)) for part in text.split(","))
    if len(sizes) != 2 or not 0 < sizes[0] < sizes[1]:
        raise argparse.ArgumentTypeError("two sizes, small,large")
    return sizes


def run(state, options):
    workdir = Path(tempfile.mkdtemp(prefix="sre-bench-scale-"))
    measured = MeasuredModule(workdir)
    try:
        if "pg_vacuum" in options.only:
            bench_pg_vacuum(state["postgres"], measured, options.tables, options.rounds)
        if "pg_backup_info" in options.only:
            bench_pg_backup_info(state["s3"], measured, options.backups, options.rounds)
        if "redis_ttl_sweep" in options.only:
            bench_redis_sweep(measured, options.sweep_keys, options.rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_SCALE_ROUNDS", "1")),
                        help="runs per size (median time, highest peak memory)")
    parser.add_argument("--tables", type=sizes_arg, default=(500, 5000))
    parser.add_argument("--backups", type=sizes_arg, default=(200, 2000))
    parser.add_argument("--sweep-keys", type=sizes_arg,
                        default=sizes_arg(os.environ.get("BENCH_SCALE_SWEEP_KEYS", "1000000,10000000")))
    parser.add_argument("--only", type=lambda text: text.split(","), default=list(PARTS))
    options = parser.parse_args()
    unknown = set(options.only) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    ensure_collection_link()
    services_file = os.environ.get("SRE_SERVICES_FILE")
    if services_file and Path(services_file).exists():
        run(json.loads(Path(services_file).read_text()), options)
        return 0
    run_dir = Path(tempfile.mkdtemp(prefix="sre-bench-services-"))
    os.chmod(run_dir, 0o755)  # the 'postgres' user must reach the cluster inside
    try:
        run(harness.up(run_dir), options)
    finally:
        harness.down(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
