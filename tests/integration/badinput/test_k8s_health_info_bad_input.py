"""k8s_health_info given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.modules.k8s_health_info import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_health_info"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespaces": ["default"], "api_key": SECRETS[1]}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("thresholds as text", {**base, "thresholds": "x"}, True),
        Case("restarts threshold nan", {**base, "thresholds": {"restarts": "nan"}}, True),
        Case("cpu_percent nan", {**base, "thresholds": {"cpu_percent": "nan"}}, True),
        Case("memory_percent inf", {**base, "thresholds": {"memory_percent": float("inf")}}, True),
        Case("events_max_age of 400 nines", {**base, "include": ["events"], "events_max_age": "9" * 400}, True),
        Case("events_max_age negative", {**base, "include": ["events"], "events_max_age": "-1h"}, True),
        Case("events_limit negative", {**base, "include": ["events"], "events_limit": -1}, True),
        Case("NUL in a namespace", {**base, "namespaces": ["default\x00x"]}, True),
        Case("namespaces as a dict", {**base, "namespaces": {"a": 1}}, True),
        Case("include unknown", {**base, "include": ["secrets"]}, True),
        Case("logs.pattern not a regex", {**base, "include": ["logs"], "logs": {"pattern": "(error"}}, True),
        Case("logs.pattern empty", {**base, "include": ["logs"], "logs": {"pattern": ""}}, True),
        Case("logs.since of 400 nines", {**base, "include": ["logs"], "logs": {"since": "9" * 400}}, True),
        Case("logs.max_pods zero", {**base, "include": ["logs"], "logs": {"max_pods": 0}}, True),
        Case("logs.limit_bytes 10**12", {**base, "include": ["logs"], "logs": {"limit_bytes": 10 ** 12}}, True),
        Case("logs.deployments as text", {**base, "include": ["logs"], "logs": {"deployments": "web"}}, True),
        Case("logs.deployments without a name", {**base, "include": ["logs"],
                                                 "logs": {"deployments": [{"namespace": "default"}]}}, True),
        Case("node_requests_percent nan", {**base, "include": ["nodes"],
                                           "thresholds": {"node_requests_percent": "nan"}}, True),
        Case("node_requests_critical_percent below the warning", {**base, "include": ["nodes"], "thresholds": {
            "node_requests_percent": 90, "node_requests_critical_percent": 10}}, True),
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps)


def test_k8s_health_info_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_k8s_health_info_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    # issue 17 defect 11: request_timeout bounds every call; the default (30 s) is shortened here
    args = {"namespaces": ["default"], "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
