"""experiment_promote given hostile arguments and hostile platform servers: no NaN gate promotes anything."""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import ANSWERS, canary, platform_damage, platform_experiment
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._platform.promote_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.experiment_promote"
GOOD = {"accuracy": 0.97, "error_rate": 0.004, "latency_p95_ms": 1200, "sample_count": 400}


def test_experiment_promote_bad_input(platform, fake, traps):
    poor = platform_experiment(platform, "poor", **{**GOOD, "accuracy": 0.5})
    weak = platform_experiment(platform, "weak", **{**GOOD, "accuracy": 0.92})
    good = platform_experiment(platform, "good", **GOOD)
    conn = {**platform.module_args(), "platform_timeout": 3}
    gate = [{"metric": "accuracy", "min": 0.95}]

    def on_poor(**options):
        return {**conn, "experiment_id": poor, "gates": gate, "on_fail": "fail", **options}

    hand = [
        Case("gate min nan", on_poor(gates=[{"metric": "accuracy", "min": "nan"}]), True),
        Case("gate max nan", on_poor(gates=[{"metric": "accuracy", "max": float("nan")}]), True),
        Case("gate min inf", on_poor(gates=[{"metric": "accuracy", "min": "-inf"}]), True),
        Case("gates as text", on_poor(gates="accuracy>0.9"), True),
        Case("gates list of text", on_poor(gates=["accuracy"]), True),
        Case("gate without metric", on_poor(gates=[{"min": 0.9}]), True),
        Case("reason with a bad conversion", on_poor(on_fail="quarantine", reason="{failed_summary!z}"), True),
        Case("reason reaching attributes", on_poor(on_fail="quarantine", reason="{failed_summary.__class__}"), True),
        Case("reason with an unknown field", on_poor(on_fail="quarantine", reason="{secret}"), True),
        Case("reason unbalanced", on_poor(on_fail="quarantine", reason="{failed_summary"), True),
        Case("experiment_id path", on_poor(experiment_id="../../metrics"), True),
        Case("experiment_id empty", on_poor(experiment_id=""), True),
        Case("experiment_id NUL", on_poor(experiment_id=poor + "\x00"), True),
        Case("min_samples inf", on_poor(min_samples="inf"), True),
        Case("min_samples negative", on_poor(min_samples=-1)),
        Case("impact_analysis as text", on_poor(impact_analysis="big"), True),
        Case("platform accepts and never answers", on_poor(platform_v1_url=fake["blackhole"].url, platform_timeout=1),
             True),
        Case("platform_timeout nan", on_poor(platform_timeout="nan"), True),
        Case("platform_v1_url empty", on_poor(platform_v1_url=""), True),
        Case("wrong token", on_poor(platform_token="x" + canary("platform")), True),
    ]
    hand += [Case(f"platform answers {name}", on_poor(platform_v1_url=fake[name].url), True) for name in ANSWERS]
    bases = {"weak": {**conn, "experiment_id": weak, "on_fail": "none"},
             "good": {**conn, "experiment_id": good, "gates": gate}}
    cases = hand + generated_cases(argument_spec(), bases, traps, limit=5)
    results, elapsed, budget = run_cases(MODULE, cases)
    summary, problems = judge(MODULE, cases, results, elapsed, budget, [canary("platform")],
                              damage=lambda: platform_damage(platform, {poor: "completed", weak: "completed"}))
    assert_outcome(cases, (summary, problems))
