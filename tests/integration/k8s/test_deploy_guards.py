"""D6 pre-deployment checks and D7 migrations against the real control plane.

One namespace for the module holds a Deployment per situation: ``ok`` (healthy), ``hpa-max`` (its
HPA at maxReplicas), ``no-room`` (5 replicas of 12 CPU on three 32-CPU kwok nodes: 2+2+1, so
one 12-CPU surge pod fits and not the two its 25 % maxSurge adds), ``pdb`` (a PDB allowing no
disruption, 4 replicas, so the update takes one down), ``paused`` and ``sick`` (a crash-looping
image). k8s_predeploy_info judges them in one batch; playbooks/rolling_update.yml then shows that
a failed check or a failed migration stops the update before the Deployment changes, and that
a migration Job succeeds before the image rolls out. The server is read back with the Python client.
"""

from __future__ import annotations

import json
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_predeploy_info"
HOST = "platform-cluster"
CHECKS = ["healthy", "no_rollout", "hpa", "capacity", "pdb"]


def deployment(name, replicas, image=None, cpu=None):
    container = {"name": "app", "image": image or f"{name}:1", "env": [{"name": "DB_HOST", "value": "db"}]}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


@pytest.fixture(scope="module")
def ns(core, apps, api):
    name = f"d6-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    for body in (deployment("ok", 2), deployment("hpa-max", 2), deployment("no-room", 5, cpu="12"),
                 deployment("pdb", 4), deployment("paused", 1),
                 deployment("sick", 1, image="sick:crashloop")):
        apps.create_namespaced_deployment(name, body)
    kubernetes.client.AutoscalingV2Api(api).create_namespaced_horizontal_pod_autoscaler(name, {
        "metadata": {"name": "hpa-max"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hpa-max"},
                 "minReplicas": 2, "maxReplicas": 2,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 80}}}]}})
    policy = kubernetes.client.PolicyV1Api(api)
    policy.create_namespaced_pod_disruption_budget(name, {
        "metadata": {"name": "pdb"}, "spec": {"minAvailable": 4, "selector": {"matchLabels": {"app": "pdb"}}}})
    for workload in ("ok", "hpa-max", "no-room", "pdb", "paused"):
        wait_until(lambda w=workload: available(apps, name, w), f"{name}/{workload} to be available")
    apps.patch_namespaced_deployment("paused", name, {"spec": {"paused": True}})
    wait_until(lambda: policy.read_namespaced_pod_disruption_budget("pdb", name).status.current_healthy == 4,
               "the disruption controller to count the pdb pods")
    yield name
    core.delete_namespace(name)


def available(apps, ns, name):
    dep = apps.read_namespaced_deployment(name, ns)
    return (dep.status.observed_generation == dep.metadata.generation
            and (dep.status.available_replicas or 0) == dep.spec.replicas == (dep.status.updated_replicas or 0))


def failed(result):
    return [c["name"] for c in result["checks"] if not c["passed"]]


def test_predeploy_checks_judge_each_situation(ns):
    names = ["ok", "hpa-max", "no-room", "pdb", "paused", "sick", "missing"]
    results = dict(zip(names, run_module_batch(MODULE, [
        {"args": {"namespace": ns, "name": name, "images": {"app": f"{name}:2"}}, "check": name == "ok"}
        for name in names])))
    for name in names[:-1]:
        assert not results[name].failed and not results[name].changed, results[name].output
        assert [c["name"] for c in results[name]["checks"]] == CHECKS
        assert results[name]["would_change"] is True
    ok = results["ok"]
    assert ok["passed"] and ok["failed_checks"] == [], ok["message"]
    assert ok["update_budget"] == {"strategy": "RollingUpdate", "replicas": 2, "surge": 1, "unavailable": 0}
    assert failed(results["hpa-max"]) == ["hpa"]
    assert "is at its maximum (2 of maxReplicas 2)" in results["hpa-max"]["message"]
    room = results["no-room"]
    assert failed(room) == ["capacity"], room["message"]
    capacity = room["checks"][3]
    assert capacity["surge_pods"] == 2 and capacity["pod_requests"]["cpu"] == 12
    # The verdict agrees with the free CPU the module read from the nodes.
    assert capacity["room_for"] == sum(int(n["free"]["cpu"] // 12) for n in capacity["nodes"] if not n["unschedulable"]) < 2
    assert failed(results["pdb"]) == ["pdb"]
    assert "PodDisruptionBudget pdb allows 0 disruption(s), the update takes 1 pod(s) down at once" in results["pdb"]["message"]
    assert failed(results["paused"]) == ["no_rollout"]
    assert "healthy" in failed(results["sick"]) and "CrashLoopBackOff" in results["sick"]["checks"][0]["message"]
    missing = results["missing"]
    assert missing.failed and missing["msg"] == f"Deployment {ns}/missing does not exist."


@pytest.fixture
def update(k8s_cluster, tmp_path):
    """update(**vars) -> (returncode, report, output) of playbooks/rolling_update.yml."""
    env = {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig), "SRE_REPORT_DIR": str(tmp_path)}

    def run(**play_vars):
        proc = run_playbook("playbooks/rolling_update.yml", {"rollout_wait_timeout": 60, **play_vars}, env=env)
        report = tmp_path / f"rollout-update-{HOST}.json"
        return proc.returncode, json.loads(report.read_text()) if report.exists() else None, proc.stdout + proc.stderr

    return run


def test_a_failed_precheck_stops_the_update_before_anything_changes(apps, ns, update):
    before = apps.read_namespaced_deployment("hpa-max", ns)
    rc, report, output = update(rollout_deployment="hpa-max", rollout_namespace=ns, rollout_images={"app": "hpa-max:2"},
                                rollout_migration={"command": ["python", "manage.py", "migrate"]})
    assert rc == 2, output[-4000:]
    assert report["stopped_by"] == "predeploy" and not report["changed"] and not report["migration"]["ran"]
    assert report["predeploy"]["failed_checks"] == ["hpa"]
    assert report["message"].startswith(f"Pre-deployment checks failed, so Deployment {ns}/hpa-max was not changed: hpa: ")
    after = apps.read_namespaced_deployment("hpa-max", ns)
    assert after.metadata.generation == before.metadata.generation
    assert after.spec.template.spec.containers[0].image == "hpa-max:1"
    assert kubernetes.client.BatchV1Api(apps.api_client).list_namespaced_job(ns).items == []


def test_a_failed_migration_stops_the_update(apps, ns, update):
    before = apps.read_namespaced_deployment("ok", ns)
    rc, report, output = update(rollout_deployment="ok", rollout_namespace=ns, rollout_images={"app": "ok:crashloop"},
                                rollout_migration={"command": ["python", "manage.py", "migrate"]},
                                rollout_predeploy_checks=[])  # (the pre-checks are the other tests')
    assert rc == 2 and report, output[-4000:]
    migration = report["migration"]
    assert report["stopped_by"] == "migration" and migration["status"] == "failed" and migration["image"] == "ok:crashloop"
    assert not report["predeploy"]["ran"]
    assert "container ok-migrate Error exit code 1" in migration["failure"]
    assert report["message"].startswith(f"The migration failed, so Deployment {ns}/ok was not changed: Job {ns}/ok-migrate-")
    after = apps.read_namespaced_deployment("ok", ns)
    assert after.metadata.generation == before.metadata.generation
    assert after.spec.template.spec.containers[0].image == "ok:1"


def test_the_migration_succeeds_before_the_image_rolls_out(apps, ns, update):
    rc, report, output = update(rollout_deployment="ok", rollout_namespace=ns, rollout_images={"app": "ok:2"},
                                rollout_migration={"command": ["python", "manage.py", "migrate"], "args": ["--noinput"]})
    assert rc == 0, output[-4000:]
    migration = report["migration"]
    assert migration["status"] == "succeeded" and migration["created"], migration
    assert migration["command"] == ["python", "manage.py", "migrate", "--noinput"]
    # The Job's pod log as the API serves it (kwok serves none: the report says so).
    assert migration["logs_pod"].startswith(migration["job"] + "-")
    assert migration["logs"] or "no logs found" in migration["logs_unavailable"]
    assert report["predeploy"]["passed"] and report["revision"] == 2 and not report["rolled_back"]
    batch = kubernetes.client.BatchV1Api(apps.api_client)
    job = batch.read_namespaced_job(migration["job"], ns)
    container = job.spec.template.spec.containers[0]
    assert (container.image, container.command, container.args) == ("ok:2", ["python", "manage.py", "migrate"],
                                                                    ["--noinput"])
    assert [(e.name, e.value) for e in container.env] == [("DB_HOST", "db")]  # the workload's env
    # The Job completed before the new ReplicaSet was created.
    replica_sets = kubernetes.client.AppsV1Api(apps.api_client).list_namespaced_replica_set(ns, label_selector="app=ok").items
    new_rs = next(rs for rs in replica_sets if rs.spec.template.spec.containers[0].image == "ok:2")
    assert job.status.completion_time <= new_rs.metadata.creation_timestamp
    assert apps.read_namespaced_deployment("ok", ns).spec.template.spec.containers[0].image == "ok:2"
