# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pre-deployment checks (D6) as pure functions: may this workload roll out now?

* ``healthy``: every desired replica is available and no pod of the workload is failing;
* ``no_rollout``: the controller has seen the latest spec and no rollout is in progress, paused or stuck;
* ``hpa``: no HorizontalPodAutoscaler of the workload is at its maxReplicas (no headroom left for load);
* ``capacity``: the surge pods of the update fit on the schedulable nodes, on allocatable minus what the
  pods there request (cpu, memory and pod count), as the scheduler counts it;
* ``pdb``: every PodDisruptionBudget covering the pods allows as many disruptions as the update takes
  pods down at once.

The surge and the pods taken down come from the workload's update strategy, resolved the way the
controllers do (``maxSurge`` rounds up, ``maxUnavailable`` down, both zero means one unavailable).
No I/O here: objects are the API's JSON dicts.
"""

from __future__ import annotations

import math

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import parse_quantity
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.objects import condition

CHECKS = ("healthy", "no_rollout", "hpa", "capacity", "pdb")
RESOURCES = ("cpu", "memory", "pods")
# Node taints that keep new pods off a node unless tolerated.
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def _result(name, passed, message, **details):
    return {"name": name, "passed": passed, "message": message, **details}


# ------------------------------------------------------------------------------ update strategy

def scaled(value, total, round_up):
    """An IntOrString (``2`` or ``"25%"``) against ``total``, as intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return None
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = float(value[:-1])
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage") from None
        share = percent * total / 100.0
        return int(math.ceil(share) if round_up else math.floor(share))
    return int(value)


def update_budget(kind, obj):
    """{"strategy", "surge", "unavailable", "replicas"}: pods added above and taken below the desired count at once."""
    spec = obj.get("spec") or {}
    if kind == "Deployment":
        replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
        strategy = spec.get("strategy") or {}
        kind_of = strategy.get("type") or "RollingUpdate"
        if kind_of == "Recreate":
            return {"strategy": kind_of, "surge": 0, "unavailable": replicas, "replicas": replicas}
        rolling = strategy.get("rollingUpdate") or {}
        surge = scaled(rolling.get("maxSurge", "25%"), replicas, True)
        unavailable = scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        return {"strategy": kind_of, "surge": surge, "unavailable": min(unavailable, replicas), "replicas": replicas}
    strategy = spec.get("updateStrategy") or {}
    kind_of = strategy.get("type") or "RollingUpdate"
    if kind == "StatefulSet":
        replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
        if kind_of == "OnDelete":
            return {"strategy": kind_of, "surge": 0, "unavailable": 0, "replicas": replicas}
        rolling = strategy.get("rollingUpdate") or {}
        unavailable = max(1, scaled(rolling.get("maxUnavailable", 1), replicas, True))
        return {"strategy": kind_of, "surge": 0, "unavailable": min(unavailable, replicas), "replicas": replicas}
    replicas = int((obj.get("status") or {}).get("desiredNumberScheduled") or 0)
    if kind_of == "OnDelete":
        return {"strategy": kind_of, "surge": 0, "unavailable": 0, "replicas": replicas}
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge", 0), replicas, True)
    unavailable = scaled(rolling.get("maxUnavailable", 1), replicas, True)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    # A DaemonSet surges node by node: at most one extra pod per node.
    return {"strategy": kind_of, "surge": min(surge, replicas), "unavailable": min(unavailable, replicas),
            "replicas": replicas}


# ------------------------------------------------------------------------------ healthy, no_rollout, hpa

def check_healthy(kind, obj, pods):
    """Every desired replica available, and no pod of the workload failing (terminating pods aside)."""
    status = ro.rollout_status(kind, obj)
    counts = status["replicas"]
    rows = k8s_pods.unhealthy(pods, include_terminating=False)
    problems = []
    if counts["available"] < counts["desired"]:
        problems.append(f"{counts['available']} of {counts['desired']} replicas are available")
    if rows:
        problems.append(k8s_pods.summarize(rows))
    if problems:
        return _result("healthy", False, "; ".join(problems), replicas=counts,
                       unhealthy_pods=[k8s_pods.public_row(row) for row in rows])
    return _result("healthy", True, f"all {counts['desired']} replicas are available and Ready", replicas=counts,
                   unhealthy_pods=[])


def check_no_rollout(kind, obj):
    """The latest spec is observed and fully rolled out; a paused or stuck rollout counts as in progress."""
    status = ro.rollout_status(kind, obj)
    if status["failure"]:
        return _result("no_rollout", False, f"the last rollout failed: it {status['message']}")
    if status["paused"]:
        return _result("no_rollout", False, "the rollout is paused (resume it or finish the change in progress first)")
    if not status["complete"]:
        return _result("no_rollout", False, f"a rollout is in progress: {status['message']}")
    return _result("no_rollout", True, "no rollout in progress")


def check_hpa(kind, name, hpas, replicas=None):
    """No HPA of the workload stands at its maxReplicas (current or desired).

    An HPA its controller has not reported on yet counts the workload's own ``replicas``.
    """
    rows = []
    for hpa in hpas:
        if not ro.hpa_targets(hpa, kind, name):
            continue
        spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
        current = status.get("currentReplicas", replicas)
        desired = status.get("desiredReplicas")
        highest = max(value for value in (current, desired, 0) if value is not None)
        rows.append({"name": (hpa.get("metadata") or {}).get("name"), "min_replicas": spec.get("minReplicas") or 1,
                     "max_replicas": spec.get("maxReplicas"), "current_replicas": current,
                     "desired_replicas": desired, "at_max": spec.get("maxReplicas") is not None
                     and highest >= spec["maxReplicas"]})
    at_max = [row for row in rows if row["at_max"]]
    if at_max:
        words = "; ".join(f"HorizontalPodAutoscaler {row['name']} is at its maximum ({row['current_replicas']} of "
                          f"maxReplicas {row['max_replicas']}): no headroom for load during the update" for row in at_max)
        return _result("hpa", False, words, hpas=rows)
    if not rows:
        return _result("hpa", True, "no HorizontalPodAutoscaler targets it", hpas=[])
    return _result("hpa", True, "; ".join(f"HorizontalPodAutoscaler {row['name']} has headroom "
                                          f"({row['current_replicas']} of {row['max_replicas']})" for row in rows),
                   hpas=rows)


# ------------------------------------------------------------------------------ capacity

def pod_requests(pod_spec):
    """{"cpu" (cores), "memory" (bytes), "pods": 1} a pod asks the scheduler for.

    As the scheduler computes it: the larger of the containers' sum and the largest init
    container, plus the pod overhead. A missing request counts as zero.
    """
    def amount(container, resource):
        value = parse_quantity(((container.get("resources") or {}).get("requests") or {}).get(resource))
        return value or 0.0

    result = {"pods": 1}
    for resource in ("cpu", "memory"):
        main = sum(amount(c, resource) for c in pod_spec.get("containers") or [])
        init = max([amount(c, resource) for c in pod_spec.get("initContainers") or []] or [0.0])
        overhead = parse_quantity((pod_spec.get("overhead") or {}).get(resource)) or 0.0
        result[resource] = max(main, init) + overhead
    return result


def tolerates(tolerations, taint):
    """Whether a pod with ``tolerations`` may be scheduled despite ``taint``."""
    for toleration in tolerations or []:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration["key"] == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _why_not_schedulable(node, pod_spec):
    if (node.get("spec") or {}).get("unschedulable"):
        return "cordoned"
    ready = condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        return "not Ready"
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in BLOCKING_EFFECTS and not tolerates(pod_spec.get("tolerations"), taint):
            return f"taint {taint.get('key')}={taint.get('value') or ''}:{taint.get('effect')}"
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return f"nodeSelector {key}={value} does not match"
    return None


def node_room(nodes, pods, pod_spec):
    """Per node: allocatable, requested by its running pods, free, and why new pods cannot go there (or None)."""
    requested = {}
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        ask = pod_requests(pod.get("spec") or {})
        total = requested.setdefault(node_name, dict.fromkeys(RESOURCES, 0.0))
        for resource in RESOURCES:
            total[resource] += ask[resource]
    rows = []
    for node in sorted(nodes, key=lambda n: (n.get("metadata") or {}).get("name") or ""):
        name = (node.get("metadata") or {}).get("name")
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        have = {resource: parse_quantity(allocatable.get(resource)) or 0.0 for resource in RESOURCES}
        used = requested.get(name, dict.fromkeys(RESOURCES, 0.0))
        rows.append({"name": name, "allocatable": have, "requested": used,
                     "free": {resource: have[resource] - used[resource] for resource in RESOURCES},
                     "unschedulable": _why_not_schedulable(node, pod_spec)})
    return rows


def fits(free, ask):
    """How many pods asking ``ask`` fit in ``free`` (the scarcest resource decides)."""
    counts = []
    for resource in RESOURCES:
        if ask[resource] > 0:
            counts.append(int(math.floor(max(0.0, free[resource]) / ask[resource] + 1e-9)))
    return min(counts) if counts else 0


def check_capacity(kind, obj, budget, nodes, pods, own_pods=()):
    """The update's surge pods fit on the schedulable nodes (a DaemonSet's: one more on each of its nodes)."""
    pod_spec = ro.pod_template(obj).get("spec") or {}
    ask = pod_requests(pod_spec)
    rows = node_room(nodes, pods, pod_spec)
    details = {"surge_pods": budget["surge"], "pod_requests": ask, "nodes": rows}
    if budget["surge"] == 0:
        return _result("capacity", True, f"the {budget['strategy']} update adds no pods (maxSurge 0)", room_for=None,
                       **details)
    if kind == "DaemonSet":
        hosts = {(pod.get("spec") or {}).get("nodeName") for pod in own_pods}
        short = [row["name"] for row in rows if row["name"] in hosts and fits(row["free"], ask) < 1]
        if short:
            return _result("capacity", False, f"no room for the surge pod on node(s) {', '.join(short)} "
                           f"(each needs {_ask_words(ask)})", room_for=len(hosts) - len(short), **details)
        return _result("capacity", True, f"each of its {len(hosts)} nodes has room for a surge pod ({_ask_words(ask)})",
                       room_for=len(hosts), **details)
    usable = [row for row in rows if row["unschedulable"] is None]
    room = sum(fits(row["free"], ask) for row in usable)
    if room < budget["surge"]:
        skipped = [f"{row['name']} ({row['unschedulable']})" for row in rows if row["unschedulable"]]
        text = (f"room for {room} of the {budget['surge']} surge pods ({_ask_words(ask)} each) on "
                f"{len(usable)} schedulable node(s)")
        if skipped:
            text += f"; not schedulable: {', '.join(skipped)}"
        return _result("capacity", False, text, room_for=room, **details)
    return _result("capacity", True, f"room for {room} pods ({_ask_words(ask)} each) on {len(usable)} node(s); "
                   f"the update adds {budget['surge']}", room_for=room, **details)


def _ask_words(ask):
    cpu = f"{ask['cpu'] * 1000:g}m CPU" if ask["cpu"] < 1 else f"{ask['cpu']:g} CPU"
    return f"{cpu}, {ask['memory'] / 2 ** 20:g}Mi memory"


# ------------------------------------------------------------------------------ PodDisruptionBudgets

def selector_matches(selector, labels):
    """Whether a LabelSelector object selects ``labels`` (an empty selector selects everything)."""
    selector = selector or {}
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def check_pdb(obj, budget, pdbs):
    """Every PDB selecting the workload's pods allows the disruptions the update makes at once."""
    labels = (ro.pod_template(obj).get("metadata") or {}).get("labels") or {}
    need = budget["unavailable"]
    rows = []
    for pdb in pdbs:
        if not selector_matches((pdb.get("spec") or {}).get("selector"), labels):
            continue
        status = pdb.get("status") or {}
        observed = (status.get("observedGeneration") or 0) >= ((pdb.get("metadata") or {}).get("generation") or 0)
        allowed = status.get("disruptionsAllowed")
        rows.append({"name": (pdb.get("metadata") or {}).get("name"), "disruptions_allowed": allowed,
                     "current_healthy": status.get("currentHealthy"), "desired_healthy": status.get("desiredHealthy"),
                     "observed": observed and allowed is not None,
                     "allows": need == 0 or (observed and allowed is not None and allowed >= need)})
    blocked = [row for row in rows if not row["allows"]]
    if blocked:
        words = "; ".join(
            f"PodDisruptionBudget {row['name']} " + (f"allows {row['disruptions_allowed']} disruption(s), the update "
                                                     f"takes {need} pod(s) down at once" if row["observed"]
                                                     else "has not been evaluated by the disruption controller yet")
            for row in blocked)
        return _result("pdb", False, words, pdbs=rows, takes_down=need)
    if not rows:
        return _result("pdb", True, "no PodDisruptionBudget covers its pods", pdbs=[], takes_down=need)
    return _result("pdb", True, f"{len(rows)} PodDisruptionBudget(s) allow the {need} disruption(s) of the update",
                   pdbs=rows, takes_down=need)


def summary(results):
    """(passed, names of failed checks, one sentence listing the failures or saying all passed)."""
    failed = [r for r in results if not r["passed"]]
    if not failed:
        return True, [], f"All {len(results)} pre-deployment checks passed."
    return False, [r["name"] for r in failed], "; ".join(f"{r['name']}: {r['message']}" for r in failed) + "."
