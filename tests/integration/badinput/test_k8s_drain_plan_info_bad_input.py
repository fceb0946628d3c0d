"""k8s_drain_plan_info given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers).

A node that does not exist needs the cluster: tests/integration/k8s/test_drain_node.py.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.drain_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_drain_plan_info"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "node": "worker-1", "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("no node", {k: v for k, v in base.items() if k != "node"}, True),
        Case("node empty", {**base, "node": ""}, True),
        Case("node with a slash", {**base, "node": "../pods"}, True),
        Case("NUL in node", {**base, "node": "worker\x00x"}, True),
        Case("node as a list", {**base, "node": ["a", "b"]}, True),
        Case("force as text", {**base, "force": "maybe"}, True),
        Case("request_timeout nan", {**base, "request_timeout": "nan"}, True),
    ]
    return run_kube_cases(MODULE, module_args()["argument_spec"], base, hand, traps)


def test_k8s_drain_plan_info_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 20, summary
    assert not problems, "\n".join(problems)


def test_k8s_drain_plan_info_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"node": "worker-1", "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
