"""kafka_consumer_lag_info given hostile arguments and hostile servers (the real broker, a black hole, HTTP)."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.badinput.kafka_cases import connection_cases, secrets
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, run_and_judge
from tests.integration.kafka.consumers import PacedConsumer, create_topic, produce
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.lag_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.kafka_consumer_lag_info"


def test_kafka_consumer_lag_info_bad_input(kafka, fake, traps):
    bootstrap = kafka["bootstrap_servers"]
    topic, group = f"badinput-{uuid.uuid4().hex[:8]}", f"badinput-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 5})
    consumer = PacedConsumer(bootstrap, group, topic, limit=2)
    try:
        base = {"bootstrap_servers": bootstrap, "groups": [group], "request_timeout": 5}
        hand = [
            Case("nonexistent group", dict(base, groups=["no-such-group"]), True, mentions="no-such-group"),
            Case("empty group name", dict(base, groups=[""]), True),
            Case("group name with a NUL", dict(base, groups=["a\x00b"]), True),
            Case("groups as a mapping", dict(base, groups={"a": 1}), True),
            Case("samples 0", dict(base, samples=0), True),
            Case("samples a million", dict(base, samples=1000000), True),
            Case("interval infinite", dict(base, samples=2, interval="inf"), True),
            Case("window of ten hours", dict(base, samples=60, interval=600), True, mentions="30 minutes"),
            Case("topic filter that matches nothing", dict(base, topics=["nothing-here"]), False),
            Case("every group", {"bootstrap_servers": bootstrap}, False),
            Case("in check mode", base, False, check=True),
        ]
        cases = hand + connection_cases(base, fake, traps) + generated_cases(module_args()["argument_spec"],
                                                                             {"lag": base}, traps, limit=8)
        assert_outcome(*run_and_judge(MODULE, cases, secrets()))
    finally:
        consumer.close()
