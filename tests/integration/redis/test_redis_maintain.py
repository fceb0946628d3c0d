"""redis_maintain against real redis-server processes, run through ansible-playbook.

Every test starts from data it writes itself, on servers this file starts (Debian redis-server on
free loopback ports, each with its own config file and directory), and checks the server's own
view afterwards - TTL per key, INFO keyspace, CONFIG GET, the config file, a second server
started on the backup file - not just what the module returned. Waits poll with deadlines.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.harness.procs import wait_for
from tests.harness.services import LOOPBACK, free_port
from tests.integration.module_runner import run_module

REPO = Path(__file__).resolve().parents[3]
if str(REPO / ".collections") not in sys.path:  # the module's pure code, for the pattern checks
    sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.sre.runbooks.plugins.module_utils._redis.sweep import (  # noqa: E402
    SWEEP_SCRIPT,
    lua_pattern_bytes,
)
from tests.integration.waiting import wait_until  # noqa: E402

MODULE = "sre.runbooks.redis_maintain"


# -- servers -------------------------------------------------------------------------------------


class RedisServer:
    """One redis-server process; ``client(db)`` gives a redis-py client, ``args(**kw)`` module arguments."""

    def __init__(self, base: Path, name: str, extra_config: str = "", extra_args: list | None = None,
                 config_file: bool = True, tls: dict | None = None):
        self.dir = base / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = LOOPBACK
        self.socket = self.dir / "redis.sock"
        self.password = None
        self.tls = tls
        listen = f"port {self.port}\n"
        if tls:  # TLS only: the plain port is closed
            listen = (f"port 0\ntls-port {self.port}\ntls-cert-file {tls['server_cert']}\n"
                      f"tls-key-file {tls['server_key']}\ntls-ca-cert-file {tls['ca']}\n"
                      f"tls-auth-clients {tls.get('auth_clients', 'no')}\ntls-replication yes\n")
        settings = (f"bind {LOOPBACK}\n{listen}dir {self.dir}\ndbfilename dump.rdb\nsave \"\"\n"
                    f"appendonly no\nunixsocket {self.socket}\nunixsocketperm 700\nenable-debug-command yes\n"
                    "repl-diskless-sync-delay 0\n"
                    f"{extra_config}")
        for line in settings.splitlines():
            if line.startswith("requirepass "):
                self.password = line.split(" ", 1)[1].strip()
        self.log = self.dir / "server.log"
        if config_file:
            self.config_file = self.dir / "redis.conf"
            self.config_file.write_text(settings)
            command = ["redis-server", str(self.config_file)]
        else:
            self.config_file = None
            command = ["redis-server"]
            for line in settings.splitlines():
                name, _sep, value = line.partition(" ")
                command += [f"--{name}", "" if value == '""' else value]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(command + list(extra_args or []), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0):
        def answers():
            if self.proc.poll() is not None:  # an exited server will never answer: stop waiting now
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                return self.client().ping()
            except (redis.exceptions.ConnectionError, FileNotFoundError):
                return False
        wait_for(answers, f"redis-server on port {self.port} answering PING", timeout=timeout, interval=0.02,
                 error=RuntimeError)

    def client(self, db: int = 0) -> redis.Redis:
        if self.tls:  # the test's own checks go through the unix socket
            return redis.Redis(unix_socket_path=str(self.socket), db=db, password=self.password, socket_timeout=10)
        return redis.Redis(host=self.host, port=self.port, db=db, password=self.password, socket_timeout=10)

    def args(self, **options) -> dict:
        args = {"host": self.host, "port": self.port}
        args.update(options)
        return args

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def redis_factory(tmp_path_factory):
    """Start servers on demand; every one is stopped when the module's tests are done."""
    base = tmp_path_factory.mktemp("redis-maintain")
    servers = []

    def start(name: str, **kwargs) -> RedisServer:
        server = RedisServer(base, name, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def server(redis_factory):
    """The main server (with a config file, a unix socket and DEBUG enabled)."""
    return redis_factory("main")


@pytest.fixture(scope="module")
def noscript_server(redis_factory):
    """A server where EVAL and EVALSHA are renamed away, as hardened deployments do."""
    return redis_factory("noscript", extra_config='rename-command EVAL ""\nrename-command EVALSHA ""\n')


# -- helpers -------------------------------------------------------------------------------------


def run(server, check=False, diff=False, env=None, **options):
    result = run_module(MODULE, server.args(**options), check=check, diff=diff, env=env)
    assert "Traceback" not in result.output, result.output
    return result


def ok(result):
    assert not result.failed, result.get("msg") or result.output
    return result


def failed_with(result, pattern):
    assert result.failed, result
    message = result["msg"]
    assert "\n" not in message and message.endswith("."), message
    assert pattern in message, message
    return message


def settle(client, db):
    """Wait until database ``db``'s hash table is not rehashing, so one SCAN pass sees every key once."""
    wait_until(lambda: b"rehashing target" not in client.execute_command("DEBUG", "HTSTATS", db),
               f"db{db} to finish rehashing")


def ttls(client, keys):
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.ttl(key)
    return dict(zip(keys, pipe.execute()))


def load(client, keys, ex=None, value=b"v"):
    pipe = client.pipeline(transaction=False)
    for index, key in enumerate(keys):
        pipe.set(key, value, ex=ex)
        if index % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def keyspace(client):
    return {name: value for name, value in client.info("keyspace").items() if name.startswith("db")}


# -- ttl_sweep -----------------------------------------------------------------------------------

NO_TTL = [f"request:{i}" for i in range(3000)] + [f"session:{i}" for i in range(500)]
WITH_TTL = [f"request:ttl:{i}" for i in range(500)]
OTHERS = [f"other:{i}" for i in range(1000)] + ["requests:1", "xrequest:1", "Request:1", "sessions"]


def fill_sweep_db(client, db):
    client.flushdb()
    load(client, NO_TTL)
    load(client, WITH_TTL, ex=100000)
    load(client, OTHERS)
    settle(client, db)


def test_ttl_sweep_changes_exactly_the_matching_keys_without_ttl(server):
    db = 1
    client = server.client(db)
    fill_sweep_db(client, db)
    args = {"operation": "ttl_sweep", "db": db, "patterns": ["request:*", "session:*"], "ttl": 3600}
    total = len(NO_TTL) + len(WITH_TTL) + len(OTHERS)

    checked = ok(run(server, check=True, diff=True, **args))
    assert checked.changed
    sweep = checked["ttl_sweep"]
    assert (sweep["scanned"], sweep["matched"], sweep["updated"]) == (total, len(NO_TTL) + len(WITH_TTL), len(NO_TTL))
    assert sweep["expire_mode"] == "count" and sweep["method"] == "script" and sweep["complete"]
    assert sweep["per_pattern"] == [{"pattern": "request:*", "matched": 3500, "updated": 3000},
                                    {"pattern": "session:*", "matched": 500, "updated": 500}]
    assert checked["diff"]["before"] == {"keys_without_ttl": {"request:*": 3000, "session:*": 500}}
    assert all(value == -1 for value in ttls(client, NO_TTL + OTHERS).values()), "check mode changed a TTL"

    swept = ok(run(server, diff=True, **args))
    assert swept.changed
    assert swept["ttl_sweep"]["updated"] == len(NO_TTL) and swept["ttl_sweep"]["expire_mode"] == "nx"
    assert swept["ttl_sweep"]["already_expiring"] == len(WITH_TTL)
    assert all(3590 <= value <= 3600 for value in ttls(client, NO_TTL).values())
    assert all(value > 3600 for value in ttls(client, WITH_TTL).values()), "a key that had a TTL was changed"
    assert all(value == -1 for value in ttls(client, OTHERS).values()), "a non-matching key was changed"

    again_check = ok(run(server, check=True, **args))
    again = ok(run(server, **args))
    assert not again_check.changed and again_check["ttl_sweep"]["updated"] == 0
    assert not again.changed and again["ttl_sweep"]["updated"] == 0 and again["ttl_sweep"]["matched"] == 4000


def test_ttl_sweep_honours_max_keys_and_rate_limit(server):
    db = 2
    client = server.client(db)
    client.flushdb()
    keys = [f"job:{i}" for i in range(2000)]
    load(client, keys)
    settle(client, db)

    capped = ok(run(server, operation="ttl_sweep", db=db, patterns=["job:*"], ttl=600, max_keys=150, batch_size=100))
    assert capped["ttl_sweep"]["updated"] == 150 and capped["ttl_sweep"]["max_keys_reached"]
    assert not capped["ttl_sweep"]["complete"]
    assert sum(1 for value in ttls(client, keys).values() if value > 0) == 150

    paced = ok(run(server, operation="ttl_sweep", db=db, patterns=["job:*"], ttl=600, rate_limit=4000))
    sweep = paced["ttl_sweep"]
    assert sweep["updated"] == 1850 and sweep["batch_size"] == 400 and sweep["complete"]
    # 2000 keys at 4000 keys/s cannot take less than ~0.5 s (the last batch is not paced).
    assert sweep["duration_s"] >= (sweep["scanned"] - sweep["batch_size"]) / 4000 * 0.95
    assert all(value > 0 for value in ttls(client, keys).values())


def test_ttl_sweep_falls_back_to_pipelines_where_scripting_is_disabled(noscript_server):
    db = 0
    client = noscript_server.client(db)
    fill_sweep_db(client, db)
    args = {"operation": "ttl_sweep", "db": db, "patterns": ["request:*", "session:*"], "ttl": 3600}

    refused = run(noscript_server, sweep_method="script", **args)
    failed_with(refused, "refused the TTL sweep script: unknown command 'EVALSHA'")

    checked = ok(run(noscript_server, check=True, **args))
    assert checked["ttl_sweep"]["method"] == "pipeline" and "unknown command" in checked["ttl_sweep"]["fallback_reason"]
    assert checked["ttl_sweep"]["updated"] == len(NO_TTL)
    assert all(value == -1 for value in ttls(client, NO_TTL).values())

    swept = ok(run(noscript_server, **args))
    assert swept.changed and swept["ttl_sweep"]["method"] == "pipeline"
    assert swept["ttl_sweep"]["updated"] == len(NO_TTL)
    assert swept["ttl_sweep"]["scanned"] == len(NO_TTL) + len(WITH_TTL) + len(OTHERS)
    assert all(3590 <= value <= 3600 for value in ttls(client, NO_TTL).values())
    assert all(value > 3600 for value in ttls(client, WITH_TTL).values())
    assert all(value == -1 for value in ttls(client, OTHERS).values())
    assert not ok(run(noscript_server, **args)).changed


TRICKY_KEYS = ["a*b", "a?b", "a[b", "a]b", "a\\b", "a%b", "a.b", "a$b", "a^b", "a-b", "ab", "axb", "a\x00b",
               "caf\u00e9", "a(b)", "k1", "k%1", "a+b", "abc", "ba", "[", "]", "^", "a[bc"]
TRICKY_PATTERNS = ["a*b", "a\\*b", "a?b", "a[\\]x]b", "a[^x]b", "a[b-a]?", "a%b", "a.b", "*$*", "*^*", "a[",
                   "a[b", "k%1", "*(*", "caf?*", "a\\", "[]", "[^]", "a[-]b", "*[", "a[bc", "?", "a+b", "k?"]


def test_sweep_patterns_mean_what_they_mean_to_redis(server):
    """The script's Lua patterns select exactly the keys Redis' own KEYS returns, for tricky globs."""
    db = 7
    client = server.client(db)
    client.flushdb()
    load(client, TRICKY_KEYS)
    lua_filter = "local out = {} for _, k in ipairs(redis.call('KEYS', '*')) do " \
                 "if string.find(k, ARGV[1]) then out[#out + 1] = k end end return out"
    for pattern in TRICKY_PATTERNS:
        redis_says = set(client.keys(pattern))
        ours = set(client.eval(lua_filter, 0, lua_pattern_bytes(pattern)))
        assert ours == redis_says, pattern


def test_sweep_script_ttl_mode_for_servers_before_redis_7(server):
    """The pre-7.0 path (TTL check, then EXPIRE) of the script, driven directly."""
    db = 8
    client = server.client(db)
    client.flushdb()
    load(client, [f"t:{i}" for i in range(50)])
    load(client, [f"t:x{i}" for i in range(10)], ex=5000)
    cursor, updated, examined = b"0", 0, 0
    while True:
        reply = client.eval(SWEEP_SCRIPT, 0, cursor, 20, 100, -1, "ttl", lua_pattern_bytes("t:*"))
        cursor, examined, updated = reply[0], examined + reply[1], updated + reply[4]
        if cursor == b"0":
            break
    assert (examined, updated) == (60, 50)
    assert all(0 < value <= 100 for value in ttls(client, [f"t:{i}" for i in range(50)]).values())
    assert all(value > 100 for value in ttls(client, [f"t:x{i}" for i in range(10)]).values())
    client.flushdb()  # short TTLs would expire under the backup tests' keyspace comparison


# -- backup --------------------------------------------------------------------------------------


def fill_backup_data(server):
    for db in (3, 4):
        client = server.client(db)
        client.flushdb()
        load(client, [f"b{db}:{i}" for i in range(2000)])
        load(client, [f"b{db}:ttl:{i}" for i in range(100)], ex=86400)
    server.client(3).hset("b3:hash", mapping={"a": "1", "b": "2"})


@pytest.mark.parametrize("method, via_socket", [("copy", False), ("replication", False), ("copy", True)])
def test_backup_loads_in_a_second_server(server, redis_factory, tmp_path, method, via_socket):
    fill_backup_data(server)
    dest = tmp_path / "backups"
    dest.mkdir()
    args = {"operation": "backup", "dest": str(dest) + "/", "backup_method": method}
    if via_socket:
        args.update(unix_socket=str(server.socket), host="ignored.invalid")
    saves_before = server.client().info("persistence")["rdb_saves"]

    checked = ok(run(server, check=True, **args))
    assert checked.changed and checked["backup"]["method"] == method and checked["backup"]["bgsave"] is None
    assert list(dest.iterdir()) == [] and server.client().info("persistence")["rdb_saves"] == saves_before

    result = ok(run(server, **args))
    backup = result["backup"]
    path = Path(backup["path"])
    assert path.parent == dest and path.name.startswith("redis-") and path.suffix == ".rdb"
    assert [p.name for p in dest.iterdir()] == [path.name], "a temporary file was left behind"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert backup["size_bytes"] == path.stat().st_size
    assert backup["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert backup["verified_with"] == "redis-check-rdb" and backup["rdb_version"] >= 9
    assert backup["bgsave"]["status"] == "ok"
    assert server.client().info("persistence")["rdb_saves"] > saves_before

    restored = redis_factory(f"restored-{method}-{via_socket}", extra_args=["--dir", str(dest), "--dbfilename", path.name])
    source, copy = keyspace(server.client()), keyspace(restored.client())
    assert {db: counts["keys"] for db, counts in copy.items()} == {db: counts["keys"] for db, counts in source.items()}
    assert {db: counts["expires"] for db, counts in copy.items()} == \
        {db: counts["expires"] for db, counts in source.items()}
    assert restored.client(3).hgetall("b3:hash") == {b"a": b"1", b"b": b"2"}
    assert 0 < restored.client(4).ttl("b4:ttl:7") <= 86400
    restored.stop()


def test_backup_replication_without_bgsave_and_to_a_file_name(server, tmp_path):
    path = tmp_path / "nightly.rdb"
    path.write_text("old backup")
    result = ok(run(server, operation="backup", dest=str(path), backup_method="replication", bgsave=False))
    assert result["backup"]["path"] == str(path) and result["backup"]["bgsave"] is None
    assert path.read_bytes().startswith(b"REDIS")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nightly.rdb"]


def test_backup_refuses_a_missing_directory(server, tmp_path):
    missing = tmp_path / "nope" / "x.rdb"
    failed_with(run(server, operation="backup", dest=str(missing)), f"the directory {missing.parent} does not exist")
    failed_with(run(server, operation="backup", dest=str(tmp_path / "y.rdb"), backup_method="copy", bgsave=False),
                "backup_method=copy needs bgsave=true")


def test_backup_uploads_to_s3(server, services, tmp_path):
    import boto3

    s3 = services["s3"]
    bucket = "redis-maintain-tests"
    client = boto3.client("s3", endpoint_url=s3["endpoint_url"], aws_access_key_id=s3["access_key"],
                          aws_secret_access_key=s3["secret_key"], region_name=s3["region"])
    client.create_bucket(Bucket=bucket)  # us-east-1: creating an owned bucket again is a no-op
    args = {"operation": "backup", "dest": str(tmp_path) + "/", "backup_method": "replication", "bgsave": False,
            "s3": {"bucket": bucket, "prefix": "redis/nightly", "endpoint_url": s3["endpoint_url"],
                   "region": s3["region"]}}
    env = {"AWS_ACCESS_KEY_ID": s3["access_key"], "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}
    checked = ok(run(server, check=True, env=env, **args))
    assert checked["backup"]["s3"]["key"].startswith("redis/nightly/redis-")
    result = ok(run(server, env=env, **args))
    uploaded = result["backup"]["s3"]
    assert uploaded["key"] == "redis/nightly/" + Path(result["backup"]["path"]).name
    assert uploaded["sha256"] == result["backup"]["sha256"]
    body = client.get_object(Bucket=bucket, Key=uploaded["key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == result["backup"]["sha256"]


# -- memory and purge ----------------------------------------------------------------------------


def test_memory_report_matches_info(server):
    db = 6
    client = server.client(db)
    client.flushdb()
    load(client, [f"m:{i}" for i in range(500)])
    client.hset("big:hash", mapping={f"field{i}": "x" * 100 for i in range(2000)})
    client.rpush("big:list", *[f"item{i}" for i in range(500)])

    result = ok(run(server, check=True, operation="memory", db=db, big_keys=2, big_keys_sample=100000))
    assert not result.changed
    report = result["memory"]
    info = server.client().info()
    for field in ("maxmemory", "maxmemory_policy", "mem_allocator", "evicted_keys"):
        assert report[field] == info[field], field
    assert abs(report["used_memory"] - info["used_memory"]) < 0.1 * info["used_memory"]
    assert report["keyspace"]["db6"] == {"keys": 502, "expires": 0, "avg_ttl": 0}
    assert report["total_keys"] == sum(value["keys"] for value in keyspace(server.client()).values())
    assert [item["key"] for item in report["big_keys"]] == ["big:hash", "big:list"]
    assert report["big_keys"][0]["type"] == "hash" and report["big_keys"][0]["bytes"] > 200000
    assert report["sampled_keys"] == 502 and "doctor" in report and report["role"] == "primary"


def test_purge_reports_what_the_allocator_gave_back(server):
    db = 5
    client = server.client(db)
    load(client, [f"p:{i}" for i in range(20000)], value=b"x" * 1024)
    client.flushdb()
    checked = ok(run(server, check=True, operation="purge"))
    assert checked["purge"]["rss_after"] == checked["purge"]["rss_before"]
    first = ok(run(server, operation="purge"))
    second = ok(run(server, operation="purge"))
    for result in (first, second):
        purge = result["purge"]
        assert purge["allocator"].startswith("jemalloc")
        assert result.changed == (purge["released_bytes"] > 0)
        assert purge["released_bytes"] == max(0, purge["resident_before"] - purge["resident_after"])
    assert second["purge"]["released_bytes"] <= max(first["purge"]["released_bytes"], 1 << 20)


# -- config --------------------------------------------------------------------------------------


def config_get(client, name):
    return client.config_get(name)[name]


def test_config_is_idempotent_with_diff_and_rewrite(server):
    client = server.client()
    settings = {"maxmemory-policy": "allkeys-lru", "maxmemory": "1gb"}

    checked = ok(run(server, check=True, diff=True, operation="config", settings=settings))
    assert checked.changed and config_get(client, "maxmemory-policy") == "noeviction"
    assert checked["diff"] == {"before": {"maxmemory-policy": "noeviction", "maxmemory": "0"},
                               "after": {"maxmemory-policy": "allkeys-lru", "maxmemory": "1gb"}}

    applied = ok(run(server, diff=True, operation="config", settings=settings))
    assert applied.changed and applied["config"]["rewritten"] is False
    assert config_get(client, "maxmemory-policy") == "allkeys-lru"
    assert config_get(client, "maxmemory") == str(1024 ** 3)
    assert applied["config"]["settings"] == {"maxmemory-policy": "allkeys-lru", "maxmemory": str(1024 ** 3)}
    assert "maxmemory-policy" not in server.config_file.read_text()

    same_values = {"maxmemory-policy": "ALLKEYS-LRU", "maxmemory": 1024 ** 3}
    same = ok(run(server, diff=True, operation="config", settings=same_values))
    assert not same.changed and same["config"]["changes"] == []

    # The running values are right but the file does not hold them yet: the rewrite is the change.
    rewritten = ok(run(server, operation="config", settings=settings, rewrite=True))
    assert rewritten.changed and rewritten["config"]["rewritten"] and rewritten["config"]["file_checked"]
    assert rewritten["config"]["config_file"] == str(server.config_file)
    text = server.config_file.read_text()
    assert "maxmemory-policy allkeys-lru" in text and "maxmemory 1gb" in text
    assert not ok(run(server, operation="config", settings=settings, rewrite=True)).changed

    client.config_set("maxmemory-policy", "noeviction")
    back = ok(run(server, operation="config", settings={"maxmemory-policy": "noeviction", "maxmemory": 0}))
    assert back.changed and config_get(client, "maxmemory") == "0"


def test_config_errors_are_one_sentence(server, redis_factory):
    failed_with(run(server, operation="config", settings={"maxmemory-policy": "sometimes"}),
                "refused CONFIG SET maxmemory-policy=sometimes")
    failed_with(run(server, operation="config", settings={"no-such-setting": 1}),
                "has no configuration parameter named 'no-such-setting'")
    bare = redis_factory("no-config-file", config_file=False)
    failed_with(run(bare, operation="config", settings={"timeout": 0}, rewrite=True),
                "it runs without a configuration file")
    bare.stop()


# -- flush ---------------------------------------------------------------------------------------


def test_flush_needs_a_confirmation_naming_the_database(server):
    db, other = 9, 10
    load(server.client(db), [f"f:{i}" for i in range(300)])
    load(server.client(other), [f"keep:{i}" for i in range(20)])

    failed_with(run(server, operation="flush", db=db), "set confirm=db9 to confirm (got no confirm)")
    failed_with(run(server, operation="flush", db=db, confirm="db0"), "set confirm=db9")
    failed_with(run(server, operation="flush", db=db, confirm="all"), "set confirm=db9")
    assert server.client(db).dbsize() == 300

    checked = ok(run(server, check=True, diff=True, operation="flush", db=db, confirm="db9"))
    assert checked.changed and checked["flush"] == {"scope": "db", "databases": {"db9": 300}, "keys_removed": 300}
    assert checked["diff"] == {"before": {"keys": {"db9": 300}}, "after": {"keys": {"db9": 0}}}
    assert server.client(db).dbsize() == 300

    flushed = ok(run(server, operation="flush", db=db, confirm="db9", flush_async=True))
    assert flushed.changed and flushed["flush"]["keys_removed"] == 300
    wait_until(lambda: server.client(db).dbsize() == 0, "db9 to be empty")
    assert server.client(other).dbsize() == 20
    assert not ok(run(server, operation="flush", db=db, confirm="db9")).changed


def test_flushall(redis_factory):
    scratch = redis_factory("flushall")
    for db in (0, 3):
        load(scratch.client(db), [f"x:{i}" for i in range(10)])
    failed_with(run(scratch, operation="flush", flush_scope="all", confirm="db0"),
                "Refusing to flush all databases")
    flushed = ok(run(scratch, operation="flush", flush_scope="all", confirm="all"))
    assert flushed["flush"]["databases"] == {"db0": 10, "db3": 10} and flushed["flush"]["keys_removed"] == 20
    assert keyspace(scratch.client()) == {}
    assert not ok(run(scratch, operation="flush", flush_scope="all", confirm="all")).changed
    scratch.stop()


# -- connection and input errors -----------------------------------------------------------------


def test_unreachable_server_is_one_sentence(server):
    port = free_port()
    result = run_module(MODULE, {"operation": "memory", "host": LOOPBACK, "port": port})
    assert result["msg"] == f"Cannot connect to Redis at {LOOPBACK}:{port}: connection refused."
    socket_path = server.dir / "missing.sock"
    result = run_module(MODULE, {"operation": "memory", "unix_socket": str(socket_path)})
    assert result["msg"] == f"Cannot connect to Redis at {socket_path} (unix socket): no server socket at that path."


def test_authentication(redis_factory):
    secured = redis_factory("auth", extra_config="requirepass s3cr3t-pw\n")
    missing = run(secured, operation="memory")
    failed_with(missing, "the server requires a password and none was given")
    wrong = run(secured, operation="memory", password="nope")
    failed_with(wrong, "authentication failed")
    good = ok(run(secured, operation="memory", env={"REDISCLI_AUTH": "s3cr3t-pw"}))
    assert good["server"]["role"] == "primary"
    assert "s3cr3t-pw" not in good.output
    backup_dir = secured.dir / "bk"
    backup_dir.mkdir()
    replicated = ok(run(secured, operation="backup", dest=str(backup_dir) + "/", backup_method="replication",
                        bgsave=False, env={"REDISCLI_AUTH": "s3cr3t-pw"}))
    assert Path(replicated["backup"]["path"]).read_bytes()[:5] == b"REDIS"
    secured.stop()


# More option checks run in tests/unit/plugins/modules/test_redis_maintain.py; these go the whole way.
@pytest.mark.parametrize("options, message", [
    ({"operation": "ttl_sweep", "patterns": ["a:*"], "ttl": 0}, "ttl must be a positive number of seconds, got 0."),
    ({"operation": "ttl_sweep", "patterns": ["a:*"]}, "missing: ttl"),
    ({"operation": "memory", "db": 99}, "database 99 does not exist on the server"),
    ({"operation": "vacuum"}, "value of operation must be one of"),
])
def test_bad_input_is_one_sentence(server, options, message):
    result = run(server, **options)
    assert result.failed and message in result["msg"], result.get("msg")
    assert "\n" not in result["msg"]


# -- TLS -----------------------------------------------------------------------------------------


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate (EC keys: quick)."""
    where = tmp_path_factory.mktemp("redis-tls")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=redis-maintain test CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=where)
    for name in ("server", "client"):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=where)
        (where / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=where)
    return {"ca": where / "ca.crt", "server_cert": where / "server.crt", "server_key": where / "server.key",
            "client_cert": where / "client.crt", "client_key": where / "client.key"}


def test_tls_connections(redis_factory, certificates, tmp_path):
    tls_server = redis_factory("tls", tls=dict(certificates, auth_clients="yes"))
    load(tls_server.client(), [f"tls:{i}" for i in range(100)])
    client_cert = {"tls_cert": str(certificates["client_cert"]), "tls_key": str(certificates["client_key"])}

    good = ok(run(tls_server, operation="memory", tls=True, tls_ca_cert=str(certificates["ca"]), **client_cert))
    assert good["memory"]["keyspace"]["db0"]["keys"] == 100
    failed_with(run(tls_server, operation="memory", **client_cert), "the server closed the connection")
    failed_with(run(tls_server, operation="memory", tls=True, **client_cert),
                "the server's TLS certificate did not verify")
    unverified = ok(run(tls_server, operation="memory", tls=True, validate_certs=False, **client_cert))
    assert unverified["server"]["role"] == "primary"

    backup = ok(run(tls_server, operation="backup", dest=str(tmp_path) + "/", backup_method="replication",
                    bgsave=False, tls=True, tls_ca_cert=str(certificates["ca"]), **client_cert))["backup"]
    restored = redis_factory("tls-restored", extra_args=["--dir", str(tmp_path), "--dbfilename",
                                                         Path(backup["path"]).name])
    assert restored.client().dbsize() == 100
    restored.stop()
    tls_server.stop()


# -- replicas ------------------------------------------------------------------------------------


def test_replica_is_detected_and_never_written(server, redis_factory):
    db = 11
    primary = server.client(db)
    primary.flushdb()
    load(primary, [f"r:{i}" for i in range(200)])
    replica = redis_factory("replica", extra_config=f"replicaof {server.host} {server.port}\n")
    wait_until(lambda: replica.client().info("replication").get("master_link_status") == "up", "the replica link")
    wait_until(lambda: replica.client(db).dbsize() == 200, "the replica to have the keys")
    args = {"operation": "ttl_sweep", "db": db, "patterns": ["r:*"], "ttl": 600}

    counted = ok(run(replica, check=True, **args))
    assert counted["server"]["role"] == "replica"
    assert counted["ttl_sweep"]["updated"] == 200 and counted["ttl_sweep"]["method"] == "script"
    failed_with(run(replica, **args), "is a read-only replica; run ttl_sweep against its primary")
    failed_with(run(replica, operation="flush", db=db, confirm=f"db{db}"), "is a read-only replica")
    assert ok(run(replica, operation="memory"))["memory"]["role"] == "replica"
    assert all(value == -1 for value in ttls(primary, [f"r:{i}" for i in range(200)]).values())
    primary.flushdb()
    replica.stop()
