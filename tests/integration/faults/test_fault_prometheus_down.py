"""Fault: Prometheus is down (nothing listens) or hangs (accepts and never answers) when slo_check runs.

slo_check must fail with one sentence, or - with ``fail_on: never`` - report the objectives as not
evaluable; it must never say ``ok``. (playbooks/evening_summary.yml with Prometheus down is
tests/integration/playbooks/test_evening_summary.py's.)
"""

from __future__ import annotations

import socket

import pytest

from tests.harness.procs import LOOPBACK
from tests.integration.faults.common import assert_one_sentence
from tests.integration.module_batch import run_module_batch

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.slo_check"
OBJECTIVES = [{"name": "availability", "sli": "availability", "target": 99.9},
              {"name": "latency-p95", "sli": "latency", "quantile": 0.95, "target": 2.0}]


@pytest.fixture
def silent_port():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def test_prometheus_down_or_hanging_is_never_ok(closed_port, silent_port):
    calls = []
    for port in (closed_port, silent_port):
        args = {"prometheus_url": f"http://{LOOPBACK}:{port}", "selector": 'api="v2"', "objectives": OBJECTIVES,
                "prometheus_timeout": 1}
        calls += [{"args": args, "check": port == silent_port}, {"args": dict(args, fail_on="never")}]
    results = run_module_batch(MODULE, calls, timeout=120)
    for call, result in zip(calls, results):
        assert "Traceback" not in result.output
        assert result.get("status") != "ok", (call, result)
        if result.failed:
            msg = assert_one_sentence(result)
            assert call["args"]["prometheus_url"] in msg or "Prometheus" in msg, msg
        else:  # only fail_on=never may finish, and then every objective says it could not be evaluated
            assert call["args"].get("fail_on") == "never", result
            assert result["status"] not in ("ok", "warning", "breached"), result
            assert all(o.get("status") != "ok" for o in result.get("objectives", [])), result
