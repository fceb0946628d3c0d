# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""slo_check once its options are parsed: count events with each objective's source, judge, exit.

The sources an objective list uses, and the endpoints of ``probes``, are read at the same time.
With ``analysis``, the measurement is repeated on a schedule and the run judged by analysis.py
(a bake period, as Argo Rollouts' AnalysisRun).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from ansible_collections.sre.runbooks.plugins.module_utils._slo import analysis as bake
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
    run_probes,
)

SOURCES = {"prometheus": PrometheusSource, "endpoint": EndpointSource, "probe": ProbeSource}


def measure(params, at, prepared):
    """(objective results in the order given, queries, extra result keys, error sentences).

    The objectives of each source, and the endpoints of ``probes``, are measured at the same time. A
    source that fails leaves its objectives inconclusive with its sentence as ``error``; the others
    are judged all the same.
    """
    groups = {}
    for index, triple in enumerate(prepared):
        groups.setdefault(triple[1]["source"], []).append((index, triple))
    results, errors, extra, queries = [None] * len(prepared), [], {}, 0
    sources = {name: SOURCES[name](params, at) for name in groups}
    with ThreadPoolExecutor(max_workers=len(groups) + 1) as pool:
        probes = pool.submit(run_probes, params["probes"])
        futures = {name: pool.submit(sources[name].measure, [triple for _index, triple in members])
                   for name, members in groups.items()}
        for name, members in groups.items():
            try:
                measured = futures[name].result()
            except (PrometheusError, SourceError, SloError) as exc:
                errors.append(str(exc))
                measured = None
            for position, (index, (_raw, objective, _alerts)) in enumerate(members):
                if measured is None:
                    results[index] = source_failed(objective, errors[-1], params["budget_warning"])
                else:
                    objective, counts, alerts = measured[position]
                    results[index] = evaluate_objective(objective, counts, alerts, params["budget_warning"])
                results[index]["source"] = name
            queries += sources[name].queries
            extra.update(sources[name].extra)
        if params["probes"]:
            extra["probes"] = probes.result()
            queries += sum(report["count"] for report in extra["probes"])
    return results, queries, extra, errors


def source_failed(objective, error, budget_warning):
    """An objective whose source could not be read: inconclusive, whatever its no_data policy, with the reason."""
    result = evaluate_objective(dict(objective, no_data="inconclusive"), {}, [], budget_warning)
    result.update(status="inconclusive", message=f"{objective['name']}: {error}", error=error)
    return result


def run_module(module):
    """Check the objectives in ``module.params`` and end the task through ``module`` (exit or fail)."""
    p = module.params
    try:
        prepared = prepare_objectives(p)
        at = parse_time(p["evaluation_time"])
        config = bake.settings(p["analysis"]) if p["analysis"] else None
    except (SloError, PrometheusError, bake.AnalysisError) as exc:
        module.fail_json(msg=str(exc))
    if config and p["evaluation_time"]:
        module.fail_json(msg="analysis measures the present again and again; it cannot be combined with evaluation_time.")
    if p["evaluation_time"] and not any(o["source"] == "prometheus" for _raw, o, _alerts in prepared):
        module.warn(f"evaluation_time only applies to source=prometheus; source={p['source']} measures now.")
        at = None
    result = {"changed": False, "source": p["source"], "evaluated_at": _iso(time.time() if at is None else at),
              "queries": 0}
    if config:
        run_analysis(module, prepared, config, result)
    objectives, queries, extra, errors = measure(p, at, prepared)
    result.update(queries=queries, **extra)
    failing = should_fail(objectives, p["fail_on"])
    result.update(verdict(objectives, failing))
    if errors:
        module.fail_json(msg=" ".join(errors), **result)
    if failing:
        module.fail_json(msg="SLO check failed: " + " ".join(o["message"] for o in failing), **result)
    result["msg"] = " ".join(o["message"] for o in objectives)
    module.exit_json(**result)


def run_analysis(module, prepared, config, result, clock=time.monotonic, sleep=time.sleep):
    """Measure on the analysis schedule until the run ends, then exit (or fail per fail_on) with every measurement."""
    p = module.params
    start = clock()
    measurements, objectives = [], []
    phase, reason = bake.RUNNING, ""
    for index in range(config["count"]):
        delay = bake.due(start, config, index) - clock()
        if delay > 0:
            sleep(delay)
        taken_at = _iso(time.time())
        objectives, queries, extra, errors = measure(p, None, prepared)
        result["queries"] += queries
        result.update(extra)
        if errors:
            measurements.append({"index": index + 1, "at": taken_at, "phase": bake.ERROR, "status": None,
                                 "message": " ".join(errors), "summary": None})
        else:
            outcome = bake.measurement_phase(objectives, config["failed_status"])
            measurements.append({"index": index + 1, "at": taken_at, "phase": outcome,
                                 "status": overall_status(objectives), "summary": summarize(objectives),
                                 "message": " ".join(o["message"] for o in objectives)})
        phase, reason = bake.run_phase(measurements, config)
        if phase != bake.RUNNING:
            break
    result["evaluated_at"] = measurements[-1]["at"]
    result.update(verdict(objectives, should_fail(objectives, p["fail_on"])))
    result["passed"] = phase == bake.SUCCESSFUL
    result["analysis"] = {"phase": phase, "message": reason, "counts": bake.counts(measurements),
                          "measurements": measurements, "elapsed": round(clock() - start, 3),
                          **{key: config[key] for key in bake.OPTIONS}}
    sentence = f"SLO analysis {phase}: {reason}"
    detail = bake.failure_detail(measurements)
    if phase != bake.SUCCESSFUL and p["fail_on"] != "never":
        module.fail_json(msg=f"{sentence}; last: {detail}" if detail else f"{sentence}.", **result)
    result["msg"] = f"{sentence}." if phase == bake.SUCCESSFUL or not detail else f"{sentence}; last: {detail}"
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
