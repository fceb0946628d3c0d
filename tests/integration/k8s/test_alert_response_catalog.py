"""I3: the alerts whose triage reads the workload, its HPA and its claims, each against a failure of its own.

One Alertmanager webhook payload carries four firing alerts, answered in one check-mode run of
playbooks/alert_response.yml (the rest of the catalog has its own tests: CrashLoopBackOff and 503 in
test_alert_response.py, ServiceDown in test_k8s_dependency_check.py, KafkaConsumerLag with the broker):

- HighErrorRate and SLOViolation on ``web``: revision 2 crash-loops on one of its two pods while
  revision 1 still serves (Degraded); both must be confirmed and propose the rollback.
- HighResponseTime on ``slow``: its HPA is pinned at its maximum (AtMaxReplicas); scale-up proposed.
- DiskSpaceLow: claim ``data`` lost its volume (phase Lost).
Check mode changes nothing: web still runs revision 2, slow keeps its replicas.
"""

from __future__ import annotations

import json
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

GOOD = "registry.example.com/web:1.0"
BAD = "registry.example.com/web:crashloop"


def deployment(name, image, replicas):
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": labels},
        "strategy": {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}}}


@pytest.fixture(scope="module")
def seeded(k8s_cluster, core, apps):
    ns = f"i3c-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    pv = f"{ns}-data"
    try:
        apps.create_namespaced_deployment(ns, deployment("web", GOOD, 2))
        apps.create_namespaced_deployment(ns, deployment("slow", GOOD, 2))
        wait_until(lambda: all((apps.read_namespaced_deployment(n, ns).status.available_replicas or 0) == 2
                               for n in ("web", "slow")), "web and slow available", timeout=90)
        apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": BAD}]}}}})

        def degraded():
            pods = core.list_namespaced_pod(ns, label_selector="app=web").items
            crashing = [p for p in pods if any(s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"
                                               for s in p.status.container_statuses or [])]
            return len(crashing) == 1 and (apps.read_namespaced_deployment("web", ns).status.available_replicas or 0) == 1

        wait_until(degraded, "web degraded: one pod of revision 2 crash-looping, one of revision 1 serving", timeout=90)
        k8s_cluster.kubectl("-n", ns, "apply", "-f", "-", input=json.dumps({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "slow"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "slow"},
                     "minReplicas": 2, "maxReplicas": 2,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 50}}}]}}))
        wait_until(lambda: json.loads(k8s_cluster.kubectl("-n", ns, "get", "hpa", "slow", "-o", "json").stdout)
                   .get("status", {}).get("currentReplicas") == 2, "the HPA's status at 2 of 2 replicas", timeout=90)
        # A claim bound to a volume that is then removed: the controller marks the claim Lost.
        k8s_cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv}, "spec": {
                "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                "hostPath": {"path": f"/tmp/{pv}"}, "claimRef": {"namespace": ns, "name": "data"}}},
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": ns},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual", "volumeName": pv,
                      "resources": {"requests": {"storage": "1Gi"}}}}]}))
        wait_until(lambda: core.read_namespaced_persistent_volume_claim("data", ns).status.phase == "Bound",
                   "claim data bound", timeout=60)
        k8s_cluster.kubectl("delete", "pv", pv, "--wait=false")
        k8s_cluster.kubectl("patch", "pv", pv, "--type=merge", "-p", '{"metadata": {"finalizers": null}}', check=False)
        wait_until(lambda: core.read_namespaced_persistent_volume_claim("data", ns).status.phase == "Lost",
                   "claim data lost", timeout=90)
        yield ns
    finally:
        core.delete_namespace(ns)
        k8s_cluster.kubectl("delete", "pv", pv, "--ignore-not-found", "--wait=false", check=False)


def test_four_alerts_of_one_payload_are_each_confirmed_by_their_own_failure_in_check_mode(k8s_cluster, apps, seeded,
                                                                                          tmp_path):
    ns = seeded
    payload = {"version": "4", "status": "firing", "commonLabels": {"namespace": ns}, "alerts": [
        {"status": "firing", "labels": {"alertname": "HighErrorRate", "deployment": "web"}},
        {"status": "firing", "labels": {"alertname": "SLOViolation", "deployment": "web"}},
        {"status": "firing", "labels": {"alertname": "HighResponseTime", "deployment": "slow"}},
        {"status": "firing", "labels": {"alertname": "DiskSpaceLow", "persistentvolumeclaim": "data"}}]}
    proc = run_playbook("playbooks/alert_response.yml", {"alert_response_payload": payload,
                                                         "alert_response_mitigate": True,
                                                         "alert_response_report_dir": str(tmp_path)},
                        check=True, env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    report = {row["alert"]: row for row in json.loads((tmp_path / "alert_response.json").read_text())}
    assert sorted(report) == ["DiskSpaceLow", "HighErrorRate", "HighResponseTime", "SLOViolation"]
    reasons = {alert: {f["reason"] for f in row["findings"]} for alert, row in report.items()}
    for alert in ("HighErrorRate", "SLOViolation"):
        assert report[alert]["confirmed"] and report[alert]["mitigation"] == "rollback", report[alert]
        assert "CrashLoopBackOff" in reasons[alert] or "Degraded" in reasons[alert], reasons[alert]
    assert report["HighResponseTime"]["confirmed"] and "AtMaxReplicas" in reasons["HighResponseTime"]
    assert report["HighResponseTime"]["mitigation"] == "scale_up"
    assert report["DiskSpaceLow"]["confirmed"] and "VolumeProblem" in reasons["DiskSpaceLow"]
    assert any("data" in f["object"] and "Lost" in f["message"] for f in report["DiskSpaceLow"]["findings"])
    assert not any(row["mitigated"] for row in report.values())
    assert apps.read_namespaced_deployment("web", ns).spec.template.spec.containers[0].image == BAD
    assert apps.read_namespaced_deployment("slow", ns).spec.replicas == 2
