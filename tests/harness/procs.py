"""Ports, polling and process groups: what the harness's service, cluster and sandbox starters share.

Standard library only, like the rest of the harness, so ``tests/k8s/cluster.sh`` can run it
outside the virtualenv.
"""

from __future__ import annotations

import os
import signal
import socket
import time

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = 60.0, interval: float = 0.1, error: type = TimeoutError):
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` passes.

    Raises ``error`` (each starter passes its own, so callers catch one kind of failure) naming
    ``what`` and the last exception the predicate raised.
    """
    deadline = time.monotonic() + timeout
    last_error: object = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = exc
        if time.monotonic() >= deadline:
            raise error(f"{what} not reached within {timeout:.0f}s (last error: {last_error})")
        time.sleep(interval)


def stop_process_group(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group led by ``pid`` (started with start_new_session), SIGKILL it after ``timeout``.

    The whole group, because servers such as PostgreSQL or a shell wrapper fork helpers that would
    otherwise outlive the test run; our own child is reaped so it does not linger as a zombie.
    """
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
