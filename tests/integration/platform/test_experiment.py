"""The experiment module against the platform sandbox: create by name, run, wait; idempotent."""

from __future__ import annotations

import pytest

from tests.integration.module_batch import run_module_batch

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.experiment"
DEFINITION = {"name": "Test new prompt v3", "description": "Improved prompt with examples", "primary_model": "gpt-4",
              "secondary_model": "claude-3-opus-20240229", "prompt_template": "Review this code...",
              "routing_strategy": "primary", "tags": ["prompt-v3", "gpt-4"]}


def test_create_run_and_wait_is_idempotent(platform_sandbox):
    sandbox = platform_sandbox
    sandbox.set_outcome(DEFINITION["name"], run_polls=3, accuracy=0.96)
    args = dict(DEFINITION, state="completed", code_samples=["def test(): pass", "def f(): return 1"],
                iterations=60, poll_interval=0.05, **sandbox.module_args())
    check, real, again_check, again = run_module_batch(MODULE, [
        {"args": args, "check": True, "diff": True}, {"args": args}, {"args": args, "check": True}, {"args": args}])

    assert check.changed and check["created"] and check["run_started"], check.output
    assert check["experiment"] is None
    assert check["diff"]["before"]["status"] == "absent" and check["diff"]["after"]["status"] == "completed"

    assert real.changed and real["created"] and real["run_started"], real.output
    assert real["experiment"]["status"] == "completed"
    assert real["metrics"]["accuracy"] == 0.96 and real["metrics"]["sample_count"] == 120
    assert real["run"]["status"] == "completed"

    for result in (again_check, again):
        assert not result.changed and not result.failed
        assert not result["created"] and not result["run_started"]
        assert result["experiment"]["id"] == real["experiment"]["id"]

    # On the platform: one experiment, one run, created and run once.
    listed = sandbox.get("v1", "/api/v1/experiments")
    assert listed["total"] == 1 and listed["experiments"][0]["runs_count"] == 1
    actions = [e["action"] for e in sandbox.get("v1", "/api/v1/audit/events")["events"]]
    assert actions == ["run.completed", "experiment.run", "experiment.create"]


def test_differences_failures_and_timeouts(platform_sandbox):
    sandbox = platform_sandbox
    conn = sandbox.module_args()
    sandbox.set_outcome("flaky", run_polls=1, fail=True, error="provider timeout")
    sandbox.set_outcome("slow", run_polls=10 ** 6)
    present, changed_def, flaky, slow, incomplete = run_module_batch(MODULE, [
        {"args": dict(DEFINITION, **conn)},
        {"args": dict(DEFINITION, prompt_template="Another prompt", **conn)},
        {"args": {"name": "flaky", "primary_model": "gpt-4", "prompt_template": "x", "state": "completed",
                  "code_samples": ["a"], "poll_interval": 0.05, **conn}},
        {"args": {"name": "slow", "primary_model": "gpt-4", "prompt_template": "x", "state": "completed",
                  "code_samples": ["a"], "poll_interval": 0.05, "wait_timeout": 0.5, **conn}},
        {"args": {"name": "no model", **conn}},
    ])
    assert present.changed and present["created"] and not present["run_started"]
    assert present["experiment"]["status"] == "created"

    assert not changed_def.changed and changed_def["differences"] == ["prompt_template"]
    assert any("different prompt_template" in w for w in changed_def.get("warnings", []))

    assert flaky.failed and flaky.changed
    assert flaky["msg"].endswith("of experiment 'flaky' failed: provider timeout.")

    assert slow.failed
    assert slow["msg"].startswith("The run of experiment 'slow' (exp-") and slow["msg"].endswith("did not finish within 0.5s.")

    assert incomplete.failed and not incomplete.changed
    assert incomplete["msg"] == (f"Experiment 'no model' does not exist on the V1 experiments API at {sandbox.v1_url} "
                                 "and cannot be created without primary_model and prompt_template.")
    assert sandbox.get("v1", "/api/v1/experiments?name=no%20model")["total"] == 0
