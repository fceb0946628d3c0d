"""k8s_blue_green given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers).

The option checks themselves (slots, names, delays, smoke tests) are unit-tested in
tests/unit/plugins/modules/test_k8s_blue_green.py; the cases here are the hostile ones.

Bad state on a real cluster (unknown workload, a selector matching nothing, an Ingress without the
slot Services as backends, an unknown container) is in tests/integration/k8s/test_k8s_blue_green.py.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import canary
from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.blue_green_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_blue_green"
HEADER_SECRET = canary("smoke-header")


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "action": "promote", "name": "web",
            "api_key": SECRETS[1], "images": {"app": "web:2"},
            "smoke_tests": [{"name": "health", "path": "/health", "headers": {"Authorization": HEADER_SECRET}}]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("images as text", {**base, "images": "app=web:2"}, True),
        Case("deploy without images", {**base, "action": "deploy", "images": None, "smoke_tests": None}, True),
        Case("slot with a slash", {**base, "slots": ["blue", "gr/een"]}, True),
        Case("name too long for its slots", {**base, "name": "w" * 60}, True),
        Case("ingress and preview service", {**base, "ingress": "web", "preview_service": "web-preview"}, True),
        Case("scale_down_delay 10**400 days", {**base, "scale_down_delay": "1" + "0" * 400 + "d"}, True),
        Case("smoke test url file://", {**base, "smoke_tests": [{"name": "x", "url": "file:///etc/passwd"}]}, True),
        Case("smoke test header with CR/LF", {**base, "smoke_tests": [
            {"name": "x", "path": "/", "headers": {"X-A": f"{HEADER_SECRET}\r\nX-B: 1"}}]}, True),
        Case("smoke tests for cleanup", {**base, "action": "cleanup", "images": None}, True),
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps, secrets=(HEADER_SECRET,))


def test_k8s_blue_green_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_blue_green_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespace": "default", "action": "status", "name": "web", "kubeconfig": kube["blackhole"],
            "request_timeout": 3}
    assert hangs(MODULE, args) is None
