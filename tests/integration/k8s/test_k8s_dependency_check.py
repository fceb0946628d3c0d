"""k8s_dependency_check (I7) through the real pods/exec API of the local control plane.

kwok plays the kubelet: a kwok ``Exec`` object maps exec in the pod's container to a process on this
host, so the module's probe really travels apiserver -> kubelet (kwok) -> process, and its DNS lookups
and TCP connects reach the harness's PostgreSQL and Redis on 127.0.0.1. A port nobody listens on and
a name that does not resolve must come back as such, one sentence each; a missing pod or container
interpreter fails the task with one sentence. The ServiceDown response of alert_response.yml runs the
same check from a pod of the alert's Deployment and names the unreachable database as the cause.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_dependency_check"


def closed_port():
    """A loopback port that was free a moment ago and has no listener."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(scope="module")
def app_pod(k8s_cluster, core, apps):
    """(namespace, pod): Deployment ``api`` (app=api, one ready pod) whose container ``app`` execs on this host."""
    ns = f"deps-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    labels = {"app": "api"}
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "api"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "app", "image": "registry.example.com/api:1"}]}}}})
    # Every pod of the namespace: the container's PATH has this interpreter's folder first, so python3 is
    # the one the tests run with. ClusterExec is cluster-scoped: deleted at the end.
    cluster_exec = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterExec", "metadata": {"name": ns},
                    "spec": {"selector": {"matchNamespaces": [ns]}, "execs": [{"containers": ["app"], "local": {
                        "workDir": "/tmp", "envs": [{"name": "PATH",
                                                     "value": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"}]}}]}}
    k8s_cluster.kubectl("apply", "-f", "-", input=json.dumps(cluster_exec))
    wait_until(lambda: (apps.read_namespaced_deployment("api", ns).status.available_replicas or 0) == 1, "api ready",
               timeout=60)
    pod = core.list_namespaced_pod(ns, label_selector="app=api").items[0].metadata.name
    # kwok picks the ClusterExec up through a watch: poll until an exec is mapped.
    wait_until(lambda: k8s_cluster.kubectl("-n", ns, "exec", pod, "-c", "app", "--", "python3", "-c", "print(1)",
                                           check=False).returncode == 0 or None,
               f"kwok to map the exec of {pod}", timeout=60)
    yield ns, pod
    k8s_cluster.kubectl("delete", "clusterexec", ns, "--ignore-not-found")
    core.delete_namespace(ns)


@pytest.fixture(scope="module")
def outcomes(app_pod, services):
    ns, pod = app_pod
    pg, redis = services["postgres"], services["redis"]
    closed = closed_port()
    targets = [{"name": "database", "host": "localhost", "port": int(pg["port"])},
               f"{redis['host']}:{redis['port']}",
               {"name": "kafka", "host": "127.0.0.1", "port": closed},
               "kafka-0.no-such-namespace.invalid:9092"]
    calls = [
        {"args": {"namespace": ns, "workload": {"name": "api"}, "targets": targets, "timeout": 2}},
        {"args": {"namespace": ns, "pod": pod, "container": "app", "targets": targets[:2]}, "check": True},
        {"args": {"namespace": ns, "pod": "api-9", "targets": targets[:1]}},
        {"args": {"namespace": ns, "pod": pod, "targets": targets[:1], "interpreter": "python9"}},
        {"args": {"namespace": ns, "label_selector": "app=nothing", "targets": targets[:1]}},
        {"args": {"namespace": ns, "pod": pod, "targets": ["redis"]}},
        {"args": {"namespace": ns, "workload": {"name": "gone"}, "targets": targets[:1]}},
    ]
    return dict(zip(["verdicts", "check_mode", "no_pod", "no_interpreter", "no_match", "bad_target", "no_workload"],
                    run_module_batch(MODULE, calls))), {"pg": pg, "redis": redis, "closed": closed}


def test_verdicts_per_target(outcomes, app_pod):
    results, seen = outcomes
    result = results["verdicts"]
    assert not result.get("failed"), result
    assert result["pod"] == app_pod[1] and result["changed"] is False
    rows = {row["name"]: row for row in result["results"]}
    database, redis = rows["database"], rows[f"{seen['redis']['host']}:{seen['redis']['port']}"]
    assert database["ok"] and database["dns_ok"] and database["connect_ok"] and "127.0.0.1" in database["addresses"]
    assert redis["ok"] and redis["addresses"] == ["127.0.0.1"] and redis["ms"] >= 0 and redis["error"] is None
    kafka = rows["kafka"]
    assert kafka["dns_ok"] and not kafka["connect_ok"] and not kafka["ok"]
    assert kafka["error"].startswith(f"127.0.0.1:{seen['closed']} (127.0.0.1) refused the TCP connection from pod ")
    unresolved = rows["kafka-0.no-such-namespace.invalid:9092"]
    assert not unresolved["dns_ok"] and unresolved["addresses"] == [] and unresolved["ms"] is None
    assert unresolved["error"].startswith("kafka-0.no-such-namespace.invalid does not resolve from pod ")
    assert result["summary"] == {"targets": 4, "ok": 2, "dns_failed": 1, "connect_failed": 1}
    assert result["ok"] is False and result["failures"] == [kafka["error"], unresolved["error"]]


def test_check_mode_probes_the_same(outcomes):
    result = outcomes[0]["check_mode"]
    assert not result.get("failed"), result
    assert result["ok"] is True and [row["ok"] for row in result["results"]] == [True, True]


@pytest.mark.parametrize("case, words", [
    ("no_pod", "The pod {ns}/api-9 does not exist."),
    ("no_interpreter", "The dependency probe could not run with python9 in pod {ns}/{pod}"),
    ("no_match", "No running and ready pod in namespace {ns} matches app=nothing."),
    ("bad_target", "The target 'redis' is not host:port."),
    ("no_workload", "The Deployment {ns}/gone does not exist."),
])
def test_bad_input_one_sentence(outcomes, app_pod, case, words):
    result = outcomes[0][case]
    assert result.get("failed"), result
    assert result["msg"].startswith(words.format(ns=app_pod[0], pod=app_pod[1])), result["msg"]
    assert "\n" not in result["msg"] and "Traceback" not in result["msg"]


def test_service_down_triage_names_the_unreachable_database_and_holds_the_restart(k8s_cluster, app_pod, services,
                                                                                  tmp_path):
    """alert_response.yml (I3) runs the I7 check for ServiceDown; the closed database port is the cause it names."""
    ns, _pod = app_pod
    closed = closed_port()
    redis = services["redis"]
    dependencies = [{"name": "database", "host": "127.0.0.1", "port": closed}, f"{redis['host']}:{redis['port']}"]
    play_vars = {"alert_response_alert": "ServiceDown", "alert_response_namespace": ns, "alert_response_workload": "api",
                 "alert_response_mitigate": True, "alert_response_report_dir": str(tmp_path),
                 "alert_response_dependencies": dependencies}
    proc = run_playbook("playbooks/alert_response.yml", play_vars, check=True,
                        env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    [report] = json.loads((tmp_path / "alert_response.json").read_text())
    assert report["confirmed"] and report["mitigation"] == "none", report
    assert [f["object"] for f in report["findings"]] == ["Dependency/database"]
    assert report["reason"].startswith("database cannot be reached from the pods of api")
    assert [(row["name"], row["ok"]) for row in report["dependencies"]] == [
        ("database", False), (f"{redis['host']}:{redis['port']}", True)]


def test_diagnose_checks_the_dependencies_when_asked(k8s_cluster, app_pod, services, tmp_path):
    ns, pod = app_pod
    redis = services["redis"]
    closed = closed_port()
    proc = run_playbook("playbooks/diagnose.yml", {
        "diagnose_namespace": ns, "diagnose_workload": "api", "diagnose_dest": str(tmp_path),
        "diagnose_dependencies": [f"{redis['host']}:{redis['port']}", f"127.0.0.1:{closed}"]},
        env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert f"1 of 2 dependencies reachable from pod {pod}." in output, output[-4000:]
    assert f"127.0.0.1:{closed} (127.0.0.1) refused the TCP connection from pod {ns}/{pod}" in output
