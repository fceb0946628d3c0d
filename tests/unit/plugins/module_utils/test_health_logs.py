"""health_check's logs verdict (H7) on the logs section of one k8s_health_info result."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.logs import log_row, logs_verdict


def deployment(name, lines=0, errors=0, previous_errors=0, status="read", reason=None):
    return {"namespace": "ai", "name": name, "pods": ["p1", "p2"], "logs_read": 2 if status == "read" else 0,
            "lines": lines, "error_lines": errors, "previous_lines": previous_errors, "previous_error_lines": previous_errors,
            "last_errors": ["p1/app: ERROR db"] if errors else [], "truncated": False, "status": status, "reason": reason}


def k8s(*rows):
    return {"summary": {}, "namespaces": {}, "logs": {"pattern": "error", "deployments": list(rows)}}


def test_rows_count_current_and_previous_error_lines_against_the_threshold():
    row = log_row(deployment("api", lines=4, errors=1, previous_errors=1), 1)
    assert row == {"namespace": "ai", "deployment": "api", "status": "warning", "pods": 2, "lines": 5, "error_lines": 2,
                   "previous_error_lines": 1, "last_errors": ["p1/app: ERROR db"], "truncated": False, "reason": None}
    assert log_row(deployment("api", lines=4, errors=1), 1)["status"] == "ok"


def test_row_without_logs_is_unavailable_with_the_reason():
    row = log_row(deployment("api", status="unavailable", reason='no logs found for container "app"'), 0)
    assert (row["status"], row["error_lines"], row["lines"], row["reason"]) == (
        "unavailable", None, 0, 'no logs found for container "app"')


def test_verdict_summaries():
    job = deployment("job", status="unavailable", reason="no running pod")
    entry = logs_verdict(k8s(deployment("api", 3, 1), deployment("web", 2), job), 0, 24)
    assert entry["status"] == "warning"
    assert entry["summary"] == "2 of 3 Deployments had logs, 1 error lines in the last 24 h (no logs, e.g. no running pod)"
    assert entry["details"]["pattern"] == "error"
    healthy = logs_verdict(k8s(deployment("web", 2)), 0, 24)
    assert (healthy["status"], healthy["summary"]) == ("ok", "1 of 1 Deployments had logs, 0 error lines in the last 24 h")
    empty = logs_verdict(k8s(), 0, 24)
    assert (empty["status"], empty["summary"]) == ("unavailable", "no Deployments to scan")
    assert logs_verdict(k8s(deployment("job", status="unavailable", reason="x")), 0, 24)["status"] == "unavailable"


def test_unreadable_cluster_or_no_logs_section():
    assert logs_verdict({"failed": True, "msg": "timeout"}, 0, 24)["summary"] == "cannot read the cluster: timeout"
    assert logs_verdict({"summary": {}}, 0, 24)["summary"] == "the logs were not read"
