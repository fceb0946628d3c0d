"""k8s_isolate given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.isolate_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_isolate"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "name": "api", "mode": "scale",
            "confirm": "default/api", "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("no confirmation", {**base, "confirm": ""}, True),
        Case("confirmation of another object", {**base, "confirm": "default/web"}, True),
        Case("mode unknown", {**base, "mode": "quarantine"}, True),
        Case("labels as text", {**base, "mode": "network", "labels": "app=api"}, True),
        Case("NUL in name", {**base, "name": "api\x00x", "confirm": "default/api\x00x"}, True),
        Case("NUL in namespace", {**base, "namespace": "default\x00x"}, True),
        Case("state unknown", {**base, "state": "quarantined"}, True),
        Case("kind unknown", {**base, "kind": "Pod"}, True),
    ]
    return run_kube_cases(MODULE, module_args()["argument_spec"], base, hand, traps)


def test_k8s_isolate_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary  # kubeconfig cases, generated cases and the hand-written ones
    assert not problems, "\n".join(problems)


def test_k8s_isolate_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespace": "default", "name": "api", "mode": "scale", "confirm": "default/api",
            "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
