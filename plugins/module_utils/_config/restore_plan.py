# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_config_restore's decisions (B3), pure: which archive members to restore, into which namespace,
in which order, and what to do with each object (create, leave alone, apply).

Nothing here talks to a server or reads a file; restore_runner does the I/O and calls these.
"""

from __future__ import annotations

import copy

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import netpol

# The restore order, one step per entry; objects of one step do not depend on each other and are
# applied concurrently, and a step starts only when the previous one is done. Kinds not listed
# (custom resources) come last, in a step of their own.
ORDER = (
    ("Namespace",),
    ("ServiceAccount",),
    ("Secret", "ConfigMap"),
    ("PersistentVolumeClaim",),
    ("Role", "ClusterRole"),
    ("RoleBinding", "ClusterRoleBinding"),
    ("Deployment", "StatefulSet", "DaemonSet", "CronJob"),
    ("Service",),
    ("Ingress",),
    ("HorizontalPodAutoscaler",),
    ("PodDisruptionBudget",),
    ("NetworkPolicy",),
)
KNOWN_KINDS = tuple(kind for step in ORDER for kind in step)
_STEP = {kind: index for index, step in enumerate(ORDER) for kind in step}
WAITED_KINDS = ("Deployment", "StatefulSet")

# What the server owns in a live object or a dry-run answer: dropped before comparing or showing it.
_SERVER_METADATA = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "generation", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds")
_SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")
_REDACTED = "<redacted>"


class PlanError(ValueError):
    """Bad input for the restore (a filter, a mapping, an archive entry); the text is one sentence."""


def ref(kind, namespace, name):
    """How results name an object: ``Deployment/shop/web``, or ``Namespace/shop`` for cluster-scoped ones."""
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


# ------------------------------------------------------------------------------ label selectors

def parse_selector(text):
    """kubectl's selector text (``app=web,tier!=db,env in (a,b),!legacy``) as a LabelSelector; None when empty."""
    if not text or not text.strip():
        return None
    try:
        return netpol.parse_selector(text)
    except netpol.PolicyError as exc:
        raise PlanError(f"label_selector: {str(exc).rstrip('.')}.") from None


def selector_matches(selector, labels):
    return selector is None or netpol.selector_matches(selector, labels)


# ------------------------------------------------------------------------------ selection

def archive_namespaces(manifest):
    """The namespaces an archive holds objects of (its manifest's list, plus any member's)."""
    found = set(manifest.get("namespaces") or [])
    for meta in (manifest.get("files") or {}).values():
        if meta.get("namespace"):
            found.add(meta["namespace"])
    return sorted(found)


def check_filters(manifest, namespaces, kinds, namespace_map):
    """Refuse filters naming what the archive cannot hold; the namespaces to restore."""
    held = archive_namespaces(manifest)
    archive_kinds = {meta.get("kind") for meta in (manifest.get("files") or {}).values()}
    for namespace in namespaces or []:
        if namespace not in held:
            raise PlanError(f"namespaces: the archive holds no namespace {namespace!r} "
                            f"(it holds {', '.join(held) or 'none'}).")
    for kind in kinds or []:
        if kind not in archive_kinds and kind not in KNOWN_KINDS:
            raise PlanError(f"kinds: {kind!r} is not a kind this restore knows nor one the archive holds "
                            f"(the archive holds {', '.join(sorted(k for k in archive_kinds if k)) or 'nothing'}).")
    for old, new in (namespace_map or {}).items():
        if old not in held:
            raise PlanError(f"namespace_map: the archive holds no namespace {old!r} to map to {new!r}.")
    targets = [(namespace_map or {}).get(ns, ns) for ns in (namespaces or held)]
    duplicates = sorted({ns for ns in targets if targets.count(ns) > 1})
    if duplicates:
        raise PlanError(f"namespace_map: more than one namespace would be restored into {duplicates[0]!r}.")
    return list(namespaces or held)


def select_members(manifest, namespaces=None, kinds=None, names=None, label_selector=None, labels_of=None):
    """The manifest entries ``[(member, meta)]`` to restore, sorted by member path.

    ``namespaces`` (default: all of the archive), ``kinds`` and ``names`` filter; the label selector is
    applied with ``labels_of(member)`` (the object's labels, known only once parsed), when given. The
    Namespace object of every namespace that keeps at least one object is always selected (its objects
    need it), whatever the kind, name and label filters say. Cluster-scoped objects other than
    Namespaces are not filtered by namespace.
    """
    files = manifest.get("files") or {}
    wanted_ns = set(namespaces if namespaces is not None else archive_namespaces(manifest))
    selector = parse_selector(label_selector)
    chosen, used_ns = [], set()
    for member in sorted(files):
        meta = files[member]
        kind, namespace, name = meta.get("kind"), meta.get("namespace"), meta.get("name")
        if kind == "Namespace" and not namespace:
            continue
        if namespace and namespace not in wanted_ns:
            continue
        if kinds and kind not in kinds:
            continue
        if names and name not in names:
            continue
        if selector is not None and labels_of is not None and not selector_matches(selector, labels_of(member)):
            continue
        chosen.append((member, meta))
        if namespace:
            used_ns.add(namespace)
    for member in sorted(files):
        meta = files[member]
        if meta.get("kind") == "Namespace" and not meta.get("namespace") and meta.get("name") in used_ns:
            chosen.append((member, meta))
    return sorted(chosen, key=lambda pair: pair[0])


def needs_key(selected):
    """The selected members that are encrypted (Secrets)."""
    return [member for member, meta in selected if meta.get("encrypted")]


def check_object(obj, meta, member):
    """Refuse a parsed archive member that is not the object its manifest entry says it is."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        raise PlanError(f"The archive member {member} is not a Kubernetes object.")
    metadata = obj["metadata"]
    expected = (meta.get("kind"), meta.get("name"), meta.get("namespace") or None)
    found = (obj.get("kind"), metadata.get("name"), metadata.get("namespace") or None)
    if meta.get("kind") == "Namespace":
        found = (obj.get("kind"), metadata.get("name"), None)
    if found != expected or not obj.get("apiVersion"):
        raise PlanError(f"The archive member {member} holds {found[0]} {found[2] or ''}/{found[1]}, "
                        f"not the {expected[0]} {expected[2] or ''}/{expected[1]} its manifest lists.")
    return obj


# ------------------------------------------------------------------------------ mapping

def map_namespace(obj, namespace_map):
    """A copy of ``obj`` moved by ``namespace_map`` (old -> new): its namespace, a Namespace object's name
    (and its ``kubernetes.io/metadata.name`` label), the ServiceAccount subjects of (Cluster)RoleBindings. A
    Service moved to another namespace loses its nodePorts (cluster-wide: the original may still hold them)."""
    if not namespace_map:
        return obj
    obj = copy.deepcopy(obj)
    metadata = obj["metadata"]
    if obj.get("kind") == "Namespace":
        new = namespace_map.get(metadata.get("name"))
        if new:
            metadata["name"] = new
            labels = metadata.get("labels") or {}
            if "kubernetes.io/metadata.name" in labels:
                labels["kubernetes.io/metadata.name"] = new
        return obj
    if metadata.get("namespace") in namespace_map:
        metadata["namespace"] = namespace_map[metadata["namespace"]]
        if obj.get("kind") == "Service":
            # nodePorts are cluster-wide: a copy beside its original gets ports of its own.
            for port in (obj.get("spec") or {}).get("ports") or []:
                port.pop("nodePort", None)
    if obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
        for subject in obj.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount" and subject.get("namespace") in namespace_map:
                subject["namespace"] = namespace_map[subject["namespace"]]
    return obj


# ------------------------------------------------------------------------------ order and actions

def step_of(kind):
    return _STEP.get(kind, len(ORDER))


def steps(objects):
    """``objects`` grouped into restore steps, in order; each step sorted by (kind, namespace, name)."""
    grouped = {}
    for obj in objects:
        grouped.setdefault(step_of(obj["kind"]), []).append(obj)
    return [sorted(grouped[index], key=identity) for index in sorted(grouped)]


def identity(obj):
    metadata = obj.get("metadata") or {}
    return (obj.get("kind"), metadata.get("namespace") or "", metadata.get("name"))


def object_ref(obj):
    kind, namespace, name = identity(obj)
    return ref(kind, namespace or None, name)


def terminating_namespaces(objects, existing):
    """Namespaces to restore into that exist but are being deleted (nothing can be created in them)."""
    names = sorted({obj["metadata"]["name"] for obj in objects if obj.get("kind") == "Namespace"}
                   | {obj["metadata"]["namespace"] for obj in objects if obj["metadata"].get("namespace")})
    return [name for name in names
            if ((existing.get(("Namespace", "", name)) or {}).get("metadata") or {}).get("deletionTimestamp")]


def action(exists, update):
    """``create`` a missing object; an existing one is ``apply``-ed with update, else left alone (``exists``)."""
    if not exists:
        return "create"
    return "apply" if update else "exists"


def clean(obj):
    """A copy of a live object (or dry-run answer) without what the server owns, for comparing and diffs."""
    obj = copy.deepcopy(obj or {})
    obj.pop("status", None)
    metadata = obj.get("metadata") or {}
    for key in _SERVER_METADATA:
        metadata.pop(key, None)
    annotations = metadata.get("annotations")
    if annotations is not None:
        for key in _SERVER_ANNOTATIONS:
            annotations.pop(key, None)
        if not annotations:
            metadata.pop("annotations", None)
    return obj


def redact(obj):
    """A copy with a Secret's values replaced (for diffs: keys are shown, values never)."""
    if (obj or {}).get("kind") != "Secret":
        return obj
    obj = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(obj.get(field), dict):
            obj[field] = {key: _REDACTED for key in obj[field]}
    return obj


def diff_entry(obj_ref, before, after):
    """One entry of the task's diff: ``before``/``after`` as cleaned, redacted objects (None: absent)."""
    entry = {"before_header": obj_ref, "after_header": obj_ref}
    entry["before"] = redact(clean(before)) if before is not None else {}
    entry["after"] = redact(clean(after)) if after is not None else {}
    return entry


def workloads_to_wait(objects):
    """The restored objects whose rollout the wait covers: ``[(kind, namespace, name)]``."""
    return [identity(obj) for obj in objects if obj.get("kind") in WAITED_KINDS]


def api_path(api_version, plural, namespace=None, name=None):
    """The REST path of a collection or object: ``/api/v1/...`` for the core group, ``/apis/<group>/<v>/...``."""
    parts = ["", "api" if "/" not in api_version else "apis", api_version]
    if namespace:
        parts += ["namespaces", namespace]
    parts.append(plural)
    if name:
        parts.append(name)
    return "/".join(parts)
