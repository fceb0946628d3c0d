"""alertmanager_silence's main() with a fake Alertmanager (an in-memory silences store, no server)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._alertmanager import client as am_client
from ansible_collections.sre.runbooks.plugins.module_utils._http.client import Response, TransportError
from ansible_collections.sre.runbooks.plugins.modules import alertmanager_silence

from .utils import AnsibleExitJson, AnsibleFailJson, run_module

URL = "http://am.test:9093"
MATCHERS = [{"name": "namespace", "value": "prod"}]
BASE = {"alertmanager_url": URL, "matchers": MATCHERS, "comment": "CHG-1", "duration": "2h"}


@pytest.fixture(autouse=True)
def no_connection_env(monkeypatch):
    for name in ("ALERTMANAGER_URL", "ALERTMANAGER_TOKEN", "ALERTMANAGER_USERNAME", "ALERTMANAGER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def alertmanager(monkeypatch):
    """Silences by id; every request recorded as (method, path, kwargs)."""
    store = {"silences": {}, "calls": [], "next": 1}

    def fake(params, prefix, method, url, body=None):
        assert prefix == "alertmanager"
        path = url[len(URL):]
        store["calls"].append((method, path, params))
        if method == "GET" and path == "/api/v2/silences":
            return _json(200, list(store["silences"].values()))
        if method == "POST":
            sid = body.get("id") or f"s{store['next']}"
            store["next"] += 1
            store["silences"][sid] = dict(body, id=sid, status={"state": "active"})
            return _json(200, {"silenceID": sid})
        sid = path.rsplit("/", 1)[-1]
        if sid not in store["silences"]:
            return _json(404, "silence not found")
        if method == "DELETE":
            store["silences"][sid]["status"] = {"state": "expired"}
            return Response(200, b"", {}, 0.01)
        return _json(200, store["silences"][sid])

    monkeypatch.setattr(am_client, "exchange_with", fake)
    return store


def _json(status, data):
    return Response(status, json.dumps(data).encode(), {}, 0.01)


def test_check_mode_writes_nothing_then_create_then_keep(alertmanager):
    checked = run_module(alertmanager_silence, BASE, check=True, diff=True, expect=AnsibleExitJson)
    assert checked["changed"] and checked["outcome"] == "create" and not alertmanager["silences"]
    made = run_module(alertmanager_silence, BASE, expect=AnsibleExitJson)
    assert made["changed"] and made["silence"]["id"] == "s1"
    kept = run_module(alertmanager_silence, BASE, expect=AnsibleExitJson)
    assert not kept["changed"] and kept["outcome"] == "keep" and len(alertmanager["silences"]) == 1


def test_extend_keeps_the_start_and_absent_expires(alertmanager):
    run_module(alertmanager_silence, BASE, expect=AnsibleExitJson)
    start = alertmanager["silences"]["s1"]["startsAt"]
    longer = run_module(alertmanager_silence, dict(BASE, duration="5h", extend=True), expect=AnsibleExitJson)
    assert longer["outcome"] == "extend" and longer["silence"]["id"] == "s1"
    assert alertmanager["silences"]["s1"]["startsAt"] == start
    gone = run_module(alertmanager_silence, dict(BASE, state="absent", duration=None), expect=AnsibleExitJson)
    assert gone["changed"] and gone["expired"] == ["s1"] and gone["silence"]["status"] == "expired"
    again = run_module(alertmanager_silence, {"alertmanager_url": URL, "state": "absent", "id": "s1"},
                       expect=AnsibleExitJson)
    assert not again["changed"] and again["outcome"] == "none"


def test_the_token_is_sent_and_never_shown(alertmanager):
    result = run_module(alertmanager_silence, dict(BASE, alertmanager_token="t0k3n-secret"), expect=AnsibleExitJson)
    assert all(call[2]["alertmanager_token"] == "t0k3n-secret" for call in alertmanager["calls"])
    assert all(call[2]["alertmanager_timeout"] == 30.0 for call in alertmanager["calls"])
    assert "t0k3n-secret" not in str(result)


def test_refusals_and_transport_failures_are_one_sentence(monkeypatch):
    monkeypatch.setattr(am_client, "exchange_with", lambda *a, **k: _json(400, "silence invalid: bad matcher"))
    refused = run_module(alertmanager_silence, BASE, expect=AnsibleFailJson)
    assert refused["msg"] == ("Alertmanager at http://am.test:9093 refused GET /api/v2/silences (HTTP 400): "
                              "silence invalid: bad matcher.")

    def down(*_args, **_kwargs):
        raise TransportError("no answer within 30s")

    monkeypatch.setattr(am_client, "exchange_with", down)
    assert run_module(alertmanager_silence, BASE, expect=AnsibleFailJson)["msg"] == (
        "Cannot reach Alertmanager at http://am.test:9093: no answer within 30s.")
    monkeypatch.setattr(am_client, "exchange_with", lambda *a, **k: Response(200, b"<html>", {}, 0.01))
    assert "did not answer GET /api/v2/silences with a JSON list" in run_module(
        alertmanager_silence, BASE, expect=AnsibleFailJson)["msg"]
