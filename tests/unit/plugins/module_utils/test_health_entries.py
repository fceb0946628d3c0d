"""The shared pieces of the health_check verdicts: the status ladder, flatten, and the run's overall verdict."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import entry, flatten, ladder, overall


def check(check_id, status):
    return entry(check_id, "c", "t", status, "s", {})


@pytest.mark.parametrize(("severities", "status"), [
    ([], "ok"), ([None, None], "ok"), ([None, "warning"], "warning"), (["warning", "critical", None], "critical"),
])
def test_ladder(severities, status):
    assert ladder(severities) == status


def test_flatten_is_ansibles_flatten():
    assert flatten([[1, [2]], None, [], ["None", 3], {"a": 1}]) == [1, 2, 3, {"a": 1}]


@pytest.mark.parametrize(("fail_on", "failing"), [("warning", ["H2", "H3"]), ("critical", ["H3"]), ("never", [])])
def test_overall_fails_by_fail_on(fail_on, failing):
    checks = [check("H1", "ok"), check("H2", "warning"), check("H3", "critical"), check("H4", "unavailable")]
    verdict = overall(checks, fail_on)
    assert verdict == {"status": "critical", "failed": bool(failing), "failing_checks": failing,
                       "counts": {"ok": 1, "warning": 1, "critical": 1, "unavailable": 1}}


def test_unavailable_alone_is_ok_and_no_checks_is_ok():
    assert overall([check("H7", "unavailable")], "warning")["status"] == "ok"
    assert overall([], "warning") == {"status": "ok", "failed": False, "failing_checks": [],
                                      "counts": {"ok": 0, "warning": 0, "critical": 0, "unavailable": 0}}
