"""redis_maintain's dispatch table and argument spec agree with each other."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import REDIS_COMMON_ARGS
from ansible_collections.sre.runbooks.plugins.module_utils._redis.maintain_args import (
    OPERATIONS,
    OPTION_OWNERS,
    argument_spec,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.operations import OPERATION_RUNNERS


def test_every_operation_has_exactly_one_runner():
    assert sorted(OPERATION_RUNNERS) == sorted(OPERATIONS)
    assert all(callable(runner) for runner in OPERATION_RUNNERS.values())


def test_argument_spec_merges_the_connection_options_and_knows_every_owned_option():
    spec = argument_spec()
    assert spec["operation"]["choices"] == OPERATIONS
    assert set(REDIS_COMMON_ARGS) | {"s3"} <= set(spec)
    assert set(OPTION_OWNERS) <= set(spec) and set(OPTION_OWNERS.values()) <= set(OPERATIONS)


def test_argument_spec_is_a_fresh_copy_each_time():
    spec = argument_spec()
    spec["host"]["default"] = "elsewhere"
    assert argument_spec()["host"]["default"] == REDIS_COMMON_ARGS["host"]["default"] == "localhost"
