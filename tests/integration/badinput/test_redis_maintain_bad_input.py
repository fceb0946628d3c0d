"""redis_maintain given hostile arguments against a real password-protected Redis: clean failures only."""

from __future__ import annotations

import pytest
import redis

from tests.integration.badinput.hostile import canary, s3_bucket
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._redis.maintain_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.redis_maintain"
KEEP = {f"keep:{i}": str(i) for i in range(3)}


def test_redis_maintain_bad_input(redis_target, services, fake, traps):
    secrets = [redis_target["password"], canary("s3-secret"), canary("s3-access")]
    client = redis.Redis(host=redis_target["host"], port=redis_target["port"], password=redis_target["password"], db=5)
    client.mset(KEEP)
    redis.Redis(host=redis_target["host"], port=redis_target["port"], password=redis_target["password"]).set(
        "badinput:a", "1")
    conn = {"host": redis_target["host"], "port": redis_target["port"], "password": redis_target["password"],
            "socket_timeout": 3}
    s3_args = s3_bucket(services, "badinput-redis")
    dest = str(traps["root"] / "redis-backups")

    def args(**options):
        return {**conn, **options}

    hand = [
        Case("socket_timeout nan", args(operation="memory", socket_timeout="nan"), True),
        Case("socket_timeout inf", args(operation="memory", socket_timeout=float("inf")), True),
        Case("socket_timeout negative", args(operation="memory", socket_timeout=-1), True),
        Case("port -1", args(operation="memory", port=-1), True),
        Case("NUL in host", args(operation="memory", host="127.0.0.1\x00.evil"), True),
        Case("wrong password", args(operation="memory", password="x" + redis_target["password"]), True),
        Case("host accepts and never answers", args(operation="memory", port=fake["blackhole"].port,
                                                    socket_timeout=2), True),
        Case("db out of range", args(operation="memory", db=99999), True),
        Case("backup to /proc", args(operation="backup", dest="/proc/badinput/dump.rdb"), True),
        Case("backup below a file", args(operation="backup", dest=traps["below_file"]), True),
        Case("tls_ca_cert missing", args(operation="memory", tls=True, tls_ca_cert=str(traps["root"] / "none.pem")),
             True, mentions="none.pem"),
        Case("settings as text", args(operation="config", settings="bogus"), True),
        Case("settings maxmemory nan", args(operation="config", settings={"maxmemory": "nan"}), True),
        Case("settings unknown", args(operation="config", settings={"no-such-setting": "1"}), True),
        Case("flush without confirm", args(operation="flush", flush_scope="all"), True),
        Case("flush with a wrong confirm", args(operation="flush", confirm="yes"), True),
        Case("max_keys negative", args(operation="ttl_sweep", patterns=["badinput:*"], ttl=60, max_keys=-1), True),
        Case("rate_limit zero", args(operation="ttl_sweep", patterns=["badinput:*"], ttl=60, rate_limit=0), True),
        Case("big_keys_sample huge", args(operation="memory", big_keys=1, big_keys_sample=10 ** 12), True),
        Case("unix_socket below a file", args(operation="memory", unix_socket=traps["below_file"]), True),
        Case("s3 as text", args(operation="backup", dest=dest, s3="bogus"), True),
        Case("s3 bucket empty", args(operation="backup", dest=dest, s3={**s3_args, "bucket": ""}), True),
        Case("s3 bucket invalid", args(operation="backup", dest=dest, s3={**s3_args, "bucket": "Invalid Bucket!"}),
             True),
        Case("s3 endpoint answers HTML", args(operation="backup", dest=dest,
                                              s3={**s3_args, "endpoint_url": fake["html"].url}), True),
        Case("memory in check mode", args(operation="memory"), False, check=True),
    ]
    bases = {"memory": args(operation="memory"),
             "sweep": args(operation="ttl_sweep", patterns=["badinput:*"], ttl=3600),
             "backup": args(operation="backup", dest=dest, s3=s3_args)}
    cases = hand + generated_cases(argument_spec(), bases, traps, limit=6)
    results, elapsed, budget = run_cases(MODULE, cases, env={"AWS_ACCESS_KEY_ID": canary("s3-access"),
                                                             "AWS_SECRET_ACCESS_KEY": canary("s3-secret")})

    def damage():
        found = [] if traps["canary"].read_text() == "untouched\n" else ["the canary file outside dest changed"]
        if dict(zip(KEEP, (v.decode() if v else None for v in client.mget(list(KEEP))))) != KEEP:
            found.append("keys in db 5 were lost or changed")
        if any(client.ttl(key) != -1 for key in KEEP):
            found.append("keys in db 5 got a TTL")
        return found

    summary, problems = judge(MODULE, cases, results, elapsed, budget, secrets, damage=damage)
    assert_outcome(cases, (summary, problems))
