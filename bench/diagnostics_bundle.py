"""Benchmark: the I1 diagnostics bundle of a 200-pod namespace against the kubectl commands an SRE types.

On a local control plane of its own (real apiserver, controllers, scheduler and metrics-server;
kwok kubelets) one namespace holds 200 pods: Deployment ``api`` (100 replicas, crash-looping: kwok's
``:crashloop`` image, restartCount 3) and Deployment ``web`` (100 ready replicas) behind Service ``web``.
kwok serves every pod's current and previous log (200 lines each, CRI files named by ClusterLogs
objects) through the real ``pods/log`` API, so each log read is a real kubelet round trip. Variants,
interleaved with the order alternating, medians over the rounds:

  ours      sre.runbooks.k8s_diagnostics (defaults: tail 200 lines, since 1h, previous logs, 8 log readers),
            run as Ansible runs a module on its target (the interpreter, the module, an arguments file)
  baseline  the runbooks' triage typed one command after another: ``kubectl get pods -o wide``, then for
            each pod ``kubectl describe pod``, ``kubectl logs`` and ``kubectl logs --previous``, then
            ``kubectl get events``  (1 + 3 x 200 + 1 = 602 kubectl processes)

API requests are counted by the apiserver itself: ``apiserver_request_total`` (its /metrics) before
and after each variant's first run, grouped by verb, API group, resource and subresource (requests the
apiserver proxies to an aggregated API - the pod metrics of metrics.k8s.io - are not in that counter, so
the module's one list of PodMetrics is not seen there). The bench fails
unless the module made exactly one LIST per kind it reads and no per-pod GET of a pod, and unless its bundle
holds all 200 pods, 300 logs (200 current, 100 previous: only containers that restarted have one) and the
crash's last line. Target (issue 13): at least 5x faster (ratio <= 0.2).

One JSON object per metric, like the other benches; the headline is last:
  {"bench": "diagnostics_bundle", "metric": ..., "ours": x, "baseline": y, "unit": "s", "ratio": x/y,
   "rounds": n, "pods": 200, "api_calls": {"ours": {...}, "baseline": {...}}, "target": 0.2}
The cluster lives in a temporary SRE_K8S_DIR and is deleted afterwards. ``--pods 50`` for a quicker run.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

from tests.harness.k8s_telemetry import cri_log, seed_logs  # noqa: E402
from tests.harness.procs import wait_for  # noqa: E402
from tests.integration.module_runner import COLLECTIONS, ensure_collection_link  # noqa: E402

BENCH = "diagnostics_bundle"
NAMESPACE = "bench-diag"
LOG_LINES = 200
FATAL = "FATAL: could not connect to database db:5432 (connection refused)"
TIMEOUT = 900
TARGET = 0.2
METRIC = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$')
LABEL = re.compile(r'(\w+)="([^"]*)"')


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


def emit(metric, ours, baseline, unit, rounds, **extra):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": unit, "ratio": round(ours / baseline, 4) if baseline else None, "rounds": rounds,
                      **extra}), flush=True)


def request_counts(cluster):
    """{"VERB group/resource[/subresource]": n} from the apiserver's own request counter."""
    text = cluster.kubectl("get", "--raw", "/metrics", timeout=60).stdout
    counts = collections.Counter()
    for line in text.splitlines():
        match = METRIC.match(line)
        if not match:
            continue
        labels = dict(LABEL.findall(match["labels"]))
        if not labels.get("resource"):
            continue  # /metrics, /healthz, discovery documents
        name = f"{labels['group'] or 'core'}/{labels['resource']}"
        if labels.get("subresource"):
            name += f"/{labels['subresource']}"
        counts[f"{labels['verb']} {name}"] += int(float(match["value"]))
    return counts


def counted(cluster, action):
    """Run ``action``; return its result and the apiserver requests made meanwhile (leases and writes aside)."""
    before = request_counts(cluster)
    result = action()
    after = request_counts(cluster)
    delta = {key: after[key] - before.get(key, 0) for key in after if after[key] > before.get(key, 0)}
    # Node heartbeats (leases) and the controllers' status writes run all the time; the variants only read.
    return result, {key: n for key, n in sorted(delta.items())
                    if key.split()[0] in ("GET", "LIST", "CONNECT") and "leases" not in key}


class Scene:
    def __init__(self, cluster, work, pods):
        self.cluster = cluster
        self.work = work
        self.pods = pods
        self.names = []

    def kubectl(self, *args, stdin=None):
        return self.cluster.kubectl(*args, input=stdin, timeout=TIMEOUT).stdout

    def build(self):
        half = self.pods // 2
        items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
        for name, image, replicas in (("api", "registry.example.com/api:crashloop", half),
                                      ("web", "registry.example.com/web:1.0", self.pods - half)):
            labels = {"app": name}
            items.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NAMESPACE},
                          "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                                   "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                       {"name": "app", "image": image,
                                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}})
        items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NAMESPACE},
                      "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
        self.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))

        def settled():
            pods = json.loads(self.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json"))["items"]
            done = [p for p in pods if (p.get("status") or {}).get("containerStatuses")]
            return len(done) == self.pods and len(pods) == self.pods

        started = time.monotonic()
        wait_for(settled, f"{self.pods} pods with container states", timeout=TIMEOUT, interval=2)
        lines = [(3000 - index * 10, f"request {index} handled in {index % 17} ms") for index in range(LOG_LINES)]
        previous = [(6000 - index * 10, f"retrying database, attempt {index}") for index in range(LOG_LINES - 1)]
        for app in ("api", "web"):
            seed_logs(self.cluster, NAMESPACE, f"app={app}", cri_log(lines), previous=cri_log(previous + [(3500, FATAL)]))
        self.names = sorted(json.loads(self.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json"))["items"],
                            key=lambda p: p["metadata"]["name"])
        self.names = [p["metadata"]["name"] for p in self.names]
        log(f"{self.pods} pods ready with logs ({time.monotonic() - started:.0f} s to settle)")

    def ours(self):
        dest = self.work / "bundles"
        dest.mkdir(exist_ok=True)
        args = self.work / "args.json"
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
            "namespace": NAMESPACE, "dest": str(dest), "kubeconfig": self.cluster.kubeconfig, "since": "1h"}}))
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.sre.runbooks.plugins.modules.k8s_diagnostics",
                               str(args)], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        took = time.monotonic() - started
        result = json.loads(proc.stdout[proc.stdout.index("{"):])
        if result.get("failed"):
            raise RuntimeError(f"k8s_diagnostics failed: {result.get('msg')}")
        self.check_bundle(result)
        os.unlink(result["archive"])
        return took

    def check_bundle(self, result):
        """The bundle holds what the kubectl sequence shows: every pod, its logs, the crash's previous log."""
        half = self.pods // 2
        counts = result["counts"]
        if counts["pods"] != self.pods or counts["logs"] != self.pods + half:
            raise RuntimeError(f"bundle of {counts['pods']} pods and {counts['logs']} logs, "
                               f"not {self.pods} and {self.pods + half}")
        with tarfile.open(result["archive"]) as tar:
            members = set(tar.getnames())
            crashed = next(name for name in sorted(members) if name.endswith(".previous.log"))
            previous = tar.extractfile(crashed).read().decode()
        if FATAL not in previous or len(previous.splitlines()) != LOG_LINES:
            raise RuntimeError(f"{crashed} does not hold the {LOG_LINES} seeded lines ending in the crash")
        missing = [name for name in self.names if f"describe/Pod-{name}.txt" not in members
                   or f"logs/{name}/app.log" not in members]
        if missing or "events.json" not in members:
            raise RuntimeError(f"bundle misses the describe text or log of {missing[:3]} or the events")

    def baseline(self):
        """The commands typed one after another; each must print something (but logs --previous of a healthy pod)."""
        commands = [["get", "pods", "-n", NAMESPACE, "-o", "wide"]]
        for name in self.names:
            commands += [["describe", "pod", name, "-n", NAMESPACE], ["logs", name, "-n", NAMESPACE],
                         ["logs", name, "-n", NAMESPACE, "--previous"]]
        commands.append(["get", "events", "-n", NAMESPACE])
        started = time.monotonic()
        for command in commands:
            # ``logs --previous`` of a container that never restarted fails; the SRE reads on.
            result = self.cluster.kubectl(*command, check="--previous" not in command, timeout=TIMEOUT)
            if "--previous" not in command and not result.stdout.strip():
                raise RuntimeError(f"kubectl {' '.join(command)} printed nothing")
        return time.monotonic() - started


def verify_calls(calls, pods):
    """One LIST per kind, no GET of single pods, one log read per current log and per previous one."""
    lists = {key: n for key, n in calls.items() if key.startswith("LIST ")}
    for kind in ("core/pods", "apps/deployments", "apps/replicasets", "core/services", "core/events",
                 "discovery.k8s.io/endpointslices", "core/nodes"):
        if f"LIST {kind}" not in lists:
            raise RuntimeError(f"the module never listed {kind}: {calls}")
    several = {key: n for key, n in lists.items() if n != 1}
    if several:
        raise RuntimeError(f"more than one LIST of a kind: {several}")
    if calls.get("GET core/pods"):
        raise RuntimeError(f"{calls['GET core/pods']} single-pod GETs besides the pod list")
    logs = calls.get("GET core/pods/log", 0) + calls.get("CONNECT core/pods/log", 0)
    if logs != pods + pods // 2:
        raise RuntimeError(f"{logs} log reads, not {pods + pods // 2}: {calls}")


def run(pods, rounds):
    from tests.harness import k8s as harness

    with tempfile.TemporaryDirectory(prefix="sre-bench-diag-k8s-") as state, \
            tempfile.TemporaryDirectory(prefix="sre-bench-diag-") as work:
        os.environ["SRE_K8S_DIR"] = state
        with harness.session("bench") as cluster:
            scene = Scene(cluster, Path(work), pods)
            scene.build()
            times = {"ours": [], "baseline": []}
            calls = {}
            for number in range(rounds):
                order = ["ours", "baseline"] if number % 2 == 0 else ["baseline", "ours"]
                for name in order:
                    action = scene.ours if name == "ours" else scene.baseline
                    if name not in calls:
                        took, calls[name] = counted(cluster, action)
                    else:
                        took = action()
                    times[name].append(took)
                log(f"round {number + 1}/{rounds}: ours {times['ours'][-1]:.2f}s, "
                    f"kubectl {times['baseline'][-1]:.2f}s")
            verify_calls(calls["ours"], pods)
    median = {name: statistics.median(values) for name, values in times.items()}
    log(f"api requests, ours: {calls['ours']}")
    log(f"api requests, kubectl: {calls['baseline']}")
    emit(f"bundle_vs_kubectl_{pods}_pods_s", median["ours"], median["baseline"], "s", rounds, pods=pods,
         api_calls=calls, target=TARGET)
    ratio = median["ours"] / median["baseline"]
    if ratio > TARGET:
        log(f"target missed: ratio {ratio:.3f} > {TARGET}")
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--pods", type=int, default=int(os.environ.get("BENCH_DIAGNOSTICS_PODS", "200")))
    options = parser.parse_args()
    ensure_collection_link()
    return run(options.pods, options.rounds)


if __name__ == "__main__":
    sys.exit(main())
