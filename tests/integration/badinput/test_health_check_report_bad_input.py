"""health_check_report (an action: it judges and writes on the controller) given hostile reads, settings and
destinations: one sentence each, nothing written outside ``dest``, no report half written."""

from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import REPO
from tests.integration.badinput.strategies import LONG, generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, run_and_judge
from ansible_collections.sre.runbooks.plugins.module_utils._health.report_args import ARGUMENT_SPEC

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.health_check_report"
TEMPLATE = str(REPO / "roles" / "health_check" / "templates" / "report.md.j2")
K8S = {"summary": {"pods": 2, "namespaces": 1, "running": 2, "not_running": 0, "not_ready": 0, "restarts": 0,
                   "restarts_over_threshold": 0, "workloads": 1, "workloads_unhealthy": 0},
       "problems": [], "namespaces": {"ai": {"pod_counts": {"total": 2}, "workloads": [], "hpas": []}}}
PG = {"query_result": [{"total": 5, "active": 1, "idle_in_transaction": 0, "max_connections": 100, "reserved": 3,
                        "in_recovery": False, "version": "15.8", "database_size": 1024, "databases_size": 4096}]}
SETTINGS = {"pods": {"restart_threshold": 5}, "hpa": {},
            "postgres": {"host": "db", "port": 5432, "database": "platform", "warning_percent": 80,
                         "critical_percent": 95}}


def test_health_check_report_bad_input(traps, tmp_path):
    dest = tmp_path / "reports"
    (tmp_path / "a-folder" / "health.json").mkdir(parents=True)
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "health.md").symlink_to(traps["canary"])
    broken = tmp_path / "broken.md.j2"
    broken.write_text("{{ health_check_result.no.such.key }}")
    base = {"reads": {"kubernetes": K8S, "postgres": PG}, "checks": ["pods", "hpa", "postgres"], "settings": SETTINGS,
            "dest": str(dest), "name": "health", "markdown_template": TEMPLATE}

    # The cases run in concurrent batches: each that may write uses a report name of its own, so that
    # health.* is the base case's alone.
    def args(**options):
        return {**base, **options}

    def settings(check, **values):
        return {**SETTINGS, check: {**SETTINGS[check], **values}}

    hand = [
        Case("reads as text", args(reads="kubernetes"), True),
        Case("reads as a list", args(reads=[K8S]), True),
        Case("reads empty: every part not needed", args(reads={}, name="empty")),
        Case("a part as text", args(reads={"kubernetes": "pods"}), True, mentions="reads.kubernetes"),
        Case("a part as a number", args(reads={"postgres": 3}), True, mentions="reads.postgres"),
        Case("a part of the wrong shape", args(reads={"kubernetes": {"problems": "none", "summary": {}}}), True,
             mentions="settings.pods"),
        Case("a part of 100k characters of noise", args(reads={"postgres": {"query_result": LONG}}), True),
        Case("a part null: left out", args(reads={"kubernetes": None, "postgres": PG}, name="null-part")),
        Case("unknown parts are ignored", args(reads={"mysql": {"up": True}}, name="unknown-part")),
        Case("checks unknown", args(checks=["pods", "uptime"]), True, mentions="uptime"),
        Case("checks as text", args(checks="pods", name="one-check")),
        Case("tagged_parts unknown", args(tagged_parts=["kubernetes", "mysql"]), True),
        Case("settings as text", args(settings="strict"), True),
        Case("settings of an unknown check", args(settings={**SETTINGS, "uptime": {}}), True, mentions="uptime"),
        Case("an unknown setting", args(settings=settings("pods", threshold=3)), True, mentions="threshold"),
        Case("a setting missing", args(settings={**SETTINGS, "postgres": {"host": "db"}}), True,
             mentions="settings.postgres lacks"),
        Case("a setting of the wrong type", args(settings=settings("postgres", warning_percent="most")), True,
             mentions="settings.postgres"),
        Case("a setting NaN", args(settings=settings("postgres", warning_percent="nan")), True, mentions="finite"),
        Case("a setting infinite", args(settings=settings("pods", restart_threshold=float("inf"))), True,
             mentions="finite"),
        Case("fail_on unknown", args(fail_on="sometimes"), True),
        Case("name with a directory part", args(name="../canary"), True),
        Case("name empty", args(name=""), None),
        Case("dest is a file", args(dest=traps["existing"]), True, mentions="not a directory"),
        Case("dest below a file", args(dest=traps["below_file"]), True),
        Case("dest in /proc", args(dest=traps["proc"]), True),
        Case("dest with a NUL byte", args(dest="re\x00ports"), True, mentions="NUL"),
        Case("a directory where a report goes", args(dest=str(tmp_path / "a-folder")), True,
             mentions="not a regular file"),
        Case("a link to the canary where a report goes", args(dest=str(tmp_path / "linked")), True,
             mentions="not a regular file"),
        Case("template missing", args(markdown_template="no-such.md.j2"), True, mentions="no-such.md.j2"),
        Case("template broken", args(markdown_template=str(broken)), True, mentions="does not render"),
        Case("mode not octal", args(mode="rw-r-----"), True, mentions="octal"),
        Case("started_at of 100k characters", args(started_at=LONG)),
        Case("unknown option", args(owner="root"), True),
        Case("check mode writes the reports too", args(name="check"), check=True),
    ]
    cases = hand + generated_cases(ARGUMENT_SPEC, {"three checks": base}, traps, limit=10)

    def damage():
        found = []
        if traps["canary"].read_text() != "untouched\n":
            found.append("the canary file was overwritten")
        if (tmp_path / "canary.json").exists():
            found.append("a report was written outside dest")
        return found

    _cases, outcome = run_and_judge(MODULE, cases, [], damage=damage, seconds_per_case=3.0)
    assert_outcome(cases, outcome)
    # The base case judged and wrote all three reports; check mode wrote its own, marked as such.
    report = json.loads((dest / "health.json").read_text())
    assert [check["id"] for check in report["checks"]] == ["H1", "H4", "H6"] and report["check_mode"] is False
    assert (dest / "health.md").read_text().startswith("# Daily health check") and (dest / "health.html").exists()
    assert json.loads((dest / "check.json").read_text())["check_mode"] is True
