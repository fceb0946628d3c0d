"""alerts (I3): alert names and webhook payloads planned into responses, and the bundle's findings judged."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._incident import alerts


def finding(obj, reason, severity="critical"):
    return {"severity": severity, "object": obj, "reason": reason, "message": "", "evidence": []}


def test_names_are_matched_loosely_and_unknown_ones_list_the_known():
    assert alerts.canonical("Service Unavailable 503") == "ServiceUnavailable"
    assert alerts.canonical("crashloopbackoff") == "CrashLoopBackOff"
    with pytest.raises(alerts.AlertError, match="no response for alert 'DiskOnFire'; the known alerts are CrashLoopBackOff"):
        alerts.canonical("DiskOnFire")


def test_a_webhook_payload_gives_one_response_per_firing_alert_with_its_labels():
    payload = {"commonLabels": {"namespace": "ai-pipeline"}, "alerts": [
        {"status": "firing", "labels": {"alertname": "ServiceDown", "deployment": "api"}},
        {"status": "resolved", "labels": {"alertname": "HighErrorRate", "deployment": "api"}},
        {"status": "firing", "labels": {"alertname": "HighResponseTime", "namespace": "web", "app": "front"}}]}
    planned = alerts.plan(payload=payload)
    assert [(r["alert"], r["namespace"], r["workload"], r["mitigation"]) for r in planned] == [
        ("ServiceDown", "ai-pipeline", "api", "restart"), ("HighResponseTime", "web", "front", "scale_up")]


@pytest.mark.parametrize("kwargs, sentence", [
    ({"payload": {"alerts": []}}, "holds no firing alert"),
    ({"payload": {"nope": 1}}, "must be the webhook's JSON object"),
    ({"alert": "ServiceDown"}, "names no namespace"),
    ({"alert": "KafkaConsumerLag", "namespace": "p"}, "names no consumer group"),
])
def test_unanswerable_alerts_are_one_sentence(kwargs, sentence):
    with pytest.raises(alerts.AlertError, match=sentence):
        alerts.plan(**kwargs)


def test_a_crashing_new_revision_is_rolled_back_even_for_service_down():
    [response] = alerts.plan(alert="ServiceDown", namespace="p", workload="api")
    verdict = alerts.judge(response, [finding("Deployment/api", "Unavailable"), finding("Pod/api-1", "CrashLoopBackOff"),
                                      finding("Pod/other-1", "CrashLoopBackOff")], revision=3)
    assert verdict["confirmed"] and verdict["mitigation"] == "rollback"
    assert [f["object"] for f in verdict["findings"]] == ["Deployment/api", "Pod/api-1"]


def test_a_down_service_that_does_not_crash_is_restarted_and_a_first_revision_is_never_rolled_back():
    [down] = alerts.plan(alert="ServiceDown", namespace="p", workload="api")
    assert alerts.judge(down, [finding("Deployment/api", "Unavailable")], revision=2)["mitigation"] == "restart"
    [crash] = alerts.plan(alert="CrashLoopBackOff", namespace="p", workload="api")
    assert alerts.judge(crash, [finding("Pod/api-1", "CrashLoopBackOff")], revision=1)["mitigation"] == "restart"


def test_no_cause_seen_or_no_safe_mitigation_means_none():
    [crash] = alerts.plan(alert="CrashLoopBackOff", namespace="p", workload="api")
    verdict = alerts.judge(crash, [finding("Service/orphan", "SelectorMatchesNoPod")], revision=2)
    assert (verdict["confirmed"], verdict["mitigation"]) == (False, "none")
    [disk] = alerts.plan(alert="DiskSpaceLow", namespace="p")
    verdict = alerts.judge(disk, [], volumes=[{"name": "data", "severity": "critical", "problem": "Lost", "message": "gone"},
                                              {"name": "ok", "severity": None}])
    assert verdict["confirmed"] and verdict["mitigation"] == "none"
    assert verdict["findings"][0]["object"] == "PersistentVolumeClaim/data"
    assert "no safe automatic mitigation" in verdict["reason"]


def test_an_unreachable_dependency_confirms_service_down_and_holds_back_the_restart():
    """I7: the database the pods cannot reach is the cause; restarting them would not help."""
    [down] = alerts.plan(alert="ServiceDown", namespace="p", workload="api")
    deps = [{"name": "database", "ok": False, "error": "postgres:5432 (10.0.0.9) refused the TCP connection from pod p/api-1."},
            {"name": "redis", "ok": True, "error": None}]
    verdict = alerts.judge(down, [finding("Deployment/api", "Unavailable")], revision=2, dependencies=deps)
    assert verdict["confirmed"] and verdict["mitigation"] == "none"
    assert [f["object"] for f in verdict["findings"]] == ["Deployment/api", "Dependency/database"]
    assert verdict["findings"][1]["message"].startswith("postgres:5432 (10.0.0.9) refused")
    assert verdict["reason"].startswith("database cannot be reached from the pods of api")
    # Every dependency reachable: the restart stands; and for the 503 response the same finding confirms it.
    ok = [dict(deps[1], name="database")]
    assert alerts.judge(down, [finding("Deployment/api", "Unavailable")], revision=2, dependencies=ok)["mitigation"] == "restart"
    [unavailable] = alerts.plan(alert="503", namespace="p", workload="api")
    assert alerts.judge(unavailable, [], dependencies=deps)["confirmed"]
    assert "ServiceDown" in alerts.DEPENDENCY_ALERTS and "ServiceUnavailable" in alerts.DEPENDENCY_ALERTS


def lag_result(total, status, members=1, topic_partitions=6, failed=False):
    if failed:
        return {"failed": True, "msg": "Cannot reach the Kafka cluster at k:9092: connection refused."}
    part = {"topic": "bug-reports", "partition": 0, "committed_offset": 10, "log_end_offset": 10 + total, "lag": total,
            "owner": "triage-1@10.0.0.1", "status": status}
    return {"groups": [{"group": "triage-agent-group", "status": status, "total_lag": total, "members": members,
                        "partitions": [part], "topics": [{"topic": "bug-reports", "partitions": 1,
                                                          "topic_partitions": topic_partitions}]}]}


def test_kafka_lag_group_comes_from_labels_or_the_default():
    payload = {"alerts": [{"labels": {"alertname": "KafkaConsumerLag", "namespace": "ai-pipeline",
                                      "consumergroup": "triage-agent-group", "deployment": "triage-agent"}}]}
    [response] = alerts.plan(payload=payload)
    assert (response["group"], response["workload"], response["mitigation"]) == (
        "triage-agent-group", "triage-agent", "scale_consumers")
    [response] = alerts.plan(alert="KafkaConsumerLag", namespace="p", workload="w", group="g")
    assert response["group"] == "g" and response["confirm_reasons"] == ["ConsumerLag"]
    [other] = alerts.plan(alert="ServiceDown", namespace="p", group="g")
    assert other["group"] is None


@pytest.mark.parametrize("lag, replicas, mitigation, target, reason", [
    # Lag above the alert threshold, 2 consumers for 6 partitions: scale to 6.
    (lag_result(1500, "OK"), 2, "scale_consumers", 6, "triage-agent has 2 replicas for 6 partitions: scale to 6"),
    # A WARN trend confirms the alert below the threshold.
    (lag_result(40, "WARN"), 1, "scale_consumers", 6, "scale to 6"),
    # As many consumers as partitions already: more would idle.
    (lag_result(1500, "ERR"), 6, "none", None, "more consumers would idle; add partitions"),
    # Capped by max_replicas.
    (lag_result(1500, "OK", topic_partitions=40), 2, "scale_consumers", 10, "scale to 10"),
    # Not lagging now.
    (lag_result(3, "OK"), 1, "none", None, "triage-agent-group is not lagging now (lag 3, threshold 1000)"),
    # The Deployment could not be read.
    (lag_result(1500, "OK"), None, "none", None, "the consumer Deployment triage-agent could not be read"),
    # The cluster did not answer.
    (lag_result(0, None, failed=True), 1, "none", None, "could not be read: Cannot reach the Kafka cluster"),
])
def test_kafka_lag_is_judged_and_consumers_scaled_to_the_partitions(lag, replicas, mitigation, target, reason):
    [response] = alerts.plan(alert="KafkaConsumerLag", namespace="ai-pipeline", workload="triage-agent",
                             group="triage-agent-group")
    verdict = alerts.judge_lag(response, lag, replicas=replicas, max_replicas=10, threshold=1000)
    assert (verdict["mitigation"], verdict["replicas"]) == (mitigation, target)
    assert reason in verdict["reason"]
    if verdict["confirmed"]:
        [found] = verdict["findings"]
        assert (found["object"], found["reason"]) == ("ConsumerGroup/triage-agent-group", "ConsumerLag")
        assert found["evidence"][0].startswith("bug-reports/0: committed 10")
