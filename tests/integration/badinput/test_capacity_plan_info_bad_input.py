"""capacity_plan_info given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers).

Every case fails: the base kubeconfig points at a closed port, and the options are checked before
any connection (window, step, percentiles, prices, namespace names). The semantic cases that need the
real cluster and Prometheus (unknown workload or namespace, a selector matching nothing, Prometheus
down, no history) are in tests/integration/capacity/test_capacity.py.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import canary
from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.module_utils._capacity.plan_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.capacity_plan_info"


@pytest.fixture(scope="module")
def outcome(kube, traps):
    base = {"kubeconfig": kube["refused"], "namespaces": ["default"], "api_key": SECRETS[1],
            "prometheus_url": "http://127.0.0.1:1", "prometheus_password": canary("prom-password"),
            "prometheus_username": "sre"}
    hand = kubeconfig_cases(base, kube, traps) + [
        Case("window shorter than step", {**base, "window": "1m", "step": "5m"}, True, mentions="step"),
        Case("step of 1s over a year", {**base, "window": "365d", "step": "1s"}, True, mentions="points"),
        Case("cpu_percentile 0", {**base, "cpu_percentile": 0}, True, mentions="cpu_percentile"),
        Case("cpu limit percentile below the request's", {**base, "cpu_limit_percentile": 50}, True,
             mentions="cpu_limit_percentile"),
        Case("growth negative", {**base, "growth_percents": [25, -50]}, True, mentions="growth_percents"),
        Case("target utilisation 0", {**base, "target_utilization_percent": 0}, True),
        Case("prices without memory", {**base, "prices": {"cpu_core_hour": 0.03}}, True, mentions="memory_gb_hour"),
        Case("price negative", {**base, "prices": {"cpu_core_hour": -1, "memory_gb_hour": 0.01}}, True),
        Case("namespace not a name", {**base, "namespaces": ["Not_A_Namespace"]}, True, mentions="Not_A_Namespace"),
        Case("names with two namespaces", {**base, "namespaces": ["a", "b"], "names": ["web"]}, True),
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps)


def test_capacity_plan_info_bad_input(outcome):
    _cases, (summary, problems) = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def test_capacity_plan_info_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespaces": ["default"], "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args) is None
