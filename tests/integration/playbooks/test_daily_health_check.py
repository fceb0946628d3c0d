"""playbooks/daily_health_check.yml with inventories/local, against the harness services, the local
Kubernetes control plane and the platform sandbox.

The test's own namespace holds a healthy Deployment and a crash-looping one; the run is pointed at
it (and at the always-present ``postgres`` database) with extra vars, everything else comes from
the inventory. The run is ``--check``: it must change nothing, on the cluster or in the recap,
still write the reports, and fail by the default ``health_check_fail_on`` (critical).
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.harness.k8s_telemetry import clear_logs, cri_log, seed_logs, usage_annotations, wait_for_pod_metrics
from tests.harness.services import service_env

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.integration import ansible_run  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

HOST = "platform-cluster"  # the kubernetes host of inventories/local, where the play runs


def deployment(name, image, replicas, annotations=None, resources=None):
    container = {"name": "app", "image": image, "resources": resources or {}}
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations or {}},
                                  "spec": {"containers": [container]}}}}


# web's pods log three error lines in the last 24 h (and one older, outside H7's window), and run
# at 85 % of their CPU limit (kwok's emulated usage, reported by metrics-server).
WEB_LOG = [(30 * 3600, "ERROR yesterday's outage, outside the window"), (7200, "INFO listening on :8080"),
           (3000, "ERROR upstream timeout talking to postgres"), (1200, "WARN slow request"),
           (600, "error: connection reset by peer"), (60, "ERROR upstream timeout talking to postgres")]
WEB_LIMITS = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}


@pytest.fixture
def sandbox(platform_sandbox):
    """The platform sandbox: health endpoints and the SLO endpoint of inventories/local's sre_platform."""
    return platform_sandbox


@pytest.fixture
def namespace(k8s_cluster):
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(k8s_cluster.kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api_client:
        core, apps = k8s.CoreV1Api(api_client), k8s.AppsV1Api(api_client)
        name = f"hc-playbook-{uuid.uuid4().hex[:6]}"
        core.create_namespace({"metadata": {"name": name}})
        try:
            apps.create_namespaced_deployment(name, deployment("web", "web:1", 2, usage_annotations("425m", "64Mi"),
                                                               WEB_LIMITS))
            apps.create_namespaced_deployment(name, deployment("worker", "worker:crashloop", 1))

            def settled():
                pods = core.list_namespaced_pod(name).items
                crashing = [p for p in pods for s in p.status.container_statuses or []
                            if s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"]
                ready = [p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
                return len(crashing) == 1 and len(ready) == 2 and pods

            wait_until(settled, "one crash-looping and two ready pods")
            seed_logs(k8s_cluster, name, "app=web", cri_log(WEB_LOG))
            wait_for_pod_metrics(k8s_cluster, name, "app=web", 2)
            yield {"name": name, "core": core, "apps": apps}
        finally:
            clear_logs(k8s_cluster, name)
            core.delete_namespace(name)


def snapshot(ns):
    """What a read-only run must not change: the Deployments' generations and specs, the pod names."""
    deployments = {d.metadata.name: (d.metadata.generation, str(d.spec.template))
                   for d in ns["apps"].list_namespaced_deployment(ns["name"]).items}
    pods = sorted(p.metadata.name for p in ns["core"].list_namespaced_pod(ns["name"]).items)
    return deployments, pods


def run_playbook(env, extra, check):
    """(returncode, changed, failed, output) of one run."""
    proc = ansible_run.run_playbook("playbooks/daily_health_check.yml", extra, check=check, env=env)
    output = proc.stdout + proc.stderr
    recap = re.search(rf"{HOST}\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert recap, output[-6000:]
    return proc.returncode, int(recap.group(2)), int(recap.group(4)), output


def test_daily_health_check_playbook_in_check_mode(services, namespace, sandbox, tmp_path):
    """One --check run (the role's real runs, twice, are the molecule scenario's converge and idempotence)."""
    report_dir = tmp_path / "reports"
    env = dict(service_env(services), **sandbox.env(), SRE_REPORT_DIR=str(report_dir),
               SRE_BACKUP_DIR=str(tmp_path / "backups"))
    # (A generous latency limit: on a loaded test machine the sandbox may answer slowly; errors still count.)
    extra = {"health_check_namespaces": [namespace["name"]], "health_check_postgres_database": "postgres",
             "health_check_backup_s3": {}, "health_check_endpoint_latency_warning": 10}
    before = snapshot(namespace)

    # The default health_check_fail_on (critical) fails the play on the crash-looping Deployment,
    # after the reports are written; nothing changed, on the cluster or in the recap.
    returncode, changed, failed, output = run_playbook(env, extra, check=True)
    assert returncode != 0 and failed == 1 and changed == 0, output[-6000:]
    assert "Health check failed (health_check_fail_on=critical): H1 " in output
    assert snapshot(namespace) == before
    result = json.loads((report_dir / f"health_check-{HOST}.json").read_text())
    assert (report_dir / f"health_check-{HOST}.md").read_text().startswith("# Daily health check: local")
    assert result["check_mode"] is True and result["environment"] == "local"
    assert result["status"] == "critical" and result["failed"] is True
    checks = {c["check"]: c for c in result["checks"]}
    assert [c["id"] for c in result["checks"]] == ["H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8", "H9",
                                                   "H12", "H13", "H14", "H15", "H16"]
    assert sorted(result["failing_checks"]) == sorted(c["id"] for c in result["checks"] if c["status"] == "critical")
    # The HTML page, written in the same task (tests/integration/html_reports renders it in Chromium).
    page = (report_dir / f"health_check-{HOST}.html").read_text()
    assert [f'data-id="{c["id"]}"' in page for c in result["checks"]] == [True] * len(result["checks"])
    assert result["reports"]["html"] == str(report_dir / f"health_check-{HOST}.html")

    # H1 names exactly the crash-looping Deployment and its pod, with the reason.
    [worker_pod] = [p.metadata.name for p in namespace["core"].list_namespaced_pod(namespace["name"]).items
                    if p.metadata.name.startswith("worker-")]
    problems = {(p["kind"], p["name"], p["reason"]) for p in checks["pods"]["details"]["problems"]}
    assert problems == {("Pod", worker_pod, "CrashLoopBackOff"), ("Deployment", "worker", "Unavailable")}
    assert checks["pods"]["status"] == "critical"
    assert checks["pods"]["details"]["pod_counts"][namespace["name"]]["total"] == 3

    # The servers of the harness answer; the platform sandbox serves the health endpoints.
    assert checks["postgres"]["status"] == "ok" and checks["redis"]["status"] == "ok"
    assert checks["endpoints"]["status"] == "ok", checks["endpoints"]["summary"]
    assert [e["url"] for e in checks["endpoints"]["details"]["endpoints"]][0] == (
        sandbox.v2_url + "/api/v1/health/status")
    assert checks["slo"]["details"]["source"] == "endpoint"
    # No HPA in the namespace; no backup yet.
    assert checks["hpa"]["status"] == "ok"

    # H7 on the logs the apiserver serves, every web pod read (one call, all at once): three error lines
    # of the last 24 h in each of the two (the older one is outside the window; any case matches);
    # worker's crash-looping pod has no logs to read, current or previous.
    logs = {row["deployment"]: row for row in checks["logs"]["details"]["deployments"]}
    web_pods = sorted(p.metadata.name for p in namespace["core"].list_namespaced_pod(
        namespace["name"], label_selector="app=web").items)
    assert (logs["web"]["pods"], logs["web"]["lines"], logs["web"]["error_lines"], logs["web"]["status"]) == (
        2, 10, 6, "warning"), logs
    assert logs["web"]["last_errors"] == [f"{web_pods[1]}/app: ERROR upstream timeout talking to postgres",
                                          f"{web_pods[1]}/app: error: connection reset by peer",
                                          f"{web_pods[1]}/app: ERROR upstream timeout talking to postgres"]
    assert logs["worker"]["status"] == "unavailable" and logs["worker"]["error_lines"] is None
    assert logs["worker"]["reason"].startswith("no logs found for container")
    assert checks["logs"]["status"] == "warning"
    assert checks["logs"]["summary"].startswith("1 of 2 Deployments had logs, 6 error lines in the last 24 h")

    # H8 on metrics-server's figures: both web pods at 85 % of their 500m CPU limit, above the 80 % warning.
    over = checks["resources"]["details"]["over_threshold"]
    assert checks["resources"]["status"] == "warning", checks["resources"]
    assert sorted(r["name"] for r in over) == web_pods
    assert all(r["cpu_percent"] == pytest.approx(85, abs=0.5) and r["severity"] == "warning" for r in over)
    assert checks["backups"]["status"] == "critical" and checks["backups"]["summary"].startswith("no backup of postgres")
    # Every node of the cluster judged; the inventory's database claim lives in a namespace this run does not
    # read; each of the ENT runbook's thresholds queried (test_daily_health_check_rows.py checks their figures).
    assert [n["name"] for n in checks["nodes"]["details"]["nodes"]] == sorted(
        n.metadata.name for n in namespace["core"].list_node().items)
    assert checks["nodes"]["status"] != "unavailable"
    assert checks["volumes"]["details"]["database"]["reason"] == (
        "namespace data-services was not read (add it to health_check_namespaces)")
    assert [t["name"] for t in checks["model"]["details"]["thresholds"]] == [
        "model_accuracy", "inference_time", "false_positive_rate", "data_quality", "processing_lag"]
    assert checks["redis_cache"]["details"]["lookups"] is not None


# The role's read and report entry points split over plays: each logical host of inventories/local
# reads the parts of its health_check_read_groups group (all at once on the free strategy), then the
# kubernetes host judges what they registered, as playbooks/daily_health_check.yml did before it became
# one play.
SPLIT_PLAYBOOK = [
    {"name": "Read on the logical hosts", "hosts": "kubernetes:platform:postgres:redis", "strategy": "ansible.builtin.free",
     "gather_facts": False, "tasks": [{"name": "Read", "ansible.builtin.import_role": {
         "name": "sre.runbooks.health_check", "tasks_from": "read"}}]},
    {"name": "Report", "hosts": "kubernetes", "gather_facts": False, "tasks": [{"name": "Report", "ansible.builtin.import_role": {
        "name": "sre.runbooks.health_check", "tasks_from": "report"}}]},
]


def test_reads_split_over_the_logical_hosts_are_judged_on_the_kubernetes_host(services, sandbox, tmp_path):
    report_dir = tmp_path / "reports"
    env = dict(service_env(services), **sandbox.env(), SRE_REPORT_DIR=str(report_dir),
               SRE_BACKUP_DIR=str(tmp_path / "backups"))
    extra = {"health_check_checks": ["pods", "endpoints", "postgres", "redis", "backups"],
             "health_check_namespaces": ["kube-system"], "health_check_postgres_database": "postgres",
             "health_check_backup_s3": {}, "health_check_fail_on": "never",
             "health_check_endpoint_latency_warning": 10}
    proc = ansible_run.run_playbook(SPLIT_PLAYBOOK, extra, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # Each group's host read its own part: the read task ran (ok) on every logical host.
    for host in ("platform-cluster", "platform-api", "platform-db", "platform-redis"):
        assert re.search(rf"ok: \[{host}\]", proc.stdout.split("Read every part this host reads")[1]), host
    report = json.loads((report_dir / f"health_check-{HOST}.json").read_text())
    checks = {c["check"]: c for c in report["checks"]}
    assert [c["id"] for c in report["checks"]] == ["H1", "H2", "H4", "H5", "H9"]
    assert checks["postgres"]["status"] == "ok" and checks["redis"]["status"] == "ok", report["checks"]
    assert checks["endpoints"]["status"] == "ok", checks["endpoints"]["summary"]
    assert checks["postgres"]["details"]["port"] == services["postgres"]["port"]
