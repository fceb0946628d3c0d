"""k8s_diagnostics given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._incident.bundle_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_diagnostics"


@pytest.fixture(scope="module")
def outcome(kube, traps, tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("diag-bad"))
    base = {"kubeconfig": kube["refused"], "namespace": "default", "dest": dest, "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("since text", {**base, "since": "yesterday"}, True),
        Case("since zero", {**base, "since": "0s"}, True),
        Case("tail_lines zero", {**base, "tail_lines": 0}, True),
        Case("log_workers huge", {**base, "log_workers": 10 ** 6}, True),
        Case("dest missing", {**base, "dest": dest + "/nope"}, True),
        Case("name with a slash", {**base, "name": "../escape"}, True),
        Case("workload without name", {**base, "workload": {"kind": "Deployment"}}, True),
        Case("workload kind unknown", {**base, "workload": {"kind": "Pod", "name": "x"}}, True),
    ]
    return run_kube_cases(MODULE, module_args()["argument_spec"], base, hand, traps)


def test_k8s_diagnostics_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_diagnostics_ends_within_request_timeout_on_an_api_that_never_answers(kube, tmp_path):
    args = {"namespace": "default", "dest": str(tmp_path), "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
