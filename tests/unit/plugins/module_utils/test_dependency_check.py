"""I7 dependency check: targets parsed, the probe's output judged, the pod chosen, the exec status read."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import dependency_check as check
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.dependency_runner import exec_status


@pytest.mark.parametrize("value, expected", [
    ("db:5432", {"name": "db:5432", "host": "db", "port": 5432}),
    ("postgres.ai.svc.cluster.local:5432", {"name": "postgres.ai.svc.cluster.local:5432",
                                            "host": "postgres.ai.svc.cluster.local", "port": 5432}),
    ("[fd00::1]:6379", {"name": "fd00::1:6379", "host": "fd00::1", "port": 6379}),
    ({"name": "kafka", "host": "kafka-0.kafka", "port": "9092"}, {"name": "kafka", "host": "kafka-0.kafka", "port": 9092}),
])
def test_parse_target(value, expected):
    assert check.parse_target(value) == expected


@pytest.mark.parametrize("value, words", [
    ("db", "is not host:port"),
    ("db:", "is not host:port"),
    ("db:0", "between 1 and 65535"),
    ("db:70000", "between 1 and 65535"),
    ("bad host:80", "no valid host name"),
    ({"host": "db"}, "has no port number"),
    ({"host": "db;rm -rf /", "port": 1}, "no valid host name"),
    (5432, "neither host:port nor a dict"),
])
def test_parse_target_refuses_in_one_sentence(value, words):
    with pytest.raises(check.TargetError, match=words) as caught:
        check.parse_target(value)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_parse_targets_needs_one_and_unique_names():
    with pytest.raises(check.TargetError, match="at least one"):
        check.parse_targets([])
    with pytest.raises(check.TargetError, match="db:1 are named twice"):
        check.parse_targets(["db:1", {"host": "db", "port": 1}])


def test_probe_runs_and_reports_a_listening_a_closed_and_an_unresolvable_target():
    """The probe program itself (what runs in the container), on this host's loopback."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        targets = check.parse_targets([f"127.0.0.1:{listener.getsockname()[1]}", f"127.0.0.1:{closed_port}",
                                       "no-such-host.invalid:5432"])
        proc = subprocess.run(check.probe_command(sys.executable, targets, 2), capture_output=True, text=True,
                              timeout=30, check=True)
    finally:
        listener.close()
    rows, summary = check.judge(check.parse_output(proc.stdout), "pod ns/api-0")
    verdicts = [(r["dns_ok"], r["connect_ok"], r["ok"]) for r in rows]
    assert verdicts == [(True, True, True), (True, False, False), (False, False, False)]
    assert rows[0]["addresses"] == ["127.0.0.1"] and rows[0]["ms"] is not None and rows[0]["error"] is None
    assert rows[1]["error"].startswith(f"127.0.0.1:{closed_port} (127.0.0.1) refused the TCP connection from pod ns/api-0")
    assert rows[2]["error"].startswith("no-such-host.invalid does not resolve from pod ns/api-0")
    assert rows[2]["ms"] is None
    assert summary == {"targets": 3, "ok": 1, "dns_failed": 1, "connect_failed": 1}


@pytest.mark.parametrize("text", ["", "Traceback ...\nSyntaxError", "SRE-RUNBOOKS-PROBE {not json", "SRE-RUNBOOKS-PROBE {}"])
def test_parse_output_without_the_probe_line(text):
    assert check.parse_output(text) is None


def test_judge_timeout_wording():
    rows, _summary = check.judge([{"name": "db", "host": "db", "port": 5432, "dns_ok": True, "addresses": ["10.0.0.9"],
                                   "connect_ok": False, "ms": 3000.0, "error": "connect: timed out"}], "pod a/b")
    assert rows[0]["error"] == "db:5432 (10.0.0.9) did not answer a TCP connect within the timeout from pod a/b (timed out)."


def pod(name, phase="Running", ready="True", deleting=False):
    meta = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-05T03:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]}}


def test_choose_pod_first_ready_running_not_terminating():
    pods = [pod("api-c"), pod("api-a", deleting=True), pod("api-b", ready="False"), pod("api-0", phase="Pending"),
            pod("api-d")]
    assert check.choose_pod(pods)["metadata"]["name"] == "api-c"
    assert check.choose_pod([pod("x", ready="False")]) is None


@pytest.mark.parametrize("text, expected", [
    ("", (0, "")),
    (json.dumps({"metadata": {}, "status": "Success"}), (0, "")),
    (json.dumps({"status": "Failure", "reason": "NonZeroExitCode",
                 "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}), (3, "")),
    (json.dumps({"status": "Failure", "message": "cmd start: python9 -c\nimport json"}), (255, "cmd start: python9 -c")),
    ("not json", (255, "not json")),
])
def test_exec_status(text, expected):
    assert exec_status(text) == expected
