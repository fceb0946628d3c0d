"""playbooks/promote_experiment.yml and quarantine_experiment.yml against the sandbox, with inventories/local.

Check mode first (the platform must not change), then the real run, then a second run that
must report no change; the platform's own records are the proof.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.ansible_run import run_playbook

pytestmark = pytest.mark.slow

EXPERIMENT = {
    "experiment_lifecycle_name": "Test new prompt v3",
    "experiment_lifecycle_description": "Improved prompt with examples",
    "experiment_lifecycle_primary_model": "gpt-4",
    "experiment_lifecycle_secondary_model": "claude-3-opus-20240229",
    "experiment_lifecycle_prompt_template": "Review this code...",
    "experiment_lifecycle_tags": ["prompt-v3", "gpt-4"],
    "experiment_lifecycle_code_samples": ["def test(): pass"],
    "experiment_lifecycle_poll_interval": 1,
}


def _playbook(name, extra, sandbox, tmp_path, check=False):
    env = dict(sandbox.env(), SRE_REPORT_DIR=str(tmp_path / "reports"))
    proc = run_playbook(f"playbooks/{name}", extra, check=check, diff=check, env=env)
    recap = re.search(r"platform-api\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert proc.returncode == 0 and recap, proc.stdout[-4000:] + proc.stderr[-2000:]
    return int(recap.group(2))


def test_promote_and_quarantine_playbooks(platform_sandbox, tmp_path):
    sandbox = platform_sandbox
    sandbox.set_outcome(EXPERIMENT["experiment_lifecycle_name"], run_polls=2, accuracy=0.97, error_rate=0.002,
                        latency_p95_ms=800)

    assert _playbook("promote_experiment.yml", EXPERIMENT, sandbox, tmp_path, check=True) > 0
    assert sandbox.get("v1", "/api/v1/experiments")["total"] == 0

    assert _playbook("promote_experiment.yml", EXPERIMENT, sandbox, tmp_path) > 0
    assert _playbook("promote_experiment.yml", EXPERIMENT, sandbox, tmp_path) == 0
    [experiment] = sandbox.get("v1", "/api/v1/experiments")["experiments"]
    assert experiment["status"] == "promoted"
    assert sandbox.get("v2", "/api/v1/health/status")["active_deployment"]["experiment_id"] == experiment["id"]
    audit = json.loads((tmp_path / "reports" / "experiment_lifecycle-Test_new_prompt_v3.json").read_text())
    assert audit["decision"] == "promote" and audit["promotion_id"] == experiment["promotion"]["id"]

    # The runbook's manual quarantine of another experiment (created through the API).
    sandbox.set_outcome("Old prompt", run_polls=1, accuracy=0.96)
    old = sandbox.call("v1", "POST", "/api/v1/experiments/create",
                       {"name": "Old prompt", "primary_model": "gpt-4", "prompt_template": "x"}, expect=201)[1]
    quarantine = {"experiment_lifecycle_name": "Old prompt",
                  "experiment_lifecycle_reason": "Accuracy below threshold (0.92 < 0.95)",
                  "experiment_lifecycle_impact_analysis": {"recommendation": "Adjust prompt template"}}
    assert _playbook("quarantine_experiment.yml", quarantine, sandbox, tmp_path, check=True) > 0
    assert sandbox.get("v3", "/api/v1/quarantine/records")["total"] == 0
    assert _playbook("quarantine_experiment.yml", quarantine, sandbox, tmp_path) > 0
    assert _playbook("quarantine_experiment.yml", quarantine, sandbox, tmp_path) == 0
    [record] = sandbox.get("v3", "/api/v1/quarantine/records")["records"]
    assert record["experiment_id"] == old["id"]
    assert record["reason"] == "Accuracy below threshold (0.92 < 0.95)"
    assert record["impact_analysis"]["recommendation"] == "Adjust prompt template"
