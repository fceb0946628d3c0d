"""slo_check's main() with a fake Prometheus, a fake SLO endpoint and fake probes (no servers)."""

from __future__ import annotations

import json
import math
import re

import pytest
from ansible.module_utils.common.warnings import get_warning_messages

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import Response, TransportError
from ansible_collections.sre.runbooks.plugins.module_utils._slo import slo_args, sources
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PrometheusClient
from ansible_collections.sre.runbooks.plugins.modules import slo_check

from .utils import run_module

RANGE = re.compile(r"\[(\w+)\]")


@pytest.fixture(autouse=True)
def no_connection_env(monkeypatch):
    for name in ("PROMETHEUS_URL", "PROMETHEUS_TOKEN", "PLATFORM_V2_URL"):
        monkeypatch.delenv(name, raising=False)


def run(args, check=False):
    return run_module(slo_check, args, check=check)


@pytest.fixture
def prometheus(monkeypatch):
    """A fake Prometheus: 1000 requests per window, 0.05 % errors, 2 % in the last hour; records every query."""
    seen = []

    def query(self, expr, at=None):
        self.queries += 1
        seen.append((expr, at))
        window = RANGE.search(expr).group(1)
        if 'api="empty"' in expr:
            return []
        if expr.startswith("histogram_quantile"):
            return [{"metric": {}, "value": 0.42}]
        if "_bucket" in expr:
            return [{"metric": {"le": le}, "value": value} for le, value in
                    (("0.5", 900.0), ("1", 950.0), ("2", 990.0), ("+Inf", 1000.0))]
        ratio = 0.02 if window in ("1h", "5m", "30m") else 0.0005
        return [{"metric": {}, "value": 1000.0 * ratio if 'code=~"5.."' in expr else 1000.0}]

    monkeypatch.setattr(PrometheusClient, "query", query)
    return seen


def test_default_objectives_and_generated_promql(prometheus):
    result = run({"prometheus_url": "http://prom:9090", "selector": 'api="v2"', "evaluation_time": "1700000000"})
    assert [o["name"] for o in result["objectives"]] == ["availability", "error_rate", "latency_p95"]
    queries = {expr for expr, _at in prometheus}
    assert 'sum(increase(platform_http_requests_total{api="v2"}[30d]))' in queries
    assert 'sum(increase(platform_http_requests_total{api="v2",code=~"5.."}[5m]))' in queries
    assert 'sum by (le) (increase(platform_http_request_duration_seconds_bucket{api="v2"}[1h]))' in queries
    assert ('histogram_quantile(0.95, sum by (le) (rate(platform_http_request_duration_seconds_bucket{api="v2"}[30d])))'
            in queries)
    assert {at for _expr, at in prometheus} == {1700000000.0}
    # Each distinct query once: 8 windows x 2 for each ratio objective, 8 + 1 for latency.
    assert result["queries"] == len(queries) == 16 + 9
    availability, error_rate, latency = result["objectives"]
    assert availability["status"] == "warning" and availability["alerts_firing"] == ["page:1h/5m"]
    assert error_rate["status"] == "warning"
    assert latency["actual"] == 0.42 and latency["error_ratio"] == pytest.approx(0.01)
    assert result["evaluated_at"] == "2023-11-14T22:13:20Z"
    assert result["changed"] is False and result["passed"] is True


def test_check_mode_is_identical(prometheus):
    args = {"selector": 'api="v2"', "evaluation_time": "1700000000"}
    assert run(args, check=True) == run(args)


@pytest.mark.parametrize("fail_on, failed", [("breached", False), ("warning", True), ("never", False)])
def test_fail_on(prometheus, fail_on, failed):
    result = run({"fail_on": fail_on, "objectives": [{"name": "a"}]})
    assert bool(result.get("failed")) is failed
    if failed:
        assert result["msg"].startswith("SLO check failed: a: availability 99.9500 % >= 99.9 % over 30d")
        assert result["failed_objectives"] == ["a"]


def test_raw_queries_replace_the_window(prometheus):
    run({"objectives": [{"name": "raw", "prometheus": {
        "total_query": "sum(increase(x_total[${window}]))", "error_query": 'sum(increase(x_total{code="500"}[${window}]))'}}]})
    assert ("sum(increase(x_total[30d]))", None) in prometheus
    assert ('sum(increase(x_total{code="500"}[6h]))', None) in prometheus


def test_empty_series_are_no_data(prometheus):
    result = run({"objectives": [{"name": "nothing", "no_data": "fail", "prometheus": {"selector": 'api="empty"'}}]})
    assert result["failed"] and result["objectives"][0]["status"] == "breached"
    assert result["msg"] == "SLO check failed: nothing: no data in the last 30d (no_data=fail)."


@pytest.mark.parametrize("args, message", [
    ({"objectives": [{"name": "a"}, {"name": "a"}]}, "Objective names must be unique; a appears more than once."),
    ({"budget_warning": 2}, "budget_warning is a share of the budget between 0 and 1, not 2."),
    ({"evaluation_time": "last tuesday"}, "Invalid evaluation time 'last tuesday'"),
    ({"objectives": [{"name": "a", "target": 100}]}, "Objective 'a': an availability target is a percentage"),
    ({"burn_rate_alerts": [{"long_window": "5m", "short_window": "1h"}]}, "Burn-rate alert 5m/1h: the short window"),
    ({"source": "probe"}, "source is probe but all of the following are missing: probe"),
    ({"prometheus_token": "t", "prometheus_username": "u", "prometheus_password": "p"},
     "parameters are mutually exclusive: prometheus_token|prometheus_username"),
])
def test_bad_input_is_one_sentence(prometheus, args, message):
    result = run(args)
    assert result["failed"] and result["msg"].startswith(message)
    assert prometheus == []


def test_secrets_are_no_log():
    spec = slo_args.argument_spec()
    assert spec["prometheus_token"]["no_log"] and spec["prometheus_password"]["no_log"] and spec["platform_token"]["no_log"]


SLO_PAYLOAD = {"windows": {
    label: {"requests": 1000.0, "errors": 20.0 if label in ("5m", "30m", "1h") else 0.5,
            "latency_buckets": [{"le": "0.5", "count": 900.0}, {"le": "2", "count": 990.0}, {"le": "+Inf", "count": 1000.0}]}
    for label in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")}}


def test_endpoint_source(monkeypatch):
    seen = []

    def fake(method, url, **kwargs):
        seen.append(url)
        return Response(200, json.dumps(SLO_PAYLOAD).encode(), {}, 0.0)
    monkeypatch.setattr(sources, "exchange", fake)
    result = run({"source": "endpoint", "platform_v2_url": "http://v2:8001/"})
    assert seen == ["http://v2:8001/api/v1/health/slo?windows=30d,1h,5m,6h,30m,1d,2h,3d&window=30d"]
    availability, _error_rate, latency = result["objectives"]
    assert availability["error_ratio"] == pytest.approx(0.0005)
    assert availability["burn_rates"][0]["long_burn_rate"] == pytest.approx(20)
    assert latency["error_ratio"] == pytest.approx(0.01)
    assert latency["actual"] == pytest.approx(0.5 + 1.5 * (950 - 900) / 90)


def test_endpoint_without_windows_is_refused(monkeypatch):
    monkeypatch.setattr(sources, "exchange", lambda *a, **k: Response(200, b'{"status": "ok"}', {}, 0.0))
    result = run({"source": "endpoint", "endpoint_url": "http://v2/slo"})
    assert result["msg"] == "The platform SLO endpoint http://v2/slo did not return the windows of docs/platform-api.md."


def test_probe_source(monkeypatch):
    answers = iter([(200, 0.01), (200, 0.02), (503, 0.03), (200, 0.5), (None, 1.0)] * 2)

    def fake(method, url, **kwargs):
        status, seconds = next(answers)
        if status is None:
            raise TransportError("connection refused")
        return Response(status, b"", {}, seconds)
    monkeypatch.setattr(sources, "exchange", fake)
    result = run({"source": "probe", "probe": {"url": "http://x/health", "count": 10, "concurrency": 1},
                  "objectives": [{"name": "avail", "target": 40}, {"name": "fast", "sli": "latency", "target": 0.1,
                                                                   "quantile": 0.5}], "fail_on": "never"})
    probe = result["probe"]
    assert probe["count"] == 10 and probe["errors"] == 4 and probe["status_codes"] == {"200": 6, "503": 2, "error": 2}
    avail, fast = result["objectives"]
    assert avail["actual"] == pytest.approx(60.0) and avail["status"] == "ok" and avail["window"] == "10 probes"
    assert fast["error_ratio"] == pytest.approx(0.4)  # 2 slow answers + 2 without an answer
    assert not math.isnan(fast["actual"])


def test_selectors_with_or_without_braces(prometheus):
    run({"objectives": [{"name": "plain"}, {"name": "braced", "prometheus": {"selector": '{job="api"}', "metric": "x_total"}}]})
    queries = {expr for expr, _at in prometheus}
    assert "sum(increase(platform_http_requests_total[30d]))" in queries
    assert 'sum(increase(platform_http_requests_total{code=~"5.."}[30d]))' in queries
    assert 'sum(increase(x_total{job="api",code=~"5.."}[1h]))' in queries


def test_evaluation_time_is_prometheus_only(monkeypatch):
    monkeypatch.setattr(sources, "exchange", lambda *a, **k: Response(200, json.dumps(SLO_PAYLOAD).encode(), {}, 0.0))
    run({"source": "endpoint", "evaluation_time": "1700000000"})
    assert "evaluation_time only applies to source=prometheus; source=endpoint measures now." in get_warning_messages()


ENT_SERIES = {
    "min(anomaly_detection_accuracy)": [{"metric": {}, "value": 0.82}],
    "max(data_processing_lag_seconds)": [{"metric": {}, "value": 120.0}],
    "100 * kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes": [
        {"metric": {"namespace": "db", "persistentvolumeclaim": "data"}, "value": 91.5},
        {"metric": {"namespace": "db", "persistentvolumeclaim": "wal"}, "value": 20.0}],
}
THRESHOLDS = [
    {"name": "accuracy", "sli": "threshold", "target": 0.85, "bound": "lower",
     "prometheus": {"value_query": "min(anomaly_detection_accuracy)"}},
    {"name": "lag", "sli": "threshold", "target": 300, "unit": "s",
     "prometheus": {"value_query": "max(data_processing_lag_seconds)"}},
    {"name": "volumes", "sli": "threshold", "target": 85, "unit": "%",
     "prometheus": {"value_query": "100 * kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes"}},
]


@pytest.fixture
def ent_prometheus(monkeypatch):
    seen = []

    def query(self, expr, at=None):
        self.queries += 1
        seen.append(expr)
        return ENT_SERIES.get(expr, [])

    monkeypatch.setattr(PrometheusClient, "query", query)
    return seen


def test_threshold_objectives_from_prometheus(ent_prometheus):
    result = run({"objectives": THRESHOLDS, "fail_on": "never"})
    accuracy, lag, volumes = result["objectives"]
    assert (accuracy["status"], accuracy["actual"], accuracy["bound"]) == ("breached", 0.82, "lower")
    assert (lag["status"], lag["actual"], lag["unit"]) == ("ok", 120.0, "s")
    assert volumes["status"] == "breached" and volumes["breaching"] == 1
    assert volumes["series"][0] == {"labels": {"namespace": "db", "persistentvolumeclaim": "data"}, "value": 91.5,
                                    "breached": True}
    assert {o["source"] for o in result["objectives"]} == {"prometheus"}
    assert result["queries"] == 3 and result["status"] == "breached"
    assert result["msg"].startswith("accuracy: 0.82 < 0.85 (lower bound) (breached).")


@pytest.mark.parametrize(("objective", "message"), [
    ({"name": "t", "sli": "threshold", "target": 1}, "Objective 't': a threshold objective needs prometheus.value_query"),
    ({"name": "t", "sli": "threshold", "target": 1, "source": "endpoint", "prometheus": {"value_query": "up"}},
     "Objective 't': a threshold objective reads a Prometheus query; set its source to prometheus."),
    ({"name": "p", "source": "probe"}, "Objective 'p' is measured by probes (source=probe), which need the probe option."),
])
def test_objectives_their_source_cannot_serve_are_refused(ent_prometheus, objective, message):
    result = run({"objectives": [objective]})
    assert result["failed"] and result["msg"].startswith(message)
    assert ent_prometheus == []


def test_mixed_sources_and_probes_in_one_call(monkeypatch, ent_prometheus):
    def fake(method, url, **kwargs):
        if "/slo" in url:
            return Response(200, json.dumps(SLO_PAYLOAD).encode(), {}, 0.0)
        if "down" in url:
            raise TransportError("connection refused")
        return Response(200, b"{}", {}, 0.002)
    monkeypatch.setattr(sources, "exchange", fake)
    result = run({"source": "endpoint", "platform_v2_url": "http://v2:8001", "fail_on": "never",
                  "objectives": [{"name": "availability"}, dict(THRESHOLDS[0], source="prometheus")],
                  "probes": [{"name": "v2", "url": "http://v2:8001/health", "count": 3},
                             {"url": "http://down:1/health", "count": 2}]})
    assert [(o["name"], o["source"]) for o in result["objectives"]] == [
        ("availability", "endpoint"), ("accuracy", "prometheus")]
    assert result["objectives"][1]["status"] == "breached"
    v2, down = result["probes"]
    assert (v2["name"], v2["count"], v2["errors"], v2["status_codes"]) == ("v2", 3, 0, {"200": 3})
    assert (down["name"], down["count"], down["errors"], down["status_codes"]) == (
        "http://down:1/health", 2, 2, {"error": 2})
    # One SLO endpoint request, one query, five probe requests.
    assert result["queries"] == 1 + 1 + 5


def test_a_failing_source_leaves_its_objectives_inconclusive_and_the_rest_judged(monkeypatch, ent_prometheus):
    def refused(*args, **kwargs):
        raise TransportError("connection refused")
    monkeypatch.setattr(sources, "exchange", refused)
    result = run({"source": "endpoint", "platform_v2_url": "http://v2:8001", "fail_on": "never",
                  "objectives": [{"name": "availability", "no_data": "fail"}, dict(THRESHOLDS[1], source="prometheus")]})
    assert result["failed"]
    assert result["msg"] == "Cannot reach the platform SLO endpoint at http://v2:8001: connection refused."
    availability, lag = result["objectives"]
    assert (availability["status"], availability["error"]) == ("inconclusive", result["msg"])
    assert availability["message"] == "availability: " + result["msg"]
    assert lag["status"] == "ok" and "error" not in lag
    assert result["status"] == "inconclusive"


def test_probes_alone_check_no_objective(monkeypatch):
    monkeypatch.setattr(sources, "exchange", lambda *a, **k: Response(200, b"{}", {}, 0.001))
    result = run({"probes": [{"url": "http://v2/health", "count": 2}]})
    assert result["objectives"] == [] and result["status"] == "inconclusive" and result["passed"] is True
    assert result["probes"][0]["count"] == 2 and result["queries"] == 2 and not result.get("failed")
