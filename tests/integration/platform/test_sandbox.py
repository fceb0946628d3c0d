"""The reference platform sandbox itself: persistence, auth, promotion rules, metrics, test controls."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.platform_sandbox import start_sandbox, stop_sandbox

EXPERIMENT = {"name": "exp", "primary_model": "gpt-4", "prompt_template": "Review this code..."}


def _create_and_complete(sandbox, name="exp", **metrics):
    """An experiment whose run completed with passing metrics, overridden by ``metrics``."""
    sandbox.set_outcome(name, run_polls=1, **dict({"accuracy": 0.97, "error_rate": 0.001, "latency_p95_ms": 900}, **metrics))
    exp = sandbox.call("v1", "POST", "/api/v1/experiments/create", dict(EXPERIMENT, name=name), expect=201)[1]
    sandbox.call("v1", "POST", f"/api/v1/experiments/run/{exp['id']}", {"code_samples": ["a"]}, expect=202)
    assert sandbox.get("v1", f"/api/v1/experiments/{exp['id']}")["status"] == "completed"
    return exp["id"]


def test_state_survives_a_restart(tmp_path):
    first = start_sandbox(tmp_path, run_seconds=30)
    try:
        exp_id = _create_and_complete(first, accuracy=0.99)
        first.call("v1", "POST", f"/api/v1/evaluation/promote/{exp_id}", expect=201)
    finally:
        stop_sandbox(first)
    second = start_sandbox(tmp_path, run_seconds=30)
    try:
        assert second.get("v1", f"/api/v1/experiments/{exp_id}")["status"] == "promoted"
        assert second.get("v2", "/api/v1/deployments")["active"]["experiment_id"] == exp_id
        assert second.get("v2", "/api/v1/health/status")["active_deployment"]["experiment_id"] == exp_id
    finally:
        stop_sandbox(second)


def test_api_token_is_required_except_on_probes_and_metrics(tmp_path):
    sandbox = start_sandbox(tmp_path, token="s3cret")
    try:
        status, body = sandbox.call("v1", "GET", "/api/v1/experiments", token=False)
        assert status == 401 and body["error"]["code"] == "unauthorized"
        assert sandbox.call("v1", "GET", "/api/v1/experiments")[0] == 200
        assert sandbox.call("v2", "GET", "/health/ready", token=False)[0] == 200
        assert sandbox.call("v3", "GET", "/metrics", token=False)[0] == 200
    finally:
        stop_sandbox(sandbox)


@pytest.mark.parametrize("metrics, force, status, code", [
    ({"accuracy": 0.97}, False, 201, None),
    ({"accuracy": 0.92}, False, 422, "promotion_rejected"),
    ({"accuracy": 0.97, "sample_count": 10}, False, 422, "promotion_rejected"),
    ({"accuracy": 0.97, "latency_p95_ms": 2500}, False, 422, "promotion_rejected"),
    ({"accuracy": 0.92}, True, 201, None),
])
def test_server_side_promotion_rules(platform_sandbox, metrics, force, status, code):
    exp_id = _create_and_complete(platform_sandbox, **metrics)
    got, body = platform_sandbox.call("v1", "POST", f"/api/v1/evaluation/promote/{exp_id}" + ("?force=true" if force else ""))
    assert got == status, body
    if code:
        assert body["error"]["code"] == code
        assert body["error"]["details"]["evaluation"]["eligible"] is False
        assert platform_sandbox.get("v1", f"/api/v1/experiments/{exp_id}")["status"] == "completed"
    else:
        assert body["promotion"]["forced"] is force


def test_promotion_supersedes_the_previous_deployment(platform_sandbox):
    first = _create_and_complete(platform_sandbox, "first", accuracy=0.97, error_rate=0.0, latency_p95_ms=100)
    second = _create_and_complete(platform_sandbox, "second", accuracy=0.98, error_rate=0.0, latency_p95_ms=100)
    platform_sandbox.call("v1", "POST", f"/api/v1/evaluation/promote/{first}", expect=201)
    body = platform_sandbox.call("v1", "POST", f"/api/v1/evaluation/promote/{second}", expect=201)[1]
    assert body["promotion"]["previous_experiment_id"] == first
    deployments = platform_sandbox.get("v2", "/api/v1/deployments")
    assert [(d["experiment_id"], d["active"]) for d in deployments["deployments"]] == [(second, True), (first, False)]


def test_quarantine_cancels_a_running_run_and_counts_statistics(platform_sandbox):
    platform_sandbox.set_outcome("slow", run_polls=1000)
    exp = platform_sandbox.call("v1", "POST", "/api/v1/experiments/create", dict(EXPERIMENT, name="slow"), expect=201)[1]
    platform_sandbox.call("v1", "POST", f"/api/v1/experiments/run/{exp['id']}", {"code_samples": ["a"]}, expect=202)
    body = platform_sandbox.call("v1", "POST", f"/api/v1/evaluation/quarantine/{exp['id']}",
                                 {"reason": "Latency above threshold (2500 > 2000)"}, expect=201)[1]
    assert body["experiment"]["status"] == "quarantined"
    assert body["experiment"]["latest_run"]["status"] == "failed"
    assert body["experiment"]["latest_run"]["error"] == "cancelled by quarantine"
    stats = platform_sandbox.get("v3", "/api/v1/quarantine/statistics")
    assert stats["total_records"] == 1 and stats["last_24h"] == 1 and stats["by_model"] == {"gpt-4": 1}
    assert stats["by_reason"] == [{"reason": "latency above threshold", "count": 1}]


def test_failed_runs_and_reruns(platform_sandbox):
    platform_sandbox.set_outcome("flaky", run_polls=1, fail=True, error="provider timeout")
    exp = platform_sandbox.call("v1", "POST", "/api/v1/experiments/create", dict(EXPERIMENT, name="flaky"), expect=201)[1]
    platform_sandbox.call("v1", "POST", f"/api/v1/experiments/run/{exp['id']}", {"code_samples": ["a"]}, expect=202)
    failed = platform_sandbox.get("v1", f"/api/v1/experiments/{exp['id']}")
    assert failed["status"] == "failed" and failed["latest_run"]["error"] == "provider timeout"
    platform_sandbox.set_outcome("flaky", run_polls=1, accuracy=0.96)
    platform_sandbox.call("v1", "POST", f"/api/v1/experiments/run/{exp['id']}", {"code_samples": ["a", "b"]}, expect=202)
    done = platform_sandbox.get("v1", f"/api/v1/experiments/{exp['id']}")
    assert done["status"] == "completed" and done["runs_count"] == 2
    assert done["metrics"]["accuracy"] == 0.96 and done["metrics"]["sample_count"] == 200


def test_audit_log_records_request_ids_and_agents(platform_sandbox):
    exp_id = _create_and_complete(platform_sandbox, accuracy=0.97, error_rate=0.0, latency_p95_ms=10)
    events = platform_sandbox.get("v1", f"/api/v1/audit/events?experiment_id={exp_id}")["events"]
    assert [e["action"] for e in events] == ["run.completed", "experiment.run", "experiment.create"]


def test_metrics_exposition_has_counter_and_histogram_per_route_and_status(platform_sandbox):
    platform_sandbox.call("v1", "GET", "/api/v1/experiments/exp-0123456789ab")
    platform_sandbox.call("v1", "GET", "/api/v1/experiments/exp-0123456789ab")
    text = platform_sandbox.call("v1", "GET", "/metrics")[1]
    labels = 'api="v1",method="GET",route="/api/v1/experiments/{experiment_id}",code="404"'
    assert f"platform_http_requests_total{{{labels}}} 2" in text
    assert f'platform_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} 2' in text
    assert f"platform_http_request_duration_seconds_count{{{labels}}} 2" in text
    assert re.search(r'platform_experiments\{status="created"\} 0', text)
    assert "# TYPE platform_http_request_duration_seconds histogram" in text


def test_metrics_pass_promtool_and_scrape_targets_are_file_sd(platform_sandbox):
    platform_sandbox.call("v1", "GET", "/api/v1/experiments")
    for api in ("v1", "v2", "v3"):
        text = platform_sandbox.call(api, "GET", "/metrics")[1]
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    targets = platform_sandbox.scrape_targets()
    assert [t["labels"]["job"] for t in targets] == ["platform-v2-api", "platform-v1-api", "platform-v3-api"]
    assert targets[0]["targets"] == [platform_sandbox.v2_url.removeprefix("http://")]


def test_injected_faults_are_exact_and_clearable(platform_sandbox):
    platform_sandbox.inject_fault(api="v2", path="/api/v1/health/status", error_ratio=0.25, error_status=502)
    codes = [platform_sandbox.call("v2", "GET", "/api/v1/health/status")[0] for _attempt in range(8)]
    assert codes == [200, 200, 200, 502, 200, 200, 200, 502]
    platform_sandbox.clear_faults()
    assert platform_sandbox.call("v2", "GET", "/api/v1/health/status")[0] == 200


def test_unknown_paths_and_methods(platform_sandbox):
    assert platform_sandbox.call("v1", "GET", "/api/v1/nope")[0] == 404
    assert platform_sandbox.call("v1", "DELETE", "/api/v1/experiments/create")[0] == 405
    assert platform_sandbox.call("v3", "GET", "/api/v1/health/slo")[0] == 404  # V2 only
    status, body = platform_sandbox.call("v1", "GET", "/api/v1/quarantine/records")
    assert status == 404 and body["error"]["code"] == "not_found"
