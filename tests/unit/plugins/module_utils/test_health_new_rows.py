"""health_check's verdicts on nodes (H13), volumes (H14), Redis' hit rate (H15) and the model thresholds (H16)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.nodes import nodes_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.redis import cache_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.thresholds import thresholds_verdict, worst_known
from ansible_collections.sre.runbooks.plugins.module_utils._health.volumes import level, volumes_verdict

GIB = 2 ** 30


# ------------------------------------------------------------------ H13 nodes

def node(name, severity=None, problem=None, message=None, cpu=10.0, memory=20.0):
    return {"name": name, "severity": severity, "problem": problem, "message": message,
            "cpu_requested_percent": cpu, "memory_requested_percent": memory}


def k8s_nodes(*rows, available=True, summed=True, reason=None):
    ready = sum(1 for row in rows if row["problem"] != "NotReady")
    return {"summary": {}, "nodes": {
        "available": available, "reason": reason, "requests_summed": summed, "nodes": list(rows), "ready": ready,
        "not_ready": len(rows) - ready, "with_pressure": sum(1 for row in rows if "Pressure" in (row["problem"] or "")),
        "unschedulable": 0}}


@pytest.mark.parametrize(("rows", "status"), [
    ([node("a"), node("b")], "ok"),
    ([node("a"), node("b", "warning", "DiskPressure", "disk low")], "warning"),
    ([node("a", "warning", "MemoryPressure", "m"), node("b", "critical", "NotReady", "Kubelet stopped posting")], "critical"),
])
def test_nodes_status_is_the_worst_node(rows, status):
    assert nodes_verdict(k8s_nodes(*rows))["status"] == status


def test_nodes_summary_names_the_problems_critical_first():
    entry = nodes_verdict(k8s_nodes(node("a", "warning", "DiskPressure", "disk low", cpu=50.5),
                                    node("b", "critical", "NotReady", "Kubelet stopped posting node status")))
    assert entry["summary"] == ("2 nodes: 1 ready, 1 not ready, 1 under pressure, 0 cordoned; requests up to 50.5 % CPU "
                                "and 20.0 % memory of allocatable; b NotReady (Kubelet stopped posting node status), "
                                "a DiskPressure (disk low)")
    assert [row["name"] for row in entry["details"]["problems"]] == ["b", "a"]
    assert (entry["id"], entry["check"]) == ("H13", "nodes")


def test_nodes_unavailable():
    assert nodes_verdict({"failed": True, "msg": "timeout"})["summary"] == "cannot read the cluster: timeout"
    forbidden = nodes_verdict(k8s_nodes(available=False, reason="listing nodes is forbidden for this user: x"))
    assert (forbidden["status"], forbidden["summary"]) == (
        "unavailable", "nodes unavailable: listing nodes is forbidden for this user: x")
    assert nodes_verdict(k8s_nodes())["summary"] == "the cluster has no nodes"
    unsummed = nodes_verdict(k8s_nodes(node("a", cpu=None, memory=None), summed=False))
    assert unsummed["status"] == "ok" and unsummed["summary"].endswith(
        "requests not summed (the pods of every namespace could not be listed)")


# ------------------------------------------------------------------ H14 volumes

def volume_objective(*values, error=None):
    objective = {"name": "volume_usage", "series": [
        {"labels": {"namespace": "data", "persistentvolumeclaim": f"pvc-{i}"}, "value": value}
        for i, value in enumerate(values)]}
    if error:
        objective["error"] = error
    return objective


PVC = {"namespace": "data", "name": "pg-data"}


def cluster(capacity=20 * GIB, phase="Bound", namespace="data"):
    claim = {"name": "pg-data", "phase": phase, "capacity_bytes": capacity}
    return {"summary": {}, "namespaces": {namespace: {"volumes": [claim]}}}


def pg(databases=10 * GIB, database=8 * GIB):
    return {"query_result": [{"database_size": database, "databases_size": databases}]}


def judge_volumes(slo=None, k8s=None, result=None, pvc=None, url="http://prom:9090"):
    return volumes_verdict(slo if slo is not None else {"objectives": [volume_objective(40.0)]},
                           k8s if k8s is not None else cluster(), result if result is not None else pg(),
                           "volume_usage", url, "platform", PVC if pvc is None else pvc, 85, 95)


@pytest.mark.parametrize(("percent", "status"), [(85.0, "ok"), (85.1, "warning"), (95.0, "warning"), (95.1, "critical")])
def test_level(percent, status):
    assert level(percent, 85, 95) == status


def test_volume_rows_and_the_database_row():
    entry = judge_volumes(slo={"objectives": [volume_objective(91.24, 50)]}, result=pg(databases=18 * GIB))
    assert entry["status"] == "warning"
    assert entry["details"]["volumes"] == [
        {"namespace": "data", "name": "pvc-0", "used_percent": 91.2, "status": "warning"},
        {"namespace": "data", "name": "pvc-1", "used_percent": 50.0, "status": "ok"}]
    assert entry["details"]["database"] == {
        "database": "platform", "claim": "data/pg-data", "database_bytes": 8 * GIB, "databases_bytes": 18 * GIB,
        "capacity_bytes": 20 * GIB, "used_percent": 90.0, "status": "warning", "reason": None}
    assert entry["summary"] == ("2 volumes, 1 above 85 %: data/pvc-0 91.2 %; databases 18.0 GiB on data/pg-data of "
                                "20.0 GiB (90.0 %)")


def test_a_full_database_claim_is_critical_without_any_kubelet_statistics():
    entry = judge_volumes(slo={"objectives": [volume_objective()]}, result=pg(databases=19.5 * GIB))
    assert entry["status"] == "critical"
    assert entry["summary"] == ("no kubelet volume statistics in Prometheus; databases 19.5 GiB on data/pg-data of "
                                "20.0 GiB (97.5 %)")


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"k8s": cluster(namespace="other")}, "namespace data was not read (add it to health_check_namespaces)"),
    ({"k8s": {"failed": True, "msg": "timeout"}}, "cannot read the cluster: timeout"),
    ({"k8s": cluster(capacity=None, phase="Pending")}, "PersistentVolumeClaim data/pg-data has no capacity yet (Pending)"),
    ({"k8s": {"summary": {}, "namespaces": {"data": {"volumes": []}}}}, "PersistentVolumeClaim data/pg-data not found"),
    ({"result": {"failed": True, "msg": "connection refused\n"}}, "cannot read the database size: connection refused"),
])
def test_database_row_unavailable(kwargs, reason):
    entry = judge_volumes(**kwargs)
    assert entry["details"]["database"]["status"] == "unavailable"
    assert entry["details"]["database"]["reason"] == reason
    assert entry["status"] == "ok"  # the one kubelet volume at 40 % is still judged
    assert entry["summary"] == f"1 volumes, 0 above 85 % (fullest data/pvc-0 40.0 %); database size unavailable: {reason}"


def test_volumes_without_any_data_are_unavailable():
    entry = judge_volumes(slo={"objectives": []}, pvc={"namespace": "", "name": ""}, url="")
    assert (entry["status"], entry["summary"]) == (
        "unavailable", "no Prometheus configured for the volume statistics; no database volume configured "
                       "(health_check_postgres_pvc)")
    assert entry["details"] == {"volumes": [], "database": None, "claims": []}
    errored = judge_volumes(slo={"objectives": [volume_objective(error="Cannot reach Prometheus at x: refused.")]},
                            pvc={})
    assert errored["summary"].startswith("cannot read the volume statistics: Cannot reach Prometheus at x: refused.;")
    assert judge_volumes(slo={}, pvc={})["summary"].startswith("the volume statistics were not queried;")


# ------------------------------------------------------------------ H15 Redis hit rate and evictions

def redis(hits=900, misses=100, evicted=0, policy="allkeys-lru"):
    ratio = None if hits + misses == 0 else round(hits / (hits + misses), 4)
    return {"memory": {"keyspace_hits": hits, "keyspace_misses": misses, "keyspace_hit_ratio": ratio,
                       "evicted_keys": evicted, "expired_keys": 3, "maxmemory_policy": policy}}


@pytest.mark.parametrize(("result", "status", "summary"), [
    (redis(), "ok", "hit rate 90.0 % over 1000 lookups since the server started (warning below 80 %); 0 keys evicted "
                    "(policy allkeys-lru)"),
    (redis(hits=700, misses=300), "warning", "hit rate 70.0 % over 1000 lookups since the server started (below 80 %); "
                                             "0 keys evicted (policy allkeys-lru)"),
    (redis(hits=1, misses=9), "ok", "hit rate not judged: 10 lookups since the server started, fewer than 100; 0 keys "
                                    "evicted (policy allkeys-lru)"),
    (redis(hits=0, misses=0), "ok", "hit rate not judged: 0 lookups since the server started, fewer than 100; 0 keys "
                                    "evicted (policy allkeys-lru)"),
    (redis(evicted=12), "warning", "hit rate 90.0 % over 1000 lookups since the server started (warning below 80 %); 12 "
                                   "keys evicted (policy allkeys-lru), more than 0"),
])
def test_redis_cache(result, status, summary):
    entry = cache_verdict(result, 80, 100, 0)
    assert (entry["id"], entry["check"], entry["status"], entry["summary"]) == ("H15", "redis_cache", status, summary)


def test_redis_cache_details_and_unreachable():
    assert cache_verdict(redis(), 80, 100, 0)["details"] == {
        "keyspace_hits": 900, "keyspace_misses": 100, "hit_rate_percent": 90.0, "lookups": 1000, "evicted_keys": 0,
        "maxmemory_policy": "allkeys-lru", "expired_keys": 3}
    down = cache_verdict({"failed": True, "msg": "Connection refused"}, 80, 100, 0)
    assert (down["status"], down["summary"]) == ("unavailable", "cannot read Redis: Connection refused")


# ------------------------------------------------------------------ H16 model and data thresholds

NAMES = ["model_accuracy", "processing_lag"]


def threshold(name, status, actual=1.0, error=None):
    objective = {"name": name, "status": status, "actual": actual, "target": 0.85, "bound": "lower", "unit": None,
                 "message": f"{name}: {actual} ({status})."}
    if error:
        objective["error"] = error
    return objective


@pytest.mark.parametrize(("statuses", "breach", "status"), [
    (("ok", "ok"), "warning", "ok"),
    (("breached", "ok"), "warning", "warning"),
    (("breached", "ok"), "critical", "critical"),
    (("inconclusive", "ok"), "warning", "ok"),
    (("inconclusive", "inconclusive"), "warning", "unavailable"),
])
def test_model_thresholds(statuses, breach, status):
    slo = {"objectives": [threshold(n, s) for n, s in zip(NAMES, statuses)] + [threshold("availability", "breached")]}
    entry = thresholds_verdict(slo, NAMES, breach, "http://prom:9090")
    assert (entry["id"], entry["check"], entry["status"]) == ("H16", "model", status)
    assert [row["name"] for row in entry["details"]["thresholds"]] == NAMES


def test_model_summaries():
    slo = {"objectives": [threshold("model_accuracy", "breached", 0.8), threshold("processing_lag", "inconclusive")]}
    assert thresholds_verdict(slo, NAMES, "warning", "http://p")["summary"] == (
        "0 of 2 thresholds within their limits, 1 without data (processing_lag); model_accuracy: 0.8 (breached).")
    assert thresholds_verdict({}, NAMES, "warning", "")["summary"] == "no Prometheus configured (health_check_prometheus_url)"
    assert thresholds_verdict({}, [], "warning", "http://p")["summary"] == (
        "no model or data thresholds configured (health_check_model_thresholds)")
    down = {"objectives": [threshold(n, "inconclusive", None, error="Cannot reach Prometheus at p: refused.")
                           for n in NAMES]}
    entry = thresholds_verdict(down, NAMES, "warning", "http://p")
    assert (entry["status"], entry["summary"]) == (
        "unavailable", "cannot evaluate the thresholds: Cannot reach Prometheus at p: refused.")
    assert thresholds_verdict({"msg": "bad objective"}, NAMES, "warning", "http://p")["summary"] == (
        "cannot evaluate the thresholds: bad objective")


def test_worst_known():
    assert worst_known(["unavailable", "ok"]) == "ok"
    assert worst_known(["warning", "critical"]) == "critical"
    assert worst_known([]) == "unavailable"


def test_lost_and_pending_claims_count_in_h14():
    k8s = cluster()
    k8s["namespaces"]["data"]["volumes"] += [
        {"name": "old", "severity": "critical", "problem": "Lost", "message": "its volume pv-1 no longer exists"},
        {"name": "new", "severity": "warning", "problem": "Pending", "message": "not bound to a volume after 400s"}]
    entry = judge_volumes(k8s=k8s)
    assert entry["status"] == "critical"
    assert entry["summary"].endswith("; claims data/old Lost, data/new Pending")
    assert [c["status"] for c in entry["details"]["claims"]] == ["critical", "warning"]
