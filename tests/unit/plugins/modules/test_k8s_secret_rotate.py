"""k8s_secret_rotate's main(): option checks end in one sentence before any connection, and no value leaks.
The rotation itself is tested with fakes in tests/unit/plugins/module_utils/test_secret_rotate_runner.py
and on the real control plane and PostgreSQL in tests/integration/k8s/test_k8s_secret_rotate.py."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sre.runbooks.plugins.modules import k8s_secret_rotate

from .utils import AnsibleFailJson as FailJson, run_module

BASE = {"namespace": "shop", "name": "db", "key": "password", "value": "s3cr3t-Value-9"}


@pytest.mark.parametrize("args, words", [
    ({"key": "a/b"}, "is not a valid Secret key"),
    ({"namespace": "Shop"}, "namespace: 'Shop' is not a valid namespace name"),
    ({"name": "a/b"}, "is not a Secret name"),
    ({"value": ""}, "value must not be empty"),
    ({"alphabet": "xyz"}, "not both"),
    ({"value": None, "alphabet": "zz"}, "at least two different characters"),
    ({"value": None, "length": 4}, "length"),
    ({"wait_timeout": 0}, "wait_timeout"),
])
def test_bad_options_fail_in_one_sentence_without_the_value(args, words):
    result = run_module(k8s_secret_rotate, {**BASE, **args}, expect=FailJson)
    assert words in result["msg"] and result["msg"].endswith(".") and "\n" not in result["msg"]
    assert "s3cr3t-Value-9" not in json.dumps(result)
