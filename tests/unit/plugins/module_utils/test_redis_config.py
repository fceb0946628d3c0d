"""Choosing Redis configuration changes: normalisation, planning, diffs and config files."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._redis import config
from ansible_collections.sre.runbooks.plugins.module_utils._redis.config import (
    HIDDEN,
    ConfigError,
    canonical_name,
    diff_for,
    file_differs,
    normalise,
    parse_config_file,
    parse_memory,
    plan_changes,
    split_args,
    value_text,
)


@pytest.mark.parametrize("text, size", [
    ("0", 0), ("512", 512), ("1k", 1000), ("1kb", 1024), ("1K", 1000), ("2MB", 2 * 1024 ** 2),
    ("1m", 1000 ** 2), ("1g", 1000 ** 3), ("1gb", 1024 ** 3), ("100b", 100), (" 3gb ", 3 * 1024 ** 3),
])
def test_parse_memory_follows_redis_units(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "1.5gb", "1tb", "gb", "allkeys-lru", "1 gb"])
def test_parse_memory_refuses_non_sizes(text):
    assert parse_memory(text) is None


@pytest.mark.parametrize("value, text", [
    (True, "yes"), (False, "no"), (100, "100"), (2.0, "2"), ("1gb", "1gb"), (["3600", 1, 300, 100], "3600 1 300 100"),
    (None, ""),
])
def test_value_text(value, text):
    assert value_text(value) == text


@pytest.mark.parametrize("name, left, right", [
    ("maxmemory", "1gb", "1073741824"),
    ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
    ("appendonly", True, "yes"),
    ("save", "3600 1  300 100", "3600 1 300 100"),
    ("client-output-buffer-limit", "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60",
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    ("SLAVE-READ-ONLY", "yes", "yes"),
])
def test_normalise_equal_values(name, left, right):
    assert normalise(name, left) == normalise(name, right)


@pytest.mark.parametrize("name, left, right", [
    ("maxmemory", "1g", "1gb"),  # 10**9 is not 2**30
    ("dir", "/var/lib/Redis", "/var/lib/redis"),  # paths are case-sensitive
    ("maxmemory-policy", "allkeys-lru", "allkeys-lfu"),
])
def test_normalise_different_values(name, left, right):
    assert normalise(name, left) != normalise(name, right)


def test_canonical_name():
    assert canonical_name("Slave-Read-Only") == "replica-read-only"
    assert canonical_name("maxmemory") == "maxmemory"


CURRENT = {"maxmemory-policy": "noeviction", "maxmemory": "0", "timeout": "0", "requirepass": ""}


def test_plan_changes_only_for_differences():
    wanted = {"maxmemory-policy": "allkeys-lru", "maxmemory": "0", "timeout": 300}
    assert plan_changes(CURRENT, wanted) == [
        {"name": "maxmemory-policy", "before": "noeviction", "after": "allkeys-lru"},
        {"name": "timeout", "before": "0", "after": "300"},
    ]


def test_plan_changes_none_when_equal():
    assert plan_changes({"maxmemory": "1073741824"}, {"maxmemory": "1gb"}) == []


@pytest.mark.parametrize("wanted, message", [
    ({"nosuch": 1}, "no configuration parameter named 'nosuch'"),
    ({"max*": 1}, "not a configuration parameter name"),
])
def test_plan_changes_refuses_unknown_names(wanted, message):
    with pytest.raises(ConfigError, match=message):
        plan_changes(CURRENT, wanted)


def test_diff_hides_secrets():
    changes = plan_changes(CURRENT, {"requirepass": "s3cret", "timeout": 10})
    diff = diff_for(changes)
    assert diff == {"before": {"requirepass": "", "timeout": "0"}, "after": {"requirepass": HIDDEN, "timeout": "10"}}


@pytest.mark.parametrize("line, args", [
    ("maxmemory 1gb", ["maxmemory", "1gb"]),
    ('dir "/var/lib/my redis"', ["dir", "/var/lib/my redis"]),
    ("save ''", ["save", ""]),
    ('requirepass "a\\"b\\x41"', ["requirepass", 'a"bA']),
    ("  save 3600 1   300 100 ", ["save", "3600", "1", "300", "100"]),
])
def test_split_args(line, args):
    assert split_args(line) == args


@pytest.mark.parametrize("line", ['dir "/x', "dir 'a'b"])
def test_split_args_refuses_bad_quoting(line):
    with pytest.raises(ConfigError):
        split_args(line)


CONFIG_FILE = """
# a comment
bind 127.0.0.1
port 6390
save 3600 1
save 300 100
maxmemory-policy allkeys-lru
maxmemory 1gb
slave-read-only yes
dir "/var/lib/redis"
"""


def test_parse_config_file():
    settings = parse_config_file(CONFIG_FILE)
    assert settings["save"] == "3600 1 300 100"
    assert settings["maxmemory-policy"] == "allkeys-lru"
    assert settings["replica-read-only"] == "yes"
    assert settings["dir"] == "/var/lib/redis"


def test_parse_config_file_with_include_cannot_be_judged():
    assert parse_config_file("include /etc/redis/common.conf\nport 1\n") is None


def test_file_differs():
    settings = parse_config_file(CONFIG_FILE)
    assert file_differs(settings, {"maxmemory": "1073741824", "maxmemory-policy": "ALLKEYS-LRU"}) == []
    assert file_differs(settings, {"maxmemory-policy": "allkeys-lfu", "timeout": 10}) == ["maxmemory-policy", "timeout"]


@pytest.mark.parametrize("reply", [
    [b"maxmemory", b"0", b"maxmemory-policy", b"noeviction"],  # RESP2: a flat list
    {b"maxmemory": b"0", b"maxmemory-policy": b"noeviction"},  # RESP3: a map
    ["maxmemory", "0", "maxmemory-policy", "noeviction"],  # decode_responses=True
])
def test_config_reply_reads_both_protocols(reply):
    assert config.config_reply(reply) == {"maxmemory": "0", "maxmemory-policy": "noeviction"}


def test_config_reply_keeps_bytes_that_are_not_utf8_and_an_unknown_parameter_is_empty():
    assert config.config_reply([b"dir", b"/data/\xff"]) == {"dir": "/data/\udcff"}
    assert config.config_reply([]) == {}
