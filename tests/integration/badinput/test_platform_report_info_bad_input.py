"""platform_report_info given hostile arguments and hostile platform servers."""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import ANSWERS, canary
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._platform.report_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.platform_report_info"


def test_platform_report_info_bad_input(platform, fake, traps):
    base = {**platform.module_args(), "platform_timeout": 3, "thresholds": {"min_accuracy": 0.9}}

    def args(**options):
        return {**base, **options}

    hand = [
        Case("platform_v2_url not a url", args(platform_v2_url="not a url"), True),
        Case("platform_v3_url empty", args(platform_v3_url=""), True),
        Case("platform_timeout nan", args(platform_timeout="nan"), True),
        Case("slo_window of 400 nines", args(slo_window="9" * 400 + "d"), True),
        Case("slo_window with NUL", args(slo_window="30\x00d"), True),
        Case("thresholds as text", args(thresholds="strict"), True),
        Case("min_accuracy nan", args(thresholds={"min_accuracy": "nan"}), True),
        Case("min_availability_percent 101", args(thresholds={"min_availability_percent": 101}), True),
        Case("max_quarantined_last_24h negative", args(thresholds={"max_quarantined_last_24h": -1}), True),
        Case("unknown threshold", args(thresholds={"min_happiness": 1}), True),
        Case("wrong token", args(platform_token="x" + canary("platform")), True),
        Case("platform accepts and never answers", args(platform_v2_url=fake["blackhole"].url, platform_timeout=1),
             True),
        Case("platform_ca_path missing", args(platform_v2_url="https://127.0.0.1:1",
                                              platform_ca_path=str(traps["root"] / "none.pem")), True,
             mentions="none.pem"),
    ]
    hand += [Case(f"V2 answers {name}", args(platform_v2_url=fake[name].url), True) for name in ANSWERS]
    hand += [Case(f"V3 answers {name}", args(platform_v3_url=fake[name].url), True) for name in ANSWERS]
    cases = hand + generated_cases(argument_spec(), {"base": base}, traps, limit=8)
    results, elapsed, budget = run_cases(MODULE, cases)
    summary, problems = judge(MODULE, cases, results, elapsed, budget, [canary("platform")])
    assert_outcome(cases, (summary, problems))
