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


def selected(obj, selector):
    """Whether ``obj`` passes a field selector of the forms the module sends (type=, !=, status.phase!=)."""
    for term in (selector or "").split(","):
        if "!=" in term:
            field, value = term.split("!=")
            have = {"metadata.namespace": (obj.get("metadata") or {}).get("namespace"),
                    "status.phase": (obj.get("status") or {}).get("phase")}[field]
            if have == value:
                return False
        elif term == "type=Warning" and obj.get("type") != "Warning":
            return False
    return True


class ListOnlyKube:
    """Lists, finds and serves logs from memory; ``logs`` maps (pod, container, previous) to text or a KubeError."""

    host = "https://fake:6443"

    def __init__(self, objects, errors=None, logs=None):
        self.objects = objects  # kind -> list
        self.errors = errors or {}  # kind -> KubeError
        self.logs = logs or {}
        self.calls = []

    def list(self, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append((kind, namespace, field_selector))
        if kind in self.errors:
            raise self.errors[kind]
        items = [copy.deepcopy(o) for o in self.objects.get(kind, [])
                 if namespace is None or (o.get("metadata") or {}).get("namespace") == namespace]
        return {"items": [o for o in items if selected(o, field_selector)]}

    def find(self, kind, namespace, name):
        self.calls.append((kind, namespace, name))
        return next((o for o in self.objects.get(kind, []) if o["metadata"]["name"] == name
                     and o["metadata"].get("namespace") == namespace), None)

    def log(self, namespace, pod, container, since_seconds=None, limit_bytes=None, previous=False):
        self.calls.append(("log", namespace, pod, container, previous, since_seconds))
        answer = self.logs.get((pod, container, previous),
                               KubeError(f'logs of Pod {namespace}/{pod} container {container}: no logs found for '
                                         f'container "{container}" in pod "{namespace}/{pod}".', 400, "BadRequest"))
        if isinstance(answer, KubeError):
            raise answer
        return answer


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
    ({"include": []}, "include must name at least one of pods, workloads, hpas, events, resources, volumes, nodes, logs."),
    ({"include": ["logs"], "logs": {"pattern": "(unclosed"}},
     "logs.pattern '(unclosed' is not a regular expression: missing ), unterminated subpattern at position 0."),
    ({"include": ["logs"], "logs": {"pattern": ""}}, "logs.pattern must not be empty (an empty pattern matches every line)."),
    ({"include": ["logs"], "logs": {"since": "yesterday"}},
     "Invalid logs.since 'yesterday': use a number with a unit, for example 90s, 30m, 1h, 7d, '1 hour' or 00:05:00."),
    ({"include": ["logs"], "logs": {"since": "0"}}, "logs.since must be at least one second, not '0'."),
    ({"include": ["logs"], "logs": {"deployments": [{"namespace": "Bad_NS", "name": "api"}]}},
     "namespaces: 'Bad_NS' is not a valid namespace name (lowercase letters, digits and '-', starting and ending with "
     "a letter or digit, at most 63 characters)."),
    ({"thresholds": {"node_requests_percent": 90, "node_requests_critical_percent": 80}},
     "thresholds.node_requests_critical_percent (80.0) must not be below thresholds.node_requests_percent (90.0)."),
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


def node(name, ready="True", pressure=(), cpu="4", memory="8Gi", pods="110"):
    conditions = [{"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "NodeStatusUnknown",
                   "message": "kubelet is posting ready status" if ready == "True" else "Kubelet stopped posting node status."}]
    conditions += [{"type": kind, "status": "True", "message": f"kubelet has {kind}"} for kind in pressure]
    return {"metadata": {"name": name}, "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}, "conditions": conditions}}


def claim(namespace, name, phase="Bound", storage="10Gi"):
    return {"metadata": {"namespace": namespace, "name": name, "creationTimestamp": stamp()},
            "spec": {"storageClassName": "standard", "volumeName": f"pv-{name}", "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": storage}}},
            "status": {"phase": phase, "capacity": {"storage": storage} if phase == "Bound" else {}}}


def test_nodes_are_judged_with_the_requests_of_every_namespace(module_env):
    kube = module_env["kube"]
    kube.objects["Node"] = [node("node-0", cpu="500m"), node("node-1", ready="Unknown"),
                            node("node-2", pressure=("DiskPressure",))]
    # A finished pod on node-0 holds nothing; the pod of another namespace counts.
    done = pod("kube-system", "job-h1-x", app="job")
    done["status"]["phase"] = "Succeeded"
    kube.objects["Pod"] += [done]
    result = run({"namespaces": ["shop"], "include": ["nodes"]})
    rows = {row["name"]: row for row in result["nodes"]["nodes"]}
    # Three running pods of 100m each on node-0 (500m allocatable): 60 % is fine.
    assert rows["node-0"]["cpu_requested_millicores"] == 300.0 and rows["node-0"]["pods"] == 3
    assert rows["node-0"]["cpu_requested_percent"] == 60.0 and rows["node-0"]["severity"] is None
    assert (rows["node-1"]["severity"], rows["node-1"]["problem"]) == ("critical", "NotReady")
    assert rows["node-1"]["message"] == "Kubelet stopped posting node status"
    assert (rows["node-2"]["severity"], rows["node-2"]["problem"]) == ("warning", "DiskPressure")
    assert [(p["category"], p["name"], p["reason"]) for p in result["problems"]] == [
        ("node", "node-1", "NotReady"), ("node", "node-2", "DiskPressure")]
    assert result["summary"]["nodes"] == 3 and result["summary"]["nodes_not_ready"] == 1
    assert ("Pod", None, "status.phase!=Succeeded,status.phase!=Failed") in kube.calls
    assert "shop" in result["namespaces"]


def test_nodes_over_the_requests_thresholds(module_env):
    module_env["kube"].objects["Node"] = [node("node-0", cpu="320m")]
    result = run({"include": ["pods", "nodes"],
                  "thresholds": {"node_requests_percent": 80, "node_requests_critical_percent": 99}})
    [row] = result["nodes"]["nodes"]
    assert row["cpu_requested_percent"] == 93.8 and row["requests_over_threshold"] is True
    assert (row["severity"], row["problem"]) == ("warning", "RequestedOverThreshold")
    assert row["message"] == "CPU requested at 93.8% of allocatable (warning above 80%)"
    # Every namespace is read cluster-wide once: the pods serve both the namespaces and the nodes.
    assert [call for call in module_env["kube"].calls if call[0] == "Pod"] == [("Pod", None, None)]


def test_forbidden_nodes_are_unavailable_not_fatal(module_env):
    module_env["kube"] = cluster(Node=KubeError("permission denied by the Kubernetes API: nodes is forbidden.", 403))
    result = run({"namespaces": ["shop"], "include": ["pods", "nodes"]})
    assert result["nodes"]["available"] is False
    assert result["nodes"]["reason"] == ("listing nodes is forbidden for this user: permission denied by the Kubernetes "
                                         "API: nodes is forbidden.")
    assert result["namespaces"]["shop"]["pod_counts"]["total"] == 2


def test_volumes_report_claims_and_their_problems(module_env):
    module_env["kube"].objects["PersistentVolumeClaim"] = [claim("shop", "data"), claim("shop", "old", phase="Lost"),
                                                           claim("quiet", "other")]
    result = run({"namespaces": ["shop"], "include": ["volumes"]})
    rows = {row["name"]: row for row in result["namespaces"]["shop"]["volumes"]}
    assert sorted(rows) == ["data", "old"]
    assert rows["data"]["capacity_bytes"] == 10 * 2 ** 30 and rows["data"]["storage_class"] == "standard"
    assert (rows["old"]["severity"], rows["old"]["problem"]) == ("critical", "Lost")
    assert result["summary"]["volumes"] == 2 and result["summary"]["volumes_unhealthy"] == 1


def test_logs_of_the_deployments_found_are_counted_per_deployment(module_env):
    kube = module_env["kube"]
    kube.logs = {("web-h1-a", "app", False): "started\nERROR db timeout\nok\n",
                 ("web-h1-b", "app", False): "Error: boom\n",
                 ("web-h1-b", "app", True): "error before the crash\ntraceback\n"}
    result = run({"namespaces": ["shop", "quiet"], "include": ["logs"],
                  "logs": {"previous": True, "since": "2h"}})
    rows = {row["name"]: row for row in result["logs"]["deployments"]}
    assert list(rows) == ["web", "api"]
    web = rows["web"]
    assert (web["status"], web["logs_read"], web["lines"], web["error_lines"]) == ("read", 3, 4, 2)
    assert (web["previous_lines"], web["previous_error_lines"]) == (2, 1)
    assert web["last_errors"] == ["web-h1-a/app: ERROR db timeout", "web-h1-b/app: Error: boom",
                                  "web-h1-b/app (previous): error before the crash"]
    assert rows["api"]["status"] == "unavailable"
    assert rows["api"]["reason"] == 'no logs found for container "app" in pod "quiet/api-h1-a"'
    assert result["logs"]["since_seconds"] == 7200 and result["logs"]["pattern"] == "error"
    assert ("log", "shop", "web-h1-b", "app", True, 7200) in kube.calls
    # No previous log of a container that never restarted.
    assert ("log", "shop", "web-h1-a", "app", True, 7200) not in kube.calls


def test_listed_deployments_outside_the_namespaces_and_missing_ones(module_env):
    module_env["kube"].logs = {("api-h1-a", "app", False): "fine\n"}
    result = run({"namespaces": ["shop"], "include": ["logs"],
                  "logs": {"deployments": [{"namespace": "quiet", "name": "api"},
                                           {"namespace": "quiet", "name": "gone"}]}})
    rows = result["logs"]["deployments"]
    assert [(r["name"], r["status"], r["lines"], r["error_lines"]) for r in rows] == [
        ("api", "read", 1, 0), ("gone", "unavailable", 0, 0)]
    assert rows[1]["reason"] == "Deployment quiet/gone not found"


def test_unreachable_api_while_reading_logs_fails_in_one_sentence(module_env):
    message = "Cannot reach the Kubernetes API at https://fake:6443: connection refused."
    module_env["kube"].logs = {("web-h1-a", "app", False): KubeError(message)}
    result = run({"namespaces": ["shop"], "include": ["logs"]}, expect=FailJson)
    assert result["msg"] == message


def test_many_listed_namespaces_are_read_cluster_wide_without_the_others(module_env):
    kube = module_env["kube"]
    names = ["a", "b", "c", "shop", "quiet"]
    kube.objects["Namespace"] += [namespace(n) for n in ("a", "b", "c")]
    result = run({"namespaces": names, "include": ["pods", "events"]})
    assert list(result["namespaces"]) == names
    assert result["namespaces"]["shop"]["pod_counts"]["total"] == 2
    assert sorted(kube.calls[1:]) == [("Event", None, "type=Warning,metadata.namespace!=kube-system"),
                                      ("Pod", None, "metadata.namespace!=kube-system")]
    assert result["api_calls"] == 3


def test_deployments_with_a_problem_are_read_first(module_env):
    result = run({"namespaces": ["quiet", "shop"], "include": ["pods", "logs"], "logs": {"max_deployments": 1}})
    # quiet/api comes first by namespace, but shop/web has a crash-looping pod.
    assert [(row["namespace"], row["name"]) for row in result["logs"]["deployments"]] == [("shop", "web")]
