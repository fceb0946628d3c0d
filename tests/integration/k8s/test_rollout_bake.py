"""D6 bake in playbooks/rolling_update.yml: the SLO gate measured repeatedly against a real Prometheus.

The Prometheus is the module's own, backfilled with tests/integration/slo/bake_history.py: the gate
points at ``deploy="bad"`` (half of the requests fail) or at ``deploy="none"`` (no data). A failed
bake undoes to the revision live before the update; an inconclusive one stops the play and keeps
the new revision for a human, as Argo Rollouts pauses. The Deployment is read back from the server.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.slo.bake_history import gate, openmetrics  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

HOST = "platform-cluster"


@pytest.fixture(scope="module")
def prometheus_url(private_prometheus):
    now = int(time.time())
    return private_prometheus(openmetrics(now - 600, now + 900, now + 900))["url"]


@pytest.fixture(scope="module")
def ns(core, apps):
    name = f"bake-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    apps.create_namespaced_deployment(name, {
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}})
    wait_until(lambda: (apps.read_namespaced_deployment("web", name).status.available_replicas or 0) == 2,
               "web to be available")
    yield name
    core.delete_namespace(name)


def update(k8s_cluster, tmp_path, ns, image, deploy, url):
    env = {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig), "SRE_REPORT_DIR": str(tmp_path)}
    proc = run_playbook("playbooks/rolling_update.yml", {
        "rollout_deployment": "web", "rollout_namespace": ns, "rollout_images": {"app": image},
        "rollout_wait_timeout": 60, "rollout_predeploy_checks": [],  # (tested in test_deploy_guards.py)
        "rollout_slo_gate": gate(deploy, url), "rollout_bake": {"interval": "1s", "count": 3}}, env=env)
    report = json.loads((tmp_path / f"rollout-update-{HOST}.json").read_text())
    return proc.returncode, report, proc.stdout + proc.stderr


def image(apps, ns):
    return apps.read_namespaced_deployment("web", ns).spec.template.spec.containers[0].image


def test_a_breach_during_the_bake_rolls_back(apps, ns, k8s_cluster, tmp_path, prometheus_url):
    rc, report, output = update(k8s_cluster, tmp_path, ns, "web:2", "bad", prometheus_url)
    assert rc == 2, output[-4000:]
    analysis = report["slo_gate"]["analysis"]
    assert analysis["phase"] == "Failed" and [m["phase"] for m in analysis["measurements"]] == ["Failed"]
    assert report["rolled_back"] and report["rollback_reason"] == "slo_gate" and report["revision_rolled_out"] == 2
    assert report["message"].startswith(f"Bake analysis Failed for Deployment {ns}/web: 1 of 1 measurements failed")
    assert "SLO availability breached (availability: availability 50.0000 % < 99 % over 30s" in report["message"]
    assert "(breached))" in report["message"]
    wait_until(lambda: image(apps, ns) == "web:1", "the rollback to web:1", timeout=10)
    dep = apps.read_namespaced_deployment("web", ns)
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert (dep.status.available_replicas, dep.status.updated_replicas) == (2, 2)


def test_an_inconclusive_bake_stops_and_keeps_the_new_revision(apps, ns, k8s_cluster, tmp_path, prometheus_url):
    rc, report, output = update(k8s_cluster, tmp_path, ns, "web:3", "none", prometheus_url)
    assert rc == 2, output[-4000:]
    assert report["slo_gate"]["verdict"] == "Inconclusive" and report["stopped_by"] == "bake_inconclusive"
    assert not report["rolled_back"]
    assert report["message"].startswith(f"Bake analysis Inconclusive for Deployment {ns}/web: 1 of 1 measurements "
                                        "were inconclusive")
    assert "stays rolled out; decide by hand" in report["message"]
    assert image(apps, ns) == "web:3"
