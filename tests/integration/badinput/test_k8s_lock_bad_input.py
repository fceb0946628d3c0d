"""k8s_lock given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.lease_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_lock"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "name": "sre-runbooks-api", "holder": "alice run 1",
            "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("holder empty", {**base, "holder": " "}, True),
        Case("holder huge", {**base, "holder": "h" * 300}, True),
        Case("duration zero", {**base, "duration": 0}, True),
        Case("duration nan", {**base, "duration": "nan"}, True),
        Case("duration a year", {**base, "duration": 365 * 24 * 3600}, True),
        Case("state unknown", {**base, "state": "locked"}, True),
        Case("NUL in name", {**base, "name": "lock\x00x"}, True),
        Case("namespace empty", {**base, "namespace": ""}, True),
    ]
    return run_kube_cases(MODULE, module_args()["argument_spec"], base, hand, traps)


def test_k8s_lock_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_lock_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespace": "default", "name": "l", "holder": "alice", "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
