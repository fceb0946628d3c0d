# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_health_info's argument spec and the normalisation of its options (namespaces, sections, thresholds)."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health, logs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES


# Finite numbers only (RunbookModule ranges): a NaN threshold would never flag anything. The lower
# bounds are check_options' own sentences.
RANGES = dict(K8S_RANGES, **{
    "thresholds.cpu_percent": (None, None),
    "thresholds.cpu_critical_percent": (None, None),
    "thresholds.memory_percent": (None, None),
    "thresholds.memory_critical_percent": (None, None),
    "thresholds.node_requests_percent": (None, None),
    "thresholds.node_requests_critical_percent": (None, None),
    "logs.max_deployments": (1, 1000),
    "logs.max_pods": (1, 100),
    # At least a line; at most what a daily check should pull per container (kubectl's own default is all).
    "logs.limit_bytes": (1024, 512 * 2 ** 20),
})

LOG_OPTIONS = {
    "deployments": {"type": "list", "elements": "dict", "default": logs.DEFAULTS["deployments"], "options": {
        "namespace": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
    }},
    "max_deployments": {"type": "int", "default": logs.DEFAULTS["max_deployments"]},
    "max_pods": {"type": "int", "default": logs.DEFAULTS["max_pods"]},
    "since": {"type": "str", "default": logs.DEFAULTS["since"]},
    "pattern": {"type": "str", "default": logs.DEFAULTS["pattern"]},
    "previous": {"type": "bool", "default": logs.DEFAULTS["previous"]},
    "limit_bytes": {"type": "int", "default": logs.DEFAULTS["limit_bytes"]},
}


def argument_spec():
    """k8s_health_info's options after the connection options of the k8s doc fragment."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        namespaces={"type": "list", "elements": "str", "default": []},
        include={"type": "list", "elements": "str", "choices": list(health.SECTIONS),
                 "default": ["pods", "workloads", "hpas"]},
        thresholds={"type": "dict", "default": {}, "options": {
            "restarts": {"type": "int", "default": health.DEFAULT_THRESHOLDS["restarts"]},
            "pending_seconds": {"type": "int", "default": health.DEFAULT_THRESHOLDS["pending_seconds"]},
            "cpu_percent": {"type": "float", "default": health.DEFAULT_THRESHOLDS["cpu_percent"]},
            "cpu_critical_percent": {"type": "float", "default": health.DEFAULT_THRESHOLDS["cpu_critical_percent"]},
            "memory_percent": {"type": "float", "default": health.DEFAULT_THRESHOLDS["memory_percent"]},
            "memory_critical_percent": {"type": "float",
                                        "default": health.DEFAULT_THRESHOLDS["memory_critical_percent"]},
            "node_requests_percent": {"type": "float", "default": health.DEFAULT_THRESHOLDS["node_requests_percent"]},
            "node_requests_critical_percent": {"type": "float",
                                               "default": health.DEFAULT_THRESHOLDS["node_requests_critical_percent"]},
        }},
        logs={"type": "dict", "default": {}, "options": LOG_OPTIONS},
        all_pods={"type": "bool", "default": False},
        events_max_age={"type": "str", "default": "1h"},
        events_limit={"type": "int", "default": 20},
    )


def check_options(params):
    """Normalised options (namespaces, sections, thresholds, event window); raise HealthInputError."""
    namespaces = []
    for name in params["namespaces"] or []:
        name = health.check_namespace_name(name.strip() if isinstance(name, str) else name)
        if name not in namespaces:
            namespaces.append(name)
    sections = [s for s in health.SECTIONS if s in (params["include"] or [])]
    if not sections:
        raise health.HealthInputError("include must name at least one of " + ", ".join(health.SECTIONS) + ".")
    try:
        max_age = parse_interval(params["events_max_age"], "events_max_age")
    except IntervalError as exc:
        raise health.HealthInputError(str(exc)) from None
    if params["events_limit"] < 1:
        raise health.HealthInputError(f"events_limit must be at least 1, not {params['events_limit']}.")
    return {"namespaces": namespaces, "sections": sections, "thresholds": health.merge_thresholds(params["thresholds"]),
            "events_max_age": max_age, "logs": check_log_options(params["logs"]) if "logs" in sections else None}


def check_log_options(given):
    """The ``logs`` options with the pattern compiled and the window in seconds; raise HealthInputError."""
    options = dict(logs.DEFAULTS, **{key: value for key, value in (given or {}).items() if value is not None})
    try:
        options["pattern"] = logs.compile_pattern(options["pattern"])
        options["since_seconds"] = parse_interval(options["since"], "logs.since")
    except (IntervalError, logs.LogsInputError) as exc:
        raise health.HealthInputError(str(exc)) from None
    if options["since_seconds"] < 1:
        raise health.HealthInputError(f"logs.since must be at least one second, not {options['since']!r}.")
    deployments = []
    for item in options["deployments"] or []:
        deployments.append({"namespace": health.check_namespace_name(item["namespace"]), "name": item["name"]})
    options["deployments"] = deployments
    return options
