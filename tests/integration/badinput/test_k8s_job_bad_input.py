"""k8s_job given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.job_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_job"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "cronjob": "nightly", "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("cronjob and image together", {**base, "image": "busybox"}, True),
        Case("no source", {k: v for k, v in base.items() if k != "cronjob"}, True),
        Case("timeout nan", {**base, "timeout": "nan"}, True),
        Case("timeout negative", {**base, "timeout": -1}, True),
        Case("timeout 10**400", {**base, "timeout": "1" + "0" * 400}, True),
        Case("backoff_limit huge", {**base, "backoff_limit": 10 ** 9}, True),
        Case("command as text", {**base, "cronjob": None, "image": "busybox", "command": "sh -c 'x'"}, True),
        Case("NUL in name", {**base, "name": "job\x00x"}, True),
        Case("NUL in namespace", {**base, "namespace": "default\x00x"}, True),
        Case("namespace empty", {**base, "namespace": ""}, True),
        Case("run id with a slash", {**base, "run_id": "a/b"}, True),
    ]
    return run_kube_cases(MODULE, module_args()["argument_spec"], base, hand, traps)


def test_k8s_job_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_job_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    # issue 17 defect 11: request_timeout bounds every call; the default (30 s) is shortened here
    args = {"namespace": "default", "cronjob": "nightly", "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
