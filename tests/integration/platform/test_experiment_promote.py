"""experiment_promote against the platform sandbox: real API calls, assertions on the platform's state.

Each scenario follows the house order where it changes something: check mode (nothing changes
on the platform), real run, check mode again and real run again (both report no change), then
the platform's own records are checked (experiment status, V2 deployment, V3 records, audit log).
"""

from __future__ import annotations

import socket

import pytest

from tests.integration.module_batch import run_module_batch

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.experiment_promote"
GOOD = {"accuracy": 0.97, "error_rate": 0.004, "latency_p95_ms": 1200, "sample_count": 400}
WEAK = {**GOOD, "accuracy": 0.92}


def _experiment(sandbox, name, **metrics):
    """A completed experiment with these metrics (through the API, as the runbook does)."""
    sandbox.set_outcome(name, run_polls=1, **metrics)
    exp = sandbox.call("v1", "POST", "/api/v1/experiments/create", {
        "name": name, "primary_model": "gpt-4", "secondary_model": "claude-3-opus-20240229",
        "prompt_template": "Review this code..."}, expect=201)[1]
    sandbox.call("v1", "POST", f"/api/v1/experiments/run/{exp['id']}", {"code_samples": ["def test(): pass"]}, expect=202)
    assert sandbox.get("v1", f"/api/v1/experiments/{exp['id']}")["status"] == "completed"
    return exp["id"]


def _actions(sandbox, exp_id, action):
    return list(sandbox.get("v1", f"/api/v1/audit/events?experiment_id={exp_id}&action={action}")["events"])


def test_passing_gates_promote_once(platform_sandbox):
    sandbox = platform_sandbox
    exp_id = _experiment(sandbox, "Test new prompt v3", **GOOD)
    args = {"experiment_id": exp_id, **sandbox.module_args()}

    check, real, again_check, again = run_module_batch(MODULE, [
        {"args": args, "check": True, "diff": True}, {"args": args}, {"args": args, "check": True}, {"args": args}])
    assert check.changed and not check.failed, check.output
    assert check["decision"] == "promote" and check["promoted"] is True
    assert check["diff"] == {"before": {"id": exp_id, "status": "completed"}, "after": {"id": exp_id, "status": "promoted"}}
    assert check["audit"]["check_mode"] is True and check["audit"]["promotion_id"] is None

    assert real.changed and real["decision"] == "promote", real.output
    assert [g["status"] for g in real["gates"]] == ["pass"] * 4
    assert real["forced"] is False and real["experiment"]["status"] == "promoted"
    audit = real["audit"]
    assert audit["status_before"] == "completed" and audit["status_after"] == "promoted"
    assert audit["promotion_id"] == real["promotion"]["id"]
    promote_call = [r for r in audit["requests"] if r["method"] == "POST"]
    assert [(r["path"], r["status"]) for r in promote_call] == [(f"/api/v1/evaluation/promote/{exp_id}", 201)]

    for result in (again_check, again):
        assert not result.changed and not result.failed
        assert result["decision"] == "already_promoted"

    # The platform's own state: promoted once, V2 serves it, the audit event carries our request id.
    assert sandbox.get("v1", f"/api/v1/experiments/{exp_id}")["status"] == "promoted"
    assert sandbox.get("v2", "/api/v1/deployments")["active"]["experiment_id"] == exp_id
    events = _actions(sandbox, exp_id, "experiment.promote")
    assert len(events) == 1
    assert events[0]["request_id"] == promote_call[0]["request_id"]
    assert events[0]["user_agent"] == "sre.runbooks/experiment_promote"


def test_failing_gates_quarantine_with_reason_and_snapshot(platform_sandbox):
    sandbox = platform_sandbox
    exp_id = _experiment(sandbox, "Weak prompt", **WEAK)
    args = {"experiment_name": "Weak prompt", "impact_analysis": {"owner": "ml-platform"}, **sandbox.module_args()}

    check, real, again = run_module_batch(MODULE, [{"args": args, "check": True}, {"args": args}, {"args": args}])
    assert check.changed and check["decision"] == "quarantine" and check["reason"] == "Accuracy below threshold (0.92 < 0.95)"
    assert check["audit"]["quarantine_id"] is None
    assert real.changed and real["decision"] == "quarantine" and real["quarantined"] is True, real.output
    assert real["failed_gates"] == ["accuracy"]
    assert not again.changed and again["decision"] == "already_quarantined"

    records = sandbox.get("v3", f"/api/v1/quarantine/records?experiment_id={exp_id}")["records"]
    assert len(records) == 1
    record = records[0]
    assert record["reason"] == "Accuracy below threshold (0.92 < 0.95)"
    assert record["metrics_snapshot"]["accuracy"] == 0.92
    impact = record["impact_analysis"]
    assert impact["affected_models"] == ["gpt-4", "claude-3-opus-20240229"]
    assert impact["failed_gates"][0]["gate"] == "accuracy" and impact["owner"] == "ml-platform"
    assert impact["recommendation"].startswith("Adjust the prompt template")
    assert real["audit"]["quarantine_id"] == record["id"]
    assert sandbox.get("v3", "/api/v1/quarantine/statistics")["total_records"] == 1


def test_failing_gates_without_quarantine_change_nothing(platform_sandbox):
    failing = _experiment(platform_sandbox, "Gate", **WEAK)
    rejected = _experiment(platform_sandbox, "Gate 2", **WEAK)
    conn = platform_sandbox.module_args()
    fail, reject = run_module_batch(MODULE, [{"args": {"experiment_id": failing, "on_fail": "fail", **conn}},
                                             {"args": {"experiment_id": rejected, "on_fail": "none", **conn}}])
    assert fail.failed and not fail.changed
    assert fail["msg"] == f"Not acting on experiment 'Gate' ({failing}): accuracy below threshold (0.92 < 0.95)."
    assert not reject.failed and not reject.changed and reject["decision"] == "reject"
    for exp_id in (failing, rejected):
        assert platform_sandbox.get("v1", f"/api/v1/experiments/{exp_id}")["status"] == "completed"
    assert platform_sandbox.get("v3", "/api/v1/quarantine/records")["total"] == 0


def test_forced_inconclusive_and_refused(platform_sandbox):
    """Force past failing gates; too few samples; looser client gates than the platform's criteria (its 422 wins)."""
    sandbox = platform_sandbox
    forced_id = _experiment(sandbox, "Forced", **WEAK)
    quiet_id = _experiment(sandbox, "Quiet", **{**GOOD, "sample_count": 40})
    slow_id = _experiment(sandbox, "Slow", **{**GOOD, "latency_p95_ms": 2600})
    conn = sandbox.module_args()
    quiet, slow, forced = run_module_batch(MODULE, [
        {"args": {"experiment_id": quiet_id, **conn}},
        {"args": {"experiment_id": slow_id, "gates": [{"metric": "accuracy", "min": 0.9}], **conn}},
        {"args": {"experiment_id": forced_id, "force": True, **conn}}])

    assert quiet.failed and not quiet.changed
    assert quiet["decision"] == "inconclusive" and quiet["evaluation"] == "inconclusive"
    assert "only 40 samples, fewer than the 100 needed" in quiet["msg"]

    assert slow.failed and not slow.changed
    assert slow["msg"].startswith(f"The platform refused to promote experiment 'Slow' ({slow_id}) although the gates passed: ")
    assert "latency_p95_ms 2600" in slow["msg"]
    for exp_id in (quiet_id, slow_id):
        assert sandbox.get("v1", f"/api/v1/experiments/{exp_id}")["status"] == "completed"
    assert sandbox.get("v3", "/api/v1/quarantine/records")["total"] == 0

    # Runs after the refusal: the platform's active deployment is the forced one.
    assert forced.changed and forced["decision"] == "promote" and forced["forced"] is True, forced.output
    assert forced["failed_gates"] == ["accuracy"] and "despite" in forced["audit"]["why"]
    deployment = sandbox.get("v2", "/api/v1/deployments")["active"]
    assert deployment["experiment_id"] == forced_id and deployment["forced"] is True


def test_manual_quarantine_and_promoted_conflict(platform_sandbox):
    exp_id = _experiment(platform_sandbox, "Manual", **GOOD)
    promoted = _experiment(platform_sandbox, "Live", **GOOD)
    platform_sandbox.call("v1", "POST", f"/api/v1/evaluation/promote/{promoted}", expect=201)
    conn = platform_sandbox.module_args()
    result, conflict = run_module_batch(MODULE, [
        {"args": {"experiment_id": exp_id, "state": "quarantined", "reason": "Prompt leaks customer data ({experiment_name})",
                  **conn}},
        {"args": {"experiment_id": promoted, "state": "quarantined", **conn}}])
    assert result.changed and result["decision"] == "quarantine", result.output
    record = platform_sandbox.get("v3", f"/api/v1/quarantine/records?experiment_id={exp_id}")["records"][0]
    assert record["reason"] == "Prompt leaks customer data (Manual)"
    assert conflict.failed and not conflict.changed
    assert conflict["msg"] == (f"Not acting on experiment 'Live' ({promoted}): it is promoted to V2; "
                               "roll V2 back before quarantining it.")
    assert platform_sandbox.get("v1", f"/api/v1/experiments/{promoted}")["status"] == "promoted"


BAD_IDS = [
    ({"experiment_id": "42"}, "'42' is not a valid experiment id for the V1 experiments API at {v1} "
                              "(ids look like exp-0123456789ab)."),
    ({"experiment_id": "exp-0123456789ab"}, "Experiment 'exp-0123456789ab' does not exist on the V1 experiments API at {v1}."),
    ({"experiment_name": "nope"}, "No experiment named 'nope' exists on the V1 experiments API at {v1}."),
    ({"experiment_id": "../../metrics"}, "'../../metrics' is not a valid experiment id for the V1 experiments API at {v1} "
                                         "(ids look like exp-0123456789ab)."),
]


def test_bad_ids_are_one_sentence(platform_sandbox):
    results = run_module_batch(MODULE, [{"args": {**args, **platform_sandbox.module_args()}} for args, _message in BAD_IDS])
    for result, (_args, message) in zip(results, BAD_IDS):
        assert result.failed and not result.changed
        assert result["msg"] == message.format(v1=platform_sandbox.v1_url)
        assert "Traceback" not in result.output


def test_sandbox_down_and_token_refused(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from tests.platform_sandbox import start_sandbox, stop_sandbox
    sandbox = start_sandbox(tmp_path, token="right-token")
    try:
        down, refused = run_module_batch(MODULE, [
            {"args": {"experiment_name": "x", "platform_v1_url": f"http://127.0.0.1:{port}"}},
            {"args": {"experiment_name": "x", "platform_v1_url": sandbox.v1_url, "platform_token": "wrong-token"}}])
    finally:
        stop_sandbox(sandbox)
    assert down.failed
    assert down["msg"] == f"Cannot reach the V1 experiments API at http://127.0.0.1:{port}: connection refused."
    assert refused.failed
    assert refused["msg"] == (f"The V1 experiments API at {sandbox.v1_url} answered HTTP 401 to GET /api/v1/experiments: "
                              "the API token was refused.")
    assert "wrong-token" not in refused.output
