"""Benchmark: the whole daily health check (playbooks/daily_health_check.yml) against an SRE's shell script.

On the demo environment (the harness services, the platform sandbox and the local Kubernetes
control plane, seeded by tests/harness/demo_data.py as ``make demo`` seeds them), each round runs,
in alternating order:

  ours      ``ansible-playbook -i inventories/local playbooks/daily_health_check.yml`` with every check
            (H1-H9, H13-H16) and both reports written, as an operator runs it
  baseline  bench/daily_health_check.sh: the reads of the issue's morning check (kubectl get pods and
            deployments per namespace, HPAs, Warning events; curl of each health endpoint; psql
            SELECT 1 and the connection count; redis-cli ping and INFO; a listing of the backups)
  full      the same script with FULL=1: also the reads of the checks that list leaves out (SLO
            endpoint, five Deployments' logs, nodes, claims, Prometheus, database size), so that both
            sides read everything the playbook judges

Wall time of each whole process; medians over the rounds. The playbook must end with its reports
written and every check judged, or the bench fails. Target (issue 16): at most 3x the script.

One JSON object per metric on stdout, the headline (playbook vs the issue's script) last:
  {"bench": "daily_health_check", "metric": ..., "ours": x, "baseline": y, "unit": "s", "ratio": x/y, "rounds": n}
Uses the services named by SRE_SERVICES_FILE (else starts its own) and the running cluster (else
starts one through tests.harness.k8s and stops it afterwards); demo namespaces it created are deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

import yaml  # noqa: E402

from tests.harness import demo_data  # noqa: E402
from tests.harness import k8s as k8s_harness  # noqa: E402
from tests.harness import services as harness  # noqa: E402
from tests.harness.procs import wait_for  # noqa: E402
from tests.integration.ansible_run import ANSIBLE_PLAYBOOK, ensure_collection_link  # noqa: E402
from tests.platform_sandbox.control import start_sandbox, stop_sandbox  # noqa: E402

BENCH = "daily_health_check"
SCRIPT = REPO / "bench" / "daily_health_check.sh"
LOCAL_VARS = REPO / "inventories" / "local" / "group_vars" / "all" / "main.yml"
TIMEOUT = 300
# What the report must hold after every run: every check of the role's defaults, judged.
CHECK_IDS = ["H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8", "H9", "H12", "H13", "H14", "H15", "H16"]


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


def emit(metric, ours, baseline, rounds):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": "s", "ratio": round(ours / baseline, 4), "rounds": rounds}), flush=True)


class Bench:
    def __init__(self, state, cluster, sandbox, work):
        self.cluster = cluster
        self.work = work
        self.namespaces = yaml.safe_load(LOCAL_VARS.read_text())["sre_namespaces"]
        self.report_dir = work / "reports"
        backup_dir = work / "backups"
        (backup_dir / "postgres").mkdir(parents=True)
        pg, s3, prom = state["postgres"], state["s3"], state["prometheus"]
        # What the playbook reads from the environment (inventories/local), and what the script needs.
        self.env = {**os.environ, **harness.service_env(state), **sandbox.env(), **cluster.env}
        self.env.update(
            ANSIBLE_NOCOLOR="1", SRE_REPORT_DIR=str(self.report_dir), SRE_BACKUP_DIR=str(backup_dir),
            KUBECTL=cluster.kubectl_path, NAMESPACES=" ".join(self.namespaces),
            ENDPOINTS=" ".join(f"{url}/api/v1/health/status" for url in (sandbox.v2_url, sandbox.v1_url, sandbox.v3_url)),
            PGDATABASE="platform", PGHOST=pg["host"], PGPORT=str(pg["port"]), PGUSER=pg["user"],
            PGPASSWORD=pg["password"], BACKUP_DIR=str(backup_dir / "postgres"),
            S3_LISTING_URL=f"{s3['endpoint_url']}/{demo_data.DEMO_BUCKET}?list-type=2&prefix=local/postgres/",
            PROMETHEUS_URL=prom["url"], PLATFORM_V2_URL=sandbox.v2_url)

    def playbook(self):
        started = time.monotonic()
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "inventories/local", "playbooks/daily_health_check.yml",
                               "-e", "health_check_fail_on=never"], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=TIMEOUT, check=False)
        took = time.monotonic() - started
        report = self.report_dir / "health_check-platform-cluster.json"
        if proc.returncode != 0 or not report.exists():
            raise RuntimeError(f"the playbook failed (rc={proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
        checks = json.loads(report.read_text())["checks"]
        if [check["id"] for check in checks] != CHECK_IDS:
            raise RuntimeError(f"the report holds {[check['id'] for check in checks]}, not {CHECK_IDS}")
        report.unlink()
        # Tasks that ran (ok or changed) over every host of the recap, of which module runs are the reads.
        ran = sum(int(ok) for ok in re.findall(r"\bok=(\d+)\s+changed=\d+", proc.stdout))
        return took, ran

    def script(self, full):
        started = time.monotonic()
        proc = subprocess.run(["bash", str(SCRIPT)], env=dict(self.env, FULL="1" if full else "0"),
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)
        took = time.monotonic() - started
        if proc.returncode != 0 or "PONG" not in proc.stdout:
            raise RuntimeError(f"the script failed (rc={proc.returncode}):\n{proc.stderr[-2000:]}")
        return took

    def run(self, rounds):
        runners = {"ours": self.playbook, "baseline": lambda: self.script(False), "full": lambda: self.script(True)}
        tasks = self.playbook()[1]  # warm-up: caches, and proof that every check is judged
        log(f"the playbook ran {tasks} tasks over its hosts")
        for name in ("baseline", "full"):
            runners[name]()
        times = {name: [] for name in runners}
        for number in range(rounds):
            names = list(runners)
            order = names[number % len(names):] + names[:number % len(names)]
            for name in order:
                result = runners[name]()
                times[name].append(result[0] if isinstance(result, tuple) else result)
            log(f"round {number + 1}/{rounds}: " + ", ".join(f"{name} {values[-1]:.2f}s" for name, values in times.items()))
        median = {name: statistics.median(values) for name, values in times.items()}
        emit("playbook_vs_script_with_every_read_s", median["ours"], median["full"], rounds)
        emit("playbook_vs_script_s", median["ours"], median["baseline"], rounds)


def kubectl(cluster, *args):
    return subprocess.run([cluster.kubectl_path, "--kubeconfig", cluster.kubeconfig, *args], capture_output=True,
                          text=True, check=True).stdout


def seed(state, cluster):
    """The demo data, as `make demo` seeds it; returns the demo objects this run created (to delete after)."""
    demo = [f"{item['kind'].lower()}/{item['metadata']['name']}"
            for item in yaml.safe_load(demo_data.K8S_MANIFEST.read_text())["items"]
            if item["kind"] in ("Namespace", "PersistentVolume")]
    existing = set(kubectl(cluster, "get", "namespaces,persistentvolumes", "-o", "name").split())
    demo_data.seed_postgres(state["postgres"])
    demo_data.seed_s3(state["s3"])
    demo_data.seed_redis(state["redis"])
    demo_data.seed_prometheus(state)
    demo_data.seed_k8s(cluster.kubectl_path, cluster.kubeconfig)
    namespaces = {name.split("/", 1)[1] for name in demo if name.startswith("namespace/")}

    def settled():
        pods = [line.split() for line in kubectl(cluster, "get", "pods", "-A", "-o", "jsonpath={range .items[*]}"
                                                 "{.metadata.namespace} {.status.phase}{'\\n'}{end}").splitlines()]
        # (Finished Job pods of an earlier weekly maintenance may stand beside them.)
        phases = [phase for namespace, phase in pods if namespace in namespaces and phase not in ("Succeeded", "Failed")]
        return len(phases) >= 14 and set(phases) == {"Running"}

    wait_for(settled, "the demo pods running", timeout=120)
    return [name for name in demo if name not in existing]


def run(state, rounds):
    with k8s_harness.session("bench") as cluster, tempfile.TemporaryDirectory(prefix="sre-bench-health-") as tmp:
        work = Path(tmp)
        sandbox = start_sandbox(work / "sandbox", run_seconds=30.0)
        created = []
        try:
            created = seed(state, cluster)
            Bench(state, cluster, sandbox, work).run(rounds)
        finally:
            stop_sandbox(sandbox)
            if created:
                subprocess.run([cluster.kubectl_path, "--kubeconfig", cluster.kubeconfig, "delete", *created,
                                "--wait=false"], capture_output=True, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "5")))
    options = parser.parse_args()
    ensure_collection_link()
    services_file = os.environ.get("SRE_SERVICES_FILE")
    if services_file and Path(services_file).exists():
        run(json.loads(Path(services_file).read_text()), options.rounds)
        return 0
    run_dir = Path(tempfile.mkdtemp(prefix="sre-bench-services-"))
    os.chmod(run_dir, 0o755)  # the 'postgres' user must reach the cluster inside
    try:
        run(harness.up(run_dir), options.rounds)
    finally:
        harness.down(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
