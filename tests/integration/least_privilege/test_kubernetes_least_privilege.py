"""k8s_health_info and k8s_rollout as the ServiceAccount of exactly docs/permissions/kubernetes.yaml:
a namespaced Role and RoleBinding instead of cluster-admin, on the local control plane.

The YAML is applied unchanged with ``kubectl apply -n``; the modules get a kubeconfig holding
only that ServiceAccount's token. What the Role allows works; what it leaves out (another
namespace, creating objects) is refused by the API server, in one sentence.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
import yaml

from tests.integration.least_privilege.grants import REPO
from tests.integration.module_batch import run_module_batch
from tests.integration.waiting import wait_until

RBAC = REPO / "docs" / "permissions" / "kubernetes.yaml"
HEALTH = "sre.runbooks.k8s_health_info"
ROLLOUT = "sre.runbooks.k8s_rollout"


@pytest.fixture
def namespaced_sa(k8s_cluster, tmp_path):
    """(namespace, path of a kubeconfig with only the ServiceAccount's token); a second namespace it may not touch."""
    ns, other = f"lp-{uuid.uuid4().hex[:6]}", f"lp-other-{uuid.uuid4().hex[:6]}"
    for name in (ns, other):
        k8s_cluster.kubectl("create", "namespace", name)
    try:
        k8s_cluster.kubectl("apply", "-n", ns, "-f", str(RBAC))
        for name in (ns, other):
            k8s_cluster.kubectl("create", "deployment", "web", "-n", name, "--image=web:1", "--replicas=2")
        token = k8s_cluster.kubectl("create", "token", "sre-runbooks", "-n", ns, "--duration", "15m").stdout.strip()
        admin = yaml.safe_load(open(k8s_cluster.kubeconfig, encoding="utf-8"))
        cluster = admin["clusters"][0]
        config = {"apiVersion": "v1", "kind": "Config", "clusters": [cluster],
                  "users": [{"name": "sre-runbooks", "user": {"token": token}}],
                  "contexts": [{"name": "sre-runbooks", "context": {"cluster": cluster["name"], "user": "sre-runbooks",
                                                                    "namespace": ns}}],
                  "current-context": "sre-runbooks"}
        path = tmp_path / "sre-runbooks.kubeconfig"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(config, handle)

        def ready(name):
            status = json.loads(k8s_cluster.kubectl("get", "deployment", "web", "-n", name, "-o", "json").stdout)["status"]
            return status.get("availableReplicas") == 2

        wait_until(lambda: ready(ns) and ready(other), "both web Deployments to be available", timeout=60)
        yield ns, other, str(path)
    finally:
        for name in (ns, other):
            k8s_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_health_check_and_rollouts_with_the_namespaced_role(k8s_cluster, namespaced_sa):
    ns, other, kubeconfig = namespaced_sa
    before = json.loads(k8s_cluster.kubectl("get", "deployment", "web", "-n", ns, "-o", "json").stdout)
    health, restart, history, elsewhere, outside = run_module_batch(HEALTH, [
        {"args": {"kubeconfig": kubeconfig, "namespaces": [ns]}},
    ]) + run_module_batch(ROLLOUT, [
        {"args": {"kubeconfig": kubeconfig, "namespace": ns, "action": "restart", "name": "web", "wait_timeout": 90}},
        {"args": {"kubeconfig": kubeconfig, "namespace": ns, "action": "history", "name": "web"}},
        {"args": {"kubeconfig": kubeconfig, "namespace": other, "action": "restart", "name": "web"}},
    ]) + run_module_batch(HEALTH, [{"args": {"kubeconfig": kubeconfig, "namespaces": [other]}}])

    for result in (health, restart, history):
        assert not result.failed and "Traceback" not in result.output, result.get("msg")
    assert health["summary"]["status"] == "ok" and health["summary"]["pods"] == 2
    assert [w["name"] for w in health["namespaces"][ns]["workloads"]] == ["web"]
    assert restart.changed

    # The server's view: the restart rolled a new template; the other namespace is untouched.
    after = json.loads(k8s_cluster.kubectl("get", "deployment", "web", "-n", ns, "-o", "json").stdout)
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    assert "kubectl.kubernetes.io/restartedAt" in json.dumps(after["spec"]["template"]["metadata"])
    untouched = json.loads(k8s_cluster.kubectl("get", "deployment", "web", "-n", other, "-o", "json").stdout)
    assert untouched["metadata"]["generation"] == 1

    # Outside the Role's namespace the API server refuses; the modules say so in one sentence.
    for result in (elsewhere, outside):
        assert result.failed and "Traceback" not in result.output, result
        assert "forbidden" in result["msg"].lower() and "\n" not in result["msg"], result["msg"]


def test_the_run_lock_and_the_diagnostics_bundle_with_the_namespaced_role(namespaced_sa, tmp_path):
    ns, other, kubeconfig = namespaced_sa
    lock = {"kubeconfig": kubeconfig, "namespace": ns, "name": "sre-runbooks-web", "holder": "least-privilege run"}
    taken, released, diagnosed, elsewhere = run_module_batch("sre.runbooks.k8s_lock", [
        {"args": lock}, {"args": dict(lock, state="released")},
    ]) + run_module_batch("sre.runbooks.k8s_diagnostics", [
        {"args": {"kubeconfig": kubeconfig, "namespace": ns, "dest": str(tmp_path)}},
        {"args": {"kubeconfig": kubeconfig, "namespace": other, "dest": str(tmp_path)}},
    ])
    assert taken["outcome"] == "create" and released["outcome"] == "delete", (taken.get("msg"), released.get("msg"))
    assert not diagnosed.failed, diagnosed.get("msg")
    assert diagnosed["counts"]["pods"] == 2 and diagnosed["counts"]["workloads"] == 1
    assert elsewhere.failed and "forbidden" in elsewhere["msg"].lower() and "\n" not in elsewhere["msg"]
