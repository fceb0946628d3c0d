"""slo_check given hostile arguments and hostile servers (Prometheus, the SLO endpoint, probe targets)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import ANSWERS, canary
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._slo.slo_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.slo_check"
OBJECTIVES = [{"name": "availability", "target": 0.99}]


def test_slo_check_bad_input(services, platform, fake, traps):
    secrets = [canary("prom-password"), canary("prom-token"), canary("platform"), canary("probe-header")]
    platform_args = {**platform.module_args(), "platform_timeout": 3}
    prom = {"prometheus_url": services["prometheus"]["url"], "prometheus_username": "sre",
            "prometheus_password": canary("prom-password"), "prometheus_timeout": 3, "objectives": OBJECTIVES,
            "window": "1h"}
    probe = {"url": platform.v1_url + "/health", "count": 2, "timeout": 2,
             "headers": {"Authorization": "Bearer " + canary("probe-header")}}
    bases = {"prometheus": prom,
             "endpoint": {**platform_args, "source": "endpoint", "objectives": OBJECTIVES},
             "probe": {"source": "probe", "probe": probe, "objectives": OBJECTIVES,
                       "prometheus_token": canary("prom-token")}}

    def with_(base, **options):
        return {**bases[base], **options}

    hand = [
        Case("objectives as text", with_("prometheus", objectives="x"), True),
        Case("budget_consumed nan", with_("prometheus", burn_rate_alerts=[
            {"long_window": "1h", "short_window": "5m", "budget_consumed": "nan"}]), True),
        Case("target nan", with_("prometheus", objectives=[{"name": "a", "target": "nan"}]), True),
        Case("budget_warning inf", with_("prometheus", budget_warning="inf"), True),
        Case("prometheus_url not a url", with_("prometheus", prometheus_url="not a url"), True),
        Case("prometheus_url empty", with_("prometheus", prometheus_url=""), True),
        Case("probe.url not a url", with_("probe", probe={**probe, "url": "not a url"}), True),
        Case("platform_v2_url empty", with_("endpoint", platform_v2_url=""), True),
        Case("prometheus_timeout negative", with_("prometheus", prometheus_timeout=-1), True),
        Case("probe.timeout nan", with_("probe", probe={**probe, "timeout": "nan"}), True),
        Case("probe.count 300000", with_("probe", probe={**probe, "count": 300000}), True),
        Case("window of 400 nines", with_("prometheus", window="9" * 400 + "d"), True),
        Case("evaluation_time 1e400", with_("prometheus", evaluation_time="1e400"), True),
        Case("CR/LF in probe.method", with_("probe", probe={**probe, "method": "GET\r\nX-Evil: 1"}), True),
        Case("CR/LF in a probe header", with_("probe", probe={**probe, "headers": {
            "Authorization": "Bearer " + canary("probe-header") + "\r\nX-Evil: 1"}}), True),
        Case("prometheus_ca_path missing", with_("prometheus", prometheus_url="https://127.0.0.1:1",
                                                 prometheus_ca_path=str(traps["root"] / "none.pem")), True,
             mentions="none.pem"),
        Case("platform_ca_path missing", with_("endpoint", platform_ca_path=str(traps["root"] / "none.pem"),
                                               platform_v2_url="https://127.0.0.1:1"), True, mentions="none.pem"),
        Case("Prometheus accepts and never answers", with_("prometheus", prometheus_url=fake["blackhole"].url,
                                                           prometheus_timeout=1), True),
        Case("SLO endpoint accepts and never answers", with_("endpoint", platform_v2_url=fake["blackhole"].url,
                                                             platform_timeout=1), True),
        Case("probe target accepts and never answers", with_("probe", probe={**probe, "url": fake["blackhole"].url,
                                                                             "timeout": 1})),
        Case("prometheus in check mode", with_("prometheus"), None, check=True),
        Case("threshold without a target", with_("prometheus", objectives=[
            {"name": "t", "sli": "threshold", "prometheus": {"value_query": "up"}}]), True),
        Case("threshold without a query", with_("prometheus", objectives=[{"name": "t", "sli": "threshold", "target": 1}]),
             True),
        Case("threshold from the SLO endpoint", with_("endpoint", objectives=[
            {"name": "t", "sli": "threshold", "target": 1, "prometheus": {"value_query": "up"}}]), True),
        Case("threshold query that is not PromQL", with_("prometheus", objectives=[
            {"name": "t", "sli": "threshold", "target": 1, "prometheus": {"value_query": "sum(up"}}]), True),
        Case("threshold target inf", with_("prometheus", objectives=[
            {"name": "t", "sli": "threshold", "target": "inf", "prometheus": {"value_query": "up"}}]), True),
        Case("probes as text", with_("endpoint", probes="http://x"), True),
        Case("probes.url not a url", with_("endpoint", probes=[{"url": "not a url"}])),
        Case("CR/LF in probes.method", with_("endpoint", probes=[{**probe, "method": "GET\r\nX-Evil: 1"}])),
        Case("probes.count 300000", with_("endpoint", probes=[{**probe, "count": 300000}]), True),
        Case("probes target accepts and never answers", with_("endpoint", probes=[
            {**probe, "url": fake["blackhole"].url, "timeout": 1}])),
        Case("an objective's source probe without probe", with_("endpoint", objectives=[
            {"name": "p", "source": "probe"}]), True),
        Case("analysis.interval garbage", with_("prometheus", analysis={"interval": "soon", "count": 2}), True),
        Case("analysis.count nan", with_("prometheus", analysis={"count": "nan"}), True),
        Case("analysis.count 0", with_("prometheus", analysis={"count": 0}), True),
        Case("analysis of a year", with_("prometheus", analysis={"interval": "1d", "count": 365}), True),
        Case("analysis with evaluation_time", with_("prometheus", analysis={}, evaluation_time="1700000000"), True),
        Case("analysis as text", with_("prometheus", analysis="5 x 1m"), True),
        Case("analysis against a Prometheus that never answers",
             with_("prometheus", prometheus_url=fake["blackhole"].url, prometheus_timeout=1,
                   analysis={"interval": "1s", "count": 3, "consecutive_error_limit": 0}), True),
    ]
    # Prometheus and the SLO endpoint answering nonsense: never a traceback, never "met".
    hand += [Case(f"Prometheus answers {name}", with_("prometheus", prometheus_url=fake[name].url), True)
             for name in ANSWERS if name not in ("not_json", "huge_number")]
    # An infinite count is no usable data: the objective's no_data policy decides (inconclusive here).
    hand.append(Case("Prometheus answers huge_number", with_("prometheus", prometheus_url=fake["huge_number"].url)))
    hand += [Case(f"SLO endpoint answers {name}", with_("endpoint", endpoint_url=fake[name].url), True)
             for name in ("mixed_list", "html", "wrong_types")]
    cases = hand + generated_cases(argument_spec(), bases, traps, limit=5)
    results, elapsed, budget = run_cases(MODULE, cases)
    summary, problems = judge(MODULE, cases, results, elapsed, budget, secrets)
    assert_outcome(cases, (summary, problems))
