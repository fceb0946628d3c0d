"""k8s_secret_rotate (C1) against the real control plane (and, for the role variant, the real PostgreSQL).

A namespace holds Secret ``db`` and five workloads: three read its ``password`` key (a Deployment by
env secretKeyRef, a StatefulSet by envFrom, a DaemonSet by a projected volume), one reads only its
``username`` key and one reads nothing. Only the three may restart. The module runs through
ansible-playbook; assertions read the Secret, the workloads and the role's logins back from the servers.
"""

from __future__ import annotations

import base64
import datetime
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
psycopg2 = pytest.importorskip("psycopg2")
from psycopg2 import sql  # noqa: E402

from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_secret_rotate"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
OLD = "old-Value-7fQ2"


def env_ref(key):
    return [{"name": "SECRET_VALUE", "valueFrom": {"secretKeyRef": {"name": "db", "key": key}}}]


def pod_spec(env=None, env_from=None, volumes=None):
    container = {"name": "app", "image": "app:1", "env": env or [], "envFrom": env_from or []}
    return {"containers": [container], "volumes": volumes or []}


def workload(name, spec, replicas=1):
    labels = {"app": name}
    body = {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": labels},
                                                 "template": {"metadata": {"labels": labels}, "spec": spec}}}
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    return body


WORKLOADS = {
    ("Deployment", "api"): pod_spec(env=env_ref("password")),
    ("StatefulSet", "worker"): pod_spec(env_from=[{"secretRef": {"name": "db"}}]),
    ("DaemonSet", "agent"): pod_spec(volumes=[{"name": "creds", "projected": {"sources": [
        {"secret": {"name": "db", "items": [{"key": "password", "path": "pw"}]}}]}}]),
    ("Deployment", "reads-username"): pod_spec(env=env_ref("username")),
    ("Deployment", "bystander"): pod_spec(),
}
CONSUMERS = [("Deployment", "api"), ("StatefulSet", "worker"), ("DaemonSet", "agent")]


def create_workloads(apps, ns):
    for (kind, name), spec in WORKLOADS.items():
        if kind == "Deployment":
            apps.create_namespaced_deployment(ns, workload(name, spec))
        elif kind == "StatefulSet":
            body = workload(name, spec)
            body["spec"]["serviceName"] = name
            apps.create_namespaced_stateful_set(ns, body)
        else:
            apps.create_namespaced_daemon_set(ns, workload(name, spec, replicas=None))


def read(apps, kind, ns, name):
    reader = {"Deployment": apps.read_namespaced_deployment, "StatefulSet": apps.read_namespaced_stateful_set,
              "DaemonSet": apps.read_namespaced_daemon_set}[kind]
    return reader(name, ns)


def restarted_at(apps, ns):
    return {(kind, name): (read(apps, kind, ns, name).spec.template.metadata.annotations or {}).get(RESTARTED_AT)
            for kind, name in WORKLOADS}


def secret_value(core, ns, name="db", key="password"):
    secret = core.read_namespaced_secret(name, ns)
    return base64.b64decode(secret.data[key]).decode(), secret.metadata.annotations or {}


def settled(apps, ns):
    """Every workload rolled out (observed, all replicas updated and available)."""
    for kind, name in WORKLOADS:
        obj = read(apps, kind, ns, name)
        status = obj.status
        if kind == "DaemonSet":
            if not status.desired_number_scheduled or status.number_available != status.desired_number_scheduled:
                return False
        elif (status.available_replicas or 0) != obj.spec.replicas:
            return False
        if status.observed_generation != obj.metadata.generation:
            return False
    return True


@pytest.fixture(scope="module")
def rotation_ns(core, apps):
    ns = f"rotate-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "db"}, "stringData": {"password": OLD, "username": "app"}})
    create_workloads(apps, ns)
    wait_until(lambda: settled(apps, ns), "the workloads to roll out", timeout=90)
    yield ns
    core.delete_namespace(ns)


def test_rotation_restarts_exactly_the_consumers_and_check_mode_changes_nothing(core, apps, rotation_ns):
    ns = rotation_ns
    args = {"namespace": ns, "name": "db", "key": "password", "wait_timeout": 90}
    [check] = run_module_batch(MODULE, [{"args": args, "check": True, "diff": True}])
    assert not check.failed and check.changed, check.output
    assert [(c["kind"], c["name"]) for c in check["consumers"]] == CONSUMERS
    assert check["consumers"][0]["references"] == ["env SECRET_VALUE of container app"]
    assert not any(c["restarted"] for c in check["consumers"])
    assert check["diff"]["after"]["restarted"] == ["Deployment/api", "StatefulSet/worker", "DaemonSet/agent"]
    assert OLD not in check.output
    assert secret_value(core, ns) == (OLD, {})
    assert set(restarted_at(apps, ns).values()) == {None}

    new = f"n3w-{uuid.uuid4().hex}"
    real, check_again, real_again = run_module_batch(MODULE, [
        {"args": {**args, "value": new}, "diff": True}, {"args": {**args, "value": new}, "check": True},
        {"args": {**args, "value": new}}])
    assert not real.failed and real.changed, real.output
    assert [c["wait"]["outcome"] for c in real["consumers"]] == ["complete"] * 3
    for again in (check_again, real_again):
        assert not again.failed and not again.changed, again.output
        assert [(c["kind"], c["name"], c["restarted"]) for c in again["consumers"]] == [
            (kind, name, False) for kind, name in CONSUMERS]
    for text in (new, OLD):
        assert text not in real.output + check_again.output + real_again.output

    value, annotations = secret_value(core, ns)
    rotated = datetime.datetime.fromisoformat(annotations["sre.runbooks/rotated-at"].replace("Z", "+00:00"))
    assert value == new and annotations["sre.runbooks/rotated-at"].endswith("Z")
    assert abs((datetime.datetime.now(datetime.timezone.utc) - rotated).total_seconds()) < 300
    assert secret_value(core, ns, key="username")[0] == "app"
    restarts = restarted_at(apps, ns)
    assert {ref for ref, when in restarts.items() if when} == set(CONSUMERS), restarts
    assert restarts[("Deployment", "api")] == annotations["sre.runbooks/rotated-at"]
    assert settled(apps, ns)


@pytest.fixture
def pg_role(services):
    server = services["postgres"]
    role = f"c1_app_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(host=server["host"], port=server["port"], user=server["user"],
                             password=server["password"], dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (OLD,))
    yield server, role
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    admin.close()


def logs_in(server, role, password):
    try:
        psycopg2.connect(host=server["host"], port=server["port"], user=role, password=password,
                         dbname="postgres", connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        assert "password authentication failed" in str(exc), exc
        return False
    return True


def test_postgres_role_and_secret_rotate_together(core, apps, rotation_ns, pg_role):
    server, role = pg_role
    ns = rotation_ns
    core.create_namespaced_secret(ns, {"metadata": {"name": "pg"}, "stringData": {"password": OLD}})
    apps.create_namespaced_deployment(ns, workload("pg-client", pod_spec(env=[
        {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "password"}}}])))
    postgres = {"host": server["host"], "port": server["port"], "user": server["user"],
                "password": server["password"], "database": "postgres", "role": role}
    args = {"namespace": ns, "name": "pg", "key": "password", "postgres": postgres, "wait_timeout": 90}
    check, real = run_module_batch(MODULE, [{"args": args, "check": True}, {"args": args}])
    assert not check.failed and check.changed and check["postgres"]["password_set"] is False, check.output
    assert [(c["kind"], c["name"]) for c in check["consumers"]] == [("Deployment", "pg-client")]
    assert not real.failed and real.changed, real.output
    assert real["postgres"] == {"role": role, "password_set": True, "login_verified": True,
                                "old_password_rejected": True}
    new, annotations = secret_value(core, ns, name="pg")
    assert len(new) == 44 and base64.b64decode(new) and "sre.runbooks/rotated-at" in annotations
    assert new not in real.output + check.output and OLD not in real.output
    assert logs_in(server, role, new) and not logs_in(server, role, OLD)
    assert real["consumers"][0]["restarted"] and real["consumers"][0]["wait"]["outcome"] == "complete"
