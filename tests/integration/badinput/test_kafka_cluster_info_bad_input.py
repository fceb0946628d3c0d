"""kafka_cluster_info given hostile arguments and hostile servers (the real broker, a black hole, HTTP)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kafka_cases import connection_cases, secrets
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, run_and_judge
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.cluster_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.kafka_cluster_info"


def test_kafka_cluster_info_bad_input(kafka, fake, traps):
    base = {"bootstrap_servers": kafka["bootstrap_servers"], "request_timeout": 5}
    hand = [
        Case("topic that does not exist", dict(base, topics=["no-such-topic"]), True, mentions="no-such-topic"),
        Case("topics as text with commas", dict(base, topics="a,b"), True),
        Case("include_internal garbage", dict(base, include_internal="maybe"), True),
        Case("internal topics", dict(base, include_internal=True), False),
        Case("in check mode", base, False, check=True),
    ]
    cases = hand + connection_cases(base, fake, traps) + generated_cases(module_args()["argument_spec"],
                                                                         {"info": base}, traps, limit=8)
    assert_outcome(*run_and_judge(MODULE, cases, secrets()))
