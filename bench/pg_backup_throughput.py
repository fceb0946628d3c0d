"""Benchmark: pg_backup against the runbook's `pg_dump | gzip > backup.sql.gz` on a pgbench database.

The database is made by `pgbench -i -s SCALE` (default 50: 5,000,000 accounts, about 750 MB on
disk, a 490 MB plain dump). Each round measures every variant once, interleaved (the order
alternates between rounds), and the medians are printed as one JSON object per line:

  {"bench": "pg_backup_throughput", "metric": ..., "ours": x, "baseline": y, "unit": ..., "ratio": x/y, "rounds": n}

Variants:

* baseline: the runbook's pipeline, `bash -o pipefail -c 'pg_dump | gzip > file'`;
* baseline + check: the pipeline followed by the runbook's check, `gunzip -t`;
* ours: sre.runbooks.pg_backup as a fresh module process on the host, the way Ansible runs it
  (Python start, imports, connection, exported snapshot, dump, gzip, sha256, fsync, manifest,
  row counts of every table) with format=plain, compression=gzip (level 6, as gzip's default),
  verify=none; also its own dump step alone (the duration_seconds it reports);
* ours + verify=archive: the same, then the backup re-read (sha256) and fully decompressed, with
  pg_dump's completion line checked;
* ours, faster modes: plain + zstd with jobs=2 (zstd threads; a 3.4x smaller file), and directory
  format with jobs=2 (parallel pg_dump) and gzip level 1; the faster one is reported as best mode;
* ours through ansible-playbook (controller start included).

The headline, last, is the module's plain+gzip backup against the pipeline (target: overhead
under 5 %, i.e. ratio <= 1.05). Uses the services named by SRE_SERVICES_FILE, else starts its
own in a temporary directory and stops them after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402

from tests.harness import services as harness  # noqa: E402
from tests.integration.module_runner import COLLECTIONS, ensure_collection_link, run_module  # noqa: E402

BENCH = "pg_backup_throughput"
MODULE = "ansible_collections.sre.runbooks.plugins.modules.pg_backup"


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, server, workdir, scale):
        self.server = server
        self.workdir = Path(workdir)
        self.scale = scale
        self.database = f"bench_pgbackup_{uuid.uuid4().hex[:8]}"
        self.bin = Path(server["bin_dir"])
        self.env = dict(os.environ, PGHOST=server["host"], PGPORT=str(server["port"]), PGUSER=server["user"],
                        PGPASSWORD=server["password"], PGDATABASE=self.database)
        self.sizes = {}

    def admin(self):
        conn = psycopg2.connect(host=self.server["host"], port=self.server["port"], user=self.server["user"],
                                password=self.server["password"], dbname="postgres")
        conn.autocommit = True
        return conn

    def create(self):
        with closing(self.admin()) as conn:
            conn.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        log(f"pgbench -i -s {self.scale} into {self.database}")
        subprocess.run([str(self.bin / "pgbench"), "-i", "-q", "-s", str(self.scale), self.database],
                       env=self.env, check=True, capture_output=True)
        # Warm-up, not measured: one dump to /dev/null brings the tables into the page cache for every variant.
        subprocess.run([str(self.bin / "pg_dump"), "-f", os.devnull], env=self.env, check=True)

    def drop(self):
        with closing(self.admin()) as conn:
            conn.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))

    def fresh_dir(self, name):
        path = self.workdir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(mode=0o700, parents=True)
        return path

    # -- variants -------------------------------------------------------------------------------

    def baseline(self, check=False):
        out = self.fresh_dir("baseline") / "backup.sql.gz"
        script = f"'{self.bin / 'pg_dump'}' | gzip > '{out}'"
        if check:
            script += f" && gunzip -t '{out}'"
        started = time.perf_counter()
        subprocess.run(["bash", "-o", "pipefail", "-c", script], env=self.env, check=True)
        elapsed = time.perf_counter() - started
        self.sizes.setdefault("baseline", []).append(out.stat().st_size)
        return elapsed

    def module_args(self, dest, **options):
        args = {"host": self.server["host"], "port": self.server["port"], "user": self.server["user"],
                "database": self.database, "dest": str(dest), "format": "plain", "compression": "gzip",
                "verify": "none"}
        args.update(options)
        return args

    def ours(self, variant, **options):
        """The module as a fresh process on the host (what Ansible's AnsiballZ wrapper starts), password via env."""
        dest = self.fresh_dir(variant)
        args_file = self.workdir / f"{variant}.args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": self.module_args(dest, **options)}))
        env = dict(os.environ, PGPASSWORD=self.server["password"], PYTHONPATH=str(COLLECTIONS))
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", MODULE, str(args_file)], env=env, capture_output=True, text=True,
                              check=False)
        elapsed = time.perf_counter() - started
        result = json.loads(proc.stdout)
        if result.get("failed"):
            raise RuntimeError(f"pg_backup ({variant}) failed: {result.get('msg')}")
        backup = result["backups"][0]
        self.sizes.setdefault(variant, []).append(backup["size"])
        self.sizes.setdefault(variant + "_step", []).append(backup["duration_seconds"])
        return elapsed

    def ansible(self):
        dest = self.fresh_dir("ansible")
        started = time.perf_counter()
        result = run_module("sre.runbooks.pg_backup", self.module_args(dest), env={"PGPASSWORD": self.server["password"]})
        elapsed = time.perf_counter() - started
        if result.failed:
            raise RuntimeError(f"pg_backup through ansible-playbook failed: {result.get('msg')}")
        return elapsed


def emit(metric, ours, baseline, unit, rounds):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": unit, "ratio": round(ours / baseline, 4), "rounds": rounds}), flush=True)


def run(server, rounds, scale):
    workdir = Path(tempfile.mkdtemp(prefix="sre-bench-pgbackup-"))
    bench = Bench(server, workdir, scale)
    try:
        bench.create()
        variants = {
            "baseline": bench.baseline,
            "plain_gzip": lambda: bench.ours("plain_gzip"),
            "baseline_checked": lambda: bench.baseline(check=True),
            "plain_gzip_archive": lambda: bench.ours("plain_gzip_archive", verify="archive"),
            "plain_zstd_jobs2": lambda: bench.ours("plain_zstd_jobs2", compression="zstd", jobs=2),
            "directory_jobs2_gzip1": lambda: bench.ours("directory_jobs2_gzip1", format="directory", jobs=2,
                                                        compression_level=1),
            "ansible": bench.ansible,
        }
        timings = {name: [] for name in variants}
        for number in range(rounds):
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for name in order:
                timings[name].append(variants[name]())
            log(f"round {number + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in timings.items()))
        med = {name: statistics.median(values) for name, values in timings.items()}
        size = {name: statistics.median(values) for name, values in bench.sizes.items()}
        base = med["baseline"]
        emit("dump_step_plain_gzip_vs_pipeline", size["plain_gzip_step"], base, "s", rounds)
        emit("verified_archive_plain_gzip_vs_pipeline_gunzip_t", med["plain_gzip_archive"], med["baseline_checked"],
             "s", rounds)
        emit("plain_zstd_jobs2_size_vs_pipeline", size["plain_zstd_jobs2"], size["baseline"], "bytes", rounds)
        emit("plain_gzip_size_vs_pipeline", size["plain_gzip"], size["baseline"], "bytes", rounds)
        emit("ansible_task_plain_gzip_vs_pipeline", med["ansible"], base, "s", rounds)
        fast = sorted(("plain_zstd_jobs2", "directory_jobs2_gzip1"), key=med.get)
        emit(f"{fast[1]}_vs_pipeline", med[fast[1]], base, "s", rounds)
        emit(f"best_mode_{fast[0]}_vs_pipeline", med[fast[0]], base, "s", rounds)
        emit("plain_gzip_backup_vs_pipeline", med["plain_gzip"], base, "s", rounds)
    finally:
        bench.drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--scale", type=int, default=int(os.environ.get("BENCH_PG_SCALE", "50")),
                        help="pgbench scale factor (default 50, about 750 MB)")
    options = parser.parse_args()
    ensure_collection_link()
    services_file = os.environ.get("SRE_SERVICES_FILE")
    if services_file and Path(services_file).exists():
        run(json.loads(Path(services_file).read_text())["postgres"], options.rounds, options.scale)
        return 0
    run_dir = Path(tempfile.mkdtemp(prefix="sre-bench-services-"))
    os.chmod(run_dir, 0o755)  # the 'postgres' user must reach the cluster inside
    try:
        state = harness.up(run_dir)
        run(state["postgres"], options.rounds, options.scale)
    finally:
        harness.down(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
