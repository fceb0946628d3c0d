"""slo_check's sources, option checks and verdict, without a module or a server."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import Response
from ansible_collections.sre.runbooks.plugins.module_utils._slo import sources
from ansible_collections.sre.runbooks.plugins.module_utils._slo.evaluate import SloError
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PrometheusError, single_value
from ansible_collections.sre.runbooks.plugins.module_utils._slo.slo_args import argument_spec, prepare_objectives
from ansible_collections.sre.runbooks.plugins.module_utils._slo.slo_runner import SOURCES, verdict

PARAMS = {
    "source": "prometheus", "objectives": None, "window": "30d", "min_samples": 1, "no_data": "inconclusive",
    "budget_warning": 0.25, "burn_rate_alerts": None, "requests_metric": "req_total", "latency_metric": "lat_seconds",
    "selector": "", "error_selector": 'code=~"5.."', "endpoint_url": None, "platform_v2_url": "http://v2:8001",
    "platform_timeout": 5.0, "platform_validate_certs": True, "platform_ca_path": None, "platform_token": None,
    "prometheus_url": "http://prom:9090", "probe": None, "probes": [],
}


def _params(**changes):
    return dict(PARAMS, **changes)


def test_every_source_choice_has_a_reader():
    assert set(SOURCES) == set(argument_spec()["source"]["choices"])


@pytest.mark.parametrize("samples, value", [([], None), ([{"metric": {}, "value": 3.0}], 3.0)])
def test_single_value(samples, value):
    assert single_value(samples, "up", "http://prom:9090") == value


def test_single_value_refuses_several_series():
    with pytest.raises(PrometheusError, match=r"returned 2 series from Prometheus at http://prom:9090; wrap it in sum"):
        single_value([{"value": 1.0}, {"value": 2.0}], "up", "http://prom:9090")


@pytest.mark.parametrize("source, alerts", [("prometheus", 4), ("endpoint", 4), ("probe", 0)])
def test_prepare_gives_probes_no_burn_rate_alerts(source, alerts):
    probe = {"count": 1, "concurrency": 1}
    prepared = prepare_objectives(_params(source=source, probe=probe))
    assert [objective["name"] for _raw, objective, _alerts in prepared] == ["availability", "error_rate", "latency_p95"]
    assert {len(a) for _raw, _objective, a in prepared} == {alerts}


@pytest.mark.parametrize("changes, message", [
    ({"min_samples": -1}, "min_samples cannot be negative."),
    ({"source": "probe", "probe": {"count": 0, "concurrency": 1}}, "probe.count and probe.concurrency must be at least 1."),
])
def test_prepare_refuses(changes, message):
    with pytest.raises(SloError, match=message):
        prepare_objectives(_params(**changes))


class FakeClient:
    where = "http://prom:9090"

    def __init__(self):
        self.queries = 0

    def query(self, expr, at=None):
        self.queries += 1
        return [{"metric": {}, "value": 10.0 if "code" in expr else 1000.0}]


def test_prometheus_source_runs_each_query_once():
    source = sources.PrometheusSource(_params(), at=None)
    source.client = FakeClient()
    prepared = prepare_objectives(_params(objectives=[{"name": "a"}, {"name": "b", "sli": "error_rate"}]))
    measured = source.measure(prepared)
    # Both objectives count the same series over the same eight windows.
    assert source.queries == 16 and source.extra == {}
    assert [objective["name"] for objective, _counts, _alerts in measured] == ["a", "b"]
    assert measured[0][1]["30d"] == {"total": 1000.0, "bad": 10.0}


def test_prometheus_source_counts_no_error_series_as_none_failed():
    source = sources.PrometheusSource(_params(), at=None)
    source.client = FakeClient()
    source.client.query = lambda expr, at=None: [] if "code" in expr else [{"metric": {}, "value": 5.0}]
    [(_objective, counts, _alerts)] = source.measure(prepare_objectives(_params(objectives=[{"name": "a"}])))
    assert counts["1h"] == {"total": 5.0, "bad": 0.0}


def test_endpoint_source_matches_windows_by_length(monkeypatch):
    payload = {"windows": {"60m": {"requests": 100, "errors": 3}, "30d": {"requests": 1000, "errors": 4}, "bad": {}}}
    monkeypatch.setattr(sources, "exchange", lambda *a, **k: Response(200, json.dumps(payload).encode(), {}, 0.0))
    source = sources.EndpointSource(_params(source="endpoint"))
    [(_objective, counts, alerts)] = source.measure(prepare_objectives(_params(objectives=[{"name": "a"}])))
    assert counts == {"30d": {"total": 1000.0, "bad": 4.0}, "1h": {"total": 100.0, "bad": 3.0}}
    assert len(alerts) == 4 and source.queries == 1


def test_endpoint_error_names_the_platform_reason(monkeypatch):
    body = json.dumps({"error": {"message": "window too long."}}).encode()
    monkeypatch.setattr(sources, "exchange", lambda *a, **k: Response(400, body, {}, 0.0))
    source = sources.EndpointSource(_params(source="endpoint"))
    with pytest.raises(sources.SourceError) as caught:
        source.measure(prepare_objectives(_params(objectives=[{"name": "a"}])))
    assert str(caught.value) == "The platform SLO endpoint http://v2:8001/api/v1/health/slo answered HTTP 400: window too long."


def test_probe_source_reports_and_names_the_window(monkeypatch):
    monkeypatch.setattr(sources, "exchange", lambda *a, **k: Response(200, b"", {}, 0.01))
    probe = {"url": "http://x/", "method": "GET", "count": 3, "concurrency": 2, "timeout": 1.0, "ok_status": [],
             "headers": {}, "validate_certs": True}
    params = _params(source="probe", probe=probe, objectives=[{"name": "a"}])
    source = sources.ProbeSource(params)
    [(objective, counts, alerts)] = source.measure(prepare_objectives(params))
    assert objective["window"] == "3 probes" and counts == {"3 probes": {"total": 3.0, "bad": 0.0}} and alerts == []
    assert source.queries == 3 and source.extra["probe"]["status_codes"] == {"200": 3}


def test_verdict():
    objectives = [{"name": "a", "status": "ok"}, {"name": "b", "status": "breached"}]
    result = verdict(objectives, [objectives[1]])
    assert result == {"status": "breached", "passed": False, "objectives": objectives,
                      "summary": {"ok": 1, "warning": 0, "inconclusive": 0, "breached": 1}, "failed_objectives": ["b"]}
