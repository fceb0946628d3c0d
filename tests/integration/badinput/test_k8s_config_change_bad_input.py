"""k8s_config_change given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers).

Unknown ConfigMaps and workloads, and a config that breaks its consumers, need the cluster: they are
tests/integration/k8s/test_config_change.py.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import canary
from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.config_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_config_change"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "configmap": "app-config",
            "data": {"WORKERS": "4", "TOKEN": canary("config-token")}, "sensitive": ["TOKEN"], "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("neither configmap nor env", {k: v for k, v in base.items() if k not in ("configmap", "data")}, True),
        Case("data without configmap", {**{k: v for k, v in base.items() if k != "configmap"}, "env": {"A": "1"},
                                        "name": "web"}, True),
        Case("env without name", {**base, "env": {"JAVA_OPTS": "-Xmx1g"}}, True),
        Case("data as text", {**base, "data": "WORKERS=4"}, True),
        Case("data value a dict", {**base, "data": {"WORKERS": {"nested": 1}}}, True),
        Case("data key with a slash", {**base, "data": {"a/b": "1"}}, True),
        Case("env name with =", {**base, "name": "web", "env": {"A=B": "1"}}, True),
        Case("wait_timeout nan", {**base, "wait_timeout": "nan"}, True),
        Case("wait_timeout 0", {**base, "wait_timeout": 0}, True),
        Case("NUL in configmap", {**base, "configmap": "app\x00x"}, True),
        Case("NUL in a data value", {**base, "data": {"WORKERS": "4\x00"}}, True),
        Case("namespace empty", {**base, "namespace": ""}, True),
        Case("kind unknown", {**base, "kind": "Pod", "name": "web", "env": {"A": "1"}}, True),
    ]
    return run_kube_cases(MODULE, module_args()["argument_spec"], base, hand, traps, secrets=[canary("config-token")])


def test_k8s_config_change_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_config_change_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespace": "default", "configmap": "app-config", "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
