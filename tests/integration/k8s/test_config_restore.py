"""B3 configuration restore against the real control plane: sre.runbooks.k8s_config_restore.

One module-scoped fixture seeds a namespace (ServiceAccount, Secret, ConfigMap, Role, RoleBinding,
Deployment, Service, PodDisruptionBudget, NetworkPolicy), reads it back, cleans it and writes an
archive with ArchiveWriter (config_archive.py; the export module comes from the other half of B3),
then deletes the namespace. The tests restore from it and read the server back with the Python
client; every refusal is checked on the server too (the target namespace must not appear).
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import tarfile
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.k8s import config_archive  # noqa: E402  (puts the collection on sys.path)
from ansible_collections.sre.runbooks.plugins.module_utils._config import archive  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_config_restore"
PASSWORD = "b3-restore-test-vault-password"
SECRET_VALUE = "b3-original-token-value-7f3c"
LABELS = {"app": "web"}


def seed(api, ns):
    """Create the namespace's objects with the generic client (bodies are the API's JSON)."""
    objects = [
        ("v1", "serviceaccounts", {"metadata": {"name": "app"}}),
        ("v1", "secrets", {"metadata": {"name": "app-secret", "labels": LABELS},
                           "stringData": {"token": SECRET_VALUE}}),
        ("v1", "configmaps", {"metadata": {"name": "app-config", "labels": LABELS},
                              "data": {"WORKERS": "2", "LOG_LEVEL": "info"}}),
        ("v1", "configmaps", {"metadata": {"name": "other-config", "labels": {"app": "other"}}, "data": {"A": "1"}}),
        ("rbac.authorization.k8s.io/v1", "roles", {"metadata": {"name": "reader"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
        ("rbac.authorization.k8s.io/v1", "rolebindings", {
            "metadata": {"name": "reader-app"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                            "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}]}),
        ("apps/v1", "deployments", {"metadata": {"name": "web", "labels": LABELS}, "spec": {
            "replicas": 2, "selector": {"matchLabels": LABELS},
            "template": {"metadata": {"labels": LABELS}, "spec": {
                "serviceAccountName": "app", "terminationGracePeriodSeconds": 0,  # a quick namespace deletion
                "containers": [{"name": "app", "image": "web:1",
                                "envFrom": [{"configMapRef": {"name": "app-config"}},
                                            {"secretRef": {"name": "app-secret"}}]}]}}}}),
        ("v1", "services", {"metadata": {"name": "web", "labels": LABELS},
                            "spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]}}),
        ("policy/v1", "poddisruptionbudgets", {"metadata": {"name": "web"},
                                               "spec": {"minAvailable": 1, "selector": {"matchLabels": LABELS}}}),
        ("networking.k8s.io/v1", "networkpolicies", {"metadata": {"name": "web"}, "spec": {
            "podSelector": {"matchLabels": LABELS}, "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": 8080}]}]}}),
    ]
    for api_version, plural, body in objects:
        api.call_api(config_archive.api_path(api_version, plural, ns), "POST", body=body,
                     auth_settings=["BearerToken"], header_params={"Content-Type": "application/json"},
                     _preload_content=False, _request_timeout=30)


def deployment_available(apps, ns, name="web"):
    try:
        dep = apps.read_namespaced_deployment(name, ns)
    except kubernetes.client.exceptions.ApiException:
        return False
    return (dep.status.observed_generation == dep.metadata.generation
            and (dep.status.available_replicas or 0) == dep.spec.replicas == (dep.status.updated_replicas or 0))


def namespace_exists(core, ns):
    return any(item.metadata.name == ns for item in core.list_namespace().items)


def delete_namespace(core, ns):
    try:
        core.delete_namespace(ns)
    except kubernetes.client.exceptions.ApiException as exc:
        if exc.status != 404:
            raise
    wait_until(lambda: not namespace_exists(core, ns), f"namespace {ns} to be gone", timeout=60)


def live(api, ns):
    """The namespace's objects as the archive would hold them, by (kind, name); plus resourceVersions."""
    objects = config_archive.read_namespace(api, ns)
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def resource_versions(api, ns):
    versions = {}
    for kind, (api_version, plural) in config_archive.KINDS.items():
        for item in config_archive.get_json(api, config_archive.api_path(api_version, plural, ns))["items"]:
            versions[(kind, item["metadata"]["name"])] = item["metadata"]["resourceVersion"]
    return versions


def comparable(obj):
    """An object without its namespace (and namespace references), to compare an original with its mapped copy."""
    obj = copy.deepcopy(obj)
    metadata = obj["metadata"]
    if obj["kind"] == "Namespace":
        metadata.get("labels", {}).pop("kubernetes.io/metadata.name", None)
        metadata.pop("name")
        return obj
    metadata.pop("namespace", None)
    for subject in obj.get("subjects") or []:
        subject.pop("namespace", None)
    return obj


@pytest.fixture(scope="module")
def seeded(api, core, apps, tmp_path_factory):
    ns = f"b3-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns, "labels": {"team": "shop"}}})
    seed(api, ns)
    wait_until(lambda: deployment_available(apps, ns), f"{ns}/web to be available")
    originals = live(api, ns)
    dest = tmp_path_factory.mktemp("b3")
    path, record = config_archive.write_archive(list(originals.values()), str(dest), "config-b3", PASSWORD)
    password_file = dest / "vault-pass"
    password_file.write_text(PASSWORD + "\n")
    delete_namespace(core, ns)
    mapped = f"{ns}-copy"
    yield {"ns": ns, "mapped": mapped, "originals": originals, "path": path, "record": record, "dest": dest,
           "password_file": str(password_file)}
    for name in (ns, mapped):
        try:
            core.delete_namespace(name)
        except kubernetes.client.exceptions.ApiException:
            pass


@pytest.fixture(scope="module")
def restored(seeded, api, core):
    """Check mode, the real restore (with diff), and the same again: four calls in one ansible run."""
    args = {"src": seeded["path"], "vault_password_file": seeded["password_file"], "wait_timeout": 60}
    check, = run_module_batch(MODULE, [{"args": args, "check": True, "diff": True}])
    after_check = namespace_exists(core, seeded["ns"])
    real, again = run_module_batch(MODULE, [{"args": args, "diff": True}, {"args": args}])
    return {"check": check, "after_check": after_check, "real": real, "again": again, "args": args}


def test_check_mode_creates_nothing(seeded, restored, core):
    check = restored["check"]
    assert not check.failed, check
    assert restored["after_check"] is False  # the namespace (and so everything in it) was not created
    assert check.changed and len(check["created"]) == len(seeded["originals"])
    assert check["archive_sha256"] == seeded["record"]["archive_sha256"]
    assert any(entry["after_header"] == f"ConfigMap/{seeded['ns']}/app-config" for entry in check["diff"])
    assert SECRET_VALUE not in json.dumps(check.get("diff"))


def test_restore_brings_every_object_back(seeded, restored, api, apps):
    real = restored["real"]
    assert not real.failed, real.get("msg")
    ns = seeded["ns"]
    assert sorted(real["created"]) == sorted(
        f"{kind}/{ns}/{name}" if kind != "Namespace" else f"Namespace/{name}" for kind, name in seeded["originals"])
    order = real["order"]
    assert order[0] == f"Namespace/{ns}"
    assert order.index(f"ServiceAccount/{ns}/app") < order.index(f"Secret/{ns}/app-secret") \
        < order.index(f"Role/{ns}/reader") < order.index(f"RoleBinding/{ns}/reader-app") \
        < order.index(f"Deployment/{ns}/web") < order.index(f"Service/{ns}/web") \
        < order.index(f"PodDisruptionBudget/{ns}/web") < order.index(f"NetworkPolicy/{ns}/web")
    now = live(api, ns)
    assert set(now) == set(seeded["originals"])
    for key, original in seeded["originals"].items():
        assert now[key] == original, key
    assert deployment_available(apps, ns)
    assert [w["outcome"] for w in real["waited"]] == ["complete"]
    assert SECRET_VALUE not in real.output
    secret = config_archive.get_json(api, config_archive.api_path("v1", "secrets", ns, "app-secret"))
    assert secret["data"]["token"] == seeded["originals"][("Secret", "app-secret")]["data"]["token"]


def test_second_run_changes_nothing(seeded, restored, api):
    again = restored["again"]
    assert not again.failed and not again.changed, again
    assert again["created"] == [] and again["updated"] == []
    assert len(again["unchanged"]) == len(seeded["originals"])
    before = resource_versions(api, seeded["ns"])
    result, = run_module_batch(MODULE, [{"args": restored["args"]}])
    assert not result.changed
    assert resource_versions(api, seeded["ns"]) == before


def test_update_applies_a_changed_archive_with_a_diff(seeded, restored, api, tmp_path):
    ns = seeded["ns"]
    objects = copy.deepcopy(list(seeded["originals"].values()))
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "app-config":
            obj["data"]["WORKERS"] = "8"
    path, _record = config_archive.write_archive(objects, str(tmp_path), "config-b3-changed", PASSWORD)
    args = {"src": path, "vault_password_file": seeded["password_file"], "kinds": ["ConfigMap"], "wait": False}
    before = resource_versions(api, ns)
    without, check, real = run_module_batch(MODULE, [{"args": args}, {"args": dict(args, update=True), "check": True,
                                                                      "diff": True},
                                                     {"args": dict(args, update=True), "diff": True}])
    assert not without.failed and not without.changed and without["updated"] == []
    assert check.changed and check["updated"] == [f"ConfigMap/{ns}/app-config"], check
    assert real.changed and real["updated"] == [f"ConfigMap/{ns}/app-config"], real
    assert f"ConfigMap/{ns}/other-config" in real["unchanged"]
    diff, = real["diff"]
    assert diff["before"]["data"]["WORKERS"] == "2" and diff["after"]["data"]["WORKERS"] == "8"
    assert "managedFields" not in diff["after"]["metadata"]
    cm = config_archive.get_json(api, config_archive.api_path("v1", "configmaps", ns, "app-config"))
    assert cm["data"]["WORKERS"] == "8"
    after = resource_versions(api, ns)
    changed = {key for key in before if before[key] != after.get(key)}
    assert changed == {("ConfigMap", "app-config")}


def test_restore_into_a_mapped_namespace(seeded, restored, api, apps):
    ns, mapped = seeded["ns"], seeded["mapped"]
    result, = run_module_batch(MODULE, [{"args": {"src": seeded["path"], "namespace_map": {ns: mapped},
                                                  "vault_password": PASSWORD, "wait_timeout": 60}}])
    assert not result.failed, result.get("msg")
    assert f"Deployment/{mapped}/web" in result["created"] and f"Namespace/{mapped}" in result["created"]

    def by_kind_name(objects):
        return {(kind, "-" if kind == "Namespace" else name): obj for (kind, name), obj in objects.items()}

    now = by_kind_name(live(api, mapped))
    originals = by_kind_name(seeded["originals"])
    assert set(now) == set(originals)
    for key, original in originals.items():
        assert comparable(now[key]) == comparable(original), key
    assert now[("Namespace", "-")]["metadata"]["name"] == mapped
    binding = now[("RoleBinding", "reader-app")]
    assert binding["subjects"][0]["namespace"] == mapped
    assert deployment_available(apps, mapped)


def tampered_copy(seeded, folder):
    """The archive with one byte of its gzip stream changed, beside the original sidecar."""
    data = bytearray(open(seeded["path"], "rb").read())
    data[len(data) // 2] ^= 0x01
    path = os.path.join(folder, "config-b3.tar.gz")
    with open(path, "wb") as handle:
        handle.write(bytes(data))
    with open(os.path.join(folder, "config-b3.json"), "w", encoding="utf-8") as handle:
        handle.write(archive.dumps(seeded["record"]))
    return path


def newer_format_copy(seeded, folder):
    """An archive whose manifest and sidecar claim format version 2."""
    buffer = io.BytesIO()
    with tarfile.open(seeded["path"], "r:gz") as src, tarfile.open(fileobj=buffer, mode="w") as out:
        for info in src:
            data = src.extractfile(info).read()
            if info.name == archive.MANIFEST:
                manifest = json.loads(data)
                manifest["format_version"] = 2
                data = archive.dumps(manifest).encode()
                info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    path = os.path.join(folder, "config-newer.tar.gz")
    with open(path, "wb") as handle:
        handle.write(gzip.compress(buffer.getvalue()))
    digest, size = archive.file_digest(path)
    record = dict(seeded["record"], format_version=2, archive_sha256=digest, archive_size=size)
    with open(os.path.join(folder, "config-newer.json"), "w", encoding="utf-8") as handle:
        handle.write(archive.dumps(record))
    return path


def test_bad_input_is_one_sentence_and_nothing_is_applied(seeded, restored, core, tmp_path):
    ns = seeded["ns"]
    target = f"{ns}-never"
    base = {"src": seeded["path"], "namespace_map": {ns: target}, "vault_password": PASSWORD, "wait": False}
    wrong_key = tmp_path / "wrong"
    wrong_key.write_text("not-the-password\n")
    tampered_dir = tmp_path / "tampered"
    tampered_dir.mkdir()
    newer_dir = tmp_path / "newer"
    newer_dir.mkdir()
    no_key = {key: value for key, value in base.items() if key != "vault_password"}
    cases = [
        ("tampered", dict(base, src=tampered_copy(seeded, str(tampered_dir))), "does not match its sidecar checksum"),
        ("wrong key", dict(no_key, vault_password_file=str(wrong_key)), "does not open with this vault password"),
        ("missing key", no_key, "encrypted Secret"),
        ("unknown kind", dict(base, kinds=["Widgett"]), "kinds: 'Widgett'"),
        ("namespace", dict(base, namespaces=["no-such-ns"]), "holds no namespace 'no-such-ns'"),
        ("newer format", dict(base, src=newer_format_copy(seeded, str(newer_dir))), "format version 2"),
    ]
    results = run_module_batch(MODULE, [{"args": args} for _name, args, _text in cases],
                               env={"SRE_RUNBOOKS_VAULT_PASSWORD": ""})
    for (name, _args, text), result in zip(cases, results):
        assert result.failed, name
        msg = result["msg"]
        assert text in msg, (name, msg)
        assert "nothing was applied" in msg, (name, msg)
        assert "\n" not in msg and "Traceback" not in msg, (name, msg)
        assert result.get("created", []) == [], name
    assert not namespace_exists(core, target)
    # a missing key is no problem when no Secret is selected
    result, = run_module_batch(MODULE, [{"args": dict(no_key, kinds=["ConfigMap"]), "check": True}])
    assert not result.failed and f"ConfigMap/{target}/app-config" in result["created"], result.get("msg")
    assert not namespace_exists(core, target)


def test_restore_from_s3(seeded, restored, services, api, core):
    """The archive and its sidecar in a bucket of the real S3 server; restored by key into another namespace."""
    boto3 = pytest.importorskip("boto3")
    info = services["s3"]
    client = boto3.client("s3", endpoint_url=info["endpoint_url"], region_name=info["region"],
                          aws_access_key_id=info["access_key"], aws_secret_access_key=info["secret_key"])
    bucket = f"b3-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    sidecar = os.path.splitext(os.path.splitext(seeded["path"])[0])[0] + ".json"
    client.upload_file(seeded["path"], bucket, "k8s/config-b3.tar.gz")
    client.upload_file(sidecar, bucket, "k8s/config-b3.json")
    ns, target = seeded["ns"], f"{seeded['ns']}-s3"
    s3 = {"bucket": bucket, "endpoint_url": info["endpoint_url"], "region": info["region"]}
    try:
        result, = run_module_batch(MODULE, [{"args": {
            "s3_key": "k8s/config-b3.tar.gz", "s3": s3, "namespace_map": {ns: target}, "kinds": ["Secret", "ConfigMap"],
            "vault_password": PASSWORD}}], env={"AWS_ACCESS_KEY_ID": info["access_key"],
                                                "AWS_SECRET_ACCESS_KEY": info["secret_key"]})
        assert not result.failed, result.get("msg")
        assert sorted(result["created"]) == [f"ConfigMap/{target}/app-config", f"ConfigMap/{target}/other-config",
                                             f"Namespace/{target}", f"Secret/{target}/app-secret"]
        assert result["archive_sha256"] == seeded["record"]["archive_sha256"]
        secret = config_archive.get_json(api, config_archive.api_path("v1", "secrets", target, "app-secret"))
        assert secret["data"]["token"] == seeded["originals"][("Secret", "app-secret")]["data"]["token"]
    finally:
        for item in client.list_objects_v2(Bucket=bucket).get("Contents") or []:
            client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
        try:
            core.delete_namespace(target)
        except kubernetes.client.exceptions.ApiException:
            pass
