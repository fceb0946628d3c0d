"""redis_maintain's main(): argument handling, check mode and the pipeline sweep, with a fake Redis.

The fake stands in for redis-py's client (keys with TTLs, CONFIG, INFO, pipelines); the module's
own logic runs for real. It refuses scripts, so the sweep takes its client-side pipeline path,
and it can pose as a Redis 6 server for the TTL-then-EXPIRE variant. Behaviour against a real
server is covered by tests/integration/redis/test_redis_maintain.py.
"""

from __future__ import annotations

import socket
import sys

import pytest
import redis
from ansible.module_utils.common.warnings import get_warning_messages

from ansible_collections.sre.runbooks.plugins.module_utils._redis import backup_plan, maintainer
from ansible_collections.sre.runbooks.plugins.module_utils._redis import connection as redis_utils
from ansible_collections.sre.runbooks.plugins.modules import redis_maintain

from .utils import run_module


class FakePipeline:
    def __init__(self, client):
        self.client = client
        self.calls = []

    def execute_command(self, *args):
        self.calls.append(args)

    def ttl(self, key):
        self.calls.append(("TTL", key))

    def expire(self, key, ttl):
        self.calls.append(("EXPIRE", key, ttl))

    def type(self, key):
        self.calls.append(("TYPE", key))

    def execute(self, raise_on_error=True):
        return [self.client.execute_command(*call) for call in self.calls]


class FakeRedis:
    """Keys -> TTL (-1: none), a few config values, INFO; refuses scripts."""

    def __init__(self, keys=None, version="7.0.15", role="master", config=None, multi_set=True):
        self.keys = dict(keys or {})
        self.version = version
        self.role = role
        self.config = dict(config or {"maxmemory-policy": "noeviction", "maxmemory": "0", "timeout": "0"})
        self.multi_set = multi_set
        self.commands = []

    def ping(self):
        return True

    def close(self):
        pass

    def info(self, section=None):
        return {"redis_version": self.version, "role": self.role, "slave_read_only": 1, "used_memory": 1000,
                "used_memory_rss": 4000, "maxmemory": 0, "maxmemory_policy": "noeviction",
                "mem_allocator": "jemalloc-5.3.0", "allocator_resident": 5000, "allocator_rss_bytes": 100,
                "config_file": "", "db0": {"keys": len(self.keys), "expires": 0, "avg_ttl": 0}}

    def dbsize(self):
        return len(self.keys)

    def scan(self, cursor=0, count=10):
        names = sorted(self.keys)
        chunk = names[cursor:cursor + count]
        following = cursor + count
        return (following if following < len(names) else 0), [name.encode() for name in chunk]

    def pipeline(self, transaction=False):
        return FakePipeline(self)

    def execute_command(self, *args):
        self.commands.append(args)
        name = args[0].upper() if isinstance(args[0], str) else args[0]
        if name in ("SCRIPT", "EVAL", "EVALSHA"):
            raise redis.exceptions.ResponseError(f"unknown command '{name}', with args beginning with: ")
        if name == "TTL":
            return self.keys.get(args[1].decode(), -2)
        if name == "EXPIRE":
            key = args[1].decode()
            if key not in self.keys or (len(args) > 3 and self.keys[key] != -1):
                return 0
            self.keys[key] = int(args[2])
            return 1
        if name == "CONFIG" and args[1] == "GET":
            return [args[2].encode(), self.config[args[2]].encode()] if args[2] in self.config else []
        if name == "CONFIG" and args[1] == "SET":
            pairs = args[2:]
            if len(pairs) > 2 and not self.multi_set:
                raise redis.exceptions.ResponseError("wrong number of arguments for 'config|set' command")
            for key, value in zip(pairs[0::2], pairs[1::2]):
                self.config[key] = str(value)
            return b"OK"
        if name in ("FLUSHDB", "FLUSHALL"):
            self.keys.clear()
            return b"OK"
        if name == "MEMORY":
            return b"fine" if args[1] == "DOCTOR" else b"OK"
        raise redis.exceptions.ResponseError(f"unknown command '{name}'")


@pytest.fixture
def fake(monkeypatch):
    holder = {"client": FakeRedis()}
    monkeypatch.setattr(maintainer, "connect", lambda module: holder["client"])
    return holder


def run_main(args, check=False, diff=False):
    return run_module(redis_maintain, args, check=check, diff=diff)


def sweep_keys():
    keys = {f"request:{i}": -1 for i in range(30)}
    keys.update({f"request:t{i}": 5000 for i in range(10)})
    keys.update({f"other:{i}": -1 for i in range(20)})
    return keys


@pytest.mark.parametrize("version, mode", [("7.0.15", "nx"), ("6.2.14", "ttl")])
def test_pipeline_sweep_changes_only_keys_without_ttl(fake, version, mode):
    fake["client"] = FakeRedis(sweep_keys(), version=version)
    args = {"operation": "ttl_sweep", "patterns": ["request:*"], "ttl": 60, "batch_size": 7}

    checked = run_main(args, check=True, diff=True)
    assert checked["changed"] and checked["ttl_sweep"]["updated"] == 30 and checked["ttl_sweep"]["expire_mode"] == "count"
    assert checked["diff"]["before"] == {"keys_without_ttl": {"request:*": 30}}
    assert sum(1 for ttl in fake["client"].keys.values() if ttl == 60) == 0

    result = run_main(args)
    sweep = result["ttl_sweep"]
    assert result["changed"] and sweep["method"] == "pipeline" and sweep["expire_mode"] == mode
    assert (sweep["scanned"], sweep["matched"], sweep["updated"]) == (60, 40, 30)
    assert sweep["fallback_reason"].startswith("unknown command 'SCRIPT'") and sweep["complete"]
    keys = fake["client"].keys
    assert all(keys[f"request:{i}"] == 60 for i in range(30))
    assert all(keys[f"request:t{i}"] == 5000 for i in range(10))
    assert all(keys[f"other:{i}"] == -1 for i in range(20))
    assert run_main(args)["changed"] is False


@pytest.mark.parametrize("check", [False, True])
def test_pipeline_sweep_stops_exactly_at_max_keys(fake, check):
    fake["client"] = FakeRedis(sweep_keys())
    result = run_main({"operation": "ttl_sweep", "patterns": ["request:*", "other:*"], "ttl": 60, "batch_size": 16,
                       "max_keys": 25}, check=check)
    assert result["ttl_sweep"]["updated"] == 25 and result["ttl_sweep"]["max_keys_reached"]
    assert not result["ttl_sweep"]["complete"]
    assert sum(1 for ttl in fake["client"].keys.values() if ttl == 60) == (0 if check else 25)


def test_lost_connection_mid_sweep_keeps_the_progress(fake):
    client = FakeRedis(sweep_keys())
    real_scan = client.scan
    calls = []

    def flaky_scan(cursor=0, count=10):
        calls.append(cursor)
        if len(calls) == 3:
            raise redis.exceptions.ConnectionError("Connection closed by server.")
        return real_scan(cursor, count)

    client.scan = flaky_scan
    fake["client"] = client
    result = run_main({"operation": "ttl_sweep", "patterns": ["request:*"], "ttl": 60, "batch_size": 10})
    assert result["failed"]
    assert result["msg"] == "Lost the connection to Redis at localhost:6379 during ttl_sweep: the server closed the connection."
    assert result["ttl_sweep"]["scanned"] == 20 and not result["ttl_sweep"]["complete"]
    assert result["ttl_sweep"]["updated"] == sum(1 for ttl in client.keys.values() if ttl == 60)


def test_script_only_sweep_fails_where_scripts_are_refused(fake):
    result = run_main({"operation": "ttl_sweep", "patterns": ["request:*"], "ttl": 60, "sweep_method": "script"})
    assert result["failed"]
    assert result["msg"] == "Redis at localhost:6379 refused the TTL sweep script: unknown command 'SCRIPT'."


def test_sweep_refuses_a_read_only_replica_but_counts_in_check_mode(fake):
    fake["client"] = FakeRedis(sweep_keys(), role="slave")
    args = {"operation": "ttl_sweep", "patterns": ["request:*"], "ttl": 60}
    assert run_main(args)["msg"] == ("Redis at localhost:6379 is a read-only replica; run ttl_sweep against its "
                                     "primary.")
    assert run_main(args, check=True)["ttl_sweep"]["updated"] == 30


@pytest.mark.parametrize("args, message", [
    ({"operation": "ttl_sweep", "patterns": ["a"], "ttl": -5}, "ttl must be a positive number of seconds, got -5."),
    ({"operation": "ttl_sweep", "patterns": ["a"], "ttl": 5, "rate_limit": 0}, "rate_limit must be at least 1"),
    ({"operation": "flush"}, "Refusing to flush database 0 of Redis at localhost:6379: set confirm=db0 to confirm "
                             "(got no confirm)."),
    ({"operation": "flush", "db": 2, "confirm": "db0"}, "set confirm=db2 to confirm (got confirm=db0)."),
    ({"operation": "flush", "flush_scope": "all", "confirm": "db0"}, "Refusing to flush all databases"),
    ({"operation": "config", "settings": {}}, "operation=config needs at least one entry in settings."),
    ({"operation": "config", "settings": {"nope": 1}},
     "Cannot apply settings to Redis at localhost:6379: the server has no configuration parameter named 'nope'."),
    ({"operation": "config", "settings": {"timeout": 1}, "rewrite": True}, "it runs without a configuration file."),
    ({"operation": "memory", "socket_timeout": 0}, "socket_timeout must be more than 0 seconds, got 0.0."),
    ({"operation": "memory", "big_keys": -1}, "big_keys must be 0 or more"),
    ({"operation": "memory", "db": -1}, "db must be 0 or more, got -1."),
    ({"operation": "ttl_sweep", "patterns": ["a:*"], "ttl": 60, "batch_size": 0}, "batch_size must be between 1"),
    ({"operation": "ttl_sweep", "patterns": [""], "ttl": 60}, "patterns must not contain an empty pattern."),
    ({"operation": "backup", "dest": "/tmp/x.rdb", "wait_timeout": 0}, "wait_timeout must be at least 1 second"),
    ({"operation": "backup", "dest": "/nonexistent/dir/x.rdb"}, "the directory /nonexistent/dir does not exist."),
])
def test_bad_input_is_one_sentence(fake, args, message):
    fake["client"] = FakeRedis(sweep_keys())
    result = run_main(args)
    assert result["failed"] and message in result["msg"] and "\n" not in result["msg"]
    assert len(fake["client"].keys) == 60


def test_flush_check_mode_reports_counts_and_changes_nothing(fake):
    fake["client"] = FakeRedis(sweep_keys())
    checked = run_main({"operation": "flush", "confirm": "db0"}, check=True)
    assert checked["changed"] and checked["flush"]["keys_removed"] == 60
    assert len(fake["client"].keys) == 60 and not any(c[0] == "FLUSHDB" for c in fake["client"].commands)
    flushed = run_main({"operation": "flush", "confirm": "db0", "flush_async": True})
    assert ("FLUSHDB", "ASYNC") in fake["client"].commands and flushed["flush"]["keys_removed"] == 60
    assert run_main({"operation": "flush", "confirm": "db0"})["changed"] is False


def test_config_sets_one_by_one_on_servers_without_multi_set(fake):
    fake["client"] = FakeRedis(multi_set=False)
    settings = {"maxmemory-policy": "allkeys-lru", "maxmemory": "2gb", "timeout": 0}
    result = run_main({"operation": "config", "settings": settings}, diff=True)
    assert result["changed"]
    assert result["diff"] == {"before": {"maxmemory-policy": "noeviction", "maxmemory": "0"},
                              "after": {"maxmemory-policy": "allkeys-lru", "maxmemory": "2gb"}}
    assert fake["client"].config == {"maxmemory-policy": "allkeys-lru", "maxmemory": "2gb", "timeout": "0"}
    assert [c for c in fake["client"].commands if c[:2] == ("CONFIG", "SET")][-2:] == [
        ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), ("CONFIG", "SET", "maxmemory", "2gb")]
    assert run_main({"operation": "config", "settings": settings})["changed"] is False


def test_config_check_mode_sets_nothing(fake):
    result = run_main({"operation": "config", "settings": {"maxmemory-policy": "allkeys-lfu"}}, check=True)
    assert result["changed"] and result["config"]["settings"] == {"maxmemory-policy": "allkeys-lfu"}
    assert fake["client"].config["maxmemory-policy"] == "noeviction"


def test_secret_settings_are_hidden(fake):
    fake["client"] = FakeRedis(config={"requirepass": ""})
    result = run_main({"operation": "config", "settings": {"requirepass": "hunter2-secret"}}, diff=True)
    assert "hunter2-secret" not in repr({k: v for k, v in result.items() if k != "invocation"})
    assert result["diff"]["after"] == {"requirepass": "********"}


def test_backup_check_mode_plans_without_touching_anything(fake, tmp_path):
    result = run_main({"operation": "backup", "dest": str(tmp_path)}, check=True)
    backup = result["backup"]
    assert result["changed"] and backup["method"] == "replication" and backup["bgsave"] is None
    assert backup["path"].startswith(str(tmp_path) + "/redis-localhost-6379-") and backup["path"].endswith(".rdb")
    assert list(tmp_path.iterdir()) == []
    assert not any(c[0] == "BGSAVE" for c in fake["client"].commands)


def test_options_of_other_operations_are_warned_about(fake):
    result = run_main({"operation": "memory", "ttl": 60, "confirm": "db0"})
    assert not result.get("failed")
    warnings = get_warning_messages()
    assert any("Option ttl is only used by operation=ttl_sweep" in w for w in warnings), warnings
    assert any("Option confirm is only used by operation=flush" in w for w in warnings), warnings


def test_unreachable_server_is_one_sentence():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = run_main({"operation": "memory", "host": "127.0.0.1", "port": port, "socket_timeout": 2})
    assert result["msg"] == f"Cannot connect to Redis at 127.0.0.1:{port}: connection refused."


def test_missing_redis_library_is_reported(monkeypatch):
    monkeypatch.setattr(redis_utils, "_REDIS_LIB", {})
    monkeypatch.setitem(sys.modules, "redis", None)
    result = run_main({"operation": "memory"})
    assert result["failed"] and "redis (the redis-py package)" in result["msg"]


@pytest.mark.parametrize("requested, local, readable, bgsave, method", [
    ("auto", True, True, True, "copy"),
    ("auto", False, False, True, "replication"),
    ("auto", True, False, True, "replication"),
    ("auto", True, True, False, "replication"),
    ("replication", True, True, True, "replication"),
    ("copy", True, True, True, "copy"),
])
def test_choose_backup_method(requested, local, readable, bgsave, method):
    assert backup_plan.choose_backup_method(requested, local, readable, bgsave)[0] == method


@pytest.mark.parametrize("local, readable, bgsave, message", [
    (False, False, True, "needs the server on this host"),
    (True, False, True, "cannot read the server's RDB file"),
    (True, True, False, "needs bgsave=true"),
])
def test_choose_backup_method_refuses_copy(local, readable, bgsave, message):
    with pytest.raises(redis_utils.RedisModuleError, match=message):
        backup_plan.choose_backup_method("copy", local, readable, bgsave)


def test_backup_file_name():
    import datetime

    when = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert backup_plan.backup_file_name({"host": "10.0.0.5", "port": 6379}, when) == \
        "redis-10.0.0.5-6379-20250102T030405Z.rdb"
    assert backup_plan.backup_file_name({"unix_socket": "/run/redis/redis-server.sock"}, when) == \
        "redis-redis-server-20250102T030405Z.rdb"
    assert backup_plan.backup_file_name({"host": "fe80::1%eth0", "port": 1}, when) == \
        "redis-fe80__1_eth0-1-20250102T030405Z.rdb"
