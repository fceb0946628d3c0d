# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Promotion gates and the promote / quarantine decision for experiment_promote, with no I/O.

A gate bounds one metric of the experiment (``accuracy`` at least 0.95, ``latency_p95_ms`` at
most 2000). A gate passes, fails, or is *inconclusive* when the metric is missing or not a
number; too few samples make the whole evaluation inconclusive rather than failed, so a
quiet experiment is never quarantined for lack of traffic (the failure Flagger reports as
"no values found").
"""

from __future__ import annotations

import math
import string

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError, finite_number, safe_format

# Defaults from the EXP runbook ("Accuracy below threshold (0.92 < 0.95)") and the platform
# SLOs (error rate, p95 latency below 2 s).
DEFAULT_GATES = (
    {"metric": "accuracy", "min": 0.95},
    {"metric": "error_rate", "max": 0.01},
    {"metric": "latency_p95_ms", "max": 2000},
)
DEFAULT_MIN_SAMPLES = 100
SAMPLE_METRIC = "sample_count"
DEFAULT_REASON = "{failed_summary}"
ON_FAIL = ("quarantine", "fail", "none")
ON_INCONCLUSIVE = ("fail", "none", "quarantine")

# Experiment statuses of the platform's V1 API (docs/platform-api.md).
TERMINAL = {"promoted", "quarantined"}


class GateError(ValueError):
    """A gate definition that cannot be evaluated; the message is one sentence."""


def normalize_gates(gates):
    """Validate gate dicts (``metric`` plus ``min`` and/or ``max``) and give each a name."""
    result = []
    names = set()
    for raw in DEFAULT_GATES if gates is None else gates:
        metric = raw.get("metric")
        if not metric:
            raise GateError("Every gate needs a metric.")
        low, high = _threshold(raw, "min", metric), _threshold(raw, "max", metric)
        if low is None and high is None:
            raise GateError(f"Gate on {metric!r} needs min, max or both.")
        if low is not None and high is not None and low > high:
            raise GateError(f"Gate on {metric!r}: min {raw['min']} is above max {raw['max']}.")
        name = raw.get("name") or metric
        if name in names:
            raise GateError(f"Two gates are named {name!r}; give one of them a different name.")
        names.add(name)
        result.append({"name": name, "metric": metric,
                       "min": None if low is None else float(low), "max": None if high is None else float(high)})
    return result


def _threshold(raw, bound, metric):
    """A gate's min or max as a finite float (or None): a NaN bound compares False, so it would pass everything."""
    value = raw.get(bound)
    if value is None:
        return None
    try:
        return finite_number(value, f"Gate on {metric!r}: {bound}")
    except InputError as exc:
        raise GateError(str(exc)) from None


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _fmt(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_gate(gate, metrics):
    """One gate against the metrics: its status (pass / fail / inconclusive) and a sentence."""
    raw = metrics.get(gate["metric"]) if metrics else None
    value = _number(raw)
    result = dict(gate, value=value)
    if value is None:
        result["status"] = "inconclusive"
        result["message"] = f"{gate['metric']} is {'missing' if raw is None else 'not a number'}"
        return result
    if gate["min"] is not None and value < gate["min"]:
        result["status"] = "fail"
        result["message"] = f"{gate['metric']} below threshold ({_fmt(value)} < {_fmt(gate['min'])})"
    elif gate["max"] is not None and value > gate["max"]:
        result["status"] = "fail"
        result["message"] = f"{gate['metric']} above threshold ({_fmt(value)} > {_fmt(gate['max'])})"
    else:
        bounds = " and ".join(text for text in (
            None if gate["min"] is None else f">= {_fmt(gate['min'])}",
            None if gate["max"] is None else f"<= {_fmt(gate['max'])}") if text)
        result["status"] = "pass"
        result["message"] = f"{gate['metric']} {_fmt(value)} {bounds}"
    return result


def evaluate(gates, metrics, min_samples=DEFAULT_MIN_SAMPLES):
    """All gates plus the sample-size guard.

    Returns ``{"result": pass|fail|inconclusive, "gates": [...], "failed": [names],
    "inconclusive": [names], "samples": n, "summary": text}``. Any failed gate fails the
    evaluation; otherwise a missing metric or too few samples make it inconclusive.
    """
    checked = [check_gate(gate, metrics) for gate in gates]
    samples = _number((metrics or {}).get(SAMPLE_METRIC))
    guard = {"name": "min_samples", "metric": SAMPLE_METRIC, "min": float(min_samples), "max": None, "value": samples}
    if min_samples > 0:
        if samples is None:
            guard.update(status="inconclusive", message=f"{SAMPLE_METRIC} is missing")
        elif samples < min_samples:
            guard.update(status="inconclusive",
                         message=f"only {_fmt(samples)} samples, fewer than the {min_samples} needed for a decision")
        else:
            guard.update(status="pass", message=f"{_fmt(samples)} samples >= {min_samples}")
        checked.append(guard)
    failed = [g["name"] for g in checked if g["status"] == "fail"]
    unknown = [g["name"] for g in checked if g["status"] == "inconclusive"]
    verdict = "fail" if failed else ("inconclusive" if unknown else "pass")
    summary = "; ".join(g["message"] for g in checked if g["status"] == ("fail" if failed else "inconclusive")) \
        if verdict != "pass" else "all gates passed"
    return {"result": verdict, "gates": checked, "failed": failed, "inconclusive": unknown,
            "samples": samples, "summary": summary}


def decide(status, evaluation, state="promoted", force=False, on_fail="quarantine", on_inconclusive="fail"):
    """What to do with an experiment in platform ``status`` given its gate ``evaluation``.

    Returns ``{"decision", "action", "fail", "why"}``: ``action`` is promote, quarantine or
    none; ``fail`` says the task should fail (with ``why`` as its message) without acting.
    Decisions: promote, quarantine, reject, inconclusive, already_promoted, already_quarantined.
    """
    if status == "promoted":
        if state == "quarantined":
            return _plan("already_promoted", "none", True,
                         "it is promoted to V2; roll V2 back before quarantining it")
        return _plan("already_promoted", "none", False, "it is already promoted to V2")
    if status == "quarantined":
        return _plan("already_quarantined", "none", False, "it is already quarantined")
    if state == "quarantined":
        return _plan("quarantine", "quarantine", False, "quarantine requested")
    if status == "running":
        if force:
            return _plan("inconclusive", "none", True, "a run is still in progress; wait for it before forcing a promotion")
        return _by_policy("inconclusive", on_inconclusive, "a run is still in progress")
    if force:
        return _plan("promote", "promote", False, "promotion forced" + (
            "" if evaluation["result"] == "pass" else f" despite: {evaluation['summary']}"))
    if evaluation["result"] == "pass":
        return _plan("promote", "promote", False, "all gates passed")
    if evaluation["result"] == "fail":
        if on_fail == "quarantine":
            return _plan("quarantine", "quarantine", False, evaluation["summary"])
        return _plan("reject", "none", on_fail == "fail", evaluation["summary"])
    return _by_policy("inconclusive", on_inconclusive, evaluation["summary"])


def _by_policy(decision, policy, why):
    if policy == "quarantine":
        return _plan("quarantine", "quarantine", False, why)
    return _plan(decision, "none", policy == "fail", why)


def _plan(decision, action, fail, why):
    return {"decision": decision, "action": action, "fail": fail, "why": why}


class _Missing(dict):
    def __missing__(self, key):
        raise GateError(f"The reason template names an unknown field {{{key}}}; "
                        f"use one of {', '.join(sorted(self))}.")


def render_reason(template, experiment, evaluation):
    """Fill a reason template such as ``'{failed_summary} ({experiment_name})'``.

    Fields: experiment_id, experiment_name, failed_summary, failed_gates, inconclusive_gates,
    primary_model, secondary_model, samples. Jinja is resolved by Ansible before the module
    runs, so the module's own fields use single braces.
    """
    fields = _Missing(
        experiment_id=experiment.get("id", ""),
        experiment_name=experiment.get("name", ""),
        failed_summary=_capitalize(evaluation["summary"]),
        failed_gates=", ".join(evaluation["failed"]) or "none",
        inconclusive_gates=", ".join(evaluation["inconclusive"]) or "none",
        primary_model=experiment.get("primary_model") or "",
        secondary_model=experiment.get("secondary_model") or "",
        samples="unknown" if evaluation["samples"] is None else _fmt(evaluation["samples"]),
    )
    try:
        names = [part[1] for part in string.Formatter().parse(template) if part[1] is not None]
    except ValueError as exc:
        raise GateError(f"The reason template is not valid: {exc}.") from None
    for name in names:
        if not name or not name.isidentifier():
            raise GateError(f"The reason template has an invalid field {{{name}}}; use names such as {{failed_summary}}.")
        fields[name]  # pylint: disable=pointless-statement  # _Missing raises the sentence for an unknown field
    try:
        return safe_format(template, "The reason template", dict(fields))
    except InputError as exc:
        raise GateError(str(exc)) from None


def _capitalize(text):
    return text[:1].upper() + text[1:] if text else text


def impact_analysis(experiment, evaluation, extra=None):
    """The quarantine record's impact analysis: affected models, failed gates, metrics, plus ``extra``."""
    models = [m for m in (experiment.get("primary_model"), experiment.get("secondary_model")) if m]
    analysis = {
        "affected_models": models,
        "failed_gates": [
            {"gate": g["name"], "metric": g["metric"], "value": g["value"], "min": g["min"], "max": g["max"],
             "message": g["message"]}
            for g in evaluation["gates"] if g["status"] != "pass"
        ],
        "metrics": dict(experiment.get("metrics") or {}),
        "recommendation": _recommendation(evaluation),
    }
    analysis.update(extra or {})
    return analysis


def _recommendation(evaluation):
    failed = {g["metric"] for g in evaluation["gates"] if g["status"] == "fail"}
    if "accuracy" in failed:
        return "Adjust the prompt template or the model choice, then run a new experiment."
    if failed & {"latency_p95_ms", "latency_p99_ms", "latency_p50_ms"}:
        return "Reduce latency (smaller model, shorter prompt or routing to the secondary model), then re-run."
    if "error_rate" in failed:
        return "Investigate provider errors and retries before re-running the experiment."
    if evaluation["result"] == "inconclusive":
        return "Collect more samples before deciding."
    return "Review the failed gates before re-running the experiment."
