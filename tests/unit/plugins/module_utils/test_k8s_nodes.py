"""Node health (H13) and PersistentVolumeClaims: pure rows over the API's JSON."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.nodes import (
    node_row, nodes_report, pod_requests, requests_by_node)
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.volumes import pvc_row

THRESHOLDS = health.merge_thresholds({})


def node(name="n1", ready="True", conditions=(), allocatable=None, unschedulable=False, labels=None):
    conds = [] if ready is None else [{"type": "Ready", "status": ready, "reason": "KubeletNotReady",
                                       "message": "container runtime is down"}]
    conds += [{"type": kind, "status": status, "message": f"{kind} message"} for kind, status in conditions]
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"unschedulable": unschedulable},
            "status": {"allocatable": allocatable or {"cpu": "2", "memory": "4Gi", "pods": "10"},
                       "conditions": conds}}


def pod(node_name="n1", cpu="100m", memory="128Mi", phase="Running", init=None, overhead=None, containers=1):
    spec = {"nodeName": node_name,
            "containers": [{"name": f"c{i}", "resources": {"requests": {"cpu": cpu, "memory": memory}}}
                           for i in range(containers)]}
    if init:
        spec["initContainers"] = [{"name": "init", "resources": {"requests": init}}]
    if overhead:
        spec["overhead"] = overhead
    return {"metadata": {"name": "p"}, "spec": spec, "status": {"phase": phase}}


def test_pod_requests_follow_the_scheduler():
    assert pod_requests(pod(containers=2)) == {"cpu": pytest.approx(0.2), "memory": 256 * 2 ** 20}
    # The biggest init container wins when it asks for more than the containers together; overhead adds.
    assert pod_requests(pod(init={"cpu": "1"}, overhead={"cpu": "50m"}))["cpu"] == pytest.approx(1.05)
    assert pod_requests({"spec": {"containers": [{"name": "c"}]}}) == {"cpu": 0.0, "memory": 0.0}


def test_requests_by_node_skip_finished_and_unscheduled_pods():
    pods = [pod(), pod(), pod(phase="Succeeded"), pod(phase="Failed"), pod(node_name=None), pod(node_name="n2")]
    totals = requests_by_node(pods)
    assert totals["n1"]["pods"] == 2 and totals["n1"]["cpu"] == pytest.approx(0.2)
    assert totals["n2"]["pods"] == 1 and set(totals) == {"n1", "n2"}


@pytest.mark.parametrize(("the_node", "requested", "severity", "problem"), [
    (node(), {"cpu": 0.5, "memory": 0, "pods": 1}, None, None),
    (node(ready="False"), {"cpu": 0, "memory": 0, "pods": 0}, "critical", "NotReady"),
    (node(ready="Unknown"), None, "critical", "NotReady"),
    (node(ready=None), None, "critical", "NotReady"),
    (node(conditions=[("MemoryPressure", "True")]), None, "warning", "MemoryPressure"),
    (node(conditions=[("PIDPressure", "True"), ("DiskPressure", "False")]), None, "warning", "PIDPressure"),
    (node(conditions=[("NetworkUnavailable", "True")]), None, "warning", "NetworkUnavailable"),
    (node(), {"cpu": 1.8, "memory": 0, "pods": 1}, "warning", "RequestedOverThreshold"),
    (node(), {"cpu": 0, "memory": 4 * 2 ** 30, "pods": 1}, "critical", "RequestedOverThreshold"),
    (node(), {"cpu": 0, "memory": 0, "pods": 10}, "critical", "RequestedOverThreshold"),
    # Exactly at the threshold is not above it.
    (node(), {"cpu": 1.7, "memory": 0, "pods": 0}, None, None),
])
def test_node_rows(the_node, requested, severity, problem):
    row = node_row(the_node, requested, THRESHOLDS)
    assert (row["severity"], row["problem"]) == (severity, problem)


def test_a_not_ready_node_under_pressure_says_both_critical_first():
    row = node_row(node(ready="False", conditions=[("DiskPressure", "True")]), {"cpu": 1.9, "memory": 0, "pods": 0},
                   THRESHOLDS)
    assert row["severity"] == "critical" and row["problem"] == "NotReady"
    assert row["message"].split("; ") == ["container runtime is down", "DiskPressure message",
                                          "CPU requested at 95.0% of allocatable (warning above 85%)"]
    assert row["pressure"] == ["DiskPressure"] and row["requests_over_threshold"] is True


def test_node_row_fields():
    row = node_row(node(unschedulable=True, labels={"node-role.kubernetes.io/worker": "", "x": "y"}),
                   {"cpu": 0.25, "memory": 2 ** 30, "pods": 2}, THRESHOLDS)
    assert row["roles"] == ["worker"] and row["unschedulable"] is True and row["ready"] is True
    assert (row["cpu_allocatable_millicores"], row["memory_allocatable_bytes"], row["pods_allocatable"]) == (
        2000.0, 4 * 2 ** 30, 10)
    assert (row["cpu_requested_millicores"], row["memory_requested_bytes"], row["pods"]) == (250.0, 2 ** 30, 2)
    assert (row["cpu_requested_percent"], row["memory_requested_percent"], row["pods_percent"]) == (12.5, 25.0, 20.0)
    unknown = node_row(node(), None, THRESHOLDS)
    assert unknown["cpu_requested_percent"] is None and unknown["pods"] is None


def test_nodes_report_counts_and_order():
    pressured = node("a", conditions=[("MemoryPressure", "True")], unschedulable=True)
    report = nodes_report([node("b", ready="False"), pressured], [pod("a", cpu="1900m")], THRESHOLDS)
    assert [row["name"] for row in report["nodes"]] == ["a", "b"]
    assert (report["ready"], report["not_ready"], report["with_pressure"], report["unschedulable"],
            report["over_requests_threshold"]) == (1, 1, 1, 1, 1)
    assert report["requests_summed"] is True and report["nodes"][1]["pods"] == 0
    assert nodes_report([node()], None, THRESHOLDS)["requests_summed"] is False
    problems = health.node_problems(report)
    assert [(p["category"], p["namespace"], p["kind"], p["name"], p["reason"]) for p in problems] == [
        ("node", None, "Node", "a", "MemoryPressure"), ("node", None, "Node", "b", "NotReady")]


def claim(phase="Bound", capacity="20Gi", requested="20Gi"):
    return {"metadata": {"name": "data"},
            "spec": {"storageClassName": "fast", "volumeName": "pv-1" if phase != "Pending" else None,
                     "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": requested}}},
            "status": {"phase": phase, "capacity": {"storage": capacity} if capacity else {}}}


@pytest.mark.parametrize(("the_claim", "age", "severity", "problem"), [
    (claim(), 10, None, None),
    (claim(phase="Lost"), 10, "critical", "Lost"),
    (claim(phase="Pending", capacity=None), 10, None, None),
    (claim(phase="Pending", capacity=None), 301, "warning", "Pending"),
    (claim(phase="Pending", capacity=None), None, "warning", "Pending"),
])
def test_claim_rows(the_claim, age, severity, problem):
    row = pvc_row(the_claim, age, THRESHOLDS)
    assert (row["severity"], row["problem"]) == (severity, problem)


def test_claim_row_fields():
    row = pvc_row(claim(capacity="21Gi"), 5.0, THRESHOLDS)
    assert row == {"name": "data", "phase": "Bound", "capacity_bytes": 21 * 2 ** 30, "requested_bytes": 20 * 2 ** 30,
                   "storage_class": "fast", "volume": "pv-1", "access_modes": ["ReadWriteOnce"], "age_seconds": 5.0,
                   "severity": None, "problem": None, "message": None}
    assert pvc_row(claim(phase="Pending", capacity=None), 400, THRESHOLDS)["message"] == "not bound to a volume after 400s"
