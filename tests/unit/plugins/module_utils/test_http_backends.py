"""Prometheus and platform clients: URLs, payloads and every failure turned into one sentence (no server)."""

from __future__ import annotations

import json
import socket
import ssl
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._http import client as http_json

from ansible_collections.sre.runbooks.plugins.module_utils._platform import client as platform

from ansible_collections.sre.runbooks.plugins.module_utils._slo import prometheus
from ansible_collections.sre.runbooks.plugins.module_utils._http.client import Response, TransportError


@pytest.mark.parametrize("base, path, query, url", [
    ("http://p:9090", "/api/v1/query", None, "http://p:9090/api/v1/query"),
    ("http://p:9090/", "api/v1/query", None, "http://p:9090/api/v1/query"),
    ("https://gw/prom/", "/api/v1/query", {"a": "b c", "n": None}, "https://gw/prom/api/v1/query?a=b+c"),
])
def test_join_url(base, path, query, url):
    assert http_json.join_url(base, path, query) == url


def test_describe_url_hides_path_and_credentials():
    assert http_json.describe_url("https://user:pw@prom.example.com:9443/x?y=1") == "https://prom.example.com:9443"


@pytest.mark.parametrize("error, cause", [
    (URLError(ConnectionRefusedError(111, "Connection refused")), "connection refused"),
    (URLError(socket.timeout("timed out")), "no answer within 3s"),
    (URLError(socket.gaierror(-2, "Name or service not known")), "the host name does not resolve"),
    (URLError(ssl.SSLError(1, "[SSL] wrong version number")), "TLS error"),
    (ConnectionResetError(104, "Connection reset by peer"), "Connection reset by peer"),
    (socket.timeout("timed out"), "no answer within 3s"),
])
def test_transport_errors_become_short_causes(monkeypatch, error, cause):
    def boom(*args, **kwargs):
        raise error
    monkeypatch.setattr(http_json, "open_url", boom)
    with pytest.raises(TransportError) as caught:
        http_json.exchange("GET", "http://x", timeout=3)
    assert caught.value.cause.startswith(cause)


def test_http_errors_are_responses(monkeypatch):
    def refuse(*args, **kwargs):
        raise HTTPError("http://x", 404, "Not Found", {}, _Body(b'{"error": {"code": "not_found"}}'))
    monkeypatch.setattr(http_json, "open_url", refuse)
    resp = http_json.exchange("GET", "http://x")
    assert resp.status == 404 and resp.json == {"error": {"code": "not_found"}}


def test_exchange_sends_json_form_and_auth(monkeypatch):
    seen = {}

    def fake_open(url, **kwargs):
        seen.update(kwargs, url=url)
        return _Resp(200, b'{"ok": true}')
    monkeypatch.setattr(http_json, "open_url", fake_open)
    resp = http_json.exchange("POST", "http://x/y", body={"a": 1}, token="t0k", headers={"X-Request-Id": "r1"})
    assert resp.json == {"ok": True}
    assert json.loads(seen["data"]) == {"a": 1}
    assert seen["headers"]["Authorization"] == "Bearer t0k" and seen["headers"]["X-Request-Id"] == "r1"
    assert seen["headers"]["Content-Type"] == "application/json" and seen["use_netrc"] is False
    http_json.exchange("POST", "http://x/y", form={"query": "up"}, username="u", password="p")
    assert seen["data"] == b"query=up" and seen["force_basic_auth"] is True and seen["url_username"] == "u"


class _Body:
    def __init__(self, data):
        self.data = data

    def read(self, *args):
        return self.data

    def close(self):
        pass


class _Resp:
    def __init__(self, status, body):
        self.status, self.body = status, body
        self.headers = {}

    def getcode(self):
        return self.status

    def read(self):
        return self.body


# --------------------------------------------------------------------------- Prometheus
PROM = {"prometheus_url": "http://prom:9090", "prometheus_timeout": 5.0, "prometheus_validate_certs": True}


def _prom_answer(monkeypatch, status, payload):
    calls = []

    def fake(method, url, **kwargs):
        calls.append((method, url, kwargs))
        if isinstance(payload, Exception):
            raise payload
        return Response(status, payload if isinstance(payload, bytes) else json.dumps(payload).encode(), {}, 0.01)
    monkeypatch.setattr(prometheus, "exchange", fake)
    return calls


def test_prometheus_query_vector_and_scalar(monkeypatch):
    calls = _prom_answer(monkeypatch, 200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"le": "0.1"}, "value": [1, "5"]}, {"metric": {"le": "+Inf"}, "value": [1, "NaN"]}]}})
    client = prometheus.PrometheusClient(PROM)
    assert client.query("x", at=1700000000) == [{"metric": {"le": "0.1"}, "value": 5.0}, {"metric": {"le": "+Inf"}, "value": None}]
    method, url, kwargs = calls[0]
    assert (method, url) == ("POST", "http://prom:9090/api/v1/query")
    assert kwargs["form"] == {"query": "x", "time": "1700000000.000"}
    _prom_answer(monkeypatch, 200, {"status": "success", "data": {"resultType": "scalar", "result": [1, "2.5"]}})
    assert client.scalar("2.5") == 2.5


@pytest.mark.parametrize("status, payload, message", [
    (400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 5: unclosed left parenthesis"},
     "Prometheus at http://prom:9090 rejected the query 'sum(': parse error at char 5: unclosed left parenthesis."),
    (401, b"Unauthorized", "Prometheus at http://prom:9090 refused the credentials (HTTP 401)."),
    (200, b"<html>", "Prometheus at http://prom:9090 answered HTTP 200 without a JSON object (is prometheus_url "
                     "the server's base URL?)."),
    (200, [1, "x", None], "Prometheus at http://prom:9090 answered HTTP 200 without a JSON object (is "
                          "prometheus_url the server's base URL?)."),
    (200, {"status": "success", "data": {"resultType": "vector", "result": [1, "x", None]}},
     "Prometheus at http://prom:9090 answered the query 'sum(' with a vector that is not made of [time, value] samples."),
    (200, {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": "1"}]}},
     "Prometheus at http://prom:9090 answered the query 'sum(' with a vector that is not made of [time, value] samples."),
    (200, {"status": "success", "data": {"resultType": "scalar", "result": None}},
     "Prometheus at http://prom:9090 answered the query 'sum(' with a scalar that is not made of [time, value] samples."),
    (200, {"status": "success", "data": "yes"},
     "Prometheus at http://prom:9090 returned no result type for 'sum(' ; an instant vector is needed."),
    (200, {"status": "success", "data": {"resultType": "matrix", "result": []}},
     "Prometheus at http://prom:9090 returned a matrix for 'sum(' ; an instant vector is needed."),
    (None, TransportError("connection refused"), "Cannot reach Prometheus at http://prom:9090: connection refused."),
])
def test_prometheus_failures_are_one_sentence(monkeypatch, status, payload, message):
    _prom_answer(monkeypatch, status, payload)
    with pytest.raises(prometheus.PrometheusError) as caught:
        prometheus.PrometheusClient(PROM).query("sum(")
    assert str(caught.value) == message.replace("'sum(' ;", "'sum(';")


def test_scalar_refuses_several_series(monkeypatch):
    _prom_answer(monkeypatch, 200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"a": "1"}, "value": [1, "1"]}, {"metric": {"a": "2"}, "value": [1, "1"]}]}})
    with pytest.raises(prometheus.PrometheusError, match="returned 2 series .* wrap it in sum"):
        prometheus.PrometheusClient(PROM).scalar("up")


def test_prometheus_range_query(monkeypatch):
    calls = _prom_answer(monkeypatch, 200, {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"pod": "a"}, "values": [[100, "0.5"], [175, "NaN"]]}]}})
    client = prometheus.PrometheusClient(PROM)
    assert client.query_range("rate(x[75s])", 100, 175, 75) == [{"metric": {"pod": "a"},
                                                                 "values": [(100.0, 0.5), (175.0, None)]}]
    method, url, kwargs = calls[0]
    assert (method, url) == ("POST", "http://prom:9090/api/v1/query_range")
    assert kwargs["form"] == {"query": "rate(x[75s])", "start": "100.000", "end": "175.000", "step": "75"}
    assert client.queries == 1


@pytest.mark.parametrize("payload, message", [
    ({"status": "success", "data": {"resultType": "vector", "result": []}},
     "Prometheus at http://prom:9090 returned a vector for the range query 'x'; a range vector (matrix) is needed."),
    ({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1]]}]}},
     "Prometheus at http://prom:9090 answered the range query 'x' with a matrix that is not made of [time, value] samples."),
    ({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}}]}},
     "Prometheus at http://prom:9090 answered the range query 'x' with a matrix that is not made of [time, value] samples."),
    ({"status": "error", "error": "exceeded maximum resolution of 11,000 points per timeseries"},
     "Prometheus at http://prom:9090 rejected the query 'x': exceeded maximum resolution of 11,000 points per timeseries."),
])
def test_prometheus_range_query_failures_are_one_sentence(monkeypatch, payload, message):
    _prom_answer(monkeypatch, 200 if payload["status"] == "success" else 400, payload)
    with pytest.raises(prometheus.PrometheusError) as caught:
        prometheus.PrometheusClient(PROM).query_range("x", 0, 60, 15)
    assert str(caught.value) == message


@pytest.mark.parametrize("start, end, step, size, chunks", [
    (0, 100, 10, 5, [(0, 40), (50, 90), (100, 100)]),
    (0, 95, 10, 100, [(0, 90)]),
    (0, 0, 10, 5, [(0, 0)]),
    (10, 0, 10, 5, []),
])
def test_range_chunks_split_long_ranges_without_shared_points(start, end, step, size, chunks):
    assert prometheus.range_chunks(start, end, step, max_points=size) == chunks


@pytest.mark.parametrize("value, seconds", [
    (None, None), ("", None), (1700000000, 1700000000.0), ("1700000000.5", 1700000000.5),
    ("2023-11-14T22:13:20Z", 1700000000.0), ("2023-11-14T23:13:20+01:00", 1700000000.0),
    ("2023-11-14T22:13:20", 1700000000.0),
])
def test_parse_time(value, seconds):
    assert prometheus.parse_time(value) == seconds


def test_parse_time_refuses_text():
    with pytest.raises(prometheus.PrometheusError, match="Invalid evaluation time 'yesterday'"):
        prometheus.parse_time("yesterday")


# --------------------------------------------------------------------------- platform
CONN = {"platform_v1_url": "http://v1:8002", "platform_v2_url": "http://v2:8001", "platform_v3_url": "http://v3:8003",
        "platform_token": None, "platform_timeout": 5.0, "platform_validate_certs": True, "platform_ca_path": None}


def _platform_answers(monkeypatch, answers):
    """answers: list of (status, payload) or exceptions, served in order."""
    queue = list(answers)
    seen = []

    def fake(method, url, **kwargs):
        seen.append((method, url, kwargs))
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        status, payload = item
        return Response(status, json.dumps(payload).encode() if payload is not None else b"", {}, 0.01)
    monkeypatch.setattr(platform, "exchange", fake)
    return seen


def test_platform_request_ids_and_audit_trail(monkeypatch):
    seen = _platform_answers(monkeypatch, [(200, {"experiments": []})])
    client = platform.PlatformClient(CONN)
    assert client.request("v1", "GET", "/api/v1/experiments", query={"name": "a b"}) == (200, {"experiments": []})
    method, url, kwargs = seen[0]
    assert url == "http://v1:8002/api/v1/experiments?name=a+b"
    assert kwargs["headers"]["X-Request-Id"].startswith("sre-")
    assert client.requests == [{"request_id": kwargs["headers"]["X-Request-Id"], "api": "v1", "method": "GET",
                                "path": "/api/v1/experiments", "status": 200}]


@pytest.mark.parametrize("answer, token, message, status", [
    (TransportError("connection refused"), None, "Cannot reach the V1 experiments API at http://v1:8002: connection refused.", None),
    ((401, {"error": {"code": "unauthorized", "message": "nope"}}), None,
     "The V1 experiments API at http://v1:8002 answered HTTP 401 to GET /x: it needs an API token (platform_token).", 401),
    ((401, None), "t", "The V1 experiments API at http://v1:8002 answered HTTP 401 to GET /x: the API token was refused.", 401),
    ((409, {"error": {"code": "run_in_progress", "message": "Experiment exp-1 already has a run in progress."}}), None,
     "The V1 experiments API at http://v1:8002 answered HTTP 409 to GET /x: Experiment exp-1 already has a run in progress.",
     409),
    ((502, None), None, "The V1 experiments API at http://v1:8002 answered HTTP 502 to GET /x: bad gateway.", 502),
])
def test_platform_failures_are_one_sentence(monkeypatch, answer, token, message, status):
    _platform_answers(monkeypatch, [answer])
    with pytest.raises(platform.PlatformError) as caught:
        platform.PlatformClient(dict(CONN, platform_token=token)).request("v1", "GET", "/x")
    assert str(caught.value) == message
    assert caught.value.status == status


@pytest.mark.parametrize("experiment_id, answer, message", [
    ("42", (400, {"error": {"code": "invalid_id", "message": "bad"}}),
     "'42' is not a valid experiment id for the V1 experiments API at http://v1:8002 (ids look like exp-0123456789ab)."),
    ("exp-0123456789ab", (400, {"error": {"code": "invalid_id", "message": "bad"}}),
     "'exp-0123456789ab' is not a valid experiment id for the V1 experiments API at http://v1:8002."),
    ("exp-0123456789ab", (404, {"error": {"code": "not_found", "message": "gone"}}),
     "Experiment 'exp-0123456789ab' does not exist on the V1 experiments API at http://v1:8002."),
])
def test_get_experiment_explains_the_id(monkeypatch, experiment_id, answer, message):
    _platform_answers(monkeypatch, [answer])
    with pytest.raises(platform.PlatformError) as caught:
        platform.get_experiment(platform.PlatformClient(CONN), experiment_id)
    assert str(caught.value) == message


def test_ids_are_percent_encoded():
    assert platform.experiment_path("../x y") == "/api/v1/experiments/..%2Fx%20y"
    assert platform.experiment_path("exp-1", "/api/v1/evaluation/promote/{id}") == "/api/v1/evaluation/promote/exp-1"


def test_resolve_by_name(monkeypatch):
    _platform_answers(monkeypatch, [(200, {"experiments": [{"id": "exp-1", "name": "a"}, {"id": "exp-2", "name": "ab"}]}),
                                    (200, {"id": "exp-1", "name": "a", "status": "completed"})])
    assert platform.resolve_experiment(platform.PlatformClient(CONN), name="a")["status"] == "completed"
    _platform_answers(monkeypatch, [(200, {"experiments": []})])
    with pytest.raises(platform.PlatformError, match="No experiment named 'zz' exists") as caught:
        platform.resolve_experiment(platform.PlatformClient(CONN), name="zz")
    assert caught.value.status == 404
    _platform_answers(monkeypatch, [(200, {"experiments": [{"id": "exp-1", "name": "a"}, {"id": "exp-2", "name": "a"}]})])
    with pytest.raises(platform.PlatformError, match="2 experiments are named 'a'"):
        platform.resolve_experiment(platform.PlatformClient(CONN), name="a")


@pytest.mark.parametrize("method, url, headers, timeout, cause", [
    ("GET", "not a url", None, 3, "the URL must be an http"),
    ("GET", "", None, 3, "the URL must be an http"),
    ("GET", "http://h:99999/", None, 3, "the URL is not a valid URL"),
    ("GET\r\nX: y", "http://h/", None, 3, "the HTTP method must not contain a line break"),
    ("GET", "http://h/", {"Authorization": "Bearer a\r\nX: y"}, 3, "the header Authorization must not contain"),
    ("GET", "http://h/", None, float("nan"), "the timeout must be a finite number"),
    ("GET", "http://h/", None, -1, "the timeout must be at least"),
])
def test_requests_that_cannot_be_sent_are_refused_before_any_traffic(monkeypatch, method, url, headers, timeout, cause):
    def unreachable(*args, **kwargs):
        raise AssertionError("no request may be sent")
    monkeypatch.setattr(http_json, "open_url", unreachable)
    with pytest.raises(TransportError) as caught:
        http_json.exchange(method, url, headers=headers, timeout=timeout)
    assert caught.value.cause.startswith(cause)
    assert "Bearer" not in caught.value.cause


def test_describe_url_never_raises_on_a_bad_port():
    assert http_json.describe_url("http://h:port/") == "http://h:port/"


def test_an_unreadable_ca_file_is_named_before_any_traffic(monkeypatch, tmp_path):
    def unreachable(*args, **kwargs):
        raise AssertionError("no request may be sent")
    monkeypatch.setattr(http_json, "open_url", unreachable)
    missing = tmp_path / "none.pem"
    with pytest.raises(TransportError) as caught:
        http_json.exchange("GET", "https://h/", ca_path=str(missing), timeout=3)
    assert caught.value.cause == f"the CA file {missing} cannot be read (No such file or directory)"


def test_a_ca_path_is_only_read_for_https_and_may_be_a_folder(monkeypatch, tmp_path):
    sent = []
    monkeypatch.setattr(http_json, "open_url", lambda *a, **k: sent.append(k["ca_path"]) or _Resp(200, b"{}"))
    http_json.exchange("GET", "http://h/", ca_path=str(tmp_path / "none.pem"), timeout=3)
    http_json.exchange("GET", "https://h/", ca_path=str(tmp_path), timeout=3)
    assert sent == [str(tmp_path / "none.pem"), str(tmp_path)]


# Servers that answer JSON of the wrong shape (issue 17 defect 10): one sentence, never an AttributeError.

@pytest.mark.parametrize("answers, call, message", [
    ([(200, [])], lambda c: c.request("v1", "GET", "/x"),
     "The V1 experiments API at http://v1:8002 answered GET /x with JSON that is not an object (list)."),
    ([(200, [1, "x", None])], lambda c: platform.resolve_experiment(c, experiment_id="exp-1"),
     "The V1 experiments API at http://v1:8002 answered GET /api/v1/experiments/exp-1 with JSON that is not an object "
     "(list)."),
    ([(200, {"experiments": "many"})], lambda c: platform.resolve_experiment(c, name="a"),
     "The V1 experiments API at http://v1:8002 listed experiments that are not a list of objects."),
    ([(200, {"experiments": [1, "x", None]})], lambda c: platform.resolve_experiment(c, name="a"),
     "The V1 experiments API at http://v1:8002 listed experiments that are not a list of objects."),
    ([(200, {"id": None, "name": "a", "status": "completed"})], lambda c: platform.resolve_experiment(c, "exp-1"),
     "The V1 experiments API at http://v1:8002 answered an experiment without a text id and name (id 'None')."),
    ([(200, {"experiments": [{"id": 7, "name": "a"}]})], lambda c: platform.resolve_experiment(c, name="a"),
     "The V1 experiments API at http://v1:8002 answered an experiment without a text id and name (id '7')."),
    ([], lambda c: platform.resolve_experiment(c, experiment_id="", name=None),
     "Give experiment_id or experiment_name; an empty one names no experiment."),
])
def test_platform_answers_of_the_wrong_shape_are_one_sentence(monkeypatch, answers, call, message):
    _platform_answers(monkeypatch, answers)
    with pytest.raises(platform.PlatformError) as caught:
        call(platform.PlatformClient(CONN))
    assert str(caught.value) == message


@pytest.mark.parametrize("url, shown", [("not a url", "'not a url'"), ("", "''"), ({"a": 1}, "\"{'a': 1}\"")])
def test_describe_url_shows_what_was_given_when_it_is_no_url(url, shown):
    assert http_json.describe_url(url) == shown


def test_one_ssl_context_per_process_and_settings(monkeypatch):
    built = []

    def counting_make_context(**kwargs):
        built.append(kwargs)
        return object()

    monkeypatch.setattr(http_json, "make_context", counting_make_context)
    monkeypatch.setattr(http_json, "_CONTEXTS", {})
    first = http_json.shared_context(True, None)
    assert http_json.shared_context(True, None) is first
    assert http_json.shared_context(False, None) is not first
    assert http_json.shared_context(True, "/etc/ca.pem") is not first
    assert built == [{"cafile": None, "validate_certs": True}, {"cafile": None, "validate_certs": False},
                     {"cafile": "/etc/ca.pem", "validate_certs": True}]


def test_requests_share_the_context_where_ansible_core_takes_one(monkeypatch):
    seen = []

    class FakeRequest:
        def open(self, method, url, **options):
            seen.append((method, url, options))
            return _Resp(200, b"{}")

    monkeypatch.setattr(http_json, "Request", FakeRequest)
    monkeypatch.setattr(http_json, "_CONTEXTS", {})
    for takes in (True, False):
        monkeypatch.setattr(http_json, "_TAKES_CONTEXT", takes)
        http_json.open_url("https://p:9090/q", method="POST", validate_certs=True, ca_path=None, timeout=3)
        http_json.open_url("https://p:9090/q", validate_certs=True, ca_path=None, timeout=3)
    with_context, again, without = seen[:3]
    assert with_context[0] == "POST" and again[0] == "GET" and with_context[1] == "https://p:9090/q"
    assert isinstance(with_context[2]["context"], ssl.SSLContext) and again[2]["context"] is with_context[2]["context"]
    assert "context" not in without[2] and without[2]["timeout"] == 3
