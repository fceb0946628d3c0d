"""health_check's verdicts on the SLOs (H3), PostgreSQL (H4) and Redis (H5)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.postgres import postgres_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.redis import redis_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.slo import slo_verdict

NAMES = ["availability", "latency"]


def objectives(status="ok", other="breached"):
    return [{"name": "availability", "status": "ok", "message": "availability 99.95 % (target 99.9 %)."},
            {"name": "model_accuracy", "status": other, "message": "model_accuracy: 0.8 < 0.85."},
            {"name": "latency", "status": status, "message": "p95 1.2 s (target 2 s)."}]


@pytest.mark.parametrize(("status", "expected"), [
    ("ok", "ok"), ("warning", "warning"), ("breached", "critical"), ("inconclusive", "unavailable")])
def test_slo_status_in_the_reports_words_over_its_own_objectives(status, expected):
    entry = slo_verdict({"status": "breached", "objectives": objectives(status)}, "endpoint", NAMES)
    assert entry["status"] == expected
    assert entry["summary"] == "availability 99.95 % (target 99.9 %). p95 1.2 s (target 2 s)."
    assert [o["name"] for o in entry["details"]["objectives"]] == NAMES and entry["details"]["source"] == "endpoint"


def test_slo_inconclusive_only_is_unavailable():
    only = [dict(o, status="inconclusive") for o in objectives()]
    assert slo_verdict({"objectives": only}, "endpoint", NAMES)["status"] == "unavailable"


def test_slo_without_source_or_answer():
    skipped = slo_verdict({"skipped": True}, "none", NAMES)
    assert (skipped["status"], skipped["summary"]) == ("unavailable", "no SLO source configured (health_check_slo_source)")
    failed = slo_verdict({"failed": True, "msg": "HTTP 500"}, "prometheus", NAMES)
    assert (failed["status"], failed["summary"]) == ("unavailable", "cannot evaluate the SLOs: HTTP 500")
    assert failed["details"] == {"source": "prometheus", "objectives": []}


def test_slo_source_that_failed_while_others_answered():
    errored = [dict(o, status="inconclusive", error="Cannot reach the platform SLO endpoint at http://v2: refused.")
               if o["name"] in NAMES else o for o in objectives()]
    entry = slo_verdict({"failed": True, "msg": "x", "objectives": errored}, "endpoint", NAMES)
    assert (entry["status"], entry["summary"]) == (
        "unavailable", "cannot evaluate the SLOs: Cannot reach the platform SLO endpoint at http://v2: refused.")


def pg(total, max_connections=100, reserved=3, **row):
    return {"query_result": [dict({"total": total, "active": 1, "idle_in_transaction": 0, "max_connections": max_connections,
                                   "reserved": reserved, "in_recovery": False, "version": "16.4"}, **row)]}


def judge_pg(result, warning=80, critical=95):
    return postgres_verdict(result, "db", "5432", "app", warning, critical)


@pytest.mark.parametrize(("total", "status"), [(10, "ok"), (77, "ok"), (78, "warning"), (92, "warning"), (93, "critical")])
def test_postgres_connection_thresholds(total, status):
    assert judge_pg(pg(total))["status"] == status


def test_postgres_summary_and_details():
    entry = judge_pg(pg(10, in_recovery=True, idle_in_transaction=2))
    assert entry["summary"] == ("PostgreSQL 16.4 (replica) answers; 10 of 97 usable connections (10.3 %, warning above 80 %), "
                                "2 idle in transaction")
    assert entry["details"] == {"host": "db", "port": 5432, "database": "app", "connections": pg(10, in_recovery=True,
                                idle_in_transaction=2)["query_result"][0], "usage_percent": 10.3}


def test_postgres_unreachable():
    entry = judge_pg({"failed": True, "msg": "connection refused\n"})
    assert entry["status"] == "critical"
    assert entry["summary"] == "cannot query app at db:5432: connection refused"
    assert entry["details"]["connections"] == {} and entry["details"]["usage_percent"] is None


def redis(ratio=0.5, role="master", **memory):
    return {"server": {"role": role, "redis_version": "7.4.1", "address": "cache:6379"},
            "memory": dict({"used_memory_ratio": ratio, "used_memory": 50, "used_memory_human": "50B", "maxmemory": 100,
                            "maxmemory_human": "100B", "total_keys": 4, "evicted_keys": 0,
                            "maxmemory_policy": "allkeys-lru", "mem_fragmentation_ratio": 1.2}, **memory)}


def judge_redis(result, expected_role=""):
    return redis_verdict(result, "cache", 6379, expected_role, 80, 95)


@pytest.mark.parametrize(("result", "expected_role", "status"), [
    (redis(0.5), "", "ok"), (redis(0.805), "", "warning"), (redis(0.96), "", "critical"),
    (redis(None), "", "ok"), (redis(0.1, role="slave"), "master", "critical"), (redis(0.1), "master", "ok"),
])
def test_redis_status(result, expected_role, status):
    assert judge_redis(result, expected_role)["status"] == status


def test_redis_summaries():
    assert judge_redis(redis(0.5))["summary"] == (
        "Redis 7.4.1 answers as master; 50B used (50.0 % of maxmemory 100B), 4 keys, 0 evicted")
    assert judge_redis(redis(None, role="slave"), "master")["summary"] == (
        "Redis 7.4.1 answers as slave (expected master); 50B used, no maxmemory limit, 4 keys, 0 evicted")
    down = judge_redis({"failed": True, "msg": "Connection refused"})
    assert (down["status"], down["summary"]) == ("critical", "cannot reach Redis at cache:6379: Connection refused")
    assert down["details"] == {"address": "cache:6379", "role": "", "version": None, "used_memory": None,
                               "maxmemory": None, "used_memory_percent": None, "maxmemory_policy": None,
                               "fragmentation_ratio": None, "evicted_keys": None, "total_keys": None}


def test_redis_details():
    assert judge_redis(redis(0.5))["details"] == {
        "address": "cache:6379", "role": "master", "version": "7.4.1", "used_memory": 50, "maxmemory": 100,
        "used_memory_percent": 50.0, "maxmemory_policy": "allkeys-lru", "fragmentation_ratio": 1.2,
        "evicted_keys": 0, "total_keys": 4}
