"""I4 emergency recovery (playbooks/emergency_recovery.yml) against the real control plane and Redis.

The namespace holds the application (Deployments ``api`` with 2 replicas and ``worker`` with 1) and
its infrastructure (StatefulSet ``queue``); Redis database 7 is its cache. The run must refuse
without the confirmation, then go through every step. A run whose infrastructure list names a
missing StatefulSet stops at restart_infra with the application at 0; fixed and run again, it
resumes there - the cache is not flushed a second time (a key written meanwhile survives) and the
application comes back to the replicas recorded before the scale-down.
"""

from __future__ import annotations

import json
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
redis = pytest.importorskip("redis")

from tests.harness.services import service_env  # noqa: E402
from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

DB = 7
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def workload(name, replicas):
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                                                 "template": {"metadata": {"labels": labels},
                                                              "spec": {"containers": [{"name": "c", "image": f"{name}:1"}]}}}}


@pytest.fixture(scope="module")
def ns(k8s_cluster, core, apps):
    name = f"i4-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    apps.create_namespaced_deployment(name, workload("api", 2))
    apps.create_namespaced_deployment(name, workload("worker", 1))
    queue = workload("queue", 1)
    queue["spec"]["serviceName"] = "queue"
    apps.create_namespaced_stateful_set(name, queue)

    def ready():
        return ((apps.read_namespaced_deployment("api", name).status.available_replicas or 0) == 2
                and (apps.read_namespaced_deployment("worker", name).status.available_replicas or 0) == 1
                and (apps.read_namespaced_stateful_set("queue", name).status.ready_replicas or 0) == 1)

    wait_until(ready, "the application and its queue up")
    yield name
    core.delete_namespace(name)


@pytest.fixture
def cache(services):
    r = services["redis"]
    client = redis.Redis(host=r["host"], port=int(r["port"]), db=DB, password=r.get("password"), socket_timeout=10)
    client.flushdb()
    yield client
    client.flushdb()


def recover(k8s_cluster, services, report_dir, ns, expect_rc=0, **extra):
    play_vars = {"emergency_recovery_namespace": ns, "emergency_recovery_app": ["api", "worker"],
                 "emergency_recovery_infra": [{"kind": "StatefulSet", "name": "queue"}],
                 "emergency_recovery_redis_db": DB, "emergency_recovery_wait_timeout": 60,
                 "emergency_recovery_report_dir": str(report_dir), **extra}
    proc = run_playbook("playbooks/emergency_recovery.yml", play_vars,
                        env=dict(service_env(services), K8S_AUTH_KUBECONFIG=str(k8s_cluster.kubeconfig)))
    output = proc.stdout + proc.stderr
    assert proc.returncode == expect_rc, output[-6000:]
    return output


def state(report_dir, ns):
    return json.loads((report_dir / f"emergency_recovery-{ns}.json").read_text())


def test_refused_without_the_namespace_named(k8s_cluster, services, tmp_path, ns, apps):
    output = recover(k8s_cluster, services, tmp_path, ns, expect_rc=2, emergency_recovery_confirm="yes")
    assert f"confirm it with -e emergency_recovery_confirm={ns} (got \"yes\")" in output
    assert apps.read_namespaced_deployment("api", ns).spec.replicas == 2
    assert not list(tmp_path.iterdir())


def test_a_failed_run_resumes_from_the_failed_step(k8s_cluster, services, tmp_path, ns, apps, cache):
    cache.set("stale", "1")
    output = recover(k8s_cluster, services, tmp_path, ns, expect_rc=2, emergency_recovery_confirm=ns,
                     emergency_recovery_infra=[{"kind": "StatefulSet", "name": "queue-typo"}])
    assert "stopped at step restart_infra" in output and "queue-typo" in output
    first = state(tmp_path, ns)
    assert first["done"] == ["record", "scale_down", "flush_cache"] and not first["finished"]
    assert first["replicas"] == {"api": 2, "worker": 1}
    assert first["steps"][-1]["step"] == "restart_infra" and first["steps"][-1]["status"] == "failed"
    assert apps.read_namespaced_deployment("api", ns).spec.replicas == 0 and cache.get("stale") is None
    assert "NOT finished" in (tmp_path / f"emergency_recovery-{ns}.md").read_text()

    cache.set("written-after-the-flush", "1")
    output = recover(k8s_cluster, services, tmp_path, ns, emergency_recovery_confirm=ns)
    assert "Resuming the run of" in output
    done = state(tmp_path, ns)
    assert done["finished"] and done["done"] == ["record", "scale_down", "flush_cache", "restart_infra", "scale_up",
                                                 "verify"]
    assert done["started_at"] == first["started_at"]
    assert cache.get("written-after-the-flush") == b"1", "the resumed run flushed the cache again"
    assert apps.read_namespaced_deployment("api", ns).status.available_replicas == 2
    assert apps.read_namespaced_deployment("worker", ns).status.available_replicas == 1
    template = apps.read_namespaced_stateful_set("queue", ns).spec.template.metadata.annotations or {}
    assert RESTARTED_AT in template
    assert not kubernetes.client.CoordinationV1Api(apps.api_client).list_namespaced_lease(ns).items
