"""The daily health check's judgement (health_check_report's core): which parts count, which checks follow,
each verdict with its settings, and the run's result. Pure; the verdicts themselves have their own tests."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health import judge as judge_module
from ansible_collections.sre.runbooks.plugins.module_utils._health.judge import (
    PARTS, ROW_ORDER, SETTINGS, JudgeError, check_settings, gathered, health_result, judge, left_out)
from ansible_collections.sre.runbooks.plugins.module_utils._health.kafka import kafka_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import hpa_verdict, pods_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.postgres import postgres_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.volumes import volumes_verdict

K8S = {"summary": {"pods": 2, "namespaces": 1, "running": 2, "not_running": 0, "not_ready": 0, "restarts": 0,
                   "restarts_over_threshold": 0, "workloads": 1, "workloads_unhealthy": 0},
       "problems": [], "namespaces": {"ai": {"pod_counts": {"total": 2}, "workloads": [], "hpas": []}}}
PG = {"query_result": [{"total": 5, "active": 1, "idle_in_transaction": 0, "max_connections": 100, "reserved": 3,
                        "in_recovery": False, "version": "15.8", "database_size": 1024, "databases_size": 4096}]}
# Every check's settings as the role passes them (its defaults).
SETTINGS_GIVEN = {
    "pods": {"restart_threshold": 5},
    "endpoints": {"endpoints": [], "latency_warning": 1.0},
    "slo": {"source": "prometheus", "names": ["availability"]},
    "postgres": {"host": "db", "port": 5432, "database": "platform", "warning_percent": 80, "critical_percent": 95},
    "redis": {"host": "cache", "port": 6379, "expected_role": "", "warning_percent": 80, "critical_percent": 95},
    "hpa": {},
    "logs": {"error_threshold": 10, "since_hours": 24},
    "resources": {"cpu_percent": 80, "memory_percent": 85},
    "backups": {"dest": "/srv/backups", "s3": {}, "s3_prefix": "", "database": "platform", "max_age_hours": 26},
    "kafka": {"bootstrap_servers": "k0:9092", "lag_warning": 1000, "lag_critical": 10000},
    "nodes": {},
    "volumes": {"objective": "volume_usage", "prometheus_url": "http://127.0.0.1:9090", "database": "platform",
                "pvc": {}, "warning_percent": 85, "critical_percent": 95},
    "redis_cache": {"hit_rate_percent": 80, "min_lookups": 1000, "max_evictions": 0},
    "model": {"names": ["model_accuracy"], "breach_status": "warning", "prometheus_url": "http://127.0.0.1:9090"},
}


def test_every_check_has_a_verdict_a_part_and_a_row():
    assert sorted(judge_module.VERDICTS) == sorted(ROW_ORDER) == sorted(SETTINGS)
    assert {part for _function, part in judge_module.VERDICTS.values()} == set(PARTS)
    served = [check for checks in judge_module.PART_CHECKS.values() for check in checks]
    # Each check but H14 (three parts) is served by exactly one part.
    assert sorted(served + ["volumes"]) == sorted(ROW_ORDER)


def test_settings_are_the_verdicts_keyword_arguments_without_the_reads():
    # The module's documentation lists these; a new verdict argument shows up here first.
    assert SETTINGS == {name: tuple(values) for name, values in SETTINGS_GIVEN.items()}


@pytest.mark.parametrize(("reads", "tagged", "expected"), [
    ({"kubernetes": K8S}, PARTS, {"kubernetes": K8S, "slo": {"skipped": True}, "postgres": {"skipped": True},
                                  "redis": {"skipped": True}, "backups": {"skipped": True},
                                  "kafka": {"cluster": {"skipped": True}, "lag": {"skipped": True}}}),
    ({"kubernetes": K8S}, ["kubernetes"], {"kubernetes": K8S, "slo": None, "postgres": None, "redis": None,
                                           "backups": None, "kafka": None}),
    # A part given as null (collected from no host, tags left it out) stays left out even if tagged.
    ({"postgres": None, "changed": False, "invocation": {}}, PARTS,
     {"kubernetes": {"skipped": True}, "slo": {"skipped": True}, "postgres": None, "redis": {"skipped": True},
      "backups": {"skipped": True}, "kafka": {"cluster": {"skipped": True}, "lag": {"skipped": True}}}),
])
def test_gathered_parts(reads, tagged, expected):
    assert gathered(reads, tagged) == expected


def test_left_out_checks_follow_their_parts_and_h14_needs_all_three_missing():
    parts = dict.fromkeys(PARTS, {"skipped": True})
    assert left_out(parts) == set()
    assert left_out(dict(parts, kubernetes=None)) == {"pods", "hpa", "logs", "resources", "nodes"}
    assert left_out(dict(parts, kubernetes=None, slo=None)) == {"pods", "hpa", "logs", "resources", "nodes",
                                                                "endpoints", "slo", "model"}
    assert "volumes" in left_out(dict(parts, kubernetes=None, slo=None, postgres=None))


def test_judge_lists_the_selected_checks_in_row_order_with_the_filters_verdicts():
    entries = judge({"kubernetes": K8S, "postgres": PG}, PARTS, ["postgres", "hpa", "pods"], SETTINGS_GIVEN)
    assert [entry["id"] for entry in entries] == ["H1", "H4", "H6"]
    # The same verdicts the role's health_*_verdict filters give.
    assert entries == [pods_verdict(K8S, restart_threshold=5), postgres_verdict(PG, **SETTINGS_GIVEN["postgres"]),
                       hpa_verdict(K8S)]


def test_judge_leaves_out_the_checks_of_parts_left_out_by_tags():
    entries = judge({"postgres": PG}, ["postgres"], list(ROW_ORDER), SETTINGS_GIVEN)
    # kubernetes and slo left out by tags: their checks go; H14 stays (postgres was read).
    assert [entry["check"] for entry in entries] == ["postgres", "volumes"]
    assert entries[1] == volumes_verdict({"skipped": True}, k8s={"skipped": True}, pg=PG,
                                         **SETTINGS_GIVEN["volumes"])


def test_judge_passes_a_whole_failed_kafka_part_as_the_cluster_read():
    failed = {"failed": True, "msg": "The kafka read gave no answer within 300s."}
    entry = judge({"kafka": failed}, PARTS, ["kafka"], SETTINGS_GIVEN)[0]
    assert (entry["id"], entry["status"]) == ("H12", "critical")
    assert entry["summary"] == "cannot read Kafka at k0:9092: The kafka read gave no answer within 300s."
    read = {"cluster": {"failed": True, "msg": "NoBrokersAvailable"}, "lag": {"skipped": True}}
    assert judge({"kafka": read}, PARTS, ["kafka"], SETTINGS_GIVEN)[0] == kafka_verdict(
        read["cluster"], lag=read["lag"], **SETTINGS_GIVEN["kafka"])


@pytest.mark.parametrize(("settings", "message"), [
    ({"podz": {}}, "settings: 'podz' is not a check (one of pods, endpoints, slo, postgres, redis, hpa, logs, "
                   "resources, backups, kafka, nodes, volumes, redis_cache, model)."),
    ({"pods": 5}, "settings.pods must be a mapping of restart_threshold."),
    ({"hpa": []}, "settings.hpa must be a mapping of nothing."),
    ({"pods": {"restart_threshold": 5, "threshold": 1}},
     "settings.pods: threshold is not a setting of this check (it takes restart_threshold)."),
    ({"nodes": {"k8s": {}}}, "settings.nodes: k8s is not a setting of this check (it takes none)."),
    ({"pods": {"restart_threshold": float("nan")}}, "settings.pods.restart_threshold must be a finite number, not nan."),
    ({"redis_cache": {"hit_rate_percent": "-inf"}},
     "settings.redis_cache.hit_rate_percent must be a finite number, not -inf."),
])
def test_bad_settings_are_one_sentence(settings, message):
    with pytest.raises(JudgeError) as caught:
        check_settings(settings)
    assert str(caught.value) == message


def test_a_judged_check_without_its_settings_is_one_sentence():
    with pytest.raises(JudgeError, match=r"^settings\.postgres lacks warning_percent, critical_percent\.$"):
        judge({"postgres": PG}, PARTS, ["postgres"], {"postgres": {"host": "db", "port": 5432, "database": "x"}})
    # Settings of checks that are not judged are not needed.
    assert judge({}, PARTS, ["hpa"], {"hpa": {}})[0]["id"] == "H6"


def test_health_result_carries_the_verdict_the_run_and_the_reports():
    entries = judge({"kubernetes": dict(K8S, problems=[{"severity": "critical", "category": "pod",
                                                        "namespace": "ai", "kind": "Pod", "name": "p",
                                                        "reason": "CrashLoopBackOff"}])},
                    PARTS, ["pods", "hpa"], SETTINGS_GIVEN)
    run = {"environment": "production", "host": "platform-cluster", "started_at": "2026-12-05T06:00:00Z",
           "finished_at": "2026-12-05T06:00:03Z", "check_mode": True}
    reports = {"json": "/r/h.json", "markdown": "/r/h.md", "html": "/r/h.html"}
    result = health_result(entries, "critical", run, reports)
    assert list(result) == ["status", "failed", "failing_checks", "counts", "environment", "host", "started_at",
                            "finished_at", "check_mode", "fail_on", "checks", "reports"]
    assert (result["status"], result["failed"], result["failing_checks"]) == ("critical", True, ["H1"])
    assert result["counts"] == {"ok": 1, "warning": 0, "critical": 1, "unavailable": 0}
    assert (result["check_mode"], result["reports"], result["checks"]) == (True, reports, entries)
    assert health_result(entries, "never", run, reports)["failed"] is False


@pytest.mark.parametrize(("reads", "checks", "settings", "message"), [
    ({"kubernetes": "pods"}, ["pods"], SETTINGS_GIVEN,
     "reads.kubernetes must be what health_check_info returned for that part (a mapping) or null, not str."),
    ({"kafka": ["k0"]}, ["kafka"], SETTINGS_GIVEN,
     "reads.kafka must be what health_check_info returned for that part (a mapping) or null, not list."),
    ({"postgres": PG}, ["postgres"], dict(SETTINGS_GIVEN, postgres=dict(SETTINGS_GIVEN["postgres"], warning_percent="most")),
     "The postgres check cannot be judged from reads.postgres with settings.postgres: "
     "ValueError: could not convert string to float: 'most'."),
    ({"kubernetes": dict(K8S, problems="none")}, ["pods"], SETTINGS_GIVEN,
     "The pods check cannot be judged from reads.kubernetes with settings.pods: "
     "AttributeError: 'str' object has no attribute 'get'."),
])
def test_reads_and_settings_that_cannot_be_judged_are_one_sentence(reads, checks, settings, message):
    with pytest.raises(JudgeError) as caught:
        judge(reads, PARTS, checks, settings)
    assert str(caught.value) == message
