"""k8s_resources given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers).

The cases against the real cluster (unknown workload or container, a selector matching nothing, a
request above its limit, a rollout that fails) are in tests/integration/capacity/test_capacity.py.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.modules.k8s_resources import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_resources"
APP = {"app": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}}}


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "name": "web", "resources": APP,
            "api_key": SECRETS[1]}
    recommended = {"kind": "Deployment", "namespace": "default", "name": "web",
                   "containers": [{"name": "app", "recommended": APP["app"]}]}
    without = {key: value for key, value in base.items() if key not in ("name", "resources", "namespace")}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("resources empty", {**base, "resources": {}}, True, mentions="resources"),
        Case("resources and recommendations", {**base, "recommendations": [recommended]}, True),
        Case("neither resources nor recommendations", {**without, "namespace": "default"}, True),
        Case("resources without a namespace", {**without, "name": "web", "resources": APP}, True, mentions="namespace"),
        Case("resources without a name", {**without, "namespace": "default", "resources": APP}, True),
        Case("name and label_selectors", {**base, "label_selectors": ["app=web"]}, True),
        Case("wait_timeout negative", {**base, "wait_timeout": -1}, True),
        Case("recommendations of text", {**without, "recommendations": ["web"]}, True, mentions="recommendations[0]"),
        Case("recommendation without containers",
             {**without, "recommendations": [{"kind": "Deployment", "namespace": "x", "name": "y"}]},
             True, mentions="recommendations[0]"),
        Case("recommendation of a CronJob", {**without, "recommendations": [dict(recommended, kind="CronJob")]}, True,
             mentions="CronJob"),
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps)


def test_k8s_resources_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_resources_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespace": "default", "name": "web", "resources": APP, "kubeconfig": kube["blackhole"],
            "request_timeout": 3}
    assert hangs(MODULE, args) is None
