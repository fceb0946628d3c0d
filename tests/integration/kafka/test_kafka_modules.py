"""The Kafka modules against the real broker of the harness (Apache Kafka 4.1, KRaft, on loopback).

Real consumer groups commit offsets; the test compares the module's figures with what the admin
client computes (kafka-consumer-groups --describe), follows one group OK -> WARN -> STALL -> STOP
as its consumer slows, pauses and leaves, and raises a topic's partitions (check, real, check,
real), reading the broker's metadata afterwards. Module calls are batched per phase.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.kafka.consumers import PacedConsumer, SteadyProducer, admin, create_topic, describe_lag, produce
from tests.integration.module_batch import run_module_batch
from tests.integration.waiting import wait_until

pytestmark = pytest.mark.slow

LAG = "sre.runbooks.kafka_consumer_lag_info"


def _ok(result):
    assert not result.failed, result.output[-3000:]
    return result


def _partitions(result, group):
    (record,) = [g for g in result["groups"] if g["group"] == group]
    return record, {(p["topic"], p["partition"]): p for p in record["partitions"]}


@pytest.fixture(scope="module")
def bootstrap(kafka):
    return kafka["bootstrap_servers"]


def test_lag_figures_match_the_admin_client_and_cluster_info(bootstrap):
    run = uuid.uuid4().hex[:8]
    topic, group = f"orders-{run}", f"billing-{run}"
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, {0: 40, 1: 25, 2: 10})
    # A real group member that consumes 30 of the 75 records and leaves: lag stays put for the checks.
    consumer = PacedConsumer(bootstrap, group, topic, limit=30)
    wait_until(lambda: consumer.consumed >= 30, "the consumer to commit 30 records", timeout=60)
    consumer.close()
    expected = describe_lag(bootstrap, group)
    # Consumed records are the committed offsets; partitions it never reached have no commit.
    assert sum(offset for offset, _end, _lag in expected.values()) == 30, expected
    total = sum(lag for _offset, _end, lag in expected.values())
    assert total > 0, expected

    base = {"bootstrap_servers": bootstrap}
    lag, lag_all = run_module_batch(LAG, [{"args": dict(base, groups=[group])}, {"args": base}])
    info, info_named = run_module_batch("sre.runbooks.kafka_cluster_info", [
        {"args": base}, {"args": dict(base, topics=[topic, "__consumer_offsets"])}])
    record, parts = _partitions(_ok(lag), group)
    got = {key: (p["committed_offset"], p["log_end_offset"], p["lag"]) for key, p in parts.items()}
    assert got == expected
    assert record["total_lag"] == total == _ok(lag)["total_lag"]
    assert record["state"] == "EMPTY" and record["members"] == 0 and record["status"] is None
    assert record["topics"] == [{"topic": topic, "partitions": len(expected), "lag": total, "consumers": 0,
                                "topic_partitions": 3}]
    assert group in [g["group"] for g in _ok(lag_all)["groups"]] and group in lag_all["lagging_groups"]

    rows = {row["topic"]: row for row in _ok(info)["topics"]}
    assert rows[topic] == {"topic": topic, "partitions": 3, "replication_factor": 1, "under_replicated": 0, "offline": 0}
    assert "__consumer_offsets" not in rows and info["under_replicated_partitions"] == []
    assert [b["port"] for b in info["brokers"]] == [int(bootstrap.rsplit(":", 1)[1])]
    metadata = admin(bootstrap).list_topics(timeout=10)
    assert info["cluster_id"] == metadata.cluster_id and info["controller_id"] == metadata.controller_id
    assert sorted(row["topic"] for row in _ok(info_named)["topics"]) == sorted([topic, "__consumer_offsets"])


def test_status_moves_ok_warn_stall_stop(bootstrap):
    run = uuid.uuid4().hex[:8]
    topic, group = f"inference-{run}", f"workers-{run}"
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 20})
    consumer = PacedConsumer(bootstrap, group, topic, rate=1000)
    producer = None
    base = {"bootstrap_servers": bootstrap, "groups": [group], "samples": 3, "interval": 0.6}
    try:
        wait_until(lambda: describe_lag(bootstrap, group).get((topic, 0), (0, 0, 1))[2] == 0,
                   "the consumer to catch up", timeout=60)
        (healthy,) = run_module_batch(LAG, [{"args": base}])
        record, parts = _partitions(_ok(healthy), group)
        assert (record["status"], parts[(topic, 0)]["status"]) == ("OK", "OK")
        assert record["state"] == "STABLE" and record["members"] == 1
        assert parts[(topic, 0)]["owner"].startswith(f"{group}-member@")

        # The producer outruns a consumer that still commits: lag grows while offsets move.
        consumer.resume(rate=4)
        producer = SteadyProducer(bootstrap, topic, rate=40)
        wait_until(lambda: describe_lag(bootstrap, group)[(topic, 0)][2] > 10, "lag to build up", timeout=30)
        (behind,) = run_module_batch(LAG, [{"args": base}])
        record, parts = _partitions(_ok(behind), group)
        window = parts[(topic, 0)]["lag_window"]
        assert (record["status"], parts[(topic, 0)]["status"]) == ("WARN", "WARN"), window
        assert window == sorted(window) and window[-1] > window[0]

        # The consumer stops consuming but stays in the group: offsets freeze with lag > 0.
        consumer.pause()
        wait_until(lambda: describe_lag(bootstrap, group)[(topic, 0)][0] == consumer.committed,
                   "the paused consumer's last commit to be visible", timeout=30)
        (stuck,) = run_module_batch(LAG, [{"args": base}])
        record, parts = _partitions(_ok(stuck), group)
        assert (record["status"], parts[(topic, 0)]["status"]) == ("ERR", "STALL"), parts[(topic, 0)]
        assert parts[(topic, 0)]["owner"] is not None and record["members"] == 1

        # The consumer leaves: nobody owns the partition, offsets frozen, lag > 0.
        producer.stop()
        producer = None
        consumer.close()
        consumer = None
        client = admin(bootstrap)
        wait_until(lambda: client.describe_consumer_groups([group])[group].result(timeout=10).members == [],
                   "the member to leave the group", timeout=30)
        (gone,) = run_module_batch(LAG, [{"args": base}])
        record, parts = _partitions(_ok(gone), group)
        assert (record["status"], parts[(topic, 0)]["status"]) == ("ERR", "STOP")
        assert record["state"] == "EMPTY" and parts[(topic, 0)]["owner"] is None
        offset, end, lag = describe_lag(bootstrap, group)[(topic, 0)]
        assert (parts[(topic, 0)]["committed_offset"], parts[(topic, 0)]["log_end_offset"], parts[(topic, 0)]["lag"]) == (
            offset, end, lag) and lag > 0
    finally:
        if producer:
            producer.stop()
        if consumer:
            consumer.close()


def test_partition_increase(bootstrap):
    topic = f"scale-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 2)
    args = {"bootstrap_servers": bootstrap, "name": topic, "partitions": 5}
    check, real, check_again, real_again, lower = run_module_batch("sre.runbooks.kafka_topic", [
        {"args": args, "check": True, "diff": True}, {"args": args, "diff": True},
        {"args": args, "check": True}, {"args": args}, {"args": dict(args, partitions=3)}])
    assert _ok(check)["changed"] is True and check["partitions_before"] == 2
    assert check["diff"] == {"before": {"topic": topic, "partitions": 2}, "after": {"topic": topic, "partitions": 5}}
    assert _ok(real)["changed"] is True and real["partitions_before"] == 2
    assert _ok(check_again)["changed"] is False and _ok(real_again)["changed"] is False
    assert real_again["partitions_before"] == 5
    assert lower.failed and lower["msg"] == (f"Topic '{topic}' has 5 partitions and Kafka cannot decrease a partition "
                                             "count, so 3 is refused.")
    assert len(admin(bootstrap).list_topics(topic=topic, timeout=10).topics[topic].partitions) == 5


def test_partition_increase_check_mode_changes_nothing(bootstrap):
    topic = f"untouched-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    (check,) = run_module_batch("sre.runbooks.kafka_topic", [
        {"args": {"bootstrap_servers": bootstrap, "name": topic, "partitions": 4}, "check": True}])
    assert _ok(check)["changed"] is True and check["partitions"] == 4
    assert len(admin(bootstrap).list_topics(topic=topic, timeout=10).topics[topic].partitions) == 1
