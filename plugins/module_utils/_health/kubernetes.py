# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdicts on one k8s_health_info result: pods and workloads (H1), HPAs (H6), usage (H8).

``k8s`` is the registered result, which has no ``summary`` when the module failed (its ``msg`` says why).
k8s_health_info already gives every problem, workload, HPA and usage row a severity; these functions
only decide what the role's report makes of them.
"""

from __future__ import annotations

from numbers import Number

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry, flatten, ladder)

# The problem categories H1 reports (HPA and usage problems have their own checks).
POD_CATEGORIES = ("namespace", "pod", "workload")
# How many problems H1's summary names before it says "and N more".
NAMED_PROBLEMS = 5


def unreadable(k8s):
    """The summary of every Kubernetes check when k8s_health_info failed, else None."""
    if "summary" in k8s:
        return None
    return f"cannot read the cluster: {k8s.get('msg', 'no answer')}"


def per_namespace(k8s, *path):
    """One list of the rows at ``path`` (such as ``("workloads",)``) of every namespace report, flattened."""
    rows = []
    for report in (k8s.get("namespaces") or {}).values():
        value = report
        for key in path:
            value = value.get(key, []) if isinstance(value, dict) else []
        rows.append(value)
    return flatten(rows)


def _named_problems(found):
    named = ", ".join(f"{p.get('kind')} {p.get('namespace')}/{p.get('name')} {p.get('reason')}"
                      for p in found[:NAMED_PROBLEMS])
    if len(found) > NAMED_PROBLEMS:
        named += f" and {len(found) - NAMED_PROBLEMS} more"
    return named


def pods_verdict(k8s, restart_threshold):
    """H1: critical when the cluster cannot be read or a pod, workload or namespace problem is critical."""
    found = [p for p in k8s.get("problems", []) if p.get("category") in POD_CATEGORIES]
    summary = unreadable(k8s)
    if summary:
        status = CRITICAL
    else:
        status = CRITICAL if any(p.get("severity") == CRITICAL for p in found) else (WARNING if found else OK)
        s = k8s["summary"]
        summary = (f"{s['pods']} pods in {s['namespaces']} namespaces: {s['running']} running, "
                   f"{s['not_running']} not running, {s['not_ready']} not ready, {s['restarts']} restarts "
                   f"({s['restarts_over_threshold']} pods over {restart_threshold}); "
                   f"{s['workloads_unhealthy']} of {s['workloads']} workloads unhealthy")
        if found:
            summary += "; " + _named_problems(found)
    namespaces = k8s.get("namespaces") or {}
    details = {
        "problems": found,
        "pod_counts": {name: report.get("pod_counts", {}) for name, report in namespaces.items()},
        "unhealthy_workloads": [row for row in per_namespace(k8s, "workloads") if row.get("severity")],
        "events": per_namespace(k8s, "events"),
    }
    return entry("H1", "pods", "Pods and workloads", status, summary, details)


def hpa_verdict(k8s):
    """H6: a warning when an HPA is at its maximum or cannot scale; unavailable when the cluster cannot be read."""
    hpas = per_namespace(k8s, "hpas")
    summary = unreadable(k8s)
    if summary:
        status = UNAVAILABLE
    else:
        status = WARNING if any(hpa.get("severity") for hpa in hpas) else OK
        summary = (f"{len(hpas)} HPAs, {sum(1 for hpa in hpas if hpa.get('at_max'))} at their maximum, "
                   f"{sum(1 for hpa in hpas if hpa.get('scaling_active') is False)} not scaling (no metrics)")
    return entry("H6", "hpa", "Horizontal pod autoscalers", status, summary, {"hpas": hpas})


def resources_verdict(k8s, cpu_percent, memory_percent):
    """H8: the worst usage row against the limits; unavailable without metrics-server."""
    rows = per_namespace(k8s, "resources", "pods")
    over = [row for row in rows if row.get("severity")]
    metrics = k8s.get("metrics") or {}
    status = ladder(row.get("severity") for row in rows) if metrics.get("available") else UNAVAILABLE
    summary = unreadable(k8s)
    if not summary:
        if not metrics.get("available"):
            summary = f"usage unavailable: {metrics.get('reason')}"
        else:
            measured = sum(1 for row in rows if isinstance(row.get("cpu_usage_millicores"), Number))
            summary = (f"{measured} pods measured, {len(over)} above CPU {cpu_percent} % / memory {memory_percent} % "
                       "of their limits")
        no_limit = sum(1 for row in rows if not isinstance(row.get("cpu_limit_millicores"), Number))
        summary += f"; {no_limit} of {len(rows)} running pods without a CPU limit"
    return entry("H8", "resources", "Resource usage against limits", status, summary,
                 {"metrics": k8s.get("metrics", {}), "over_threshold": over})
