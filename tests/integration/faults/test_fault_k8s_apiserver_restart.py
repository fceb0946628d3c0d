"""Fault: the Kubernetes API server restarts while k8s_rollout waits for a rollout.

A cluster of this test's own (``SRE_K8S_DIR`` in a pytest temporary directory: restarting the API server of the
shared cluster would break other sessions' tests). The Deployment has ``minReadySeconds`` so its
rollout takes several seconds; once the module has changed the image and the rollout is under way,
kube-apiserver is killed and started again with the same command line, environment and working
directory (killed: a graceful stop waits out the open watches). The wait must reconnect (its watches resume from their resourceVersion) and report the
rollout complete; the server's own Deployment status is checked afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.harness import k8s as k8s_harness
from tests.harness.procs import LOOPBACK
from tests.integration.faults.common import alive
from tests.integration.module_runner import run_module
from tests.integration.waiting import wait_until

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_rollout"


@pytest.fixture(scope="module")
def private_cluster(tmp_path_factory):
    """A cluster of this module's own, deleted afterwards (a fresh directory: no other run shares it)."""
    saved = os.environ.get("SRE_K8S_DIR")
    os.environ["SRE_K8S_DIR"] = str(tmp_path_factory.mktemp("k8s-private"))
    try:
        with k8s_harness.session("pytest") as cluster:
            yield cluster
    except k8s_harness.K8sError as exc:
        pytest.fail(f"the private Kubernetes control plane could not start or stop: {exc}")
    finally:
        if saved is None:
            os.environ.pop("SRE_K8S_DIR", None)
        else:
            os.environ["SRE_K8S_DIR"] = saved


@pytest.fixture(scope="module")
def apps(private_cluster):
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=private_cluster.kubeconfig, client_configuration=configuration)
    with k8s.ApiClient(configuration) as api_client:
        yield k8s.CoreV1Api(api_client), k8s.AppsV1Api(api_client)


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def restart_apiserver(cluster):
    """Kill kube-apiserver (SIGKILL: its graceful shutdown waits out open watches) and start it again as it was started; wait until it answers /readyz."""
    pid_file = Path(cluster.state_dir) / "kwok" / "clusters" / cluster.name / "pids" / "kube-apiserver.pid"
    pid = int(pid_file.read_text().strip())
    proc = Path(f"/proc/{pid}")
    argv = [a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
    env = dict(line.decode().split("=", 1) for line in (proc / "environ").read_bytes().split(b"\0") if b"=" in line)
    cwd = os.readlink(proc / "cwd")
    assert "kube-apiserver" in argv[0], argv
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid), "kube-apiserver to stop", timeout=30)
    # The leader thread turns zombie before the others exit: the port is free only once all are gone.
    port = urlsplit(cluster.server).port
    wait_until(lambda: port_free(port), f"kube-apiserver's port {port} to be free", timeout=30)
    log = Path(cluster.state_dir) / "apiserver-restarted.log"
    with open(log, "ab") as out:
        new = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    pid_file.write_text(f"{new.pid}\n")  # so kwokctl and the harness stop this one

    def ready():
        assert new.poll() is None, f"the restarted kube-apiserver exited: {log.read_text()[-1500:]}"
        try:
            done = cluster.kubectl("get", "--raw", "/readyz", "--request-timeout=2s", check=False, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0 and done.stdout.strip() == "ok"

    wait_until(ready, "the restarted kube-apiserver to be ready", timeout=60, interval=0.2)
    return new


def new_pod_ready(apps_api, ns):
    sets = apps_api.list_namespaced_replica_set(ns, label_selector="app=web").items
    return any(rs.spec.template.spec.containers[0].image == "web:2" and (rs.status.ready_replicas or 0) >= 1
               for rs in sets)


def test_apiserver_restart_during_the_wait_reconnects_and_reports_the_rollout(private_cluster, apps):
    core, apps_api = apps
    ns = f"t-fault-apiserver-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": ns}})
    labels = {"app": "web"}
    apps_api.create_namespaced_deployment(ns, {
        "metadata": {"name": "web", "labels": labels},
        "spec": {"replicas": 2, "minReadySeconds": 6, "selector": {"matchLabels": labels},
                 "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}})

    def available(image):
        dep = apps_api.read_namespaced_deployment("web", ns)
        st = dep.status
        return (dep.spec.template.spec.containers[0].image == image and st.observed_generation == dep.metadata.generation
                and (st.updated_replicas or 0) == 2 and (st.available_replicas or 0) == 2 and (st.replicas or 0) == 2)

    try:
        wait_until(lambda: available("web:1"), "web:1 rolled out", timeout=60)
        args = {"action": "set_image", "namespace": ns, "name": "web", "images": {"app": "web:2"}, "wait_timeout": 120,
                "kubeconfig": private_cluster.kubeconfig}
        outcome = {}
        runner = threading.Thread(target=lambda: outcome.update(result=run_module(MODULE, args, timeout=180)))
        runner.start()
        try:
            # A pod of web:2 is Ready but not yet available (minReadySeconds): the module changed the image
            # seconds ago and is watching the rollout.
            wait_until(lambda: new_pod_ready(apps_api, ns), "a Ready pod of web:2", timeout=90, interval=0.05)
            assert not available("web:2")
            restart_apiserver(private_cluster)
        finally:
            runner.join(timeout=180)
        result = outcome["result"]
        assert not result.failed, result.get("msg")
        entry = result["rollouts"][0]
        assert entry["wait"]["outcome"] == "complete", entry["wait"]
        assert available("web:2")
    finally:
        with contextlib.suppress(Exception):
            core.delete_namespace(ns)
