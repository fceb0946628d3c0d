"""platform_report_info's main(): the three reads, the findings, and one-sentence failures.

Threshold evaluation is unit-tested in tests/unit/plugins/module_utils/test_platform_report.py and
against the platform sandbox in tests/integration/platform/test_platform_report.py.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._platform import report_runner
from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import PlatformError
from ansible_collections.sre.runbooks.plugins.modules import platform_report_info

from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module

ANSWERS = {
    "/api/v1/metrics/slo-compliance": {"service": "api", "window": "7d", "objectives": [],
                                       "daily": [{"date": "2026-12-01", "requests": 100, "errors": 2}]},
    "/api/v1/quarantine/statistics": {"total_records": 0, "last_24h": 0, "last_7d": 0, "by_model": {}},
    "/api/v1/metrics/models": {"models": [{"model": "m", "experiments": 1, "quarantined": 0, "avg_accuracy": 0.9,
                                           "avg_error_rate": None, "avg_latency_p95_ms": None}]},
}


class FakeClient:
    def __init__(self, answers):
        self.answers, self.calls, self.requests = answers, [], []

    def where(self, api):
        return f"the {api} API at http://fake"

    def request(self, api, method, path, body=None, query=None, expect=(200,)):
        self.calls.append((api, method, path, query))
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return 200, copy.deepcopy(answer)


@pytest.fixture
def client(monkeypatch):
    state = {"client": FakeClient(ANSWERS)}
    monkeypatch.setattr(report_runner, "PlatformClient", lambda params, agent: state["client"])
    return state


def test_reads_the_three_reports_and_judges_them(client):
    result = run_module(platform_report_info, {"slo_window": "7d", "thresholds": {
        "min_availability_percent": 99, "min_accuracy": 0.95, "max_error_rate": 0.01}}, check=True, expect=ExitJson)
    assert client["client"].calls == [("v2", "GET", "/api/v1/metrics/slo-compliance", {"window": "7d"}),
                                      ("v3", "GET", "/api/v1/quarantine/statistics", None),
                                      ("v2", "GET", "/api/v1/metrics/models", None)]
    assert result["changed"] is False and result["breached"] is True
    assert [f["option"] for f in result["findings"]] == ["min_availability_percent", "min_accuracy"]
    assert result["findings"][0]["message"] == ("Availability of api over 7d is 98, below the minimum 99 "
                                                "(min_availability_percent).")
    assert result["no_data"] == ["Model 'm' average error rate has no data (max_error_rate not judged)."]


def test_a_wrong_shape_is_one_sentence(client):
    client["client"] = FakeClient(dict(ANSWERS, **{"/api/v1/metrics/models": {"models": {"m": 1}}}))
    assert run_module(platform_report_info, {}, expect=FailJson)["msg"] == (
        "The v2 API at http://fake answered GET /api/v1/metrics/models with a report whose 'models' is not a list.")


def test_a_platform_error_is_passed_on(client):
    client["client"] = FakeClient(dict(ANSWERS, **{"/api/v1/quarantine/statistics": PlatformError("Cannot reach V3.")}))
    assert run_module(platform_report_info, {}, expect=FailJson)["msg"] == "Cannot reach V3."


@pytest.mark.parametrize("thresholds, word", [({"min_accuracy": 2}, "min_accuracy"), ({"max_error_rate": -1}, "max_error_rate"),
                                              ({"min_availability_percent": "nan"}, "min_availability_percent")])
def test_bad_thresholds_fail_before_any_request(client, thresholds, word):
    result = run_module(platform_report_info, {"thresholds": thresholds}, expect=FailJson)
    assert word in result["msg"] and client["client"].calls == []
