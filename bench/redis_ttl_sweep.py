"""Benchmark: redis_maintain's TTL sweep against the runbook's shell loop and Redis' own EXPIRE ceiling.

A redis-server of its own (free loopback port, no persistence) holds 1,000,000 keys in db 0, of
which 750,000 match ``request:*`` and have no TTL; they are loaded with ``redis-cli --pipe``
before every round. Each round measures, interleaved (order alternating):

* ours: ``sre.runbooks.redis_maintain`` ``operation=ttl_sweep`` run through ansible-playbook (the
  user's path), matched keys per second of the sweep the module reports, and also per second of
  the whole ansible-playbook run (process start, imports and connection included);
* the client-side pipeline fallback (``sweep_method=pipeline``), the module's path where
  scripting is disabled;
* the runbook's loop (``redis-cli --scan | while read key; do redis-cli ttl ...; redis-cli expire
  ...``) on a smaller keyspace in db 2 (400 keys, 300 matching), as matched keys per second;
* the ceiling: ``redis-benchmark -P 64 EXPIRE request:__rand_int__ 3600`` over 750,000 existing
  keys in db 1 of the same server, requests per second.

Medians are printed as one JSON object per line,
``{"bench", "metric", "ours", "baseline", "unit", "ratio", "rounds"}``; the headline - the
module's sweep against the EXPIRE ceiling, target >= 0.2 - is the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

import redis  # noqa: E402

from tests.harness.services import LOOPBACK, free_port  # noqa: E402
from tests.integration.module_runner import ensure_collection_link, run_module  # noqa: E402

BENCH = "redis_ttl_sweep"
MODULE = "sre.runbooks.redis_maintain"
TTL = 86400
RUNBOOK_LOOP = r"""
redis-cli -h "$H" -p "$P" -n "$N" --scan --pattern "request:*" | while read key; do
    TTL=$(redis-cli -h "$H" -p "$P" -n "$N" ttl "$key")
    if [ "$TTL" -eq -1 ]; then
        echo "Key $key has no expiration, setting TTL"
        redis-cli -h "$H" -p "$P" -n "$N" expire "$key" 86400  # 24 hours
    fi
done
"""


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


def protocol(db, keys):
    """RESP for SELECT db followed by SET key v for every key (what redis-cli --pipe sends)."""
    parts = [b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%d\r\n" % (len(str(db)), db)]
    for key in keys:
        parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n" % (len(key), key))
    return b"".join(parts)


def keyspace_keys(matching, others, width=None):
    form = b"request:%0" + str(width).encode() + b"d" if width else b"request:%d"
    return [form % i for i in range(matching)] + [b"other:%d" % i for i in range(others)]


class BenchServer:
    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.log_file = self.dir / "redis.log"
        with open(self.log_file, "ab") as out:
            self.proc = subprocess.Popen(
                ["redis-server", "--bind", LOOPBACK, "--port", str(self.port), "--dir", str(self.dir), "--save", "",
                 "--appendonly", "no"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.client().ping():
                    break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start: {self.log_file.read_text()[-1000:]}") from None
                time.sleep(0.02)

    def client(self, db=0):
        return redis.Redis(host=LOOPBACK, port=self.port, db=db, socket_timeout=60)

    def pipe(self, data):
        proc = subprocess.run(["redis-cli", "-h", LOOPBACK, "-p", str(self.port), "--pipe"], input=data,
                              capture_output=True, check=False)
        if proc.returncode != 0 or b"errors: 0" not in proc.stdout:
            raise RuntimeError(f"redis-cli --pipe failed: {proc.stdout[-300:]!r} {proc.stderr[-300:]!r}")

    def reload(self, db, data, expected):
        client = self.client(db)
        client.flushdb()
        self.pipe(data)
        if client.dbsize() != expected:
            raise RuntimeError(f"db{db} holds {client.dbsize()} keys after loading, expected {expected}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def expires(server, db):
    return server.client(db).info("keyspace").get(f"db{db}", {}).get("expires", 0)


def measure_module(server, matching, method):
    """One sweep through ansible-playbook: (matched/s of the module's sweep, matched/s end to end)."""
    args = {"operation": "ttl_sweep", "host": LOOPBACK, "port": server.port, "db": 0, "patterns": ["request:*"],
            "ttl": TTL, "sweep_method": method}
    started = time.perf_counter()
    result = run_module(MODULE, args)
    wall = time.perf_counter() - started
    if result.failed:
        raise RuntimeError(f"redis_maintain failed: {result.get('msg')}")
    sweep = result["ttl_sweep"]
    if sweep["updated"] != matching or expires(server, 0) != matching or sweep["method"] != method:
        raise RuntimeError(f"the {method} sweep updated {sweep['updated']} keys ({expires(server, 0)} expiring), "
                           f"expected {matching}")
    return sweep["matched"] / sweep["duration_s"], sweep["matched"] / wall, sweep["duration_s"]


def measure_runbook_loop(server, db, matching):
    env = dict(os.environ, H=LOOPBACK, P=str(server.port), N=str(db))
    started = time.perf_counter()
    subprocess.run(["bash", "-c", RUNBOOK_LOOP], env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    if expires(server, db) != matching:
        raise RuntimeError(f"the runbook loop left {expires(server, db)} expiring keys, expected {matching}")
    return matching / elapsed


def measure_ceiling(server, db, matching, requests):
    """redis-benchmark -P 64 EXPIRE on existing keys: requests per second."""
    proc = subprocess.run(
        ["redis-benchmark", "-h", LOOPBACK, "-p", str(server.port), "--dbnum", str(db), "-P", "64",
         "-n", str(requests), "-r", str(matching), "--csv", "EXPIRE", "request:__rand_int__", "3600"],
        capture_output=True, text=True, check=True)
    found = re.search(r'"EXPIRE[^"]*","([0-9.]+)"', proc.stdout)
    if not found:
        raise RuntimeError(f"cannot read redis-benchmark's output: {proc.stdout[-300:]}")
    return float(found.group(1))


def emit(metric, ours, baseline, unit, rounds):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 1), "baseline": round(baseline, 1),
                      "unit": unit, "ratio": round(ours / baseline, 4), "rounds": rounds}), flush=True)


def run(server, rounds, keys, matching, loop_keys, requests):
    loop_matching = loop_keys * 3 // 4
    sweep_data = protocol(0, keyspace_keys(matching, keys - matching))
    loop_data = protocol(2, keyspace_keys(loop_matching, loop_keys - loop_matching))
    log(f"loading {matching} ceiling keys into db1")
    server.reload(1, protocol(1, keyspace_keys(matching, 0, width=12)), matching)

    def sweep(method):
        def measure():
            server.reload(0, sweep_data, keys)
            return measure_module(server, matching, method)
        return measure

    def loop():
        server.reload(2, loop_data, loop_keys)
        return measure_runbook_loop(server, 2, loop_matching)

    variants = {"script": sweep("script"), "pipeline": sweep("pipeline"), "loop": loop,
                "ceiling": lambda: measure_ceiling(server, 1, matching, requests)}
    results = {name: [] for name in variants}
    for number in range(rounds):
        order = list(variants) if number % 2 == 0 else list(reversed(variants))
        for name in order:
            results[name].append(variants[name]())
        log(f"round {number + 1}/{rounds}: script {results['script'][-1][0]:.0f} keys/s "
            f"({results['script'][-1][2]:.2f}s sweep, {results['script'][-1][1]:.0f} keys/s end to end), "
            f"pipeline {results['pipeline'][-1][0]:.0f} keys/s, loop {results['loop'][-1]:.0f} keys/s, "
            f"ceiling {results['ceiling'][-1]:.0f} EXPIRE/s")
    script_rate = statistics.median(r[0] for r in results["script"])
    script_wall = statistics.median(r[1] for r in results["script"])
    pipeline_rate = statistics.median(r[0] for r in results["pipeline"])
    loop_rate = statistics.median(results["loop"])
    ceiling = statistics.median(results["ceiling"])
    emit("module_sweep_vs_runbook_shell_loop", script_rate, loop_rate, "matched keys/s", rounds)
    emit("pipeline_fallback_vs_expire_ceiling", pipeline_rate, ceiling, "matched keys/s", rounds)
    emit("ansible_task_end_to_end_vs_expire_ceiling", script_wall, ceiling, "matched keys/s", rounds)
    emit("module_sweep_vs_expire_ceiling", script_rate, ceiling, "matched keys/s", rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys in the swept database")
    parser.add_argument("--matching", type=int, default=750_000, help="of which match request:* (no TTL)")
    parser.add_argument("--loop-keys", type=int, default=400, help="keys for the runbook's shell loop")
    parser.add_argument("--requests", type=int, default=2_000_000, help="redis-benchmark requests per round")
    options = parser.parse_args()
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not on PATH")
    ensure_collection_link()
    workdir = Path(tempfile.mkdtemp(prefix="sre-bench-redis-"))
    server = BenchServer(workdir)
    try:
        run(server, options.rounds, options.keys, options.matching, options.loop_keys, options.requests)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
