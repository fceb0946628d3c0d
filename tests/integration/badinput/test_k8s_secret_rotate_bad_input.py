"""k8s_secret_rotate given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers),
then a missing Secret, a missing namespace and an unreachable PostgreSQL on the cluster: one sentence each, no
value printed, nothing changed."""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.badinput.hostile import canary, closed_port
from tests.integration.badinput.kube_cases import SECRETS, hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case, assert_outcome
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.secret_rotate_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_secret_rotate"
VALUE = canary("rotated-value")
PG_PASSWORD = canary("pg-admin")
ALL_SECRETS = (*SECRETS, VALUE, PG_PASSWORD)


@pytest.fixture(scope="module")
def cluster_namespace(k8s_cluster):
    """A namespace with Secret db (password=old), which no case may change."""
    namespace = "badinput-c1"
    k8s_cluster.kubectl("create", "namespace", namespace)
    k8s_cluster.kubectl("create", "secret", "generic", "db", "-n", namespace, "--from-literal=password=old")
    yield namespace
    k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


@pytest.fixture(scope="module")
def outcome(kube, traps, k8s_cluster, cluster_namespace):
    base = {"kubeconfig": kube["refused"], "namespace": "default", "name": "db", "key": "password",
            "value": VALUE, "api_key": SECRETS[1]}
    pg = {"role": "app", "host": "127.0.0.1", "port": closed_port(), "password": PG_PASSWORD}
    generated = {key: value for key, value in base.items() if key != "value"}
    on_cluster = {**base, "kubeconfig": str(k8s_cluster.kubeconfig), "namespace": cluster_namespace}
    # Two of the shared kubeconfig cases (connect() is every Kubernetes module's and they all run there): enough
    # to show that the value and the PostgreSQL password never leak when the connection fails.
    hand = [case for case in kubeconfig_cases(base, kube, traps)
            if case.name in ("kubeconfig file not_yaml", "kubeconfig dict with clusters oops")] + [
        Case("missing Secret", {**on_cluster, "name": "nope"}, True,
             mentions=f"Secret {cluster_namespace}/nope does not exist."),
        Case("missing namespace", {**on_cluster, "namespace": "no-such-namespace"}, True,
             mentions="Secret no-such-namespace/db does not exist."),
        Case("unreachable PostgreSQL", {**on_cluster, "postgres": {**pg, "connect_timeout": 3}}, True,
             mentions="Cannot connect to PostgreSQL at 127.0.0.1:"),
        Case("value empty", {**base, "value": ""}, True),
        Case("value and alphabet", {**base, "alphabet": "abc"}, True, mentions="not both"),
        Case("alphabet of one character", {**generated, "alphabet": "aaaa"}, True,
             mentions="two different characters"),
        Case("length 0", {**generated, "length": 0}, True),
        Case("length 10**9", {**generated, "length": 10 ** 9}, True),
        Case("key with a slash", {**base, "key": "a/b"}, True, mentions="not a valid Secret key"),
        Case("key empty", {**base, "key": ""}, True),
        Case("namespace invalid", {**base, "namespace": "Not_Valid"}, True),
        Case("name with a slash", {**base, "name": "a/b"}, True),
        Case("NUL in value", {**base, "value": VALUE + "\x00x"}, True),
        Case("wait_timeout 0", {**base, "wait_timeout": 0}, True),
        Case("wait_timeout nan", {**base, "wait_timeout": "nan"}, True),
        Case("kinds unknown", {**base, "kinds": ["Job"]}, True),
        Case("postgres as text", {**base, "postgres": "host=db"}, True),
        Case("postgres without role", {**base, "postgres": {"host": "127.0.0.1", "password": PG_PASSWORD}}, True),
        Case("postgres port 0", {**base, "postgres": {**pg, "port": 0}}, True),
        Case("postgres sslmode unknown", {**base, "postgres": {**pg, "sslmode": "sometimes"}}, True),
    ]
    return run_kube_cases(MODULE, argument_spec(), base, hand, traps, secrets=ALL_SECRETS)


def test_k8s_secret_rotate_bad_input(outcome):
    cases, result = outcome
    assert_outcome(cases, result)


def test_k8s_secret_rotate_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespace": "default", "name": "db", "key": "password", "value": VALUE,
            "kubeconfig": kube["blackhole"], "request_timeout": 3}
    # request_timeout 3 s, at most two attempts; the rest of the budget is ansible-playbook's start, which took
    # over 12 s (the helper's default) once at a load average of 10. Without the timeout it hangs for 120 s.
    assert hangs(MODULE, args, seconds=20) is None


def test_the_secret_on_the_cluster_is_unchanged(outcome, k8s_cluster, cluster_namespace):
    del outcome  # the cases ran
    secret = json.loads(k8s_cluster.kubectl("get", "secret", "db", "-n", cluster_namespace, "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["password"]) == b"old" and not secret["metadata"].get("annotations")
