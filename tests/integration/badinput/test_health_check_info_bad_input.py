"""health_check_info given hostile arguments and hostile servers: clean failures only, in the task or in its part.

Bad options fail the task in one sentence naming the part; a server that refuses, never answers or answers
nonsense fails only its part, in one sentence in that part's ``msg``, and the others are read as usual.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import canary
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import NOISE, Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._health.read_runner import PARTS, argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.health_check_info"


def part_problems(cases, results):
    """Every part a case's result reports failed must say why in one clean sentence."""
    found = []
    for case, result in zip(cases, results):
        if result.failed:
            continue
        for name in result.get("failed_parts", []):
            msg = str(result.get(name, {}).get("msg", ""))
            if not msg or "\n" in msg or NOISE.search(msg) or not msg.endswith("."):
                found.append(f"{case.name}: part {name} failed without one clean sentence: {msg[:200]!r}")
        unknown = set(result.get("failed_parts", [])) - set(PARTS)
        if unknown:
            found.append(f"{case.name}: failed_parts names {sorted(unknown)}")
    return found


def test_health_check_info_bad_input(pg_target, redis_target, fake, traps, kube):
    secrets = [pg_target.password, redis_target["password"], canary("s3-secret"), canary("s3-access")]
    base = {
        "postgres": pg_target.args(),
        "redis": {"host": redis_target["host"], "port": redis_target["port"], "password": redis_target["password"],
                  "socket_timeout": 3},
        "backups": {"dest": str(traps["root"] / "backups")},
        "timeout": 60,
    }

    def args(**parts):
        return {**base, **parts}

    hand = [
        Case("timeout nan", args(timeout="nan"), True),
        Case("timeout zero", args(timeout=0), True),
        Case("timeout huge", args(timeout=10 ** 9), True),
        Case("postgres as text", args(postgres="bogus"), True),
        Case("postgres port nan", args(postgres=pg_target.args(port="nan")), True),
        Case("postgres NUL in host", args(postgres=pg_target.args(host="127.0.0.1\x00.evil")), True),
        Case("postgres unknown option", args(postgres=pg_target.args(query="DROP TABLE keep_me")), True,
             mentions="query"),
        Case("postgres wrong password", args(postgres=pg_target.args(password="x" + pg_target.password)), None),
        Case("postgres never answers", args(postgres=pg_target.args(port=fake["blackhole"].port)), None),
        Case("redis operation flush", args(redis=dict(base["redis"], operation="flush")), True, mentions="operation"),
        Case("redis wrong password", args(redis=dict(base["redis"], password="x" + redis_target["password"])), None),
        Case("redis never answers", args(redis=dict(base["redis"], port=fake["blackhole"].port, socket_timeout=2)),
             None),
        Case("redis socket_timeout inf", args(redis=dict(base["redis"], socket_timeout=float("inf"))), True),
        Case("backups without a location", args(backups={"label": "daily"}), True),
        Case("backups in /proc", args(backups={"dest": traps["proc"]}), None),
        Case("backups below a file", args(backups={"dest": traps["below_file"]}), None),
        Case("kubernetes kubeconfig missing", args(kubernetes={"kubeconfig": kube["missing"]}), None),
        Case("kubernetes server never answers", args(kubernetes={"kubeconfig": kube["blackhole"]}), None),
        Case("kubernetes namespaces as a dict", args(kubernetes={"namespaces": {"a": 1}}), True),
        Case("slo probe answers HTML", args(slo={"probes": [{"url": fake["html"].url, "count": 1, "timeout": 2}]}),
             None),
        Case("slo source probe without probe", args(slo={"source": "probe"}), True),
        Case("kafka bootstrap bogus", args(kafka={"bootstrap_servers": "no port here"}), None),
        Case("kafka samples zero", args(kafka={"bootstrap_servers": "127.0.0.1:1", "samples": 0}), True),
        Case("every part in check mode", args(), False, check=True),
    ]
    cases = hand + generated_cases(argument_spec(), {"all": base}, traps, limit=8)
    results, elapsed, budget = run_cases(MODULE, cases, seconds_per_case=8,
                                         env={"AWS_ACCESS_KEY_ID": canary("s3-access"),
                                              "AWS_SECRET_ACCESS_KEY": canary("s3-secret")})

    def damage():
        found = pg_target.damage() + part_problems(cases, results)
        if traps["canary"].read_text() != "untouched\n":
            found.append("the canary file changed")
        return found

    summary, problems = judge(MODULE, cases, results, elapsed, budget, secrets, damage=damage)
    assert_outcome(cases, (summary, problems))
