"""The demo environment the release and AWX tests run every playbook against.

Private services seeded by tests/harness/demo_data.py (PostgreSQL, Redis, S3, Prometheus), the demo's
namespaces on the session's cluster with the objects the playbooks act on besides the demo's own, and
the platform sandbox with a completed experiment. Used by test_lowest_core_smoke.py and
tests/integration/awx/test_awx_runner.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from tests.harness import demo_data
from tests.harness import services as harness

NAMESPACES = ("platform-v2-stable", "platform-v1-exp", "platform-v3-quarantine", "microservices",
              "data-services", "production", "ai-pipeline")
# The objects the matrix's playbooks act on besides the demo's own.
EXTRA_OBJECTS = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "smoke-app-config", "namespace": "platform-v2-stable"},
     "data": {"WORKERS": "2"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ai-config", "namespace": "platform-v2-stable"},
     "data": {"AI_PROVIDER": "openai"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "smoke-db", "namespace": "platform-v2-stable"},
     "stringData": {"password": "smoke-initial-password"}},
    # blue_green.yml's active Service and its blue slot (the green one is what the playbook would create).
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "platform-v2-api", "namespace": "platform-v2-stable"},
     "spec": {"selector": {"app": "platform-v2-api", "version": "blue"}, "ports": [{"port": 80, "targetPort": 8000}]}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "platform-v2-api-blue", "namespace": "platform-v2-stable"},
     "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "platform-v2-api", "version": "blue"}},
              "template": {"metadata": {"labels": {"app": "platform-v2-api", "version": "blue"}},
                           "spec": {"containers": [{"name": "app", "image": "registry.example.com/platform-api:2.4.0"}]}}}},
]
# The experiment promote_experiment.yml and quarantine_experiment.yml act on, completed in the sandbox.
EXPERIMENT = "Smoke test experiment"


def kubectl(cluster, *args, stdin=None):
    return cluster.kubectl(*args, input=stdin).stdout


@contextlib.contextmanager
def demo_environment(k8s_cluster):
    """Yield {"env": the services', sandbox's and cluster's environment, "state": the services, "sandbox": ...}."""
    run_dir = Path(tempfile.mkdtemp(prefix="sre-smoke-services-"))
    os.chmod(run_dir, 0o755)  # PostgreSQL runs as 'postgres'
    sandbox = None
    try:
        state = harness.up(run_dir)
        demo_data.main(["demo_data", str(run_dir)])  # PostgreSQL, Redis, S3, Prometheus
        demo_data.seed_k8s(k8s_cluster.kubectl_path, str(k8s_cluster.kubeconfig))
        kubectl(k8s_cluster, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                  "items": EXTRA_OBJECTS}))
        # A second revision, so rollback.yml has one to go back to.
        kubectl(k8s_cluster, "-n", "platform-v2-stable", "patch", "deployment", "platform-v2-api", "--type=merge",
                "-p", json.dumps({"spec": {"template": {"metadata": {"annotations": {"smoke/revision": "2"}}}}}))
        kubectl(k8s_cluster, "-n", "platform-v2-stable", "rollout", "status", "deployment/platform-v2-api",
                "--timeout=120s")
        from tests.platform_sandbox.control import start_sandbox  # pylint: disable=import-outside-toplevel
        sandbox = start_sandbox(run_dir / "sandbox", run_seconds=1.0)
        sandbox.set_outcome(EXPERIMENT, run_polls=1)
        created = sandbox.call("v1", "POST", "/api/v1/experiments/create", {
            "name": EXPERIMENT, "primary_model": "gpt-4", "prompt_template": "Review this code..."}, expect=201)[1]
        sandbox.call("v1", "POST", f"/api/v1/experiments/run/{created['id']}", {"code_samples": ["def f(): pass"]},
                     expect=202)
        env = dict(harness.service_env(state), **sandbox.env(),
                   KUBECONFIG=str(k8s_cluster.kubeconfig), K8S_AUTH_KUBECONFIG=str(k8s_cluster.kubeconfig),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        yield {"env": env, "state": state, "sandbox": sandbox, "cluster": k8s_cluster}
    finally:
        if sandbox is not None:
            from tests.platform_sandbox.control import stop_sandbox  # pylint: disable=import-outside-toplevel
            stop_sandbox(sandbox)
        for namespace in NAMESPACES:
            k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
        k8s_cluster.kubectl("delete", "pv", "demo-postgres-data", "--wait=false", "--ignore-not-found", check=False)
        harness.down(run_dir)
