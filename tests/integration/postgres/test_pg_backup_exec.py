"""pg_backup with transport.type=kubernetes: pg_dump exec'd "in the database pod" through the API.

A private kwok cluster (tests/k8s/cluster.sh with its own SRE_K8S_DIR, so the shared one is left
alone) with the Exec CRD enabled; a kwok ``Exec`` object maps the exec of our pod to local
commands, so the pg_dump started through the Kubernetes exec API runs on this host against the
harness PostgreSQL. Its output comes back over the websocket into the module's local file; the
backup is then restored (locally, by pg_restore) and its rows compared. Everything stays on 127.0.0.0/8.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.postgres.test_pg_backup import RESTORE_MODULE, Server, populate, unique
from tests.integration.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]
CLUSTER_SH = REPO / "tests" / "k8s" / "cluster.sh"


@pytest.fixture(scope="module")
def exec_cluster(tmp_path_factory):
    """A private cluster with kwok's Exec CRD; yields its state (kubeconfig, kubectl_path)."""
    root = tmp_path_factory.mktemp("k8s-exec")
    env = {**os.environ, "SRE_K8S_DIR": str(root)}
    started = subprocess.run([str(CLUSTER_SH), "up"], capture_output=True, text=True, env=env, timeout=300, check=False)
    try:
        if started.returncode != 0:
            pytest.fail(f"private cluster did not start: {started.stderr[-2000:]}{started.stdout[-2000:]}")
        yield json.loads((root / "state.json").read_text())
    finally:
        stopped = subprocess.run([str(CLUSTER_SH), "down"], capture_output=True, text=True, env=env, timeout=300,
                                 check=False)
        assert stopped.returncode == 0, stopped.stderr


def kubectl(cluster, *args, stdin=None):
    result = subprocess.run([cluster["kubectl_path"], "--kubeconfig", cluster["kubeconfig"], *args], input=stdin,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def server(services):
    return Server(services["postgres"], services["s3"])


@pytest.fixture(scope="module")
def database_pod(exec_cluster, server):
    """Namespace, pod and Exec mapping (PATH with the harness's client programs; no password in it)."""
    namespace = f"pgexec-{uuid.uuid4().hex[:8]}"
    kubectl(exec_cluster, "create", "namespace", namespace)
    manifests = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "postgres-0", "namespace": namespace},
         "spec": {"containers": [{"name": "postgres", "image": "postgres:15"}]}},
        {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec", "metadata": {"name": "postgres-0", "namespace": namespace},
         "spec": {"execs": [{"containers": ["postgres"], "local": {
             "workDir": "/tmp",
             "envs": [{"name": "PATH", "value": f"{server.info['bin_dir']}:/usr/local/bin:/usr/bin:/bin"}]}}]}},
    ]
    kubectl(exec_cluster, "apply", "-f", "-", stdin="\n".join(json.dumps(doc) for doc in manifests))
    kubectl(exec_cluster, "-n", namespace, "wait", "--for=condition=Ready", "pod/postgres-0", "--timeout=60s")
    # kwok picks the Exec object up through a watch: poll until an exec is mapped.

    def exec_mapped():
        probe = subprocess.run([exec_cluster["kubectl_path"], "--kubeconfig", exec_cluster["kubeconfig"], "-n", namespace,
                                "exec", "postgres-0", "-c", "postgres", "--", "pg_dump", "--version"],
                               capture_output=True, text=True, timeout=30, check=False)
        return probe.returncode == 0 or None

    wait_until(exec_mapped, "kwok to map the exec of postgres-0")
    yield {"namespace": namespace, "pod": "postgres-0", "container": "postgres",
           "kubeconfig": exec_cluster["kubeconfig"]}
    kubectl(exec_cluster, "delete", "namespace", namespace, "--wait=false")


@pytest.fixture(scope="module")
def platform(server):
    name = server.create(unique("pgb_exec"))
    populate(server, name)
    yield name
    server.drop(name)


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_backup_through_pod_exec_restores_same_rows(server, platform, database_pod, tmp_path, fmt):
    transport = {"type": "kubernetes", **database_pod}
    result = server.run(database=platform, dest=str(tmp_path), label="exec", format=fmt, verify="archive",
                        transport=transport)
    assert not result.failed, result.get("msg")
    backup = result["backups"][0] if "backups" in result else result["backup"]
    path = Path(backup["local"]["path"])
    assert path.is_file() and path.stat().st_size > 0
    assert backup["verification"]["status"] == "passed", backup["verification"]
    expected = server.counts(platform)
    manifest = json.loads(Path(backup["local"]["manifest_path"]).read_text())
    assert manifest["row_counts"] == expected
    target = unique("pgb_exec_restored")
    try:
        restored = server.run(module=RESTORE_MODULE, database=target, src=str(path))
        assert not restored.failed, restored.get("msg")
        assert server.counts(target) == expected
        assert server.fingerprint(target) == server.fingerprint(platform)
    finally:
        server.drop(target)


def test_missing_pod_fails_cleanly_and_leaves_no_file(server, platform, database_pod, tmp_path):
    transport = {"type": "kubernetes", **database_pod, "pod": "postgres-9"}
    result = server.run(database=platform, dest=str(tmp_path), label="exec", transport=transport)
    assert result.failed
    assert "postgres-9" in result["msg"]
    assert list(tmp_path.iterdir()) == []
