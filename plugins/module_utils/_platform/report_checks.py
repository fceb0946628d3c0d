# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The EXP runbook's compliance reports (E5) as data: shape checks, a summary and threshold findings. Pure.

The three reports are the platform's answers to ``GET /api/v1/metrics/slo-compliance`` (V2),
``GET /api/v1/quarantine/statistics`` (V3) and ``GET /api/v1/metrics/models`` (V2). A report that
does not have the fields the findings read raises :class:`ReportShapeError` naming the field.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._platform.report_args import THRESHOLDS

_NUMBER = (int, float)


class ReportShapeError(Exception):
    """A report lacks a field, or has one of the wrong type; ``str()`` is the field's description."""


def _is_number(value):
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _require(data, field, kind, where, nullable=False):
    value = data.get(field)
    if value is None and nullable:
        return None
    ok = _is_number(value) if kind is _NUMBER else isinstance(value, kind) and not isinstance(value, bool)
    if not ok:
        names = {_NUMBER: "a number", list: "a list", dict: "an object", str: "text", int: "a whole number"}
        raise ReportShapeError(f"{where}{field!r} is {'missing' if field not in data else 'not ' + names[kind]}")
    return value


def _objects(data, field, where):
    items = _require(data, field, list, where)
    if not all(isinstance(item, dict) for item in items):
        raise ReportShapeError(f"{where}{field!r} is not a list of objects")
    return items


def check_slo_compliance(data):
    """Raise ReportShapeError unless ``data`` is an SLO compliance report (objectives and daily rows)."""
    for row in _objects(data, "daily", ""):
        _require(row, "requests", _NUMBER, "a daily row's ")
        _require(row, "errors", _NUMBER, "a daily row's ")
    for objective in _objects(data, "objectives", ""):
        _require(objective, "name", str, "an objective's ")
        _require(objective, "status", str, "an objective's ")
    return data


def check_quarantine_statistics(data):
    """Raise ReportShapeError unless ``data`` is a quarantine statistics report."""
    for field in ("total_records", "last_24h", "last_7d"):
        _require(data, field, int, "")
    _require(data, "by_model", dict, "")
    return data


def check_model_performance(data):
    """Raise ReportShapeError unless ``data`` is a model performance report."""
    for entry in _objects(data, "models", ""):
        _require(entry, "model", str, "a model's ")
        for field in ("experiments", "quarantined"):
            _require(entry, field, int, "a model's ")
        for field in ("avg_accuracy", "avg_error_rate", "avg_latency_p95_ms"):
            _require(entry, field, _NUMBER, "a model's ", nullable=True)
    return data


def summarize(slo, quarantine, models):
    """The figures the thresholds compare: availability over the window, quarantine rate, model count."""
    requests = sum(row["requests"] for row in slo["daily"])
    errors = sum(row["errors"] for row in slo["daily"])
    experiments = sum(entry["experiments"] for entry in models["models"])
    quarantined = sum(entry["quarantined"] for entry in models["models"])
    return {
        "service": slo.get("service"),
        "window": slo.get("window"),
        "requests": round(requests, 3),
        "errors": round(errors, 3),
        "availability_percent": round((requests - errors) / requests * 100, 6) if requests else None,
        "objectives_breached": [o["name"] for o in slo["objectives"] if o["status"] == "breached"],
        "quarantine_records": quarantine["total_records"],
        "quarantined_last_24h": quarantine["last_24h"],
        "quarantined_last_7d": quarantine["last_7d"],
        "experiments": experiments,
        "quarantined_experiments": quarantined,
        "quarantine_rate_percent": round(quarantined / experiments * 100, 6) if experiments else None,
        "models": len(models["models"]),
    }


def number(value):
    """A figure as an operator reads it: up to 6 decimals, no trailing zeros."""
    return format(round(value, 6), ".15g") if _is_number(value) else str(value)


def _finding(report, subject, metric, value, option, threshold, text):
    limit = THRESHOLDS[option][2]
    word = "minimum" if limit == "min" else "maximum"
    return {"report": report, "subject": subject, "metric": metric, "value": value, "threshold": threshold,
            "option": option, "message": f"{text} is {number(value)}, {'below' if limit == 'min' else 'above'} "
                                         f"the {word} {number(threshold)} ({option})."}


def _breaches(option, value, threshold):
    if threshold is None or value is None:
        return False
    return value < threshold if THRESHOLDS[option][2] == "min" else value > threshold


def evaluate(slo, quarantine, models, thresholds):
    """(findings, no_data): one finding per threshold breached, and what could not be judged for lack of data.

    ``thresholds`` maps THRESHOLDS options (and ``breached_objectives``) to limits; None skips a check.
    """
    thresholds = thresholds or {}
    summary = summarize(slo, quarantine, models)
    service, window = summary["service"] or "the service", summary["window"] or "the window"
    findings, no_data = [], []

    def check(option, report, subject, metric, value, text):
        threshold = thresholds.get(option)
        if threshold is None:
            return
        if value is None:
            no_data.append(f"{text} has no data ({option} not judged).")
        elif _breaches(option, value, threshold):
            findings.append(_finding(report, subject, metric, value, option, threshold, text))

    check("min_availability_percent", "slo_compliance", service, "availability_percent",
          summary["availability_percent"], f"Availability of {service} over {window}")
    for row in slo["daily"]:
        daily = row.get("availability")
        if daily is None and row["requests"]:
            daily = (row["requests"] - row["errors"]) / row["requests"] * 100
        check("min_daily_availability_percent", "slo_compliance", f"{service} {row.get('date', '?')}",
              "availability_percent", daily, f"Availability of {service} on {row.get('date', '?')}")
    for objective in slo["objectives"]:
        check("min_error_budget_remaining", "slo_compliance", f"{service} {objective['name']}", "error_budget_remaining",
              objective.get("error_budget_remaining"), f"Error budget remaining of SLO {objective['name']!r}")
        if thresholds.get("breached_objectives") and objective["status"] == "breached":
            findings.append({"report": "slo_compliance", "subject": f"{service} {objective['name']}", "metric": "status",
                             "value": objective.get("actual"), "threshold": objective.get("target"),
                             "option": "breached_objectives",
                             "message": f"SLO {objective['name']!r} of {service} is breached over {window}: actual "
                                        f"{number(objective.get('actual'))} against target "
                                        f"{number(objective.get('target'))}."})
    check("max_quarantine_rate_percent", "quarantine_statistics", "experiments", "quarantine_rate_percent",
          summary["quarantine_rate_percent"],
          f"Quarantine rate ({summary['quarantined_experiments']} of {summary['experiments']} experiments, percent)")
    check("max_quarantined_last_24h", "quarantine_statistics", "quarantine records", "last_24h",
          quarantine["last_24h"], "Quarantines in the last 24 hours")
    check("max_quarantined_last_7d", "quarantine_statistics", "quarantine records", "last_7d",
          quarantine["last_7d"], "Quarantines in the last 7 days")
    for entry in models["models"]:
        for option, field, label in (("min_accuracy", "avg_accuracy", "average accuracy"),
                                     ("max_error_rate", "avg_error_rate", "average error rate"),
                                     ("max_latency_p95_ms", "avg_latency_p95_ms", "average p95 latency (ms)")):
            check(option, "model_performance", entry["model"], field, entry.get(field),
                  f"Model {entry['model']!r} {label}")
    return findings, no_data
