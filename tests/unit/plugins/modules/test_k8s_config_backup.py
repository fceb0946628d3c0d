"""k8s_config_backup's main(): option checks end in one sentence before any connection, and the vault key never
leaks. The export itself runs on the real control plane and S3 in tests/integration/k8s/test_config_backup.py."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sre.runbooks.plugins.modules import k8s_config_backup

from .utils import AnsibleFailJson as FailJson, run_module

PASSWORD = "vault-Key-4f8Q"


@pytest.fixture
def base(tmp_path):
    return {"namespaces": ["shop"], "dest": str(tmp_path / "dest"), "vault_password": PASSWORD}


@pytest.mark.parametrize("args, words", [
    ({"namespaces": ["Shop"]}, "is not a valid namespace name"),
    ({"kinds": ["Gadget"]}, "unknown kind 'Gadget'"),
    ({"cluster_kinds": ["Deployment"]}, "unknown cluster-scoped kind"),
    ({"custom_resources": [{"api_version": "v1", "kind": "Widget"}]}, "is not group/version"),
    ({"name": "a/b"}, "cannot name a backup"),
    ({"vault_password": None}, "no vault key was given"),
    ({"retention": {"keep_last": 0}}, "keep_last=0"),
    ({"request_timeout": 0}, "request_timeout"),
])
def test_bad_options_fail_in_one_sentence_without_the_key(base, tmp_path, args, words, monkeypatch):
    monkeypatch.delenv("SRE_RUNBOOKS_VAULT_PASSWORD", raising=False)
    result = run_module(k8s_config_backup, {**base, **args}, expect=FailJson)
    assert words in result["msg"] and result["msg"].endswith(".") and "\n" not in result["msg"]
    assert PASSWORD not in json.dumps(result)
    assert not (tmp_path / "dest").exists()


def test_the_vault_key_comes_from_the_environment(base, tmp_path, monkeypatch):
    monkeypatch.setenv("SRE_RUNBOOKS_VAULT_PASSWORD", PASSWORD)
    # Past the vault check (Secrets are selected), the run stops at the kubeconfig that does not exist.
    args = {"namespaces": base["namespaces"], "dest": base["dest"], "kubeconfig": str(tmp_path / "missing-kubeconfig")}
    result = run_module(k8s_config_backup, args, expect=FailJson)
    assert "vault" not in result["msg"] and "Kubernetes client" in result["msg"], result["msg"]
    assert PASSWORD not in json.dumps(result) and not (tmp_path / "dest").exists()
