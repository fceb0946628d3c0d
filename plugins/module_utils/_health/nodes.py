# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on node health (H13), from the ``nodes`` of one k8s_health_info result.

k8s_health_info already gives each node a severity (NotReady critical; pressure, an unavailable network
or requests past the warning threshold a warning; past the critical one critical); this only words it.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry)
from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import unreadable

NAMED_NODES = 5


def _highest(rows, key):
    values = [row[key] for row in rows if row.get(key) is not None]
    return max(values) if values else None


def _summary(nodes, rows, bad):
    summary = (f"{len(rows)} nodes: {nodes['ready']} ready, {nodes['not_ready']} not ready, "
               f"{nodes['with_pressure']} under pressure, {nodes['unschedulable']} cordoned")
    if nodes.get("requests_summed"):
        cpu, memory = _highest(rows, "cpu_requested_percent"), _highest(rows, "memory_requested_percent")
        if cpu is not None or memory is not None:
            summary += f"; requests up to {cpu} % CPU and {memory} % memory of allocatable"
    else:
        summary += "; requests not summed (the pods of every namespace could not be listed)"
    if bad:
        named = ", ".join(f"{row['name']} {row['problem']} ({row['message']})" for row in bad[:NAMED_NODES])
        summary += "; " + named + (f" and {len(bad) - NAMED_NODES} more" if len(bad) > NAMED_NODES else "")
    return summary


def nodes_verdict(k8s):
    """H13: critical when a node is not ready or its requests pass the critical threshold, a warning on pressure;
    unavailable when the cluster or its nodes cannot be read."""
    nodes = k8s.get("nodes") or {}
    rows = nodes.get("nodes") or []
    bad = sorted((row for row in rows if row.get("severity")), key=lambda row: row["severity"] != CRITICAL)
    summary = unreadable(k8s)
    if summary:
        status = UNAVAILABLE
    elif not nodes.get("available"):
        status, summary = UNAVAILABLE, f"nodes unavailable: {nodes.get('reason') or 'not read'}"
    elif not rows:
        status, summary = UNAVAILABLE, "the cluster has no nodes"
    else:
        status = CRITICAL if any(row["severity"] == CRITICAL for row in bad) else (WARNING if bad else OK)
        summary = _summary(nodes, rows, bad)
    return entry("H13", "nodes", "Node health", status, summary,
                 {"requests_summed": nodes.get("requests_summed"), "problems": bad, "nodes": rows})
