"""H7's log reading: which Deployments, pods and containers to read, and the counting of error lines."""

from __future__ import annotations

import re

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.logs import (
    LogsInputError, choose_pods, compile_pattern, count_lines, deployment_row, reads, targets, truncate)

PATTERN = re.compile("error", re.IGNORECASE)


def pod(name, app="web", phase="Running", node="n1", restarts=0, deleting=False, containers=("app",)):
    metadata = {"name": name, "labels": {"pod-template-hash": "h1"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": f"{app}-h1", "controller": True}]}
    if deleting:
        metadata["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": metadata, "spec": {"nodeName": node, "containers": [{"name": c} for c in containers]},
            "status": {"phase": phase, "containerStatuses": [{"name": c, "restartCount": restarts} for c in containers]}}


def test_targets_listed_first_else_found_unique_and_capped():
    found = [{"namespace": "a", "name": "x"}, {"namespace": "a", "name": "y"}, {"namespace": "b", "name": "x"}]
    assert targets([], found, 2) == [("a", "x"), ("a", "y")]
    assert targets([{"namespace": "c", "name": "z"}, {"namespace": "c", "name": "z"}], found, 5) == [("c", "z")]


def test_choose_pods_running_first_of_this_deployment_only():
    pods = [pod("web-h1-c", phase="Pending"), pod("web-h1-b"), pod("web-h1-a", deleting=True), pod("api-h1-a", app="api"),
            pod("web-h1-d", node=None), pod("web-h1-e")]
    assert [p["metadata"]["name"] for p in choose_pods(pods, "web", 5)] == ["web-h1-b", "web-h1-e", "web-h1-c"]
    assert [p["metadata"]["name"] for p in choose_pods(pods, "web", 1)] == ["web-h1-b"]


def test_reads_every_container_and_previous_ones_that_restarted():
    pods = [pod("p1", containers=("app", "sidecar"), restarts=2), pod("p2")]
    assert reads(pods, previous=False) == [("p1", "app", False), ("p1", "sidecar", False), ("p2", "app", False)]
    assert reads(pods, previous=True) == [("p1", "app", False), ("p1", "app", True), ("p1", "sidecar", False),
                                          ("p1", "sidecar", True), ("p2", "app", False)]


def test_count_lines_in_any_case_without_blank_lines():
    assert count_lines("ok\n\nERROR a\n  \nan Error b\nfine\nerror c\nerror d\n", PATTERN) == (
        6, 4, ["an Error b", "error c", "error d"])
    assert count_lines("", PATTERN) == (0, 0, [])


def test_deployment_row_adds_up_reads_and_keeps_the_reason_of_failures():
    outcomes = [(("p1", "app", False), "error 1\nok\n", None),
                (("p1", "app", True), "error before crash\n", None),
                (("p2", "app", False), None, "no logs found for container")]
    row = deployment_row("ns", "web", ["p1", "p2"], outcomes, PATTERN, 1024)
    assert row == {"namespace": "ns", "name": "web", "pods": ["p1", "p2"], "logs_read": 2, "lines": 2, "error_lines": 1,
                   "previous_lines": 1, "previous_error_lines": 1,
                   "last_errors": ["p1/app: error 1", "p1/app (previous): error before crash"],
                   "truncated": False, "status": "read", "reason": None}
    failed = deployment_row("ns", "web", ["p2"], outcomes[2:], PATTERN, 1024)
    assert (failed["status"], failed["reason"], failed["logs_read"]) == ("unavailable", "no logs found for container", 0)
    assert deployment_row("ns", "web", [], [], PATTERN, 1024)["reason"] == "no running pod"
    assert deployment_row("ns", "web", ["p1"], [(("p1", "app", False), "x" * 10, None)], PATTERN, 10)["truncated"]


@pytest.mark.parametrize(("pattern", "message"), [
    ("", "logs.pattern must not be empty (an empty pattern matches every line)."),
    ("[", "logs.pattern '[' is not a regular expression: unterminated character set at position 0."),
])
def test_bad_patterns(pattern, message):
    with pytest.raises(LogsInputError) as caught:
        compile_pattern(pattern)
    assert str(caught.value) == message


def test_patterns_match_in_any_case():
    assert compile_pattern("exception|fatal").search("FATAL: x")


@pytest.mark.parametrize("line", ["short", "x" * 305, "x" * 306, "error " + "word " * 100, "a" * 296 + " bcdefghijk"])
def test_truncate_is_jinjas(line):
    jinja2 = pytest.importorskip("jinja2")
    assert truncate(line) == jinja2.Environment().from_string("{{ line | truncate(300) }}").render(line=line)
