"""health_check's endpoints verdict (H2) on slo_check probe loop results."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.endpoints import endpoint_row, endpoints_verdict


def probed(codes, errors, p50=0.012, p99=0.020, **endpoint):
    endpoint = dict({"name": "v2", "url": "http://v2/health"}, **endpoint)
    return {"health_check_item": endpoint,
            "probe": {"status_codes": codes, "errors": errors, "latency_p50": p50, "latency_p99": p99}}


@pytest.mark.parametrize(("result", "status", "summary"), [
    (probed({"200": 3}, 0), "ok", "3/3 answered OK, median 12.0 ms"),
    (probed({"200": 2, "error": 1}, 1), "warning", "2/3 answered OK, median 12.0 ms, got 200, no answer"),
    (probed({"error": 3}, 3, p50=None, p99=None), "critical", "0/3 answered OK, got no answer"),
    (probed({"200": 3}, 0, p50=1.23456), "warning", "3/3 answered OK, median 1234.6 ms (above 1000 ms)"),
    (probed({"200": 3}, 0, p50=1.5, latency_warning_seconds=2), "ok", "3/3 answered OK, median 1500.0 ms"),
    ({"health_check_item": {"url": "http://x"}, "msg": "boom"}, "critical", "boom"),
    ({"health_check_item": {"url": "http://x"}}, "critical", "the probe failed"),
])
def test_endpoint_rows(result, status, summary):
    row = endpoint_row(result, 1.0)
    assert (row["status"], row["summary"]) == (status, summary)


def test_row_fields():
    assert endpoint_row(probed({"200": 2, "503": 1}, 1), 1.0) == {
        "name": "v2", "url": "http://v2/health", "requests": 3, "errors": 1, "status_codes": {"200": 2, "503": 1},
        "latency_seconds": 0.012, "latency_max_seconds": 0.020, "status": "warning",
        "summary": "2/3 answered OK, median 12.0 ms, got 200, 503"}
    row = endpoint_row({"health_check_item": {"url": "http://x"}, "msg": "boom"}, 1.0)
    assert row["name"] == "http://x" and row["requests"] == 0 and row["errors"] is None and row["status_codes"] == {}


def test_verdict():
    entry = endpoints_verdict([probed({"200": 3}, 0), probed({"200": 2, "error": 1}, 1, name="v1")], 1.0)
    assert entry["status"] == "warning"
    assert entry["summary"] == "1 of 2 endpoints healthy (v1: 2/3 answered OK, median 12.0 ms, got 200, no answer)"
    assert [row["name"] for row in entry["details"]["endpoints"]] == ["v2", "v1"]
    assert endpoints_verdict([probed({"200": 3}, 0), probed({"error": 3}, 3)], 1.0)["status"] == "critical"
    empty = endpoints_verdict([], 1.0)
    assert (empty["status"], empty["summary"]) == ("unavailable", "no health endpoints configured (health_check_endpoints)")
