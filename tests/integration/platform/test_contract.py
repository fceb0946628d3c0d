"""The sandbox answers as docs/platform-api.openapi.yaml says, and the document is valid OpenAPI 3.1.

The runbook's whole flow is driven over HTTP (create, run, poll, evaluate, promote,
quarantine, records, statistics, SLO endpoints, errors); every JSON response is validated
against the schema the document gives for that operation and status code.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate as validate_spec

SPEC_PATH = Path(__file__).resolve().parents[3] / "docs" / "platform-api.openapi.yaml"


@pytest.fixture(scope="module")
def spec():
    document = yaml.safe_load(SPEC_PATH.read_text())
    validate_spec(document)
    return document


def _operation(spec, method, path):
    """The spec's operation for a concrete path (templates matched segment by segment)."""
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


class Checker:
    """Calls the sandbox and validates each answer against the documented response schema."""

    def __init__(self, spec, sandbox):
        self.spec = spec
        self.sandbox = sandbox
        self.seen = set()

    def __call__(self, api, method, url_path, body=None, status=None):
        code, payload = self.sandbox.call(api, method, url_path, body)
        if status is not None:
            assert code == status, (method, url_path, code, payload)
        path = urlsplit(url_path).path
        template, operation = _operation(self.spec, method, path)
        responses = operation["responses"]
        assert str(code) in responses, f"{method} {template} answered {code}, which the document does not list"
        response = responses[str(code)]
        if "$ref" in response:
            response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        schema = response["content"]["application/json"]["schema"]
        resolver_schema = dict(schema, components=self.spec["components"])
        jsonschema.validate(payload, resolver_schema, cls=jsonschema.Draft202012Validator)
        self.seen.add((method, template))
        return payload


def test_openapi_document_is_valid(spec):
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/health/slo", "/api/v1/evaluation/promote/{experiment_id}", "/api/v1/quarantine/statistics"} <= set(spec["paths"])


def test_runbook_flow_matches_the_contract(spec, platform_sandbox):
    check = Checker(spec, platform_sandbox)
    sandbox = platform_sandbox
    sandbox.set_outcome("Test new prompt v3", run_polls=2, accuracy=0.97, error_rate=0.004, latency_p95_ms=1200)
    sandbox.set_outcome("Weak prompt", run_polls=1, accuracy=0.92)
    sandbox.add_traffic(from_minutes_ago=120, requests_per_minute=50, error_ratio=0.001)

    for api in ("v1", "v2", "v3"):
        check(api, "GET", "/api/v1/health/status", status=200)
    created = check("v1", "POST", "/api/v1/experiments/create", {
        "name": "Test new prompt v3", "description": "Improved prompt with examples", "primary_model": "gpt-4",
        "secondary_model": "claude-3-opus-20240229", "prompt_template": "Review this code...",
        "routing_strategy": "primary", "tags": ["prompt-v3", "gpt-4"]}, status=201)
    exp_id = created["id"]
    check("v1", "POST", "/api/v1/experiments/create", {"name": "Test new prompt v3", "primary_model": "gpt-4",
                                                       "prompt_template": "x"}, status=409)
    check("v1", "POST", "/api/v1/experiments/create", {"name": "no model"}, status=400)
    check("v1", "GET", "/api/v1/experiments?name=Test%20new%20prompt%20v3", status=200)
    check("v1", "POST", f"/api/v1/experiments/run/{exp_id}", {"code_samples": ["def test(): pass"], "language": "python"},
          status=202)
    check("v1", "POST", f"/api/v1/experiments/run/{exp_id}", {"code_samples": ["x"]}, status=409)
    assert check("v1", "GET", f"/api/v1/experiments/{exp_id}", status=200)["status"] == "running"
    assert check("v1", "GET", f"/api/v1/experiments/{exp_id}", status=200)["status"] == "completed"
    assert check("v1", "GET", f"/api/v1/evaluation/{exp_id}", status=200)["eligible"] is True
    promoted = check("v1", "POST", f"/api/v1/evaluation/promote/{exp_id}", status=201)
    assert promoted["promotion"]["forced"] is False
    assert check("v1", "POST", f"/api/v1/evaluation/promote/{exp_id}", status=200)["already_promoted"] is True
    check("v1", "POST", f"/api/v1/evaluation/quarantine/{exp_id}", {"reason": "late"}, status=409)

    weak = check("v1", "POST", "/api/v1/experiments/create", {"name": "Weak prompt", "primary_model": "gpt-4",
                                                              "prompt_template": "Review"}, status=201)["id"]
    check("v1", "POST", f"/api/v1/evaluation/promote/{weak}", status=422)  # no completed run
    check("v1", "POST", f"/api/v1/experiments/run/{weak}", {"code_samples": ["a", "b"]}, status=202)
    check("v1", "GET", f"/api/v1/experiments/{weak}", status=200)
    rejected = check("v1", "POST", f"/api/v1/evaluation/promote/{weak}", status=422)
    assert rejected["error"]["code"] == "promotion_rejected"
    record = check("v1", "POST", f"/api/v1/evaluation/quarantine/{weak}", {
        "reason": "Accuracy below threshold (0.92 < 0.95)",
        "impact_analysis": {"affected_models": ["gpt-4"], "recommendation": "Adjust prompt template"}}, status=201)["record"]
    check("v1", "POST", f"/api/v1/evaluation/quarantine/{weak}", {"reason": "again"}, status=200)
    check("v1", "POST", f"/api/v1/evaluation/promote/{weak}?force=true", status=409)

    check("v1", "GET", "/api/v1/experiments/not-an-id", status=400)
    check("v1", "GET", "/api/v1/experiments/exp-0123456789ab", status=404)
    check("v1", "GET", f"/api/v1/audit/events?experiment_id={exp_id}", status=200)
    check("v3", "GET", "/api/v1/quarantine/records", status=200)
    check("v3", "GET", f"/api/v1/quarantine/records/{record['id']}", status=200)
    check("v3", "GET", "/api/v1/quarantine/records/qr-0123456789ab", status=404)
    stats = check("v3", "GET", "/api/v1/quarantine/statistics", status=200)
    assert stats["by_reason"] == [{"reason": "accuracy below threshold", "count": 1}]
    check("v2", "GET", "/api/v1/health/slo", status=200)
    check("v2", "GET", "/api/v1/health/slo?windows=5m,bogus", status=400)
    check("v2", "GET", "/api/v1/metrics/slo-compliance", status=200)
    check("v2", "GET", "/api/v1/metrics/models", status=200)
    deployments = check("v2", "GET", "/api/v1/deployments", status=200)
    assert deployments["active"]["experiment_id"] == exp_id
    for api in ("v1", "v2", "v3"):
        check(api, "GET", "/health/live", status=200)
        check(api, "GET", "/health/ready", status=200)

    documented = {(m.upper(), t) for t, item in spec["paths"].items() for m in item if t != "/metrics"}
    assert documented - check.seen == set(), "operations the flow did not exercise"
