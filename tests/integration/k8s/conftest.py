"""Fixtures the Kubernetes integration tests share: API clients for the local control plane and
a namespace per test. The cluster itself is the session fixture ``k8s_cluster`` in tests/conftest.py
(playbook tests outside this folder use it too).
"""

from __future__ import annotations

import sys
import uuid

import pytest

from tests.integration.module_runner import COLLECTIONS, ensure_collection_link

# Tests here import the collection's module_utils (the vault format) to read what the modules wrote.
ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402


@pytest.fixture(scope="module")
def api(k8s_cluster):
    # A client of its own rather than the kubernetes package's global default, so tests that
    # load another kubeconfig do not redirect this one.
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=k8s_cluster.kubeconfig, client_configuration=configuration)
    with k8s.ApiClient(configuration) as api_client:
        yield api_client


@pytest.fixture(scope="module")
def core(api):
    return k8s.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api):
    return k8s.AppsV1Api(api)


@pytest.fixture
def ns(core, request):
    """A namespace named after the test (and unique), deleted afterwards."""
    name = f"t-{request.node.name.replace('_', '-')[5:35].strip('-')}-{uuid.uuid4().hex[:6]}".lower()
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)
