"""M2 maintenance window against the real control plane and the real Alertmanager: playbooks/maintenance_window.yml.

A namespace with one Deployment (2 replicas, image web:1) and an HPA. ``on`` then ``off`` as two runs:
the silence exists in Alertmanager during the window and the flag is set, both are undone after.
``all`` with maintenance work that changes the image and a smoke test that fails: the run fails, but
only after maintenance mode went off and the silence was expired, and the report names both failures.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402

pytestmark = pytest.mark.slow

PLAYBOOK = "playbooks/maintenance_window.yml"


def silences(url, ns):
    with urllib.request.urlopen(url + "/api/v2/silences", timeout=5) as resp:  # noqa: S310 - loopback test server
        return [s for s in json.loads(resp.read())
                if any(m["name"] == "namespace" and m["value"] == ns and m["isRegex"] for m in s["matchers"])]


@pytest.fixture(scope="module")
def window(k8s_cluster, core, apps, services, tmp_path_factory):
    ns = f"m2-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    apps.create_namespaced_deployment(ns, {
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}})
    kubernetes.client.AutoscalingV2Api(apps.api_client).create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 2, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                               "target": {"type": "Utilization", "averageUtilization": 80}}}]}})
    reports = tmp_path_factory.mktemp("m2-reports")
    am = services["alertmanager"]["url"]
    env = {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig), "SRE_REPORT_DIR": str(reports), "ALERTMANAGER_URL": am}
    yield {"ns": ns, "am": am, "env": env, "reports": reports / "maintenance"}
    core.delete_namespace(ns)


def flag(core, ns):
    return core.read_namespaced_config_map("maintenance", ns).data


def test_on_then_off_silences_during_the_window_only(window, core):
    ns, am = window["ns"], window["am"]
    base = {"maintenance_window_namespaces": [ns], "maintenance_window_name": "onoff",
            "maintenance_window_reason": "pytest window", "maintenance_window_duration": "30m"}
    on = run_playbook(PLAYBOOK, dict(base, maintenance_window_phase="on"), env=window["env"])
    assert on.returncode == 0, (on.stdout + on.stderr)[-4000:]
    live = [s for s in silences(am, ns) if s["status"]["state"] == "active"]
    assert len(live) == 1, silences(am, ns)
    assert live[0]["comment"] == "sre.runbooks M2 maintenance window onoff"
    assert flag(core, ns) == {"enabled": "true", "reason": "pytest window", "until": live[0]["endsAt"]}

    off = run_playbook(PLAYBOOK, dict(base, maintenance_window_phase="off"), env=window["env"])
    assert off.returncode == 0, (off.stdout + off.stderr)[-4000:]
    assert [s["status"]["state"] for s in silences(am, ns)] == ["expired"]
    assert flag(core, ns)["enabled"] == "false"


def test_a_failure_in_the_middle_still_ends_maintenance(window, core, apps, tmp_path):
    ns, am = window["ns"], window["am"]
    work = tmp_path / "work.yml"
    # The maintenance work: a new image (a finding of the comparison), and a proof the silence is live meanwhile.
    work.write_text(json.dumps([
        {"name": "Change the image", "kubernetes.core.k8s": {
            "kind": "Deployment", "api_version": "apps/v1", "name": "web", "namespace": ns, "state": "patched",
            "definition": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}}}}},
        {"name": "The silence is live during the work", "ansible.builtin.uri": {
            "url": am + "/api/v2/silences?filter=namespace%3D~%22" + ns + "%22", "return_content": True},
         "register": "during"},
        {"name": "Keep it", "ansible.builtin.copy": {"content": "{{ during.json | to_json }}",
                                                     "dest": str(tmp_path / "during.json"), "mode": "0600"}},
    ]))
    proc = run_playbook(PLAYBOOK, {
        "maintenance_window_phase": "all", "maintenance_window_namespaces": [ns], "maintenance_window_name": "all",
        "maintenance_window_work_tasks": str(work),
        "maintenance_window_smoke_tests": [{"name": "alertmanager", "url": am + "/-/ready"},
                                           {"name": "broken", "url": "http://127.0.0.1:1/health", "timeout": 2}],
    }, env=window["env"])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-4000:]
    assert "ended with failed checks" in output
    # Cleanup happened after the failure: flag off, silence expired.
    assert flag(core, ns)["enabled"] == "false"
    mine = [s for s in silences(am, ns) if s["comment"].endswith("window all")]
    assert [s["status"]["state"] for s in mine] == ["expired"]
    during = json.loads((tmp_path / "during.json").read_text())
    assert any(s["id"] == mine[0]["id"] and s["status"]["state"] == "active" for s in during)
    report = json.loads((window["reports"] / "all-report.json").read_text())
    assert not report["passed"]
    assert report["silences_expired"] == [mine[0]["id"]]
    assert [f["field"] for f in report["findings"]] == ["images.app"]
    assert report["findings"][0]["before"] == "web:1" and report["findings"][0]["after"] == "web:2"
    assert any(f.startswith("smoke test broken failed") for f in report["failures"]), report["failures"]
    assert not any("alertmanager" in f for f in report["failures"])
    assert "container app runs image web:2, web:1 before the window" in (window["reports"] / "all-report.md").read_text()
    assert json.loads((window["reports"] / "all-snapshot.json").read_text())["hpas"][f"{ns}/HorizontalPodAutoscaler/web"][
        "max_replicas"] == 4
