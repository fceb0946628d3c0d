"""kafka_topic's partition decision and the morning check's topic rows (pure)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._kafka import topic_plan
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.connection import (
    KafkaModuleError,
    check_bootstrap_servers,
    client_config,
    describe_error,
)


@pytest.mark.parametrize(("current", "wanted", "action"), [(3, 3, "keep"), (3, 6, "increase"), (1, 2, "increase")])
def test_plan_partitions(current, wanted, action):
    assert topic_plan.plan_partitions("orders", current, wanted) == action


def test_plan_partitions_never_decreases():
    with pytest.raises(topic_plan.TopicPlanError, match=r"^Topic 'orders' has 6 partitions and Kafka cannot decrease"):
        topic_plan.plan_partitions("orders", 6, 3)
    with pytest.raises(topic_plan.TopicPlanError, match="at least one partition"):
        topic_plan.plan_partitions("orders", 6, 0)


@pytest.mark.parametrize("name", ["", ".", "..", "a b", "x" * 250, "topic/1", "t\x00"])
def test_bad_topic_names(name):
    with pytest.raises(topic_plan.TopicPlanError, match="Invalid Kafka topic name"):
        topic_plan.check_topic_name(name)


def test_topic_rows():
    topics = {
        "orders": [{"id": 1, "leader": 2, "replicas": [2, 3], "isr": [2]},
                   {"id": 0, "leader": 1, "replicas": [1, 2], "isr": [1, 2]}],
        "audit": [{"id": 0, "leader": -1, "replicas": [3], "isr": []}],
        "__consumer_offsets": [{"id": 0, "leader": 1, "replicas": [1, 2], "isr": [1]}],
    }
    rows, under, offline = topic_plan.topic_rows(topics)
    assert rows == [
        {"topic": "audit", "partitions": 1, "replication_factor": 1, "under_replicated": 1, "offline": 1},
        {"topic": "orders", "partitions": 2, "replication_factor": 2, "under_replicated": 1, "offline": 0},
    ]
    assert [(p["topic"], p["partition"]) for p in under] == [("audit", 0), ("orders", 1)]
    assert [(p["topic"], p["partition"]) for p in offline] == [("audit", 0)]
    rows, under, _offline = topic_plan.topic_rows(topics, include_internal=True, names={"__consumer_offsets"})
    assert [row["topic"] for row in rows] == ["__consumer_offsets"] and len(under) == 1


@pytest.mark.parametrize("value", [None, "", " , "])
def test_no_bootstrap_servers(value):
    with pytest.raises(KafkaModuleError, match="No Kafka bootstrap servers given"):
        check_bootstrap_servers(value)


@pytest.mark.parametrize("value", ["kafka:9092/x", "http://kafka:9092", "kafka", "kafka:0", "kafka:99999", "a b:1"])
def test_bad_bootstrap_servers(value):
    with pytest.raises(KafkaModuleError, match="Invalid Kafka bootstrap server"):
        check_bootstrap_servers(value)


def test_client_config():
    params = {"bootstrap_servers": "k0:9092, k1:9092", "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
              "sasl_username": "sre", "sasl_password": "s3cret", "ssl_ca_location": "/ca.pem", "validate_certs": False,
              "request_timeout": 2.5}
    config = client_config(params)
    assert config["bootstrap.servers"] == "k0:9092,k1:9092"
    assert config["socket.timeout.ms"] == 2500
    assert config["sasl.username"] == "sre" and config["sasl.password"] == "s3cret"
    assert config["enable.ssl.certificate.verification"] is False


class _FakeKafkaError:
    def __init__(self, text):
        self.text = text

    def str(self):
        return self.text


@pytest.mark.parametrize(("text", "sentence"), [
    ("Failed to get metadata: Local: Broker transport failure",
     "Cannot reach the Kafka cluster at k:9092: no broker answered (connection refused or closed)."),
    ("Local: Timed out", "Cannot reach the Kafka cluster at k:9092: no answer within 3s (request_timeout)."),
    ("SASL authentication error: Authentication failed during authentication due to invalid credentials",
     "Cannot reach the Kafka cluster at k:9092: authentication failed (wrong SASL user name, password or mechanism)."),
    ("Broker: Group authorization failed\nmore",
     "The Kafka cluster at k:9092 did not answer: Broker: Group authorization failed more."),
])
def test_describe_error(text, sentence):
    exc = Exception(_FakeKafkaError(text))
    assert describe_error({"bootstrap_servers": "k:9092", "request_timeout": 3.0}, exc) == sentence
