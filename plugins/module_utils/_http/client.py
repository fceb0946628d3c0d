# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One HTTP exchange with ansible-core's own client (no third-party library), as data.

:func:`exchange` never raises for an HTTP status: it returns the status, the body and its
JSON. Transport failures (refused, timeout, TLS, DNS) raise :class:`TransportError` whose
``cause`` is a short phrase the backend clients put into their one-sentence errors.
"""

from __future__ import annotations

import inspect
import json
import socket
import ssl
import threading
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import Request, SSLValidationError, make_context
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import (
    InputError,
    finite_number,
    http_url,
    plain_text,
)

USER_AGENT = "sre.runbooks"

# Building an SSL context reads and parses every CA certificate of the system (10-20 ms of CPU), and
# ansible-core's client builds one per request, for http:// URLs too: one slo_check call of 25
# requests spent most of its CPU there. The context is built once per process and settings, and
# shared by every request and thread (an SSLContext is safe to share). ansible-core 2.16 cannot be
# given one; it keeps building its own.
_TAKES_CONTEXT = "context" in inspect.signature(Request.open).parameters
_CONTEXTS = {}
_CONTEXTS_LOCK = threading.Lock()


def shared_context(validate_certs, ca_path):
    """This process's SSL context for these settings, built on first use."""
    key = (bool(validate_certs), ca_path)
    with _CONTEXTS_LOCK:
        if key not in _CONTEXTS:
            _CONTEXTS[key] = make_context(cafile=ca_path, validate_certs=bool(validate_certs))
        return _CONTEXTS[key]


def open_url(url, method="GET", **options):
    """ansible-core's ``open_url``, given this process's shared SSL context where ansible-core takes one."""
    if _TAKES_CONTEXT:
        options["context"] = shared_context(options.get("validate_certs", True), options.get("ca_path"))
    return Request().open(method, url, **options)


def transport_args(prefix):
    """The TLS and timeout options of an HTTP client, for a module's argument spec: ``<prefix>_ca_path`` and so on."""
    return {
        f"{prefix}_ca_path": {"type": "path"},
        f"{prefix}_validate_certs": {"type": "bool", "default": True},
        f"{prefix}_timeout": {"type": "float", "default": 30.0},
    }


def server_args(prefix, env_prefix, default_url):
    """The connection options of an HTTP API client: ``<prefix>_url``, token, basic auth (from ``<ENV_PREFIX>_*``), TLS, timeout.

    Returns (argument spec, mutually_exclusive, required_together) for RunbookModule.
    """
    spec = {
        f"{prefix}_url": {"type": "str", "default": default_url, "fallback": (env_fallback, [f"{env_prefix}_URL"])},
        f"{prefix}_token": {"type": "str", "no_log": True, "fallback": (env_fallback, [f"{env_prefix}_TOKEN"])},
        f"{prefix}_username": {"type": "str", "fallback": (env_fallback, [f"{env_prefix}_USERNAME"])},
        f"{prefix}_password": {"type": "str", "no_log": True, "fallback": (env_fallback, [f"{env_prefix}_PASSWORD"])},
        **transport_args(prefix),
    }
    return spec, [(f"{prefix}_token", f"{prefix}_username")], [(f"{prefix}_username", f"{prefix}_password")]


def exchange_with(params, prefix, method, url, **kwargs):
    """:func:`exchange` with the TLS, timeout and credential options of :func:`server_args` taken from ``params``."""
    return exchange(method, url, timeout=params.get(f"{prefix}_timeout") or 30.0,
                    validate_certs=params.get(f"{prefix}_validate_certs", True), ca_path=params.get(f"{prefix}_ca_path"),
                    token=params.get(f"{prefix}_token"), username=params.get(f"{prefix}_username"),
                    password=params.get(f"{prefix}_password"), **kwargs)


def transport_ranges(prefix):
    """For RunbookModule(ranges=...): a NaN or negative timeout would hang or fail inside urllib."""
    return {f"{prefix}_timeout": (0.001, 3600)}


class TransportError(Exception):
    """The server could not be reached or did not answer; ``cause`` is a short phrase."""

    def __init__(self, cause):
        super().__init__(cause)
        self.cause = cause


class Response:
    """Status, raw body, parsed JSON (None when the body is not JSON) and elapsed seconds."""

    def __init__(self, status, body, headers, elapsed):
        self.status = status
        self.body = body
        self.headers = headers
        self.elapsed = elapsed
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None


def join_url(base, path, query=None):
    """``base`` (with or without a trailing slash or a path prefix) + ``path`` + encoded ``query``."""
    url = base.rstrip("/") + "/" + path.lstrip("/")
    pairs = [(k, v) for k, v in (query or {}).items() if v is not None]
    return url + ("?" + urlencode(pairs) if pairs else "")


def describe_url(url):
    """scheme://host:port of a URL, for messages (no path, no credentials)."""
    try:
        parts = urlsplit(str(url))
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number: the URL is refused later, with a reason
        return str(url)[:60]
    if not parts.scheme or not host:  # not a URL at all: show what was given (it is refused later, with a reason)
        return repr(str(url)[:60])
    return f"{parts.scheme}://{host}{':' + str(port) if port else ''}"


def check_request(method, url, headers, timeout):
    """Refuse, as a TransportError phrase, what would make urllib raise or split the request."""
    try:
        http_url(url, "the URL")
        plain_text(method, "the HTTP method")
        for name, value in (headers or {}).items():
            plain_text(name, "a header name")
            plain_text(value, f"the header {str(name)[:40]}")
        finite_number(timeout, "the timeout", minimum=0.001, maximum=86400)
    except InputError as exc:
        raise TransportError(str(exc).rstrip(".")) from None


def check_ca_path(url, ca_path):
    """Refuse, as a TransportError phrase naming the file, a CA bundle an https request cannot read.

    ssl's own error ("No such file or directory") does not say which file it means.
    """
    if not ca_path or not str(url).lower().startswith("https:"):
        return
    try:
        with open(ca_path, "rb"):
            pass
    except IsADirectoryError:
        return  # a folder of hashed certificates (c_rehash) is a valid CA path
    except OSError as exc:
        raise TransportError(f"the CA file {ca_path} cannot be read ({exc.strerror or exc.__class__.__name__})") from None


def exchange(method, url, body=None, form=None, headers=None, timeout=30, validate_certs=True, ca_path=None,
             token=None, username=None, password=None, agent=USER_AGENT):
    """Send one request; ``body`` is sent as JSON, ``form`` as application/x-www-form-urlencoded."""
    check_request(method, url, headers, timeout)
    check_ca_path(url, ca_path)
    send_headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        send_headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urlencode(form).encode("utf-8")
        send_headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        send_headers["Authorization"] = f"Bearer {token}"
    send_headers.update(headers or {})
    started = time.monotonic()
    try:
        resp = open_url(url, data=data, headers=send_headers, method=method, timeout=timeout,
                        validate_certs=validate_certs, ca_path=ca_path, http_agent=agent,
                        url_username=username, url_password=password, force_basic_auth=bool(username),
                        follow_redirects="safe", use_netrc=False)
        status, payload, response_headers = resp.getcode(), resp.read(), dict(resp.headers.items())
    except HTTPError as exc:
        status, response_headers = exc.code, dict(exc.headers.items()) if exc.headers else {}
        try:
            payload = exc.read()
        except Exception:  # pylint: disable=broad-except  # a body that cannot be read is simply absent
            payload = b""
    except SSLValidationError as exc:
        raise TransportError(f"TLS certificate verification failed ({_first_line(exc)})") from None
    except URLError as exc:
        raise TransportError(_reason(exc.reason, timeout)) from None
    except (socket.timeout, TimeoutError):
        raise TransportError(f"no answer within {timeout:g}s") from None
    except (ConnectionError, OSError, ssl.SSLError) as exc:
        raise TransportError(_reason(exc, timeout)) from None
    except (ValueError, UnicodeError) as exc:  # urllib's own refusals of a URL or header it cannot send
        raise TransportError(f"the request cannot be sent ({_first_line(exc)})") from None
    return Response(status, payload, response_headers, time.monotonic() - started)


def _reason(reason, timeout):
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g}s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({_first_line(reason)})"
    text = _first_line(reason)
    if "timed out" in text:
        return f"no answer within {timeout:g}s"
    if "refused" in text.lower():
        return "connection refused"
    return text


def _first_line(value):
    text = str(getattr(value, "strerror", None) or value).strip()
    return (text.splitlines() or ["unknown error"])[0].rstrip(".")
