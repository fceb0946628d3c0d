# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins!

"""Run a module in a fork of the controller's worker when the host is the controller itself.

A module task on the controller (local connection, the controller's own Python) still pays for the
module's build (ansible-core parses every module_utils file it ships, 1 MB for health_check_info), a new
interpreter and the compilation of that code from the zip it travels in: about 1.4 s of the daily
health check's 3.7 s. A fork of the worker that runs the task already has the interpreter and reads
the collection's code from disk with its cached bytecode. The module runs exactly as ansible-core runs
it (ansible-core's own AnsiballZ entry point, the same arguments and internal options, the same
encoders both ways, the task's environment) in its own process, and its answer is parsed as
``_execute_module`` parses it.

Anywhere else (another host, another interpreter, become, async, ansible-core without that entry
point, kept remote files for debugging) the action runs the module as usual.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.sre.runbooks.plugins.module_utils._common.pipes import read_pipes

display = Display()

# The module's own deadline (its ``timeout`` option) ends it first; this bounds a child that hangs anyway.
GRACE_SECONDS = 60.0


def runs_here(transport, become, async_val, interpreter, executable, keep_remote_files):
    """Whether the module can run in a fork of this process: the host is the controller and the module's
    interpreter is this Python (``interpreter`` as templated, None when interpreter discovery would pick one)."""
    if transport != "local" or become or async_val or keep_remote_files or not interpreter:
        return False
    try:
        return os.path.realpath(interpreter) == os.path.realpath(executable)
    except (TypeError, ValueError):
        return False


def fork_entry_point():
    """ansible-core's AnsiballZ entry point and its encoder, or None on an ansible-core without them (before 2.19)."""
    try:
        # pylint: disable=import-outside-toplevel
        from ansible.module_utils._internal._ansiballz import _loader
        from ansible.module_utils.common.json import Direction, get_module_encoder
    except ImportError:
        return None
    return _loader, get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE)


def fork_entry(action, task_vars):
    """The entry point to run this task's module in a fork (``fork_entry_point``), or None when it must run as usual."""
    interpreter = task_vars.get("ansible_python_interpreter")
    if interpreter is not None:
        interpreter = action._templar.template(interpreter)  # pylint: disable=protected-access
    play_context = action._play_context  # pylint: disable=protected-access
    return runs_here(action._connection.transport, play_context.become, action._task.async_val,  # pylint: disable=protected-access
                     interpreter if isinstance(interpreter, str) else None, sys.executable,
                     C.DEFAULT_KEEP_REMOTE_FILES) and fork_entry_point() or None


def run_forked(action, entry, module_name, module_fqn, task_vars, deadline_seconds):
    """Run ``module_name`` (its Python name ``module_fqn``) in a child process through ``entry`` (``fork_entry``);
    its parsed result."""
    loader, encoder = entry
    module_args = action._task.args.copy()  # pylint: disable=protected-access
    action._update_module_args(module_name, module_args, task_vars)  # pylint: disable=protected-access
    params = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode("utf-8")
    environment = {}
    action._compute_environment_string(environment)  # pylint: disable=protected-access
    display.vvv(f"{module_name}: running in a fork of the controller's worker (pid {os.getpid()})")
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(loader, params, module_fqn, environment, (out_read, out_write), (err_read, err_write))
    os.close(out_write)
    os.close(err_write)
    out, err, finished = _read_both(out_read, err_read, time.monotonic() + deadline_seconds)
    if not finished:
        os.kill(pid, signal.SIGKILL)
    _pid, status = os.waitpid(pid, 0)
    if not finished:
        raise AnsibleActionFail(f"{module_name} gave no answer within {deadline_seconds:g}s; its process was stopped.")
    rc = os.waitstatus_to_exitcode(status)
    return action._parse_returned_data(  # pylint: disable=protected-access
        {"rc": rc, "stdout": out.decode("utf-8", "replace"), "stderr": err.decode("utf-8", "replace")}, "legacy")


def _child(loader, params, module_fqn, environment, out_pipe, err_pipe):
    """In the child: the module's stdout and stderr go to the pipes, the task's environment applies, and the
    module runs as AnsiballZ runs it; the child never returns into the worker."""
    status = 0
    try:
        os.close(out_pipe[0])
        os.close(err_pipe[0])
        os.dup2(out_pipe[1], 1)
        os.dup2(err_pipe[1], 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # pylint: disable=consider-using-with
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # pylint: disable=consider-using-with
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        os.environ.update({str(key): str(value) for key, value in environment.items()})
        # The worker imported the controller's code, which routes module_utils' warnings to the controller's
        # display; in the module's process they go into its result, as on any host.
        from ansible.module_utils import _internal  # pylint: disable=import-outside-toplevel
        _internal.is_controller = False
        try:
            loader.run_module(json_params=params, profile="legacy", module_fqn=module_fqn, modlib_path="",
                              extensions={})
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # pylint: disable=broad-exception-caught
        status = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)  # pylint: disable=protected-access


def _read_both(out_fd, err_fd, deadline):
    """Everything the child writes on both pipes until it closes them, or until ``deadline``."""
    try:
        answers, still_open = read_pipes({"out": out_fd, "err": err_fd}, deadline)
    finally:
        os.close(out_fd)
        os.close(err_fd)
    return answers["out"], answers["err"], not still_open
