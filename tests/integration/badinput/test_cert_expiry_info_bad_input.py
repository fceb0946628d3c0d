"""cert_expiry_info given hostile arguments, endpoints that do not speak TLS, a CA bundle that
is not one, a missing namespace and a Secret whose certificate cannot be parsed: one sentence each."""

from __future__ import annotations

import base64

import pytest

from tests.harness.certs import plain_server
from tests.integration.badinput.hostile import BlackHole, closed_port
from tests.integration.badinput.kube_cases import SECRETS, hangs, run_kube_cases
from tests.integration.badinput.suite import Case, assert_outcome
from ansible_collections.sre.runbooks.plugins.module_utils._tls.cert_expiry_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.cert_expiry_info"


@pytest.fixture(scope="module")
def cluster_namespace(k8s_cluster):
    """A namespace with a kubernetes.io/tls Secret whose tls.crt cannot be parsed."""
    namespace = "badinput-c4"
    k8s_cluster.kubectl("create", "namespace", namespace)
    garbage = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
    manifest = ('{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": "bad"}, '
                f'"data": {{"tls.crt": "{garbage}", "tls.key": "eA=="}}}}')
    k8s_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)
    yield namespace
    k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


@pytest.fixture(scope="module")
def outcome(kube, traps, fake, k8s_cluster, cluster_namespace):
    # The kubeconfig cases of kube_cases.py are left out here: connect() is the same for every Kubernetes
    # module and they run for each of the others; this module has no secret of its own to leak.
    base = {"kubeconfig": kube["refused"], "namespaces": ["default"], "api_key": SECRETS[1]}
    cluster = {"kubeconfig": str(k8s_cluster.kubeconfig)}
    not_pem = traps["root"] / "not-a-bundle.pem"
    not_pem.write_text("these are not CA certificates\n")
    blackhole = BlackHole()
    with plain_server() as plain:
        def at(port, **extra):
            return {**base, "namespaces": [], "endpoints": [{"host": "127.0.0.1", "port": port, **extra}]}
        hand = [
            Case("missing namespace", {**cluster, "namespaces": ["no-such-namespace"]}, True,
                 mentions="Namespace no-such-namespace does not exist."),
            Case("unparsable certificate", {**cluster, "namespaces": [cluster_namespace]}, True,
                 mentions=f"Secret {cluster_namespace}/bad (tls.crt) holds a certificate that cannot be parsed"),
            Case("non-TLS port", at(plain), True, mentions="probably not a TLS port"),
            Case("HTTP server, not TLS", at(int(fake["html"].url.rsplit(":", 1)[1])), True,
                 mentions="probably not a TLS port"),
            Case("closed port", at(closed_port()), True, mentions="connection refused"),
            Case("server that never answers", {**at(blackhole.port), "timeout": 1}, True, mentions="no answer within"),
            Case("host that does not resolve", {**at(443), "endpoints": [{"host": "no-such-host.invalid"}]}, True),
            Case("ca_path not PEM", {**at(plain), "ca_path": str(not_pem)}, True, mentions="is not a PEM bundle"),
            Case("ca_path missing", {**at(plain), "ca_path": str(traps["root"] / "none.pem")}, True,
                 mentions="does not exist"),
            Case("ca_path a directory", {**at(plain), "ca_path": str(traps["root"])}, True),
            Case("host with a slash", {**at(443), "endpoints": [{"host": "a/b"}]}, True),
            Case("port 0", at(0), True),
            Case("endpoints as text", {**base, "endpoints": "127.0.0.1:443"}, True),
            Case("endpoint without host", {**base, "endpoints": [{"port": 443}]}, True),
            Case("timeout nan", {**at(plain), "timeout": "nan"}, True),
            Case("timeout 0", {**at(plain), "timeout": 0}, True),
            Case("warning_days negative", {**base, "warning_days": -1}, True),
            Case("critical above warning", {**base, "warning_days": 7, "critical_days": 30}, True,
                 mentions="critical_days"),
            Case("nothing to check", {**base, "namespaces": []}, True),
            Case("namespace invalid", {**base, "namespaces": ["Not_A_Namespace"]}, True),
            Case("NUL in a namespace", {**base, "namespaces": ["default\x00x"]}, True),
            Case("include unknown", {**base, "include": ["pods"]}, True),
        ]
        try:
            yield run_kube_cases(MODULE, argument_spec(), base, hand, traps)
        finally:
            blackhole.close()


def test_cert_expiry_info_bad_input(outcome):
    cases, result = outcome
    assert_outcome(cases, result)


def test_cert_expiry_info_ends_within_request_timeout_on_an_api_that_never_answers(kube):
    args = {"namespaces": ["default"], "kubeconfig": kube["blackhole"], "request_timeout": 3}
    # request_timeout 3 s, at most two attempts; the rest of the budget is ansible-playbook's start, which took
    # over 12 s (the helper's default) once at a load average of 10. Without the timeout it hangs for 120 s.
    assert hangs(MODULE, args, seconds=20) is None
