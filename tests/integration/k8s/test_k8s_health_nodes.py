"""k8s_health_info's nodes (H13), claims (H14) and logs (H7) sections against the real control plane.

Three nodes of the test's own join the cluster's kwok nodes: one whose kubelet reports NotReady, one
under memory and disk pressure (their status written by the test, which kwok then leaves alone), and
a small node whose pinned pods request 90 % of its CPU. A namespace holds a claim bound to a
pre-provisioned volume, one that cannot bind, a crash-looping Deployment whose current and previous
logs kwok serves (tests/harness/k8s_telemetry.py), and one whose logs nobody seeded. Every figure is
compared with what the API server itself returns. The test nodes are cordoned and tainted, so no
other test's pod lands on them.
"""

from __future__ import annotations

import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.harness.k8s_telemetry import cri_log, seed_logs  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

MODULE = "sre.runbooks.k8s_health_info"
TAINT = {"key": "test.sre.runbooks/health-nodes", "value": "only", "effect": "NoSchedule"}
GIB = 2 ** 30


def node(name, conditions, allocatable):
    """A node for the test; with ``conditions`` its status is the test's (kwok leaves it alone, tests/k8s/README.md),
    without, kwok plays its kubelet (Ready, heartbeats, pods run)."""
    metadata = {"name": name, "labels": {"test.sre.runbooks/health-nodes": "yes"}}
    if conditions:
        metadata["annotations"] = {"test.sre.runbooks/node-status": "manual"}
    status = {"allocatable": allocatable, "capacity": allocatable,
              "conditions": list(conditions)}
    return {"metadata": metadata, "spec": {"unschedulable": True, "taints": [TAINT]}, "status": status}


def condition(kind, status, reason, message):
    return {"type": kind, "status": status, "reason": reason, "message": message}


def pinned_pod(name, node_name, cpu):
    return {"metadata": {"name": name},
            "spec": {"nodeName": node_name, "tolerations": [dict(TAINT, operator="Equal")],
                     "containers": [{"name": "app", "image": "app:1",
                                     "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}}


def claim(name, volume=None, storage_class=""):
    spec = {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
            "resources": {"requests": {"storage": "1Gi"}}}
    if volume:
        spec["volumeName"] = volume
    return {"metadata": {"name": name}, "spec": spec}


# The crash-looping worker's logs: the running container's and the one before its last restart.
WORKER_LOG = [(7200, "INFO worker starting"), (600, "ERROR cannot reach the queue"), (60, "INFO retrying")]
WORKER_PREVIOUS = [(900, "INFO worker starting"), (880, "ERROR model store unavailable: AccessDenied"),
                   (879, "Traceback (most recent call last):"), (878, "error: exiting with status 1")]


@pytest.fixture(scope="module")
def scene(api, k8s_cluster):
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    suffix = uuid.uuid4().hex[:6]
    names = {"not_ready": f"hc-notready-{suffix}", "pressure": f"hc-pressure-{suffix}", "full": f"hc-full-{suffix}"}
    ns, volume = f"hc-sections-{suffix}", f"hc-pv-{suffix}"
    ok = condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")
    small = {"cpu": "1", "memory": "4Gi", "pods": "10"}
    core.create_namespace({"metadata": {"name": ns}})
    try:
        for key, body in (
                ("not_ready", node(names["not_ready"], [condition("Ready", "False", "KubeletNotReady",
                                                                  "container runtime network not ready")], small)),
                ("pressure", node(names["pressure"], [
                    ok, condition("MemoryPressure", "True", "KubeletHasMemoryPressure",
                                  "kubelet has insufficient memory available"),
                    condition("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure")], small)),
                ("full", node(names["full"], [], small))):
            created = core.create_node(body)
            if key != "full":  # the status subresource is the kubelet's to write: write it as one would
                core.patch_node_status(created.metadata.name, {"status": body["status"]})
        for i, cpu in enumerate(("400m", "300m", "200m")):
            core.create_namespaced_pod(ns, pinned_pod(f"pinned-{i}", names["full"], cpu))
        core.create_persistent_volume({"metadata": {"name": volume}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
            "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": f"/tmp/{volume}"},
            "claimRef": {"namespace": ns, "name": "data"}}})
        core.create_namespaced_persistent_volume_claim(ns, claim("data", volume=volume))
        core.create_namespaced_persistent_volume_claim(ns, claim("unbound", storage_class="no-such-class"))
        for name, image, replicas in (("worker", "worker:crashloop", 2), ("idle", "idle:1", 1)):
            labels = {"app": name}
            apps.create_namespaced_deployment(ns, {"metadata": {"name": name}, "spec": {
                "replicas": replicas, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}}})

        def settled():
            pods = core.list_namespaced_pod(ns).items
            pinned = [p for p in pods if p.metadata.name.startswith("pinned-")]
            workers = [p for p in pods if p.metadata.name.startswith("worker-")]
            restarted = [p for p in workers for s in p.status.container_statuses or [] if s.restart_count > 0]
            bound = core.read_namespaced_persistent_volume_claim("data", ns).status.phase == "Bound"
            ready = {n.metadata.name: next((c.status for c in n.status.conditions or [] if c.type == "Ready"), None)
                     for n in core.list_node(label_selector="test.sre.runbooks/health-nodes=yes").items}
            return (len(pinned) == 3 and all(p.status.phase == "Running" for p in pinned) and len(restarted) == 2
                    and bound and ready == {names["not_ready"]: "False", names["pressure"]: "True", names["full"]: "True"})

        wait_until(settled, "the test nodes, pinned pods, crash-looping workers and bound claim")
        seed_logs(k8s_cluster, ns, "app=worker", cri_log(WORKER_LOG), cri_log(WORKER_PREVIOUS, stream="stderr"),
                  name=f"{ns}-worker")
        yield {"ns": ns, "names": names, "core": core}
    finally:
        k8s_cluster.kubectl("delete", "clusterlogs", f"{ns}-worker", "--ignore-not-found", check=False)
        core.delete_namespace(ns)
        core.delete_persistent_volume(volume)
        for name in names.values():
            core.delete_node(name)


def test_nodes_claims_and_logs_sections(scene):
    ns, names, core = scene["ns"], scene["names"], scene["core"]
    args = {"namespaces": [ns], "include": ["pods", "volumes", "nodes", "logs"],
            "thresholds": {"pending_seconds": 0}, "logs": {"previous": True}}
    check, real = run_module_batch(MODULE, [{"args": args, "check": True}, {"args": args}])
    assert not check.failed and not real.failed, real.output
    assert check["changed"] is False and real["changed"] is False
    assert check["nodes"]["nodes"] == real["nodes"]["nodes"]
    # (A Pending claim's message counts the seconds it waited: compare the rest.)
    assert ([(p["severity"], p["category"], p["name"], p["reason"]) for p in check["problems"]]
            == [(p["severity"], p["category"], p["name"], p["reason"]) for p in real["problems"]])

    # H13: every node the server lists, ours judged as their status says.
    rows = {row["name"]: row for row in real["nodes"]["nodes"]}
    assert sorted(rows) == sorted(n.metadata.name for n in core.list_node().items)
    assert real["nodes"]["available"] is True and real["nodes"]["requests_summed"] is True
    not_ready, pressure, full = rows[names["not_ready"]], rows[names["pressure"]], rows[names["full"]]
    assert (not_ready["ready"], not_ready["severity"], not_ready["problem"]) == (False, "critical", "NotReady")
    assert not_ready["message"].startswith("container runtime network not ready")
    assert pressure["pressure"] == ["MemoryPressure", "DiskPressure"]
    assert (pressure["severity"], pressure["problem"]) == ("warning", "MemoryPressure")
    on_full = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={names['full']}").items
    requested = sum(int(c.resources.requests["cpu"].rstrip("m")) for p in on_full for c in p.spec.containers)
    assert requested == 900 and full["cpu_requested_millicores"] == 900.0 and full["pods"] == len(on_full) == 3
    assert full["cpu_requested_percent"] == 90.0 and full["cpu_allocatable_millicores"] == 1000.0
    assert (full["severity"], full["problem"]) == ("warning", "RequestedOverThreshold")
    assert all(rows[name]["unschedulable"] for name in names.values())
    kwok_nodes = [row for name, row in rows.items() if name not in names.values()]
    assert kwok_nodes and all(row["ready"] and row["severity"] is None for row in kwok_nodes)
    node_problems = {(p["name"], p["reason"]) for p in real["problems"] if p["category"] == "node"}
    assert node_problems == {(names["not_ready"], "NotReady"), (names["pressure"], "MemoryPressure"),
                             (names["full"], "RequestedOverThreshold")}
    assert real["summary"]["nodes_not_ready"] == 1 and real["summary"]["nodes_with_pressure"] == 1

    # H14: the claims with the server's phase and capacity.
    claims = {row["name"]: row for row in real["namespaces"][ns]["volumes"]}
    server = {c.metadata.name: c for c in core.list_namespaced_persistent_volume_claim(ns).items}
    assert sorted(claims) == sorted(server) == ["data", "unbound"]
    assert claims["data"]["phase"] == server["data"].status.phase == "Bound"
    assert claims["data"]["capacity_bytes"] == GIB and claims["data"]["volume"] == server["data"].spec.volume_name
    assert claims["unbound"]["phase"] == server["unbound"].status.phase == "Pending"
    assert (claims["unbound"]["severity"], claims["unbound"]["problem"]) == ("warning", "Pending")

    # H7: both crash-looping worker pods' current and previous logs, read through pods/log at once (the
    # Deployment with a problem first); the idle Deployment's logs are not served, which is reported
    # with the API's reason, not as a failure.
    worker, idle = real["logs"]["deployments"]
    workers = sorted(p.metadata.name for p in core.list_namespaced_pod(ns).items if p.metadata.name.startswith("worker-"))
    assert (worker["namespace"], worker["name"], worker["pods"], worker["status"]) == (ns, "worker", workers, "read")
    assert worker["logs_read"] == 2 * len(workers) == 4
    assert (worker["lines"], worker["error_lines"]) == (3 * 2, 1 * 2)
    assert (worker["previous_lines"], worker["previous_error_lines"]) == (4 * 2, 2 * 2)
    assert worker["last_errors"][-2:] == [f"{workers[1]}/app (previous): ERROR model store unavailable: AccessDenied",
                                          f"{workers[1]}/app (previous): error: exiting with status 1"]
    assert (idle["name"], idle["status"], idle["logs_read"]) == ("idle", "unavailable", 0)
    assert idle["reason"].startswith('no logs found for container "app" in pod')
