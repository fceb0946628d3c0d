"""capacity_plan_info's main(): the queries it sends, the result it builds, prices, and one-sentence failures.

Kubernetes is the in-memory fake and Prometheus a stub of PrometheusClient.query_range; the real
services are tests/integration/capacity/test_capacity.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._capacity import plan_runner
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PrometheusClient, PrometheusError
from ansible_collections.sre.runbooks.plugins.modules import capacity_plan_info

from ..fake_kube import FakeKube
from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module

MIB = 2 ** 20
END = 1_700_000_000
ARGS = {"namespaces": ["shop"], "window": "2h", "step": "1m", "evaluation_time": str(END),
        "prometheus_url": "http://prom:9090"}


def workload(kind, name, uid, replicas=2):
    container = {"name": "app", "image": "x:1", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
    return {"kind": kind, "metadata": {"name": name, "namespace": "shop", "uid": uid, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


def pod(name, owner, phase="Running"):
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "shop", "ownerReferences": [
        {"uid": owner, "controller": True}]}, "status": {"phase": phase},
        "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}}


def series(pod_name, values):
    return {"metric": {"pod": pod_name, "container": "app"}, "values": [(END - 60 * i, v) for i, v in enumerate(values)]}


@pytest.fixture
def kube(monkeypatch, module_exits):
    fake = FakeKube([
        {"kind": "Namespace", "metadata": {"name": "shop", "namespace": None}},
        workload("Deployment", "web", "web-uid"),
        {"kind": "ReplicaSet", "metadata": {"name": "web-6d4cf56db6", "namespace": "shop", "uid": "rs-uid",
                                            "ownerReferences": [{"uid": "web-uid", "controller": True}]}},
        pod("web-6d4cf56db6-aaaaa", "rs-uid"), pod("web-6d4cf56db6-bbbbb", "rs-uid"),
        workload("StatefulSet", "db", "db-uid", replicas=1),
        {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 3,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}]}},
    ])
    monkeypatch.setattr(plan_runner, "connect", lambda module: fake)
    return fake


@pytest.fixture
def prometheus(monkeypatch):
    """Answers the CPU query with 0.2-0.3 cores per web pod and the memory one with 100 MiB (peak 200 MiB)."""
    queries = []

    def query_range(self, expr, start, end, step):
        self.queries += 1
        queries.append((expr, start, end, step))
        if "container_cpu_usage_seconds_total" in expr:
            return [series("web-6d4cf56db6-aaaaa", [0.2] * 100 + [0.3] * 21),
                    series("web-6d4cf56db6-bbbbb", [0.1] * 121), series("web-api-5c7d8f9b6c-ddddd", [9.0] * 121)]
        return [series("web-6d4cf56db6-aaaaa", [100 * MIB] * 120 + [200 * MIB]),
                series("web-6d4cf56db6-bbbbb", [100 * MIB] * 121)]

    monkeypatch.setattr(PrometheusClient, "query_range", query_range)
    return queries


def test_plans_from_two_range_queries_per_namespace(kube, prometheus):
    result = run_module(capacity_plan_info, dict(ARGS, no_data="report"), check=True, expect=ExitJson)
    assert result["changed"] is False and result["queries"] == 2 and len(prometheus) == 2
    cpu, _start, end, step = prometheus[0]
    assert cpu == ('max by (pod, container) (rate(container_cpu_usage_seconds_total{namespace="shop",'
                   'pod=~"db-[0-9]+|web-[a-z0-9]{1,10}-[a-z0-9]{5}",container!="",container!="POD"}[60s]))')
    assert (end, step) == (END, 60) and "max_over_time(container_memory_working_set_bytes" in prometheus[1][0]
    web, db = result["workloads"]
    assert (web["name"], db["name"], db["status"]) == ("web", "db", "no_data")
    app = web["containers"][0]
    # 121 samples of 0.2/0.3 cores: the p95 sits between them (rank 114 of 120); the other pod is lower.
    assert app["usage"]["cpu_cores"]["percentile"] == pytest.approx(0.3)
    assert app["recommended"] == {"requests": {"cpu": "300m", "memory": "230Mi"},
                                  "limits": {"cpu": None, "memory": "230Mi"}}
    assert web["hpa"]["max_replicas"] == 3 and "scales on cpu utilisation" in web["message"]
    assert [e["replicas"] for e in web["replica_plan"]["plan"]] == [2, 2, 2, 3]
    assert web["replica_plan"]["plan"][-1]["exceeds_hpa_max"] is False
    assert web["requested"] == {"cpu_cores": 1.0, "memory_bytes": 2 * 1024 * MIB, "pods": 2}
    assert result["summary"] == {"workloads": 2, "ok": 1, "insufficient_data": 0, "no_data": 1}
    assert "namespaces" not in result and "totals" not in result


def test_prices_add_costs(kube, prometheus):
    result = run_module(capacity_plan_info, dict(ARGS, no_data="report", names=["web"], prices={
        "cpu_core_hour": 0.04, "memory_gb_hour": 0.005}), expect=ExitJson)
    cost = result["workloads"][0]["cost"]
    assert cost["requested"]["hourly"] == pytest.approx(1.0 * 0.04 + 2 * 0.005)
    assert cost["savings"]["cpu_cores"] == pytest.approx(1.0 - 2 * 0.3)
    assert result["totals"]["requested"]["monthly"] == pytest.approx(730 * cost["requested"]["hourly"])
    assert result["prices"]["currency"] == "USD"


def test_a_workload_without_history_fails_by_default_with_the_results(kube, prometheus):
    result = run_module(capacity_plan_info, ARGS, expect=FailJson)
    assert result["msg"] == ("Prometheus at http://prom:9090 has no container_cpu_usage_seconds_total or "
                             "container_memory_working_set_bytes samples for StatefulSet shop/db in the 2h before "
                             "2023-11-14T22:13:20Z; check that cAdvisor metrics of its containers are scraped, or set "
                             "no_data=report.")
    assert [w["name"] for w in result["workloads"]] == ["web", "db"]


@pytest.mark.parametrize("args, message", [
    ({"namespaces": ["gone"]}, "Namespace gone does not exist."),
    ({"names": ["nope"]}, "No Deployment, StatefulSet or DaemonSet named nope in namespace shop."),
    ({"kinds": ["DaemonSet"], "label_selectors": ["app=x"]}, "No DaemonSet in namespace shop matches app=x."),
    ({"step": "5m", "window": "1m"}, "step (5m) must not be longer than window (1m)."),
    ({"prices": {"cpu_core_hour": 0.1}}, "prices is missing memory_gb_hour (the price of one CPU core-hour and of one "
                                         "GiB-hour of memory)."),
    ({"evaluation_time": "yesterday"}, "Invalid evaluation time 'yesterday': use unix seconds or RFC 3339 such as "
                                       "2025-01-31T00:00:00Z."),
])
def test_bad_input_fails_in_one_sentence(kube, prometheus, args, message):
    result = run_module(capacity_plan_info, dict(ARGS, **args), expect=FailJson)
    assert result["msg"] == message
    assert prometheus == []


def test_prometheus_failure_is_one_sentence(kube, monkeypatch):
    def down(self, expr, start, end, step):
        raise PrometheusError("Cannot reach Prometheus at http://prom:9090: connection refused.")

    monkeypatch.setattr(PrometheusClient, "query_range", down)
    result = run_module(capacity_plan_info, ARGS, expect=FailJson)
    assert result["msg"] == "Cannot reach Prometheus at http://prom:9090: connection refused."
