"""The bake analysis (AnalysisRun rules) without a server: settings, measurement phases, the run's verdict,
and slo_check's main() measuring on schedule against a fake Prometheus and a fake clock."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._slo import analysis as bake
from ansible_collections.sre.runbooks.plugins.module_utils._slo import slo_runner, sources
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PrometheusClient, PrometheusError
from ansible_collections.sre.runbooks.plugins.modules import slo_check

from ..modules.utils import AnsibleExitJson, AnsibleFailJson, run_module

DEFAULTS = {"interval": "1m", "count": 5, "initial_delay": "0s", "failure_limit": 0, "inconclusive_limit": 0,
            "consecutive_error_limit": 4, "failed_status": "breached"}


def config(**changes):
    return bake.settings(dict(DEFAULTS, **changes))


def m(phase):
    return {"phase": phase, "message": f"{phase} seen"}


def test_settings_parse_intervals_and_refuse_runaway_runs():
    got = config(interval="30s", initial_delay="2m")
    assert (got["interval_seconds"], got["initial_delay_seconds"]) == (30, 120)
    assert bake.due(100.0, got, 0) == 220.0 and bake.due(100.0, got, 3) == 310.0
    assert config(interval="0s", count=1)["interval_seconds"] == 0
    with pytest.raises(bake.AnalysisError, match="longer than zero when analysis.count is above 1"):
        config(interval="0s", count=2)
    with pytest.raises(bake.AnalysisError, match="analysis.interval"):
        config(interval="soon")
    with pytest.raises(bake.AnalysisError, match="keep it within a day"):
        config(interval="1h", count=30)


@pytest.mark.parametrize("statuses, failed_status, phase", [
    (["ok", "warning"], "breached", bake.SUCCESSFUL),
    (["ok", "warning"], "warning", bake.FAILED),
    (["ok", "breached", "inconclusive"], "breached", bake.FAILED),
    (["ok", "inconclusive"], "breached", bake.INCONCLUSIVE),
    ([], "breached", bake.INCONCLUSIVE),
])
def test_measurement_phase(statuses, failed_status, phase):
    assert bake.measurement_phase([{"status": s} for s in statuses], failed_status) == phase


@pytest.mark.parametrize("phases, limits, expected", [
    ([bake.SUCCESSFUL] * 3, {}, (bake.RUNNING, "3 of 5 measurements taken")),
    ([bake.SUCCESSFUL] * 5, {}, (bake.SUCCESSFUL, "5 of 5 measurements succeeded")),
    ([bake.SUCCESSFUL, bake.FAILED], {}, (bake.FAILED, "1 of 2 measurements failed, more than failure_limit 0")),
    ([bake.FAILED, bake.SUCCESSFUL], {"failure_limit": 1}, (bake.RUNNING, "2 of 5 measurements taken")),
    ([bake.FAILED, bake.SUCCESSFUL, bake.FAILED], {"failure_limit": 1},
     (bake.FAILED, "2 of 3 measurements failed, more than failure_limit 1")),
    ([bake.INCONCLUSIVE], {}, (bake.INCONCLUSIVE, "1 of 1 measurements were inconclusive, more than inconclusive_limit 0")),
    ([bake.INCONCLUSIVE] + [bake.SUCCESSFUL] * 4, {"inconclusive_limit": 1}, (bake.SUCCESSFUL, "4 of 5 measurements succeeded")),
    ([bake.ERROR] * 2, {"consecutive_error_limit": 1},
     (bake.ERROR, "2 measurements in a row could not be taken, more than consecutive_error_limit 1")),
    ([bake.ERROR, bake.SUCCESSFUL, bake.ERROR], {"consecutive_error_limit": 1}, (bake.RUNNING, "3 of 5 measurements taken")),
    ([bake.ERROR] * 2, {"count": 2}, (bake.INCONCLUSIVE, "none of the 2 measurements succeeded")),
    ([bake.ERROR] * 5, {}, (bake.ERROR, "5 measurements in a row could not be taken, more than consecutive_error_limit 4")),
])
def test_run_phase_follows_the_analysis_run_limits(phases, limits, expected):
    assert bake.run_phase([m(p) for p in phases], config(**limits)) == expected


def test_counts_and_failure_detail():
    runs = [m(bake.SUCCESSFUL), m(bake.FAILED), m(bake.SUCCESSFUL)]
    assert bake.counts(runs) == {"successful": 2, "failed": 1, "inconclusive": 0, "error": 0}
    assert bake.failure_detail(runs) == "Failed seen"
    assert bake.failure_detail(runs[:1]) == ""


# ------------------------------------------------------------------ through main()

class Clock:
    """A monotonic clock that only moves when the module sleeps; records the sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(slo_runner.run_analysis, "__defaults__", (fake, fake.sleep))
    return fake


@pytest.fixture
def error_ratios(monkeypatch):
    """A fake Prometheus serving, per measurement, the next error ratio of a list (None: unreachable, "nodata")."""
    plan = []
    state = {"measurement": -1}
    original = sources.PrometheusSource.measure

    def measure(self, prepared):
        state["measurement"] += 1
        return original(self, prepared)

    def query(self, expr, at=None):
        self.queries += 1
        ratio = plan[min(state["measurement"], len(plan) - 1)]
        if ratio is None:
            raise PrometheusError("Prometheus at http://prom:9090 cannot be reached: connection refused.")
        if ratio == "nodata":
            return []
        return [{"metric": {}, "value": 1000.0 * ratio if 'code=~"5.."' in expr else 1000.0}]

    monkeypatch.setattr(sources.PrometheusSource, "measure", measure)
    monkeypatch.setattr(PrometheusClient, "query", query)
    return plan


def bake_args(**analysis):
    return {"prometheus_url": "http://prom:9090", "selector": 'api="v2"', "window": "5m", "burn_rate_alerts": [],
            "objectives": [{"name": "availability", "sli": "availability", "target": 99}],
            "analysis": dict({"interval": "30s", "count": 4}, **analysis)}


def test_a_healthy_bake_measures_count_times_on_schedule(clock, error_ratios):
    error_ratios.extend([0.0, 0.001, 0.002, 0.0])
    result = run_module(slo_check, bake_args(initial_delay="10s"), expect=AnsibleExitJson)
    run = result["analysis"]
    assert run["phase"] == "Successful" and result["passed"] is True
    assert [x["phase"] for x in run["measurements"]] == ["Successful"] * 4
    assert clock.sleeps == [10, 30, 30, 30] and run["elapsed"] == 100
    assert run["counts"] == {"successful": 4, "failed": 0, "inconclusive": 0, "error": 0}
    assert result["msg"] == "SLO analysis Successful: 4 of 4 measurements succeeded."


def test_a_breach_during_the_bake_fails_the_run_once_the_limit_is_passed(clock, error_ratios):
    error_ratios.extend([0.0, 0.05, 0.0, 0.05, 0.0])
    result = run_module(slo_check, bake_args(failure_limit=1, count=5), expect=AnsibleFailJson)
    run = result["analysis"]
    assert [x["phase"] for x in run["measurements"]] == ["Successful", "Failed", "Successful", "Failed"]
    assert run["phase"] == "Failed" and result["passed"] is False
    assert result["msg"].startswith("SLO analysis Failed: 2 of 4 measurements failed, more than failure_limit 1; "
                                    "last: availability: availability 95.0000 % < 99 %")


def test_fail_on_never_reports_a_failed_run_without_failing_the_task(clock, error_ratios):
    error_ratios.extend([0.05])
    result = run_module(slo_check, dict(bake_args(), fail_on="never"), expect=AnsibleExitJson)
    assert result["analysis"]["phase"] == "Failed" and result["passed"] is False
    assert len(result["analysis"]["measurements"]) == 1 and clock.sleeps == []


def test_no_data_makes_the_run_inconclusive_and_errors_in_a_row_an_error(clock, error_ratios):
    error_ratios.extend(["nodata"])
    result = run_module(slo_check, dict(bake_args(), fail_on="never"), expect=AnsibleExitJson)
    assert result["analysis"]["phase"] == "Inconclusive" and len(result["analysis"]["measurements"]) == 1
    assert "no data in the last 5m" in result["msg"]
    error_ratios[:] = [None]
    result = run_module(slo_check, bake_args(consecutive_error_limit=1), expect=AnsibleFailJson)
    assert result["analysis"]["phase"] == "Error"
    assert [x["phase"] for x in result["analysis"]["measurements"]] == ["Error", "Error"]
    assert "connection refused" in result["msg"]


def test_analysis_refuses_evaluation_time_and_bad_settings(clock, error_ratios):
    error_ratios.append(0.0)
    result = run_module(slo_check, dict(bake_args(), evaluation_time="1700000000"), expect=AnsibleFailJson)
    assert result["msg"] == "analysis measures the present again and again; it cannot be combined with evaluation_time."
    result = run_module(slo_check, bake_args(count=0), expect=AnsibleFailJson)
    assert "analysis.count" in result["msg"]
    assert clock.sleeps == []
