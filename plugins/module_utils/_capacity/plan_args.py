# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""capacity_plan_info's options: the argument spec, and their checks beyond it (window, step, settings)."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._capacity.recommend import (
    DEFAULT_SETTINGS,
    CapacityError,
    check_settings,
)
from ansible_collections.sre.runbooks.plugins.module_utils._capacity.workloads import KINDS
from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import HealthInputError, check_namespace_name
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PROMETHEUS_COMMON_ARGS, PROMETHEUS_RANGES

# A range query of more points than this per series (14 days at 6 s) is a typo, not a plan.
MAX_POINTS_PER_SERIES = 200000

PRICE_OPTIONS = {
    "cpu_core_hour": {"type": "float"},
    "memory_gb_hour": {"type": "float"},
    "currency": {"type": "str", "default": "USD"},
    "hours_per_month": {"type": "float", "default": 730.0},
}

# Bounds on numbers (RunbookModule ranges): NaN, infinity and runaway values are refused in one sentence.
RANGES = dict(
    K8S_RANGES,
    **PROMETHEUS_RANGES,
    cpu_percentile=(0.000001, 100),
    cpu_limit_percentile=(0.000001, 100),
    memory_margin_percent=(0, 1000),
    cpu_min_millicores=(0, 1000000),
    memory_min_mib=(0, 10000000),
    min_points=(1, 10000000),
    target_utilization_percent=(0.000001, 100),
    **{"prices.cpu_core_hour": (0, 1000000), "prices.memory_gb_hour": (0, 1000000),
       "prices.hours_per_month": (1, 10000)},
)


def argument_spec():
    """capacity_plan_info's options after the Kubernetes and Prometheus connection options."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        PROMETHEUS_COMMON_ARGS,
        namespaces={"type": "list", "elements": "str", "required": True},
        kinds={"type": "list", "elements": "str", "choices": list(KINDS), "default": list(KINDS)},
        names={"type": "list", "elements": "str"},
        label_selectors={"type": "list", "elements": "str"},
        window={"type": "str", "default": "14d"},
        step={"type": "str", "default": "75s"},
        rate_window={"type": "str"},
        evaluation_time={"type": "str"},
        cpu_metric={"type": "str", "default": "container_cpu_usage_seconds_total"},
        memory_metric={"type": "str", "default": "container_memory_working_set_bytes"},
        selector={"type": "str", "default": ""},
        cpu_percentile={"type": "float", "default": DEFAULT_SETTINGS["cpu_percentile"]},
        cpu_limit_percentile={"type": "float"},
        memory_margin_percent={"type": "float", "default": DEFAULT_SETTINGS["memory_margin_percent"]},
        cpu_min_millicores={"type": "int", "default": DEFAULT_SETTINGS["cpu_min_millicores"]},
        memory_min_mib={"type": "int", "default": DEFAULT_SETTINGS["memory_min_mib"]},
        min_points={"type": "int", "default": DEFAULT_SETTINGS["min_points"]},
        target_utilization_percent={"type": "float", "default": DEFAULT_SETTINGS["target_utilization_percent"]},
        growth_percents={"type": "list", "elements": "int", "default": list(DEFAULT_SETTINGS["growth_percents"])},
        replica_basis={"type": "str", "choices": ["current", "recommended"], "default": "current"},
        prices={"type": "dict", "options": PRICE_OPTIONS},
        no_data={"type": "str", "choices": ["fail", "report"], "default": "fail"},
    )


def check_options(params):
    """(settings, span) from the options, or CapacityError naming the bad one in one sentence.

    ``span`` is {"window", "step", "rate_window"} in whole seconds.
    """
    for namespace in params["namespaces"]:
        try:
            check_namespace_name(namespace)
        except HealthInputError as exc:
            raise CapacityError(str(exc)) from None
    if not params["namespaces"]:
        raise CapacityError("namespaces must name at least one namespace.")
    if not params["kinds"]:
        raise CapacityError("kinds must name at least one of Deployment, StatefulSet and DaemonSet.")
    if params.get("names") and len(params["namespaces"]) != 1:
        raise CapacityError("names picks workloads of one namespace: give exactly one namespace with it.")
    if any(not str(name).strip() for name in params.get("names") or []):
        raise CapacityError("names must not contain an empty name.")
    span = {}
    for option in ("window", "step", "rate_window"):
        text = params.get(option) or (params["step"] if option == "rate_window" else None)
        try:
            seconds = parse_interval(text, option)
        except IntervalError as exc:
            raise CapacityError(str(exc)) from None
        if seconds < 1:
            raise CapacityError(f"{option} must be at least 1s, not {text!r}.")
        span[option] = int(round(seconds))
    if span["step"] > span["window"]:
        raise CapacityError(f"step ({params['step']}) must not be longer than window ({params['window']}).")
    if span["window"] / span["step"] > MAX_POINTS_PER_SERIES:
        raise CapacityError(f"window {params['window']} at step {params['step']} makes more than "
                            f"{MAX_POINTS_PER_SERIES} points per series; use a longer step.")
    if any(value > 10000 for value in params["growth_percents"]):
        raise CapacityError("growth_percents must be at most 10000.")
    settings = check_settings({key: params.get(key) for key in DEFAULT_SETTINGS})
    return settings, span
