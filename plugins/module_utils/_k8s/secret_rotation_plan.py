# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Secret rotation (C1) decisions: which workloads consume a Secret's key, the new value, the patch.

Pure functions over the API's JSON dicts. A workload consumes the key when a container (or init
container) reads it through ``env[].valueFrom.secretKeyRef`` or ``envFrom[].secretRef``, or a pod
volume mounts the Secret (``volumes[].secret`` or a ``projected`` source), unless the reference
lists ``items`` without the key. Only those workloads restart.
"""

from __future__ import annotations

import base64
import secrets
import string

# The annotation C5 (secret age) reads: when the value was last rotated, RFC 3339 UTC.
ROTATED_AT = "sre.runbooks/rotated-at"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
KEY_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.")


class RotationInputError(ValueError):
    """Bad options; ``str()`` is one sentence."""


def check_key(key):
    """A Secret data key: letters, digits, '-', '_' and '.', at most 253 characters."""
    if not key or len(key) > 253 or not set(key) <= KEY_CHARACTERS or key in (".", ".."):
        raise RotationInputError(f"key {str(key)[:60]!r} is not a valid Secret key (letters, digits, '-', '_' and "
                                 "'.', at most 253 characters).")
    return key


def generate_value(length, alphabet=None, randbytes=secrets.token_bytes, choice=secrets.choice):
    """A new secret value.

    Without ``alphabet``: ``length`` random bytes in base64, as ``openssl rand -base64 <length>`` prints
    them (the runbooks' 32 gives 44 characters). With ``alphabet``: ``length`` characters drawn
    uniformly from it.
    """
    if alphabet is None:
        return base64.b64encode(randbytes(length)).decode("ascii")
    pool = "".join(dict.fromkeys(alphabet))  # each character once, order kept
    if len(pool) < 2:
        raise RotationInputError("alphabet must hold at least two different characters.")
    return "".join(choice(pool) for _index in range(length))


def _items_allow(source, key):
    items = source.get("items")
    return not items or any(item.get("key") == key for item in items)


def _volume_refs(volume, secret, key):
    refs = []
    name = volume.get("name")
    plain = volume.get("secret")
    if plain and plain.get("secretName") == secret and _items_allow(plain, key):
        refs.append(f"volume {name}")
    for source in (volume.get("projected") or {}).get("sources") or []:
        projected = source.get("secret")
        if projected and projected.get("name") == secret and _items_allow(projected, key):
            refs.append(f"projected volume {name}")
    return refs


def _container_refs(container, secret, key):
    refs = []
    what = f"container {container.get('name')}"
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
        if ref.get("name") == secret and ref.get("key") == key:
            refs.append(f"env {env.get('name')} of {what}")
    for env_from in container.get("envFrom") or []:
        ref = env_from.get("secretRef") or {}
        if ref.get("name") == secret:
            prefix = env_from.get("prefix") or ""
            refs.append(f"envFrom of {what}" + (f" (prefix {prefix})" if prefix else ""))
    return refs


def references(workload, secret, key):
    """How the workload's pod template reads ``key`` of Secret ``secret``: a list of phrases (empty: it does not)."""
    pod_spec = (((workload.get("spec") or {}).get("template") or {}).get("spec")) or {}
    refs = []
    for group in ("initContainers", "containers"):
        for container in pod_spec.get(group) or []:
            refs.extend(_container_refs(container, secret, key))
    for volume in pod_spec.get("volumes") or []:
        refs.extend(_volume_refs(volume, secret, key))
    return refs


def consumers(workloads, secret, key):
    """The workloads (dicts with ``kind``) that read the key, each ``{kind, name, references}``, sorted."""
    found = []
    for workload in workloads:
        refs = references(workload, secret, key)
        if refs:
            found.append({"kind": workload.get("kind"), "name": (workload.get("metadata") or {}).get("name"),
                          "references": refs})
    return sorted(found, key=lambda item: (WORKLOAD_KINDS.index(item["kind"]) if item["kind"] in WORKLOAD_KINDS
                                           else len(WORKLOAD_KINDS), item["name"] or ""))


def current_value(secret_obj, key):
    """The key's current value as text (None when absent or not text): only compared, never returned."""
    encoded = (secret_obj.get("data") or {}).get(key)
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def secret_patch(key, value, rotated_at, resource_version):
    """JSON merge patch that sets the key and the rotation annotation, only if nobody changed the Secret since."""
    return {"metadata": {"annotations": {ROTATED_AT: rotated_at}, "resourceVersion": resource_version},
            "data": {key: base64.b64encode(value.encode("utf-8")).decode("ascii")}}


def diff_view(secret_obj, key, rotated_at=None, consumers_restarted=None):
    """What a diff shows of the Secret: its keys and rotation time, never a value."""
    metadata = secret_obj.get("metadata") or {}
    view = {"secret": f"{metadata.get('namespace')}/{metadata.get('name')}",
            "keys": sorted((secret_obj.get("data") or {}).keys()),
            "rotated_at": rotated_at or (metadata.get("annotations") or {}).get(ROTATED_AT)}
    if consumers_restarted is not None:
        view["rotated_key"] = key
        view["restarted"] = [f"{item['kind']}/{item['name']}" for item in consumers_restarted]
        if key not in view["keys"]:
            view["keys"] = sorted(view["keys"] + [key])
    return view
