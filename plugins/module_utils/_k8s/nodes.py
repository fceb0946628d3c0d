# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Are the nodes healthy, and is there room left on them? Pure functions over Node and Pod objects (H13).

``kubectl get nodes`` and ``kubectl describe node`` as data: readiness, the kubelet's pressure
conditions, cordoning, and the requests of the pods bound to each node against its allocatable
CPU, memory and pod slots, summed the way the scheduler sums them. No I/O here.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.objects import condition, parse_quantity

CRITICAL = "critical"
WARNING = "warning"
# Conditions the kubelet sets True when the node runs short of something; each is a warning.
PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure")
RESOURCES = ("cpu", "memory", "pods")
# Pods in these phases hold no resources on their node any more (kubectl describe node leaves them out).
TERMINAL_PHASES = ("Succeeded", "Failed")


def _quantity(value):
    parsed = parse_quantity(value)
    return 0.0 if parsed is None else parsed


def pod_requests(pod):
    """{cpu, memory} a pod requests on its node: the larger of its containers' sum and its biggest init
    container, plus its runtime overhead (the scheduler's arithmetic)."""
    spec = pod.get("spec") or {}
    totals = {}
    for resource in ("cpu", "memory"):
        def requested(container, resource=resource):
            return _quantity(((container.get("resources") or {}).get("requests") or {}).get(resource))
        running = sum(requested(c) for c in spec.get("containers") or [])
        init = max((requested(c) for c in spec.get("initContainers") or []), default=0.0)
        overhead = _quantity((spec.get("overhead") or {}).get(resource))
        totals[resource] = max(running, init) + overhead
    return totals


def requests_by_node(pods):
    """{node name: {cpu, memory, pods}} over the pods bound to a node and not finished."""
    totals = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or ((pod.get("status") or {}).get("phase")) in TERMINAL_PHASES:
            continue
        entry = totals.setdefault(node, {"cpu": 0.0, "memory": 0.0, "pods": 0})
        requests = pod_requests(pod)
        entry["cpu"] += requests["cpu"]
        entry["memory"] += requests["memory"]
        entry["pods"] += 1
    return totals


def _percent(used, of):
    if used is None or not of:
        return None
    return round(100.0 * used / of, 1)


def _readiness(node):
    ready = condition(node, "Ready")
    if ready is None:
        return None, "no Ready condition (the kubelet never reported)"
    if ready.get("status") == "True":
        return True, None
    why = ready.get("message") or ready.get("reason") or f"Ready is {ready.get('status')}"
    return False, str(why).rstrip(".")


def node_row(node, requested, thresholds):
    """The returned row of one node, with its severity.

    ``requested`` is the node's entry of :func:`requests_by_node` (None when the pods of the whole
    cluster could not be listed: then nothing is said about requests).
    """
    metadata, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    allocatable = status.get("allocatable") or {}
    ready, not_ready_why = _readiness(node)
    pressure = [kind for kind in PRESSURE_CONDITIONS if (condition(node, kind) or {}).get("status") == "True"]
    network = (condition(node, "NetworkUnavailable") or {}).get("status") == "True"
    labels = metadata.get("labels") or {}
    alloc = {"cpu": parse_quantity(allocatable.get("cpu")), "memory": parse_quantity(allocatable.get("memory")),
             "pods": parse_quantity(allocatable.get("pods"))}
    used = requested
    percents = {resource: (None if used is None else _percent(used.get(resource, 0), alloc[resource]))
                for resource in RESOURCES}
    row = {
        "name": metadata.get("name"),
        "roles": sorted(key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/")),
        "ready": ready,
        "unschedulable": bool(spec.get("unschedulable")),
        "pressure": pressure,
        "network_unavailable": network,
        "cpu_allocatable_millicores": None if alloc["cpu"] is None else round(alloc["cpu"] * 1000, 1),
        "memory_allocatable_bytes": None if alloc["memory"] is None else int(alloc["memory"]),
        "pods_allocatable": None if alloc["pods"] is None else int(alloc["pods"]),
        "cpu_requested_millicores": None if used is None else round(used.get("cpu", 0.0) * 1000, 1),
        "memory_requested_bytes": None if used is None else int(used.get("memory", 0.0)),
        "pods": None if used is None else int(used.get("pods", 0)),
        "cpu_requested_percent": percents["cpu"],
        "memory_requested_percent": percents["memory"],
        "pods_percent": percents["pods"],
        "requests_over_threshold": any(percent is not None and percent > thresholds["node_requests_percent"]
                                       for percent in percents.values()),
        "severity": None, "problem": None, "message": None,
    }
    findings = []  # (severity, problem, message), the most telling first
    if ready is not True:
        findings.append((CRITICAL, "NotReady", not_ready_why))
    for kind in pressure:
        message = (condition(node, kind) or {}).get("message") or f"{kind} is True"
        findings.append((WARNING, kind, str(message).rstrip(".")))
    if network:
        findings.append((WARNING, "NetworkUnavailable", "the node's network is not configured"))
    for resource, label in (("cpu", "CPU"), ("memory", "memory"), ("pods", "pod slots")):
        percent = percents[resource]
        if percent is None:
            continue
        if percent > thresholds["node_requests_critical_percent"]:
            findings.append((CRITICAL, "RequestedOverThreshold", f"{label} requested at {percent}% of allocatable "
                             f"(critical above {thresholds['node_requests_critical_percent']:g}%)"))
        elif percent > thresholds["node_requests_percent"]:
            findings.append((WARNING, "RequestedOverThreshold", f"{label} requested at {percent}% of allocatable "
                             f"(warning above {thresholds['node_requests_percent']:g}%)"))
    if findings:
        findings.sort(key=lambda finding: finding[0] != CRITICAL)
        row.update(severity=findings[0][0], problem=findings[0][1],
                   message="; ".join(finding[2] for finding in findings))
    return row


def nodes_report(nodes, pods, thresholds):
    """Rows of every node by name, and counts; ``pods`` None means the requests could not be summed."""
    requested = None if pods is None else requests_by_node(pods)
    idle = {"cpu": 0.0, "memory": 0.0, "pods": 0}

    def of(node):
        return None if requested is None else requested.get((node.get("metadata") or {}).get("name"), idle)

    rows = [node_row(node, of(node), thresholds)
            for node in sorted(nodes, key=lambda n: (n.get("metadata") or {}).get("name") or "")]
    return {
        "available": True, "reason": None, "requests_summed": pods is not None, "nodes": rows,
        "ready": sum(1 for row in rows if row["ready"] is True),
        "not_ready": sum(1 for row in rows if row["ready"] is not True),
        "with_pressure": sum(1 for row in rows if row["pressure"]),
        "unschedulable": sum(1 for row in rows if row["unschedulable"]),
        "over_requests_threshold": sum(1 for row in rows if row["requests_over_threshold"]),
    }
