"""Benchmark: the compliance run at scale, against one `kubectl get ... -A -o json` of the same objects.

On the local control plane, N namespaces (default 50) each hold W Deployments (default 40; replicas
0, so the bench measures the controls, not kwok's pods), a default-deny NetworkPolicy, a Secret, a
service account, a Role and a RoleBinding. Measured, medians over the rounds:

  module     k8s_security_info over the N namespaces, every control, run as Ansible runs a module
             (python + args file): wall time, peak RSS, and its list requests
  playbook   playbooks/compliance.yml --check over the same namespaces (JUnit, JSON, Markdown, HTML written),
             and the number of tasks it ran
  kubectl    `kubectl get all,networkpolicies,secrets,roles,rolebindings -A -o json` (the baseline)

The number of list requests is also taken on a tenth of the namespaces: it must not grow with them.
One JSON object per metric on stdout; the headline (the whole playbook run vs kubectl; target 3x) is last:
  {"bench": "compliance_scale", "metric": ..., "ours": x, "baseline": y, "unit": ..., "ratio": x/y, "rounds": n}
Uses the running cluster, or starts one through tests.harness.k8s and stops it afterwards.
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
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.harness import k8s as harness  # noqa: E402
from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.module_runner import COLLECTIONS, ensure_collection_link  # noqa: E402

BENCH = "compliance_scale"
TIMEOUT = 900
CONTAINER = {
    "name": "app", "image": "registry.example.com/app:1.0",
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
    "livenessProbe": {"tcpSocket": {"port": 8000}}, "readinessProbe": {"tcpSocket": {"port": 8000}},
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
}


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


def emit(metric, ours, baseline, unit, rounds):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": unit, "ratio": round(ours / baseline, 4) if baseline else None, "rounds": rounds}),
          flush=True)


def seed_namespace(api, name, workloads):
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    net, rbac = k8s.NetworkingV1Api(api), k8s.RbacAuthorizationV1Api(api)
    core.create_namespace({"metadata": {"name": name, "labels": {"bench": BENCH}}})
    net.create_namespaced_network_policy(name, {"metadata": {"name": "default-deny"},
                                                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    core.create_namespaced_secret(name, {"metadata": {"name": "app-token"}, "stringData": {"token": "x"}})
    core.create_namespaced_service_account(name, {"metadata": {"name": "app"}})
    rbac.create_namespaced_role(name, {"metadata": {"name": "reader"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    rbac.create_namespaced_role_binding(name, {
        "metadata": {"name": "app-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": name}]})
    for index in range(workloads):
        labels = {"app": f"w{index}"}
        apps.create_namespaced_deployment(name, {
            "metadata": {"name": f"w{index}"},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [CONTAINER]}}}})


def run_module_direct(tmp, namespaces):
    """k8s_security_info as Ansible runs it: (wall seconds, peak RSS in MiB, result)."""
    args_file = tmp / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"namespaces": namespaces}}))
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    started = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", sys.executable, "-m",
                           "ansible_collections.sre.runbooks.plugins.modules.k8s_security_info", str(args_file)],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    wall = time.monotonic() - started
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    if result.get("failed"):
        raise RuntimeError(result.get("msg"))
    rss_kb = int(proc.stderr.rsplit("maxrss_kb=", 1)[1].split()[0])
    return wall, rss_kb / 1024, result


def run_kubectl(cluster):
    started = time.monotonic()
    proc = subprocess.run([cluster.kubectl_path, "--kubeconfig", str(cluster.kubeconfig), "get",
                           "all,networkpolicies,secrets,roles,rolebindings", "-A", "-o", "json"],
                          capture_output=True, text=True, timeout=TIMEOUT, check=True)
    wall = time.monotonic() - started
    return wall, len(json.loads(proc.stdout)["items"])


def run_compliance_playbook(tmp, namespaces):
    started = time.monotonic()
    proc = run_playbook("playbooks/compliance.yml", {"security_checks_namespaces": namespaces,
                                                     "security_checks_isolation_matrix": [],
                                                     "security_checks_report_dir": str(tmp / "reports")},
                        check=True, timeout=TIMEOUT)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"compliance.yml failed on a clean scene:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    # Tasks that ran (the recap's ok=): the module calls and controller-side tasks of the run.
    return wall, sum(int(ok) for ok in re.findall(r"\bok=(\d+)", proc.stdout))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--namespaces", type=int, default=int(os.environ.get("BENCH_COMPLIANCE_NAMESPACES", "50")))
    parser.add_argument("--workloads", type=int, default=int(os.environ.get("BENCH_COMPLIANCE_WORKLOADS", "40")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    options = parser.parse_args()
    ensure_collection_link()
    tmp = Path(tempfile.mkdtemp(prefix="sre-bench-compliance-"))
    with harness.session("bench") as cluster:
        os.environ.update(cluster.env)
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(config_file=str(cluster.kubeconfig), client_configuration=configuration)
        suffix = uuid.uuid4().hex[:5]
        namespaces = [f"bench-comp-{suffix}-{i}" for i in range(options.namespaces)]
        with k8s.ApiClient(configuration) as api:
            started = time.monotonic()
            try:
                with ThreadPoolExecutor(max_workers=8) as pool:
                    list(pool.map(lambda name: seed_namespace(api, name, options.workloads), namespaces))
                log(f"seeded {len(namespaces)} namespaces x {options.workloads} Deployments in "
                    f"{time.monotonic() - started:.1f}s")
                module, kubectl, playbook, rss, calls, objects, tasks = [], [], [], [], None, 0, 0
                for round_number in range(options.rounds):
                    wall, peak, result = run_module_direct(tmp, namespaces)
                    module.append(wall)
                    rss.append(peak)
                    calls = result["api_calls"]
                    kubectl_wall, objects = run_kubectl(cluster)
                    kubectl.append(kubectl_wall)
                    playbook_wall, tasks = run_compliance_playbook(tmp, namespaces)
                    playbook.append(playbook_wall)
                    log(f"round {round_number + 1}: module {wall:.2f}s ({peak:.0f} MiB, {result['summary']['total']} "
                        f"checks), kubectl {kubectl_wall:.2f}s ({objects} objects), playbook {playbook[-1]:.2f}s "
                        f"({tasks} tasks ran)")
                _wall, _peak, small = run_module_direct(tmp, namespaces[:max(1, len(namespaces) // 10)])
            finally:
                core = k8s.CoreV1Api(api)
                for name in namespaces:
                    try:
                        core.delete_namespace(name)
                    except k8s.exceptions.ApiException:
                        pass
    rounds = options.rounds
    emit("list_requests_full_vs_tenth_of_namespaces", calls, small["api_calls"], "requests", 1)
    emit("playbook_tasks_ran", tasks, 0, "tasks", 1)
    emit("module_peak_rss", statistics.median(rss), 0, "MiB", rounds)
    emit("module_wall_vs_kubectl_get_all", statistics.median(module), statistics.median(kubectl), "s", rounds)
    emit("playbook_wall_vs_kubectl_get_all", statistics.median(playbook), statistics.median(kubectl), "s", rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
