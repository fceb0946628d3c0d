"""k8s_dependency_check (I7) through the real pods/exec API of the local control plane.

kwok plays the kubelet: a kwok ``Exec`` object maps exec in the pod's container to a process on this
host, so the module's probe really travels apiserver -> kubelet (kwok) -> process, and its DNS lookups
and TCP connects reach the harness's PostgreSQL and Redis on 127.0.0.1. A port nobody listens on and
a name that does not resolve must come back as such, one sentence each; a missing pod or container
interpreter fails the task with one sentence.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

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
def app_pod(k8s_cluster, core):
    """Namespace with the ready pod ``api-0`` (app=api) whose container ``app`` execs on this host."""
    ns = f"deps-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    manifests = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-0", "namespace": ns, "labels": {"app": "api"}},
         "spec": {"containers": [{"name": "app", "image": "registry.example.com/api:1"}]}},
        # The container's PATH: this interpreter's folder first, so python3 is the one the tests run with.
        {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec", "metadata": {"name": "api-0", "namespace": ns},
         "spec": {"execs": [{"containers": ["app"], "local": {"workDir": "/tmp", "envs": [
             {"name": "PATH", "value": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"}]}}]}},
    ]
    k8s_cluster.kubectl("apply", "-f", "-", input="\n".join(json.dumps(doc) for doc in manifests))
    k8s_cluster.kubectl("-n", ns, "wait", "--for=condition=Ready", "pod/api-0", "--timeout=60s")
    # kwok picks the Exec object up through a watch: poll until an exec is mapped.
    wait_until(lambda: k8s_cluster.kubectl("-n", ns, "exec", "api-0", "-c", "app", "--", "python3", "-c", "print(1)",
                                           check=False).returncode == 0 or None,
               "kwok to map the exec of api-0", timeout=60)
    yield ns
    core.delete_namespace(ns)


@pytest.fixture(scope="module")
def outcomes(app_pod, services):
    pg, redis = services["postgres"], services["redis"]
    closed = closed_port()
    targets = [{"name": "database", "host": "localhost", "port": int(pg["port"])},
               f"{redis['host']}:{redis['port']}",
               {"name": "kafka", "host": "127.0.0.1", "port": closed},
               "kafka-0.no-such-namespace.invalid:9092"]
    calls = [
        {"args": {"namespace": app_pod, "label_selector": "app=api", "targets": targets, "timeout": 2}},
        {"args": {"namespace": app_pod, "pod": "api-0", "container": "app", "targets": targets[:2]}, "check": True},
        {"args": {"namespace": app_pod, "pod": "api-9", "targets": targets[:1]}},
        {"args": {"namespace": app_pod, "pod": "api-0", "targets": targets[:1], "interpreter": "python9"}},
        {"args": {"namespace": app_pod, "label_selector": "app=nothing", "targets": targets[:1]}},
        {"args": {"namespace": app_pod, "pod": "api-0", "targets": ["redis"]}},
    ]
    return dict(zip(["verdicts", "check_mode", "no_pod", "no_interpreter", "no_match", "bad_target"],
                    run_module_batch(MODULE, calls))), {"pg": pg, "redis": redis, "closed": closed}


def test_verdicts_per_target(outcomes):
    results, seen = outcomes
    result = results["verdicts"]
    assert not result.get("failed"), result
    assert result["pod"] == "api-0" and result["changed"] is False
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
    ("no_interpreter", "The dependency probe could not run with python9 in pod {ns}/api-0"),
    ("no_match", "No running and ready pod in namespace {ns} matches app=nothing."),
    ("bad_target", "The target 'redis' is not host:port."),
])
def test_bad_input_one_sentence(outcomes, app_pod, case, words):
    result = outcomes[0][case]
    assert result.get("failed"), result
    assert result["msg"].startswith(words.format(ns=app_pod)), result["msg"]
    assert "\n" not in result["msg"] and "Traceback" not in result["msg"]
