"""Test certificates made with ``cryptography``: a CA, leaves that are valid, about to expire or expired,
and TLS servers on 127.0.0.1 that serve them (one thread each, stopped with the context manager).

    ca = TestCA()
    leaf = ca.issue("web.test", days_left=5)          # expires in 5 days (and a few hours)
    with tls_server(leaf) as port: ...
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Hours added to "days left", so the whole-day count is exact whatever the test's duration.
MARGIN = datetime.timedelta(hours=6)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: tuple = ()

    def pem(self) -> bytes:
        """The certificate followed by the intermediates: what tls.crt holds."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.cert, *self.chain))

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


class TestCA:
    """A self-signed CA (valid ten years) that issues leaf and intermediate certificates."""

    __test__ = False  # not a pytest class

    def __init__(self, common_name="sre.runbooks test CA"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        self.cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.chain = ()

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name, days_left, sans=None, ca=False) -> Issued:
        """A certificate for ``common_name`` (and ``sans``: DNS names or IPs) with ``days_left`` whole days left."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        not_after = now + datetime.timedelta(days=days_left) + (MARGIN if days_left >= 0 else -MARGIN)
        names = []
        for san in sans or [common_name]:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(self.cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(min(now - datetime.timedelta(days=30), not_after - datetime.timedelta(days=1)))
                .not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        return Issued(cert, key, self.chain)

    def intermediate(self, common_name, days_left) -> "TestCA":
        """A CA below this one; its leaves carry it as their chain."""
        issued = self.issue(common_name, days_left, sans=[common_name], ca=True)
        sub = TestCA.__new__(TestCA)
        sub.key, sub.cert, sub.chain = issued.key, issued.cert, (issued.cert, *self.chain)
        return sub


@contextmanager
def _serving(handle):
    """Accept connections on 127.0.0.1 in a thread and pass each to ``handle``; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(5)
                try:
                    handle(conn)
                except (OSError, ssl.SSLError):
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@contextmanager
def tls_server(issued: Issued, tmp_path):
    """A TLS server on 127.0.0.1 serving ``issued`` (and its chain); yields the port."""
    cert_file, key_file = tmp_path / f"{id(issued)}.crt", tmp_path / f"{id(issued)}.key"
    cert_file.write_bytes(issued.pem())
    key_file.write_bytes(issued.key_pem())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    def handshake(conn):
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)  # until the client hangs up

    with _serving(handshake) as port:
        yield port


@contextmanager
def plain_server():
    """A TCP server on 127.0.0.1 that answers like plain HTTP and closes: not TLS. Yields the port."""

    def answer(conn):
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with _serving(answer) as port:
        yield port
