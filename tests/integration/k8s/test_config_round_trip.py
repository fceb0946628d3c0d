"""B1-B3 round trip through the real modules: export, delete the namespace, restore, export again.

The namespace seeded by test_config_backup (every default kind, a Secret and a custom resource) is
exported with k8s_config_backup, deleted, and restored with k8s_config_restore, then restored again
into a new namespace name. Each result is exported once more and compared object by object with the
first export (Secrets decrypted; the mapped copy with its namespace names put back): the cleaned specs
must be equal, and the Deployment must be Available again.
"""

from __future__ import annotations

import tarfile
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
yaml = pytest.importorskip("yaml")

from ansible_collections.sre.runbooks.plugins.module_utils._config import vault  # noqa: E402
from tests.integration.k8s.test_config_backup import CRD, SEED  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

PASSWORD = "round-trip-" + uuid.uuid4().hex[:10]
CUSTOM = [{"api_version": "example.com/v1", "kind": "Widget"}]


def objects(archive, rename=None):
    """{(kind, name): object} of an archive, Secrets decrypted; ``rename`` maps namespace names back."""
    found = {}
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            if not info.name.startswith("resources/"):
                continue
            data = tar.extractfile(info).read()
            if info.name.endswith(".vault"):
                data = vault.decrypt(data, PASSWORD)
            text = data.decode()
            for old, new in (rename or {}).items():
                text = text.replace(new, old)
            obj = yaml.safe_load(text)
            found[(obj["kind"], obj["metadata"]["name"])] = obj
    return found


def export(ns, dest, name):
    [result] = run_module_batch("sre.runbooks.k8s_config_backup", [{"args": {
        "namespaces": [ns], "dest": str(dest), "name": name, "vault_password": PASSWORD, "custom_resources": CUSTOM}}])
    assert not result.failed, result.get("msg")
    return result


@pytest.fixture(scope="module")
def trip(k8s_cluster, core, apps, tmp_path_factory):
    ns = f"trip-{uuid.uuid4().hex[:8]}"
    mapped = f"{ns}-copy"
    dest = tmp_path_factory.mktemp("round-trip")
    k8s_cluster.kubectl("apply", "-f", "-", input=CRD)
    k8s_cluster.kubectl("wait", "--for", "condition=Established", "crd/widgets.example.com", "--timeout", "60s")
    k8s_cluster.kubectl("create", "namespace", ns)
    k8s_cluster.kubectl("apply", "-n", ns, "-f", "-", input=SEED)
    wait_until(lambda: (apps.read_namespaced_deployment("web", ns).status.available_replicas or 0) >= 1, "web available")
    first = export(ns, dest, "first")
    k8s_cluster.kubectl("delete", "namespace", ns, "--timeout=120s")
    restore = {"src": first["archive"], "vault_password": PASSWORD, "wait_timeout": 90}
    back, copy = run_module_batch("sre.runbooks.k8s_config_restore", [
        {"args": restore}, {"args": dict(restore, namespace_map={ns: mapped})}])
    again = export(ns, dest, "again")
    copied = export(mapped, dest, "copied")
    yield {"ns": ns, "mapped": mapped, "first": first, "back": back, "copy": copy, "again": again, "copied": copied}
    for name in (ns, mapped):
        k8s_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_every_object_comes_back_equal_and_the_deployment_is_available(trip, apps):
    assert not trip["back"].failed, trip["back"].get("msg")
    original, restored = objects(trip["first"]["archive"]), objects(trip["again"]["archive"])
    assert ("Secret", "db-credentials") in original and ("Widget", "gizmo") in original
    assert sorted(restored) == sorted(original)
    for key, obj in original.items():
        assert restored[key] == obj, f"{key} differs after the round trip"
    assert apps.read_namespaced_deployment("web", trip["ns"]).status.available_replicas >= 1
    assert len(trip["back"]["created"]) == len(original)


def test_a_restore_into_a_new_namespace_name_is_the_same(trip, apps):
    assert not trip["copy"].failed, trip["copy"].get("msg")
    original = objects(trip["first"]["archive"])
    copied = objects(trip["copied"]["archive"], rename={trip["ns"]: trip["mapped"]})
    assert sorted(copied) == sorted(original)
    # nodePorts are cluster-wide: the copy's Service gets its own while the original keeps its fixed one.
    for port in original[("Service", "edge")]["spec"]["ports"]:
        port.pop("nodePort", None)
    assert any(port.get("nodePort") for port in objects(trip["first"]["archive"])[("Service", "edge")]["spec"]["ports"])
    for key, obj in original.items():
        assert copied[key] == obj, f"{key} differs in the mapped copy"
    assert apps.read_namespaced_deployment("web", trip["mapped"]).status.available_replicas >= 1
