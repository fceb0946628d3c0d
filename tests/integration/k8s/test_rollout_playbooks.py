"""The rollout role's playbooks (rolling_update, rollback, restart, scale) against the real control plane.

Each test runs ``ansible-playbook -i inventories/local playbooks/<name>.yml`` as an operator would
(the inventory's ``sre_kubeconfig`` comes from K8S_AUTH_KUBECONFIG), in a namespace of its own, and
checks the API server's state with the Python client, not only the play's output. kwok makes pods
Ready at once, and a ``:crashloop`` image crash-loops (tests/k8s/README.md). The SLO gate probes a
tiny HTTP server on 127.0.0.1 started by the test. No fixed sleeps: setup waits on conditions.
"""

from __future__ import annotations

import datetime
import http.server
import json
import re
import threading
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.harness.services import service_env  # noqa: E402
from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

NAME = "web"
IMAGE_V1 = "registry.example.com/web:1.0.0"
IMAGE_V2 = "registry.example.com/web:1.1.0"
IMAGE_V3 = "registry.example.com/web:1.2.0"
HOST = "platform-cluster"  # the kubernetes group of inventories/local
WAIT = 60


def image(ns: str) -> str:
    return k8s.AppsV1Api().read_namespaced_deployment(NAME, ns).spec.template.spec.containers[0].image


def revision(ns: str) -> str:
    return k8s.AppsV1Api().read_namespaced_deployment(NAME, ns).metadata.annotations["deployment.kubernetes.io/revision"]


@pytest.fixture
def namespace(k8s_cluster):
    """A namespace with a 3-replica Deployment ``web`` on IMAGE_V1, available."""
    k8s_config.load_kube_config(config_file=str(k8s_cluster.kubeconfig))
    core, apps = k8s.CoreV1Api(), k8s.AppsV1Api()
    ns = f"rollout-{uuid.uuid4().hex[:8]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=ns)))
    labels = {"app": NAME}
    apps.create_namespaced_deployment(ns, {
        "metadata": {"name": NAME},
        "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": IMAGE_V1}]}}}})

    def available():
        dep = apps.read_namespaced_deployment(NAME, ns)
        return (dep.status.observed_generation == dep.metadata.generation
                and (dep.status.available_replicas or 0) == 3 and (dep.status.updated_replicas or 0) == 3)

    wait_until(available, f"deployment {ns}/{NAME} to be available")
    yield ns
    core.delete_namespace(ns)


@pytest.fixture
def run(k8s_cluster, services, tmp_path):
    """run(playbook, expect_rc=0, check=False, **vars) -> (changed count, report dict or None, output)."""
    env = dict(service_env(services), K8S_AUTH_KUBECONFIG=str(k8s_cluster.kubeconfig),
               SRE_REPORT_DIR=str(tmp_path / "reports"))

    def _run(playbook: str, expect_rc: int = 0, check: bool = False, **play_vars):
        proc = run_playbook(f"playbooks/{playbook}.yml", play_vars, check=check, env=env)
        output = proc.stdout + proc.stderr
        assert proc.returncode == expect_rc, output[-8000:]
        action = play_vars.get("rollout_action") or {"rolling_update": "update"}.get(playbook, playbook)
        report_file = tmp_path / "reports" / f"rollout-{action}-{HOST}.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else None
        recap = re.search(rf"{HOST}\s*:.*changed=(\d+)", output)
        return (int(recap.group(1)) if recap else -1), report, output

    return _run


@pytest.fixture
def http_server():
    """start(status) -> URL of a local HTTP server answering every request with that status."""
    servers = []

    def start(status: int) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                body = b'{"status": "test"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/health"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def update_vars(ns: str, new_image: str, **extra) -> dict:
    # The D6 pre-checks (on by default) are tested in test_deploy_guards.py; without them here,
    # each update is one module call shorter.
    return {"rollout_deployment": NAME, "rollout_namespace": ns, "rollout_images": {"app": new_image},
            "rollout_wait_timeout": 60, "rollout_predeploy_checks": [], **extra}


def gate(url: str) -> dict:
    """A probe gate measured once (rollout_bake {}); the repeated bake is tests/integration/k8s/test_rollout_bake.py."""
    return {"rollout_slo_gate": {"source": "probe", "probe": {"url": url, "count": 10},
                                 "objectives": [{"name": "probe-availability", "sli": "availability", "target": 99}]},
            "rollout_bake": {}}


def test_update_then_idempotent(namespace, run):
    changed, report, _output = run("rolling_update", **update_vars(namespace, IMAGE_V2))
    assert changed > 0 and report["changed"] and not report["rolled_back"]
    assert image(namespace) == IMAGE_V2 and revision(namespace) == "2"
    dep = k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace)
    assert dep.status.available_replicas == 3 and dep.status.updated_replicas == 3
    assert report["revision_before"] == 1 and report["revision"] == 2 and report["images"] == {"app": IMAGE_V2}

    changed, report, _output = run("rolling_update", **update_vars(namespace, IMAGE_V2))
    assert changed == 0 and not report["changed"]
    assert image(namespace) == IMAGE_V2 and revision(namespace) == "2"


def test_check_mode_changes_nothing(namespace, run):
    changed, report, _output = run("rolling_update", check=True, **update_vars(namespace, IMAGE_V2))
    assert changed > 0 and report["check_mode"] and report["changed"]
    assert "would be updated" in report["message"]
    assert image(namespace) == IMAGE_V1 and revision(namespace) == "1"


def test_crashloop_is_rolled_back_and_fails_the_play(namespace, run):
    _changed, report, output = run("rolling_update", expect_rc=2, **update_vars(namespace, "registry.example.com/web:crashloop"))
    assert "CrashLoopBackOff" in output and "rolled back automatically" in output
    assert report["rolled_back"] and report["rollback_reason"] == "rollout_failed"
    assert image(namespace) == IMAGE_V1
    dep = k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace)
    assert dep.status.available_replicas == 3


def test_slo_gate_breach_undoes_to_the_previous_image(namespace, run, http_server):
    url = http_server(500)
    _changed, report, output = run("rolling_update", expect_rc=2, **update_vars(namespace, IMAGE_V2, **gate(url)))
    assert "SLO gate failed" in output and "SLO probe-availability breached" in output
    assert "Revision 2 (registry.example.com/web:1.1.0) was rolled back to revision 1" in output
    # The undo is a new revision (3) with the old pod template, rolled out completely.
    assert image(namespace) == IMAGE_V1 and revision(namespace) == "3"
    dep = k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace)
    assert dep.status.available_replicas == 3 and dep.status.updated_replicas == 3
    gate_result = report["slo_gate"]
    assert report["rolled_back"] and report["rollback_reason"] == "slo_gate"
    assert gate_result["ran"] and not gate_result["passed"] and gate_result["failed_objectives"] == ["probe-availability"]
    assert gate_result["probe"]["status_codes"] == {"500": 10}
    assert report["revision_rolled_out"] == 2 and report["revision"] == 3 and report["images"] == {"app": IMAGE_V1}


def test_slo_gate_breach_without_failing_the_play(namespace, run, http_server):
    url = http_server(503)
    _changed, report, output = run("rolling_update", **update_vars(namespace, IMAGE_V2, rollout_fail_on_rollback=False, **gate(url)))
    assert "SLO gate failed" in output and report["rolled_back"]
    assert image(namespace) == IMAGE_V1


def test_slo_gate_pass_keeps_the_new_image(namespace, run, http_server):
    url = http_server(200)
    changed, report, _output = run("rolling_update", **update_vars(namespace, IMAGE_V2, **gate(url)))
    assert changed > 0 and not report["rolled_back"]
    assert report["slo_gate"]["ran"] and report["slo_gate"]["passed"] and report["slo_gate"]["status"] == "ok"
    assert image(namespace) == IMAGE_V2 and revision(namespace) == "2"


def test_rollback_to_a_revision_prints_history(namespace, run):
    run("rolling_update", **update_vars(namespace, IMAGE_V2))
    run("rolling_update", **update_vars(namespace, IMAGE_V3))
    assert image(namespace) == IMAGE_V3

    changed, report, output = run("rollback", rollout_deployment=NAME, rollout_namespace=namespace, rollout_to_revision=1)
    assert changed > 0 and f"1 {IMAGE_V1}" in output and f"3 (current) {IMAGE_V3}" in output
    assert image(namespace) == IMAGE_V1
    assert report["images_before"] == {"app": IMAGE_V3} and report["images"] == {"app": IMAGE_V1}

    # Without a revision: the one before the current (V3 again).
    run("rollback", rollout_deployment=NAME, rollout_namespace=namespace)
    assert image(namespace) == IMAGE_V3

    # A revision that does not exist fails before anything changes.
    _changed, _report, output = run("rollback", expect_rc=2, rollout_deployment=NAME, rollout_namespace=namespace, rollout_to_revision=42)
    assert "has no revision 42" in output
    assert image(namespace) == IMAGE_V3


def test_scale_with_a_wrong_precondition_fails_cleanly(namespace, run):
    _changed, report, output = run("scale", expect_rc=2, rollout_deployment=NAME, rollout_namespace=namespace,
                                   rollout_replicas=5, rollout_current_replicas=2)
    assert "has 3 replicas, not current_replicas=2; nothing was changed" in output
    assert report is None
    assert k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace).spec.replicas == 3

    changed, report, _output = run("scale", rollout_deployment=NAME, rollout_namespace=namespace,
                                   rollout_replicas=5, rollout_current_replicas=3)
    assert changed > 0 and report["scale"] == {"before": 3, "after": 5}
    dep = k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace)
    assert dep.spec.replicas == 5 and dep.status.available_replicas == 5


def test_hpa_bounds(namespace, run):
    k8s.AutoscalingV2Api().create_namespaced_horizontal_pod_autoscaler(namespace, {
        "metadata": {"name": f"{NAME}-hpa"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                 "minReplicas": 2, "maxReplicas": 10}})
    changed, report, _output = run("scale", rollout_deployment=NAME, rollout_namespace=namespace,
                                   rollout_hpa_min_replicas=4, rollout_hpa_max_replicas=15)
    assert changed > 0 and report["hpa"]["after"] == {"min_replicas": 4, "max_replicas": 15}
    hpa = k8s.AutoscalingV2Api().read_namespaced_horizontal_pod_autoscaler(f"{NAME}-hpa", namespace)
    assert hpa.spec.min_replicas == 4 and hpa.spec.max_replicas == 15


def test_rolling_restart(namespace, run):
    changed, report, _output = run("restart", rollout_deployment=NAME, rollout_namespace=namespace)
    assert changed > 0 and not report["rolled_back"]
    dep = k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace)
    assert "kubectl.kubernetes.io/restartedAt" in dep.spec.template.metadata.annotations
    assert revision(namespace) == "2" and image(namespace) == IMAGE_V1 and dep.status.available_replicas == 3


def test_emergency_restart_scales_to_zero_and_back(namespace, run):
    uids = {pod.metadata.uid for pod in k8s.CoreV1Api().list_namespaced_pod(namespace).items}
    _changed, _report, output = run("restart", expect_rc=2, rollout_deployment=NAME, rollout_namespace=namespace,
                                    rollout_restart_mode="emergency", rollout_restart_confirm=NAME)
    assert f"confirm it with -e rollout_restart_confirm={namespace}/{NAME}" in output
    assert {pod.metadata.uid for pod in k8s.CoreV1Api().list_namespaced_pod(namespace).items} == uids
    changed, report, _output = run("restart", rollout_deployment=NAME, rollout_namespace=namespace,
                                   rollout_restart_mode="emergency", rollout_restart_confirm=f"{namespace}/{NAME}")
    assert changed > 0 and report["mode"] == "emergency" and report["replicas"]["available"] == 3
    dep = k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace)
    assert dep.spec.replicas == 3 and dep.status.available_replicas == 3
    pods = k8s.CoreV1Api().list_namespaced_pod(namespace).items
    assert pods and not uids & {pod.metadata.uid for pod in pods}


def test_restart_refuses_while_another_run_holds_the_lock_and_gives_its_own_back(namespace, run):
    """The run lock (issue 13): a Lease of another run refuses the restart before anything changes."""
    coordination = k8s.CoordinationV1Api()
    lease = {"metadata": {"name": f"sre-runbooks-{NAME}"}, "spec": {
        "holderIdentity": "bob@ops run 42", "leaseDurationSeconds": 600,
        "acquireTime": datetime.datetime.now(datetime.timezone.utc),
        "renewTime": datetime.datetime.now(datetime.timezone.utc)}}
    coordination.create_namespaced_lease(namespace, lease)
    _changed, _report, output = run("restart", expect_rc=2, rollout_deployment=NAME, rollout_namespace=namespace)
    assert "is held by bob@ops run 42 since" in output
    dep = k8s.AppsV1Api().read_namespaced_deployment(NAME, namespace)
    assert "kubectl.kubernetes.io/restartedAt" not in (dep.spec.template.metadata.annotations or {})
    assert coordination.read_namespaced_lease(f"sre-runbooks-{NAME}", namespace).spec.holder_identity == "bob@ops run 42"

    coordination.delete_namespaced_lease(f"sre-runbooks-{NAME}", namespace)
    run("restart", rollout_deployment=NAME, rollout_namespace=namespace)
    assert revision(namespace) == "2"
    leases = coordination.list_namespaced_lease(namespace).items
    assert leases == [], [lease.spec.holder_identity for lease in leases]
