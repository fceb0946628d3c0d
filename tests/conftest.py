"""Shared pytest fixtures: real local services for the integration tier.

If ``SRE_SERVICES_FILE`` names a running set (``make services-up``, the demo), the tests
use it; otherwise the session starts its own set in a temporary directory and stops it
at the end, so nothing is left running after a test run.
"""

from __future__ import annotations

import json
import os
import signal
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.harness import services as harness  # noqa: E402


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # A CI cancel or `make test`'s own cleanup sends SIGTERM; as a KeyboardInterrupt pytest still
    # runs the fixtures' teardown, so the services and the cluster session stop instead of leaking.
    signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="session")
def services():
    """Connection details of the real PostgreSQL, Redis, S3 and Prometheus (a dict)."""
    existing = os.environ.get("SRE_SERVICES_FILE")
    if existing and Path(existing).exists():
        yield json.loads(Path(existing).read_text())
        return
    # Not under pytest's tmp_path: that is mode 0700 and PostgreSQL runs as 'postgres'.
    run_dir = Path(tempfile.mkdtemp(prefix="sre-services-"))
    os.chmod(run_dir, 0o755)
    try:
        state = harness.up(run_dir)
    except harness.ServiceError as exc:
        pytest.fail(f"local services could not start: {exc}")
    yield state
    harness.down(run_dir)


# --- Kubernetes: the local control plane (tests/harness/k8s.py, tests/k8s/README.md) ---------

import contextlib  # noqa: E402

from tests.harness import k8s as k8s_harness  # noqa: E402


@pytest.fixture(scope="session")
def k8s_cluster():
    """The local Kubernetes cluster (real apiserver/controllers, kwok nodes) on loopback.

    Yields a ``k8s_harness.Cluster`` (``.kubeconfig``, ``.server``, ``.kubectl(...)``, ``.env``;
    ``cluster["kubeconfig"]`` works too). Reuses a running cluster; one started by ``make k8s-up``
    is left running, one started by test sessions is deleted when the last of them ends.
    KUBECONFIG and K8S_AUTH_KUBECONFIG point at it meanwhile, so kubectl, the kubernetes client,
    kubernetes.core and our modules find it.
    """
    with contextlib.ExitStack() as stack:
        try:
            cluster = stack.enter_context(k8s_harness.session("pytest"))
        except k8s_harness.K8sError as exc:
            pytest.fail(f"local Kubernetes control plane could not start: {exc}")
        saved = {key: os.environ.get(key) for key in cluster.env}
        os.environ.update(cluster.env)
        try:
            yield cluster
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# --- Kafka: a KRaft broker from Maven Central jars (tests/harness/kafka.py) ------------------

from tests.harness import kafka as kafka_harness  # noqa: E402


@pytest.fixture(scope="session")
def kafka():
    """A real Apache Kafka broker on loopback: ``{"bootstrap_servers", "port", "log", ...}``.

    Lazy: only sessions whose tests ask for it pay the JVM start. ``KAFKA_BOOTSTRAP_SERVERS``
    names it meanwhile (an existing value is honoured: a broker started by hand is reused and
    left running); the broker and its data are removed at the end of the session.
    """
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        yield {"bootstrap_servers": existing}
        return
    run_dir = Path(tempfile.mkdtemp(prefix="sre-kafka-"))
    try:
        state = kafka_harness.start(run_dir)
    except kafka_harness.KafkaError as exc:
        pytest.fail(f"the local Kafka broker could not start: {exc}")
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = state["bootstrap_servers"]
    try:
        yield state
    finally:
        os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        kafka_harness.stop(state)
        shutil.rmtree(run_dir, ignore_errors=True)
