"""The run lock (issue 13) in the playbooks that change a namespace or a node, against the real control plane.

Another run's live Lease is put on the namespace (``sre-runbooks-<namespace>``) and on a kwok node
(``kube-system/sre-runbooks-node-<node>``); then config_restore, drain_node, maintenance_window,
set_resources and run_jobs run against them, at the same time (one batch, so the test costs one
playbook's time). Each must fail naming the holder, change nothing (the node stays schedulable, no
Job, no maintenance flag ConfigMap) and leave the other run's Lease in place.
"""

from __future__ import annotations

import datetime
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.integration.ansible_run import run_playbook  # noqa: E402

pytestmark = pytest.mark.slow

HOLDER = "bob@ops run 42"
REFUSAL = f"is held by {HOLDER} since"


def hold(coordination, namespace, name):
    now = datetime.datetime.now(datetime.timezone.utc)
    coordination.create_namespaced_lease(namespace, {"metadata": {"name": name}, "spec": {
        "holderIdentity": HOLDER, "leaseDurationSeconds": 600, "acquireTime": now, "renewTime": now}})


def test_changing_playbooks_refuse_while_another_run_holds_the_lock(k8s_cluster, api, core, ns, tmp_path):
    coordination = k8s.CoordinationV1Api(api)
    node = sorted(n.metadata.name for n in core.list_node().items)[0]
    node_lease = f"sre-runbooks-node-{node}"
    hold(coordination, ns, f"sre-runbooks-{ns}")
    hold(coordination, "kube-system", node_lease)
    try:
        runs = {
            "config_restore": {"config_restore_src": str(tmp_path / "config.tar.gz"), "config_restore_namespaces": [ns],
                               "config_restore_report_dir": ""},
            "drain_node": {"node": node},
            "maintenance_window": {"maintenance_window_phase": "on", "maintenance_window_namespaces": [ns],
                                   "maintenance_window_name": "CHG-lock", "maintenance_window_report_dir": str(tmp_path)},
            "set_resources": {"capacity_namespaces": [ns], "capacity_workloads": ["api"],
                              "capacity_resources": {"app": {"requests": {"cpu": "100m"}}}},
            "run_jobs": {"k8s_jobs_list": [{"name": "scan", "image": "registry.example.com/scan:1", "namespace": ns}]},
        }
        env = {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig), "SRE_REPORT_DIR": str(tmp_path / "reports")}
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            procs = dict(zip(runs, pool.map(lambda item: run_playbook(f"playbooks/{item[0]}.yml", item[1], env=env),
                                            runs.items())))
        for playbook, proc in procs.items():
            output = proc.stdout + proc.stderr
            assert proc.returncode == 2, f"{playbook}: {output[-4000:]}"
            assert REFUSAL in output, f"{playbook}: {output[-4000:]}"

        assert not core.read_node(node).spec.unschedulable
        assert k8s.BatchV1Api(api).list_namespaced_job(ns).items == []
        assert core.list_namespaced_config_map(ns, field_selector="metadata.name!=kube-root-ca.crt").items == []
        assert coordination.read_namespaced_lease(f"sre-runbooks-{ns}", ns).spec.holder_identity == HOLDER
        assert coordination.read_namespaced_lease(node_lease, "kube-system").spec.holder_identity == HOLDER
    finally:
        coordination.delete_namespaced_lease(node_lease, "kube-system")
    # The refused runs leave no Lease of their own behind.
    assert [lease.metadata.name for lease in coordination.list_namespaced_lease(ns).items] == [f"sre-runbooks-{ns}"]


def test_maintenance_window_takes_and_gives_back_the_namespace_lock(k8s_cluster, api, ns, tmp_path):
    """Without another run the phase runs under its own lock, and gives it back at the end."""
    coordination = k8s.CoordinationV1Api(api)
    flag = f"maintenance-{uuid.uuid4().hex[:6]}"
    core = k8s.CoreV1Api(api)
    env = {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig), "SRE_REPORT_DIR": str(tmp_path / "reports")}
    proc = run_playbook("playbooks/maintenance_window.yml", {
        "maintenance_window_phase": "on", "maintenance_window_namespaces": [ns], "maintenance_window_name": "CHG-lock",
        "maintenance_window_report_dir": str(tmp_path), "maintenance_window_silence": False,
        "maintenance_window_configmap": flag}, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "Lock - take the lock of each namespace" in output, output[-4000:]
    assert core.read_namespaced_config_map(flag, ns).data["enabled"] == "true"
    assert coordination.list_namespaced_lease(ns).items == []
