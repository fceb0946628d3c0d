"""slo_check against a real Prometheus holding 31 days of generated history (promtool backfill).

The expected numbers come from integrating the history's piecewise-constant rates
(tests/integration/slo/history.py), not from the collection's code. Samples sit on every
window's start, and Prometheus 2.x range selectors include their start, so increase() is
exact; the stated tolerance is 0.1 % relative (1e-4 absolute for budget fractions), which
only absorbs floating-point and JSON rounding.
"""

from __future__ import annotations

import socket

import pytest

from tests.integration.module_batch import run_module_batch
from tests.integration.slo.history import DAY, HOUR

pytestmark = pytest.mark.slow

REL = 1e-3
ABS = 1e-4
WINDOWS = {"5m": 300, "30m": 1800, "1h": HOUR, "2h": 2 * HOUR, "6h": 6 * HOUR, "1d": DAY, "3d": 3 * DAY,
           "7d": 7 * DAY, "30d": 30 * DAY}
WORKBOOK = [("page", "1h", "5m", 14.4), ("page", "6h", "30m", 6.0), ("ticket", "1d", "2h", 3.0), ("ticket", "3d", "6h", 1.0)]

OBJECTIVES = [
    {"name": "availability", "sli": "availability", "target": 99.9},
    {"name": "availability-7d", "sli": "availability", "target": 99.9, "window": "7d"},
    {"name": "error-rate-strict", "sli": "error_rate", "target": 0.05},
    {"name": "latency-p95", "sli": "latency", "quantile": 0.95, "target": 2.0},
    {"name": "latency-p99", "sli": "latency", "quantile": 0.99, "target": 1.0},
    {"name": "availability-raw", "sli": "availability", "target": 99.9, "prometheus": {
        "total_query": 'sum(increase(platform_http_requests_total{api="v2"}[${window}]))',
        "error_query": 'sum(increase(platform_http_requests_total{api="v2",code=~"5.."}[${window}]))'}},
    {"name": "no-traffic", "sli": "availability", "prometheus": {"selector": 'api="nope"'}},
    {"name": "no-traffic-strict", "sli": "availability", "no_data": "fail", "prometheus": {"selector": 'api="nope"'}},
    {"name": "too-few-samples", "sli": "availability", "min_samples": 10 ** 9},
]


@pytest.fixture(scope="module")
def checked(prometheus_history):
    """One real run (fails: objectives are breached) and one check-mode run with fail_on=never."""
    args = {"prometheus_url": prometheus_history["url"], "selector": 'api="v2"', "objectives": OBJECTIVES,
            "evaluation_time": str(prometheus_history["end"])}
    real, check = run_module_batch("sre.runbooks.slo_check", [{"args": args},
                                                              {"args": dict(args, fail_on="never"), "check": True}])
    return real, check, prometheus_history["history"]


def _by_name(result):
    return {o["name"]: o for o in result["objectives"]}


def _expected_ratio_objective(history, window, allowed):
    ratio = history.error_ratio(WINDOWS[window])
    burns = {label: history.error_ratio(WINDOWS[label]) / allowed for label in WINDOWS}
    return ratio, burns


def test_availability_budget_and_burn_rates_match_the_history(checked):
    real, _check, history = checked
    got = _by_name(real)["availability"]
    ratio, burns = _expected_ratio_objective(history, "30d", 0.001)
    counts = history.counts(30 * DAY)
    assert got["events"]["total"] == pytest.approx(counts["total"], rel=REL)
    assert got["events"]["bad"] == pytest.approx(counts["errors"], rel=REL)
    assert got["error_ratio"] == pytest.approx(ratio, rel=REL)
    assert got["actual"] == pytest.approx((1 - ratio) * 100, rel=REL)
    assert got["error_budget"]["consumed"] == pytest.approx(ratio / 0.001, rel=REL)
    assert got["error_budget"]["remaining"] == pytest.approx(1 - ratio / 0.001, abs=ABS)
    assert 0.25 < got["error_budget"]["remaining"] < 0.5  # the incidents spent a good part of the budget
    assert got["error_budget"]["exhaustion_hours"] == pytest.approx(
        got["error_budget"]["remaining"] * 720 / burns["1h"], rel=REL)
    for alert, (severity, long_window, short_window, factor) in zip(got["burn_rates"], WORKBOOK):
        assert (alert["severity"], alert["long_window"], alert["short_window"]) == (severity, long_window, short_window)
        assert alert["factor"] == pytest.approx(factor)
        assert alert["long_burn_rate"] == pytest.approx(burns[long_window], rel=REL)
        assert alert["short_burn_rate"] == pytest.approx(burns[short_window], rel=REL)
        assert alert["firing"] == (burns[long_window] > factor and burns[short_window] > factor)
    # The ongoing 2 % incident burns at 20x: both page alerts fire, the ticket ones do not.
    assert got["alerts_firing"] == ["page:1h/5m", "page:6h/30m"]
    assert got["status"] == "warning"


def test_factors_scale_with_the_slo_window(checked):
    real, _check, history = checked
    got = _by_name(real)["availability-7d"]
    assert [a["factor"] for a in got["burn_rates"]] == pytest.approx([3.36, 1.4, 0.7, 0.1 * 168 / 72], abs=1e-6)
    assert got["error_ratio"] == pytest.approx(history.error_ratio(7 * DAY), rel=REL)
    assert got["status"] == "warning"


def test_error_rate_breached_with_negative_budget(checked):
    real, _check, history = checked
    got = _by_name(real)["error-rate-strict"]
    ratio = history.error_ratio(30 * DAY)
    assert got["actual"] == pytest.approx(ratio * 100, rel=REL)
    assert got["error_budget"]["remaining"] == pytest.approx(1 - ratio / 0.0005, abs=ABS)
    assert got["error_budget"]["remaining"] < 0
    assert got["status"] == "breached"


@pytest.mark.parametrize("name, quantile, threshold, status", [
    ("latency-p95", 0.95, 2.0, "ok"),
    ("latency-p99", 0.99, 1.0, "breached"),
])
def test_latency_quantile_and_budget_from_the_histogram(checked, name, quantile, threshold, status):
    real, _check, history = checked
    got = _by_name(real)[name]
    allowed = 1 - quantile
    assert got["actual"] == pytest.approx(history.quantile(30 * DAY, quantile), rel=REL)
    slow = history.share_slower(30 * DAY, threshold)
    assert got["error_ratio"] == pytest.approx(slow, rel=REL)
    assert got["error_budget"]["remaining"] == pytest.approx(1 - slow / allowed, abs=ABS)
    for alert in got["burn_rates"]:
        assert alert["long_burn_rate"] == pytest.approx(history.share_slower(WINDOWS[alert["long_window"]], threshold) / allowed,
                                                        rel=REL)
    assert got["status"] == status


def test_raw_promql_gives_the_same_numbers(checked):
    real, _check, _history = checked
    objectives = _by_name(real)
    raw, generated = objectives["availability-raw"], objectives["availability"]
    assert raw["error_budget"] == generated["error_budget"]
    assert raw["burn_rates"] == generated["burn_rates"]


def test_empty_data_follows_the_no_data_policy(checked):
    real, _check, _history = checked
    objectives = _by_name(real)
    assert objectives["no-traffic"]["status"] == "inconclusive" and objectives["no-traffic"]["no_data"] is True
    assert objectives["no-traffic"]["actual"] is None
    assert all(a["long_burn_rate"] is None and not a["firing"] for a in objectives["no-traffic"]["burn_rates"])
    assert objectives["no-traffic-strict"]["status"] == "breached"
    assert objectives["too-few-samples"]["status"] == "inconclusive"
    assert "fewer than min_samples" in objectives["too-few-samples"]["message"]


def test_breaches_fail_the_task_and_check_mode_reports_the_same(checked):
    real, check, _history = checked
    assert real.failed and not real.changed
    assert sorted(real["failed_objectives"]) == ["error-rate-strict", "latency-p99", "no-traffic-strict"]
    assert real["msg"].startswith("SLO check failed: ")
    assert real["status"] == "breached" and real["passed"] is False
    assert real["summary"] == {"ok": 1, "warning": 3, "inconclusive": 2, "breached": 3}
    assert not check.failed and not check.changed
    assert check["objectives"] == real["objectives"]
    assert check["failed_objectives"] == []


def test_unreachable_prometheus_and_invalid_promql_are_one_sentence(prometheus_history):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable, invalid = run_module_batch("sre.runbooks.slo_check", [
        {"args": {"prometheus_url": f"http://127.0.0.1:{port}"}},
        {"args": {"prometheus_url": prometheus_history["url"],
                  "objectives": [{"name": "broken", "prometheus": {"total_query": "sum(rate(x[${window}]", "error_query": "0"}}]}},
    ])
    assert unreachable.failed
    assert unreachable["msg"] == f"Cannot reach Prometheus at http://127.0.0.1:{port}: connection refused."
    assert invalid.failed
    assert invalid["msg"].startswith(f"Prometheus at {prometheus_history['url']} rejected the query 'sum(rate(x[30d]':")
    assert "\n" not in invalid["msg"] and "Traceback" not in invalid.output
