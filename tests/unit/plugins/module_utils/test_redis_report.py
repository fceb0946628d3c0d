"""Parsing INFO, the memory report, BGSAVE progress and RDB headers."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._redis.report import (
    bgsave_state,
    db_keys,
    human_bytes,
    is_read_only_replica,
    keyspace,
    memory_report,
    normalise_role,
    parse_info,
    poll_interval,
    rdb_version,
    top_keys,
)

INFO = """# Server
redis_version:7.0.15
role:master
# Memory
used_memory:1048576
used_memory_human:1.00M
used_memory_peak:2097152
used_memory_peak_human:2.00M
used_memory_rss:4194304
used_memory_rss_human:4.00M
mem_fragmentation_ratio:4.00
maxmemory:4194304
maxmemory_human:4.00M
maxmemory_policy:allkeys-lru
mem_allocator:jemalloc-5.3.0
# Stats
evicted_keys:7
expired_keys:42
keyspace_hits:30
keyspace_misses:10
# Keyspace
db0:keys=10,expires=2,avg_ttl=5000
db12:keys=3,expires=0,avg_ttl=0
db2:keys=1,expires=1,avg_ttl=10
"""


def test_parse_info_types():
    info = parse_info(INFO)
    assert info["used_memory"] == 1048576
    assert info["mem_fragmentation_ratio"] == 4.0
    assert info["maxmemory_policy"] == "allkeys-lru"
    assert info["db0"] == {"keys": 10, "expires": 2, "avg_ttl": 5000}


def test_keyspace_is_sorted_by_db_number():
    assert list(keyspace(parse_info(INFO))) == ["db0", "db2", "db12"]
    assert db_keys(parse_info(INFO), 12) == 3
    assert db_keys(parse_info(INFO), 5) == 0


def test_memory_report():
    report = memory_report(parse_info(INFO), doctor="all good", big_keys=[])
    assert report["used_memory"] == 1048576 and report["used_memory_human"] == "1.00M"
    assert report["maxmemory_policy"] == "allkeys-lru"
    assert report["used_memory_ratio"] == 0.25
    assert report["peak_ratio"] == 0.5
    assert report["keyspace_hit_ratio"] == 0.75
    assert report["evicted_keys"] == 7 and report["expired_keys"] == 42
    assert report["total_keys"] == 14 and report["total_expires"] == 3
    assert report["role"] == "primary" and report["redis_version"] == "7.0.15"
    assert report["doctor"] == "all good" and report["big_keys"] == []


def test_memory_report_without_limit_or_lookups():
    info = parse_info(INFO.replace("maxmemory:4194304", "maxmemory:0").replace("keyspace_hits:30\n", "")
                      .replace("keyspace_misses:10\n", ""))
    report = memory_report(info)
    assert report["used_memory_ratio"] is None
    assert report["keyspace_hit_ratio"] is None
    assert "doctor" not in report and "big_keys" not in report


@pytest.mark.parametrize("info, read_only", [
    ({"role": "master"}, False),
    ({"role": "slave", "slave_read_only": 1}, True),
    ({"role": "slave", "slave_read_only": 0}, False),
    ({"role": "slave", "replica_read_only": "yes"}, True),
])
def test_is_read_only_replica(info, read_only):
    assert is_read_only_replica(info) is read_only


def test_normalise_role():
    assert normalise_role("master") == "primary"
    assert normalise_role("slave") == "replica"
    assert normalise_role(None) == "unknown"


def test_top_keys():
    samples = [("a", 10, "string"), ("b", 300, "hash"), ("c", 300, "list"), ("d", None, "none")]
    assert top_keys(samples, 2) == [{"key": "b", "bytes": 300, "type": "hash"}, {"key": "c", "bytes": 300, "type": "list"}]


BEFORE = {"rdb_bgsave_in_progress": 0, "rdb_saves": 3, "rdb_last_save_time": 1000, "rdb_last_bgsave_status": "ok"}


@pytest.mark.parametrize("now, state", [
    ({"rdb_bgsave_in_progress": 1, "rdb_saves": 3, "rdb_last_save_time": 1000}, "running"),
    ({"rdb_bgsave_in_progress": 0, "rdb_saves": 3, "rdb_last_save_time": 1000, "rdb_last_bgsave_status": "ok"},
     "waiting"),
    ({"rdb_bgsave_in_progress": 0, "rdb_saves": 4, "rdb_last_save_time": 1000, "rdb_last_bgsave_status": "ok"},
     "done"),  # same second as the previous save: rdb_saves still tells
    ({"rdb_bgsave_in_progress": 0, "rdb_saves": 4, "rdb_last_save_time": 1000, "rdb_last_bgsave_status": "err"},
     "failed"),
    ({"rdb_bgsave_in_progress": 0, "rdb_saves": 3, "rdb_last_save_time": 1000, "rdb_last_bgsave_status": "err"},
     "failed"),
])
def test_bgsave_state(now, state):
    assert bgsave_state(BEFORE, now) == state


def test_bgsave_state_on_servers_without_rdb_saves():
    before = {"rdb_bgsave_in_progress": 0, "rdb_last_save_time": 1000, "rdb_last_bgsave_status": "ok"}
    assert bgsave_state(before, dict(before)) == "waiting"
    assert bgsave_state(before, dict(before, rdb_last_save_time=1001)) == "done"
    # A save that started and ended within the same second as the previous one.
    assert bgsave_state(before, dict(before), seen_running=True) == "done"


def test_poll_interval_grows_to_one_second():
    assert poll_interval(0) == pytest.approx(0.02)
    assert poll_interval(3) == pytest.approx(0.32)
    assert poll_interval(60) == 1.0


@pytest.mark.parametrize("header, version", [
    (b"REDIS0010", 10), (b"REDIS0009\xfa", 9), (b"REDIS", None), (b"PGDMP0010", None), (b"REDISxxxx", None),
])
def test_rdb_version(header, version):
    assert rdb_version(header) == version


def test_human_bytes():
    assert human_bytes(512) == "512B"
    assert human_bytes(1536) == "1.50K"
    assert human_bytes(3 * 1024 ** 3) == "3.00G"
