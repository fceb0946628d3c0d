"""experiment given hostile arguments and hostile platform servers."""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import ANSWERS, canary, platform_damage, platform_experiment
from tests.integration.badinput.strategies import LONG, generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._platform.experiment_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.experiment"


def test_experiment_bad_input(platform, fake, traps):
    keep = platform_experiment(platform, "keep-me", complete=False)
    keep_status = platform.get("v1", f"/api/v1/experiments/{keep}")["status"]
    conn = {**platform.module_args(), "platform_timeout": 3}
    present = {**conn, "name": "bi-present", "primary_model": "gpt-4", "prompt_template": "x"}
    completed = {**conn, "name": "bi-completed", "primary_model": "gpt-4", "prompt_template": "x",
                 "state": "completed", "code_samples": ["def t(): pass"], "iterations": 5, "poll_interval": 0.05,
                 "wait_timeout": 20}

    def args(**options):
        return {**present, **options}

    hand = [
        Case("platform_v1_url not a url", args(platform_v1_url="not a url"), True),
        Case("platform_v1_url empty", args(platform_v1_url=""), True),
        Case("platform_timeout nan", args(platform_timeout="nan"), True),
        Case("platform_timeout negative", args(platform_timeout=-1), True),
        Case("poll_interval negative", {**completed, "poll_interval": -1}, True),
        Case("poll_interval nan", {**completed, "poll_interval": float("nan")}, True),
        Case("wait_timeout inf", {**completed, "wait_timeout": "inf"}, True),
        Case("iterations zero", {**completed, "iterations": 0}, True),
        Case("iterations 10**12", {**completed, "iterations": 10 ** 12}, True),
        Case("name with NUL", args(name="bi\x00x"), True),
        Case("name of 100k characters", args(name=LONG)),
        Case("wrong token", args(platform_token="x" + canary("platform")), True),
        Case("platform accepts and never answers", args(platform_v1_url=fake["blackhole"].url, platform_timeout=1),
             True),
        Case("platform_ca_path missing", args(platform_v1_url="https://127.0.0.1:1",
                                              platform_ca_path=str(traps["root"] / "none.pem")), True,
             mentions="none.pem"),
        Case("code_samples as a dict", {**completed, "code_samples": {"a": 1}}),
    ]
    hand += [Case(f"platform answers {name}", args(platform_v1_url=fake[name].url), True) for name in ANSWERS]
    cases = hand + generated_cases(argument_spec(), {"present": present, "completed": completed}, traps, limit=8)
    results, elapsed, budget = run_cases(MODULE, cases)
    summary, problems = judge(MODULE, cases, results, elapsed, budget, [canary("platform")],
                              damage=lambda: platform_damage(platform, {keep: keep_status}))
    assert_outcome(cases, (summary, problems))
