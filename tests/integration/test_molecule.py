"""Run every molecule scenario (syntax, converge, idempotence, verify, cleanup) as a test.

Scenarios live in molecule/<name>/; each runs on the controller against the real local
services (and the Kubernetes control plane for the scenarios that need it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.services import service_env
from tests.integration.capacity.history import scenario_history

ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;;[^\x1b]*\x1b\\")
REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))
# Scenarios that drive the Kubernetes API as well as the data services.
NEEDS_K8S = {"k8s_jobs", "health_check", "weekly_maintenance", "rollout", "blue_green", "capacity", "secret_rotation",
             "security_checks", "run_lock", "emergency_recovery", "config_restore", "node_maintenance",
             "alert_response", "config_backup", "maintenance_window"}
# Scenarios that read Prometheus history: () -> (OpenMetrics, extra environment); each gets a
# Prometheus of its own that starts on that history (PROMETHEUS_URL points at it).
PROMETHEUS_HISTORY = {"capacity": scenario_history}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, services, request, tmp_path):
    env = dict(os.environ, **service_env(services))
    # Molecule's working files in the test's own folder, not a molecule.* folder in ~/.ansible/tmp that
    # outlives every run.
    env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(tmp_path / "molecule")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".collections")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["NO_COLOR"] = "1"
    if scenario in NEEDS_K8S:
        cluster = request.getfixturevalue("k8s_cluster")
        env["K8S_AUTH_KUBECONFIG"] = env["KUBECONFIG"] = str(cluster["kubeconfig"])
    if scenario in PROMETHEUS_HISTORY:
        history, extra = PROMETHEUS_HISTORY[scenario]()
        env.update(extra, PROMETHEUS_URL=request.getfixturevalue("private_prometheus")(history)["url"])
    result = subprocess.run([sys.executable, "-m", "molecule", "test", "-s", scenario],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"molecule scenario {scenario} failed:\n{output[-8000:]}"
    # converge, idempotence and verify must each have run and passed, not been skipped
    # for a missing playbook.
    plain = ANSI.sub("", output)
    for step in ("converge", "idempotence", "verify"):
        assert re.search(rf"{scenario}\W+{step}: Executed: Successful", plain), f"{step} did not run:\n{plain[-4000:]}"
