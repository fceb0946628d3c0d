"""cert_expiry_info (C4) against TLS servers on 127.0.0.1 and the real control plane.

Certificates are made in the test (tests/harness/certs.py): valid (200 days), soon-expiring (5 days)
and expired (3 days ago), served over TLS, stored in kubernetes.io/tls Secrets and described by
cert-manager Certificates (CRD fixture, status written by the test). The module runs through
ansible-playbook, all calls of a test in one run; the Secrets are read back to show nothing changed.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.harness.certs import plain_server, tls_server  # noqa: E402
from tests.integration.k8s.tls_fixtures import (  # noqa: E402
    DAYS, World, create_certificate, install_certificate_crd, tls_secret)
from tests.integration.module_batch import run_module_batch  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.cert_expiry_info"


@pytest.fixture(scope="module")
def world(k8s_cluster, api, core, tmp_path_factory):
    """The certificates, their TLS servers (ports), a namespace with the Secrets and Certificates."""
    tmp = tmp_path_factory.mktemp("tls")
    made = World()
    (tmp / "ca.pem").write_bytes(made.ca.pem())
    install_certificate_crd(k8s_cluster, api)
    namespace = f"certs-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": namespace}})
    custom = k8s.CustomObjectsApi(api)
    for name, issued in made.issued.items():
        core.create_namespaced_secret(namespace, tls_secret(namespace, f"{name}-tls", issued.pem(), issued.key_pem()))
    for name, days in DAYS.items():
        create_certificate(custom, namespace, name, days, ready=days > 0, reason="Ready" if days > 0 else "Expired")
    # Secrets of other types are not read
    core.create_namespaced_secret(namespace, {"metadata": {"name": "opaque"}, "stringData": {"tls.crt": "x"}})
    with contextlib.ExitStack() as stack:
        ports = {name: stack.enter_context(tls_server(issued, tmp)) for name, issued in made.issued.items()}
        ports["plain"] = stack.enter_context(plain_server())
        yield {"namespace": namespace, "ports": ports, "ca": str(tmp / "ca.pem"), "core": core, "custom": custom}
    core.delete_namespace(namespace)


def endpoint(world, name, **extra):
    return {"host": "127.0.0.1", "port": world["ports"][name], "server_name": f"{name}.test", **extra}


def rows_by(result, source):
    return {row["name"]: row for row in result["certificates"] if row["source"] == source}


def test_expired_and_soon_expiring_reported_with_days_left_from_all_three_sources(world):
    ns = world["namespace"]
    args = {"endpoints": [endpoint(world, name) for name in ("valid", "soon", "expired", "chain")],
            "ca_path": world["ca"], "namespaces": [ns], "warning_days": 30, "critical_days": 7}
    versions = {s.metadata.name: s.metadata.resource_version for s in world["core"].list_namespaced_secret(ns).items}
    check, real = run_module_batch(MODULE, [{"args": args, "check": True}, {"args": args}])
    for result in (check, real):
        assert not result.failed and not result.changed, result.output
        assert result["cert_manager"]["available"] is True and result["errors"] == []

        endpoints = rows_by(result, "endpoint")
        secrets = rows_by(result, "secret")
        certificates = rows_by(result, "certificate")
        port = world["ports"]
        for name, days in DAYS.items():
            for row in (endpoints[f"127.0.0.1:{port[name]}"], secrets[f"{name}-tls"], certificates[name]):
                assert row["days_left"] == days and row["expired"] is (days < 0), row
                assert row["severity"] == ("ok" if days > 30 else "critical"), row
        assert endpoints[f"127.0.0.1:{port['valid']}"]["verified"] is True
        assert endpoints[f"127.0.0.1:{port['soon']}"]["hostname_match"] is True
        assert "expires in 5 days" in secrets["soon-tls"]["message"]
        assert "expired 3 days ago" in certificates["expired"]["message"]
        assert "it is not Ready (Expired: Certificate expired)" in certificates["expired"]["message"]
        assert certificates["soon"]["issuer"] == "ClusterIssuer/test-ca"
        assert certificates["soon"]["secret_name"] == "soon-tls"
        assert secrets["valid-tls"]["sans"] == ["DNS:valid.test", "IP:127.0.0.1"]
        assert secrets["valid-tls"]["issuer"] == "CN=sre.runbooks test CA"
        # a chain in tls.crt: its intermediate expires first, and the server sends it along
        chain = secrets["chain-tls"]
        assert chain["days_left"] == 5 and chain["expires_first"] == "CN=issuing CA" and len(chain["chain"]) == 2
        assert endpoints[f"127.0.0.1:{port['chain']}"]["verified"] is True
        assert "opaque" not in secrets
        critical = {(p["source"], p["name"]) for p in result["problems"] if p["severity"] == "critical"}
        assert critical == {("endpoint", f"127.0.0.1:{port['soon']}"), ("endpoint", f"127.0.0.1:{port['expired']}"),
                            ("endpoint", f"127.0.0.1:{port['chain']}"),
                            ("secret", "soon-tls"), ("secret", "expired-tls"), ("secret", "chain-tls"),
                            ("certificate", "soon"), ("certificate", "expired")}
        assert result["summary"]["min_days_left"] == -3 and result["summary"]["total"] == 11
    # read-only: the Secrets are as they were
    after = {s.metadata.name: s.metadata.resource_version for s in world["core"].list_namespaced_secret(ns).items}
    assert after == versions


@pytest.fixture(scope="module")
def edge_cases(world):
    """One ansible-playbook run for the threshold, trust, name and bad-source calls below (results by name)."""
    ns = world["namespace"]
    world["core"].create_namespaced_secret(ns, {"metadata": {"name": "garbage-tls"}, "type": "kubernetes.io/tls",
                                                "stringData": {"tls.crt": "-----BEGIN CERTIFICATE-----\nnope\n"
                                                                          "-----END CERTIFICATE-----\n",
                                                               "tls.key": "x"}})
    plain = [{"host": "127.0.0.1", "port": world["ports"]["plain"]}]
    calls = {
        "wide": {"endpoints": [endpoint(world, "soon")], "ca_path": world["ca"], "warning_days": 10,
                 "critical_days": 2},
        "system_store": {"endpoints": [endpoint(world, "valid")]},
        "wrong_name": {"endpoints": [endpoint(world, "valid", server_name="api.other.test")], "ca_path": world["ca"]},
        "plain": {"endpoints": plain},
        "report": {"endpoints": plain, "namespaces": [ns, "no-such-namespace-c4"], "include": ["secrets"],
                   "on_error": "report"},
    }
    try:
        results = run_module_batch(MODULE, [{"args": args} for args in calls.values()])
    finally:
        world["core"].delete_namespaced_secret("garbage-tls", ns)
    return dict(zip(calls, results))


def test_thresholds_untrusted_chain_and_wrong_name(edge_cases):
    soon, untrusted, mismatch = edge_cases["wide"], edge_cases["system_store"], edge_cases["wrong_name"]
    [row] = soon["certificates"]
    assert (row["severity"], row["days_left"]) == ("warning", 5), soon.output
    [row] = untrusted["certificates"]
    assert row["severity"] == "critical" and row["verified"] is False and row["days_left"] == 200, untrusted.output
    assert "its chain is not trusted: unable to get local issuer certificate" in row["message"]
    [row] = mismatch["certificates"]
    assert row["severity"] == "critical" and row["hostname_match"] is False and row["verified"] is True
    assert "does not name api.other.test" in row["message"]


def test_bad_sources_fail_in_one_sentence_or_become_critical_rows(world, edge_cases):
    failed, report = edge_cases["plain"], edge_cases["report"]
    # (the other sentences are cases of tests/integration/badinput/test_cert_expiry_info_bad_input.py)
    assert failed.failed and failed["msg"].startswith(f"TLS endpoint 127.0.0.1:{world['ports']['plain']}: "
                                                      "no TLS handshake ("), failed.output
    assert failed["msg"].endswith("so it is probably not a TLS port.") and "\n" not in failed["msg"]
    assert not report.failed and len(report["errors"]) == 3, report.output
    bad = [row for row in report["certificates"] if row.get("error")]
    assert {row["source"] for row in bad} == {"endpoint", "namespace", "secret"}
    assert all(row["severity"] == "critical" for row in bad)
    assert report["summary"]["critical"] == 3 + 3  # the three bad ones, soon, expired and chain Secrets
