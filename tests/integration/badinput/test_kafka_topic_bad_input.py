"""kafka_topic given hostile arguments and hostile servers; the real broker's topic must keep its partitions."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.badinput.kafka_cases import connection_cases, secrets
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, run_and_judge
from tests.integration.kafka.consumers import admin, create_topic
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.topic_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.kafka_topic"


def test_kafka_topic_bad_input(kafka, fake, traps):
    bootstrap = kafka["bootstrap_servers"]
    topic = f"badinput-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 3)
    # The base asks for what the topic has: a no-op, so generated cases cannot grow it by accident.
    base = {"bootstrap_servers": bootstrap, "name": topic, "partitions": 3, "request_timeout": 5}
    hand = [
        Case("decrease", dict(base, partitions=2), True, mentions="cannot decrease"),
        Case("zero partitions", dict(base, partitions=0), True),
        Case("negative partitions", dict(base, partitions=-4), True),
        Case("a million partitions", dict(base, partitions=1000000), True),
        Case("partitions as text", dict(base, partitions="many"), True),
        Case("topic that does not exist", dict(base, name="no-such-topic"), True, mentions="does not exist"),
        Case("topic name with a slash", dict(base, name="../etc"), True, mentions="Invalid Kafka topic name"),
        Case("topic name too long", dict(base, name="t" * 300), True),
        Case("empty topic name", dict(base, name=""), True),
        Case("no topic name", {k: v for k, v in base.items() if k != "name"}, True),
        Case("increase in check mode", dict(base, partitions=9), False, check=True),
    ]
    cases = hand + connection_cases(base, fake, traps) + generated_cases(module_args()["argument_spec"],
                                                                         {"topic": base}, traps, limit=8)

    def damage():
        count = len(admin(bootstrap).list_topics(topic=topic, timeout=10).topics[topic].partitions)
        return [] if count == 3 else [f"topic {topic} has {count} partitions after the bad input, not 3"]

    assert_outcome(*run_and_judge(MODULE, cases, secrets(), damage=damage))
