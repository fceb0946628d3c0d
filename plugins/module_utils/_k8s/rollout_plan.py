# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Rollout decisions for Deployments, StatefulSets and DaemonSets, as pure functions.

Everything here works on objects as the API returns them (JSON dicts) and does no I/O:
is the rollout complete (the rules of kubectl's status viewers, plus OnDelete), which
revisions exist and which one to undo to (ReplicaSets for Deployments, ControllerRevisions
for StatefulSets and DaemonSets), the patches that set images, restart, undo and scale,
HPA bound checks, and the summaries that diffs are built from.
"""

from __future__ import annotations

import copy

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.objects import condition

KINDS = ("Deployment", "StatefulSet", "DaemonSet")
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
REVISION_HASH = "controller-revision-hash"
PROGRESS_DEADLINE = "ProgressDeadlineExceeded"
ALL_CONTAINERS = "*"


class RolloutError(Exception):
    """Bad input or an impossible request; ``str()`` is one sentence naming the object and the cause."""


def object_ref(kind, obj):
    metadata = obj.get("metadata") or {}
    return f"{kind} {metadata.get('namespace')}/{metadata.get('name')}"


def _annotations(obj):
    return dict((obj.get("metadata") or {}).get("annotations") or {})


# ------------------------------------------------------------------------------ selectors

def label_selector(selector):
    """A LabelSelector object as the ``labelSelector`` query string (matchLabels and matchExpressions)."""
    selector = selector or {}
    parts = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if operator == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            raise RolloutError(f"Unsupported label selector operator {operator!r} for key {key!r}.")
    return ",".join(parts)


def owned_by(items, owner):
    """The items whose controller ownerReference is ``owner`` (matched by uid)."""
    uid = (owner.get("metadata") or {}).get("uid")
    result = []
    for item in items:
        for ref in (item.get("metadata") or {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") == uid:
                result.append(item)
                break
    return result


# ------------------------------------------------------------------------------ status

def _replicas(spec):
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def rollout_status(kind, obj):
    """Where the rollout of ``obj`` stands, like ``kubectl rollout status`` (plus OnDelete and paused).

    Returns a dict: complete (bool), message (str), observed (the controller has seen the
    latest spec), failure (``ProgressDeadlineExceeded`` or None), paused, strategy,
    pending_update (pods still on an older revision under OnDelete) and replicas counts.
    """
    if kind not in _STATUS_BY_KIND:
        raise RolloutError(f"Unsupported kind {kind!r}; expected one of {', '.join(KINDS)}.")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation") or 0
    observed_generation = status.get("observedGeneration") or 0
    result = {"complete": False, "message": "", "observed": False, "failure": None,
              "paused": bool(spec.get("paused")), "strategy": None, "pending_update": 0, "replicas": {}}
    return _STATUS_BY_KIND[kind](obj, spec, status, generation, observed_generation, result)


def _deployment_status(obj, spec, status, generation, observed_generation, result):
    """rollout_status of a Deployment: the rules of kubectl's DeploymentStatusViewer."""
    desired = _replicas(spec)
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    result["strategy"] = (spec.get("strategy") or {}).get("type") or "RollingUpdate"
    result["replicas"] = {"desired": desired, "current": total, "updated": updated,
                          "ready": status.get("readyReplicas") or 0, "available": available}
    result["observed"] = generation <= observed_generation
    if not result["observed"]:
        result["message"] = "waiting for the deployment controller to observe the new spec"
        return result
    progressing = condition(obj, "Progressing")
    if progressing and progressing.get("reason") == PROGRESS_DEADLINE:
        result["failure"] = PROGRESS_DEADLINE
        deadline = spec.get("progressDeadlineSeconds")
        detail = f" ({deadline}s)" if deadline else ""
        cause = (progressing.get("message") or "").rstrip(".")
        result["message"] = f"exceeded its progress deadline{detail}" + (f": {cause}" if cause else "")
        return result
    return _first_wait(result, [
        (updated < desired, f"{updated} of {desired} new replicas have been updated"),
        (total > updated, f"{total - updated} old replicas are pending termination"),
        (available < updated, f"{available} of {updated} updated replicas are available"),
    ])


def _statefulset_status(obj, spec, status, generation, observed_generation, result):
    """rollout_status of a StatefulSet: kubectl's StatefulSetStatusViewer, plus OnDelete and partitions."""
    desired = _replicas(spec)
    strategy = spec.get("updateStrategy") or {}
    result["strategy"] = strategy.get("type") or "RollingUpdate"
    ready = status.get("readyReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    result["replicas"] = {"desired": desired, "current": total, "updated": updated, "ready": ready,
                          "available": status.get("availableReplicas") or 0}
    result["observed"] = bool(observed_generation) and generation <= observed_generation
    if not result["observed"]:
        result["message"] = "waiting for the statefulset controller to observe the new spec"
        return result
    if result["strategy"] == "OnDelete":
        result["pending_update"] = max(0, desired - updated)
        if ready < desired or total != desired:
            result["message"] = f"{ready} of {desired} pods are ready"
        else:
            result["complete"] = True
            result["message"] = "all pods are ready" + _on_delete_note(result["pending_update"])
        return result
    if ready < desired:
        result["message"] = f"waiting for {desired - ready} pods to be ready"
        return result
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition") or 0
        if updated < desired - partition:
            result["message"] = f"{updated} of {desired - partition} new pods have been updated"
            if partition:
                result["message"] += f" (partition {partition})"
            return result
        result["complete"] = True
        result["message"] = (f"partitioned roll out complete: {updated} new pods have been updated"
                             if partition else "successfully rolled out")
        return result
    if status.get("updateRevision") != status.get("currentRevision"):
        result["message"] = f"waiting for the rolling update to complete {updated} pods at revision {status.get('updateRevision')}"
        return result
    result["complete"] = True
    result["message"] = "successfully rolled out"
    return result


def _daemonset_status(obj, spec, status, generation, observed_generation, result):
    """rollout_status of a DaemonSet: kubectl's DaemonSetStatusViewer, plus OnDelete."""
    strategy = spec.get("updateStrategy") or {}
    result["strategy"] = strategy.get("type") or "RollingUpdate"
    desired = status.get("desiredNumberScheduled") or 0
    updated = status.get("updatedNumberScheduled") or 0
    available = status.get("numberAvailable") or 0
    result["replicas"] = {"desired": desired, "current": status.get("currentNumberScheduled") or 0,
                          "updated": updated, "ready": status.get("numberReady") or 0, "available": available}
    result["observed"] = generation <= observed_generation
    if not result["observed"]:
        result["message"] = "waiting for the daemonset controller to observe the new spec"
        return result
    if result["strategy"] == "OnDelete":
        result["pending_update"] = max(0, desired - updated)
        if available < desired:
            result["message"] = f"{available} of {desired} pods are available"
        else:
            result["complete"] = True
            result["message"] = "all pods are available" + _on_delete_note(result["pending_update"])
        return result
    return _first_wait(result, [
        (updated < desired, f"{updated} of {desired} updated pods have been scheduled"),
        (available < desired, f"{available} of {desired} updated pods are available"),
    ])


_STATUS_BY_KIND = {"Deployment": _deployment_status, "StatefulSet": _statefulset_status,
                   "DaemonSet": _daemonset_status}


def timed_out_condition(obj):
    """The workload's Progressing condition when it says ProgressDeadlineExceeded, else None."""
    progressing = condition(obj, "Progressing")
    return progressing if progressing and progressing.get("reason") == PROGRESS_DEADLINE else None


def _first_wait(result, waits):
    """kubectl's ordered checks: the message of the first (waiting, message) that holds, else complete."""
    for waiting, message in waits:
        if waiting:
            result["message"] = message
            return result
    result["complete"] = True
    result["message"] = "successfully rolled out"
    return result


def _on_delete_note(pending):
    if not pending:
        return ""
    return (f"; {pending} pods still run an older revision (updateStrategy OnDelete replaces a pod "
            "only when it is deleted)")


# ------------------------------------------------------------------------------ templates and images

def normalize_template(template):
    """A pod template comparable across the workload and its ReplicaSets/ControllerRevisions."""
    result = copy.deepcopy(template or {})
    result.pop("$patch", None)
    metadata = dict(result.get("metadata") or {})
    labels = dict(metadata.get("labels") or {})
    labels.pop(POD_TEMPLATE_HASH, None)
    if labels:
        metadata["labels"] = labels
    else:
        metadata.pop("labels", None)
    if metadata.get("creationTimestamp") is None:
        metadata.pop("creationTimestamp", None)
    if metadata:
        result["metadata"] = metadata
    else:
        result.pop("metadata", None)
    return result


def templates_equal(first, second):
    return normalize_template(first) == normalize_template(second)


def pod_template(obj):
    return (obj.get("spec") or {}).get("template") or {}


def images(template):
    """``{container: image}`` for the template's containers, then its init containers."""
    spec = (template or {}).get("spec") or {}
    result = {}
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            result[container.get("name")] = container.get("image")
    return result


def plan_images(kind, obj, wanted):
    """The image changes ``wanted`` ({container: image}, ``*`` for all) makes to ``obj``.

    Returns ``{container: {"before": old, "after": new}}`` for the containers that change.
    Raises RolloutError for an unknown container name or an empty image.
    """
    current = images(pod_template(obj))
    targets = {}
    for name, image in (wanted or {}).items():
        if image is None or not str(image).strip():
            raise RolloutError(f"{object_ref(kind, obj)}: the image for container {name!r} is empty.")
        if name == ALL_CONTAINERS:
            for container in current:
                targets.setdefault(container, str(image).strip())
            continue
        if name not in current:
            raise RolloutError(f"{object_ref(kind, obj)} has no container named {name!r} "
                               f"(containers: {', '.join(current) or 'none'}).")
        targets[name] = str(image).strip()
    # Explicit names win over '*'.
    for name, image in (wanted or {}).items():
        if name != ALL_CONTAINERS:
            targets[name] = str(image).strip()
    return {name: {"before": current[name], "after": image}
            for name, image in targets.items() if current[name] != image}


def image_patch(obj, changes, change_cause=None):
    """Strategic merge patch that sets the changed images (containers are merged by name)."""
    spec = pod_template(obj).get("spec") or {}
    init_names = {c.get("name") for c in spec.get("initContainers") or []}
    containers = [{"name": name, "image": change["after"]} for name, change in changes.items()
                  if name not in init_names]
    init = [{"name": name, "image": change["after"]} for name, change in changes.items() if name in init_names]
    template_spec = {}
    if containers:
        template_spec["containers"] = containers
    if init:
        template_spec["initContainers"] = init
    body = {"spec": {"template": {"spec": template_spec}}}
    return _with_change_cause(body, change_cause)


def restart_patch(restarted_at, change_cause=None):
    """Strategic merge patch that restarts every pod, as ``kubectl rollout restart`` does."""
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}}
    return _with_change_cause(body, change_cause)


def _with_change_cause(body, change_cause):
    if change_cause:
        body["metadata"] = {"annotations": {CHANGE_CAUSE: change_cause}}
    return body


def _pointer(key):
    return key.replace("~", "~0").replace("/", "~1")


def annotation_ops(obj, changes):
    """JSON patch operations that set (value) or remove (None) annotations, leaving the others alone."""
    current = (obj.get("metadata") or {}).get("annotations")
    if current is None:
        wanted = {key: value for key, value in changes.items() if value is not None}
        return [{"op": "add", "path": "/metadata/annotations", "value": wanted}] if wanted else []
    ops = []
    for key, value in changes.items():
        path = "/metadata/annotations/" + _pointer(key)
        if value is None:
            if key in current:
                ops.append({"op": "remove", "path": path})
        elif current.get(key) != value:
            ops.append({"op": "add", "path": path, "value": value})
    return ops


# ------------------------------------------------------------------------------ revisions

def revisions(kind, items):
    """The workload's revisions, oldest first, from its ReplicaSets or ControllerRevisions.

    Each is a dict: revision, name, images, change_cause, created, hash, replicas (ReplicaSets
    only, else None) and template (the pod template that revision runs, ready to patch back).
    """
    result = []
    for item in items:
        metadata = item.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        if kind == "Deployment":
            try:
                number = int(annotations.get(REVISION_ANNOTATION))
            except (TypeError, ValueError):
                continue
            template = normalize_template(pod_template(item))
            revision_hash = (metadata.get("labels") or {}).get(POD_TEMPLATE_HASH)
            replicas = (item.get("status") or {}).get("replicas") or 0
        else:
            try:
                number = int(item.get("revision"))
            except (TypeError, ValueError):
                continue
            template = normalize_template(((item.get("data") or {}).get("spec") or {}).get("template"))
            revision_hash = (metadata.get("labels") or {}).get(REVISION_HASH)
            replicas = None
        result.append({
            "revision": number,
            "name": metadata.get("name"),
            "images": images(template),
            "change_cause": annotations.get(CHANGE_CAUSE),
            "created": metadata.get("creationTimestamp"),
            "hash": revision_hash,
            "replicas": replicas,
            "template": template,
        })
    return sorted(result, key=lambda rev: rev["revision"])


def current_revision(kind, obj, revs):
    """The revision number ``obj``'s pod template corresponds to, or None when it has none yet.

    The revision whose template equals the workload's wins (newest if several); before the
    controller has created one, the controller's own pointer is used (the Deployment's revision
    annotation, the StatefulSet's updateRevision), else None.
    """
    template = pod_template(obj)
    matching = [rev for rev in revs if templates_equal(rev["template"], template)]
    if matching:
        return matching[-1]["revision"]
    return None


def pointer_revision(kind, obj, revs):
    """The revision the controller last recorded as current (may lag behind a just-patched spec)."""
    if kind == "Deployment":
        try:
            return int(_annotations(obj).get(REVISION_ANNOTATION))
        except (TypeError, ValueError):
            return None
    if kind == "StatefulSet":
        name = (obj.get("status") or {}).get("updateRevision")
        for rev in revs:
            if rev["name"] == name:
                return rev["revision"]
        return None
    return revs[-1]["revision"] if revs else None


def find_revision(revs, number):
    for rev in revs:
        if rev["revision"] == number:
            return rev
    return None


def choose_undo_target(kind, obj, revs, to_revision=None):
    """The revision to roll back to: ``to_revision``, or the newest one older than the current.

    Raises RolloutError (one sentence) when there is no history, no previous revision, or no
    revision ``to_revision``.
    """
    ref = object_ref(kind, obj)
    source = "ReplicaSets" if kind == "Deployment" else "ControllerRevisions"
    if not revs:
        raise RolloutError(f"{ref} has no rollout history (no {source} found).")
    if to_revision:
        target = find_revision(revs, to_revision)
        if target is None:
            known = ", ".join(str(rev["revision"]) for rev in revs)
            raise RolloutError(f"{ref} has no revision {to_revision} (revisions: {known}).")
        return target
    current = current_revision(kind, obj, revs)
    if current is None:
        current = pointer_revision(kind, obj, revs)
    older = [rev for rev in revs if current is None or rev["revision"] < current]
    if current is None and older:
        older = older[:-1]
    if not older:
        raise RolloutError(f"{ref} has no previous revision to roll back to (revisions: "
                           f"{', '.join(str(rev['revision']) for rev in revs)}).")
    return older[-1]


def undo_patch(obj, target, change_cause=None):
    """JSON patch that puts ``target``'s pod template back and keeps every other annotation.

    The change-cause becomes ``change_cause`` when given, else the target revision's own
    (removed when it had none), so history shows why the restored revision exists.
    """
    cause = change_cause if change_cause else target.get("change_cause")
    ops = [{"op": "replace", "path": "/spec/template", "value": copy.deepcopy(target["template"])}]
    return ops + annotation_ops(obj, {CHANGE_CAUSE: cause})


def history(revs, current):
    """Revisions as data, oldest first (what ``kubectl rollout history`` prints, as a list)."""
    return [{"revision": rev["revision"], "name": rev["name"], "images": rev["images"],
             "change_cause": rev["change_cause"], "created": rev["created"],
             "current": rev["revision"] == current, "replicas": rev["replicas"]} for rev in revs]


def new_revision_pod(kind, obj, revs):
    """A predicate telling whether a pod (its diagnosis row or object labels) runs the newest revision.

    Deployments: pods labelled with the newest ReplicaSet's pod-template-hash. StatefulSets: the
    controller-revision-hash of status.updateRevision. DaemonSets: the newest ControllerRevision's hash.
    Returns None when the newest revision is not known yet.
    """
    if kind == "StatefulSet":
        update = (obj.get("status") or {}).get("updateRevision")
        if not update:
            return None
        return lambda labels: labels.get(REVISION_HASH) == update
    if not revs:
        return None
    current = current_revision(kind, obj, revs)
    rev = find_revision(revs, current) if current is not None else None
    if rev is None or not rev["hash"]:
        return None
    key = POD_TEMPLATE_HASH if kind == "Deployment" else REVISION_HASH
    wanted = rev["hash"]
    return lambda labels: labels.get(key) == wanted


# ------------------------------------------------------------------------------ scale and HPA

def plan_scale(kind, obj, replicas, current_replicas=None):
    """``{"before": n, "after": replicas, "changed": bool}``; RolloutError when the request cannot hold."""
    ref = object_ref(kind, obj)
    if kind == "DaemonSet":
        raise RolloutError(f"{ref} runs one pod per eligible node and cannot be scaled; change its nodeSelector "
                           "or tolerations instead.")
    if replicas is None or replicas < 0:
        raise RolloutError(f"{ref}: replicas must be 0 or more, not {replicas}.")
    before = _replicas(obj.get("spec") or {})
    if current_replicas is not None and before != current_replicas:
        raise RolloutError(f"{ref} has {before} replicas, not current_replicas={current_replicas}; nothing was changed.")
    return {"before": before, "after": replicas, "changed": before != replicas}


def scale_patch(plan, precondition=False):
    """JSON patch setting spec.replicas; with ``precondition`` the server re-checks the old value atomically."""
    ops = []
    if precondition:
        ops.append({"op": "test", "path": "/spec/replicas", "value": plan["before"]})
    ops.append({"op": "replace", "path": "/spec/replicas", "value": plan["after"]})
    return ops


def hpa_targets(hpa, kind, name):
    target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return target.get("kind") == kind and target.get("name") == name


def plan_hpa(hpa, min_replicas=None, max_replicas=None):
    """Bounds before and after, with the checks ``kubectl patch hpa`` does not make.

    Returns a dict: name, before, after ({min_replicas, max_replicas}), changed,
    current_replicas, desired_replicas and expected_replicas (where the HPA controller will put
    the workload: its current replicas clamped into the new bounds). RolloutError when a bound is
    below 1 or min exceeds max.
    """
    metadata = hpa.get("metadata") or {}
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    ref = f"HorizontalPodAutoscaler {metadata.get('namespace')}/{metadata.get('name')}"
    before = {"min_replicas": spec.get("minReplicas") or 1, "max_replicas": spec.get("maxReplicas")}
    after = {"min_replicas": before["min_replicas"] if min_replicas is None else min_replicas,
             "max_replicas": before["max_replicas"] if max_replicas is None else max_replicas}
    if after["min_replicas"] < 1:
        raise RolloutError(f"{ref}: min_replicas must be at least 1, not {after['min_replicas']}.")
    if after["max_replicas"] is None or after["max_replicas"] < 1:
        raise RolloutError(f"{ref}: max_replicas must be at least 1, not {after['max_replicas']}.")
    if after["min_replicas"] > after["max_replicas"]:
        raise RolloutError(f"{ref}: min_replicas ({after['min_replicas']}) is greater than max_replicas "
                           f"({after['max_replicas']}); nothing was changed.")
    current = status.get("currentReplicas")
    expected = None
    if current is not None:
        expected = min(max(current, after["min_replicas"]), after["max_replicas"])
    return {"name": metadata.get("name"), "before": before, "after": after, "changed": before != after,
            "current_replicas": current, "desired_replicas": status.get("desiredReplicas"),
            "expected_replicas": expected}


def hpa_patch(plan):
    return {"spec": {"minReplicas": plan["after"]["min_replicas"], "maxReplicas": plan["after"]["max_replicas"]}}


# ------------------------------------------------------------------------------ diff

def summary(kind, obj, revision=None):
    """What a diff shows of a workload: images, replicas (not DaemonSets), paused (Deployments), revision."""
    spec = obj.get("spec") or {}
    result = {"images": images(pod_template(obj))}
    if kind != "DaemonSet":
        result["replicas"] = _replicas(spec)
    if kind == "Deployment":
        result["paused"] = bool(spec.get("paused"))
    restarted = _annotations(pod_template(obj)).get(RESTARTED_AT)
    if restarted:
        result["restarted_at"] = restarted
    if revision is not None:
        result["revision"] = revision
    return result


def diff_entry(header, before, after):
    return {"before_header": header, "after_header": header, "before": before, "after": after}
