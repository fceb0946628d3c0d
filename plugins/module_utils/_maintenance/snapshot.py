# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The maintenance window's state snapshot (M2) and its comparison with the live state, as pure functions.

A snapshot holds, per workload (Deployment, StatefulSet), the desired replicas and the image of each
container, and per HorizontalPodAutoscaler its bounds. After the window, a workload whose replicas or
images differ from the snapshot, one that disappeared, or an HPA whose bounds moved is a finding.
Replicas that differ on a workload an HPA scales are expected, as long as they stay in the HPA's bounds.
"""

from __future__ import annotations

from collections.abc import Mapping

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
HPA_KIND = "HorizontalPodAutoscaler"


def _key(namespace, kind, name):
    return f"{namespace}/{kind}/{name}"


def _objects(results):
    """Every object of a list of kubernetes.core.k8s_info results (a looped register's ``results`` too)."""
    if isinstance(results, Mapping):
        results = results.get("results", [results])
    for result in results or []:
        if not isinstance(result, Mapping):
            continue
        for obj in result.get("resources") or []:
            if isinstance(obj, Mapping):
                yield obj


def snapshot(results):
    """{"workloads": {key: {...}}, "hpas": {key: {...}}} from k8s_info results of workloads and HPAs."""
    workloads, hpas = {}, {}
    for obj in _objects(results):
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        if kind in WORKLOAD_KINDS:
            containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
            replicas = spec.get("replicas")
            workloads[_key(namespace, kind, name)] = {
                "namespace": namespace, "kind": kind, "name": name,
                "replicas": 1 if replicas is None else replicas,
                "images": {c.get("name", ""): c.get("image", "") for c in containers if isinstance(c, Mapping)},
            }
        elif kind == HPA_KIND:
            target = spec.get("scaleTargetRef") or {}
            hpas[_key(namespace, kind, name)] = {
                "namespace": namespace, "name": name, "min_replicas": spec.get("minReplicas", 1),
                "max_replicas": spec.get("maxReplicas"),
                "target": _key(namespace, target.get("kind", ""), target.get("name", "")),
            }
    return {"workloads": workloads, "hpas": hpas}


def _finding(obj, field, before, after, message):
    return {"object": obj, "field": field, "before": before, "after": after, "message": message}


def _scaled_by(hpas, key, replicas):
    """True when an HPA targets the workload and ``replicas`` is within its bounds."""
    for hpa in hpas.values():
        if hpa.get("target") == key:
            low, high = hpa.get("min_replicas") or 1, hpa.get("max_replicas")
            return low <= replicas <= (high if high is not None else replicas)
    return False


def compare(before, after):
    """Findings (list of dicts: object, field, before, after, message) between two snapshots, sorted."""
    before, after = before or {}, after or {}
    findings = []
    live_workloads, live_hpas = after.get("workloads") or {}, after.get("hpas") or {}
    for key, old in sorted((before.get("workloads") or {}).items()):
        new = live_workloads.get(key)
        if new is None:
            findings.append(_finding(key, "exists", True, False, f"{key} existed before the window and is gone."))
            continue
        if old.get("replicas") != new.get("replicas") and not _scaled_by(live_hpas, key, new.get("replicas") or 0):
            findings.append(_finding(key, "replicas", old.get("replicas"), new.get("replicas"),
                                     f"{key} runs {new.get('replicas')} replicas, {old.get('replicas')} before the window."))
        old_images, new_images = old.get("images") or {}, new.get("images") or {}
        for container in sorted(set(old_images) | set(new_images)):
            if old_images.get(container) != new_images.get(container):
                findings.append(_finding(key, f"images.{container}", old_images.get(container),
                                         new_images.get(container),
                                         f"{key} container {container} runs image {new_images.get(container)}, "
                                         f"{old_images.get(container)} before the window."))
    for key, old in sorted((before.get("hpas") or {}).items()):
        new = live_hpas.get(key)
        if new is None:
            findings.append(_finding(key, "exists", True, False, f"{key} existed before the window and is gone."))
            continue
        for field in ("min_replicas", "max_replicas"):
            if old.get(field) != new.get(field):
                findings.append(_finding(key, field, old.get(field), new.get(field),
                                         f"{key} {field} is {new.get(field)}, {old.get(field)} before the window."))
    return findings


def namespace_regex(namespaces):
    """A fully anchored Alertmanager regex matching exactly these namespaces: 'a|b' (special characters escaped)."""
    specials = set(".^$*+?()[]{}|\\")
    return "|".join("".join("\\" + ch if ch in specials else ch for ch in str(ns)) for ns in namespaces)
