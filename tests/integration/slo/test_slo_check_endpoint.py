"""slo_check source=endpoint against the platform sandbox's /api/v1/health/slo.

The sandbox's clock is pinned, then 30 days of synthetic traffic are loaded: 100 requests a
minute at 0.05 % errors and 50 ms, and in the last hour 2 % errors with a fifth of the
requests slower than 2 s. Expected numbers are computed here from that description; the few
real requests the fixture made (readiness probes) are within the tolerance.
"""

from __future__ import annotations

import pytest

from tests.integration.module_runner import run_module

pytestmark = pytest.mark.slow

REL = 1e-3
RPM = 100
MINUTES = 30 * 24 * 60
INCIDENT_MINUTES = 60


def _ratio(minutes):
    """Error ratio over the last ``minutes`` of the synthetic traffic."""
    incident = min(minutes, INCIDENT_MINUTES)
    return (incident * 0.02 + (minutes - incident) * 0.0005) / minutes


def _slow_share(minutes):
    """Share slower than 2 s over the last ``minutes``."""
    return min(minutes, INCIDENT_MINUTES) * 0.2 / minutes


@pytest.fixture
def loaded_sandbox(platform_sandbox):
    platform_sandbox.pin_clock(1_800_000_000 + 30)  # mid-minute: the windows cannot shift during the test
    platform_sandbox.add_traffic(from_minutes_ago=MINUTES - 1, to_minutes_ago=INCIDENT_MINUTES, requests_per_minute=RPM,
                                 error_ratio=0.0005, latency_seconds=0.05)
    platform_sandbox.add_traffic(from_minutes_ago=INCIDENT_MINUTES - 1, to_minutes_ago=0, requests_per_minute=RPM,
                                 error_ratio=0.02, latency_distribution={"0.5": 0.5, "2": 0.8, "5": 1.0})
    return platform_sandbox


def test_endpoint_counts_give_budgets_and_burn_rates(loaded_sandbox):
    result = run_module("sre.runbooks.slo_check", {
        "source": "endpoint", "platform_v2_url": loaded_sandbox.v2_url, "min_samples": 1000,
        "objectives": [
            {"name": "availability", "sli": "availability", "target": 99.9},
            {"name": "latency-p95", "sli": "latency", "quantile": 0.95, "target": 2.0},
        ]})
    assert not result.failed and not result.changed, result.output
    assert result["queries"] == 1
    availability, latency = result["objectives"]

    ratio = _ratio(MINUTES)
    assert availability["events"]["total"] == pytest.approx(MINUTES * RPM, rel=REL)
    assert availability["error_ratio"] == pytest.approx(ratio, rel=REL)
    assert availability["error_budget"]["remaining"] == pytest.approx(1 - ratio / 0.001, abs=1e-3)
    burns = {a["long_window"]: (a["long_burn_rate"], a["short_burn_rate"], a["firing"]) for a in availability["burn_rates"]}
    assert burns["1h"][0] == pytest.approx(20.0, rel=REL) and burns["1h"][1] == pytest.approx(20.0, rel=REL)
    assert burns["6h"][0] == pytest.approx(_ratio(360) / 0.001, rel=REL)
    assert burns["1d"][0] == pytest.approx(_ratio(1440) / 0.001, rel=REL)
    # 20x over 1h/5m pages; over 6h (3.75x) the incident is diluted below the 6x factor.
    assert [b[2] for b in burns.values()] == [True, False, False, False]
    assert availability["status"] == "warning"

    slow = _slow_share(MINUTES)
    assert latency["error_ratio"] == pytest.approx(slow, rel=REL)
    assert latency["error_budget"]["remaining"] == pytest.approx(1 - slow / 0.05, abs=1e-3)
    # 95 % of the requests are among the 50 ms base traffic: p95 lies in the (25 ms, 50 ms] bucket.
    assert 0.025 < latency["actual"] <= 0.05
    assert latency["burn_rates"][0]["long_burn_rate"] == pytest.approx(0.2 / 0.05, rel=REL)
    assert latency["status"] == "ok"
    assert result["status"] == "warning" and result["passed"] is True


def test_endpoint_with_too_little_traffic_is_inconclusive(platform_sandbox):
    result = run_module("sre.runbooks.slo_check", {
        "source": "endpoint", "platform_v2_url": platform_sandbox.v2_url, "min_samples": 100})
    assert not result.failed, result.output
    assert result["status"] == "inconclusive" and result["passed"] is False
    assert {o["status"] for o in result["objectives"]} == {"inconclusive"}


def test_endpoint_errors_are_one_sentence(platform_sandbox):
    platform_sandbox.inject_fault(api="v2", path="/api/v1/health/slo", error_ratio=1.0, error_status=503)
    result = run_module("sre.runbooks.slo_check", {"source": "endpoint", "platform_v2_url": platform_sandbox.v2_url})
    assert result.failed
    assert result["msg"] == (f"The platform SLO endpoint {platform_sandbox.v2_url}/api/v1/health/slo answered HTTP 503: "
                             "Fault injected by the sandbox on /api/v1/health/slo.")


def test_endpoint_down(platform_sandbox):
    url = platform_sandbox.v2_url
    from tests.platform_sandbox import stop_sandbox
    stop_sandbox(platform_sandbox)
    result = run_module("sre.runbooks.slo_check", {"source": "endpoint", "platform_v2_url": url})
    assert result.failed
    assert result["msg"] == f"Cannot reach the platform SLO endpoint at {url}: connection refused."
