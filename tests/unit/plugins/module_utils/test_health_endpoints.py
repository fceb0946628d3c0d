"""health_check's endpoints verdict (H2) on the probes of one slo_check result."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.endpoints import endpoint_row, endpoints_verdict

V2 = {"name": "v2", "url": "http://v2/health"}


def report(codes, errors, p50=0.012, p99=0.020):
    return {"status_codes": codes, "errors": errors, "latency_p50": p50, "latency_p99": p99}


@pytest.mark.parametrize(("endpoint", "probe", "msg", "status", "summary"), [
    (V2, report({"200": 3}, 0), None, "ok", "3/3 answered OK, median 12.0 ms"),
    (V2, report({"200": 2, "error": 1}, 1), None, "warning", "2/3 answered OK, median 12.0 ms, got 200, no answer"),
    (V2, report({"error": 3}, 3, p50=None, p99=None), None, "critical", "0/3 answered OK, got no answer"),
    (V2, report({"200": 3}, 0, p50=1.23456), None, "warning", "3/3 answered OK, median 1234.6 ms (above 1000 ms)"),
    (dict(V2, latency_warning_seconds=2), report({"200": 3}, 0, p50=1.5), None, "ok", "3/3 answered OK, median 1500.0 ms"),
    ({"url": "http://x"}, None, "boom", "critical", "boom"),
    ({"url": "http://x"}, None, None, "critical", "the probe failed"),
])
def test_endpoint_rows(endpoint, probe, msg, status, summary):
    row = endpoint_row(endpoint, probe, msg, 1.0)
    assert (row["status"], row["summary"]) == (status, summary)


def test_row_fields():
    assert endpoint_row(V2, report({"200": 2, "503": 1}, 1), None, 1.0) == {
        "name": "v2", "url": "http://v2/health", "requests": 3, "errors": 1, "status_codes": {"200": 2, "503": 1},
        "latency_seconds": 0.012, "latency_max_seconds": 0.020, "status": "warning",
        "summary": "2/3 answered OK, median 12.0 ms, got 200, 503"}
    row = endpoint_row({"url": "http://x"}, None, "boom", 1.0)
    assert row["name"] == "http://x" and row["requests"] == 0 and row["errors"] is None and row["status_codes"] == {}


def test_verdict_pairs_the_probes_with_the_endpoints_in_order():
    v1 = {"name": "v1", "url": "http://v1/health"}
    slo = {"probes": [dict(report({"200": 3}, 0), name="v2"), dict(report({"200": 2, "error": 1}, 1), name="v1")]}
    entry = endpoints_verdict(slo, [V2, v1], 1.0)
    assert entry["status"] == "warning"
    assert entry["summary"] == "1 of 2 endpoints healthy (v1: 2/3 answered OK, median 12.0 ms, got 200, no answer)"
    assert [row["name"] for row in entry["details"]["endpoints"]] == ["v2", "v1"]
    down = {"probes": [report({"200": 3}, 0), report({"error": 3}, 3)]}
    assert endpoints_verdict(down, [V2, v1], 1.0)["status"] == "critical"


def test_verdict_without_probes_says_why_for_every_endpoint():
    entry = endpoints_verdict({"failed": True, "msg": "Objective names must be unique; a appears more than once."},
                              [V2], 1.0)
    assert entry["status"] == "critical"
    assert entry["summary"] == "0 of 1 endpoints healthy (v2: Objective names must be unique; a appears more than once.)"


def test_verdict_without_endpoints():
    empty = endpoints_verdict({"skipped": True}, [], 1.0)
    assert (empty["status"], empty["summary"]) == ("unavailable", "no health endpoints configured (health_check_endpoints)")
