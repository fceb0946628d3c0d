# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the configuration export (B1) selects and how it cleans each object: pure functions, no I/O.

An exported object must apply again on an empty namespace (or another cluster), so what the API
server owns is removed (status, uid, resourceVersion, managedFields, allocated IPs and ports, ...)
and objects that a controller made are not exported at all: the controller makes them again from
the object that owns it (ReplicaSets and Pods of a Deployment, Jobs of a CronJob, the
``kube-root-ca.crt`` ConfigMap, the ``default`` ServiceAccount, service-account token Secrets).
"""

from __future__ import annotations

import json
import re

# kind -> (apiVersion, plural, namespaced) of the kinds the export knows without discovery.
BUILTIN_KINDS = {
    "Deployment": ("apps/v1", "deployments", True),
    "StatefulSet": ("apps/v1", "statefulsets", True),
    "DaemonSet": ("apps/v1", "daemonsets", True),
    "Service": ("v1", "services", True),
    "Ingress": ("networking.k8s.io/v1", "ingresses", True),
    "ConfigMap": ("v1", "configmaps", True),
    "Secret": ("v1", "secrets", True),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "horizontalpodautoscalers", True),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets", True),
    "NetworkPolicy": ("networking.k8s.io/v1", "networkpolicies", True),
    "ServiceAccount": ("v1", "serviceaccounts", True),
    "Role": ("rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", "rolebindings", True),
    "CronJob": ("batch/v1", "cronjobs", True),
    "PersistentVolumeClaim": ("v1", "persistentvolumeclaims", True),
    "Job": ("batch/v1", "jobs", True),
    "LimitRange": ("v1", "limitranges", True),
    "ResourceQuota": ("v1", "resourcequotas", True),
    "Namespace": ("v1", "namespaces", False),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "StorageClass": ("storage.k8s.io/v1", "storageclasses", False),
    "PriorityClass": ("scheduling.k8s.io/v1", "priorityclasses", False),
    "IngressClass": ("networking.k8s.io/v1", "ingressclasses", False),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
}
DEFAULT_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress", "ConfigMap", "Secret",
                 "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount", "Role",
                 "RoleBinding", "CronJob", "PersistentVolumeClaim"]
NAMESPACED_KINDS = sorted(kind for kind, (_v, _p, namespaced) in BUILTIN_KINDS.items() if namespaced)
CLUSTER_KINDS = sorted(kind for kind, (_v, _p, namespaced) in BUILTIN_KINDS.items()
                       if not namespaced and kind != "Namespace")

METADATA_DROPPED = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "generation", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ANNOTATIONS_DROPPED = (LAST_APPLIED, "deployment.kubernetes.io/revision")
PVC_ANNOTATION_PREFIXES = ("pv.kubernetes.io/", "volume.beta.kubernetes.io/storage-provisioner",
                           "volume.kubernetes.io/storage-provisioner", "volume.kubernetes.io/selected-node")
PVC_FINALIZER = "kubernetes.io/pvc-protection"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
BOOTSTRAP_LABEL = ("kubernetes.io/bootstrapping", "rbac-defaults")
_GROUP_VERSION = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/v[0-9]+((alpha|beta)[0-9]+)?$")
_KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")


class SelectionError(ValueError):
    """Kinds or custom resources that the export cannot use; the text is one sentence."""


def check_kinds(kinds, cluster_kinds):
    """Refuse an unknown or misplaced kind (one sentence naming it and what is accepted)."""
    for kind in kinds:
        if kind not in NAMESPACED_KINDS:
            hint = " (it is cluster-scoped: list it in cluster_kinds)" if kind in CLUSTER_KINDS else ""
            raise SelectionError(f"kinds: unknown kind {kind!r}{hint}; known namespaced kinds are "
                                 f"{', '.join(NAMESPACED_KINDS)} (other kinds go in custom_resources).")
    for kind in cluster_kinds:
        if kind not in CLUSTER_KINDS:
            raise SelectionError(f"cluster_kinds: unknown cluster-scoped kind {kind!r}; known ones are "
                                 f"{', '.join(CLUSTER_KINDS)} (Namespace objects are always exported).")


def check_custom_resource(entry):
    """The (apiVersion, kind) of one ``custom_resources`` entry, or SelectionError."""
    api_version, kind = entry.get("api_version"), entry.get("kind")
    if not isinstance(api_version, str) or not _GROUP_VERSION.match(api_version):
        raise SelectionError(f"custom_resources: api_version {api_version!r} is not group/version "
                             "(such as example.com/v1).")
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise SelectionError(f"custom_resources: kind {kind!r} is not a kind name (such as Widget).")
    if kind in BUILTIN_KINDS:
        raise SelectionError(f"custom_resources: {kind} is a built-in kind; list it in kinds or cluster_kinds.")
    return api_version, kind


def api_path(api_version, plural, namespace=None):
    """The REST path of a collection: ``/apis/apps/v1/namespaces/x/deployments`` or ``/api/v1/nodes``."""
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{root}/namespaces/{namespace}/{plural}" if namespace else f"{root}/{plural}"


def find_resource(discovery, api_version, kind):
    """The (plural, namespaced) of ``kind`` in an APIResourceList, or SelectionError when it is not served."""
    for resource in (discovery or {}).get("resources") or []:
        if resource.get("kind") == kind and "/" not in resource.get("name", ""):
            return resource["name"], bool(resource.get("namespaced"))
    raise SelectionError(f"custom_resources: the API server does not serve kind {kind} in {api_version} "
                         "(is its CustomResourceDefinition installed?).")


def use_cluster_wide_lists(namespace_count, threshold=4):
    """List each kind once across all namespaces (filtering client-side) when more than a few are asked."""
    return namespace_count > threshold


def skip_reason(obj, kind):
    """Why an object is not exported (made by a controller or by the cluster itself), or None."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if any(ref.get("controller") for ref in meta.get("ownerReferences") or []):
        return "owned by a controller"
    if kind == "ConfigMap" and name == ROOT_CA_CONFIGMAP:
        return "published in every namespace by the cluster"
    if kind == "ServiceAccount" and name == "default":
        return "made in every namespace by the cluster"
    if kind == "Secret" and obj.get("type") == TOKEN_SECRET_TYPE:
        return "a service-account token made by the cluster"
    if (meta.get("labels") or {}).get(BOOTSTRAP_LABEL[0]) == BOOTSTRAP_LABEL[1]:
        return "a bootstrap RBAC default of the cluster"
    return None


def _explicit_node_ports(last_applied):
    """The ports (by port number and name) whose nodePort the user set, read from last-applied-configuration."""
    try:
        applied = json.loads(last_applied) if last_applied else {}
    except ValueError:
        return set()
    ports = ((applied.get("spec") or {}).get("ports") if isinstance(applied, dict) else None) or []
    return {(port.get("port"), port.get("name")) for port in ports if isinstance(port, dict) and port.get("nodePort")}


def _managed_node_ports(managed_fields):
    """The ports (by port number and name) whose nodePort a client wrote, from metadata.managedFields.

    The API server allocates the other nodePorts itself and records no manager for them; a port set by
    kubectl, by an apply or by our own restore carries ``f:nodePort`` under its ``k:{"port":..}`` key.
    """
    explicit = set()
    for entry in managed_fields or []:
        ports = ((((entry or {}).get("fieldsV1") or {}).get("f:spec") or {}).get("f:ports")) or {}
        for key, fields in ports.items():
            if not key.startswith("k:") or not isinstance(fields, dict) or "f:nodePort" not in fields:
                continue
            try:
                port_key = json.loads(key[2:])
            except ValueError:
                continue
            explicit.add(port_key.get("port"))
    return explicit


def _clean_service(obj, annotations, managed_fields=None):
    spec = obj.get("spec") or {}
    # A headless Service's clusterIP "None" is its definition, not an allocation.
    headless = spec.get("clusterIP") == "None"
    for field in ("clusterIP", "clusterIPs", "healthCheckNodePort"):
        spec.pop(field, None)
    if headless:
        spec["clusterIP"] = "None"
    if spec.get("type") == "ExternalName":
        return
    explicit = set()
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        explicit = _explicit_node_ports(annotations.get(LAST_APPLIED))
        explicit |= {(port.get("port"), port.get("name")) for port in spec.get("ports") or []
                     if port.get("port") in _managed_node_ports(managed_fields)}
    for port in spec.get("ports") or []:
        if "nodePort" in port and (port.get("port"), port.get("name")) not in explicit:
            port.pop("nodePort")


def _clean_pvc(obj, meta):
    (obj.get("spec") or {}).pop("volumeName", None)
    annotations = meta.get("annotations") or {}
    for key in list(annotations):
        if key.startswith(PVC_ANNOTATION_PREFIXES):
            annotations.pop(key)
    finalizers = [item for item in meta.get("finalizers") or [] if item != PVC_FINALIZER]
    if finalizers:
        meta["finalizers"] = finalizers
    else:
        meta.pop("finalizers", None)


def _clean_template(obj):
    """A pod template's ``metadata.creationTimestamp: null`` (the API's default) is noise."""
    spec = obj.get("spec") or {}
    templates = [spec.get("template"), ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")]
    for template in templates:
        if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
            template["metadata"].pop("creationTimestamp", None)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict) and isinstance(job_template.get("metadata"), dict):
        job_template["metadata"].pop("creationTimestamp", None)


def clean_object(obj, kind, api_version):
    """A copy-free clean of ``obj`` (modified in place and returned) that applies again on an empty cluster."""
    obj.pop("status", None)
    meta = obj.get("metadata") or {}
    original = meta.get("annotations") or {}
    annotations = dict(original)
    managed_fields = meta.get("managedFields")
    for field in METADATA_DROPPED:
        meta.pop(field, None)
    for key in ANNOTATIONS_DROPPED:
        annotations.pop(key, None)
    if kind == "Service":
        _clean_service(obj, original, managed_fields)
    elif kind == "PersistentVolumeClaim":
        meta["annotations"] = annotations
        _clean_pvc(obj, meta)
        annotations = meta["annotations"]
    elif kind == "Namespace":
        obj.pop("spec", None)
    _clean_template(obj)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    ordered = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    ordered.update((key, value) for key, value in obj.items() if key not in ordered)
    return ordered


def selected(obj, namespaces):
    """Whether a listed object belongs to one of the namespaces asked for (client-side filter)."""
    return (obj.get("metadata") or {}).get("namespace") in namespaces
