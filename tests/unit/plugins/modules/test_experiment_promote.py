"""experiment_promote's and experiment's main() against an in-memory fake of the platform's V1 API."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._platform import client as platform
from ansible_collections.sre.runbooks.plugins.module_utils._platform import promote_args
from ansible_collections.sre.runbooks.plugins.module_utils._http.client import Response
from ansible_collections.sre.runbooks.plugins.modules import experiment, experiment_promote

from .utils import run_module

GOOD = {"accuracy": 0.97, "error_rate": 0.004, "latency_p95_ms": 1200, "sample_count": 400}
CONN = {"platform_v1_url": "http://v1:8002"}


class FakeV1:
    """Just enough of the V1 API (docs/platform-api.md) for the modules' control flow."""

    def __init__(self):
        self.experiments = {}
        self.calls = []
        self.promote_answer = None

    def add(self, name, status="completed", metrics=None):
        exp_id = f"exp-{len(self.experiments):012x}"
        self.experiments[exp_id] = {"id": exp_id, "name": name, "status": status, "primary_model": "gpt-4",
                                    "secondary_model": None, "prompt_template": "p", "routing_strategy": "primary",
                                    "tags": [], "metrics": metrics, "latest_run": None, "promotion": None,
                                    "quarantine": None}
        return exp_id

    def __call__(self, method, url, body=None, **kwargs):
        path = re.sub(r"^http://v1:8002", "", url)
        self.calls.append((method, path, body))
        status, payload = self.route(method, path, body)
        return Response(status, json.dumps(payload).encode(), {}, 0.0)

    def route(self, method, path, body):
        if method == "GET" and path.startswith("/api/v1/experiments?name="):
            name = path.split("=", 1)[1].replace("+", " ")
            return 200, {"experiments": [e for e in self.experiments.values() if e["name"] == name]}
        if method == "POST" and path == "/api/v1/experiments/create":
            exp_id = self.add(body["name"], status="created")
            return 201, self.experiments[exp_id]
        match = re.match(r"^/api/v1/(experiments/run|experiments|evaluation/promote|evaluation/quarantine)/([^/?]+)", path)
        exp = self.experiments.get(match.group(2)) if match else None
        if match and exp is None:
            return 404, {"error": {"code": "not_found", "message": "no"}}
        if method == "GET" and match.group(1) == "experiments":
            return 200, exp
        if method == "POST" and match.group(1) == "experiments/run":
            exp.update(status="completed", metrics=dict(GOOD), latest_run={"id": "run-1", "status": "completed"})
            return 202, {"id": "run-1", "status": "running"}
        if method == "POST" and match.group(1) == "evaluation/promote":
            if self.promote_answer:
                return self.promote_answer
            exp.update(status="promoted", promotion={"id": "prm-1", "forced": "force=true" in path})
            return 201, {"promotion": exp["promotion"], "experiment": exp, "already_promoted": False}
        if method == "POST" and match.group(1) == "evaluation/quarantine":
            exp.update(status="quarantined", quarantine={"id": "qr-1", "reason": body["reason"]})
            return 201, {"record": exp["quarantine"], "experiment": exp, "already_quarantined": False}
        return 500, {"error": {"code": "internal_error", "message": "unrouted"}}

    def posts(self):
        return [(m, p) for m, p, _body in self.calls if m == "POST"]


@pytest.fixture
def fake(monkeypatch):
    for name in ("PLATFORM_V1_URL", "PLATFORM_V2_URL", "PLATFORM_V3_URL", "PLATFORM_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    v1 = FakeV1()
    monkeypatch.setattr(platform, "exchange", v1)
    return v1


run = run_module


@pytest.mark.parametrize("check", [True, False])
def test_promote_when_gates_pass(fake, check):
    exp_id = fake.add("good", metrics=GOOD)
    result = run(experiment_promote, {"experiment_id": exp_id, **CONN}, check=check, diff=True)
    assert result["changed"] is True and result["decision"] == "promote" and result["promoted"] is True
    assert result["diff"]["after"]["status"] == "promoted"
    assert result["audit"]["check_mode"] is check
    assert fake.posts() == ([] if check else [("POST", f"/api/v1/evaluation/promote/{exp_id}")])
    assert result["msg"] == ("Experiment 'good' would be promoted to V2: all gates passed." if check
                             else "Experiment 'good' promoted to V2: all gates passed.")


def test_quarantine_when_a_gate_fails(fake):
    exp_id = fake.add("weak", metrics=dict(GOOD, accuracy=0.92))
    result = run(experiment_promote, {"experiment_name": "weak", "reason": "{failed_summary} [{experiment_id}]", **CONN})
    assert result["decision"] == "quarantine" and result["changed"]
    body = [b for m, p, b in fake.calls if p.startswith("/api/v1/evaluation/quarantine/")][0]
    assert body["reason"] == f"Accuracy below threshold (0.92 < 0.95) [{exp_id}]"
    assert body["impact_analysis"]["failed_gates"][0]["gate"] == "accuracy"
    assert result["audit"]["quarantine_id"] == "qr-1"


@pytest.mark.parametrize("status, decision", [("promoted", "already_promoted"), ("quarantined", "already_quarantined")])
def test_terminal_states_are_unchanged(fake, status, decision):
    exp_id = fake.add("done", status=status, metrics=GOOD)
    result = run(experiment_promote, {"experiment_id": exp_id, "force": True, **CONN})
    assert result["changed"] is False and result["decision"] == decision
    assert fake.posts() == []


def test_forced_promotion_sends_force(fake):
    exp_id = fake.add("weak", metrics=dict(GOOD, accuracy=0.5))
    result = run(experiment_promote, {"experiment_id": exp_id, "force": True, **CONN})
    assert result["forced"] is True and result["audit"]["forced"] is True
    assert fake.posts() == [("POST", f"/api/v1/evaluation/promote/{exp_id}?force=true")]


def test_platform_refusal_fails_without_claiming_a_change(fake):
    exp_id = fake.add("good", metrics=GOOD)
    fake.promote_answer = (422, {"error": {"code": "promotion_rejected", "message": "tokens_per_request too high."}})
    result = run(experiment_promote, {"experiment_id": exp_id, **CONN})
    assert result["failed"] and result["changed"] is False and result["promoted"] is False
    assert result["msg"] == (f"The platform refused to promote experiment 'good' ({exp_id}) although the gates passed: "
                             "tokens_per_request too high.")


@pytest.mark.parametrize("args, message", [
    ({"experiment_id": "exp-000000000000", "state": "quarantined", "force": True},
     "force applies to promotions; it cannot be combined with state=quarantined."),
    ({"experiment_id": "exp-000000000000", "min_samples": -1}, "min_samples cannot be negative."),
    ({"experiment_id": "exp-000000000000", "gates": [{"metric": "accuracy", "min": 0.9, "max": 0.8}]},
     "Gate on 'accuracy': min 0.9 is above max 0.8."),
    ({"experiment_id": "exp-000000000000", "reason": "{who}", "gates": [{"metric": "accuracy", "min": 0.99}]},
     "The reason template names an unknown field {who}; use one of "),
    ({"experiment_id": "exp-000000000000", "experiment_name": "x"},
     "parameters are mutually exclusive: experiment_id|experiment_name"),
    ({}, "one of the following is required: experiment_id, experiment_name"),
])
def test_bad_input_is_one_sentence(fake, args, message):
    fake.add("x", metrics=GOOD)
    result = run(experiment_promote, {**args, **CONN})
    assert result["failed"] and result["msg"].startswith(message)
    assert fake.posts() == []


def test_token_is_not_logged():
    assert promote_args.argument_spec()["platform_token"]["no_log"] is True


# ---------------------------------------------------------------------------- experiment
DEFINITION = {"name": "new", "primary_model": "gpt-4", "prompt_template": "p", "state": "completed",
              "code_samples": ["a"], "poll_interval": 0.01, **CONN}


@pytest.mark.parametrize("check", [True, False])
def test_experiment_create_and_run(fake, check):
    result = run(experiment, DEFINITION, check=check)
    assert result["changed"] and result["created"] and result["run_started"]
    if check:
        assert fake.posts() == [] and result["experiment"] is None
    else:
        assert [p for _method, p in fake.posts()][0] == "/api/v1/experiments/create"
        assert result["experiment"]["status"] == "completed" and result["metrics"] == GOOD


@pytest.mark.parametrize("status, runs", [("completed", False), ("promoted", False), ("quarantined", False),
                                          ("failed", True), ("created", True)])
def test_experiment_runs_only_when_needed(fake, status, runs):
    fake.add("new", status=status, metrics=GOOD if status != "created" else None)
    result = run(experiment, DEFINITION)
    assert result["run_started"] is runs and result["changed"] is runs and not result["created"]


def test_experiment_reports_differences(fake):
    fake.add("new", metrics=GOOD)
    result = run(experiment, dict(DEFINITION, prompt_template="other", tags=["x"]))
    assert result["changed"] is False and result["differences"] == ["prompt_template", "tags"]


def test_experiment_wait_times_out():
    clock = iter([0.0, 0.0, 1.0, 2.0, 3.0])
    client = type("C", (), {})()
    running = {"id": "exp-1", "name": "n", "status": "running"}
    import ansible_collections.sre.runbooks.plugins.module_utils._platform.experiment_runner as module
    original = module.get_experiment
    module.get_experiment = lambda c, i: running
    try:
        with pytest.raises(platform.PlatformError, match=r"did not finish within 2s\."):
            module.wait_for_run(client, running, 2, 1, clock=lambda: next(clock), sleep=lambda s: None)
    finally:
        module.get_experiment = original
