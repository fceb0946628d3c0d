"""Fault: the Redis server restarts in the middle of a TTL sweep (redis_maintain operation=ttl_sweep).

A redis-server of the test's own (free loopback port, append-only file fsynced on every write, so
a kill loses nothing) holds 20,000 ``request:*`` keys without a TTL and 3,000 ``other:*`` keys. The
sweep runs under ``rate_limit`` so it takes a few seconds; once the server reports that some keys
but not all have a TTL, the server is killed and started again on the same port and files. The
sweep must end with every key still there and either a one-sentence failure carrying the partial
counts, or a complete result; a second sweep then gives every matching key a TTL and no other key.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.harness.procs import LOOPBACK
from tests.integration.faults.common import assert_one_sentence
from tests.integration.module_runner import run_module
from tests.integration.redis.test_redis_maintain import RedisServer
from tests.integration.waiting import wait_until

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.redis_maintain"
MATCHING, OTHERS, TTL = 20_000, 3_000, 7200


class PersistentRedis(RedisServer):
    """redis-server with appendonly/appendfsync always; ``restart()`` kills it and starts it again on its files."""

    def __init__(self, base: Path):
        super().__init__(base, "persistent", extra_config="appendonly yes\nappendfsync always\n")

    def restart(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["redis-server", str(self.config_file)], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_ready(timeout=30)  # PING fails with LOADING until the append-only file is read


@pytest.fixture
def persistent_redis(tmp_path):
    server = PersistentRedis(tmp_path)
    yield server
    server.stop()


def expiring(client) -> int:
    """Keys of db 0 that have a TTL, as the server counts them (INFO keyspace)."""
    return int(client.info("keyspace").get("db0", {}).get("expires", 0))


def ttl_census(client):
    """(request keys with a TTL, request keys without, other keys with a TTL, all keys)."""
    with_ttl = without = others_expiring = 0
    for batch in _batches(client.scan_iter(count=5000), 5000):
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.ttl(key)
        for key, ttl in zip(batch, pipe.execute()):
            if key.startswith(b"request:"):
                with_ttl += ttl > 0
                without += ttl == -1
            else:
                others_expiring += ttl != -1
    return with_ttl, without, others_expiring, client.dbsize()


def _batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def test_redis_restart_mid_sweep_loses_no_key_and_a_rerun_completes(persistent_redis):
    server = persistent_redis
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for i in range(MATCHING):
        pipe.set(f"request:{i}", "v")
    for i in range(OTHERS):
        pipe.set(f"other:{i}", "v")
    pipe.execute()
    assert client.dbsize() == MATCHING + OTHERS

    # About 7,000 keys examined per second: the sweep takes 3-4 s after ansible starts it.
    args = {"operation": "ttl_sweep", "host": LOOPBACK, "port": server.port, "patterns": ["request:*"], "ttl": TTL,
            "batch_size": 1000, "rate_limit": 7_000, "socket_timeout": 5}
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=run_module(MODULE, args, timeout=120)))
    runner.start()
    try:
        before_kill = wait_until(lambda: (n := expiring(client)) >= 2000 and n, "the sweep to give 2,000 keys a TTL",
                                 timeout=60, interval=0.02)
        server.restart()
    finally:
        runner.join(timeout=120)
    assert not runner.is_alive() and "result" in outcome, "the sweep did not end within 120 s after the restart"
    assert before_kill < MATCHING  # the restart came in the middle of the sweep
    result = outcome["result"]

    client = server.client()
    with_ttl, without, others_expiring, total = ttl_census(client)
    assert total == MATCHING + OTHERS, f"keys lost across the restart: {total} left"
    assert others_expiring == 0
    assert with_ttl >= before_kill  # what was written before the kill survived it

    sweep = result.get("ttl_sweep")
    if result.failed:  # one sentence, and the counts of what was done before the connection broke
        assert_one_sentence(result, f"{LOOPBACK}:{server.port}")
        assert sweep is not None and sweep["complete"] is False, result
        assert 0 < sweep["updated"] <= with_ttl, (sweep, with_ttl)
        assert without > 0
    else:  # the sweep reconnected and finished the walk
        assert sweep["complete"] is True and without == 0, (sweep, without)

    again = run_module(MODULE, {k: v for k, v in args.items() if k != "rate_limit"}, timeout=120)
    assert not again.failed, again.output
    assert again["ttl_sweep"]["complete"] is True and again["ttl_sweep"]["updated"] == without
    with_ttl, without, others_expiring, total = ttl_census(client)
    assert (with_ttl, without, others_expiring, total) == (MATCHING, 0, 0, MATCHING + OTHERS)
    assert all(0 < ttl <= TTL for ttl in [client.ttl("request:0"), client.ttl(f"request:{MATCHING - 1}")])
