"""E5 compliance reports: shape checks, the summary and threshold findings (pure functions)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._platform.report_checks import (
    ReportShapeError,
    check_model_performance,
    check_quarantine_statistics,
    check_slo_compliance,
    evaluate,
    number,
    summarize,
)

SLO = {"service": "platform-v2-api", "window": "30d", "compliant": False,
       "objectives": [{"name": "availability", "sli": "availability", "target": 99.9, "actual": 99.8,
                       "error_budget_remaining": -1.0, "status": "breached"},
                      {"name": "latency_p95", "sli": "latency", "target": 2.0, "actual": 0.2,
                       "error_budget_remaining": 0.9, "status": "ok"}],
       "daily": [{"date": "2026-12-01", "requests": 1000.0, "errors": 0.0, "availability": 100.0},
                 {"date": "2026-12-02", "requests": 1000.0, "errors": 20.0, "availability": 98.0},
                 {"date": "2026-12-03", "requests": 0.0, "errors": 0.0, "availability": None}]}
STATS = {"total_records": 2, "last_24h": 1, "last_7d": 2, "by_model": {"gpt-4": 2}, "by_reason": []}
MODELS = {"models": [
    {"model": "gpt-4", "experiments": 3, "quarantined": 1, "avg_accuracy": 0.94, "avg_error_rate": 0.004,
     "avg_latency_p95_ms": 900},
    {"model": "claude", "experiments": 1, "quarantined": 1, "avg_accuracy": None, "avg_error_rate": None,
     "avg_latency_p95_ms": None}]}


def test_summary_figures():
    summary = summarize(SLO, STATS, MODELS)
    assert summary["requests"] == 2000 and summary["errors"] == 20
    assert summary["availability_percent"] == 99.0
    assert summary["objectives_breached"] == ["availability"]
    assert summary["experiments"] == 4 and summary["quarantined_experiments"] == 2
    assert summary["quarantine_rate_percent"] == 50.0
    assert summary["models"] == 2


def test_summary_without_traffic_or_experiments_has_no_rates():
    empty = summarize(dict(SLO, daily=[]), STATS, {"models": []})
    assert empty["availability_percent"] is None and empty["quarantine_rate_percent"] is None


def test_no_thresholds_no_findings():
    assert evaluate(SLO, STATS, MODELS, {}) == ([], [])


@pytest.mark.parametrize("thresholds, expected", [
    ({"min_availability_percent": 99.5},
     [("min_availability_percent", "platform-v2-api",
       "Availability of platform-v2-api over 30d is 99, below the minimum 99.5 (min_availability_percent).")]),
    ({"min_availability_percent": 99.0}, []),
    ({"min_daily_availability_percent": 99},
     [("min_daily_availability_percent", "platform-v2-api 2026-12-02",
       "Availability of platform-v2-api on 2026-12-02 is 98, below the minimum 99 (min_daily_availability_percent).")]),
    ({"min_error_budget_remaining": 0},
     [("min_error_budget_remaining", "platform-v2-api availability",
       "Error budget remaining of SLO 'availability' is -1, below the minimum 0 (min_error_budget_remaining).")]),
    ({"breached_objectives": True},
     [("breached_objectives", "platform-v2-api availability",
       "SLO 'availability' of platform-v2-api is breached over 30d: actual 99.8 against target 99.9.")]),
    ({"max_quarantine_rate_percent": 25},
     [("max_quarantine_rate_percent", "experiments",
       "Quarantine rate (2 of 4 experiments, percent) is 50, above the maximum 25 (max_quarantine_rate_percent).")]),
    ({"max_quarantined_last_24h": 0, "max_quarantined_last_7d": 2},
     [("max_quarantined_last_24h", "quarantine records",
       "Quarantines in the last 24 hours is 1, above the maximum 0 (max_quarantined_last_24h).")]),
    ({"min_accuracy": 0.95, "max_error_rate": 0.004, "max_latency_p95_ms": 899.5},
     [("min_accuracy", "gpt-4", "Model 'gpt-4' average accuracy is 0.94, below the minimum 0.95 (min_accuracy)."),
      ("max_latency_p95_ms", "gpt-4",
       "Model 'gpt-4' average p95 latency (ms) is 900, above the maximum 899.5 (max_latency_p95_ms).")]),
])
def test_threshold_findings(thresholds, expected):
    findings, _no_data = evaluate(SLO, STATS, MODELS, thresholds)
    assert [(f["option"], f["subject"], f["message"]) for f in findings] == expected


def test_a_limit_equal_to_the_value_passes():
    limits = {"min_accuracy": 0.94, "max_quarantine_rate_percent": 50, "max_quarantined_last_7d": 2}
    findings, _no_data = evaluate(SLO, STATS, MODELS, limits)
    assert findings == []


def test_missing_data_is_not_a_breach():
    findings, no_data = evaluate(SLO, STATS, MODELS, {"min_accuracy": 0.99, "min_daily_availability_percent": 50})
    assert [f["subject"] for f in findings] == ["gpt-4"]
    assert no_data == ["Availability of platform-v2-api on 2026-12-03 has no data (min_daily_availability_percent "
                       "not judged).",
                       "Model 'claude' average accuracy has no data (min_accuracy not judged)."]


def test_a_daily_row_without_availability_is_computed():
    slo = copy.deepcopy(SLO)
    slo["daily"][1]["availability"] = None
    findings, _no_data = evaluate(slo, STATS, MODELS, {"min_daily_availability_percent": 99})
    assert findings[0]["value"] == 98.0


@pytest.mark.parametrize("check, data, message", [
    (check_slo_compliance, {"objectives": []}, "'daily' is missing"),
    (check_slo_compliance, {"daily": {}, "objectives": []}, "'daily' is not a list"),
    (check_slo_compliance, {"daily": [1], "objectives": []}, "'daily' is not a list of objects"),
    (check_slo_compliance, {"daily": [{"requests": "many", "errors": 0}], "objectives": []},
     "a daily row's 'requests' is not a number"),
    (check_slo_compliance, {"daily": [{"requests": True, "errors": 0}], "objectives": []},
     "a daily row's 'requests' is not a number"),
    (check_slo_compliance, {"daily": [], "objectives": [{"name": "a"}]}, "an objective's 'status' is missing"),
    (check_quarantine_statistics, dict(STATS, last_24h=1.5), "'last_24h' is not a whole number"),
    (check_quarantine_statistics, dict(STATS, by_model=[]), "'by_model' is not an object"),
    (check_model_performance, {"models": [{"model": 4}]}, "a model's 'model' is not text"),
    (check_model_performance, {"models": [dict(MODELS["models"][0], avg_accuracy="high")]},
     "a model's 'avg_accuracy' is not a number"),
])
def test_wrong_shapes_name_the_field(check, data, message):
    with pytest.raises(ReportShapeError) as raised:
        check(data)
    assert str(raised.value) == message


def test_good_shapes_pass_unchanged():
    assert check_slo_compliance(SLO) is SLO
    assert check_quarantine_statistics(STATS) is STATS
    assert check_model_performance(MODELS) is MODELS


@pytest.mark.parametrize("value, text", [(99.0, "99"), (33.33333333, "33.333333"), (0.1 + 0.2, "0.3"), (None, "None")])
def test_number(value, text):
    assert number(value) == text
