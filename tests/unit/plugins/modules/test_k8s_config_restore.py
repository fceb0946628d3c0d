"""k8s_config_restore's main(): every refusal that needs no cluster ends in one sentence before any connection.

Archives are written with ArchiveWriter; ``connect`` is replaced by a function that fails the test, so
a refusal that reached the API would show. The restore itself runs against the real control plane in
tests/integration/k8s/test_config_restore.py.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible_collections.sre.runbooks.plugins.module_utils._config import archive, restore_runner, vault
from ansible_collections.sre.runbooks.plugins.modules import k8s_config_restore

from .utils import AnsibleFailJson as FailJson, run_module

PASSWORD = "unit-vault-password"
VALUE = "dW5pdC1zZWNyZXQtdmFsdWU="


def write(folder, name="config-x", format_version=None):
    path = os.path.join(folder, name + ".tar.gz")
    writer = archive.ArchiveWriter(path)
    objects = [({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, None),
               ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}}, "shop"),
               ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"},
                 "data": {"token": VALUE}}, "shop")]
    for obj, namespace in objects:
        encrypted = obj["kind"] == "Secret"
        data = yaml.safe_dump(obj).encode()
        data = vault.encrypt(data, PASSWORD) if encrypted else data
        writer.add(archive.member_path(namespace, obj["kind"], obj["metadata"]["name"], encrypted), data,
                   {"apiVersion": "v1", "kind": obj["kind"], "namespace": namespace, "name": obj["metadata"]["name"],
                    "encrypted": encrypted})
    record = writer.commit({"name": name, "namespaces": ["shop"]})
    if format_version:
        record["format_version"] = format_version
    with open(os.path.join(folder, name + ".json"), "w", encoding="utf-8") as handle:
        handle.write(archive.dumps(record))
    return path


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    def refuse(module):
        raise AssertionError("the module connected to the cluster")
    monkeypatch.setattr(restore_runner, "connect", refuse)
    monkeypatch.delenv("SRE_RUNBOOKS_VAULT_PASSWORD", raising=False)


def tamper(path):
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x40
    with open(path, "wb") as handle:
        handle.write(bytes(data))


@pytest.mark.parametrize("extra, prepare, words", [
    ({}, tamper, "does not match its sidecar checksum"),
    ({}, lambda path: os.unlink(path[:-len(".tar.gz")] + ".json"), "has no sidecar"),
    ({"vault_password": "wrong-password"}, None, "does not open with this vault password"),
    ({"vault_password": None}, None, "encrypted Secret(s)"),
    ({"kinds": ["Gizmo"]}, None, "kinds: 'Gizmo'"),
    ({"namespaces": ["other"]}, None, "holds no namespace 'other'"),
    ({"namespace_map": {"shop": "Bad_Name"}}, None, "namespace_map: 'Bad_Name'"),
    ({"label_selector": "a=(b"}, None, "label_selector"),
])
def test_refusals_are_one_sentence_before_any_connection(tmp_path, extra, prepare, words):
    path = write(str(tmp_path))
    if prepare:
        prepare(path)
    args = {"src": path, "vault_password": PASSWORD, **extra}
    result = run_module(k8s_config_restore, {k: v for k, v in args.items() if v is not None}, expect=FailJson)
    msg = result["msg"]
    assert words in msg, msg
    assert msg.endswith(".") and "\n" not in msg
    assert result.get("created", []) == [] and result.get("updated", []) == []
    assert VALUE not in json.dumps(result)


def test_newer_format_version_is_refused(tmp_path):
    path = write(str(tmp_path), format_version=2)
    result = run_module(k8s_config_restore, {"src": path, "vault_password": PASSWORD}, expect=FailJson)
    assert "format version 2, newer than this collection reads (1)" in result["msg"]


def test_no_key_needed_when_no_secret_is_selected(tmp_path):
    path = write(str(tmp_path))
    result = run_module(k8s_config_restore, {"src": path, "kinds": ["ConfigMap"]}, expect=FailJson)
    assert "the module connected to the cluster" in result["msg"]  # every check before it passed
