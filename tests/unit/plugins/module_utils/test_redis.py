"""Redis connection plumbing: client options, one-sentence errors and the raw RESP connection."""

from __future__ import annotations

import socket
import threading

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    REDIS_COMMON_ARGS,
    RawRedisConnection,
    RedisModuleError,
    client_kwargs,
    describe_connect_error,
    encode_command,
    is_local_server,
    server_address,
    unreadable_tls_file,
)

PARAMS = {"host": "10.0.0.5", "port": 6390, "db": 2, "username": None, "password": "pw", "tls": False,
          "tls_ca_cert": None, "tls_cert": None, "tls_key": None, "validate_certs": True, "unix_socket": None,
          "socket_timeout": 10.0}


def test_common_args_keep_the_password_out_of_logs():
    assert REDIS_COMMON_ARGS["password"]["no_log"] is True
    assert REDIS_COMMON_ARGS["password"]["fallback"][1] == ["REDISCLI_AUTH"]


def test_client_kwargs_tcp():
    kwargs = client_kwargs(PARAMS)
    assert kwargs["host"] == "10.0.0.5" and kwargs["port"] == 6390 and kwargs["db"] == 2
    assert kwargs["password"] == "pw" and kwargs["username"] is None
    assert kwargs["socket_timeout"] == 10.0 and kwargs["socket_connect_timeout"] == 10.0
    assert "ssl" not in kwargs and "unix_socket_path" not in kwargs


def test_client_kwargs_tls_without_verification():
    kwargs = client_kwargs(dict(PARAMS, tls=True, validate_certs=False, tls_ca_cert="/ca.pem"))
    assert kwargs["ssl"] is True and kwargs["ssl_cert_reqs"] == "none" and kwargs["ssl_check_hostname"] is False
    assert kwargs["ssl_ca_certs"] == "/ca.pem"


def test_client_kwargs_unix_socket_ignores_host():
    kwargs = client_kwargs(dict(PARAMS, unix_socket="/run/redis.sock", tls=True))
    assert kwargs["unix_socket_path"] == "/run/redis.sock"
    assert "host" not in kwargs and "ssl" not in kwargs


@pytest.mark.parametrize("error, cause", [
    ("Error 111 connecting to 10.0.0.5:6390. Connection refused.", "connection refused"),
    ("Timeout connecting to server", "no answer within 10s (socket_timeout)"),
    ("Error -2 connecting to nohost:6390. Name or service not known.", "the host name does not resolve"),
    ("invalid username-password pair or user is disabled.", "authentication failed"),
    ("Authentication required.", "the server requires a password"),
    ("AUTH <password> called without any password configured for the default user.", "a password was given"),
    ("Error 1 connecting to 10.0.0.5:6390. [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006).",
     "the TLS handshake failed"),
    ("Connection closed by server.", "the server closed the connection"),
    ("ERR max number of clients reached", "the server has no free client slots"),
    ("ERR DB index is out of range", "database 2 does not exist"),
    ("something odd happened", "something odd happened"),
])
def test_describe_connect_error(error, cause):
    message = describe_connect_error(PARAMS, Exception(error))
    assert message.startswith("Cannot connect to Redis at 10.0.0.5:6390: " + cause)
    assert message.endswith(".") and "\n" not in message


def test_server_address():
    assert server_address(PARAMS) == "10.0.0.5:6390"
    assert server_address(dict(PARAMS, unix_socket="/run/r.sock")) == "/run/r.sock (unix socket)"


@pytest.mark.parametrize("host, local", [
    ("localhost", True), ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("[::1]", True),
    ("10.0.0.5", False), ("redis.example.com", False),
])
def test_is_local_server(host, local):
    assert is_local_server(dict(PARAMS, host=host)) is local


def test_encode_command():
    assert encode_command("AUTH", "pw") == b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
    assert encode_command(b"\x00", 5) == b"*2\r\n$1\r\n\x00\r\n$1\r\n5\r\n"


def serve_once(replies):
    """A one-connection TCP server on loopback that answers each received command with the next reply."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received = []

    def run():
        conn, _addr = listener.accept()
        with conn:
            for reply in replies:
                received.append(conn.recv(65536))
                conn.sendall(reply)
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], received, thread


def test_raw_connection_authenticates_and_reads_replies():
    port, received, thread = serve_once([b"+OK\r\n", b"\n\n$5\r\nREDIS\r\n"])
    conn = RawRedisConnection(dict(PARAMS, host="127.0.0.1", port=port, username="ops")).open()
    try:
        conn.send("SYNC")
        conn.skip_newlines()
        assert conn.read_line() == b"$5"
        assert conn.read_exact(5) == b"REDIS"
    finally:
        conn.close()
    thread.join(5)
    assert received[0] == encode_command("AUTH", "ops", "pw")


def test_raw_connection_wrong_password_is_one_sentence():
    port, _received, thread = serve_once([b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"])
    with pytest.raises(RedisModuleError, match=r"^Cannot connect to Redis at 127\.0\.0\.1:\d+: authentication failed"):
        RawRedisConnection(dict(PARAMS, host="127.0.0.1", port=port)).open()
    thread.join(5)


def test_raw_connection_refused_is_one_sentence():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(RedisModuleError, match=r"^Cannot connect to Redis at 127\.0\.0\.1:\d+: connection refused\.$"):
        RawRedisConnection(dict(PARAMS, host="127.0.0.1", port=port, password=None)).open()


def test_an_unreadable_tls_file_is_named(tmp_path):
    cert = tmp_path / "ca.pem"
    cert.write_text("x")
    missing = tmp_path / "none.pem"
    assert unreadable_tls_file({"tls": True, "tls_ca_cert": str(cert)}) is None
    assert unreadable_tls_file({"tls": True, "tls_ca_cert": str(cert), "tls_cert": str(missing)}) == (
        f"Cannot read tls_cert {missing}: No such file or directory.")
    assert unreadable_tls_file({"tls": True, "tls_ca_cert": str(cert / "below")}) == (
        f"Cannot read tls_ca_cert {cert / 'below'}: Not a directory.")
    assert unreadable_tls_file({"tls": False, "tls_ca_cert": str(missing)}) is None
