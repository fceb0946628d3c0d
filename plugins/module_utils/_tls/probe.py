# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One TLS handshake with an endpoint, bounded by a timeout: the server's certificate and the chain verdict.

The chain is verified by the ssl module (OpenSSL, as clients do) against the given CA bundle or the
system store. The hostname is checked by x509.hostname_matches on the SANs, so an expired or untrusted
certificate is still reported with its names and days left: when verification fails, a second,
unverified handshake fetches the certificate.
"""

from __future__ import annotations

import socket
import ssl

from ansible_collections.sre.runbooks.plugins.module_utils._tls.x509 import CertError


class ProbeError(CertError):
    """The endpoint could not be reached or did not speak TLS; ``str()`` is one sentence."""


def trust_context(ca_path):
    """An SSL context that verifies chains against ``ca_path`` (a PEM bundle) or the system store."""
    context = ssl.create_default_context()
    context.check_hostname = False  # checked on the SANs, see the module docstring
    if ca_path:
        try:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.load_verify_locations(cafile=ca_path)
        except FileNotFoundError:
            raise CertError(f"ca_path {ca_path} does not exist.") from None
        except IsADirectoryError:
            raise CertError(f"ca_path {ca_path} is a directory, not a PEM bundle.") from None
        except PermissionError:
            raise CertError(f"ca_path {ca_path} cannot be read (permission denied).") from None
        except (ssl.SSLError, OSError, ValueError):
            raise CertError(f"ca_path {ca_path} is not a PEM bundle of CA certificates.") from None
    return context


def _unverified_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _cause(exc, timeout):
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g}s (timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
        return f"no TLS handshake ({str(reason).lower().replace('_', ' ')}), so it is probably not a TLS port"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, EOFError)):
        return "the server closed the connection during the TLS handshake, so it is probably not a TLS port"
    return (str(exc).strip().rstrip(".") or type(exc).__name__)[:160]


def _handshake(context, host, port, server_name, timeout):
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        sni = None if _is_ip(server_name) else server_name
        with context.wrap_socket(raw, server_hostname=sni) as tls:
            return _sent_chain(tls), tls.version()


def _sent_chain(tls):
    """The certificates the server sent (DER), leaf first.

    ``SSLSocket.get_unverified_chain`` is public from Python 3.13; 3.10-3.12 have it on the
    underlying ``_ssl`` object. Without either, only the leaf (getpeercert) is known.
    """
    getter = getattr(tls, "get_unverified_chain", None) or getattr(getattr(tls, "_sslobj", None),
                                                                   "get_unverified_chain", None)
    try:
        chain = getter() if getter else None
    except (AttributeError, ValueError, ssl.SSLError):
        chain = None
    if chain:
        return [cert if isinstance(cert, bytes) else cert.public_bytes(ssl._ssl.ENCODING_DER)  # pylint: disable=protected-access
                for cert in chain]
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _is_ip(name):
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
    except (OSError, ValueError):
        return False
    return True


def handshake(endpoint, context, timeout):
    """{chain (DER, leaf first), verified, verify_error, tls_version} for ``endpoint`` ({host, port, server_name}), or ProbeError."""
    host, port = endpoint["host"], endpoint["port"]
    server_name = endpoint.get("server_name") or host
    ref = f"TLS endpoint {host}:{port}"
    verify_error = None
    try:
        try:
            chain, version = _handshake(context, host, port, server_name, timeout)
            if chain:
                return {"chain": chain, "verified": True, "verify_error": None, "tls_version": version}
        except ssl.SSLCertVerificationError as exc:
            verify_error = (exc.verify_message or str(exc)).rstrip(".")
        chain, version = _handshake(_unverified_context(), host, port, server_name, timeout)
    except (OSError, ssl.SSLError, EOFError) as exc:
        raise ProbeError(f"{ref}: {_cause(exc, timeout)}.") from None
    if not chain:
        raise ProbeError(f"{ref} sent no certificate.")
    return {"chain": chain, "verified": False, "verify_error": verify_error, "tls_version": version}
