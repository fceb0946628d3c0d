"""I3 alert responses (playbooks/alert_response.yml) against the real control plane.

Deployment ``api`` runs revision 1 (a good image), then revision 2 (kwok's ``:crashloop`` image);
Service ``orphan`` selects nothing. In check mode the CrashLoopBackOff response names the crash and
proposes the rollback without applying it; with mitigation it rolls revision 2 back and the
Deployment is available again. An Alertmanager webhook payload's 503 alert names the orphan Service;
an unknown alert is one sentence.
"""

from __future__ import annotations

import json
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

GOOD = "registry.example.com/api:1.0"
BAD = "registry.example.com/api:crashloop"


@pytest.fixture(scope="module")
def ns(k8s_cluster, core, apps):
    name = f"i3-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    labels = {"app": "api"}
    apps.create_namespaced_deployment(name, {"metadata": {"name": "api"}, "spec": {
        "replicas": 2, "progressDeadlineSeconds": 600, "selector": {"matchLabels": labels},
        "strategy": {"rollingUpdate": {"maxUnavailable": 2, "maxSurge": 0}},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": GOOD}]}}}})
    wait_until(lambda: (apps.read_namespaced_deployment("api", name).status.available_replicas or 0) == 2, "api up")
    apps.patch_namespaced_deployment("api", name, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": BAD}]}}}})

    def crashing():
        pods = core.list_namespaced_pod(name, label_selector="app=api").items
        return len(pods) == 2 and all(any(s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"
                                          for s in p.status.container_statuses or []) for p in pods)

    wait_until(crashing, "revision 2 crash-looping", timeout=90)
    core.create_namespaced_service(name, {"metadata": {"name": "orphan"}, "spec": {
        "selector": {"app": "gone"}, "ports": [{"port": 80}]}})
    yield name
    core.delete_namespace(name)


def respond(k8s_cluster, tmp_path, check=False, **play_vars):
    proc = run_playbook("playbooks/alert_response.yml", dict(play_vars, alert_response_report_dir=str(tmp_path)),
                        check=check, env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    report = tmp_path / "alert_response.json"
    return proc, (json.loads(report.read_text()) if report.exists() else None)


def test_crashloop_is_named_in_check_mode_and_rolled_back_with_mitigation(k8s_cluster, apps, ns, tmp_path):
    target = {"alert_response_alert": "CrashLoopBackOff", "alert_response_namespace": ns, "alert_response_workload": "api"}
    proc, report = respond(k8s_cluster, tmp_path, check=True, alert_response_mitigate=True, **target)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    [verdict] = report
    assert verdict["confirmed"] and verdict["mitigation"] == "rollback" and not verdict["mitigated"]
    assert {f["reason"] for f in verdict["findings"]} == {"CrashLoopBackOff"}
    assert "mitigation rollback would be applied (check mode)" in proc.stdout
    assert apps.read_namespaced_deployment("api", ns).spec.template.spec.containers[0].image == BAD

    proc, report = respond(k8s_cluster, tmp_path, alert_response_mitigate=True, **target)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert report[0]["mitigated"] and "mitigation rollback applied" in proc.stdout
    dep = apps.read_namespaced_deployment("api", ns)
    assert dep.spec.template.spec.containers[0].image == GOOD and dep.status.available_replicas == 2


def test_a_webhook_payload_503_names_the_orphan_service_and_unknown_alerts_are_one_sentence(k8s_cluster, ns, tmp_path):
    payload = {"version": "4", "status": "firing", "commonLabels": {"namespace": ns},
               "alerts": [{"status": "firing", "labels": {"alertname": "Service Unavailable 503", "service": "orphan"}}]}
    proc, report = respond(k8s_cluster, tmp_path, check=True, alert_response_payload=payload)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert report[0]["alert"] == "ServiceUnavailable" and report[0]["confirmed"]
    assert [(f["object"], f["reason"]) for f in report[0]["findings"]] == [("Service/orphan", "SelectorMatchesNoPod")]
    proc, _report = respond(k8s_cluster, tmp_path / "x", alert_response_alert="DiskOnFire", alert_response_namespace=ns)
    assert proc.returncode == 2 and "There is no response for alert 'DiskOnFire'" in proc.stdout + proc.stderr
