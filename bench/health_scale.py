"""Benchmark: the daily health check's Kubernetes part over 10, 50 and 200 namespaces, up to 2,000 pods.

On a local control plane of its own (real apiserver, controllers, scheduler and metrics-server;
kwok kubelets), namespaces are added in bulk, each with one Deployment of 2 replicas (made by the
controllers) and 8 pods created directly, bound to a node (no scheduling wait): 10 pods a namespace.
At each size, in alternating order, several rounds:

  ours      sre.runbooks.k8s_health_info as the health_check role calls it (every namespace listed; pods,
            workloads, HPAs, events, usage, claims, nodes, and the logs of ten Deployments), run as Ansible
            runs a module on its target (the interpreter, the module, an arguments file)
  baseline  ``kubectl get pods,deploy,sts,ds,hpa,events -A -o json``, the listing an SRE would script

Per size: wall time of each process (median), its peak RSS (``wait4``), and API requests (the module's
``api_calls``; kubectl's counted once from ``-v=6``, discovery included). Then the growth exponent of
each between the two largest sizes, ``log(t2/t1) / log(n2/n1)`` (1.0 is linear in pods). Targets
(issue 16): within 2x of the listing at 2,000 pods, growth no worse than linear.

One JSON object per metric, like the other benches; the headline (2,000 pods) is last:
  {"bench": "health_scale", "metric": ..., "ours": x, "baseline": y, "unit": "s", "ratio": x/y, "rounds": n,
   "namespaces": N, "pods": P, "api_calls": {...}, "peak_rss_mib": {...}}
The cluster lives in a temporary SRE_K8S_DIR and is deleted afterwards (about 2,000 pods must not land
in a cluster others use). ``--sizes 10,50`` for a quicker run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

from tests.harness.procs import wait_for  # noqa: E402
from tests.integration.module_runner import COLLECTIONS, ensure_collection_link  # noqa: E402

BENCH = "health_scale"
DEPLOYMENT_REPLICAS = 2
DIRECT_PODS = 8
PODS_PER_NAMESPACE = DEPLOYMENT_REPLICAS + DIRECT_PODS
# Enough pod slots on the three kwok nodes for every size.
NODE_PODS = "1000"
LISTING = ["get", "pods,deploy,sts,ds,hpa,events", "-A", "-o", "json"]
INCLUDE = ["pods", "workloads", "hpas", "events", "resources", "volumes", "nodes", "logs"]
TIMEOUT = 600


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


def timed(command, env=None):
    """(wall seconds, peak RSS in KiB, stdout) of one process."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env)  # noqa: S603
        _pid, status, usage = os.wait4(proc.pid, 0)
        took = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({proc.returncode}): {text[-2000:]}")
    return took, usage.ru_maxrss, text


class Scene:
    def __init__(self, cluster, work):
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config

        self.cluster = cluster
        self.work = work
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=configuration)
        configuration.connection_pool_maxsize = 32
        self.core = k8s.CoreV1Api(k8s.ApiClient(configuration))
        self.namespaces = []
        self.nodes = [n.metadata.name for n in self.core.list_node().items]
        patch = {"status": {"allocatable": {"pods": NODE_PODS}, "capacity": {"pods": NODE_PODS}}}
        for node in self.nodes:
            self.core.patch_node_status(node, patch)

    def kubectl(self, *args, stdin=None):
        return subprocess.run([self.cluster.kubectl_path, "--kubeconfig", self.cluster.kubeconfig, *args],
                              input=stdin, capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout

    def grow(self, size):
        """Add namespaces up to ``size``, each with its Deployment and direct pods; wait until every pod runs."""
        new = [f"hs-{index:03d}" for index in range(len(self.namespaces), size)]
        items = []
        for ns in new:
            labels = {"app": "api"}
            items += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                      {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": ns},
                       "spec": {"replicas": DEPLOYMENT_REPLICAS, "selector": {"matchLabels": labels},
                                "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                    {"name": "app", "image": "api:1",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                                                   "limits": {"cpu": "100m", "memory": "64Mi"}}}]}}}}]
        self.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        pods = [(ns, f"worker-{index}", self.nodes[index % len(self.nodes)])
                for ns in new for index in range(DIRECT_PODS)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda spec: self.core.create_namespaced_pod(spec[0], {
                "metadata": {"name": spec[1], "labels": {"app": "worker"}},
                "spec": {"nodeName": spec[2], "containers": [{"name": "app", "image": "worker:1"}]}}), pods))
        self.namespaces += new
        want = len(self.namespaces) * PODS_PER_NAMESPACE

        def running():
            phases = self.kubectl("get", "pods", "-A", "-o", "jsonpath={.items[*].status.phase}").split()
            return phases.count("Running") >= want

        started = time.monotonic()
        wait_for(running, f"{want} running pods", timeout=TIMEOUT, interval=2)
        log(f"{len(self.namespaces)} namespaces, {want} pods running ({time.monotonic() - started:.0f} s to settle)")
        return want

    def module(self):
        args = self.work / "args.json"
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
            "namespaces": self.namespaces, "include": INCLUDE, "kubeconfig": self.cluster.kubeconfig,
            "events_max_age": "24h", "events_limit": 10, "logs": {"previous": True}}}))
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        took, rss, out = timed([sys.executable, "-m", "ansible_collections.sre.runbooks.plugins.modules.k8s_health_info",
                                str(args)], env=env)
        result = json.loads(out[out.index("{"):])
        if result.get("failed"):
            raise RuntimeError(f"k8s_health_info failed: {result.get('msg')}")
        return took, rss, result

    def listing(self):
        took, rss, out = timed([self.cluster.kubectl_path, "--kubeconfig", self.cluster.kubeconfig, *LISTING])
        return took, rss, json.loads(out)

    def listing_calls(self):
        """kubectl's requests for the listing, discovery included (from its -v=6 log)."""
        proc = subprocess.run([self.cluster.kubectl_path, "--kubeconfig", self.cluster.kubeconfig, *LISTING, "-v=6"],
                              capture_output=True, text=True, check=True, timeout=TIMEOUT)
        return len(re.findall(r'"Response" verb="GET"|\bGET https://', proc.stderr))


def measure(scene, pods, rounds):
    times, rss, calls = {"ours": [], "baseline": []}, {"ours": 0, "baseline": 0}, {}
    result = scene.module()[2]  # warm-up, and proof that every listed namespace and pod was read
    if result["summary"]["pods"] != pods or result["summary"]["namespaces"] != len(scene.namespaces):
        raise RuntimeError(f"k8s_health_info read {result['summary']['pods']} pods in "
                           f"{result['summary']['namespaces']} namespaces, not {pods} in {len(scene.namespaces)}")
    calls["ours"] = result["api_calls"]
    calls["baseline"] = scene.listing_calls()
    for number in range(rounds):
        order = ["ours", "baseline"] if number % 2 == 0 else ["baseline", "ours"]
        for name in order:
            took, peak, _out = scene.module() if name == "ours" else scene.listing()
            times[name].append(took)
            rss[name] = max(rss[name], peak)
    median = {name: statistics.median(values) for name, values in times.items()}
    log(f"{pods} pods: ours {median['ours']:.2f}s ({calls['ours']} requests, {rss['ours'] / 1024:.0f} MiB), "
        f"kubectl {median['baseline']:.2f}s ({calls['baseline']} requests, {rss['baseline'] / 1024:.0f} MiB)")
    return {"namespaces": len(scene.namespaces), "pods": pods, "median": median, "api_calls": calls,
            "peak_rss_mib": {name: round(value / 1024, 1) for name, value in rss.items()}, "rounds": rounds}


def emit(metric, ours, baseline, unit, rounds, **extra):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": unit, "ratio": round(ours / baseline, 4) if baseline else None, "rounds": rounds,
                      **extra}), flush=True)


def growth(first, last, key):
    return math.log(last["median"][key] / first["median"][key]) / math.log(last["pods"] / first["pods"])


def run(sizes, rounds):
    from tests.harness import k8s as harness

    with tempfile.TemporaryDirectory(prefix="sre-bench-scale-k8s-") as state, \
            tempfile.TemporaryDirectory(prefix="sre-bench-scale-") as work:
        os.environ["SRE_K8S_DIR"] = state
        with harness.session("bench") as cluster:
            scene = Scene(cluster, Path(work))
            results = [measure(scene, scene.grow(size), rounds) for size in sizes]
    for row in results:
        emit(f"k8s_health_info_vs_kubectl_{row['pods']}_pods_s", row["median"]["ours"], row["median"]["baseline"], "s",
             row["rounds"], namespaces=row["namespaces"], pods=row["pods"], api_calls=row["api_calls"],
             peak_rss_mib=row["peak_rss_mib"])
    if len(results) >= 2:
        first, last = results[-2], results[-1]
        emit(f"growth_exponent_{first['pods']}_to_{last['pods']}_pods", growth(first, last, "ours"),
             growth(first, last, "baseline"), "exponent", last["rounds"], target=1.0)
    last = results[-1]
    emit("k8s_health_info_vs_kubectl_s", last["median"]["ours"], last["median"]["baseline"], "s", last["rounds"],
         namespaces=last["namespaces"], pods=last["pods"], api_calls=last["api_calls"],
         peak_rss_mib=last["peak_rss_mib"], target=2.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--sizes", type=lambda text: sorted(int(n) for n in text.split(",")),
                        default=os.environ.get("BENCH_HEALTH_SCALE_SIZES", "10,50,200"),
                        help="namespaces per size, 10 pods each")
    options = parser.parse_args()
    sizes = options.sizes if isinstance(options.sizes, list) else sorted(int(n) for n in options.sizes.split(","))
    ensure_collection_link()
    run(sizes, options.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
