"""k8s_rollout given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.modules.k8s_rollout import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_rollout"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "action": "status", "name": "web",
            "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("images as text", {**base, "action": "set_image", "images": "web=nginx"}, True),
        Case("wait_timeout nan", {**base, "action": "restart", "wait_timeout": "nan"}, True),
        Case("wait_timeout negative", {**base, "action": "restart", "wait_timeout": -1}, True),
        Case("replicas negative", {**base, "action": "scale", "replicas": -1}, True),
        Case("replicas 10**400", {**base, "action": "scale", "replicas": "1" + "0" * 400}, True),
        Case("to_revision negative", {**base, "action": "undo", "to_revision": -1}, True),
        Case("NUL in name", {**base, "name": "web\x00x"}, True),
        Case("NUL in namespace", {**base, "namespace": "default\x00x"}, True),
        Case("namespace empty", {**base, "namespace": ""}, True),
        Case("min above max replicas", {**base, "action": "hpa", "hpa_name": "web", "min_replicas": 9,
                                        "max_replicas": 1}, True),
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps)


def test_k8s_rollout_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_rollout_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    # issue 17 defect 11: request_timeout bounds every call; the default (30 s) is shortened here
    args = {"namespace": "default", "action": "status", "name": "web", "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
