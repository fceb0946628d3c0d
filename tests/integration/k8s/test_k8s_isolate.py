"""k8s_isolate (C7, playbooks/isolate.yml) against the real control plane.

A NodePort Service (one fixed nodePort, one allocated, externalTrafficPolicy Local) and a Deployment of
3 replicas. Each isolation runs without confirmation (refused, nothing changed), in check mode
(nothing changed), for real, again (no change), then restored: the Service's whole spec and the
Deployment's replicas must be exactly what they were, and the deny-all policy gone.
"""

from __future__ import annotations

import os
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_isolate"
FIXED_PORT = 30000 + uuid.uuid4().int % 2700


@pytest.fixture(scope="module")
def ns(k8s_cluster, core, apps):
    name = f"c7-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    labels = {"app": "api"}
    apps.create_namespaced_deployment(name, {"metadata": {"name": "api"}, "spec": {
        "replicas": 3, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "api", "image": "api:1"}]}}}})
    core.create_namespaced_service(name, {"metadata": {"name": "api-public"}, "spec": {
        "type": "NodePort", "externalTrafficPolicy": "Local", "selector": labels,
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": FIXED_PORT},
                  {"name": "https", "port": 443, "targetPort": 8443}]}})
    wait_until(lambda: (apps.read_namespaced_deployment("api", name).status.available_replicas or 0) == 3, "api up")
    yield name
    core.delete_namespace(name)


def spec_of(core, ns):
    return core.read_namespaced_service("api-public", ns).to_dict()["spec"]


def test_each_isolation_is_confirmed_checked_idempotent_and_undone_exactly(ns, core, apps, api):
    before = spec_of(core, ns)
    base = {"namespace": ns, "confirm": f"{ns}/api-public", "name": "api-public", "mode": "service", "reason": "INC-1"}
    unconfirmed, checked, isolated, again = run_module_batch(MODULE, [
        {"args": dict(base, confirm="yes")}, {"args": base, "check": True, "diff": True}, {"args": base}, {"args": base}])
    assert unconfirmed.failed and unconfirmed["msg"].startswith(f"Isolation changes {ns}/api-public: confirm it with")
    assert checked.changed and checked["diff"]["after"]["type"] == "ClusterIP"
    assert isolated.changed and not again.changed, (isolated.get("msg"), again.get("msg"))
    spec = spec_of(core, ns)
    assert spec["type"] == "ClusterIP" and all(port["node_port"] is None for port in spec["ports"])
    assert spec["cluster_ip"] == before["cluster_ip"]

    restored, restored_again = run_module_batch(MODULE, [{"args": dict(base, state="restored")},
                                                         {"args": dict(base, state="restored")}])
    assert restored.changed and not restored_again.changed, restored.get("msg")
    assert spec_of(core, ns) == before
    annotations = core.read_namespaced_service("api-public", ns).metadata.annotations or {}
    assert "sre.runbooks/isolated" not in annotations

    workload = {"namespace": ns, "confirm": f"{ns}/api", "name": "api"}
    scaled, policy, checked_restore = run_module_batch(MODULE, [
        {"args": dict(workload, mode="scale")}, {"args": dict(workload, mode="network")},
        {"args": dict(workload, mode="scale", state="restored"), "check": True}])
    assert scaled.changed and policy.changed and checked_restore.changed, (scaled.get("msg"), policy.get("msg"))
    assert apps.read_namespaced_deployment("api", ns).spec.replicas == 0
    deny = k8s.NetworkingV1Api(api).read_namespaced_network_policy("sre-runbooks-isolate-api", ns)
    assert deny.spec.pod_selector.match_labels == {"app": "api"}
    assert sorted(deny.spec.policy_types) == ["Egress", "Ingress"] and not deny.spec.ingress and not deny.spec.egress

    proc = run_playbook("playbooks/isolate.yml", {"isolate_namespace": ns, "isolate_name": "api", "isolate_mode": "scale",
                                                  "isolate_state": "restored", "isolate_confirm": f"{ns}/api"},
                        env={"K8S_AUTH_KUBECONFIG": os.environ["K8S_AUTH_KUBECONFIG"]})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    [unpolicy] = run_module_batch(MODULE, [{"args": dict(workload, mode="network", state="restored")}])
    assert unpolicy.changed
    assert apps.read_namespaced_deployment("api", ns).spec.replicas == 3
    assert not k8s.NetworkingV1Api(api).list_namespaced_network_policy(ns).items


def test_a_service_that_is_already_cluster_ip_or_missing_is_one_sentence(ns, core):
    internal_spec = {"selector": {"app": "api"}, "ports": [{"port": 80}]}
    core.create_namespaced_service(ns, {"metadata": {"name": "internal"}, "spec": internal_spec})
    internal, missing = run_module_batch(MODULE, [
        {"args": {"namespace": ns, "name": "internal", "mode": "service", "confirm": f"{ns}/internal"}},
        {"args": {"namespace": ns, "name": "ghost", "mode": "scale", "confirm": f"{ns}/ghost"}}])
    assert internal.failed and "is already ClusterIP" in internal["msg"]
    assert missing.failed and missing["msg"] == f"Deployment {ns}/ghost does not exist."
