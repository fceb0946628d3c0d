"""A TTL sweep whose server restarted mid-walk is not reported complete (tests/integration/faults found it)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._redis import sweep_runner
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import RedisModuleError
from ansible_collections.sre.runbooks.plugins.module_utils._redis.sweep import restart_between


@pytest.mark.parametrize("before, after, restarted", [
    ("a" * 40, "a" * 40, False),
    ("a" * 40, "b" * 40, True),
    (None, "b" * 40, False),  # INFO not permitted: nothing to compare
    ("a" * 40, None, False),
    ("", "", False),
])
def test_restart_between(before, after, restarted):
    assert restart_between(before, after) is restarted


class ResponseError(Exception):
    pass


class FakeExceptions:
    ResponseError = ResponseError


class FakeRedis:
    exceptions = FakeExceptions


class FakeClient:
    """SCAN over two batches with the pipeline method; INFO server answers ``run_ids`` in turn."""

    def __init__(self, run_ids):
        self.run_ids = list(run_ids)
        self.scans = iter([(5, [b"k:1", b"x"]), (0, [b"k:2"])])

    def info(self, section=None):
        value = self.run_ids.pop(0)
        if isinstance(value, Exception):
            raise value
        return {"run_id": value}

    def scan(self, cursor, count):
        return next(self.scans)

    def pipeline(self, transaction=False):
        return FakePipeline()


class FakePipeline:
    def __init__(self):
        self.count = 0

    def execute_command(self, *args):
        self.count += 1

    def execute(self):
        return [1] * self.count


class FakeMaintainer:
    def __init__(self, start_run_id, later_run_ids):
        self.params = {"ttl": 60, "max_keys": None, "rate_limit": None, "sweep_method": "pipeline", "batch_size": 10}
        self.client, self.redis = FakeClient(later_run_ids), FakeRedis
        self.info = {"redis_version": "7.0.15", "run_id": start_run_id}
        self.check_mode = False
        self.address = "127.0.0.1:6379"
        self.result = {}

    def call(self, what, func, *args, **kwargs):
        return func(*args, **kwargs)


def test_a_walk_on_one_server_is_complete():
    result = sweep_runner.SweepRun(FakeMaintainer("a" * 40, ["a" * 40]), ["k:*"]).run()
    assert result["complete"] is True and result["updated"] == 2


def test_a_walk_that_ends_on_a_restarted_server_fails_with_the_partial_counts():
    maintainer = FakeMaintainer("a" * 40, ["b" * 40])
    with pytest.raises(RedisModuleError, match=r"^Redis at 127.0.0.1:6379 restarted during ttl_sweep, .* run the sweep again"):
        sweep_runner.SweepRun(maintainer, ["k:*"]).run()
    partial = maintainer.result["ttl_sweep"]
    assert partial["complete"] is False and partial["updated"] == 2


def test_info_not_permitted_does_not_block_the_sweep():
    result = sweep_runner.SweepRun(FakeMaintainer("a" * 40, [ResponseError("NOPERM")]), ["k:*"]).run()
    assert result["complete"] is True
