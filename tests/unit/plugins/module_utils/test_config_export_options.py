"""k8s_config_backup's input checks: one sentence for each bad option, before anything is read or written."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._config import export_runner as er
from ansible_collections.sre.runbooks.plugins.module_utils._config.clean import DEFAULT_KINDS

NOW = datetime.datetime(2026, 12, 4, 23, 30, 5, tzinfo=datetime.timezone.utc)


def params(**given):
    base = {"namespaces": ["shop"], "kinds": list(DEFAULT_KINDS), "cluster_kinds": [], "custom_resources": [],
            "name": None, "label_selector": None, "retention": None, "vault_password_file": None, "vault_password": None}
    return dict(base, **given)


def test_defaults_give_a_timestamped_name_and_sorted_unique_namespaces():
    selection = er.check_options(params(namespaces=["b", "a", "b"]), NOW)
    assert selection["name"] == "config-20261204T233005Z"
    assert selection["namespaces"] == ["a", "b"] and selection["kinds"] == DEFAULT_KINDS
    custom = er.check_options(params(custom_resources=[{"api_version": "example.com/v1", "kind": "Widget"}] * 2), NOW)
    assert custom["custom"] == [("example.com/v1", "Widget")]


@pytest.mark.parametrize("given, words", [
    ({"namespaces": []}, "at least one namespace"),
    ({"namespaces": ["Shop"]}, "not a valid namespace name"),
    ({"kinds": ["Gadget"]}, "unknown kind 'Gadget'"),
    ({"cluster_kinds": ["Pod"]}, "unknown cluster-scoped kind 'Pod'"),
    ({"custom_resources": [{"api_version": "v1", "kind": "Widget"}]}, "is not group/version"),
    ({"name": "../escape"}, "cannot name a backup"),
    ({"name": "x.tar.gz"}, "cannot name a backup"),
    ({"retention": {"keep_last": 0}}, "keep_last=0"),
])
def test_bad_options_are_one_sentence(given, words):
    with pytest.raises(InputError, match=None) as caught:
        er.check_options(params(**given), NOW)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_the_vault_key_is_needed_only_with_secrets(tmp_path):
    assert er.vault_password(params(), ["ConfigMap"]) is None
    with pytest.raises(InputError, match="no vault key was given"):
        er.vault_password(params(), DEFAULT_KINDS)
    assert er.vault_password(params(vault_password="pw"), DEFAULT_KINDS) == b"pw"
    key = tmp_path / "key"
    key.write_text("from-file\n")
    assert er.vault_password(params(vault_password="pw", vault_password_file=str(key)), DEFAULT_KINDS) == b"from-file"
    with pytest.raises(InputError, match="cannot be read"):
        er.vault_password(params(vault_password_file=str(tmp_path / "missing")), DEFAULT_KINDS)


def test_yaml_of_an_object_reads_back():
    yaml = pytest.importorskip("yaml")
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "yes", "b": "ünï\x01"}}
    assert yaml.safe_load(er.to_yaml(obj)) == obj


class NamespaceApi:
    """The two ways the export reads Namespaces: one list (many namespaces) or a GET each."""

    def __init__(self, names, list_status=None):
        self.names = set(names)
        self.list_status = list_status
        self.calls = []

    def list_path(self, path, selector=None):
        self.calls.append(("list", path))
        if self.list_status:
            raise er.KubeError("namespaces is forbidden", status=self.list_status)
        return [{"metadata": {"name": name}} for name in sorted(self.names)]

    def find(self, kind, namespace, name):
        self.calls.append(("get", name))
        return {"metadata": {"name": name}} if name in self.names else None


def exporter(api, namespaces):
    module = type("Module", (), {"params": params(namespaces=namespaces, dest="/nonexistent")})()
    return er.Exporter(module, api, er.check_options(params(namespaces=namespaces), NOW), None)


def test_many_namespaces_are_read_with_one_list_and_a_missing_one_is_named():
    wanted = [f"ns-{n}" for n in range(6)]
    api = NamespaceApi(wanted + ["other"])
    objects = exporter(api, wanted).namespace_objects()
    assert [obj["metadata"]["name"] for obj in objects] == wanted
    assert api.calls == [("list", "/api/v1/namespaces")]
    with pytest.raises(InputError, match="The namespace ns-5 does not exist"):
        exporter(NamespaceApi(wanted[:5]), wanted).namespace_objects()


def test_a_few_namespaces_or_a_forbidden_list_are_read_one_by_one():
    api = NamespaceApi(["a", "b"])
    assert len(exporter(api, ["a", "b"]).namespace_objects()) == 2
    assert api.calls == [("get", "a"), ("get", "b")]
    wanted = [f"ns-{n}" for n in range(6)]
    forbidden = NamespaceApi(wanted, list_status=403)
    assert len(exporter(forbidden, wanted).namespace_objects()) == 6
    assert forbidden.calls[0][0] == "list" and len(forbidden.calls) == 7
    with pytest.raises(er.KubeError):
        exporter(NamespaceApi(wanted, list_status=500), wanted).namespace_objects()
