"""k8s_health_info given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.kube_cases import SECRETS, kubeconfig_cases, module_tests, run_kube_cases
from tests.integration.badinput.suite import Case
from ansible_collections.sre.runbooks.plugins.modules.k8s_health_info import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_health_info"
KNOWN = set()  # every case of the first run's list is fixed (RunbookModule, request_timeout, kubeconfig checks)


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
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps)


(test_k8s_health_info_bad_input, test_k8s_health_info_never_answering_api,
 test_k8s_health_info_known) = module_tests(MODULE, KNOWN, {"namespaces": ["default"]})
