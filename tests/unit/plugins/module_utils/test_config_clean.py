"""Configuration export (B1): which objects are exported, how they are cleaned, which backups retention prunes."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._config import backups as bk
from ansible_collections.sre.runbooks.plugins.module_utils._config import clean
from ansible_collections.sre.runbooks.plugins.module_utils._config.archive import FORMAT

SERVER_METADATA = {"uid": "u-1", "resourceVersion": "42", "creationTimestamp": "2026-12-01T00:00:00Z",
                   "generation": 3, "managedFields": [{"manager": "kubectl"}], "selfLink": "/x",
                   "ownerReferences": [{"kind": "Thing", "name": "x"}]}


def obj(kind, name="x", namespace="shop", **extra):
    meta = dict(SERVER_METADATA, name=name, namespace=namespace, **extra.pop("metadata", {}))
    return dict({"metadata": meta, "status": {"ready": True}}, **extra)


def test_clean_drops_what_the_server_owns_and_puts_apiversion_and_kind_first():
    body = obj("Deployment", metadata={"annotations": {clean.LAST_APPLIED: "{}", "deployment.kubernetes.io/revision": "4",
                                                       "team": "shop"}},
               spec={"template": {"metadata": {"creationTimestamp": None, "labels": {"app": "x"}}}})
    cleaned = clean.clean_object(body, "Deployment", "apps/v1")
    assert list(cleaned)[:3] == ["apiVersion", "kind", "metadata"]
    assert cleaned["apiVersion"] == "apps/v1" and cleaned["kind"] == "Deployment"
    assert "status" not in cleaned
    assert cleaned["metadata"] == {"name": "x", "namespace": "shop", "annotations": {"team": "shop"}}
    assert cleaned["spec"]["template"]["metadata"] == {"labels": {"app": "x"}}


def test_clean_removes_empty_annotations():
    body = obj("ConfigMap", metadata={"annotations": {clean.LAST_APPLIED: "{}"}}, data={"a": "1"})
    assert "annotations" not in clean.clean_object(body, "ConfigMap", "v1")["metadata"]


@pytest.mark.parametrize("service_type, applied_node_port, kept", [
    ("ClusterIP", None, False),
    ("NodePort", None, False),          # allocated by the server
    ("NodePort", 30080, True),          # set explicitly by the last apply
    ("LoadBalancer", 30080, True),
])
def test_service_loses_allocated_ips_and_node_ports(service_type, applied_node_port, kept):
    applied = {"spec": {"ports": [{"port": 80, "name": "http", **({"nodePort": applied_node_port} if applied_node_port else {})}]}}
    body = obj("Service", metadata={"annotations": {clean.LAST_APPLIED: json.dumps(applied)}},
               spec={"type": service_type, "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "healthCheckNodePort": 31000,
                     "ports": [{"port": 80, "name": "http", "nodePort": 30080}]})
    spec = clean.clean_object(body, "Service", "v1")["spec"]
    assert "clusterIP" not in spec and "clusterIPs" not in spec and "healthCheckNodePort" not in spec
    assert ("nodePort" in spec["ports"][0]) is kept


def test_pvc_loses_its_binding():
    body = obj("PersistentVolumeClaim", metadata={
        "annotations": {"pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/selected-node": "n1", "keep": "me"},
        "finalizers": [clean.PVC_FINALIZER]}, spec={"volumeName": "pv-1", "resources": {"requests": {"storage": "1Gi"}}})
    cleaned = clean.clean_object(body, "PersistentVolumeClaim", "v1")
    assert cleaned["metadata"]["annotations"] == {"keep": "me"}
    assert "finalizers" not in cleaned["metadata"]
    assert cleaned["spec"] == {"resources": {"requests": {"storage": "1Gi"}}}


def test_namespace_loses_its_spec():
    cleaned = clean.clean_object(obj("Namespace", namespace=None, spec={"finalizers": ["kubernetes"]}), "Namespace", "v1")
    assert "spec" not in cleaned and "status" not in cleaned


def test_cronjob_templates_lose_null_timestamps():
    body = obj("CronJob", spec={"jobTemplate": {"metadata": {"creationTimestamp": None},
                                                "spec": {"template": {"metadata": {"creationTimestamp": None}}}}})
    spec = clean.clean_object(body, "CronJob", "batch/v1")["spec"]
    assert spec["jobTemplate"]["metadata"] == {} and spec["jobTemplate"]["spec"]["template"]["metadata"] == {}


@pytest.mark.parametrize("kind, body, reason", [
    ("Job", {"metadata": {"name": "j", "ownerReferences": [{"kind": "CronJob", "controller": True}]}}, "controller"),
    ("ConfigMap", {"metadata": {"name": "kube-root-ca.crt"}}, "published"),
    ("ServiceAccount", {"metadata": {"name": "default"}}, "made in every namespace"),
    ("Secret", {"metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token"}, "token"),
    ("ClusterRole", {"metadata": {"name": "admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}}, "bootstrap"),
])
def test_objects_made_by_the_cluster_are_skipped(kind, body, reason):
    assert reason in clean.skip_reason(body, kind)


@pytest.mark.parametrize("kind, body", [
    ("ConfigMap", {"metadata": {"name": "app", "ownerReferences": [{"kind": "X", "controller": False}]}}),
    ("ServiceAccount", {"metadata": {"name": "app"}}),
    ("Secret", {"metadata": {"name": "db"}, "type": "Opaque"}),
])
def test_user_objects_are_exported(kind, body):
    assert clean.skip_reason(body, kind) is None


def test_unknown_and_misplaced_kinds_are_refused():
    clean.check_kinds(clean.DEFAULT_KINDS, ["ClusterRole"])
    with pytest.raises(clean.SelectionError, match="unknown kind 'Widget'"):
        clean.check_kinds(["Widget"], [])
    with pytest.raises(clean.SelectionError, match="cluster_kinds"):
        clean.check_kinds(["ClusterRole"], [])
    with pytest.raises(clean.SelectionError, match="unknown cluster-scoped kind 'Deployment'"):
        clean.check_kinds([], ["Deployment"])


def test_custom_resources_are_checked_and_found_by_discovery():
    assert clean.check_custom_resource({"api_version": "example.com/v1", "kind": "Widget"}) == ("example.com/v1", "Widget")
    for bad in ({"api_version": "v1", "kind": "Widget"}, {"api_version": "example.com/v1", "kind": "widget"},
                {"api_version": "apps/v1", "kind": "Deployment"}):
        with pytest.raises(clean.SelectionError):
            clean.check_custom_resource(bad)
    discovery = {"resources": [{"name": "widgets/status", "kind": "Widget"}, {"name": "widgets", "kind": "Widget", "namespaced": True}]}
    assert clean.find_resource(discovery, "example.com/v1", "Widget") == ("widgets", True)
    with pytest.raises(clean.SelectionError, match="does not serve kind Gadget"):
        clean.find_resource(discovery, "example.com/v1", "Gadget")


def test_paths_and_list_strategy():
    assert clean.api_path("v1", "secrets", "shop") == "/api/v1/namespaces/shop/secrets"
    assert clean.api_path("apps/v1", "deployments") == "/apis/apps/v1/deployments"
    assert not clean.use_cluster_wide_lists(1) and clean.use_cluster_wide_lists(50)
    assert clean.selected({"metadata": {"namespace": "a"}}, {"a"}) and not clean.selected({"metadata": {"namespace": "b"}}, {"a"})


# -- retention over the backups in a folder -------------------------------------------------

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc)


def sidecar(name, days_old, namespaces=("shop",)):
    created = (NOW - datetime.timedelta(days=days_old)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"format": FORMAT, "format_version": 1, "name": name, "created": created, "namespaces": list(namespaces),
            "archive_sha256": "0" * 64, "archive_size": 1}


def write_backup(folder, record):
    (folder / f"{record['name']}.json").write_text(json.dumps(record))
    (folder / f"{record['name']}.tar.gz").write_bytes(b"archive")


def test_parse_sidecar_accepts_only_our_format_under_its_own_name():
    record = sidecar("b1", 1)
    assert bk.parse_sidecar("b1", json.dumps(record).encode()) == record
    assert bk.parse_sidecar("b2", json.dumps(record).encode()) is None
    assert bk.parse_sidecar("b1", json.dumps(dict(record, format="pg_backup")).encode()) is None
    assert bk.parse_sidecar("b1", b"\xff not json") is None


@pytest.mark.parametrize("name, ok", [("config-20261204T120000Z", True), ("a.b_c-d", True), ("../x", False),
                                      ("x.tar.gz", False), ("x.json", False), ("", False), ("a/b", False), (".hidden", False)])
def test_valid_name(name, ok):
    assert bk.valid_name(name) is ok


def test_choose_prunable_counts_only_the_same_namespaces():
    records = [sidecar("new", 0), sidecar("mid", 1), sidecar("old", 2), sidecar("other", 3, namespaces=("billing",))]
    chosen = bk.choose_prunable(records, ["shop"], {"keep_last": 1}, protect=["new"], now=NOW)
    assert [c["name"] for c in chosen] == ["mid", "old"]
    assert bk.choose_prunable(records, ["shop"], {}, now=NOW) == []


def test_scan_folder_reads_only_pairs_of_our_format_and_never_follows_symlinks(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    write_backup(dest, sidecar("good", 1))
    (dest / "lonely.json").write_text(json.dumps(sidecar("lonely", 1)))          # no archive beside it
    (dest / "notes.json").write_text('{"hello": 1}')                              # not a sidecar
    (dest / "notes.tar.gz").write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    write_backup(outside, sidecar("far", 9))
    (dest / "far.json").symlink_to(outside / "far.json")
    (dest / "far.tar.gz").symlink_to(outside / "far.tar.gz")
    assert [r["name"] for r in bk.scan_folder(dest)] == ["good"]
    assert bk.scan_folder(tmp_path / "missing") == []
    bk.remove_from_folder(dest, "far")  # symlinks are not regular files: nothing is removed
    assert (outside / "far.tar.gz").exists() and (dest / "far.json").is_symlink()
    bk.remove_from_folder(dest, "good")
    assert sorted(p.name for p in dest.iterdir()) == ["far.json", "far.tar.gz", "lonely.json", "notes.json", "notes.tar.gz"]
    with pytest.raises(ValueError):
        bk.remove_from_folder(dest, "../outside/far")


def test_a_node_port_a_client_wrote_is_kept_by_its_managed_fields_and_headless_stays_headless():
    managed = [{"manager": "sre.runbooks", "operation": "Update", "fieldsV1": {"f:spec": {"f:ports": {
        'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:nodePort": {}, "f:port": {}},
        'k:{"port":443,"protocol":"TCP"}': {".": {}, "f:port": {}}}}}}]
    body = obj("Service", metadata={"managedFields": managed}, spec={
        "type": "NodePort", "clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"],
        "ports": [{"port": 80, "nodePort": 30080}, {"port": 443, "nodePort": 31443}]})
    ports = clean.clean_object(body, "Service", "v1")["spec"]["ports"]
    assert ports == [{"port": 80, "nodePort": 30080}, {"port": 443}]
    headless = obj("Service", spec={"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 80}]})
    assert clean.clean_object(headless, "Service", "v1")["spec"] == {"clusterIP": "None", "ports": [{"port": 80}]}
