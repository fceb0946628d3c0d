"""k8s_security_info given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers).

Matrix entries that only the cluster's objects can judge (a pod that does not exist, a selector that
matches nothing) are unit-tested in tests/unit/plugins/module_utils/test_k8s_security_checks.py.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.security_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_security_info"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespaces": ["default"], "api_key": SECRETS[1]}
    flow = {"from": {"namespace": "a"}, "to": {"namespace": "b"}, "port": 80}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("namespace not a DNS label", {**base, "namespaces": ["Not_A_Namespace"]}, True),
        Case("NUL in a namespace", {**base, "namespaces": ["default\x00x"]}, True),
        Case("namespaces as a dict", {**base, "namespaces": {"a": 1}}, True),
        Case("controls empty", {**base, "controls": []}, True),
        Case("controls unknown", {**base, "controls": ["firewall"]}, True),
        Case("matrix without the network control", {**base, "controls": ["rbac"], "isolation_matrix": [flow]}, True),
        Case("matrix entry as text", {**base, "isolation_matrix": ["a -> b"]}, True),
        Case("matrix entry without port", {**base, "isolation_matrix": [{"from": flow["from"], "to": flow["to"]}]},
             True),
        Case("matrix entry with a bad selector", {**base, "isolation_matrix": [
            {**flow, "from": {"namespace": "a", "selector": "app in (x"}}]}, True),
        Case("secret_max_age_days negative", {**base, "secret_max_age_days": -1}, True),
        Case("secret_max_age_days 10**400", {**base, "secret_max_age_days": "1" + "0" * 400}, True),
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps)


def test_k8s_security_info_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_security_info_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespaces": ["default"], "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
