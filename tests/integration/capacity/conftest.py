"""Fixtures of the capacity tests (S3-S5): the local control plane with the workloads of history.py, and a
Prometheus of the module's own that starts on their promtool-backfilled history.

The namespaces are created once per test module and deleted afterwards; the Prometheus is the
``private_prometheus`` fixture of tests/integration/conftest.py (not the session's shared one).
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.integration.capacity.history import openmetrics
from tests.integration.k8s.conftest import api, apps, core  # noqa: F401 - re-exported fixtures
from tests.integration.waiting import wait_until

__all__ = ["api", "apps", "core"]

WAIT = 60


def container(name, requests=None, limits=None):
    return {"name": name, "image": f"registry.example.com/{name}:1",
            "resources": {key: value for key, value in (("requests", requests), ("limits", limits)) if value}}


def workload(kind, name, containers, replicas=1, **spec):
    labels = {"app": name}
    body = {"metadata": {"name": name, "labels": {**labels, "suite": "capacity"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}, **spec}}
    if kind == "StatefulSet":
        body["spec"]["serviceName"] = name
    return body


WORKLOADS = [
    ("Deployment", workload("Deployment", "web", [
        container("app", {"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "512Mi"}),
        container("sidecar", {"cpu": "50m", "memory": "64Mi"}, {"memory": "64Mi"})], replicas=2)),
    ("Deployment", workload("Deployment", "web-api", [container("api", {"cpu": "2", "memory": "2Gi"})])),
    # No history at all; a short progress deadline for the failed-rollout test.
    ("Deployment", workload("Deployment", "idle", [container("idle", {"cpu": "100m", "memory": "128Mi"})],
                            progressDeadlineSeconds=3)),
    ("StatefulSet", workload("StatefulSet", "db", [container("postgres", {"cpu": "500m", "memory": "1Gi"})],
                             replicas=2)),
]


def rolled_out(apps, kind, namespace, name):
    read = apps.read_namespaced_deployment if kind == "Deployment" else apps.read_namespaced_stateful_set
    obj = read(name, namespace)
    status, want = obj.status, obj.spec.replicas
    done = (status.observed_generation == obj.metadata.generation and (status.ready_replicas or 0) == want
            and (status.updated_replicas or 0) == want and (status.replicas or 0) == want)
    return obj if done else None


@pytest.fixture(scope="module")
def capacity(core, apps, private_prometheus):
    """{"ns", "other_ns", "end", "prometheus"}: the workloads rolled out, and their history ending at ``end``."""
    suffix = uuid.uuid4().hex[:6]
    ns, other_ns = f"capacity-{suffix}", f"capacity-other-{suffix}"
    # A multiple of the step, so Prometheus' subquery steps (aligned to the epoch) fall on the same times.
    end = int(time.time()) // 300 * 300 - 600
    prometheus = private_prometheus(openmetrics(ns, other_ns, end))
    for name in (ns, other_ns):
        core.create_namespace({"metadata": {"name": name}})
    create = {"Deployment": apps.create_namespaced_deployment, "StatefulSet": apps.create_namespaced_stateful_set}
    for kind, body in WORKLOADS:
        create[kind](ns, body)
    for kind, body in WORKLOADS:
        wait_until(lambda: rolled_out(apps, kind, ns, body["metadata"]["name"]),
                   f"{kind} {body['metadata']['name']} rolled out", timeout=WAIT)
    yield {"ns": ns, "other_ns": other_ns, "end": end, "prometheus": prometheus}
    for name in (ns, other_ns):
        core.delete_namespace(name)
