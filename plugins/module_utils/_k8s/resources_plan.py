# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Container requests and limits (runbook-coverage S5) as pure functions: what changes, the patch, the diff.

Wanted resources are ``{container: {"requests": {name: quantity}, "limits": {name: quantity}}}``; a
quantity of None removes that request or limit, a name left out is kept as it is, and resources not
named (ephemeral-storage, GPUs) are never touched. Quantities compare by value, so ``0.25`` and
``250m`` are the same and a second run changes nothing.
"""

from __future__ import annotations

import copy
import math

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import shown
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import parse_quantity
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_plan import ALL_CONTAINERS, RolloutError, object_ref, pod_template

PARTS = ("requests", "limits")


def resources_of(obj):
    """{container: {"requests": {...}, "limits": {...}}} of the workload's pod template (containers only)."""
    spec = pod_template(obj).get("spec") or {}
    return {c.get("name"): {part: dict((c.get("resources") or {}).get(part) or {}) for part in PARTS}
            for c in spec.get("containers") or []}


def summary(obj):
    """What a diff shows: each container's requests and limits."""
    return {"resources": resources_of(obj)}


def _quantity(ref, container, part, name, value):
    """The quantity as the API takes it (text), or RolloutError naming where it is wrong."""
    number = None if isinstance(value, bool) else parse_quantity(value)
    if number is None or not math.isfinite(number) or number < 0:
        raise RolloutError(f"{ref}: {part}.{name} of container {container!r} is {shown(value)}, not a Kubernetes "
                           "quantity (such as 250m, 1.5, 512Mi or 2Gi).")
    return str(value).strip() if isinstance(value, str) else f"{value:g}"


def _same(first, second):
    """Two requests or limits maps hold the same amounts (by value)."""
    if set(first) != set(second):
        return False
    return all(parse_quantity(first[key]) == parse_quantity(second[key]) for key in first)


def _merge(ref, container, current, wanted):
    after = copy.deepcopy(current)
    for part in PARTS:
        changes = (wanted or {}).get(part)
        if changes is None:
            continue
        if not isinstance(changes, dict):
            raise RolloutError(f"{ref}: {part} of container {container!r} must map resource names to quantities.")
        for name, value in changes.items():
            if value is None:
                after[part].pop(name, None)
            elif name not in after[part] or parse_quantity(after[part][name]) != parse_quantity(value):
                after[part][name] = _quantity(ref, container, part, name, value)
    for name, request in after["requests"].items():
        limit = after["limits"].get(name)
        if limit is not None and parse_quantity(request) > parse_quantity(limit):
            raise RolloutError(f"{ref}: the {name} request {request} of container {container!r} would exceed its "
                               f"{name} limit {limit}.")
    return after


def plan_resources(kind, obj, wanted):
    """``{container: {"before": resources, "after": resources}}`` for the containers whose resources change.

    ``*`` in ``wanted`` applies to every container not named. Raises RolloutError (one sentence) for an
    unknown container, a value that is not a quantity, or a request above its limit.
    """
    ref = object_ref(kind, obj)
    current = resources_of(obj)
    if not isinstance(wanted, dict) or not wanted:
        raise RolloutError(f"{ref}: no container resources to set.")
    targets = {}
    for name, spec in wanted.items():
        if name != ALL_CONTAINERS and name not in current:
            raise RolloutError(f"{ref} has no container named {name!r} (containers: {', '.join(current) or 'none'}).")
        if spec is not None and not isinstance(spec, dict):
            raise RolloutError(f"{ref}: the resources of container {name!r} must be a mapping with requests and limits.")
        unknown = sorted(set(spec or {}) - set(PARTS))
        if unknown:
            raise RolloutError(f"{ref}: container {name!r} has {', '.join(unknown)}; only requests and limits can be set.")
    for name in current:
        spec = wanted.get(name, wanted.get(ALL_CONTAINERS))
        if spec:
            targets[name] = spec
    changes = {}
    for name, spec in targets.items():
        after = _merge(ref, name, current[name], spec)
        if not all(_same(current[name][part], after[part]) for part in PARTS):
            changes[name] = {"before": current[name], "after": after}
    return changes


def resources_patch(obj, changes):
    """JSON patch that sets each changed container's requests and limits, guarded by a test of its name."""
    ops = []
    for index, container in enumerate((pod_template(obj).get("spec") or {}).get("containers") or []):
        name = container.get("name")
        if name not in changes:
            continue
        base = f"/spec/template/spec/containers/{index}"
        resources = dict(container.get("resources") or {})
        for part in PARTS:
            if changes[name]["after"][part]:
                resources[part] = changes[name]["after"][part]
            else:
                resources.pop(part, None)
        ops.append({"op": "test", "path": f"{base}/name", "value": name})
        ops.append({"op": "add", "path": f"{base}/resources", "value": resources})
    return ops


def with_resources(obj, changes):
    """A copy of ``obj`` as the patch will leave it (for check mode and the diff)."""
    result = copy.deepcopy(obj)
    for container in (pod_template(result).get("spec") or {}).get("containers") or []:
        change = changes.get(container.get("name"))
        if change:
            resources = dict(container.get("resources") or {})
            for part in PARTS:
                if change["after"][part]:
                    resources[part] = change["after"][part]
                else:
                    resources.pop(part, None)
            container["resources"] = resources
    return result


def from_recommendations(workloads):
    """[(kind, namespace, name, wanted, skipped)] from capacity_plan_info's ``workloads``.

    ``wanted`` holds, per container, the recommended requests and limits that exist; ``skipped`` names the
    containers without any. RolloutError when an entry is not one of capacity_plan_info's workloads.
    """
    result = []
    for index, workload in enumerate(workloads or []):
        if not isinstance(workload, dict) or not all(workload.get(key) for key in ("kind", "namespace", "name")) \
                or not isinstance(workload.get("containers"), list):
            raise RolloutError(f"recommendations[{index}] is not a workload of sre.runbooks.capacity_plan_info "
                               "(it needs kind, namespace, name and containers).")
        wanted, skipped = {}, []
        for container in workload["containers"]:
            recommended = container.get("recommended") if isinstance(container, dict) else None
            if not isinstance(recommended, dict) or not (recommended.get("requests") or recommended.get("limits")):
                skipped.append(str(container.get("name") if isinstance(container, dict) else container))
                continue
            wanted[container.get("name")] = {part: dict(recommended.get(part) or {}) for part in PARTS}
        result.append((workload["kind"], workload["namespace"], workload["name"], wanted, skipped))
    return result
