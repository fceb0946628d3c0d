# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Security incident isolation (C7) and its exact undo: what to patch, and what to remember. Pure functions.

Three isolations, each recorded on the object it changes so ``restored`` undoes exactly that:

* ``service``: a NodePort or LoadBalancer Service becomes ClusterIP. Its previous ``type``, ports (with
  their nodePorts) and the external fields are kept, as JSON, in the annotation ``sre.runbooks/isolated``.
* ``scale``: a Deployment or StatefulSet goes to 0 replicas; its previous replicas are kept the same way.
* ``network``: a deny-all NetworkPolicy (Ingress and Egress) selects the workload's pods by its selector's
  matchLabels (or the labels given); the policy, labelled ``app.kubernetes.io/managed-by=sre.runbooks``,
  is the record, and restoring deletes it.
"""

from __future__ import annotations

import json

ANNOTATION = "sre.runbooks/isolated"
MODES = ("service", "scale", "network")
STATES = ("isolated", "restored")
MANAGED_BY = "sre.runbooks"
# Service fields an isolation to ClusterIP drops, restored as they were.
_SERVICE_FIELDS = ("type", "ports", "externalTrafficPolicy", "loadBalancerSourceRanges", "loadBalancerIP",
                   "allocateLoadBalancerNodePorts", "loadBalancerClass", "externalIPs", "healthCheckNodePort")


class IsolateError(ValueError):
    """An isolation that cannot be done or undone; one sentence."""


def policy_name(name):
    return f"sre-runbooks-isolate-{name}"[:253]


def recorded(obj):
    """The record an isolation left on ``obj`` (a dict), or None."""
    text = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        raise IsolateError(f"The annotation {ANNOTATION} of {(obj.get('metadata') or {}).get('name')} is not JSON; "
                           "it was changed by hand, restore that object yourself.") from None
    return record if isinstance(record, dict) else None


def _annotation_patch(record):
    return {"metadata": {"annotations": {ANNOTATION: None if record is None else json.dumps(record, sort_keys=True)}}}


def service_patch(service, state):
    """(patch, record) to isolate or restore a Service; (None, None) when it already is as asked."""
    spec = service.get("spec") or {}
    record = recorded(service)
    if state == "isolated":
        if record is not None:
            return None, record
        if spec.get("type", "ClusterIP") == "ClusterIP":
            raise IsolateError(f"Service {service['metadata']['name']} is already ClusterIP: nothing outside the "
                               "cluster reaches it through it, and there is nothing to isolate.")
        saved = {field: spec[field] for field in _SERVICE_FIELDS if field in spec}
        ports = [{k: v for k, v in port.items() if k != "nodePort"} for port in spec.get("ports") or []]
        patch = {"spec": {field: None for field in _SERVICE_FIELDS if field in spec and field not in ("type", "ports")}}
        patch["spec"].update(type="ClusterIP", ports=ports)
        patch.update(_annotation_patch({"mode": "service", "spec": saved}))
        return patch, saved
    if record is None:
        return None, None
    saved = record.get("spec") or {}
    patch = {"spec": dict(saved)}
    patch.update(_annotation_patch(None))
    return patch, saved


def scale_patch(workload, state):
    """(patch, record) to scale a workload to 0 or back; (None, ...) when it already is as asked."""
    record = recorded(workload)
    replicas = (workload.get("spec") or {}).get("replicas", 1)
    if state == "isolated":
        if record is not None:
            return None, record
        return dict({"spec": {"replicas": 0}}, **_annotation_patch({"mode": "scale", "replicas": replicas})), {"replicas": replicas}
    if record is None:
        return None, None
    return dict({"spec": {"replicas": record.get("replicas", 1)}}, **_annotation_patch(None)), record


def deny_all_policy(name, namespace, labels, reason):
    """The deny-all NetworkPolicy of an isolation: the pods with ``labels`` neither receive nor send anything."""
    if not labels:
        raise IsolateError(f"No labels select the pods of {name}: give isolate labels, or a workload with matchLabels.")
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": policy_name(name), "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
                         "annotations": {ANNOTATION: json.dumps({"mode": "network", "reason": reason or ""})}},
            "spec": {"podSelector": {"matchLabels": dict(labels)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [], "egress": []}}


def confirmation(namespace, name):
    return f"{namespace}/{name}"
