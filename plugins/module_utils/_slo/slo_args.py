# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""slo_check's options: the argument spec, and their checks beyond it into normalized objectives."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import PLATFORM_COMMON_ARGS, PLATFORM_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._slo import analysis
from ansible_collections.sre.runbooks.plugins.module_utils._slo.evaluate import SloError, alert_windows, normalize_objective
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PROMETHEUS_COMMON_ARGS, PROMETHEUS_RANGES

# The runbooks' three SLOs (EXP, PIPE, AIC), checked when the task names none.
DEFAULT_OBJECTIVES = [
    {"name": "availability", "sli": "availability", "target": 99.9},
    {"name": "error_rate", "sli": "error_rate", "target": 0.1},
    {"name": "latency_p95", "sli": "latency", "quantile": 0.95, "target": 2.0},
]

NO_DATA_CHOICES = ["fail", "pass", "inconclusive"]

SOURCE_CHOICES = ["prometheus", "endpoint", "probe"]

OBJECTIVE_OPTIONS = {
    "name": {"type": "str", "required": True},
    "sli": {"type": "str", "choices": ["availability", "error_rate", "latency", "threshold"], "default": "availability"},
    "source": {"type": "str", "choices": SOURCE_CHOICES},
    "target": {"type": "float"},
    "bound": {"type": "str", "choices": ["upper", "lower"], "default": "upper"},
    "unit": {"type": "str"},
    "quantile": {"type": "float"},
    "window": {"type": "str"},
    "min_samples": {"type": "int"},
    "no_data": {"type": "str", "choices": NO_DATA_CHOICES},
    "prometheus": {"type": "dict", "options": {
        "metric": {"type": "str"},
        "selector": {"type": "str"},
        "error_selector": {"type": "str"},
        "total_query": {"type": "str"},
        "error_query": {"type": "str"},
        "bucket_query": {"type": "str"},
        "value_query": {"type": "str"},
    }},
}

BURN_RATE_ALERT_OPTIONS = {
    "severity": {"type": "str", "default": "page"},
    "long_window": {"type": "str", "required": True},
    "short_window": {"type": "str", "required": True},
    "factor": {"type": "float"},
    "budget_consumed": {"type": "float"},
}

PROBE_OPTIONS = {
    "url": {"type": "str", "required": True},
    "method": {"type": "str", "default": "GET"},
    "count": {"type": "int", "default": 20},
    "concurrency": {"type": "int", "default": 4},
    "timeout": {"type": "float", "default": 5.0},
    "ok_status": {"type": "list", "elements": "int", "default": []},
    "headers": {"type": "dict", "default": {}, "no_log": True},  # Authorization headers carry tokens
    "validate_certs": {"type": "bool", "default": True},
}
# The endpoints of ``probes``: a probe each, with a name for the report; the endpoints are probed at the
# same time.
PROBES_OPTIONS = dict(PROBE_OPTIONS, name={"type": "str"})


# Bounds on numbers (RunbookModule ranges): NaN, infinity and runaway counts are refused in one sentence.
RANGES = dict(
    PROMETHEUS_RANGES,
    **PLATFORM_RANGES,
    **{
        "objectives.quantile": (0.000001, 1),
        "objectives.min_samples": (0, 10 ** 12),
        "min_samples": (0, 10 ** 12),
        "burn_rate_alerts.factor": (0.000001, 1000000),
        "burn_rate_alerts.budget_consumed": (0.000000001, 1),
        # 10,000 probes at the default concurrency take minutes already; a load test is another tool.
        "probe.count": (1, 10000),
        "probe.concurrency": (1, 64),
        "probe.timeout": (0.001, 300),
        "probes.count": (1, 10000),
        "probes.concurrency": (1, 64),
        "probes.timeout": (0.001, 300),
    },
    **analysis.RANGES,
)


def argument_spec():
    return merge_argspecs(
        PROMETHEUS_COMMON_ARGS,
        PLATFORM_COMMON_ARGS,
        source={"type": "str", "choices": SOURCE_CHOICES, "default": "prometheus"},
        objectives={"type": "list", "elements": "dict", "options": OBJECTIVE_OPTIONS},
        window={"type": "str", "default": "30d"},
        min_samples={"type": "int", "default": 1},
        no_data={"type": "str", "choices": NO_DATA_CHOICES, "default": "inconclusive"},
        fail_on={"type": "str", "choices": ["breached", "warning", "never"], "default": "breached"},
        budget_warning={"type": "float", "default": 0.25},
        burn_rate_alerts={"type": "list", "elements": "dict", "options": BURN_RATE_ALERT_OPTIONS},
        requests_metric={"type": "str", "default": "platform_http_requests_total"},
        latency_metric={"type": "str", "default": "platform_http_request_duration_seconds"},
        selector={"type": "str", "default": ""},
        error_selector={"type": "str", "default": 'code=~"5.."'},
        evaluation_time={"type": "str"},
        endpoint_url={"type": "str"},
        probe={"type": "dict", "options": PROBE_OPTIONS},
        probes={"type": "list", "elements": "dict", "default": [], "options": PROBES_OPTIONS},
        analysis={"type": "dict", "options": analysis.OPTIONS},
    )


def prepare_objectives(params):
    """(raw option, normalized objective, burn-rate alerts) per objective, or SloError naming the bad option."""
    # The runbooks' SLOs unless objectives are given, or endpoints to probe and nothing else.
    raw_objectives = params["objectives"] or ([] if params["probes"] else DEFAULT_OBJECTIVES)
    names = [o["name"] for o in raw_objectives]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SloError(f"Objective names must be unique; {', '.join(duplicates)} appears more than once.")
    defaults = {"window": params["window"], "min_samples": params["min_samples"], "no_data": params["no_data"]}
    if params["min_samples"] < 0:
        raise SloError("min_samples cannot be negative.")
    if not 0 <= params["budget_warning"] <= 1:
        raise SloError(f"budget_warning is a share of the budget between 0 and 1, not {params['budget_warning']:g}.")
    prepared = []
    for raw in raw_objectives:
        objective = normalize_objective(raw, defaults)
        objective["source"] = raw.get("source") or params["source"]
        check_source(objective, raw, params)
        # A probe has no history to compute burn rates over, a threshold no budget to burn.
        alerts = ([] if objective["source"] == "probe" or objective["sli"] == "threshold"
                  else alert_windows(objective["window_seconds"], params["burn_rate_alerts"]))
        prepared.append((raw, objective, alerts))
    probes = ([params["probe"]] if any(o["source"] == "probe" for _r, o, _a in prepared) else []) + params["probes"]
    if any(probe["count"] < 1 or probe["concurrency"] < 1 for probe in probes):
        raise SloError("probe.count and probe.concurrency must be at least 1.")
    return prepared


def check_source(objective, raw, params):
    """SloError when an objective asks its source for what it cannot give."""
    name = objective["name"]
    if objective["source"] == "probe" and not params["probe"]:
        raise SloError(f"Objective {name!r} is measured by probes (source=probe), which need the probe option.")
    if objective["sli"] != "threshold":
        return
    if objective["source"] != "prometheus":
        raise SloError(f"Objective {name!r}: a threshold objective reads a Prometheus query; set its source to "
                       "prometheus.")
    if not ((raw.get("prometheus") or {}).get("value_query") or "").strip():
        raise SloError(f"Objective {name!r}: a threshold objective needs prometheus.value_query, the query whose "
                       "value must stay within the target.")
