#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_expiry_info
short_description: Days left, names and trust of TLS certificates on endpoints, in Secrets and in cert-manager
version_added: 0.1.0
description:
  - The runbooks' certificate check (C4) as one read-only task that returns one row per certificate with its
    subject, issuer, subject alternative names, expiry date, days left and a severity, and a list of problems.
  - "TLS endpoints (O(endpoints)): a TLS handshake bounded by O(timeout); the chain is verified against O(ca_path)
    or the system store, and the host name (O(endpoints[].server_name)) is checked against the certificate's
    subject alternative names. An untrusted chain or a name mismatch is C(critical)."
  - "Kubernetes Secrets of type C(kubernetes.io/tls) in O(namespaces): every PEM block of C(tls.crt) is parsed
    (a chain); the row's expiry is that of the certificate that expires first, as for the chain an endpoint sends."
  - "cert-manager C(Certificate) resources (C(cert-manager.io/v1)) in O(namespaces): C(status.notAfter) and the
    C(Ready) condition; a Certificate that is not Ready, or not issued yet, is a C(warning). A cluster without
    cert-manager is reported in RV(cert_manager), which is not an error."
  - A certificate with at most O(warning_days) days left is a C(warning); with at most O(critical_days), or
    expired, or not valid yet, C(critical).
  - X.509 is parsed by the C(cryptography) library.
author:
  - sre.runbooks maintainers (@sre-runbooks)
requirements:
  - cryptography
  - kubernetes (only with O(namespaces))
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
  - sre.runbooks.attributes.info_module
options:
  endpoints:
    description: TLS endpoints to connect to.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Host name or IP address to connect to.
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        default: 443
      server_name:
        description:
          - The name sent as SNI and checked against the certificate's subject alternative names. Defaults to O(endpoints[].host).
        type: str
  ca_path:
    description:
      - A PEM bundle of the CA certificates that endpoint chains are verified against. Without it, the system
        trust store is used.
    type: path
  timeout:
    description: Seconds to wait for a TCP connection and for each step of a TLS handshake.
    type: float
    default: 10
  namespaces:
    description:
      - Namespaces whose C(kubernetes.io/tls) Secrets and cert-manager Certificates are read (see O(include)).
      - A namespace that does not exist is an error (see O(on_error)).
    type: list
    elements: str
    default: []
  include:
    description: What to read in O(namespaces).
    type: list
    elements: str
    choices: [secrets, certificates]
    default: [secrets, certificates]
  warning_days:
    description: A certificate with this many days left or fewer is a C(warning).
    type: int
    default: 30
  critical_days:
    description: A certificate with this many days left or fewer is C(critical). At most O(warning_days).
    type: int
    default: 7
  on_error:
    description:
      - What to do when an endpoint cannot be reached or does not speak TLS, a certificate cannot be parsed or a
        namespace does not exist.
      - V(fail) fails the task with the first such sentence (all of them in RV(errors)).
      - V(report) reports each as a C(critical) row and problem and succeeds, for daily checks and compliance runs.
    type: str
    choices: [fail, report]
    default: fail
notes:
  - Days left are whole days rounded toward zero; RV(certificates[].expired) tells a certificate that expired hours ago from one that expires within hours.
  - The chain of an endpoint is verified by OpenSSL as clients do; when that fails, a second, unverified
    handshake fetches the certificate so that its names and expiry are still reported.
seealso:
  - module: sre.runbooks.k8s_health_info
  - module: community.crypto.get_certificate
"""

EXAMPLES = r"""
---
- name: Certificates of the platform's ingress, its TLS Secrets and cert-manager Certificates
  sre.runbooks.cert_expiry_info:
    endpoints:
      - host: api.platform.example.com
      - host: 10.0.12.7
        port: 8443
        server_name: models.platform.example.com
    namespaces: [platform-v2-stable, platform-v1-exp]
    warning_days: 30
    critical_days: 7
    on_error: report
  register: certs

- name: Fail on certificates that expire within a week
  ansible.builtin.assert:
    that: certs.summary.critical == 0
    fail_msg: "{{ certs.problems | selectattr('severity', '==', 'critical') | map(attribute='message') | list }}"

- name: An internal service, verified against the company CA
  sre.runbooks.cert_expiry_info:
    endpoints:
      - host: vault.internal
        port: 8200
    ca_path: /etc/pki/company-ca.pem
"""

RETURN = r"""
certificates:
  description: One row per certificate, the worst first (then fewest days left).
  returned: success, and on failure with O(on_error=fail) once the sources were read
  type: list
  elements: dict
  contains:
    source:
      description: V(endpoint), V(secret), V(certificate) (cert-manager), or V(namespace) for a missing namespace.
      type: str
    object:
      description: How messages name it (C(TLS endpoint 10.0.12.7:8443), C(Secret shop/web-tls), C(Certificate shop/web)).
      type: str
    name:
      description: C(host:port) or the object's name.
      type: str
    namespace:
      description: The object's namespace, or null for endpoints.
      type: str
    subject:
      description: The subject (RFC 4514), or a Certificate's C(spec.commonName); null when not known.
      type: str
    issuer:
      description: The issuer (RFC 4514), or a Certificate's issuer reference (C(ClusterIssuer/letsencrypt)).
      type: str
    sans:
      description: Subject alternative names as C(DNS:name) and C(IP:address).
      type: list
      elements: str
    not_before:
      description: Start of validity (RFC 3339), or null.
      type: str
    not_after:
      description: End of validity (RFC 3339) of the certificate that expires first, or null.
      type: str
    days_left:
      description:
        - Whole days until RV(certificates[].not_after), rounded toward zero (negative for whole days since it
          expired; see RV(certificates[].expired)); null when not known.
      type: int
    expired:
      description: Whether it has expired.
      type: bool
    severity:
      description: V(ok), V(warning) or V(critical).
      type: str
    message:
      description: One sentence with the days left and every finding; empty only when nothing is known.
      type: str
    chain:
      description:
        - Each certificate of a Secret's C(tls.crt), or of the chain an endpoint sent, leaf first, with C(subject),
          C(issuer), C(not_after) and C(days_left).
      type: list
      elements: dict
      returned: for Secrets and endpoints
    expires_first:
      description: The subject of the certificate of the chain that expires first (the row's RV(certificates[].not_after)).
      type: str
      returned: for Secrets and endpoints
    verified:
      description: For endpoints, whether the chain verified against O(ca_path) or the system store.
      type: bool
      returned: for endpoints
    verify_error:
      description: For endpoints, OpenSSL's reason when the chain did not verify.
      type: str
      returned: for endpoints
    hostname_match:
      description: For endpoints, whether the server name is among the subject alternative names.
      type: bool
      returned: for endpoints
    ready:
      description: For cert-manager Certificates, the C(Ready) condition (null without one).
      type: bool
      returned: for Certificates
    secret_name:
      description: For cert-manager Certificates, C(spec.secretName).
      type: str
      returned: for Certificates
  sample:
    - source: secret
      object: Secret shop/web-tls
      name: web-tls
      namespace: shop
      subject: CN=web.shop.svc
      issuer: CN=sre test CA
      sans: ["DNS:web.shop.svc"]
      not_before: "2026-11-01T00:00:00Z"
      not_after: "2026-12-09T10:00:00Z"
      days_left: 4
      expired: false
      severity: critical
      message: "Secret shop/web-tls (CN=web.shop.svc) expires in 4 days (2026-12-09T10:00:00Z)."
problems:
  description: The rows that are not V(ok), with C(severity), C(source), C(object), C(namespace), C(name), C(days_left), C(message).
  returned: success
  type: list
  elements: dict
summary:
  description: Number of rows per severity (C(ok), C(warning), C(critical)), C(total) and C(min_days_left).
  returned: success
  type: dict
  sample: {ok: 3, warning: 1, critical: 2, total: 6, min_days_left: -3}
errors:
  description: Sentences for what could not be read (unreachable or non-TLS endpoints, unparsable certificates, missing namespaces).
  returned: success
  type: list
  elements: str
cert_manager:
  description: C(available) (true, false, or null when not asked) and C(reason) when cert-manager is not served.
  returned: success
  type: dict
api_calls:
  description: Kubernetes API requests made.
  returned: success
  type: int
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._tls.cert_expiry_args import module_args
from ansible_collections.sre.runbooks.plugins.module_utils._tls.cert_expiry_runner import run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "cert_expiry_info")


if __name__ == "__main__":
    main()
