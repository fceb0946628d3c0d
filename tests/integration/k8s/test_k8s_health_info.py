"""k8s_health_info against the real control plane (kube-apiserver, controllers and scheduler; kwok kubelets).

One namespace holds a healthy Deployment, a crash-looping one, and single pods that cannot pull
their image, lack their configuration, or cannot be scheduled (kwok's failure stages,
tests/k8s/README.md); a second namespace is healthy and a third does not exist. The module must
report exactly the broken pods and workloads with kwok's reasons, and counts that match the
server's own pod list. No fixed sleeps: setup waits on conditions with deadlines.
"""

from __future__ import annotations

import socket
import sys
import uuid
from pathlib import Path

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.harness.k8s_telemetry import usage_annotations, wait_for_pod_metrics  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
if str(REPO / ".collections") not in sys.path:  # the H8 verdict's pure code
    sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import resources_verdict  # noqa: E402

MODULE = "sre.runbooks.k8s_health_info"
WAIT = 60


def deployment(name, image, replicas=2, resources=None, annotations=None):
    labels = {"app": name}
    container = {"name": "app", "image": image}
    if resources:
        container["resources"] = resources
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels, "annotations": annotations or {}},
                                  "spec": {"containers": [container]}}}}


def bare_pod(name, image="tool:1", annotations=None, node_selector=None, resources=None, labels=None):
    spec = {"containers": [{"name": "app", "image": image, "resources": resources or {}}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"metadata": {"name": name, "annotations": annotations or {}, "labels": labels or {}}, "spec": spec}


def waiting_reason(pod):
    for status in pod.status.container_statuses or []:
        if status.state and status.state.waiting:
            return status.state.waiting.reason
    return None


def unschedulable(pod):
    return any(c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
               for c in pod.status.conditions or [])


@pytest.fixture(scope="module")
def core(k8s_cluster):
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(k8s_cluster.kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api_client:
        yield k8s.CoreV1Api(api_client), k8s.AppsV1Api(api_client), k8s.AutoscalingV2Api(api_client)


@pytest.fixture(scope="module")
def scene(core, k8s_cluster):
    """{"broken": ns with the failures, "healthy": ns with a healthy app, "missing": a name that does not exist}."""
    api, apps, autoscaling = core
    suffix = uuid.uuid4().hex[:6]
    broken, healthy = f"hc-broken-{suffix}", f"hc-healthy-{suffix}"
    for ns in (broken, healthy):
        api.create_namespace({"metadata": {"name": ns}})
    try:
        limits = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}
        # kwok emulates the usage metrics-server reports: web runs hot (425m of a 500m CPU limit,
        # 85 %: above H8's 80 % warning), calm does not (100m, 20 %).
        apps.create_namespaced_deployment(broken, deployment("web", "web:1", resources=limits,
                                                             annotations=usage_annotations("425m", "32Mi")))
        apps.create_namespaced_deployment(broken, deployment("worker", "worker:crashloop"))
        api.create_namespaced_pod(broken, bare_pod("puller", image="tool:imagepullbackoff"))
        api.create_namespaced_pod(broken, bare_pod("no-config", annotations={
            "test.sre.runbooks/waiting-reason": "CreateContainerConfigError"}))
        api.create_namespaced_pod(broken, bare_pod("no-node", node_selector={"test.sre.runbooks/nobody": "here"}))
        apps.create_namespaced_deployment(healthy, deployment("api", "api:1", replicas=3))
        api.create_namespaced_pod(healthy, bare_pod("calm", resources=limits, labels={"app": "calm"},
                                                    annotations=usage_annotations("100m", "32Mi")))
        autoscaling.create_namespaced_horizontal_pod_autoscaler(healthy, {
            "metadata": {"name": "api"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                     "minReplicas": 2, "maxReplicas": 3,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}})

        def settled():
            pods = {p.metadata.name: p for p in api.list_namespaced_pod(broken).items}
            workers = [p for n, p in pods.items() if n.startswith("worker-")]
            webs = [p for n, p in pods.items() if n.startswith("web-")]
            return (len(workers) == 2 and all(waiting_reason(p) == "CrashLoopBackOff" for p in workers)
                    and len(webs) == 2 and all(p.status.phase == "Running" and any(
                        c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) for p in webs)
                    and "puller" in pods and waiting_reason(pods["puller"]) == "ImagePullBackOff"
                    and "no-config" in pods and waiting_reason(pods["no-config"]) == "CreateContainerConfigError"
                    and "no-node" in pods and unschedulable(pods["no-node"]))

        wait_until(settled, "the broken namespace's pods to reach their kwok stages")
        wait_until(lambda: (apps.read_namespaced_deployment("api", healthy).status.available_replicas or 0) == 3,
                   "the healthy deployment")
        # metrics-server has figures two scrapes after a pod starts.
        wait_for_pod_metrics(k8s_cluster, broken, "app=web", 2)
        wait_for_pod_metrics(k8s_cluster, healthy, "app=calm", 1)
        wait_until(lambda: any(c.type == "ScalingActive" for c in
                               autoscaling.read_namespaced_horizontal_pod_autoscaler("api", healthy).status.conditions or []),
                   "the HPA controller to report its conditions")
        yield {"broken": broken, "healthy": healthy, "missing": f"hc-missing-{suffix}", "api": api}
    finally:
        for ns in (broken, healthy):
            api.delete_namespace(ns)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_reports_exactly_the_broken_pods_and_workloads(scene):
    broken, healthy, missing, api = scene["broken"], scene["healthy"], scene["missing"], scene["api"]
    args = {"namespaces": [broken, healthy, missing], "include": ["pods", "workloads", "hpas", "events", "resources"]}
    port = free_port()
    check, real, unreachable, bad = run_module_batch(MODULE, [
        {"args": args, "check": True},
        {"args": dict(args, all_pods=True)},
        {"args": {"namespaces": [healthy], "host": f"https://127.0.0.1:{port}", "api_key": "x", "validate_certs": False}},
        {"args": {"namespaces": ["Not_A_Namespace"]}},
    ])

    # Check mode reads exactly as a real run does (the usage figures in H8's messages may move
    # between two metrics-server scrapes, so those compare by object and finding).
    assert not check.failed and check["changed"] is False, check.output
    assert not real.failed and real["changed"] is False, real.output

    def findings(result):
        return sorted((p["category"], p["namespace"], p["name"], p["reason"], p["severity"]) for p in result["problems"])

    assert findings(check) == findings(real)

    server_pods = {p.metadata.name: p for p in api.list_namespaced_pod(broken).items}
    workers = sorted(n for n in server_pods if n.startswith("worker-"))
    pod_problems = {p["name"]: p["reason"] for p in real["problems"] if p["category"] == "pod"}
    assert pod_problems == {**{w: "CrashLoopBackOff" for w in workers}, "puller": "ImagePullBackOff",
                            "no-config": "CreateContainerConfigError", "no-node": "Unschedulable"}
    assert all(p["severity"] == "critical" and p["namespace"] == broken for p in real["problems"] if p["category"] == "pod")
    crash = [p for p in real["problems"] if p["name"] in workers]
    assert {p["workload"] for p in crash} == {"Deployment/worker"}
    [unsched] = [p for p in real["problems"] if p["name"] == "no-node"]
    assert "didn't match Pod's node affinity/selector" in unsched["message"]

    workload_problems = [(p["kind"], p["name"], p["reason"], p["severity"]) for p in real["problems"]
                         if p["category"] == "workload"]
    assert workload_problems == [("Deployment", "worker", "Unavailable", "critical")]
    [other] = [(p["category"], p["name"], p["reason"]) for p in real["problems"] if p["namespace"] != broken
               and p["category"] != "hpa"]
    assert other == ("namespace", missing, "NamespaceNotFound")

    # The counts match the server's pod list.
    ns = real["namespaces"][broken]
    phases = [p.status.phase for p in server_pods.values()]
    assert ns["pod_counts"]["total"] == len(server_pods) == 7
    assert ns["pod_counts"]["not_running"] == sum(1 for phase in phases if phase not in ("Running", "Succeeded")) == 3
    assert ns["pod_counts"]["unhealthy"] == 5 and ns["pod_counts"]["ready"] == 2
    assert ns["pod_counts"]["restarts"] == sum(s.restart_count for p in server_pods.values()
                                               for s in p.status.container_statuses or [])
    assert sorted(p["name"] for p in ns["pods"]) == sorted(server_pods)  # all_pods=true
    workers_row = [w for w in ns["workloads"] if w["name"] == "worker"][0]
    assert (workers_row["desired"], workers_row["available"], workers_row["unhealthy_pods"]) == (2, 0, 2)
    assert [w["name"] for w in ns["workloads"] if w["severity"] is None] == ["web"]
    assert {e["reason"] for e in ns["events"]} >= {"FailedScheduling"}

    # The healthy namespace: no pod or workload problem; the HPA is at its max of 3 and cannot scale
    # (its pods request no CPU, so a utilisation cannot be computed).
    good = real["namespaces"][healthy]
    assert good["exists"] is True and good["pod_counts"]["total"] == 4 and good["pod_counts"]["unhealthy"] == 0
    [hpa] = good["hpas"]
    assert (hpa["target"], hpa["min_replicas"], hpa["max_replicas"], hpa["current_replicas"]) == ("Deployment/api", 2, 3, 3)
    assert hpa["at_max"] is True and hpa["scaling_active"] is False and hpa["problem"] == "AtMaxReplicas"
    assert real["namespaces"][missing]["exists"] is False

    # H8 on the usage metrics-server reports from kwok's emulation: web's pods run at 85 % of their
    # CPU limit (a warning above 80 %), calm at 20 %; the figures are the emulated ones.
    assert real["metrics"]["available"] is True, real["metrics"]
    web_rows = [r for r in ns["resources"]["pods"] if r["workload"] == "Deployment/web"]
    assert len(web_rows) == 2, web_rows
    for row in web_rows:
        assert row["cpu_limit_millicores"] == 500.0 and row["cpu_usage_millicores"] == pytest.approx(425, abs=2)
        assert row["cpu_percent"] == pytest.approx(85, abs=0.5) and row["memory_usage_bytes"] == 32 * 2**20
        assert (row["severity"], row["problem"]) == ("warning", "HighResourceUsage"), row
    [calm] = [r for r in good["resources"]["pods"] if r["name"] == "calm"]
    assert calm["cpu_percent"] == pytest.approx(20, abs=0.5) and calm["severity"] is None
    h8 = resources_verdict(dict(real), 80, 85)
    assert h8["status"] == "warning", h8
    assert sorted(r["name"] for r in h8["details"]["over_threshold"]) == sorted(r["name"] for r in web_rows)

    summary = real["summary"]
    assert summary["status"] == "critical" and summary["missing_namespaces"] == [missing]
    assert summary["problems"]["critical"] == 6 and summary["unhealthy_pods"] == 5
    assert real["api_calls"] <= 1 + 2 * 7  # one namespace list, then 7 kinds per existing namespace

    assert unreachable.failed and unreachable["msg"] == (
        f"Cannot reach the Kubernetes API at https://127.0.0.1:{port}: connection refused."), unreachable.output
    assert bad.failed and bad["msg"].startswith("namespaces: 'Not_A_Namespace' is not a valid namespace name"), bad.output
