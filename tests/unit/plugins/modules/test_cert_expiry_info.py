"""cert_expiry_info's main(): option checks in one sentence, endpoints served by in-process TLS servers,
on_error=fail and report. Kubernetes sources are tested on the real control plane
(tests/integration/k8s/test_cert_expiry_info.py)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.modules import cert_expiry_info
from tests.harness.certs import TestCA, plain_server, tls_server

from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module


@pytest.mark.parametrize("args, words", [
    ({}, "Name at least one TLS endpoint"),
    ({"endpoints": [{"host": "a/b"}]}, "is not a host name or address"),
    ({"endpoints": [{"host": "x"}], "warning_days": 5, "critical_days": 9}, "must not be more than warning_days"),
    ({"namespaces": ["Bad_Name"]}, "is not a valid namespace name"),
    ({"endpoints": [{"host": "x", "port": 0}]}, "endpoints.port"),
])
def test_bad_options_fail_in_one_sentence(args, words):
    result = run_module(cert_expiry_info, args, expect=FailJson)
    assert words in result["msg"] and result["msg"].endswith(".") and "\n" not in result["msg"]


@pytest.fixture(scope="module")
def ca():
    return TestCA()


def test_endpoints_with_thresholds_and_ca_path(ca, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.pem())
    soon, fine = ca.issue("soon.test", 12, sans=["soon.test"]), ca.issue("fine.test", 90, sans=["fine.test"])
    with tls_server(soon, tmp_path) as soon_port, tls_server(fine, tmp_path) as fine_port:
        result = run_module(cert_expiry_info, {
            "endpoints": [{"host": "127.0.0.1", "port": soon_port, "server_name": "soon.test"},
                          {"host": "127.0.0.1", "port": fine_port, "server_name": "fine.test"}],
            "ca_path": str(bundle), "warning_days": 14, "critical_days": 3}, check=True, expect=ExitJson)
    assert not result["changed"] and result["summary"] == {"ok": 1, "warning": 1, "critical": 0, "total": 2,
                                                           "min_days_left": 12}
    [problem] = result["problems"]
    assert problem["severity"] == "warning" and problem["days_left"] == 12
    assert problem["message"] == (f"TLS endpoint 127.0.0.1:{soon_port} (CN=soon.test) expires in 12 days "
                                  f"({result['certificates'][0]['not_after']}).")


def test_non_tls_port_fails_or_is_reported(tmp_path):
    with plain_server() as port:
        args = {"endpoints": [{"host": "127.0.0.1", "port": port, "server_name": "x.test"}], "timeout": 5}
        failed = run_module(cert_expiry_info, args, expect=FailJson)
        reported = run_module(cert_expiry_info, dict(args, on_error="report"), expect=ExitJson)
    assert failed["msg"].startswith(f"TLS endpoint 127.0.0.1:{port}: no TLS handshake (")
    assert failed["msg"].endswith("so it is probably not a TLS port.")
    [row] = reported["certificates"]
    assert row["severity"] == "critical" and row["error"] and reported["errors"] == [failed["msg"]]


def test_ca_path_that_is_not_a_bundle(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("nope\n")
    result = run_module(cert_expiry_info, {"endpoints": [{"host": "127.0.0.1"}], "ca_path": str(bad)},
                        expect=FailJson)
    assert result["msg"] == f"ca_path {bad} is not a PEM bundle of CA certificates."
