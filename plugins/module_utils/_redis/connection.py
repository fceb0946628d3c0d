# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Redis connection plumbing shared by every sre.runbooks Redis module.

``REDIS_COMMON_ARGS`` is documented, option for option, by the ``sre.runbooks.redis`` doc
fragment. Modules merge it into their own spec and call :func:`connect` for a redis-py client
(imported lazily, so a missing library is reported with ``missing_required_lib``), or
:func:`open_raw_connection` for a bare RESP socket (the replication stream a backup reads).
Every connection failure becomes one sentence: ``Cannot connect to Redis at <where>: <cause>.``
"""

from __future__ import annotations

import re
import socket
import ssl
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import os_error_sentence

from ansible_collections.sre.runbooks.plugins.module_utils._common.errors import first_line as _first_line
from ansible_collections.sre.runbooks.plugins.module_utils._common.errors import matching_cause

REDIS_COMMON_ARGS = {
    "host": {"type": "str", "default": "localhost"},
    "port": {"type": "int", "default": 6379},
    "db": {"type": "int", "default": 0},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["REDISCLI_AUTH"])},
    "tls": {"type": "bool", "default": False},
    "tls_ca_cert": {"type": "path"},
    "tls_cert": {"type": "path"},
    "tls_key": {"type": "path", "no_log": False},
    "validate_certs": {"type": "bool", "default": True},
    "unix_socket": {"type": "path"},
    "socket_timeout": {"type": "float", "default": 10.0},
}

# Passed to RunbookModule(ranges=...) by every Redis module: redis-py hangs on a NaN timeout.
# (None, None) is "a finite number": the runner checks the lower bound with its own sentence.
REDIS_RANGES = {"port": (1, 65535), "socket_timeout": (None, None)}

REDIS_REQUIRED_TOGETHER = [("tls_cert", "tls_key")]

# What client libraries and the server say -> the cause in our one-sentence message. Checked in order.
_CAUSES = (
    (re.compile(r"WRONGPASS|invalid username-password pair", re.I), "authentication failed (wrong username or password, or the user is disabled)"),
    (re.compile(r"NOAUTH|Authentication required|HELLO must be called with the client already authenticated", re.I),
     "the server requires a password and none was given (set password or REDISCLI_AUTH)"),
    (re.compile(r"without any password configured", re.I), "a password was given but the server has none configured"),
    (re.compile(r"NOPERM", re.I), "the user lacks the permissions needed to connect"),
    (re.compile(r"Connection refused", re.I), "connection refused"),
    (re.compile(r"Name or service not known|nodename nor servname|Temporary failure in name resolution|getaddrinfo", re.I),
     "the host name does not resolve"),
    (re.compile(r"No such file or directory", re.I), "no server socket at that path"),
    (re.compile(r"Permission denied", re.I), "permission denied"),
    (re.compile(r"timed? ?out", re.I), "no answer within {timeout}s (socket_timeout)"),
    (re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed", re.I), "the server's TLS certificate did not verify"),
    (re.compile(r"WRONG_VERSION_NUMBER|SSL|TLS", re.I), "the TLS handshake failed (is TLS enabled on both sides?)"),
    (re.compile(r"Connection reset by peer|Connection closed by server|closed the connection|EOF", re.I),
     "the server closed the connection (TLS or protocol mismatch?)"),
    (re.compile(r"max number of clients reached", re.I), "the server has no free client slots (maxclients)"),
    (re.compile(r"LOADING", re.I), "the server is still loading its dataset"),
    (re.compile(r"DENIED.*protected mode", re.I | re.S), "the server is in protected mode and refuses remote clients"),
    (re.compile(r"invalid DB index|DB index is out of range|Invalid Database", re.I),
     "database {db} does not exist on the server"),
    (re.compile(r"Network is unreachable|No route to host", re.I), "the network is unreachable"),
)

# Prefixes redis-py and the server put before what went wrong.
_NOISE = (r"^Error -?\d+ (while writing to socket|connecting to [^.]*?)\.\s*", r"^(ERR|Error)\s+")

_REDIS_LIB = {}


class RedisModuleError(Exception):
    """An expected Redis failure; ``str()`` is one sentence fit for fail_json."""


def server_address(params):
    """Where we connect, as people write it: '10.0.0.5:6379', or the unix socket path."""
    if params.get("unix_socket"):
        return f"{params['unix_socket']} (unix socket)"
    return f"{params.get('host') or 'localhost'}:{params.get('port')}"


def first_line(message):
    """The first meaningful line of an error, without redis-py's 'Error 111 connecting to ...' prefix."""
    return _first_line(message, _NOISE)


def connection_cause(params, exc, connecting=True):
    """The cause of a connection failure in a few words: 'connection refused'.

    With ``connecting=False`` (a connection that worked and then broke) the hints that only make
    sense while connecting, such as a TLS mismatch, are left out.
    """
    text = str(exc) or type(exc).__name__
    cause = matching_cause(text, _CAUSES, timeout=_number(params.get("socket_timeout")), db=params.get("db"))
    if cause is None:
        return first_line(text)
    return cause if connecting else re.sub(r" \([^)]*\?\)$", "", cause)


def describe_connect_error(params, exc):
    """Turn a connection failure into one sentence naming the server and the cause."""
    return f"Cannot connect to Redis at {server_address(params)}: {connection_cause(params, exc)}."


def _number(value):
    """10.0 -> '10', 2.5 -> '2.5' for messages."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def redis_library(module):
    """The redis-py package, imported on first use; fail_json with Ansible's message when it is missing."""
    if "redis" not in _REDIS_LIB:
        try:
            import redis  # pylint: disable=import-outside-toplevel
            import redis.backoff  # pylint: disable=import-outside-toplevel
            import redis.retry  # pylint: disable=import-outside-toplevel
        except ImportError:
            module.fail_json(msg=missing_required_lib("redis (the redis-py package)"), exception=traceback.format_exc())
        _REDIS_LIB["redis"] = redis
    return _REDIS_LIB["redis"]


def client_kwargs(params):
    """redis.Redis() keyword arguments for the common options (pure; no import of redis needed)."""
    timeout = params.get("socket_timeout")
    kwargs = {
        "db": params.get("db") or 0,
        "username": params.get("username") or None,
        "password": params.get("password") or None,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": False,
        "driver_info": None,
    }
    if params.get("unix_socket"):
        kwargs["unix_socket_path"] = params["unix_socket"]
    else:
        kwargs["host"] = params.get("host") or "localhost"
        kwargs["port"] = params.get("port")
        if params.get("tls"):
            validate = params.get("validate_certs", True)
            kwargs.update({
                "ssl": True,
                "ssl_ca_certs": params.get("tls_ca_cert"),
                "ssl_certfile": params.get("tls_cert"),
                "ssl_keyfile": params.get("tls_key"),
                "ssl_cert_reqs": "required" if validate else "none",
                "ssl_check_hostname": bool(validate),
            })
    return kwargs


def connect(module, params=None):
    """A redis-py client for the module's common options, already PINGed; fail_json in one sentence otherwise.

    Retries are off: an unreachable server is reported at once instead of after redis-py's
    default ten attempts with back-off, and no command is ever silently sent twice.
    """
    params = module.params if params is None else params
    unreadable = unreadable_tls_file(params)
    if unreadable:
        module.fail_json(msg=unreadable)
    redis = redis_library(module)
    kwargs = client_kwargs(params)
    kwargs["retry"] = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
    client = redis.Redis(**kwargs)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        client.close()
        module.fail_json(msg=describe_connect_error(params, exc))
    return client


def unreadable_tls_file(params):
    """One sentence naming a TLS file (tls_ca_cert, tls_cert, tls_key) that cannot be read, or None.

    The TLS library's own error ("No such file or directory") names no file, and read as a
    connection error it looked like a missing server socket.
    """
    if not params.get("tls") or params.get("unix_socket"):
        return None
    for option in ("tls_ca_cert", "tls_cert", "tls_key"):
        path = params.get(option)
        if not path:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            return os_error_sentence(exc, f"read {option}", where=path)
    return None


def tls_context(params):
    """An ssl.SSLContext for the TLS options (used by the raw connection)."""
    context = ssl.create_default_context(cafile=params.get("tls_ca_cert") or None)
    if not params.get("validate_certs", True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if params.get("tls_cert"):
        context.load_cert_chain(params["tls_cert"], params.get("tls_key") or None)
    return context


def encode_command(*args):
    """One RESP array for a command: encode_command('AUTH', 'pw') -> b'*2\\r\\n$4\\r\\nAUTH\\r\\n$2\\r\\npw\\r\\n'."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RawRedisConnection:
    """A bare RESP connection (TCP, TLS or unix socket) for streams redis-py does not expose, such as SYNC.

    Only what a replication-stream copy needs: AUTH/SELECT-free simple commands with
    status, error, integer or bulk replies, and byte-level reads after that.
    """

    def __init__(self, params):
        self.params = params
        self.sock = None
        self._buffer = b""

    def open(self):
        params = self.params
        timeout = params.get("socket_timeout")
        try:
            if params.get("unix_socket"):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(params["unix_socket"])
            else:
                host = params.get("host") or "localhost"
                sock = socket.create_connection((host, params.get("port")), timeout=timeout)
                if params.get("tls"):
                    sock = tls_context(params).wrap_socket(sock, server_hostname=host)
            self.sock = sock
            if params.get("password"):
                auth = ["AUTH", params["username"], params["password"]] if params.get("username") else ["AUTH", params["password"]]
                self.command(*auth)
        except (OSError, ValueError, RedisModuleError) as exc:
            self.close()
            raise RedisModuleError(describe_connect_error(params, exc)) from exc
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def send(self, *args):
        self.sock.sendall(encode_command(*args))

    def command(self, *args):
        """Send one command and return its reply (bytes or int); an error reply raises RedisModuleError(text)."""
        self.send(*args)
        return self.read_reply()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("Connection closed by server")
        self._buffer += chunk

    def read_line(self):
        """One CRLF-terminated line, without the CRLF."""
        while b"\r\n" not in self._buffer:
            self._fill()
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def read_exact(self, size):
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def skip_newlines(self):
        """Drop the bare '\\n' keep-alives a primary sends while it prepares a snapshot."""
        while True:
            if not self._buffer:
                self._fill()
            stripped = self._buffer.lstrip(b"\n")
            if stripped:
                self._buffer = stripped
                return
            self._buffer = b""

    def read_reply(self):
        line = self.read_line()
        kind, body = line[:1], line[1:]
        if kind == b"-":
            raise RedisModuleError(body.decode(errors="replace"))
        if kind == b"+":
            return body
        if kind == b":":
            return int(body)
        if kind == b"$":
            size = int(body)
            if size < 0:
                return None
            data = self.read_exact(size + 2)
            return data[:-2]
        raise ValueError(f"unexpected reply {line[:40]!r}")

    def read_chunks(self, size=1 << 20):
        """Yield whatever bytes are buffered, then raw reads from the socket (the caller stops)."""
        if self._buffer:
            data, self._buffer = self._buffer, b""
            yield data
        while True:
            chunk = self.sock.recv(size)
            if not chunk:
                raise ConnectionError("Connection closed by server")
            yield chunk


def open_raw_connection(params):
    """An open, authenticated RawRedisConnection; raises RedisModuleError with the one-sentence cause."""
    return RawRedisConnection(params).open()


def is_local_server(params):
    """True when the server runs on this host (unix socket or a loopback address), so its files are ours to read."""
    if params.get("unix_socket"):
        return True
    host = (params.get("host") or "localhost").strip("[]").lower()
    return host in ("localhost", "localhost.localdomain", "::1") or host.startswith("127.")


def redis_error_text(exc):
    """The server's error message, one line, without a trailing period."""
    return first_line(exc)


# A command the user's ACL does not allow (NOPERM), or one the server renamed or disabled
# (rename-command, ElastiCache's restricted commands: "unknown command").
_NOT_PERMITTED = re.compile(r"NOPERM|no permissions to run|unknown command|unknown subcommand", re.I)


def is_not_permitted(exc_or_text):
    """True when the server refused a command because this user may not run it, or it is renamed or disabled."""
    return bool(_NOT_PERMITTED.search(str(exc_or_text)))


def refusal_message(address, what, exc_or_text):
    """One sentence for a refused command; ACL and renamed/disabled commands say "not permitted by the server"."""
    text = first_line(exc_or_text)
    if is_not_permitted(text):
        how = ("the user's ACL does not allow it" if re.search(r"NOPERM|no permissions", text, re.I)
               else "the command is renamed or disabled there")
        return f"{what} is not permitted by the server at {address} ({how}: {text})."
    return f"Redis at {address} refused {what}: {text}."
