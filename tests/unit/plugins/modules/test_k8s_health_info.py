"""k8s_health_info's main(): option checks, namespace handling, metrics fallback, one-sentence errors.

The API is a small in-memory stand-in that only lists; classification details are unit-tested in
tests/unit/plugins/module_utils/test_k8s_health.py and the real control plane in
tests/integration/k8s/test_k8s_health_info.py.
"""

from __future__ import annotations

import copy
import time

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health_runner
from ansible_collections.sre.runbooks.plugins.modules import k8s_health_info

from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module


def stamp(seconds_ago=3600):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


def pod(namespace, name, broken=False, app="web"):
    container = ({"name": "app", "ready": False, "restartCount": 4,
                  "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                  "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}} if broken else
                 {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}})
    return {"metadata": {"name": name, "namespace": namespace, "creationTimestamp": stamp(),
                         "labels": {"app": app, "pod-template-hash": "h1"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": f"{app}-h1", "controller": True}]},
            "spec": {"nodeName": "node-0", "containers": [{"name": "app", "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False" if broken else "True"}],
                       "containerStatuses": [container]}}


def deployment(namespace, name, replicas, available):
    return {"metadata": {"name": name, "namespace": namespace, "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": available, "availableReplicas": available}}


def namespace(name):
    return {"metadata": {"name": name}}


class ListOnlyKube:
    host = "https://fake:6443"

    def __init__(self, objects, errors=None):
        self.objects = objects  # kind -> list
        self.errors = errors or {}  # kind -> KubeError
        self.calls = []

    def list(self, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append((kind, namespace, field_selector))
        if kind in self.errors:
            raise self.errors[kind]
        items = [copy.deepcopy(o) for o in self.objects.get(kind, [])
                 if namespace is None or (o.get("metadata") or {}).get("namespace") == namespace]
        if field_selector == "type=Warning":
            items = [o for o in items if o.get("type") == "Warning"]
        return {"items": items}


def cluster(**errors):
    return ListOnlyKube({
        "Namespace": [namespace("shop"), namespace("quiet"), namespace("kube-system")],
        "Pod": [pod("shop", "web-h1-a"), pod("shop", "web-h1-b", broken=True), pod("quiet", "api-h1-a", app="api")],
        "Deployment": [deployment("shop", "web", 2, 1), deployment("quiet", "api", 1, 1)],
        "HorizontalPodAutoscaler": [],
        "Event": [{"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
                   "involvedObject": {"kind": "Pod", "name": "web-h1-b"}, "lastTimestamp": stamp(60),
                   "metadata": {"namespace": "shop"}},
                  {"type": "Normal", "reason": "Pulled", "involvedObject": {"kind": "Pod", "name": "web-h1-a"},
                   "lastTimestamp": stamp(60), "metadata": {"namespace": "shop"}}],
        "PodMetrics": [{"metadata": {"name": "web-h1-a", "namespace": "shop"},
                        "containers": [{"name": "app", "usage": {"cpu": "190m", "memory": "32Mi"}}]}],
    }, errors=errors)


@pytest.fixture
def module_env(monkeypatch):
    state = {"kube": cluster(), "connected": 0}

    def connect(module):
        state["connected"] += 1
        return state["kube"]

    monkeypatch.setattr(health_runner, "connect", connect)
    return state


def run(args, expect=ExitJson, check=False):
    return run_module(k8s_health_info, args, check=check, expect=expect)


@pytest.mark.parametrize(("args", "message"), [
    ({"namespaces": ["Shop"]}, "namespaces: 'Shop' is not a valid namespace name (lowercase letters, digits and '-', "
                               "starting and ending with a letter or digit, at most 63 characters)."),
    ({"include": []}, "include must name at least one of pods, workloads, hpas, events, resources."),
    ({"events_max_age": "soon"}, "Invalid events_max_age 'soon': use a number with a unit, for example 90s, 30m, 1h, "
                                 "7d, '1 hour' or 00:05:00."),
    ({"events_limit": 0}, "events_limit must be at least 1, not 0."),
    ({"thresholds": {"restarts": -2}}, "thresholds.restarts must not be negative, not -2."),
])
def test_bad_input_fails_in_one_sentence_before_connecting(module_env, args, message):
    result = run(args, expect=FailJson)
    assert result["msg"] == message
    assert module_env["connected"] == 0


def test_listed_namespaces_in_one_call(module_env):
    result = run({"namespaces": ["shop", "quiet", "gone", "shop"], "include": ["pods", "workloads", "events"]},
                 check=True)
    assert result["changed"] is False
    assert list(result["namespaces"]) == ["shop", "quiet", "gone"]
    assert result["namespaces"]["gone"]["exists"] is False
    # One namespace list, then 5 kinds (Pod, 3 workload kinds, Event) for the two namespaces that exist.
    assert result["api_calls"] == 11 and len(module_env["kube"].calls) == 11
    assert ("Event", "shop", "type=Warning") in module_env["kube"].calls
    assert [(p["severity"], p["kind"], p["name"], p["reason"]) for p in result["problems"]] == [
        ("critical", "Pod", "web-h1-b", "CrashLoopBackOff"),
        ("warning", "Namespace", "gone", "NamespaceNotFound"),
        ("warning", "Deployment", "web", "Degraded"),
    ]
    shop = result["namespaces"]["shop"]
    assert [p["name"] for p in shop["pods"]] == ["web-h1-b"] and shop["pods"][0]["workload"] == "Deployment/web"
    assert [e["reason"] for e in shop["events"]] == ["BackOff"]
    assert result["summary"]["status"] == "critical" and result["summary"]["not_ready"] == 1
    assert result["metrics"] == {"available": None, "reason": None}


def test_every_namespace_from_cluster_wide_lists(module_env):
    result = run({"include": ["pods"], "all_pods": True})
    assert list(result["namespaces"]) == ["kube-system", "quiet", "shop"]
    assert [c[1] for c in module_env["kube"].calls] == [None, None]
    assert [p["name"] for p in result["namespaces"]["shop"]["pods"]] == ["web-h1-a", "web-h1-b"]
    assert result["namespaces"]["kube-system"]["pod_counts"]["total"] == 0


def test_forbidden_namespace_list_still_checks_the_namespaces(module_env):
    module_env["kube"] = cluster(Namespace=KubeError("permission denied by the Kubernetes API: namespaces is forbidden.",
                                                     403, "Forbidden"))
    result = run({"namespaces": ["shop", "gone"], "include": ["pods"]})
    assert result["namespaces"]["shop"]["exists"] is None and result["namespaces"]["gone"]["exists"] is None
    assert result["summary"]["missing_namespaces"] == []
    assert result["namespaces"]["shop"]["pod_counts"]["total"] == 2


def test_resources_with_metrics(module_env):
    result = run({"namespaces": ["shop"], "include": ["resources"]})
    assert result["metrics"] == {"available": True, "reason": None}
    rows = {r["name"]: r for r in result["namespaces"]["shop"]["resources"]["pods"]}
    assert rows["web-h1-a"]["cpu_percent"] == 95.0 and rows["web-h1-a"]["severity"] == "critical"
    assert rows["web-h1-b"]["cpu_usage_millicores"] is None
    # Only the resource problem: pods were read for the comparison, not reported.
    assert [(p["category"], p["name"]) for p in result["problems"]] == [("resources", "web-h1-a")]
    assert "pods" not in result["namespaces"]["shop"]


@pytest.mark.parametrize(("status", "reason"), [
    (404, "the metrics API (metrics.k8s.io) is not served by this cluster (no metrics-server)"),
    (503, "the metrics API (metrics.k8s.io) is registered but its server does not answer"),
])
def test_missing_metrics_api_is_reported_not_fatal(module_env, status, reason):
    module_env["kube"] = cluster(PodMetrics=KubeError("the server could not find the requested resource.", status))
    result = run({"namespaces": ["shop"], "include": ["pods", "resources"]})
    assert result["metrics"] == {"available": False, "reason": reason}
    assert result["namespaces"]["shop"]["resources"]["with_metrics"] == 0
    assert result["summary"]["pods_over_resource_threshold"] == 0


@pytest.mark.parametrize("kind", ["Namespace", "Pod", "Deployment"])
def test_unreachable_api_fails_in_one_sentence(module_env, kind):
    message = "Cannot reach the Kubernetes API at https://127.0.0.1:1: connection refused."
    module_env["kube"] = cluster(**{kind: KubeError(message)})
    result = run({"namespaces": ["shop"]}, expect=FailJson)
    assert result["msg"] == message
