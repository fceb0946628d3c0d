# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""SLO arithmetic, with no I/O: SLIs, error budgets, multi-window burn rates and the verdict.

The sources (Prometheus, the platform's SLO endpoint, HTTP probes) only count events per
window; everything that decides whether an objective holds lives here and is unit-tested
without a server.

Vocabulary (Google SRE Workbook, chapter "Alerting on SLOs"):

* An objective allows a *bad-event ratio*: ``1 - 99.9 %`` for availability, the maximum error
  rate for error_rate, ``1 - quantile`` for latency (95 % of requests under the threshold
  leaves 5 % that may be slower).
* *Budget consumed* is the observed bad ratio divided by the allowed one over the SLO window;
  *remaining* is one minus that (negative once the objective is missed).
* A *burn rate* is the same quotient over a shorter window: 1 spends the budget exactly over
  the SLO period, 14.4 spends 2 % of a 30-day budget in one hour.
* A multi-window alert fires when the burn rate over both its long and its short window
  exceeds its factor.

A *threshold* objective has no events and no budget: the value of a query (model accuracy,
inference time, a volume's fill level) must stay below (``bound: upper``) or above
(``bound: lower``) its target, in every series the query returns.
"""

from __future__ import annotations

import math

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError, finite_number
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval

SLI_KINDS = ("availability", "error_rate", "latency", "threshold")
BOUNDS = ("upper", "lower")
# Series a threshold objective lists in its result, the worst first.
MAX_SERIES = 50
STATUSES = ("ok", "warning", "inconclusive", "breached")
NO_DATA_POLICIES = ("fail", "pass", "inconclusive")
FAIL_ON = ("breached", "warning", "never")

# Runbook defaults (EXP, PIPE, AIC): 99.9 % availability, error rate below 0.1 %, p95 below 2 s.
DEFAULT_TARGETS = {"availability": 99.9, "error_rate": 0.1, "latency": 2.0}
DEFAULT_QUANTILE = 0.95
DEFAULT_WINDOW = "30d"
DEFAULT_BUDGET_WARNING = 0.25

# The SRE Workbook's multiwindow, multi-burn-rate table, as the share of the period's budget
# each alert lets burn in its long window. For a 30-day period the factors are the workbook's
# 14.4, 6, 3 and 1 (factor = budget share x period / long window).
WORKBOOK_ALERTS = (
    {"severity": "page", "long_window": "1h", "short_window": "5m", "budget_consumed": 0.02},
    {"severity": "page", "long_window": "6h", "short_window": "30m", "budget_consumed": 0.05},
    {"severity": "ticket", "long_window": "1d", "short_window": "2h", "budget_consumed": 0.10},
    {"severity": "ticket", "long_window": "3d", "short_window": "6h", "budget_consumed": 0.10},
)

_STATUS_RANK = {"ok": 0, "inconclusive": 1, "warning": 2, "breached": 3}


class SloError(ValueError):
    """An objective or alert definition that cannot be evaluated; the message is one sentence."""


def seconds(window, what="window"):
    """Seconds in a window written like '30d', '1h' or '5m' (SloError when unreadable or not positive)."""
    try:
        value = parse_interval(window, option=what)
    except IntervalError as exc:
        raise SloError(str(exc)) from None
    if value <= 0:
        raise SloError(f"Invalid {what} {window!r}: it must be longer than zero.")
    return value


def prometheus_duration(window):
    """The window in Prometheus range syntax ('30d', '90m', '45s'), from any accepted spelling."""
    total = int(round(seconds(window)))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total % size == 0:
            return f"{total // size}{unit}"
    return f"{total}s"


def normalize_objective(raw, defaults=None):
    """Validate one objective (a dict from the module's options) and fill in the defaults.

    ``defaults`` may carry ``window``, ``min_samples`` and ``no_data`` set at module level.
    Returns a new dict with ``name``, ``sli``, ``target``, ``quantile``, ``window``,
    ``window_seconds``, ``allowed_bad_ratio``, ``min_samples`` and ``no_data``.
    """
    defaults = defaults or {}
    name = raw.get("name")
    if not name:
        raise SloError("Every objective needs a name.")
    sli = raw.get("sli") or "availability"
    if sli not in SLI_KINDS:
        raise SloError(f"Objective {name!r}: unknown sli {sli!r} (use one of {', '.join(SLI_KINDS)}).")
    target = raw.get("target")
    if target is None and sli == "threshold":
        raise SloError(f"Objective {name!r}: a threshold objective needs a target, the limit of its value.")
    target = DEFAULT_TARGETS[sli] if target is None else _finite(target, f"Objective {name!r}: target")
    bound = raw.get("bound") or "upper"
    if bound not in BOUNDS:
        raise SloError(f"Objective {name!r}: unknown bound {bound!r} (use one of {', '.join(BOUNDS)}).")
    quantile = raw.get("quantile")
    quantile = DEFAULT_QUANTILE if quantile is None else _finite(quantile, f"Objective {name!r}: quantile")
    if sli == "availability" and not 0 < target < 100:
        raise SloError(f"Objective {name!r}: an availability target is a percentage between 0 and 100 "
                       f"(exclusive), not {target:g}.")
    if sli == "error_rate" and not 0 < target < 100:
        raise SloError(f"Objective {name!r}: an error_rate target is the highest allowed error percentage, "
                       f"between 0 and 100 (exclusive), not {target:g}.")
    if sli == "latency":
        if target <= 0:
            raise SloError(f"Objective {name!r}: a latency target is a threshold in seconds above zero, not {target:g}.")
        if not 0 < quantile < 1:
            raise SloError(f"Objective {name!r}: quantile must lie between 0 and 1 (exclusive), not {quantile:g}.")
    window = raw.get("window") or defaults.get("window") or DEFAULT_WINDOW
    min_samples = raw.get("min_samples")
    min_samples = defaults.get("min_samples", 1) if min_samples is None else min_samples
    if min_samples < 0:
        raise SloError(f"Objective {name!r}: min_samples cannot be negative.")
    no_data = raw.get("no_data") or defaults.get("no_data") or "inconclusive"
    if no_data not in NO_DATA_POLICIES:
        raise SloError(f"Objective {name!r}: unknown no_data policy {no_data!r} (use one of {', '.join(NO_DATA_POLICIES)}).")
    return {
        "name": name,
        "sli": sli,
        "target": target,
        "quantile": quantile if sli == "latency" else None,
        "window": window,
        "window_seconds": seconds(window, what=f"window of objective {name!r}"),
        "allowed_bad_ratio": None if sli == "threshold" else allowed_bad_ratio(sli, target, quantile),
        "min_samples": int(min_samples),
        "no_data": no_data,
        "bound": bound if sli == "threshold" else None,
        "unit": raw.get("unit") if sli == "threshold" else None,
    }


def allowed_bad_ratio(sli, target, quantile=DEFAULT_QUANTILE):
    """The share of events an objective may get wrong: its error budget as a ratio."""
    if sli == "availability":
        return 1.0 - target / 100.0
    if sli == "error_rate":
        return target / 100.0
    return 1.0 - quantile


def alert_windows(period_seconds, alerts=None):
    """The burn-rate alerts for an SLO period, each with its factor.

    ``alerts`` defaults to the workbook table. An alert may give ``factor`` directly or
    ``budget_consumed`` (the share of the period's budget it lets burn in its long window),
    from which factor = budget_consumed x period / long window.
    """
    result = []
    for alert in alerts or WORKBOOK_ALERTS:
        severity = alert.get("severity") or "page"
        long_window = alert.get("long_window")
        short_window = alert.get("short_window")
        if not long_window or not short_window:
            raise SloError(f"A burn-rate alert ({severity}) needs both long_window and short_window.")
        long_seconds = seconds(long_window, what="long_window")
        short_seconds = seconds(short_window, what="short_window")
        if short_seconds >= long_seconds:
            raise SloError(f"Burn-rate alert {long_window}/{short_window}: the short window must be shorter than the long one.")
        factor = alert.get("factor")
        if factor is None:
            consumed = alert.get("budget_consumed")
            if consumed is None:
                raise SloError(f"Burn-rate alert {long_window}/{short_window} needs factor or budget_consumed.")
            factor = _finite(consumed, f"Burn-rate alert {long_window}/{short_window}: budget_consumed") \
                * period_seconds / long_seconds
        factor = _finite(factor, f"Burn-rate alert {long_window}/{short_window}: factor")
        if factor <= 0:
            raise SloError(f"Burn-rate alert {long_window}/{short_window}: the factor must be above zero.")
        result.append({
            "severity": severity,
            "long_window": long_window,
            "short_window": short_window,
            "factor": round(float(factor), 6),
            "budget_consumed": round(float(factor) * long_seconds / period_seconds, 6),
        })
    return result


def windows_needed(objective, alerts):
    """Every window a source must count for an objective: its SLO window and the alert windows."""
    needed = [objective["window"]]
    for alert in alerts:
        for key in ("long_window", "short_window"):
            if alert[key] not in needed:
                needed.append(alert[key])
    return needed


def ratio(bad, total):
    """bad / total, or None when there are no events (the ratio is undefined, not zero)."""
    if total is None or bad is None or _not_finite(total) or _not_finite(bad) or total <= 0:
        return None
    return min(max(bad / total, 0.0), 1.0)


def burn_rate(bad_ratio, allowed):
    """How fast a window spends the budget; None when the window had no events."""
    if bad_ratio is None:
        return None
    return bad_ratio / allowed


def _not_finite(value):
    return isinstance(value, float) and (math.isnan(value) or math.isinf(value))


def _round(value, digits=6):
    return None if value is None else round(value, digits)


def histogram_quantile(quantile, buckets):
    """The quantile of a cumulative histogram, interpolated exactly as PromQL's histogram_quantile.

    ``buckets`` is a list of (upper bound, cumulative count) pairs that includes +Inf.
    Returns None when the histogram is empty or has no +Inf bucket.
    """
    points = _cumulative(buckets)
    if len(points) < 2 or not math.isinf(points[-1][0]):
        return None
    observations = points[-1][1]
    if observations <= 0:
        return None
    rank = quantile * observations
    index = next(i for i, point in enumerate(points) if point[1] >= rank)
    if index == len(points) - 1:
        return points[-2][0]
    if index == 0 and points[0][0] <= 0:
        return points[0][0]
    start, end, count = 0.0, points[index][0], points[index][1]
    if index > 0:
        start = points[index - 1][0]
        count -= points[index - 1][1]
        rank -= points[index - 1][1]
    if count <= 0:
        return end
    return start + (end - start) * (rank / count)


def histogram_share_above(threshold, buckets):
    """(total, events slower than ``threshold``) from a cumulative histogram, interpolating inside a bucket.

    The interpolation is the one histogram_quantile uses, so "quantile <= threshold" and
    "share above threshold <= 1 - quantile" always agree. Events in the +Inf bucket count as
    slower when the threshold lies past the last finite bound. (None, None) without data.
    """
    points = _cumulative(buckets)
    if not points or not math.isinf(points[-1][0]):
        return None, None
    total = points[-1][1]
    below = 0.0
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in points:
        if math.isinf(bound):
            below = previous_count
            break
        if threshold <= bound:
            width = bound - previous_bound
            share = 1.0 if width <= 0 else (threshold - previous_bound) / width
            below = previous_count + max(0.0, min(1.0, share)) * (count - previous_count)
            break
        previous_bound, previous_count = bound, count
    return total, max(0.0, total - below)


def _cumulative(buckets):
    """Sorted (bound, count) pairs with counts forced monotonic, as Prometheus does."""
    points = sorted((float(bound), float(count)) for bound, count in buckets)
    result = []
    highest = 0.0
    for bound, count in points:
        highest = max(highest, count)
        result.append((bound, highest))
    return result


def sample_quantile(quantile, values):
    """The quantile of raw samples, interpolating linearly between the closest ranks (None if empty)."""
    if not values:
        return None
    ordered = sorted(values)
    position = quantile * (len(ordered) - 1)
    lower = int(math.floor(position))
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def evaluate_objective(objective, windows, alerts, budget_warning=DEFAULT_BUDGET_WARNING):
    """The verdict for one normalized objective.

    ``windows`` maps a window label ('30d', '1h', ...) to ``{"total": n, "bad": m}`` event
    counts, and for the SLO window optionally ``"value"``: the measured SLI (latency in
    seconds at the objective's quantile). A source that cannot count a window leaves it out.
    ``alerts`` comes from :func:`alert_windows` (empty for probes: one sample has no history). A
    threshold objective's window holds ``"series"`` instead (see :func:`evaluate_threshold`).
    """
    if objective["sli"] == "threshold":
        return evaluate_threshold(objective, (windows.get(objective["window"]) or {}).get("series") or [])
    allowed = objective["allowed_bad_ratio"]
    main = windows.get(objective["window"]) or {}
    total, bad = main.get("total"), main.get("bad")
    bad_ratio = ratio(bad, total)
    value = main.get("value")
    if value is not None and _not_finite(value):
        value = None
    if objective["sli"] == "availability":
        actual, unit = (None if bad_ratio is None else (1.0 - bad_ratio) * 100.0), "percent"
    elif objective["sli"] == "error_rate":
        actual, unit = (None if bad_ratio is None else bad_ratio * 100.0), "percent"
    else:
        actual, unit = value, "seconds"

    result = {
        "name": objective["name"],
        "sli": objective["sli"],
        "target": objective["target"],
        "unit": unit,
        "window": objective["window"],
        "actual": _round(actual),
        "events": {"total": _round(total, 3), "bad": _round(bad, 3)},
        "error_ratio": _round(bad_ratio, 9),
        "min_samples": objective["min_samples"],
        "no_data": False,
    }
    if objective["sli"] == "latency":
        result["quantile"] = objective["quantile"]

    burns = _burn_rates(windows, alerts, allowed)
    result["burn_rates"] = burns
    result["alerts_firing"] = [f"{b['severity']}:{b['long_window']}/{b['short_window']}" for b in burns if b["firing"]]
    budget = _error_budget(objective, total, bad, burns)
    result["error_budget"] = budget

    if total is None:
        # Only a raw latency query gives a value without event counts.
        has_data = objective["sli"] == "latency" and actual is not None
    else:  # an infinite count (a server answering 1e400) is no usable data either
        has_data = math.isfinite(total) and total > 0 and total >= objective["min_samples"]
    if not has_data:
        have = total or 0
        why = "no data" if not have else f"only {have:g} events, fewer than min_samples {objective['min_samples']}"
        if not math.isfinite(have):
            why = f"no usable data (the event count is {have:g})"
        result["no_data"] = True
        policy = objective["no_data"]
        result["status"] = {"fail": "breached", "pass": "ok", "inconclusive": "inconclusive"}[policy]
        result["message"] = f"{objective['name']}: {why} in the last {objective['window']} (no_data={policy})."
        return result

    breached, detail = _breach(objective, actual, bad_ratio, allowed)
    remaining = budget["remaining"]
    if breached:
        status = "breached"
    elif result["alerts_firing"] or (remaining is not None and remaining < budget_warning):
        status = "warning"
    else:
        status = "ok"
    result["status"] = status
    result["message"] = _message(objective, status, detail, remaining, result["alerts_firing"])
    return result


def _labels_text(labels):
    return ", ".join(f"{key}={value}" for key, value in sorted((labels or {}).items()) if key != "__name__") or "{}"


def _past(value, target, upper):
    """Whether ``value`` lies beyond the target on the wrong side (equal to it is within)."""
    return value > target if upper else value < target


def evaluate_threshold(objective, series):
    """The verdict for a threshold objective over the series its query returned (each ``{"labels", "value"}``).

    Breached when any series lies past the target (above an upper bound, below a lower one); the
    series are listed worst first (at most MAX_SERIES) and ``actual`` is the worst value. NaN and
    infinite values are no data. No series at all follows the objective's ``no_data`` policy.
    """
    upper = objective["bound"] == "upper"
    target, unit = objective["target"], objective.get("unit") or ""
    rows = [{"labels": dict(item.get("labels") or {}), "value": item["value"]} for item in series
            if item.get("value") is not None and math.isfinite(item["value"])]
    rows.sort(key=lambda row: (-row["value"] if upper else row["value"], _labels_text(row["labels"])))
    breaching = [row for row in rows if _past(row["value"], target, upper)]
    result = {
        "name": objective["name"], "sli": "threshold", "target": target, "bound": objective["bound"], "unit": unit or None,
        "window": objective["window"], "actual": _round(rows[0]["value"]) if rows else None,
        "events": {"total": None, "bad": None}, "error_ratio": None, "min_samples": objective["min_samples"],
        "no_data": not rows, "series_count": len(rows), "breaching": len(breaching),
        "series": [dict(row, value=_round(row["value"]), breached=_past(row["value"], target, upper))
                   for row in rows[:MAX_SERIES]],
        "burn_rates": [], "alerts_firing": [],
        "error_budget": {"allowed_ratio": None, "consumed": None, "remaining": None, "remaining_percent": None,
                         "allowed_bad_events": None, "bad_events": None, "exhaustion_hours": None},
    }
    side = "above" if upper else "below"
    if not rows:
        policy = objective["no_data"]
        result["status"] = {"fail": "breached", "pass": "ok", "inconclusive": "inconclusive"}[policy]
        result["message"] = f"{objective['name']}: no data for its query (no_data={policy})."
        return result
    worst = rows[0]
    result["status"] = "breached" if breaching else "ok"
    if len(rows) == 1:
        sign = (">" if upper else "<") if breaching else ("<=" if upper else ">=")
        detail = f"{worst['value']:g}{unit} {sign} {target:g}{unit}"
    else:
        detail = (f"{len(breaching)} of {len(rows)} series {side} {target:g}{unit}, worst {worst['value']:g}{unit} "
                  f"at {_labels_text(worst['labels'])}")
    result["message"] = f"{objective['name']}: {detail} ({objective['bound']} bound) ({result['status']})."
    return result


def _burn_rates(windows, alerts, allowed):
    """Each alert with the burn rates over its two windows and whether it fires."""
    burns = []
    for alert in alerts:
        long_burn = burn_rate(ratio(*_counts(windows, alert["long_window"])), allowed)
        short_burn = burn_rate(ratio(*_counts(windows, alert["short_window"])), allowed)
        firing = _above(long_burn, alert["factor"]) and _above(short_burn, alert["factor"])
        burns.append(dict(alert, long_burn_rate=_round(long_burn), short_burn_rate=_round(short_burn), firing=firing))
    return burns


def _error_budget(objective, total, bad, burns):
    """The budget over the SLO window; without counts only what the objective allows is known."""
    allowed = objective["allowed_bad_ratio"]
    bad_ratio = ratio(bad, total)
    budget = {"allowed_ratio": _round(allowed, 9), "consumed": None, "remaining": None, "remaining_percent": None,
              "allowed_bad_events": None, "bad_events": _round(bad, 3), "exhaustion_hours": None}
    if bad_ratio is not None:
        consumed = bad_ratio / allowed
        remaining = 1.0 - consumed
        budget.update(consumed=_round(consumed), remaining=_round(remaining), remaining_percent=_round(remaining * 100.0, 4),
                      allowed_bad_events=_round(allowed * total, 3))
        # Exhaustion is projected at the 1-hour burn rate, the page alert's long window.
        hourly = next((b["long_burn_rate"] for b in burns if seconds(b["long_window"]) == 3600), None)
        if hourly and remaining > 0:
            budget["exhaustion_hours"] = _round(remaining * objective["window_seconds"] / 3600.0 / hourly, 3)
    return budget


def _above(burn, factor):
    """burn > factor, ignoring float noise below 1e-9 (a burn of exactly the factor does not fire)."""
    return burn is not None and round(burn, 9) > factor


def _counts(windows, label):
    data = windows.get(label) or {}
    return data.get("bad"), data.get("total")


def _breach(objective, actual, bad_ratio, allowed):
    """(missed?, 'actual vs target' text) for an objective with data."""
    sli, target = objective["sli"], objective["target"]
    if sli == "availability":
        return actual < target, f"availability {actual:.4f} % {'<' if actual < target else '>='} {target:g} %"
    if sli == "error_rate":
        return actual > target, f"error rate {actual:.4f} % {'>' if actual > target else '<='} {target:g} %"
    label = f"p{objective['quantile'] * 100:g}"
    if actual is not None:
        return actual > target, f"{label} latency {actual:.3f}s {'>' if actual > target else '<='} {target:g}s"
    slow = bad_ratio * 100.0
    return bad_ratio > allowed, (f"{slow:.3f} % of requests slower than {target:g}s "
                                 f"({'>' if bad_ratio > allowed else '<='} {allowed * 100:g} % allowed)")


def _message(objective, status, detail, remaining, firing):
    text = f"{objective['name']}: {detail} over {objective['window']}"
    if remaining is not None:
        text += f", {remaining * 100:.1f} % of the error budget left"
    if firing:
        text += f", burn-rate alerts firing: {', '.join(firing)}"
    return f"{text} ({status})."


def overall_status(results):
    """The worst status among objective results (breached > warning > inconclusive > ok)."""
    if not results:
        return "inconclusive"
    return max((r["status"] for r in results), key=_STATUS_RANK.__getitem__)


def should_fail(results, fail_on):
    """The objectives that make the task fail under ``fail_on`` (empty list: do not fail)."""
    if fail_on == "never":
        return []
    levels = {"breached"} if fail_on == "breached" else {"breached", "warning"}
    return [r for r in results if r["status"] in levels]


def summarize(results):
    """Counts per status, for a one-line report."""
    counts = {status: 0 for status in STATUSES}
    for item in results:
        counts[item["status"]] += 1
    return counts


def _finite(value, what):
    """A number from the user's objectives as a finite float: a NaN threshold never fires an alert."""
    try:
        return finite_number(value, what)
    except InputError as exc:
        raise SloError(str(exc)) from None
