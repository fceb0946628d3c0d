# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Can this node be drained? Pure planning over Node, Pod and PodDisruptionBudget objects (M3).

Which pods a drain evicts (as ``kubectl drain`` and kubernetes.core.k8s_drain choose them: not
mirror pods, not DaemonSet pods; pods without a controller or with emptyDir volumes only when
allowed), whether the other schedulable Ready nodes have room for their requests (each pod placed
where its nodeSelector, required node affinity and tolerations allow, on the node with the most
free CPU, as the scheduler's spreading would), and which PodDisruptionBudgets forbid the
evictions now. The node arithmetic is predeploy.py's (the scheduler's). No I/O here.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import predeploy

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
TERMINAL_PHASES = ("Succeeded", "Failed")
# How many pods a refusal sentence names before "and N more".
NAMED = 5


def _meta(obj):
    return obj.get("metadata") or {}


def pod_ref(pod):
    return f"{_meta(pod).get('namespace')}/{_meta(pod).get('name')}"


def _expression_matches(expr, labels, name):
    key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    value = name if key == "metadata.name" else labels.get(key)
    present = key == "metadata.name" or key in labels
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            number, limit = int(value), int(values[0])
        except (TypeError, ValueError):
            return False
        return number > limit if operator == "Gt" else number < limit
    return False


def affinity_allows(node, pod_spec):
    """Whether the pod's required node affinity (any of its nodeSelectorTerms) accepts the node."""
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    labels, name = _meta(node).get("labels") or {}, _meta(node).get("name")
    for term in terms:
        expressions = (term.get("matchExpressions") or []) + (term.get("matchFields") or [])
        if expressions and all(_expression_matches(expr, labels, name) for expr in expressions):
            return True
    return False


def classify(pod, force=False, delete_emptydir_data=False):
    """(action, reason): ``evict``, ``skip`` (DaemonSet, mirror, finished, terminating) or ``refuse``."""
    meta, spec = _meta(pod), pod.get("spec") or {}
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return "skip", "mirror pod (the API server cannot delete it)"
    if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return "skip", "finished"
    if meta.get("deletionTimestamp"):
        return "skip", "already terminating"
    owners = meta.get("ownerReferences") or []
    if any(owner.get("kind") == "DaemonSet" for owner in owners):
        return "skip", "DaemonSet pod (runs on every node)"
    if any("emptyDir" in volume for volume in spec.get("volumes") or []) and not delete_emptydir_data:
        return "refuse", "it has emptyDir data (set delete_emptydir_data)"
    if not owners and not force:
        return "refuse", "no controller would recreate it (set force)"
    return "evict", None


def place(evicted, nodes, other_pods):
    """{pod ref: node name or None} and the nodes' room: each pod on the fitting node with the most free CPU."""
    rooms = {row["name"]: dict(row["free"]) for row in predeploy.node_room(nodes, other_pods, {})}
    placements = {}
    order = sorted(evicted, key=lambda p: (-p["requests"]["cpu"], -p["requests"]["memory"], p["ref"]))
    for item in order:
        spec = item["spec"]
        reasons = {row["name"]: row["unschedulable"] for row in predeploy.node_room(nodes, [], spec)}
        candidates = [node for node in nodes if reasons[_meta(node).get("name")] is None and affinity_allows(node, spec)
                      and predeploy.fits(rooms[_meta(node).get("name")], item["requests"]) >= 1]
        if not candidates:
            placements[item["ref"]] = None
            continue
        best = max(candidates, key=lambda node: (rooms[_meta(node).get("name")]["cpu"], _meta(node).get("name")))
        name = _meta(best).get("name")
        for resource in predeploy.RESOURCES:
            rooms[name][resource] -= item["requests"][resource]
        placements[item["ref"]] = name
    return placements


def pdb_blockers(evicted_pods, pdbs):
    """PodDisruptionBudgets that allow fewer disruptions than the drain makes among the pods they select."""
    blocked = []
    for pdb in pdbs:
        namespace = _meta(pdb).get("namespace")
        selector = (pdb.get("spec") or {}).get("selector")
        if selector is None:
            continue
        chosen = [pod for pod in evicted_pods if _meta(pod).get("namespace") == namespace
                  and predeploy.selector_matches(selector, _meta(pod).get("labels"))]
        allowed = (pdb.get("status") or {}).get("disruptionsAllowed") or 0
        if chosen and allowed < len(chosen):
            blocked.append({"namespace": namespace, "name": _meta(pdb).get("name"), "disruptions_allowed": allowed,
                            "pods": sorted(pod_ref(pod) for pod in chosen)})
    return blocked


def _named(refs):
    shown = ", ".join(refs[:NAMED])
    return shown + (f" and {len(refs) - NAMED} more" if len(refs) > NAMED else "")


def plan_drain(node_name, nodes, pods, pdbs=(), force=False, delete_emptydir_data=False):
    """What draining ``node_name`` would do, and whether it can: a dict (see k8s_drain_plan_info's RETURN).

    ``nodes`` are every Node, ``pods`` every pod bound to a node and not finished, ``pdbs`` the
    PodDisruptionBudgets of the namespaces involved. Raises KeyError when the node is not among ``nodes``.
    """
    by_name = {_meta(node).get("name"): node for node in nodes}
    target = by_name[node_name]
    on_node = [pod for pod in pods if (pod.get("spec") or {}).get("nodeName") == node_name]
    others = [pod for pod in pods if (pod.get("spec") or {}).get("nodeName") != node_name]
    evict, skipped, refused, evicted_pods = [], [], [], []
    for pod in sorted(on_node, key=pod_ref):
        action, reason = classify(pod, force, delete_emptydir_data)
        row = {"namespace": _meta(pod).get("namespace"), "name": _meta(pod).get("name")}
        if action == "evict":
            evicted_pods.append(pod)
            evict.append(dict(row, ref=pod_ref(pod), spec=pod.get("spec") or {},
                              requests=predeploy.pod_requests(pod.get("spec") or {})))
        elif action == "skip":
            skipped.append(dict(row, reason=reason))
        else:
            refused.append(dict(row, reason=reason))
    remaining = [node for name, node in sorted(by_name.items()) if name != node_name]
    placements = place(evict, remaining, others)
    unplaced = [item["ref"] for item in evict if placements[item["ref"]] is None]
    usable = [row["name"] for row in predeploy.node_room(remaining, [], {}) if row["unschedulable"] is None]
    blockers = pdb_blockers(evicted_pods, pdbs)
    rows = [{"namespace": item["namespace"], "name": item["name"], "requests": item["requests"],
             "target_node": placements[item["ref"]]} for item in evict]
    if refused:
        message = (f"Node {node_name} cannot be drained: {len(refused)} pod(s) would not be evicted: "
                   + "; ".join(f"{r['namespace']}/{r['name']} ({r['reason']})" for r in refused[:NAMED]) + ".")
    elif unplaced:
        message = (f"Node {node_name} cannot be drained: no room for {len(unplaced)} of its {len(evict)} pod(s) on the "
                   f"other schedulable Ready nodes ({_named(usable) or 'none'}): {_named(sorted(unplaced))}.")
    else:
        message = (f"Node {node_name}: {len(evict)} pod(s) to evict, with room for all of them on "
                   f"{len(set(placements.values()))} of {len(usable)} other schedulable Ready node(s).")
    return {"node": node_name, "cordoned": bool((target.get("spec") or {}).get("unschedulable")),
            "can_drain": not refused and not unplaced, "message": message, "evict": rows, "skipped": skipped,
            "refused": refused, "unplaced": sorted(unplaced), "schedulable_nodes": usable, "pdb_blocked": blockers}
