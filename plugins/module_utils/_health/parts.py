# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Run several read modules' work in one module process: each part checked against its own module's spec, then
run in a child process of its own, all at the same time.

health_check_info reads the daily health check's parts (Kubernetes, SLOs, PostgreSQL, Redis, backups,
Kafka) in one task. Each part is the work of an existing read module (k8s_health_info, slo_check, ...),
given the options that module takes and ending the way it ends (``exit_json`` / ``fail_json``); a
:class:`PartModule` stands in for the module so that those ends return a result instead of leaving the
process. One task instead of five saves five AnsiballZ builds on the controller and four interpreter
start-ups here; the children share the parent's imports (ansible.module_utils.basic) and import their
own libraries (kubernetes, boto3, redis) on every core at once, which threads could not do under the GIL.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import time
import traceback

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._common.pipes import read_pipes
from ansible_collections.sre.runbooks.plugins.module_utils._common.module import (
    check_numbers,
    check_range,
    check_strings,
    readable_sentence,
    secret_values,
    unexpected_error,
)


class PartEnded(Exception):
    """Raised by PartModule.exit_json/fail_json: the part's work is over and ``result`` is what it returned."""

    def __init__(self, result):
        super().__init__(result.get("msg", "ended"))
        self.result = result


class PartModule:
    """What a read module's work sees of its module: the part's own options, and ends that return.

    Everything else (check mode, diff, no_log values, get_bin_path) is the real module's.
    """

    def __init__(self, module, params, warnings=None):
        self._module = module
        self.params = params
        # Shared by the part modules of one part (Kafka's two reads), so that every warning reaches the task.
        self.warnings = [] if warnings is None else warnings

    def __getattr__(self, name):
        return getattr(self._module, name)

    def warn(self, warning):
        self.warnings.append(str(warning))

    def deprecate(self, msg, *args, **kwargs):
        self.warnings.append(str(msg))

    def exit_json(self, **result):
        raise PartEnded(dict(result, changed=False))

    def fail_json(self, msg, **result):
        # A library's multi-line text (botocore's) as one line, as RunbookModule does.
        raise PartEnded(dict(result, changed=False, failed=True, msg=" ".join(str(msg).split())))


class Part:
    """One part: the spec its options are checked against (a module's RunbookModule keyword arguments)
    and ``work(part_module)``, which ends through the part module or returns its result."""

    def __init__(self, name, module_name, spec, work):
        self.name = name
        self.module_name = module_name
        self.spec = spec
        self.work = work

    def secrets(self, given):
        """The values of the part's no_log options in the options as given (never raises)."""
        return secret_values(self.spec["argument_spec"], given)

    def check(self, given):
        """The part's options with defaults, checked as its module checks them; InputError in one sentence."""
        if not isinstance(given, dict):
            raise InputError(f"{self.name} must be a mapping of {self.module_name}'s options, not {type(given).__name__}.")
        spec = self.spec["argument_spec"]
        # An option given as null is left unset, so its default (or environment fallback) applies: a role can pass
        # every setting it has, empty ones as null.
        given = {key: value for key, value in given.items() if value is not None}
        validator = ArgumentSpecValidator(spec, **{key: value for key, value in self.spec.items()
                                                   if key not in ("argument_spec", "ranges")})
        result = validator.validate(given)
        if result.unsupported_parameters:
            raise InputError(f"{self.name} has no option {', '.join(sorted(result.unsupported_parameters))}; it takes "
                             f"the options of {self.module_name} ({', '.join(sorted(spec))}).")
        if result.error_messages:
            raise InputError(f"{self.name}: " + readable_sentence(result.error_messages[0]))
        params = result.validated_parameters
        check_strings(spec, params, self.name + ".")
        check_numbers(spec, params, self.name + ".")
        for path, (minimum, maximum) in (self.spec.get("ranges") or {}).items():
            check_range(spec, params, path, minimum, maximum, option=f"{self.name}.{path}")
        return params, result._no_log_values  # pylint: disable=protected-access

    def run(self, module, params):
        """The part's result as its module would have returned it: ``failed`` and ``msg`` when it could not read."""
        part_module = PartModule(module, params)
        result = finish(self.work, part_module, self.module_name)
        if part_module.warnings:
            result["warnings"] = list(part_module.warnings)
        return result


def finish(work, part_module, module_name):
    """``work(part_module)``'s result, however it ends: returned, through exit_json/fail_json, or on an
    exception we did not foresee (one sentence, the trace at -vvv only, as RunbookModule.run does)."""
    try:
        result = dict(work(part_module) or {}, changed=False)
    except PartEnded as ended:
        result = ended.result
    except Exception as exc:  # pylint: disable=broad-exception-caught
        result = {"changed": False, "failed": True, "msg": unexpected_error(module_name, exc)}
        if getattr(part_module, "_verbosity", 0) >= 3:
            result["exception"] = traceback.format_exc()
    return result


def run_at_once(jobs, timeout, fork=True):
    """``{name: job}`` -> ``{name: job()}``, each job in a child process, all at the same time.

    A job returns a JSON-able dict and never raises. A child that has not answered within ``timeout``
    seconds is killed and its result says so; one that dies says how. Without fork (or with one job)
    the jobs run here, one after the other.
    """
    if not fork or len(jobs) < 2 or not hasattr(os, "fork"):
        return {name: job() for name, job in jobs.items()}
    children = {}
    try:
        for name, job in jobs.items():
            children[name] = _start_child(job)
        return _collect(children, time.monotonic() + timeout, timeout)
    finally:
        for pid, read_end in children.values():
            _end_child(pid, read_end)


# A child's collector runs once per this many new container objects instead of CPython's 700. A part
# imports its client library first (the kubernetes client's thousands of model classes, boto3,
# redis-py): at 700, the collector runs hundreds of times over objects that all live, a third of
# the import time (kubernetes.client: 0.53 s against 0.38 s). The child lives for one read, so its
# cyclic garbage is still collected, only in larger batches.
CHILD_GC_THRESHOLD = 100_000


def _start_child(job):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the job, write its JSON, leave without running the parent's exit handlers
        status = 0
        try:
            gc.set_threshold(CHILD_GC_THRESHOLD)
            os.close(read_end)
            payload = json.dumps(job(), default=str).encode("utf-8")
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:  # pylint: disable=broad-exception-caught
            status = 1
        finally:
            os._exit(status)  # pylint: disable=protected-access
    os.close(write_end)
    return pid, read_end


def _collect(children, deadline, timeout):
    """Read every child's answer until it closes its pipe or the deadline passes."""
    answers, still_open = read_pipes({name: read_end for name, (_pid, read_end) in children.items()}, deadline)
    results = {}
    for name in children:
        if name in still_open:
            results[name] = {"changed": False, "failed": True, "msg": f"The {name} read gave no answer within {timeout:g}s."}
            continue
        try:
            results[name] = json.loads(answers[name].decode("utf-8"))
        except ValueError:
            results[name] = {"changed": False, "failed": True,
                             "msg": f"The {name} read ended without an answer (its process died)."}
    return results


def _end_child(pid, read_end):
    """Kill the child if it still runs and reap it; close its pipe."""
    try:
        os.close(read_end)
    except OSError:
        pass
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except OSError:
        pass
