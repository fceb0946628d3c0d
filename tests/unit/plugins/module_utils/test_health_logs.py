"""health_check's logs verdict (H7) on kubernetes.core.k8s_log loop results."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.logs import (
    api_message, log_row, logs_verdict, truncate)

K8S = {"summary": {}, "namespaces": {}}


def result(name, lines=None, msg=None):
    item = {"health_check_item": {"namespace": "ai", "name": name}}
    if lines is not None:
        item["log_lines"] = lines
    if msg is not None:
        item["msg"] = msg
    return item


def verdict(results, k8s=None, listed=(), threshold=0):
    return logs_verdict(results, K8S if k8s is None else k8s, list(listed), "error", threshold, 24)


def test_rows_count_error_lines_in_any_case():
    row = log_row(result("api", ["ok", "", "ERROR db", "an Error", "fine"]), "error", 1, 24)
    assert row == {"namespace": "ai", "deployment": "api", "status": "warning", "lines": 4, "error_lines": 2,
                   "last_errors": ["ERROR db", "an Error"], "reason": None}
    assert log_row(result("api", ["ERROR db"]), "error", 1, 24)["status"] == "ok"


def test_row_without_lines_is_unavailable_with_the_reason():
    assert log_row(result("api", []), "error", 0, 24)["reason"] == "no log lines in the last 24 h"
    row = log_row(result("api", msg='Failed: {"kind":"Status","message":"pods \\"x\\" not found","reason":"NotFound"}'),
                  "error", 0, 24)
    assert row["status"] == "unavailable" and row["error_lines"] is None and row["reason"] == 'pods "x" not found'


@pytest.mark.parametrize(("msg", "reason"), [
    ("first line\nsecond", "first line"), ("", ""), (None, "no log lines returned"),
])
def test_api_message_without_a_status_body(msg, reason):
    assert api_message({} if msg is None else {"msg": msg}) == reason


def test_last_errors_keep_three_lines_cut_like_jinja_truncate():
    long_line = "error " + "word " * 100
    row = log_row(result("api", ["error 1", "error 2", "error 3", long_line]), "error", 0, 24)
    assert row["last_errors"][:2] == ["error 2", "error 3"]
    assert row["last_errors"][2] == truncate(long_line) and row["last_errors"][2].endswith("word...")
    assert len(row["last_errors"][2]) <= 300
    assert truncate("x" * 305) == "x" * 305  # within Jinja's leeway


def test_verdict_summaries():
    entry = verdict([result("api", ["error"]), result("web", ["ok"]), result("job", [])])
    assert entry["status"] == "warning"
    assert entry["summary"] == "2 of 3 Deployments had logs, 1 error lines in the last 24 h (no logs, e.g. no log lines in the last 24 h)"
    assert verdict([result("web", ["ok"])])["summary"] == "1 of 1 Deployments had logs, 0 error lines in the last 24 h"
    assert verdict([result("web", ["ok"])])["status"] == "ok"
    assert verdict([])["summary"] == "no Deployments to scan"
    assert verdict([])["status"] == "unavailable"
    assert verdict([result("job", [])])["status"] == "unavailable"


def test_unreadable_cluster_matters_only_without_a_list_of_deployments():
    failed = {"failed": True, "msg": "timeout"}
    assert verdict([], k8s=failed)["summary"] == "cannot read the cluster: timeout"
    assert verdict([], k8s=failed, listed=[{"namespace": "ai", "name": "api"}])["summary"] == "no Deployments to scan"


@pytest.mark.parametrize("line", ["short", "x" * 305, "x" * 306, "error " + "word " * 100, "a" * 296 + " bcdefghijk"])
def test_truncate_is_jinjas(line):
    jinja2 = pytest.importorskip("jinja2")
    assert truncate(line) == jinja2.Environment().from_string("{{ line | truncate(300) }}").render(line=line)
