# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A pg_tools transport that runs client programs in a pod through the Kubernetes exec API.

``KubeExecTransport.spawn()`` has the contract of ``LocalTransport.spawn()`` and returns a
Popen-like object; its ``stdout`` is a real pipe, so ``run_chain`` streams a remote pg_dump's
output into the local file exactly as it does for a local one.

Settings reach the program in the pod without touching its command line (the exec URL ends up
in the apiserver's audit log, and argv in the pod's process list): the command is wrapped in
``sh -c`` which reads one line of ``export`` statements from stdin first. Only the libpq
variables (``PG*``) and ``LC_MESSAGES`` are sent, never the module's whole environment.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading

CHUNK = 1024 * 1024
WRAPPER = 'IFS= read -r _sre_env || exit 125; eval "$_sre_env"; unset _sre_env; exec "$@"'
EXEC_STATUS_CHANNEL = 3


def forwarded_env(env):
    """The part of ``env`` sent into the pod: libpq variables and the message language."""
    return {key: value for key, value in env.items() if key.startswith("PG") or key == "LC_MESSAGES"}


def env_line(env):
    """One shell line exporting ``env`` (quoted); raises ValueError on a name or value it cannot carry."""
    parts = []
    for key in sorted(env):
        value = str(env[key])
        if not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise ValueError(f"invalid environment variable name {key!r}")
        if "\n" in value or "\r" in value or "\0" in value:
            raise ValueError(f"the value of {key} contains a line break or NUL")
        parts.append(f"export {key}={shlex.quote(value)};")
    return (" ".join(parts) + "\n").encode("utf-8")


def exec_command(argv):
    """The command run in the pod: the wrapper, then the program by name (found on the pod's PATH)."""
    program = os.path.basename(argv[0])
    return ["sh", "-c", WRAPPER, "sh", program] + [str(arg) for arg in argv[1:]]


def exit_code(status_text):
    """The exit code in the exec status message of channel 3 (a v1 Status), or None."""
    if not status_text:
        return None
    try:
        status = json.loads(status_text)
    except ValueError:
        return None
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message"))
            except (TypeError, ValueError):
                return None
    return 1


def status_message(status_text):
    """The message of a failed exec status that is not a plain exit code (pod gone, exec refused), or None."""
    try:
        status = json.loads(status_text or "{}")
    except ValueError:
        return None
    causes = (status.get("details") or {}).get("causes") or []
    if status.get("status") == "Success" or any(cause.get("reason") == "ExitCode" for cause in causes):
        return None
    return status.get("message") or None


class ExecProcess:
    """A program running in a pod, with the attributes of ``subprocess.Popen`` that pg_tools uses."""

    def __init__(self, client, argv, env, stdin, stdout, stderr):
        self.args = argv
        self._ws = client
        self.returncode = None
        self.stdin = None
        self.stdout = None
        self._out_fd = None
        self._stdout_target = stdout
        self._stderr_target = stderr
        self._status = b""
        self._error = None
        self._lock = threading.Lock()
        self._ws.write_stdin(env_line(env))
        if stdout == subprocess.PIPE:
            read_fd, self._out_fd = os.pipe()
            self.stdout = os.fdopen(read_fd, "rb")
        source = None
        if stdin == subprocess.PIPE:
            read_fd, write_fd = os.pipe()
            self.stdin = os.fdopen(write_fd, "wb")
            source = os.fdopen(read_fd, "rb")
        elif stdin is not None and stdin != subprocess.DEVNULL:
            source = stdin
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._writer = None
        if source is not None:
            self._writer = threading.Thread(target=self._write_loop, args=(source,), daemon=True)
            self._writer.start()
        else:
            self._close_stdin()

    def _close_stdin(self):
        try:
            self._ws.close_channel(0)
        except Exception:  # pylint: disable=broad-except  # v4 servers cannot close stdin; the program never reads it
            pass

    def _write_loop(self, source):
        try:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                self._ws.write_stdin(chunk)
        except Exception as exc:  # pylint: disable=broad-except
            self._error = exc
        finally:
            source.close()
            self._close_stdin()

    def _emit(self, channel, data):
        if channel == 1:
            if self._out_fd is not None:
                view = memoryview(data)
                while view:
                    try:
                        written = os.write(self._out_fd, view)
                    except BrokenPipeError:
                        return
                    view = view[written:]
            elif hasattr(self._stdout_target, "write"):
                self._stdout_target.write(data)
        elif channel == 2:
            if hasattr(self._stderr_target, "write"):
                self._stderr_target.write(data)
        elif channel == EXEC_STATUS_CHANNEL:
            self._status += data

    def _read_loop(self):
        try:
            while self._ws.is_open():
                self._ws.update(timeout=1)
                for channel in (1, 2, EXEC_STATUS_CHANNEL):
                    if self._ws.peek_channel(channel):
                        data = self._ws.read_channel(channel)
                        self._emit(channel, data if isinstance(data, bytes) else data.encode("utf-8"))
        except Exception as exc:  # pylint: disable=broad-except
            self._error = exc
        finally:
            if self._out_fd is not None:
                os.close(self._out_fd)
                self._out_fd = None
            status_text = self._status.decode("utf-8", "replace")
            code = exit_code(status_text)
            message = status_message(status_text)
            if code not in (None, 0) and message and hasattr(self._stderr_target, "write"):
                self._stderr_target.write(f"error: {message}\n".encode("utf-8"))
            if code is None:
                code = 255
                if hasattr(self._stderr_target, "write"):
                    reason = self._error or "the exec stream ended without an exit status"
                    self._stderr_target.write(f"error: Kubernetes exec failed: {reason}\n".encode("utf-8"))
            self.returncode = code

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        self._reader.join(timeout)
        if self._writer is not None:
            self._writer.join(timeout)
        return self.returncode

    def kill(self):
        try:
            self._ws.close()
        except Exception:  # pylint: disable=broad-except
            pass
        self._reader.join()


class KubeExecTransport:
    """Runs client programs in ``pod`` (``container``) of ``namespace`` through ``KubeApi``'s client."""

    name = "kubernetes"

    def __init__(self, api, namespace, pod, container=None):
        from kubernetes.client import CoreV1Api  # pylint: disable=import-outside-toplevel
        from kubernetes.stream import stream  # pylint: disable=import-outside-toplevel
        self._api = api
        self._checked = False
        self._core = CoreV1Api(api.client)
        self._stream = stream
        self.namespace = namespace
        self.pod = pod
        self.container = container

    def describe(self):
        where = f"pod {self.namespace}/{self.pod}"
        return where + (f" (container {self.container})" if self.container else "")

    def _check_pod(self):
        """Read the pod once through the REST API before the first exec.

        The websocket client reports an unreachable API or a missing pod as internal errors
        ("'NoneType' object has no attribute 'decode'"); the REST call says it in one sentence.
        """
        if self._checked:
            return
        try:
            self._api.get("Pod", self.namespace, self.pod)
        except Exception as exc:  # KubeError: unreachable, refused credentials, forbidden, not found
            raise OSError(f"exec in {self.describe()} is not possible: {str(exc).rstrip('.')}") from None
        self._checked = True

    def spawn(self, argv, env, stdin=None, stdout=None, stderr=None):
        self._check_pod()
        kwargs = {"command": exec_command(argv), "stdin": True, "stdout": True, "stderr": True, "tty": False,
                  "_preload_content": False, "binary": True}
        if self.container:
            kwargs["container"] = self.container
        try:
            client = self._stream(self._core.connect_get_namespaced_pod_exec, self.pod, self.namespace, **kwargs)
        except Exception as exc:  # ApiException, websocket and connection errors alike
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            raise OSError(f"exec in {self.describe()} failed: {str(reason).strip()}") from None
        return ExecProcess(client, argv, forwarded_env(env), stdin, stdout, stderr)
