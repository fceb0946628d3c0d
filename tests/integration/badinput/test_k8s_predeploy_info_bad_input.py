"""k8s_predeploy_info given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers).

A workload that does not exist needs the cluster: tests/integration/k8s/test_deploy_guards.py.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.predeploy_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_predeploy_info"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "name": "web", "images": {"app": "web:2"},
            "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("no name", {k: v for k, v in base.items() if k != "name"}, True),
        Case("unknown check", {**base, "checks": ["healthy", "vibes"]}, True),
        Case("checks as a dict", {**base, "checks": {"healthy": True}}, True),
        Case("images as text", {**base, "images": "app=web:2"}, True),
        Case("kind unknown", {**base, "kind": "CronJob"}, True),
        Case("NUL in name", {**base, "name": "web\x00x"}, True),
        Case("namespace empty", {**base, "namespace": ""}, True),
        Case("request_timeout nan", {**base, "request_timeout": "nan"}, True),
    ]
    return run_kube_cases(MODULE, module_args()["argument_spec"], base, hand, traps)


def test_k8s_predeploy_info_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 28, summary
    assert not problems, "\n".join(problems)


def test_k8s_predeploy_info_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespace": "default", "name": "web", "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
