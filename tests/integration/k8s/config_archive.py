"""Build a configuration backup archive (archive.ArchiveWriter) from objects read from the cluster, for B3 tests.

The export module k8s_config_backup is built in parallel against the same contract, so the restore
tests make their archives here: read the namespace's objects, clean them as the contract says
(``clean``), encrypt Secrets with vault.encrypt, and write ``<dest>/<name>.tar.gz`` plus its sidecar.
Also a command for molecule's prepare step:

    python -m tests.integration.k8s.config_archive --kubeconfig K --namespace N --dest D --name X --password-file P
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
if str(REPO / ".collections") not in sys.path:  # the collection's archive and vault code
    sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.sre.runbooks.plugins.module_utils._config import archive, vault  # noqa: E402
from ansible_collections.sre.runbooks.plugins.module_utils._config.restore_plan import api_path  # noqa: E402

# kind -> (apiVersion, plural)
KINDS = {
    "ServiceAccount": ("v1", "serviceaccounts"),
    "Secret": ("v1", "secrets"),
    "ConfigMap": ("v1", "configmaps"),
    "Role": ("rbac.authorization.k8s.io/v1", "roles"),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", "rolebindings"),
    "Deployment": ("apps/v1", "deployments"),
    "Service": ("v1", "services"),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets"),
    "NetworkPolicy": ("networking.k8s.io/v1", "networkpolicies"),
}
SERVER_METADATA = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "generation", "selfLink",
                   "deletionTimestamp", "ownerReferences")
SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")


def get_json(api_client, path):
    """GET ``path`` with a kubernetes.client.ApiClient; the JSON as a dict."""
    response = api_client.call_api(path, "GET", auth_settings=["BearerToken"], _preload_content=False,
                                   header_params={"Accept": "application/json"}, _request_timeout=30)
    return json.loads(response.data)


def clean(obj):
    """The object without what the server owns (the contract's cleaning), or None when it is not exported."""
    obj = copy.deepcopy(obj)
    kind, metadata = obj.get("kind"), obj.get("metadata") or {}
    if metadata.get("ownerReferences") or (kind == "ServiceAccount" and metadata.get("name") == "default") or (
            kind == "ConfigMap" and metadata.get("name") == "kube-root-ca.crt") or (
            kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token"):
        return None
    obj.pop("status", None)
    for key in SERVER_METADATA:
        metadata.pop(key, None)
    annotations = metadata.get("annotations") or {}
    for key in SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        metadata.pop("annotations", None)
    if kind == "Service":
        spec = obj.get("spec") or {}
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or []:
                port.pop("nodePort", None)
    return obj


def read_namespace(api_client, namespace):
    """The cleaned objects of ``namespace`` (the kinds of KINDS) and its cleaned Namespace object."""
    objects = [clean(dict(get_json(api_client, api_path("v1", "namespaces", None, namespace)), kind="Namespace",
                          apiVersion="v1"))]
    for kind, (api_version, plural) in KINDS.items():
        for item in get_json(api_client, api_path(api_version, plural, namespace))["items"]:
            cleaned = clean(dict(item, kind=kind, apiVersion=api_version))
            if cleaned is not None:
                objects.append(cleaned)
    return objects


def write_archive(objects, dest, name, password, format_version=None):
    """Write ``<dest>/<name>.tar.gz`` and its sidecar ``<name>.json``; returns (archive path, sidecar dict)."""
    path = os.path.join(dest, name + ".tar.gz")
    writer = archive.ArchiveWriter(path)
    counts, namespaces = {}, set()
    for obj in objects:
        kind, metadata = obj["kind"], obj["metadata"]
        namespace = metadata.get("namespace") if kind != "Namespace" else None
        encrypted = kind == "Secret"
        data = yaml.safe_dump(obj, sort_keys=True).encode("utf-8")
        if encrypted:
            data = vault.encrypt(data, password)
        writer.add(archive.member_path(namespace, kind, metadata["name"], encrypted), data,
                   {"apiVersion": obj["apiVersion"], "kind": kind, "namespace": namespace, "name": metadata["name"],
                    "encrypted": encrypted})
        counts[kind] = counts.get(kind, 0) + 1
        namespaces.add(namespace or metadata["name"] if kind == "Namespace" or namespace else None)
    manifest = {"name": name, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "cluster": {"server_version": "test"}, "namespaces": sorted(n for n in namespaces if n),
                "kinds": sorted(counts), "counts": counts, "objects": len(objects)}
    record = writer.commit(manifest)
    if format_version is not None:
        record["format_version"] = format_version
    with open(os.path.join(dest, name + ".json"), "w", encoding="utf-8") as handle:
        handle.write(archive.dumps(record))
    return path, record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--password-file", required=True)
    args = parser.parse_args()
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=args.kubeconfig, client_configuration=configuration)
    with k8s.ApiClient(configuration) as api_client:
        objects = read_namespace(api_client, args.namespace)
    path, _record = write_archive(objects, args.dest, args.name, vault.read_password_file(args.password_file))
    print(path)


if __name__ == "__main__":
    main()
