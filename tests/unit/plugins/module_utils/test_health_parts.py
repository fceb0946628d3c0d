"""The parts runner of health_check_info: each part checked against its module's spec, run in a child process."""

from __future__ import annotations

import math
import os
import select
import threading
import time

import pytest
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._health import parts
from ansible_collections.sre.runbooks.plugins.module_utils._health.parts import Part, PartEnded, PartModule, finish, run_at_once

SPEC = {
    "argument_spec": {
        "host": {"type": "str", "default": "localhost"},
        "port": {"type": "int", "default": 5432},
        "password": {"type": "str", "no_log": True},
        "dest": {"type": "path"},
        "bucket": {"type": "str"},
    },
    "ranges": {"port": (1, 65535)},
    "required_one_of": [("dest", "bucket")],
}


class FakeModule:
    check_mode = True
    _diff = False
    _verbosity = 0

    def __init__(self):
        self.no_log_values = set()


def readable_within(fd, timeout=10.0):
    """True once ``fd`` has something to read (or is closed), False after ``timeout`` seconds."""
    return bool(select.select([fd], [], [], timeout)[0])


def no_children_left():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


# --- Part.check ---------------------------------------------------------------------------------

def test_check_fills_defaults_and_returns_the_secrets():
    params, secrets = Part("postgres", "pg", SPEC, None).check({"dest": "/b", "password": "s3cr3t-pw"})
    assert params == {"host": "localhost", "port": 5432, "password": "s3cr3t-pw", "dest": "/b", "bucket": None}
    assert secrets == {"s3cr3t-pw"}


@pytest.mark.parametrize("given, message", [
    ({"dest": "/b", "operation": "flush"},
     "postgres has no option operation; it takes the options of pg (bucket, dest, host, password, port)."),
    ({"dest": "/b", "port": "many"}, "postgres: argument 'port' is of type str and we were unable to convert to int"),
    ({"dest": "/b", "port": 70000}, "postgres.port"),
    ({"dest": "/b", "port": math.nan}, "postgres: argument 'port' is of type float"),
    ({}, "postgres: one of the following is required: dest, bucket."),
    ("host=db", "postgres must be a mapping of pg's options, not str."),
    ({"dest": "/b", "host": "db\x00"}, "postgres.host"),
])
def test_check_refuses_bad_options_in_one_sentence_naming_the_part(given, message):
    with pytest.raises(InputError) as refused:
        Part("postgres", "pg", SPEC, None).check(given)
    text = str(refused.value)
    assert message in text
    assert "\n" not in text and text.endswith(".")


# --- finish: however the work ends, a result ---------------------------------------------------

def test_finish_turns_every_ending_into_a_result():
    module = PartModule(FakeModule(), {})

    def exits(m):
        m.exit_json(answer=42, changed=True)

    def fails(m):
        m.fail_json(msg="Cannot connect\nto the server.", partial=[1])

    def crashes(_m):
        raise KeyError("name")

    assert finish(lambda _m: {"answer": 1}, module, "x") == {"answer": 1, "changed": False}
    assert finish(exits, module, "x") == {"answer": 42, "changed": False}
    assert finish(fails, module, "x") == {"partial": [1], "changed": False, "failed": True,
                                          "msg": "Cannot connect to the server."}
    assert finish(crashes, module, "k8s_health_info") == {
        "changed": False, "failed": True, "msg": "k8s_health_info stopped on an unexpected error: KeyError: 'name'."}


def test_a_part_module_is_the_real_module_but_for_its_options_and_ends():
    real = FakeModule()
    real.no_log_values.add("pw")
    module = PartModule(real, {"a": 1})
    module.warn("slow")
    module.deprecate("old option", version="2.0.0", collection_name="sre.runbooks")
    assert module.params == {"a": 1} and module.check_mode is True and module.no_log_values == {"pw"}
    assert module.warnings == ["slow", "old option"]
    with pytest.raises(PartEnded):
        module.exit_json()


def test_part_run_carries_the_warnings_of_every_part_module_it_used():
    def work(module):
        module.warn("first")
        inner = PartModule(module._module, {}, module.warnings)  # pylint: disable=protected-access
        inner.warn("second")
        return {}

    assert Part("kafka", "kafka", SPEC, work).run(FakeModule(), {})["warnings"] == ["first", "second"]


# --- run_at_once --------------------------------------------------------------------------------

def test_jobs_run_at_the_same_time_each_in_its_own_process():
    # Each job signals on its pipe and waits for the other's: both see the other only if they run at once.
    a_read, a_write = os.pipe()
    b_read, b_write = os.pipe()

    def job(mine, other):
        def run():
            os.write(mine, b"x")
            return {"saw_other": readable_within(other), "pid": os.getpid()}
        return run

    results = run_at_once({"a": job(a_write, b_read), "b": job(b_write, a_read)}, timeout=30)
    for fd in (a_read, a_write, b_read, b_write):
        os.close(fd)
    assert results["a"]["saw_other"] and results["b"]["saw_other"]
    assert len({results["a"]["pid"], results["b"]["pid"], os.getpid()}) == 3
    assert no_children_left()


def test_a_job_past_the_timeout_is_killed_and_reported():
    pid_read, pid_write = os.pipe()

    def hangs():
        os.write(pid_write, str(os.getpid()).encode())
        threading.Event().wait()  # never set: the read that never answers
        return {}

    started = time.monotonic()
    results = run_at_once({"fast": lambda: {"ok": True}, "slow": hangs}, timeout=1)
    assert time.monotonic() - started < 30
    assert results["fast"] == {"ok": True}
    assert results["slow"] == {"changed": False, "failed": True, "msg": "The slow read gave no answer within 1s."}
    assert readable_within(pid_read)
    pid = int(os.read(pid_read, 32))
    os.close(pid_read)
    os.close(pid_write)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert no_children_left()


def test_a_job_whose_process_dies_is_reported_in_one_sentence():
    def dies():
        os._exit(3)  # pylint: disable=protected-access

    results = run_at_once({"dies": dies, "lives": lambda: {"ok": 1}}, timeout=30)
    assert results == {"dies": {"changed": False, "failed": True,
                                "msg": "The dies read ended without an answer (its process died)."},
                       "lives": {"ok": 1}}


def test_large_answers_come_back_whole():
    big = {"rows": ["x" * 100] * 20000}
    results = run_at_once({"a": lambda: big, "b": lambda: big}, timeout=30)
    assert results == {"a": big, "b": big}


def test_one_job_or_no_fork_runs_here():
    pid = os.getpid()
    assert run_at_once({"only": lambda: {"pid": os.getpid()}}, timeout=5) == {"only": {"pid": pid}}
    assert run_at_once({"a": lambda: {"pid": os.getpid()}, "b": lambda: {"pid": os.getpid()}}, timeout=5,
                       fork=False) == {"a": {"pid": pid}, "b": {"pid": pid}}


def test_no_jobs_no_results():
    assert not run_at_once({}, timeout=5)
    assert parts.run_at_once({}, timeout=5, fork=False) == {}


def test_an_option_given_as_null_is_left_unset_so_its_default_applies():
    given = {"dest": "/b", "host": None, "port": None, "password": None}
    params, secrets = Part("postgres", "pg", SPEC, None).check(given)
    assert params["host"] == "localhost" and params["port"] == 5432 and params["password"] is None
    assert not secrets
