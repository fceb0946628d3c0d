# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""slo_check once its options are parsed: count events with the chosen source, judge, exit."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from ansible_collections.sre.runbooks.plugins.module_utils._slo.evaluate import (
    SloError,
    evaluate_objective,
    overall_status,
    should_fail,
    summarize,
)
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PrometheusError, parse_time
from ansible_collections.sre.runbooks.plugins.module_utils._slo.slo_args import prepare_objectives
from ansible_collections.sre.runbooks.plugins.module_utils._slo.sources import (
    EndpointSource,
    ProbeSource,
    PrometheusSource,
    SourceError,
)

SOURCES = {"prometheus": PrometheusSource, "endpoint": EndpointSource, "probe": ProbeSource}


def run_module(module):
    """Check the objectives in ``module.params`` and end the task through ``module`` (exit or fail)."""
    p = module.params
    try:
        prepared = prepare_objectives(p)
        at = parse_time(p["evaluation_time"]) if p["source"] == "prometheus" else None
    except (SloError, PrometheusError) as exc:
        module.fail_json(msg=str(exc))
    if p["evaluation_time"] and p["source"] != "prometheus":
        module.warn(f"evaluation_time only applies to source=prometheus; source={p['source']} measures now.")
    result = {"changed": False, "source": p["source"], "evaluated_at": _iso(time.time() if at is None else at),
              "queries": 0}
    source = SOURCES[p["source"]](p, at)
    try:
        objectives = [evaluate_objective(objective, counts, alerts, p["budget_warning"])
                      for objective, counts, alerts in source.measure(prepared)]
    except (PrometheusError, SourceError, SloError) as exc:
        module.fail_json(msg=str(exc), **result)
    result.update(queries=source.queries, **source.extra)
    failing = should_fail(objectives, p["fail_on"])
    result.update(verdict(objectives, failing))
    if failing:
        module.fail_json(msg="SLO check failed: " + " ".join(o["message"] for o in failing), **result)
    result["msg"] = " ".join(o["message"] for o in objectives)
    module.exit_json(**result)


def verdict(objectives, failing):
    """The result keys that judge the objectives together; ``failing`` are those that fail the task."""
    return {
        "status": overall_status(objectives),
        "passed": all(o["status"] in ("ok", "warning") for o in objectives),
        "objectives": objectives,
        "summary": summarize(objectives),
        "failed_objectives": [o["name"] for o in failing],
    }


def _iso(ts):
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
