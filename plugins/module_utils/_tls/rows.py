# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""cert_expiry_info's report rows from what each source gives: a TLS handshake, a Secret, a Certificate.

Pure: the objects are the API's JSON dicts and the handshake's outcome; nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii

from ansible_collections.sre.runbooks.plugins.module_utils._tls import x509

TLS_SECRET_TYPE = "kubernetes.io/tls"


def _empty_row(source, obj_ref, name, namespace=None):
    return {"source": source, "object": obj_ref, "name": name, "namespace": namespace, "subject": None,
            "issuer": None, "sans": [], "not_before": None, "not_after": None, "days_left": None, "expired": None,
            "problems": [], "warnings": []}


def endpoint_row(endpoint, handshake, now):
    """A row for a TLS endpoint from ``handshake`` ({chain, verified, verify_error, tls_version}), or CertError.

    ``chain`` is what the server sent (DER, leaf first); the row expires with the first of them to expire.
    """
    ref = f"TLS endpoint {endpoint['host']}:{endpoint['port']}"
    row = _empty_row("endpoint", ref, f"{endpoint['host']}:{endpoint['port']}")
    certs = [x509.load_der(der, ref) for der in handshake["chain"]]
    row.update(x509.chain_facts(certs, now))
    server_name = endpoint.get("server_name") or endpoint["host"]
    row.update({"server_name": server_name, "tls_version": handshake.get("tls_version"),
                "verified": handshake["verified"], "verify_error": handshake.get("verify_error"),
                "hostname_match": x509.hostname_matches(row["sans"], server_name)})
    if not row["hostname_match"]:
        row["problems"].append(f"its certificate does not name {server_name} (SANs: {', '.join(row['sans']) or 'none'})")
    if not handshake["verified"] and not row["expired"]:
        # An expired certificate fails verification too; the expiry already says so.
        row["problems"].append(f"its chain is not trusted: {handshake.get('verify_error') or 'verification failed'}")
    return row


def secret_row(secret, now):
    """A row for a ``kubernetes.io/tls`` Secret (every PEM block of ``tls.crt``), or CertError."""
    metadata = secret.get("metadata") or {}
    namespace, name = metadata.get("namespace"), metadata.get("name")
    ref = f"Secret {namespace}/{name}"
    row = _empty_row("secret", ref, name, namespace)
    encoded = (secret.get("data") or {}).get("tls.crt")
    if not encoded:
        raise x509.CertError(f"{ref} has no tls.crt.")
    try:
        pem = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise x509.CertError(f"{ref}: tls.crt is not base64.") from None
    certs = x509.load_pem_chain(pem, f"{ref} (tls.crt)")
    row.update(x509.chain_facts(certs, now))
    return row


def _ready_condition(obj):
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return None


def certificate_row(obj, now):
    """A row for a cert-manager ``Certificate``: ``status.notAfter`` and the ``Ready`` condition."""
    metadata, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    namespace, name = metadata.get("namespace"), metadata.get("name")
    ref = f"Certificate {namespace}/{name}"
    row = _empty_row("certificate", ref, name, namespace)
    issuer = spec.get("issuerRef") or {}
    ready = _ready_condition(obj)
    row.update({"subject": spec.get("commonName") or None,
                "issuer": f"{issuer.get('kind') or 'Issuer'}/{issuer.get('name')}" if issuer.get("name") else None,
                "sans": [f"DNS:{n}" for n in spec.get("dnsNames") or []] + [f"IP:{a}" for a in spec.get("ipAddresses") or []],
                "secret_name": spec.get("secretName"), "renewal_time": status.get("renewalTime"),
                "ready": None if ready is None else ready.get("status") == "True",
                "ready_reason": (ready or {}).get("reason"), "ready_message": (ready or {}).get("message")})
    not_after = x509.parse_rfc3339(status.get("notAfter"))
    not_before = x509.parse_rfc3339(status.get("notBefore"))
    if not_after is not None:
        row.update({"not_after": status["notAfter"], "not_before": status.get("notBefore"),
                    "days_left": x509.days_left(not_after, now), "expired": not_after <= now,
                    "not_yet_valid": bool(not_before and not_before > now)})
    elif status.get("notAfter"):
        row["problems"].append(f"its status.notAfter {str(status['notAfter'])[:40]!r} is not a timestamp")
    else:
        row["warnings"].append("it has no status.notAfter (not issued yet)")
    if not row["ready"]:
        reason = row["ready_reason"] or "no Ready condition"
        detail = f": {row['ready_message'].rstrip('.')}" if row["ready_message"] else ""
        row["warnings"].append(f"it is not Ready ({reason}{detail})")
    return row
