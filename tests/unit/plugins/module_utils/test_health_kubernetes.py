"""health_check's Kubernetes verdicts (H1 pods, H6 HPAs, H8 usage) on k8s_health_info results."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import (
    hpa_verdict, pods_verdict, resources_verdict)

SUMMARY = {"pods": 7, "namespaces": 2, "running": 6, "not_running": 1, "not_ready": 1, "restarts": 12,
           "restarts_over_threshold": 1, "workloads": 3, "workloads_unhealthy": 1}
FAILED = {"failed": True, "msg": "Connection refused"}


def problem(name, severity="warning", category="pod", kind="Pod", reason="CrashLoopBackOff"):
    return {"severity": severity, "category": category, "namespace": "ai", "kind": kind, "name": name, "reason": reason}


def k8s(problems=(), namespaces=None, metrics=None):
    result = {"summary": SUMMARY, "problems": list(problems), "namespaces": namespaces or {}}
    if metrics is not None:
        result["metrics"] = metrics
    return result


@pytest.mark.parametrize(("problems", "status"), [
    ([], "ok"),
    ([problem("a")], "warning"),
    ([problem("a"), problem("w", "critical", "workload", "Deployment", "Unavailable")], "critical"),
    ([problem("h", "critical", "hpa", "HorizontalPodAutoscaler", "AtMax")], "ok"),  # H6's business, not H1's
])
def test_pods_status(problems, status):
    assert pods_verdict(k8s(problems), 5)["status"] == status


def test_pods_summary_names_five_problems_and_counts_the_rest():
    found = [problem(f"p{i}") for i in range(7)]
    entry = pods_verdict(k8s(found), 5)
    assert entry["summary"] == (
        "7 pods in 2 namespaces: 6 running, 1 not running, 1 not ready, 12 restarts (1 pods over 5); "
        "1 of 3 workloads unhealthy; Pod ai/p0 CrashLoopBackOff, Pod ai/p1 CrashLoopBackOff, "
        "Pod ai/p2 CrashLoopBackOff, Pod ai/p3 CrashLoopBackOff, Pod ai/p4 CrashLoopBackOff and 2 more")
    assert (entry["id"], entry["check"], entry["title"]) == ("H1", "pods", "Pods and workloads")


def test_pods_details_per_namespace():
    namespaces = {"ai": {"pod_counts": {"total": 3}, "workloads": [{"name": "w", "severity": "critical"},
                                                                   {"name": "ok", "severity": None}],
                         "events": [{"reason": "BackOff"}]},
                  "web": {"workloads": []}}
    details = pods_verdict(k8s(namespaces=namespaces), 5)["details"]
    assert details == {"problems": [], "pod_counts": {"ai": {"total": 3}, "web": {}},
                       "unhealthy_workloads": [{"name": "w", "severity": "critical"}],
                       "events": [{"reason": "BackOff"}]}


def test_unreadable_cluster():
    assert pods_verdict(FAILED, 5)["status"] == "critical"
    assert pods_verdict(FAILED, 5)["summary"] == "cannot read the cluster: Connection refused"
    assert hpa_verdict({"failed": True})["summary"] == "cannot read the cluster: no answer"
    assert hpa_verdict(FAILED)["status"] == "unavailable"
    assert resources_verdict(FAILED, 80, 85)["status"] == "unavailable"
    assert resources_verdict(FAILED, 80, 85)["summary"] == "cannot read the cluster: Connection refused"


def test_hpas():
    hpas = [{"name": "a", "at_max": True, "scaling_active": True, "severity": "warning"},
            {"name": "b", "at_max": False, "scaling_active": False, "severity": None},
            {"name": "c", "at_max": False, "scaling_active": None, "severity": None}]
    entry = hpa_verdict(k8s(namespaces={"ai": {"hpas": hpas}}))
    assert entry["status"] == "warning"
    assert entry["summary"] == "3 HPAs, 1 at their maximum, 1 not scaling (no metrics)"
    assert entry["details"] == {"hpas": hpas}
    assert hpa_verdict(k8s())["status"] == "ok"


ROWS = [{"name": "a", "cpu_usage_millicores": 950, "cpu_limit_millicores": 1000, "severity": "critical"},
        {"name": "b", "cpu_usage_millicores": 10, "cpu_limit_millicores": None, "severity": None},
        {"name": "c", "cpu_usage_millicores": None, "cpu_limit_millicores": 500, "severity": "warning"}]


@pytest.mark.parametrize(("rows", "status"), [(ROWS, "critical"), (ROWS[1:], "warning"), (ROWS[1:2], "ok")])
def test_resources_with_metrics(rows, status):
    entry = resources_verdict(k8s(namespaces={"ai": {"resources": {"pods": rows}}},
                                  metrics={"available": True, "reason": None}), 80, 85.0)
    assert entry["status"] == status
    assert entry["details"]["over_threshold"] == [row for row in rows if row["severity"]]


def test_resources_summary():
    entry = resources_verdict(k8s(namespaces={"ai": {"resources": {"pods": ROWS}}, "web": {}},
                                  metrics={"available": True, "reason": None}), 80, 85.0)
    assert entry["summary"] == ("2 pods measured, 2 above CPU 80 % / memory 85.0 % of their limits; "
                                "1 of 3 running pods without a CPU limit")


def test_resources_without_metrics_server():
    metrics = {"available": False, "reason": "no metrics-server"}
    entry = resources_verdict(k8s(namespaces={"ai": {"resources": {"pods": ROWS[1:2]}}}, metrics=metrics), 80, 85)
    assert entry["status"] == "unavailable"
    assert entry["summary"] == "usage unavailable: no metrics-server; 1 of 1 running pods without a CPU limit"
    assert entry["details"] == {"metrics": metrics, "over_threshold": []}
