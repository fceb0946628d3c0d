# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The config-change runbook (D5) as pure functions: what changes, who consumes it, what to patch.

A change of ConfigMap keys reaches running pods only when they restart. As Stakater Reloader
does, the checksum of the ConfigMap's data is written as an annotation of each consumer's pod
template (``checksum.sre.runbooks/<configmap>``): a new checksum is a new pod template, so the
workload rolls out, and a pod's annotation tells which data it started with. Consumers are found
in the pod template: ``env[].valueFrom.configMapKeyRef``, ``envFrom[].configMapRef``, ``volumes[].configMap``
and ``volumes[].projected.sources[].configMap``, in containers and init containers.

Container environment changes (the AIC runbook's ``WORKERS``, ``JAVA_OPTS``) change the pod
template themselves. No I/O here: objects are the API's JSON dicts.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro

CHECKSUM_PREFIX = "checksum.sre.runbooks/"
MASK = "<sensitive>"
MASK_CHANGED = "<sensitive, changed>"
# An annotation's name part is at most 63 characters.
_NAME_MAX = 63
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CONTAINER_KEYS = ("initContainers", "containers")


class ConfigError(Exception):
    """Bad input or a change that cannot be planned; ``str()`` is one sentence."""


# ------------------------------------------------------------------------------ checksums

def checksum(data, binary_data=None):
    """sha256 (hex) of the ConfigMap's ``data`` and ``binaryData``.

    The text hashed is the JSON of ``{"binaryData": {...}, "data": {...}}`` with sorted keys and no
    spaces (``json.dumps(..., sort_keys=True, separators=(",", ":"))``, UTF-8), so anyone can
    compute the checksum of some data without this code.
    """
    document = {"binaryData": dict(binary_data or {}), "data": dict(data or {})}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checksum_annotation(configmap):
    """The pod-template annotation carrying the checksum of ConfigMap ``configmap``'s data."""
    if len(configmap) <= _NAME_MAX:
        return CHECKSUM_PREFIX + configmap
    digest = hashlib.sha256(configmap.encode("utf-8")).hexdigest()[:8]
    return CHECKSUM_PREFIX + configmap[:_NAME_MAX - 9].rstrip("-.") + "-" + digest


# ------------------------------------------------------------------------------ values

def as_text(value, what):
    """A ConfigMap or env value as the API stores it: text (numbers and booleans as YAML writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ConfigError(f"{what} must be text, a number or a boolean (or null to remove it), "
                      f"not a {type(value).__name__}.")


def masked(name, value, sensitive):
    """``value`` as results may show it: MASK for the names in ``sensitive``; None stays None."""
    if value is None or name not in sensitive:
        return value
    return MASK


def public_changes(changes, sensitive, name_key):
    """Copies of ``changes`` with the before/after values of sensitive names masked.

    A changed sensitive value shows as MASK before and ``<sensitive, changed>`` after, so a diff
    still tells that it changed.
    """
    result = []
    for change in changes:
        after = masked(change[name_key], change["after"], sensitive)
        if after == MASK and change["action"] == "change":
            after = MASK_CHANGED
        result.append(dict(change, before=masked(change[name_key], change["before"], sensitive), after=after))
    return result


# ------------------------------------------------------------------------------ ConfigMap data

def plan_data(current, wanted):
    """The key changes that turn ``current`` data into ``wanted`` (a value of None removes the key).

    Returns ``[{"key", "action": add|change|remove, "before", "after"}]`` sorted by key; keys that
    already hold the wanted value are left out.
    """
    current = current or {}
    changes = []
    for key in sorted(wanted or {}):
        if not isinstance(key, str) or not key or len(key) > 253 or not _KEY.match(key):
            raise ConfigError(f"data key {key!r} is not a valid ConfigMap key (letters, digits, '-', '_' and '.', "
                              "at most 253 characters).")
        value = wanted[key]
        before = current.get(key)
        if value is None:
            if before is not None:
                changes.append({"key": key, "action": "remove", "before": before, "after": None})
            continue
        after = as_text(value, f"data key {key}")
        if before != after:
            changes.append({"key": key, "action": "add" if before is None else "change", "before": before,
                            "after": after})
    return changes


def data_after(current, changes):
    """The data once ``changes`` are applied."""
    result = dict(current or {})
    for change in changes:
        if change["after"] is None:
            result.pop(change["key"], None)
        else:
            result[change["key"]] = change["after"]
    return result


def data_patch(changes, resource_version, undo=False):
    """A JSON merge patch applying ``changes`` (or, with ``undo``, putting the before values back).

    It carries ``resourceVersion``, so the API refuses it (409 Conflict) when someone changed the
    ConfigMap since it was read.
    """
    side = "before" if undo else "after"
    body = {"data": {change["key"]: change[side] for change in changes}}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    return body


# ------------------------------------------------------------------------------ consumers

def _containers(spec):
    for key in _CONTAINER_KEYS:
        yield from spec.get(key) or []


def references(template, configmap):
    """How a pod template uses ConfigMap ``configmap``: a sorted list of short phrases (empty: it does not)."""
    spec = (template or {}).get("spec") or {}
    found = set()
    for container in _containers(spec):
        name = container.get("name")
        for env in container.get("env") or []:
            ref = ((env.get("valueFrom") or {}).get("configMapKeyRef") or {})
            if ref.get("name") == configmap:
                found.add(f"env {env.get('name')} of container {name}")
        for source in container.get("envFrom") or []:
            if (source.get("configMapRef") or {}).get("name") == configmap:
                found.add(f"envFrom of container {name}")
    for volume in spec.get("volumes") or []:
        if (volume.get("configMap") or {}).get("name") == configmap:
            found.add(f"volume {volume.get('name')}")
        for source in ((volume.get("projected") or {}).get("sources") or []):
            if (source.get("configMap") or {}).get("name") == configmap:
                found.add(f"projected volume {volume.get('name')}")
    return sorted(found)


def template_checksum(obj, annotation):
    """The checksum annotation on ``obj``'s pod template, or None."""
    metadata = ro.pod_template(obj).get("metadata") or {}
    return (metadata.get("annotations") or {}).get(annotation)


def consumers(workloads, configmap, annotation, new_checksum, rollout=True):
    """The workloads that use ``configmap``, each with whether it must roll out.

    ``workloads`` is a list of (kind, obj). A consumer rolls when its pod template's checksum
    annotation is not ``new_checksum`` (with ``rollout``): its pods started with other data, or
    with data of unknown checksum (no annotation yet, so the first run rolls it once).
    """
    result = []
    for kind, obj in workloads:
        refs = references(ro.pod_template(obj), configmap)
        if not refs:
            continue
        current = template_checksum(obj, annotation)
        result.append({"kind": kind, "name": obj["metadata"]["name"], "references": refs,
                       "checksum_before": current, "rolls": bool(rollout) and current != new_checksum})
    return sorted(result, key=lambda item: (item["kind"], item["name"]))


# ------------------------------------------------------------------------------ container env

def _env_value(entry):
    """An env entry's value as a result shows it: its text, or a note for valueFrom."""
    if "valueFrom" in entry and entry.get("value") is None:
        source = next(iter(entry["valueFrom"] or {}), "valueFrom")
        return f"(from {source})"
    return entry.get("value") or ""


def plan_env(template, wanted, containers=None):
    """The env changes that set ``wanted`` (name -> value; None removes) in the named containers.

    ``containers`` defaults to every container of the template (not init containers). Returns
    ``[{"container", "name", "action": add|change|remove, "before", "after"}]``.
    """
    spec = (template or {}).get("spec") or {}
    present = [c.get("name") for c in spec.get("containers") or []]
    chosen = list(containers) if containers else present
    unknown = [name for name in chosen if name not in present]
    if unknown:
        raise ConfigError(f"The pod template has no container {', '.join(repr(n) for n in unknown)}; "
                          f"its containers are {', '.join(present) or 'none'}.")
    changes = []
    for container in spec.get("containers") or []:
        if container.get("name") not in chosen:
            continue
        entries = {entry.get("name"): entry for entry in container.get("env") or []}
        for name in sorted(wanted or {}):
            if not isinstance(name, str) or not name or "=" in name or not name.isprintable():
                raise ConfigError(f"env name {name!r} is not a valid environment variable name.")
            value = wanted[name]
            entry = entries.get(name)
            if value is None:
                if entry is not None:
                    changes.append({"container": container["name"], "name": name, "action": "remove",
                                    "before": _env_value(entry), "after": None})
                continue
            after = as_text(value, f"env {name}")
            if entry is None:
                changes.append({"container": container["name"], "name": name, "action": "add", "before": None,
                                "after": after})
            elif "valueFrom" in entry or entry.get("value", "") != after:
                changes.append({"container": container["name"], "name": name, "action": "change",
                                "before": _env_value(entry), "after": after})
    return changes


def env_lists(template, changes):
    """{container index: the full env list once ``changes`` are applied} for the containers changed."""
    spec = (template or {}).get("spec") or {}
    result = {}
    for index, container in enumerate(spec.get("containers") or []):
        mine = [change for change in changes if change["container"] == container.get("name")]
        if not mine:
            continue
        env = copy.deepcopy(container.get("env") or [])
        for change in mine:
            position = next((i for i, entry in enumerate(env) if entry.get("name") == change["name"]), None)
            if change["after"] is None:
                if position is not None:
                    env.pop(position)
            elif position is None:
                env.append({"name": change["name"], "value": change["after"]})
            else:
                env[position] = {"name": change["name"], "value": change["after"]}
        result[index] = env
    return result


# ------------------------------------------------------------------------------ patches

def template_patch(obj, annotation=None, checksum_value=None, env=None):
    """A JSON patch of ``obj``'s pod template: the checksum annotation and env lists.

    A ``checksum_value`` of None removes the annotation (an undo of a patch that added it).

    ``env`` is {container index: env list} (as :func:`env_lists` returns, or the lists before the
    change for an undo). Each env replacement first tests the container's name, so a template
    changed meanwhile (containers reordered) makes the API refuse the patch instead of mixing them up.
    """
    template = ro.pod_template(obj)
    ops = []
    if annotation is not None:
        metadata = template.get("metadata")
        annotations = (metadata or {}).get("annotations")
        key = "/spec/template/metadata/annotations/" + annotation.replace("~", "~0").replace("/", "~1")
        if checksum_value is None:
            ops.append({"op": "remove", "path": key})
        elif metadata is None:
            ops.append({"op": "add", "path": "/spec/template/metadata", "value": {"annotations": {annotation: checksum_value}}})
        elif annotations is None:
            ops.append({"op": "add", "path": "/spec/template/metadata/annotations", "value": {annotation: checksum_value}})
        else:
            ops.append({"op": "add", "path": key, "value": checksum_value})
    containers = (template.get("spec") or {}).get("containers") or []
    for index, entries in sorted((env or {}).items()):
        ops.append({"op": "test", "path": f"/spec/template/spec/containers/{index}/name",
                    "value": containers[index].get("name")})
        ops.append({"op": "add", "path": f"/spec/template/spec/containers/{index}/env", "value": entries})
    return ops


def env_before(template, indexes):
    """{container index: env list as it is now} for ``indexes`` (what an undo puts back)."""
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    return {index: copy.deepcopy(containers[index].get("env") or []) for index in indexes}


# ------------------------------------------------------------------------------ words

def change_words(data_changes, env_changes):
    """``keys WORKERS, LOG_LEVEL and env JAVA_OPTS`` for messages (names only, never values)."""
    parts = []
    if data_changes:
        parts.append("key" + ("s " if len(data_changes) > 1 else " ") + ", ".join(c["key"] for c in data_changes))
    if env_changes:
        names = sorted({c["name"] for c in env_changes})
        parts.append("env " + ", ".join(names))
    return " and ".join(parts) or "nothing"
