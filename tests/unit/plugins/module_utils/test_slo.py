from __future__ import annotations

import math

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._slo.evaluate import (
    SloError,
    alert_windows,
    allowed_bad_ratio,
    evaluate_objective,
    evaluate_threshold,
    histogram_quantile,
    histogram_share_above,
    normalize_objective,
    overall_status,
    prometheus_duration,
    sample_quantile,
    should_fail,
    summarize,
    windows_needed,
)

THIRTY_DAYS = 30 * 86400


def _objective(**raw):
    return normalize_objective(dict({"name": "o"}, **raw))


@pytest.mark.parametrize("long_window, short_window, consumed, factor", [
    ("1h", "5m", 0.02, 14.4),
    ("6h", "30m", 0.05, 6.0),
    ("1d", "2h", 0.10, 3.0),
    ("3d", "6h", 0.10, 1.0),
])
def test_workbook_factors_for_a_30_day_slo(long_window, short_window, consumed, factor):
    alerts = {(a["long_window"], a["short_window"]): a for a in alert_windows(THIRTY_DAYS)}
    alert = alerts[(long_window, short_window)]
    assert alert["factor"] == pytest.approx(factor)
    assert alert["budget_consumed"] == pytest.approx(consumed)


@pytest.mark.parametrize("period_days, factors", [
    (28, [13.44, 5.6, 2.8, 0.933333]),
    (7, [3.36, 1.4, 0.7, 0.233333]),
])
def test_factors_scale_with_the_period(period_days, factors):
    assert [a["factor"] for a in alert_windows(period_days * 86400)] == pytest.approx(factors, abs=1e-6)


def test_explicit_factor_wins_and_bad_alerts_are_refused():
    [alert] = alert_windows(THIRTY_DAYS, [{"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 10}])
    assert alert["factor"] == 10 and alert["budget_consumed"] == pytest.approx(10 / 720, abs=1e-6)
    with pytest.raises(SloError, match="short window must be shorter"):
        alert_windows(THIRTY_DAYS, [{"long_window": "5m", "short_window": "1h", "factor": 2}])
    with pytest.raises(SloError, match="needs factor or budget_consumed"):
        alert_windows(THIRTY_DAYS, [{"long_window": "1h", "short_window": "5m"}])


@pytest.mark.parametrize("sli, target, quantile, allowed", [
    ("availability", 99.9, None, 0.001),
    ("availability", 99.0, None, 0.01),
    ("error_rate", 0.1, None, 0.001),
    ("error_rate", 5, None, 0.05),
    ("latency", 2.0, 0.95, 0.05),
    ("latency", 0.5, 0.99, 0.01),
])
def test_allowed_bad_ratio(sli, target, quantile, allowed):
    assert allowed_bad_ratio(sli, target, quantile or 0.95) == pytest.approx(allowed)


@pytest.mark.parametrize("raw, message", [
    ({"name": "a", "sli": "availability", "target": 100}, "between 0 and 100"),
    ({"name": "a", "sli": "error_rate", "target": 0}, "highest allowed error percentage"),
    ({"name": "a", "sli": "latency", "target": -1}, "threshold in seconds"),
    ({"name": "a", "sli": "latency", "quantile": 1.0}, "quantile must lie between 0 and 1"),
    ({"name": "a", "window": "forever"}, "Invalid window of objective 'a'"),
    ({"name": "a", "no_data": "maybe"}, "unknown no_data policy"),
    ({"name": "a", "sli": "saturation"}, "unknown sli"),
    ({"sli": "availability"}, "needs a name"),
])
def test_invalid_objectives_are_one_sentence(raw, message):
    with pytest.raises(SloError) as caught:
        normalize_objective(raw)
    assert message in str(caught.value)
    assert str(caught.value).endswith(".")


def test_defaults_come_from_the_runbooks_and_module_level():
    o = normalize_objective({"name": "lat", "sli": "latency"}, {"window": "7d", "min_samples": 50, "no_data": "fail"})
    assert (o["target"], o["quantile"], o["window"], o["window_seconds"], o["min_samples"], o["no_data"]) == \
        (2.0, 0.95, "7d", 7 * 86400, 50, "fail")
    assert normalize_objective({"name": "a"})["target"] == 99.9
    assert normalize_objective({"name": "e", "sli": "error_rate"})["target"] == 0.1


@pytest.mark.parametrize("text, duration", [("30d", "30d"), ("1h", "1h"), ("90m", "90m"), ("120m", "2h"),
                                            ("1 day", "1d"), ("45s", "45s"), ("1.5h", "90m")])
def test_prometheus_duration(text, duration):
    assert prometheus_duration(text) == duration


def test_windows_needed_lists_each_window_once():
    o = _objective()
    assert windows_needed(o, alert_windows(THIRTY_DAYS)) == ["30d", "1h", "5m", "6h", "30m", "1d", "2h", "3d"]


def _windows(ratio_by_window, total=1_000_000):
    return {w: {"total": total, "bad": total * r} for w, r in ratio_by_window.items()}


ALL = ("30d", "1h", "5m", "6h", "30m", "1d", "2h", "3d")


@pytest.mark.parametrize("ratios, status, firing", [
    ({w: 0.0002 for w in ALL}, "ok", []),
    (dict({w: 0.0002 for w in ALL}, **{"1h": 0.02, "5m": 0.02}), "warning", ["page:1h/5m"]),
    # The long window alone is not enough: both windows must exceed the factor.
    (dict({w: 0.0002 for w in ALL}, **{"1h": 0.02, "5m": 0.0001}), "ok", []),
    (dict({w: 0.0002 for w in ALL}, **{"6h": 0.007, "30m": 0.007}), "warning", ["page:6h/30m"]),
    (dict({w: 0.0005 for w in ALL}, **{"3d": 0.0011, "6h": 0.0011}), "warning", ["ticket:3d/6h"]),
    ({w: 0.0012 for w in ALL}, "breached", ["ticket:3d/6h"]),
    # Exactly at the factor is not above it.
    (dict({w: 0.0002 for w in ALL}, **{"1h": 0.0144, "5m": 0.0144}), "ok", []),
])
def test_burn_rate_alerts_and_status(ratios, status, firing):
    o = _objective()
    result = evaluate_objective(o, _windows(ratios), alert_windows(THIRTY_DAYS))
    assert result["status"] == status
    assert result["alerts_firing"] == firing
    page = result["burn_rates"][0]
    assert page["long_burn_rate"] == pytest.approx(ratios["1h"] / 0.001)
    assert page["short_burn_rate"] == pytest.approx(ratios["5m"] / 0.001)


def test_budget_numbers():
    o = _objective()
    result = evaluate_objective(o, _windows({w: 0.0004 for w in ALL}), alert_windows(THIRTY_DAYS))
    budget = result["error_budget"]
    assert result["actual"] == pytest.approx(99.96)
    assert budget["consumed"] == pytest.approx(0.4) and budget["remaining"] == pytest.approx(0.6)
    assert budget["remaining_percent"] == pytest.approx(60.0)
    assert budget["allowed_bad_events"] == pytest.approx(1000.0)
    assert budget["bad_events"] == pytest.approx(400.0)
    # 60 % of a 720 h budget left, spent at 0.4x: 1080 h.
    assert budget["exhaustion_hours"] == pytest.approx(0.6 * 720 / 0.4)
    assert result["message"] == "o: availability 99.9600 % >= 99.9 % over 30d, 60.0 % of the error budget left (ok)."


def test_low_budget_is_a_warning():
    o = _objective()
    assert evaluate_objective(o, _windows({w: 0.0008 for w in ALL}), alert_windows(THIRTY_DAYS))["status"] == "warning"
    assert evaluate_objective(o, _windows({w: 0.0008 for w in ALL}), alert_windows(THIRTY_DAYS),
                              budget_warning=0.1)["status"] == "ok"


def test_error_rate_objective_reports_percent():
    o = _objective(sli="error_rate", target=0.5)
    result = evaluate_objective(o, _windows({w: 0.006 for w in ALL}), [])
    assert result["actual"] == pytest.approx(0.6) and result["status"] == "breached"
    assert result["error_budget"]["remaining"] == pytest.approx(-0.2)
    assert result["message"].startswith("o: error rate 0.6000 % > 0.5 % over 30d")


@pytest.mark.parametrize("policy, status", [("inconclusive", "inconclusive"), ("fail", "breached"), ("pass", "ok")])
def test_no_data_policy(policy, status):
    o = _objective(no_data=policy)
    result = evaluate_objective(o, {}, alert_windows(THIRTY_DAYS))
    assert result["status"] == status and result["no_data"] is True
    assert result["actual"] is None and result["error_ratio"] is None
    assert all(b["long_burn_rate"] is None and not b["firing"] for b in result["burn_rates"])
    assert result["message"] == f"o: no data in the last 30d (no_data={policy})."


def test_zero_events_and_too_few_samples():
    o = _objective(min_samples=100)
    zero = evaluate_objective(o, {"30d": {"total": 0.0, "bad": 0.0}}, [])
    assert zero["status"] == "inconclusive" and zero["no_data"]
    few = evaluate_objective(o, {"30d": {"total": 40.0, "bad": 0.0}}, [])
    assert few["status"] == "inconclusive"
    assert few["message"] == "o: only 40 events, fewer than min_samples 100 in the last 30d (no_data=inconclusive)."


def test_nan_values_are_no_data():
    o = _objective(sli="latency")
    result = evaluate_objective(o, {"30d": {"total": None, "bad": None, "value": math.nan}}, [])
    assert result["status"] == "inconclusive"


def test_latency_from_value_only_has_no_budget():
    o = _objective(sli="latency", target=2.0)
    result = evaluate_objective(o, {"30d": {"total": None, "bad": None, "value": 2.5}}, [])
    assert result["status"] == "breached" and result["actual"] == 2.5
    assert result["error_budget"]["remaining"] is None
    assert result["message"] == "o: p95 latency 2.500s > 2s over 30d (breached)."


# Cumulative buckets: 100 requests, 50 within 0.1 s, 90 within 0.5 s, 99 within 2 s.
BUCKETS = [(0.1, 50), (0.5, 90), (2.0, 99), (math.inf, 100)]


@pytest.mark.parametrize("q, expected", [
    (0.5, 0.1),
    (0.7, 0.1 + 0.4 * 20 / 40),
    (0.9, 0.5),
    (0.95, 0.5 + 1.5 * 5 / 9),
    (0.995, 2.0),  # in the +Inf bucket: the last finite bound, as Prometheus answers
    (0.25, 0.05),
])
def test_histogram_quantile_matches_promql(q, expected):
    assert histogram_quantile(q, BUCKETS) == pytest.approx(expected)


def test_histogram_quantile_edge_cases():
    assert histogram_quantile(0.5, []) is None
    assert histogram_quantile(0.5, [(0.1, 0), (math.inf, 0)]) is None
    assert histogram_quantile(0.5, [(0.1, 5), (0.5, 10)]) is None  # no +Inf bucket
    # Non-monotonic counts (scrape races) are made monotonic first.
    assert histogram_quantile(0.6, [(0.1, 50), (0.5, 40), (math.inf, 100)]) == pytest.approx(0.5)


@pytest.mark.parametrize("threshold, slow", [(0.5, 10), (2.0, 1), (0.3, 30), (5.0, 1), (0.05, 75)])
def test_share_above_threshold_interpolates_like_the_quantile(threshold, slow):
    total, bad = histogram_share_above(threshold, BUCKETS)
    assert total == 100 and bad == pytest.approx(slow)


@pytest.mark.parametrize("threshold", [0.05, 0.2, 0.5, 1.0, 1.9])
@pytest.mark.parametrize("quantile", [0.5, 0.8, 0.9, 0.95])
def test_quantile_and_share_agree(threshold, quantile):
    total, bad = histogram_share_above(threshold, BUCKETS)
    assert (histogram_quantile(quantile, BUCKETS) <= threshold + 1e-12) == (bad / total <= 1 - quantile + 1e-12)


@pytest.mark.parametrize("values, q, expected", [
    ([1, 2, 3, 4, 5], 0.5, 3),
    ([1, 2, 3, 4], 0.5, 2.5),
    ([5, 1, 4, 2, 3], 0.95, 4.8),
    ([7], 0.99, 7),
    ([], 0.5, None),
])
def test_sample_quantile(values, q, expected):
    assert sample_quantile(q, values) == (None if expected is None else pytest.approx(expected))


def test_overall_status_and_failing():
    results = [{"name": n, "status": s} for n, s in (("a", "ok"), ("b", "warning"), ("c", "inconclusive"))]
    assert overall_status(results) == "warning"
    assert overall_status(results + [{"name": "d", "status": "breached"}]) == "breached"
    assert overall_status([]) == "inconclusive"
    assert should_fail(results, "breached") == []
    assert [r["name"] for r in should_fail(results, "warning")] == ["b"]
    assert should_fail(results + [{"name": "d", "status": "breached"}], "never") == []
    assert summarize(results) == {"ok": 1, "warning": 1, "inconclusive": 1, "breached": 0}


@pytest.mark.parametrize("alert", [
    {"long_window": "1h", "short_window": "5m", "budget_consumed": "nan"},
    {"long_window": "1h", "short_window": "5m", "budget_consumed": float("inf")},
    {"long_window": "1h", "short_window": "5m", "factor": float("nan")},
])
def test_burn_rate_alerts_refuse_thresholds_that_never_fire(alert):
    with pytest.raises(SloError, match=r"must be a (finite )?number"):
        alert_windows(30 * 86400, [alert])


@pytest.mark.parametrize("field", ["target", "quantile"])
def test_objectives_refuse_non_finite_targets(field):
    with pytest.raises(SloError, match=rf"Objective 'api': {field} must be a finite number"):
        normalize_objective({"name": "api", "sli": "latency", "threshold_ms": 300, field: "nan"})


def test_an_infinite_event_count_is_no_usable_data():
    o = _objective()
    result = evaluate_objective(o, {"30d": {"total": math.inf, "bad": math.inf}}, [])
    assert result["status"] == "inconclusive" and result["no_data"] is True
    assert result["message"] == "o: no usable data (the event count is inf) in the last 30d (no_data=inconclusive)."


def _threshold(**raw):
    return normalize_objective(dict({"name": "t", "sli": "threshold", "target": 0.85}, **raw))


def _series(*values, label="model"):
    return [{"labels": {label: f"m{i}"}, "value": value} for i, value in enumerate(values)]


@pytest.mark.parametrize(("bound", "values", "status", "actual", "breaching"), [
    ("lower", [0.9, 0.95], "ok", 0.9, 0),
    ("lower", [0.9, 0.8, 0.84], "breached", 0.8, 2),
    ("lower", [0.85], "ok", 0.85, 0),  # the target itself is within
    ("upper", [0.5, 0.86], "breached", 0.86, 1),
    ("upper", [0.5, float("nan"), 0.7], "ok", 0.7, 0),
])
def test_threshold_objectives_judge_every_series(bound, values, status, actual, breaching):
    result = evaluate_threshold(_threshold(bound=bound), _series(*values))
    assert (result["status"], result["actual"], result["breaching"]) == (status, actual, breaching)
    worst = result["series"][0]["value"]
    assert worst == actual and result["series_count"] == len([v for v in values if not math.isnan(v)])
    assert result["burn_rates"] == [] and result["error_budget"]["remaining"] is None


def test_threshold_messages():
    one = evaluate_threshold(_threshold(bound="lower"), _series(0.8))
    assert one["message"] == "t: 0.8 < 0.85 (lower bound) (breached)."
    lag = normalize_objective({"name": "lag", "sli": "threshold", "target": 300, "unit": "s"})
    assert evaluate_threshold(lag, _series(120))["message"] == "lag: 120s <= 300s (upper bound) (ok)."
    many = evaluate_threshold(_threshold(bound="upper", target=85), _series(91.25, 40, 88, label="pvc"))
    assert many["message"] == "t: 2 of 3 series above 85, worst 91.25 at pvc=m0 (upper bound) (breached)."
    assert [row["breached"] for row in many["series"]] == [True, True, False]


@pytest.mark.parametrize(("policy", "status"), [("inconclusive", "inconclusive"), ("fail", "breached"), ("pass", "ok")])
def test_threshold_without_series_follows_no_data(policy, status):
    result = evaluate_threshold(_threshold(no_data=policy), [])
    assert (result["status"], result["no_data"], result["actual"]) == (status, True, None)
    assert result["message"] == f"t: no data for its query (no_data={policy})."


def test_threshold_series_are_capped_worst_first():
    result = evaluate_threshold(_threshold(target=10), _series(*range(80)))
    assert len(result["series"]) == 50 and result["series"][0]["value"] == 79 and result["series_count"] == 80


@pytest.mark.parametrize(("raw", "message"), [
    ({"name": "t", "sli": "threshold"}, "Objective 't': a threshold objective needs a target, the limit of its value."),
    ({"name": "t", "sli": "threshold", "target": 1, "bound": "middle"},
     "Objective 't': unknown bound 'middle' (use one of upper, lower)."),
])
def test_invalid_threshold_objectives(raw, message):
    with pytest.raises(SloError) as caught:
        normalize_objective(raw)
    assert str(caught.value) == message
