"""The C4 test world on the local control plane: a CA, certificates that are valid, about to expire and
expired, served by TLS servers on 127.0.0.1, stored in ``kubernetes.io/tls`` Secrets, and described by
cert-manager ``Certificate`` resources (the CustomResourceDefinition is tests/k8s/crds/, no controller).
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

from tests.harness.certs import TestCA
from tests.integration.waiting import wait_until

CRD = Path(__file__).resolve().parents[2] / "k8s" / "crds" / "cert-manager-certificate.yaml"
CRD_NAME = "certificates.cert-manager.io"
# name -> days left
DAYS = {"valid": 200, "soon": 5, "expired": -3}


def install_certificate_crd(cluster, api_client):
    """Apply the Certificate CRD and wait until the API serves it."""
    from kubernetes import client as k8s  # pylint: disable=import-outside-toplevel
    cluster.kubectl("apply", "-f", str(CRD))
    ext = k8s.ApiextensionsV1Api(api_client)

    def established():
        conditions = ext.read_custom_resource_definition(CRD_NAME).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    wait_until(established, "the cert-manager Certificate CRD to be established", timeout=30)


def tls_secret(namespace, name, cert_pem, key_pem):
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"tls.crt": base64.b64encode(cert_pem).decode(), "tls.key": base64.b64encode(key_pem).decode()}}


def rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def create_certificate(custom, namespace, name, days_left, ready=True, reason="Ready"):
    """A Certificate whose status (written through the status subresource) says ``days_left`` days."""
    now = datetime.datetime.now(datetime.timezone.utc)
    margin = datetime.timedelta(hours=6 if days_left >= 0 else -6)
    body = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name},
            "spec": {"secretName": f"{name}-tls", "commonName": f"{name}.test", "dnsNames": [f"{name}.test"],
                     "issuerRef": {"name": "test-ca", "kind": "ClusterIssuer"}}}
    custom.create_namespaced_custom_object("cert-manager.io", "v1", namespace, "certificates", body)
    status = {"notBefore": rfc3339(now - datetime.timedelta(days=60)),
              "notAfter": rfc3339(now + datetime.timedelta(days=days_left) + margin),
              "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": reason,
                              "message": "Certificate is up to date and has not expired" if ready else
                              "Certificate expired", "lastTransitionTime": rfc3339(now)}]}
    custom.patch_namespaced_custom_object_status("cert-manager.io", "v1", namespace, "certificates", name,
                                                 {"status": status})


class World:
    """Certificates by name (DAYS), made once per test module."""

    def __init__(self):
        self.ca = TestCA()
        self.issued = {name: self.ca.issue(f"{name}.test", days, sans=[f"{name}.test", "127.0.0.1"])
                       for name, days in DAYS.items()}
        # the soon-expiring one also as a chain: leaf (200 days) under an intermediate with 5 days left
        self.issued["chain"] = self.ca.intermediate("issuing CA", DAYS["soon"]).issue("chain.test", 200)
