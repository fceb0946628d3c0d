from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._platform.gates import (
    GateError,
    check_gate,
    decide,
    evaluate,
    impact_analysis,
    normalize_gates,
    render_reason,
)

GATES = normalize_gates(None)
GOOD = {"accuracy": 0.97, "error_rate": 0.004, "latency_p95_ms": 1200, "sample_count": 400}


def test_default_gates_are_the_runbooks():
    assert [(g["metric"], g["min"], g["max"]) for g in GATES] == [
        ("accuracy", 0.95, None), ("error_rate", None, 0.01), ("latency_p95_ms", None, 2000.0)]


@pytest.mark.parametrize("gate, value, status, message", [
    ({"metric": "accuracy", "min": 0.95}, 0.92, "fail", "accuracy below threshold (0.92 < 0.95)"),
    ({"metric": "accuracy", "min": 0.95}, 0.95, "pass", "accuracy 0.95 >= 0.95"),
    ({"metric": "latency_p95_ms", "max": 2000}, 2500, "fail", "latency_p95_ms above threshold (2500 > 2000)"),
    ({"metric": "error_rate", "min": 0, "max": 0.01}, 0.005, "pass", "error_rate 0.005 >= 0 and <= 0.01"),
    ({"metric": "accuracy", "min": 0.95}, None, "inconclusive", "accuracy is missing"),
    ({"metric": "accuracy", "min": 0.95}, "NaN", "inconclusive", "accuracy is not a number"),
    ({"metric": "accuracy", "min": 0.95}, float("nan"), "inconclusive", "accuracy is not a number"),
    ({"metric": "accuracy", "min": 0.95}, True, "inconclusive", "accuracy is not a number"),
])
def test_check_gate(gate, value, status, message):
    [normalized] = normalize_gates([gate])
    metrics = {} if value is None else {gate["metric"]: value}
    result = check_gate(normalized, metrics)
    assert (result["status"], result["message"]) == (status, message)


@pytest.mark.parametrize("gates, message", [
    ([{"min": 1}], "needs a metric"),
    ([{"metric": "accuracy"}], "needs min, max or both"),
    ([{"metric": "accuracy", "min": 2, "max": 1}], "min 2 is above max 1"),
    ([{"metric": "accuracy", "min": 0.9}, {"metric": "accuracy", "max": 1}], "Two gates are named 'accuracy'"),
])
def test_bad_gates(gates, message):
    with pytest.raises(GateError, match=message):
        normalize_gates(gates)


@pytest.mark.parametrize("metrics, min_samples, result, failed, inconclusive", [
    (GOOD, 100, "pass", [], []),
    (dict(GOOD, accuracy=0.92), 100, "fail", ["accuracy"], []),
    (dict(GOOD, accuracy=0.92, latency_p95_ms=2500), 100, "fail", ["accuracy", "latency_p95_ms"], []),
    (dict(GOOD, sample_count=40), 100, "inconclusive", [], ["min_samples"]),
    (dict(GOOD, sample_count=40), 0, "pass", [], []),
    # A failed gate wins over too few samples: the data we have already says no.
    (dict(GOOD, accuracy=0.5, sample_count=40), 100, "fail", ["accuracy"], ["min_samples"]),
    ({k: v for k, v in GOOD.items() if k != "error_rate"}, 100, "inconclusive", [], ["error_rate"]),
    ({}, 100, "inconclusive", [], ["accuracy", "error_rate", "latency_p95_ms", "min_samples"]),
])
def test_evaluate(metrics, min_samples, result, failed, inconclusive):
    evaluation = evaluate(GATES, metrics, min_samples)
    assert evaluation["result"] == result
    assert evaluation["failed"] == failed
    assert evaluation["inconclusive"] == inconclusive


def test_summary_names_what_decided():
    assert evaluate(GATES, dict(GOOD, accuracy=0.92))["summary"] == "accuracy below threshold (0.92 < 0.95)"
    assert evaluate(GATES, dict(GOOD, sample_count=7))["summary"] == \
        "only 7 samples, fewer than the 100 needed for a decision"
    assert evaluate(GATES, GOOD)["summary"] == "all gates passed"


PASS = evaluate(GATES, GOOD)
FAIL = evaluate(GATES, dict(GOOD, accuracy=0.92))
UNSURE = evaluate(GATES, dict(GOOD, sample_count=3))


@pytest.mark.parametrize("status, evaluation, kwargs, decision, action, fail", [
    ("completed", PASS, {}, "promote", "promote", False),
    ("completed", FAIL, {}, "quarantine", "quarantine", False),
    ("completed", FAIL, {"on_fail": "fail"}, "reject", "none", True),
    ("completed", FAIL, {"on_fail": "none"}, "reject", "none", False),
    ("completed", FAIL, {"force": True}, "promote", "promote", False),
    ("completed", UNSURE, {}, "inconclusive", "none", True),
    ("completed", UNSURE, {"on_inconclusive": "none"}, "inconclusive", "none", False),
    ("completed", UNSURE, {"on_inconclusive": "quarantine"}, "quarantine", "quarantine", False),
    ("completed", UNSURE, {"force": True}, "promote", "promote", False),
    ("failed", FAIL, {}, "quarantine", "quarantine", False),
    ("created", evaluate(GATES, {}), {}, "inconclusive", "none", True),
    ("running", PASS, {}, "inconclusive", "none", True),
    ("running", PASS, {"force": True}, "inconclusive", "none", True),
    ("promoted", FAIL, {}, "already_promoted", "none", False),
    ("quarantined", PASS, {}, "already_quarantined", "none", False),
    ("quarantined", PASS, {"force": True}, "already_quarantined", "none", False),
    ("completed", PASS, {"state": "quarantined"}, "quarantine", "quarantine", False),
    ("running", PASS, {"state": "quarantined"}, "quarantine", "quarantine", False),
    ("quarantined", PASS, {"state": "quarantined"}, "already_quarantined", "none", False),
    ("promoted", PASS, {"state": "quarantined"}, "already_promoted", "none", True),
])
def test_decide(status, evaluation, kwargs, decision, action, fail):
    plan = decide(status, evaluation, **kwargs)
    assert (plan["decision"], plan["action"], plan["fail"]) == (decision, action, fail)
    assert plan["why"]


EXPERIMENT = {"id": "exp-0123456789ab", "name": "Test new prompt v3", "primary_model": "gpt-4",
              "secondary_model": "claude-3-opus-20240229", "metrics": dict(GOOD, accuracy=0.92)}


@pytest.mark.parametrize("template, expected", [
    ("{failed_summary}", "Accuracy below threshold (0.92 < 0.95)"),
    ("{experiment_name}: {failed_gates} ({samples} samples, {primary_model})",
     "Test new prompt v3: accuracy (400 samples, gpt-4)"),
    ("literal reason", "literal reason"),
    ("{{braces}} kept", "{braces} kept"),
])
def test_render_reason(template, expected):
    assert render_reason(template, EXPERIMENT, FAIL) == expected


@pytest.mark.parametrize("template, message", [
    ("{nope}", "unknown field {nope}"),
    ("{failed_summary", "not valid"),
    ("{0}", "invalid field {0}"),
    ("{experiment_name.__class__}", "invalid field"),
])
def test_render_reason_refuses_bad_templates(template, message):
    with pytest.raises(GateError, match=message):
        render_reason(template, EXPERIMENT, FAIL)


def test_impact_analysis():
    analysis = impact_analysis(EXPERIMENT, FAIL, {"owner": "ml-platform", "recommendation": "Roll back the prompt"})
    assert analysis["affected_models"] == ["gpt-4", "claude-3-opus-20240229"]
    assert [g["gate"] for g in analysis["failed_gates"]] == ["accuracy"]
    assert analysis["metrics"]["accuracy"] == 0.92
    assert analysis["owner"] == "ml-platform" and analysis["recommendation"] == "Roll back the prompt"
    assert impact_analysis(EXPERIMENT, UNSURE)["recommendation"] == "Collect more samples before deciding."


@pytest.mark.parametrize("template", ["{failed_summary!z}", "{failed_summary:d}", "{samples:{failed_summary}}"])
def test_render_reason_refuses_templates_it_cannot_fill_with_one_sentence(template):
    with pytest.raises(GateError, match=r"^The reason template .*\.$"):
        render_reason(template, EXPERIMENT, FAIL)


@pytest.mark.parametrize("bound", ["nan", float("nan"), "inf", float("-inf"), "many"])
@pytest.mark.parametrize("side", ["min", "max"])
def test_gates_refuse_thresholds_that_are_not_finite_numbers(bound, side):
    with pytest.raises(GateError, match=rf"^Gate on 'accuracy': {side} must be a (finite )?number"):
        normalize_gates([{"metric": "accuracy", side: bound}])
