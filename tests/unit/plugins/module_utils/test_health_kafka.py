"""H12's verdict over kafka_cluster_info and kafka_consumer_lag_info results (pure)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.kafka import kafka_verdict

CLUSTER = {"brokers": [{"id": 1, "host": "k0", "port": 9092}],
           "topics": [{"topic": "bug-reports", "partitions": 3, "replication_factor": 1, "under_replicated": 0, "offline": 0}],
           "under_replicated_partitions": [], "offline_partitions": []}
PART = {"topic": "bug-reports", "partition": 1, "leader": 2, "replicas": [1, 2], "isr": [2]}


def lag(*groups):
    return {"groups": [dict(g, state="STABLE", members=1, max_lag=None, topics=[]) for g in groups],
            "total_lag": sum(g["total_lag"] for g in groups), "samples": 3, "window_seconds": 10.0}


def verdict(cluster=None, lag_result=None, servers="k0:9092"):
    return kafka_verdict(CLUSTER if cluster is None else cluster, lag() if lag_result is None else lag_result,
                         servers, 1000, 10000)


def test_skipped_without_brokers():
    result = verdict(servers="")
    assert (result["id"], result["status"]) == ("H12", "unavailable")
    assert result["summary"].startswith("skipped: the inventory names no Kafka brokers")


def test_healthy():
    result = verdict(lag_result=lag({"group": "triage", "status": "OK", "total_lag": 3}))
    assert result["status"] == "ok"
    assert result["summary"] == ("1 brokers, 1 topics, 0 under-replicated and 0 offline partitions; 1 consumer groups, "
                                 "total lag 3 (warning above 1000 per group)")
    assert result["details"]["groups"][0]["group"] == "triage"


@pytest.mark.parametrize(("group", "status", "words"), [
    ({"group": "triage", "status": "OK", "total_lag": 1500}, "warning", "triage lag 1500 (above 1000)"),
    ({"group": "triage", "status": None, "total_lag": 20000}, "critical", "triage lag 20000 (above 10000)"),
    ({"group": "triage", "status": "WARN", "total_lag": 50}, "warning", "triage WARN (lag 50)"),
    ({"group": "triage", "status": "ERR", "total_lag": 50}, "critical", "triage ERR (lag 50)"),
])
def test_lagging_groups(group, status, words):
    result = verdict(lag_result=lag(group))
    assert result["status"] == status and result["summary"].endswith(words)


def test_replication():
    assert verdict(dict(CLUSTER, under_replicated_partitions=[PART]))["status"] == "warning"
    result = verdict(dict(CLUSTER, offline_partitions=[dict(PART, leader=-1)]))
    assert result["status"] == "critical" and "0 under-replicated and 1 offline partitions" in result["summary"]


def test_unreachable_and_lag_unread():
    result = verdict({"failed": True, "msg": "Cannot reach the Kafka cluster at k0:9092: connection refused."})
    assert result["status"] == "critical"
    assert result["summary"] == ("cannot read Kafka at k0:9092: Cannot reach the Kafka cluster at k0:9092: "
                                 "connection refused.")
    result = verdict(lag_result={"failed": True, "msg": "The Kafka cluster at k0:9092 did not answer: denied."})
    assert result["status"] == "warning" and "consumer lag not read: The Kafka cluster" in result["summary"]
    # A lag result without groups (the read did not run) is reported, not taken for 'no lag'.
    assert verdict(lag_result={"skipped": True})["status"] == "warning"
