# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Certificate facts and expiry verdicts (C4), as pure functions over ``cryptography`` objects and dicts.

X.509 parsing is ``cryptography``'s; this file only turns certificates into report rows (subject,
issuer, SANs, days left) and rows into severities with the warning and critical thresholds in days.
"""

from __future__ import annotations

import datetime
import ipaddress
import math

OK, WARNING, CRITICAL = "ok", "warning", "critical"
RANK = {OK: 0, WARNING: 1, CRITICAL: 2}
DAY = 86400.0


class CertError(ValueError):
    """A certificate that cannot be read; ``str()`` is one sentence naming where it came from."""


def _x509():
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    return x509


def load_pem_chain(data, where):
    """The certificates of a PEM text (several blocks: a chain), leaf first; CertError when there is none."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    if not data or b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertError(f"{where} holds no PEM certificate (no BEGIN CERTIFICATE block).")
    try:
        return _x509().load_pem_x509_certificates(data)
    except ValueError as exc:
        reason = (str(exc).strip().splitlines() or ["malformed"])[0].rstrip(".")[:160]
        raise CertError(f"{where} holds a certificate that cannot be parsed: {reason}.") from None


def load_der(data, where):
    """One DER certificate (what a TLS server sent); CertError when it cannot be parsed."""
    try:
        return _x509().load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertError(f"{where} sent a certificate that cannot be parsed: {str(exc).rstrip('.')}.") from None


def sans(cert):
    """The subject alternative names as ``DNS:name`` / ``IP:address`` strings (empty without the extension)."""
    x509 = _x509()
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names = [f"DNS:{name}" for name in extension.get_values_for_type(x509.DNSName)]
    names += [f"IP:{address}" for address in extension.get_values_for_type(x509.IPAddress)]
    return names


def _rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_left(not_after, now):
    """Whole days until ``not_after`` (datetimes), rounded toward zero: 0 within a day either side, then
    negative for the whole days since it expired."""
    return math.trunc((not_after - now).total_seconds() / DAY)


def cert_facts(cert, now):
    """What a report shows of one certificate."""
    not_after = cert.not_valid_after_utc
    not_before = cert.not_valid_before_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": sans(cert),
        "serial": format(cert.serial_number, "x"),
        "not_before": _rfc3339(not_before),
        "not_after": _rfc3339(not_after),
        "days_left": days_left(not_after, now),
        "expired": not_after <= now,
        "not_yet_valid": not_before > now,
    }


def chain_facts(certs, now):
    """Facts of a chain: the leaf's names, and the expiry of the certificate that expires first."""
    chain = [cert_facts(cert, now) for cert in certs]
    leaf = dict(chain[0])
    first = min(chain, key=lambda facts: facts["not_after"])
    leaf.update({"not_after": first["not_after"], "days_left": first["days_left"], "expired": first["expired"],
                 "expires_first": first["subject"], "not_yet_valid": any(c["not_yet_valid"] for c in chain),
                 "chain": [{key: facts[key] for key in ("subject", "issuer", "not_after", "days_left")}
                           for facts in chain]})
    return leaf


def _dns_matches(pattern, host):
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    # RFC 6125 6.4.3: a wildcard only as the whole leftmost label, matching exactly one label.
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:] and pattern.count(".") >= 2
    return False


def hostname_matches(names, host):
    """Does ``host`` (a DNS name or an IP address) match one of the SANs (``DNS:``/``IP:`` strings)?"""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for name in names:
        kind, _colon, value = name.partition(":")
        if address is not None and kind == "IP" and ipaddress.ip_address(value) == address:
            return True
        if address is None and kind == "DNS" and _dns_matches(value, host):
            return True
    return False


def expiry_severity(days, warning_days, critical_days):
    """ok, warning (``days`` <= warning_days) or critical (<= critical_days, or expired)."""
    if days < 0 or days <= critical_days:
        return CRITICAL
    return WARNING if days <= warning_days else OK


def expiry_message(what, facts):
    """``Secret shop/web-tls expires in 5 days (2026-12-09T10:00:00Z)`` or ``... expired 3 days ago (...)``."""
    days, when = facts["days_left"], facts["not_after"]
    subject = facts.get("expires_first") or facts["subject"]
    who = f"{what} ({subject})" if subject else what
    if facts["expired"]:
        ago = -days
        if ago == 0:
            return f"{who} expired less than a day ago ({when})"
        return f"{who} expired {ago} day{'s' if ago != 1 else ''} ago ({when})"
    if days == 0:
        return f"{who} expires within a day ({when})"
    return f"{who} expires in {days} day{'s' if days != 1 else ''} ({when})"


def judge(row, warning_days, critical_days):
    """Set ``severity`` and ``message`` of a report row from its expiry and the findings already in ``problems``.

    ``row["problems"]`` holds sentences that are critical on their own (untrusted chain, hostname
    mismatch); ``row["warnings"]`` ones that are warnings (a cert-manager Certificate not Ready).
    """
    findings = []
    severity = OK
    if row.get("not_after"):
        severity = expiry_severity(row["days_left"], warning_days, critical_days)
        findings.append(expiry_message(row["object"], row))
        if row.get("not_yet_valid"):
            severity = CRITICAL
            findings.append("it is not valid yet")
    for text in row.pop("warnings", []):
        severity = severity if RANK[severity] >= RANK[WARNING] else WARNING
        findings.append(text)
    for text in row.pop("problems", []):
        severity = CRITICAL
        findings.append(text)
    row["severity"] = severity
    row["message"] = "; ".join(findings) + "." if findings else ""
    return row


def summary(rows):
    """Counts per severity, and the smallest days left."""
    counts = {level: sum(1 for row in rows if row["severity"] == level) for level in (OK, WARNING, CRITICAL)}
    days = [row["days_left"] for row in rows if row.get("days_left") is not None]
    return dict(counts, total=len(rows), min_days_left=min(days) if days else None)


def parse_rfc3339(text):
    """A Kubernetes timestamp (``2026-12-04T21:05:43Z``) as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
