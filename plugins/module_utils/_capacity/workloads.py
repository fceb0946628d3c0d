# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which workloads a capacity plan covers, their pods, their current resources and their history's pod names.

Pure functions over the objects the Kubernetes API returns (JSON dicts); the runner does the listing.
"""

from __future__ import annotations

import re

from ansible_collections.sre.runbooks.plugins.module_utils._capacity.recommend import CapacityError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import parse_quantity

KINDS = ("Deployment", "StatefulSet", "DaemonSet")
RESOURCES = ("cpu", "memory")
# Pods that still hold their requests on a node.
_LIVE_PHASES = ("Pending", "Running", "Unknown")


def kinds_phrase(kinds):
    """``Deployment, StatefulSet or DaemonSet``."""
    kinds = list(kinds)
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def select(namespace, found, kinds, names=None, selector=None):
    """The workloads to plan, sorted by kind order then name, from ``found`` ({kind: [objects]}).

    ``names`` must each exist under one of ``kinds``; a ``selector`` (already applied by the API)
    must match something. Raises CapacityError in one sentence otherwise.
    """
    def by_name(item):
        return item["metadata"]["name"]

    chosen = [(kind, obj) for kind in kinds for obj in sorted(found.get(kind) or [], key=by_name)]
    if names:
        present = {obj["metadata"]["name"] for _kind, obj in chosen}
        missing = [name for name in names if name not in present]
        if missing:
            raise CapacityError(f"No {kinds_phrase(kinds)} named {', '.join(missing)} in namespace {namespace}.")
        chosen = [(kind, obj) for kind, obj in chosen if obj["metadata"]["name"] in names]
    if selector and not chosen:
        raise CapacityError(f"No {kinds_phrase(kinds)} in namespace {namespace} matches {selector}.")
    return chosen


def _controller(obj):
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def pods_of(workload, pods, replica_sets):
    """The live pods the workload controls (Deployments through their ReplicaSets), by owner uid."""
    uid = workload["metadata"].get("uid")
    owners = {uid}
    owners.update(rs["metadata"].get("uid") for rs in replica_sets or [] if _controller(rs) == uid)
    return [pod for pod in pods or [] if _controller(pod) in owners
            and (pod.get("status") or {}).get("phase", "Pending") in _LIVE_PHASES]


def pod_pattern(kind, name):
    """The names this workload's pods have had, as a regular expression (RE2 and Python alike, fully anchored
    by Prometheus): ``web-<pod-template-hash>-<5>`` for a Deployment, ``db-<ordinal>`` for a StatefulSet,
    ``agent-<5>`` for a DaemonSet. Pods of earlier ReplicaSets match too, so history survives rollouts."""
    escaped = name.replace(".", "\\.")
    suffix = {"Deployment": "-[a-z0-9]{1,10}-[a-z0-9]{5}", "StatefulSet": "-[0-9]+", "DaemonSet": "-[a-z0-9]{5}"}
    return escaped + suffix[kind]


def promql_string(text):
    """``text`` as the inside of a PromQL double-quoted string (backslashes and quotes escaped)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def containers(workload):
    """The workload's containers (not init containers) as in its pod template."""
    return ((workload.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []


def current_resources(container):
    """{"requests": {cpu, memory}, "limits": {cpu, memory}} as written in the spec (None where unset)."""
    resources = container.get("resources") or {}
    return {part: {name: (resources.get(part) or {}).get(name) for name in RESOURCES}
            for part in ("requests", "limits")}


def effective_requests(container):
    """{cpu: cores, memory: bytes} the scheduler reserves for the container (a limit alone implies the request)."""
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    result = {}
    for name in RESOURCES:
        value = parse_quantity(requests.get(name, limits.get(name)))
        result[name] = value if value is not None else 0.0
    return result


def requested_totals(pods):
    """{"cpu_cores", "memory_bytes", "pods"} requested by the containers of ``pods``."""
    cpu = memory = 0.0
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            requests = effective_requests(container)
            cpu += requests["cpu"]
            memory += requests["memory"]
    return {"cpu_cores": cpu, "memory_bytes": memory, "pods": len(pods)}


def replicas(kind, workload):
    """spec.replicas of a Deployment or StatefulSet (1 when unset); None for a DaemonSet."""
    if kind == "DaemonSet":
        return None
    value = (workload.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def hpa_for(kind, name, hpas):
    """{"name", "min_replicas", "max_replicas", "metrics"} of the HPA that scales the workload, or None."""
    for hpa in hpas or []:
        spec = hpa.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        if target.get("kind") == kind and target.get("name") == name:
            metrics = sorted({((m.get("resource") or {}).get("name") or m.get("type") or "?")
                              for m in spec.get("metrics") or []})
            return {"name": hpa["metadata"]["name"], "min_replicas": spec.get("minReplicas") or 1,
                    "max_replicas": spec.get("maxReplicas"), "metrics": metrics}
    return None


def assign_series(series, patterns):
    """Group range-query series by workload: {(kind, name): {container: {pod: [(time, value)]}}}.

    ``patterns`` maps (kind, name) to pod_pattern(); a series whose pod matches none is ignored.
    """
    compiled = [(key, re.compile(f"^(?:{pattern})$")) for key, pattern in patterns.items()]
    grouped = {}
    for item in series:
        labels = item["metric"]
        pod, container = labels.get("pod"), labels.get("container")
        if not pod or not container:
            continue
        for key, regex in compiled:
            if regex.match(pod):
                samples = grouped.setdefault(key, {}).setdefault(container, {}).setdefault(pod, [])
                samples.extend(item["values"])
                break
    return grouped
