# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Right-sizing and replica planning (runbook-coverage S3) as pure functions: usage samples in, numbers out.

The recommendation is Robusta KRR's "simple" strategy:

* CPU request: the ``cpu_percentile`` (95 by default) of each pod's CPU usage samples, the highest over
  the pods; no CPU limit unless ``cpu_limit_percentile`` asks for one;
* memory request and limit: the highest memory working set seen, plus ``memory_margin_percent`` (15);
* each rounded up (CPU to whole millicores, memory to whole MiB) and raised to the minimums
  (10 millicores, 100 MiB);
* no recommendation for a resource with fewer than ``min_points`` samples ("not enough data").

Percentiles interpolate linearly between the two nearest ranks, as numpy's default method and
Prometheus' ``quantile_over_time`` do, so a percentile computed here from range-query samples equals
the one Prometheus computes over the same samples.

Replicas for more load are the HorizontalPodAutoscaler's formula applied to the history: the total CPU
load of the workload (the sum over its pods at each step, at the same percentile), grown by 25, 50 and
100 %, divided by what one replica may use at the target utilisation of its CPU request.
"""

from __future__ import annotations

import math

MIB = 2 ** 20
# Float noise (0.25000000001 cores) must not round a value up to the next millicore or MiB: a millionth of
# the step is far below anything a request could mean.
_EPSILON = 1e-6

DEFAULT_SETTINGS = {
    "cpu_percentile": 95.0,
    "cpu_limit_percentile": None,
    "memory_margin_percent": 15.0,
    "cpu_min_millicores": 10,
    "memory_min_mib": 100,
    "min_points": 100,
    "target_utilization_percent": 70.0,
    "growth_percents": [25, 50, 100],
    "replica_basis": "current",
}


class CapacityError(ValueError):
    """Bad input or an impossible request; ``str()`` is one sentence naming the object and the cause."""


# ------------------------------------------------------------------------------ numbers

def percentile(values, percent):
    """The ``percent`` percentile (0-100) of ``values`` by linear interpolation between ranks; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * float(percent) / 100.0
    low = int(math.floor(rank))
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def round_up(value, step):
    """``value`` rounded up to a multiple of ``step`` (values within float noise of a multiple stay on it)."""
    return math.ceil(value / step - _EPSILON) * step


def cpu_cores(value, minimum_millicores):
    """Cores rounded up to whole millicores, at least ``minimum_millicores``."""
    return max(round_up(value * 1000.0, 1) / 1000.0, minimum_millicores / 1000.0)


def memory_bytes(value, minimum_mib):
    """Bytes rounded up to whole MiB, at least ``minimum_mib`` MiB."""
    return max(int(round_up(value / MIB, 1)) * MIB, int(minimum_mib) * MIB)


def cpu_quantity(cores):
    """Cores as a Kubernetes quantity: ``250m``, ``2``."""
    millicores = int(round(cores * 1000))
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory_quantity(value):
    """Bytes as a Kubernetes quantity in the largest binary unit that divides them: ``231Mi``, ``2Gi``."""
    value = int(value)
    for suffix, size in (("Ti", 2 ** 40), ("Gi", 2 ** 30), ("Mi", MIB), ("Ki", 2 ** 10)):
        if value and value % size == 0:
            return f"{value // size}{suffix}"
    return str(value)


def _finite(samples):
    return [value for value in samples if value is not None and math.isfinite(value)]


# ------------------------------------------------------------------------------ settings

def check_settings(given):
    """DEFAULT_SETTINGS updated with the options set in ``given``; CapacityError (one sentence) on nonsense."""
    settings = dict(DEFAULT_SETTINGS)
    settings.update({key: value for key, value in (given or {}).items() if value is not None and key in settings})
    for key in ("cpu_percentile", "cpu_limit_percentile"):
        value = settings[key]
        if value is not None and not 0 < value <= 100:
            raise CapacityError(f"{key} must be above 0 and at most 100, not {value:g}.")
    if settings["cpu_limit_percentile"] is not None and settings["cpu_limit_percentile"] < settings["cpu_percentile"]:
        raise CapacityError(f"cpu_limit_percentile ({settings['cpu_limit_percentile']:g}) must not be below "
                            f"cpu_percentile ({settings['cpu_percentile']:g}): the limit would be under the request.")
    if settings["memory_margin_percent"] < 0:
        raise CapacityError(f"memory_margin_percent must not be negative, not {settings['memory_margin_percent']:g}.")
    if not 0 < settings["target_utilization_percent"] <= 100:
        raise CapacityError("target_utilization_percent must be above 0 and at most 100, not "
                            f"{settings['target_utilization_percent']:g}.")
    for key in ("cpu_min_millicores", "memory_min_mib", "min_points"):
        if settings[key] < (1 if key == "min_points" else 0):
            raise CapacityError(f"{key} must be at least {1 if key == 'min_points' else 0}, not {settings[key]}.")
    growth = settings["growth_percents"]
    if any(value < 0 for value in growth):
        raise CapacityError(f"growth_percents must not be negative, not {', '.join(f'{v:g}' for v in growth)}.")
    settings["growth_percents"] = sorted(set(growth))
    if settings["replica_basis"] not in ("current", "recommended"):
        raise CapacityError(f"replica_basis must be current or recommended, not {settings['replica_basis']!r}.")
    return settings


# ------------------------------------------------------------------------------ one container

def recommend_container(cpu_by_pod, memory_by_pod, settings):
    """KRR-simple recommendation for one container from its samples per pod.

    ``cpu_by_pod`` maps pod name -> CPU usage samples (cores), ``memory_by_pod`` pod name -> memory
    working set samples (bytes). Returns a dict: status (``ok``, ``insufficient_data``, ``no_data``),
    message (one sentence, empty when ok), points ({cpu, memory}), pods (how many pods had samples),
    usage ({cpu_cores: {percentile, max, mean}, memory_bytes: {max, mean}}), and recommended (requests
    and limits as Kubernetes quantities; a resource without enough data is left out; a CPU limit of None
    means "no limit") with recommended_values (the same in cores and bytes).
    """
    cpu = {pod: _finite(samples) for pod, samples in (cpu_by_pod or {}).items()}
    memory = {pod: _finite(samples) for pod, samples in (memory_by_pod or {}).items()}
    cpu_all = [value for samples in cpu.values() for value in samples]
    memory_all = [value for samples in memory.values() for value in samples]
    pods = {pod for pod, samples in cpu.items() if samples} | {pod for pod, samples in memory.items() if samples}
    result = {
        "status": "ok", "message": "", "points": {"cpu": len(cpu_all), "memory": len(memory_all)}, "pods": len(pods),
        "usage": {"cpu_cores": {"percentile": None, "max": None, "mean": None},
                  "memory_bytes": {"max": None, "mean": None}},
        "recommended": {"requests": {}, "limits": {}}, "recommended_values": {},
    }
    if not cpu_all and not memory_all:
        result.update(status="no_data", message="no CPU or memory samples in the window")
        return result
    if cpu_all:
        # KRR: the percentile of each pod's samples, then the highest over the pods.
        pod_percentiles = [percentile(samples, settings["cpu_percentile"]) for samples in cpu.values() if samples]
        result["usage"]["cpu_cores"] = {"percentile": max(pod_percentiles), "max": max(cpu_all),
                                        "mean": sum(cpu_all) / len(cpu_all)}
    if memory_all:
        result["usage"]["memory_bytes"] = {"max": max(memory_all), "mean": sum(memory_all) / len(memory_all)}
    missing = []
    if len(cpu_all) >= settings["min_points"]:
        _recommend_cpu(result, cpu, settings)
    else:
        missing.append(f"CPU has {len(cpu_all)} samples")
    if len(memory_all) >= settings["min_points"]:
        _recommend_memory(result, settings)
    else:
        missing.append(f"memory has {len(memory_all)} samples")
    if missing:
        result["status"] = "insufficient_data"
        result["message"] = (f"not enough data for a recommendation: {' and '.join(missing)}, fewer than "
                             f"min_points={settings['min_points']}")
    return result


def _recommend_cpu(result, cpu, settings):
    request = cpu_cores(result["usage"]["cpu_cores"]["percentile"], settings["cpu_min_millicores"])
    values = result["recommended_values"]
    values["cpu_request_cores"] = request
    result["recommended"]["requests"]["cpu"] = cpu_quantity(request)
    limit = None
    if settings["cpu_limit_percentile"] is not None:
        limit_usage = max(percentile(samples, settings["cpu_limit_percentile"]) for samples in cpu.values() if samples)
        limit = max(request, cpu_cores(limit_usage, settings["cpu_min_millicores"]))
    values["cpu_limit_cores"] = limit
    result["recommended"]["limits"]["cpu"] = None if limit is None else cpu_quantity(limit)


def _recommend_memory(result, settings):
    peak = result["usage"]["memory_bytes"]["max"]
    amount = memory_bytes(peak * (1 + settings["memory_margin_percent"] / 100.0), settings["memory_min_mib"])
    result["recommended_values"]["memory_request_bytes"] = amount
    result["recommended_values"]["memory_limit_bytes"] = amount
    result["recommended"]["requests"]["memory"] = memory_quantity(amount)
    result["recommended"]["limits"]["memory"] = memory_quantity(amount)


# ------------------------------------------------------------------------------ replicas

def total_load(series_by_pod):
    """{time: sum over pods} of per-pod samples given as {pod: [(time, value), ...]} (None values skipped)."""
    totals = {}
    for samples in (series_by_pod or {}).values():
        for when, value in samples:
            if value is not None and math.isfinite(value):
                totals[when] = totals.get(when, 0.0) + value
    return totals


def plan_replicas(kind, current_replicas, loads, requests, settings, hpa=None):
    """Replicas needed now and for each growth in ``settings["growth_percents"]``.

    ``loads`` maps container -> {time: total CPU cores over the pods}; ``requests`` maps container ->
    the CPU request per replica (cores) to plan against, or None. The container that needs the most
    replicas decides. ``hpa`` ({name, min_replicas, max_replicas}) flags plans above its maximum.
    Returns a dict with status (``ok`` or ``unavailable``), message, and the plan.
    """
    result = {"status": "ok", "message": "", "current": current_replicas, "basis": settings["replica_basis"],
              "target_utilization_percent": settings["target_utilization_percent"],
              "limiting_container": None, "load_cpu_cores": None, "cpu_request_cores": None,
              "usage_per_replica_cpu_cores": None, "utilization_percent": None, "plan": [], "hpa": hpa}
    if kind == "DaemonSet":
        result.update(status="unavailable", message="a DaemonSet runs one pod per node, so replicas do not apply")
        return result
    target = settings["target_utilization_percent"] / 100.0
    worst = None
    for container, series in sorted((loads or {}).items()):
        request = (requests or {}).get(container)
        load = percentile(list(series.values()), settings["cpu_percentile"])
        if load is None or not request:
            continue
        needed = load / (request * target)
        if worst is None or needed > worst[0]:
            worst = (needed, container, load, request)
    if worst is None:
        result.update(status="unavailable",
                      message="no container has both CPU usage history and a CPU request to plan against")
        return result
    _needed, container, load, request = worst
    result.update(limiting_container=container, load_cpu_cores=load, cpu_request_cores=request)
    if current_replicas:
        # The same as the HPA's ceil(current * (usage per replica / request) * growth / target).
        result["usage_per_replica_cpu_cores"] = load / current_replicas
        result["utilization_percent"] = 100.0 * load / (current_replicas * request)
    for growth in [0] + [g for g in settings["growth_percents"] if g]:
        grown = load * (1 + growth / 100.0)
        replicas = max(1, int(math.ceil(grown / (request * target) - _EPSILON)))
        entry = {"growth_percent": growth, "load_cpu_cores": grown, "replicas": replicas,
                 "additional": replicas - (current_replicas or 0), "exceeds_hpa_max": None}
        if hpa and hpa.get("max_replicas") is not None:
            entry["exceeds_hpa_max"] = replicas > hpa["max_replicas"]
        result["plan"].append(entry)
    return result
