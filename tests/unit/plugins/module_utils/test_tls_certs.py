"""C4: certificate facts, host name matching, expiry verdicts and report rows, without a server."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.sre.runbooks.plugins.module_utils._tls import rows, x509
from tests.harness.certs import TestCA

NOW = datetime.datetime(2027, 1, 15, 8, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def ca():
    return TestCA()


def at(**delta):
    return NOW + datetime.timedelta(**delta)


@pytest.mark.parametrize("not_after, days", [
    (at(days=5, hours=6), 5), (at(hours=23), 0), (at(hours=-2), 0), (at(days=-3, hours=-1), -3), (at(days=400), 400),
])
def test_days_left_counts_whole_days_toward_zero(not_after, days):
    assert x509.days_left(not_after, NOW) == days


@pytest.mark.parametrize("days, expected", [
    (90, "ok"), (31, "ok"), (30, "warning"), (8, "warning"), (7, "critical"), (0, "critical"), (-5, "critical"),
])
def test_expiry_severity_uses_the_thresholds_in_days(days, expected):
    assert x509.expiry_severity(days, 30, 7) == expected


@pytest.mark.parametrize("names, host, expected", [
    (["DNS:web.shop.svc"], "web.shop.svc", True),
    (["DNS:WEB.shop.svc."], "web.shop.svc", True),
    (["DNS:*.shop.svc"], "web.shop.svc", True),
    (["DNS:*.shop.svc"], "a.web.shop.svc", False),
    (["DNS:*.svc"], "shop.svc", False),
    (["DNS:*.shop.svc"], "shop.svc", False),
    (["DNS:other.svc"], "web.shop.svc", False),
    (["IP:127.0.0.1"], "127.0.0.1", True),
    (["DNS:127.0.0.1"], "127.0.0.1", False),
    (["IP:::1"], "0:0:0:0:0:0:0:1", True),
    ([], "web", False),
])
def test_hostname_matches_sans_by_rfc_6125(names, host, expected):
    assert x509.hostname_matches(names, host) is expected


def test_chain_reports_the_leaf_names_and_the_first_expiry(ca):
    intermediate = ca.intermediate("issuing CA", days_left=3)
    leaf = intermediate.issue("web.shop.svc", days_left=200, sans=["web.shop.svc", "10.0.0.7"])
    certs = x509.load_pem_chain(leaf.pem(), "tls.crt")
    facts = x509.chain_facts(certs, datetime.datetime.now(datetime.timezone.utc))
    assert facts["subject"] == "CN=web.shop.svc" and facts["issuer"] == "CN=issuing CA"
    assert facts["sans"] == ["DNS:web.shop.svc", "IP:10.0.0.7"]
    assert facts["days_left"] == 3 and facts["expires_first"] == "CN=issuing CA" and not facts["expired"]
    assert [c["days_left"] for c in facts["chain"]] == [200, 3]


@pytest.mark.parametrize("data, words", [
    (b"", "no PEM certificate"),
    (b"hello", "no PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n", "cannot be parsed"),
])
def test_unparsable_pem_is_one_sentence_naming_the_source(data, words):
    with pytest.raises(x509.CertError) as caught:
        x509.load_pem_chain(data, "Secret shop/web-tls (tls.crt)")
    text = str(caught.value)
    assert text.startswith("Secret shop/web-tls (tls.crt)") and words in text and text.endswith(".")
    assert "\n" not in text


def secret(data):
    return {"metadata": {"namespace": "shop", "name": "web-tls"}, "type": "kubernetes.io/tls", "data": data}


def test_secret_row_judged_critical_with_days_left(ca):
    pem = ca.issue("web.shop.svc", days_left=5).pem()
    row = rows.secret_row(secret({"tls.crt": base64.b64encode(pem).decode()}), datetime.datetime.now(datetime.timezone.utc))
    x509.judge(row, 30, 7)
    assert (row["severity"], row["days_left"], row["expired"]) == ("critical", 5, False)
    assert row["message"].startswith("Secret shop/web-tls (CN=web.shop.svc) expires in 5 days (")


def test_expired_secret_says_how_long_ago(ca):
    pem = ca.issue("old.shop.svc", days_left=-3).pem()
    row = rows.secret_row(secret({"tls.crt": base64.b64encode(pem).decode()}), datetime.datetime.now(datetime.timezone.utc))
    x509.judge(row, 30, 7)
    assert row["severity"] == "critical" and row["expired"] and row["days_left"] == -3
    assert "expired 3 days ago" in row["message"]


@pytest.mark.parametrize("data, words", [({}, "has no tls.crt"), ({"tls.crt": "%%%"}, "not base64")])
def test_secret_without_a_readable_tls_crt_is_one_sentence(data, words):
    with pytest.raises(x509.CertError, match=words):
        rows.secret_row(secret(data), NOW)


def certificate(status, spec=None):
    return {"kind": "Certificate", "metadata": {"namespace": "shop", "name": "web"},
            "spec": {"secretName": "web-tls", "dnsNames": ["web.shop.svc"],
                     "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}, **(spec or {})},
            "status": status}


def ready(flag, reason="Ready", message=""):
    return [{"type": "Ready", "status": "True" if flag else "False", "reason": reason, "message": message}]


@pytest.mark.parametrize("status, severity, days, words", [
    ({"notAfter": "2027-03-15T08:00:00Z", "conditions": ready(True)}, "ok", 59, "expires in 59 days"),
    ({"notAfter": "2027-01-25T09:00:00Z", "conditions": ready(True)}, "warning", 10, "expires in 10 days"),
    ({"notAfter": "2027-01-12T07:00:00Z", "conditions": ready(False, "Expired", "cert expired.")}, "critical", -3,
     "expired 3 days ago"),
    ({"notAfter": "2027-03-15T08:00:00Z", "conditions": ready(False, "Issuing", "renewing")}, "warning", 59,
     "it is not Ready (Issuing: renewing)"),
    ({"conditions": ready(False, "DoesNotExist")}, "warning", None, "it has no status.notAfter (not issued yet)"),
    ({"notAfter": "soon", "conditions": ready(True)}, "critical", None, "is not a timestamp"),
    ({}, "warning", None, "it is not Ready (no Ready condition)"),
])
def test_certificate_row_from_status_not_after_and_ready(status, severity, days, words):
    row = x509.judge(rows.certificate_row(certificate(status), NOW), 30, 7)
    assert (row["severity"], row["days_left"]) == (severity, days)
    assert words in row["message"] and row["message"].endswith(".")
    assert row["issuer"] == "ClusterIssuer/letsencrypt" and row["secret_name"] == "web-tls"
    assert row["sans"] == ["DNS:web.shop.svc"]


def test_endpoint_row_untrusted_and_wrong_name_are_critical(ca):
    leaf = ca.issue("web.shop.svc", days_left=90)
    der = leaf.cert.public_bytes(serialization.Encoding.DER)
    endpoint = {"host": "127.0.0.1", "port": 8443, "server_name": "api.shop.svc"}
    handshake = {"chain": [der], "verified": False, "verify_error": "unable to get local issuer certificate"}
    row = x509.judge(rows.endpoint_row(endpoint, handshake, datetime.datetime.now(datetime.timezone.utc)), 30, 7)
    assert row["severity"] == "critical" and row["hostname_match"] is False and row["verified"] is False
    assert "does not name api.shop.svc" in row["message"] and "unable to get local issuer" in row["message"]
    ok = x509.judge(rows.endpoint_row({**endpoint, "server_name": "web.shop.svc"}, {**handshake, "verified": True},
                                      datetime.datetime.now(datetime.timezone.utc)), 30, 7)
    assert ok["severity"] == "ok" and ok["days_left"] == 90 and ok["message"].startswith("TLS endpoint 127.0.0.1:8443")


def test_summary_counts_and_smallest_days_left():
    found = [{"severity": "ok", "days_left": 90}, {"severity": "critical", "days_left": -3},
             {"severity": "critical", "days_left": None}]
    assert x509.summary(found) == {"ok": 1, "warning": 0, "critical": 2, "total": 3, "min_days_left": -3}
