"""The compliance result and its report texts, rendered in the module's process: the Markdown tables (as the
role's Jinja template wrote them), the isolation matrix, escaping, today's date and the extra checks' checks."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._compliance import markdown, reports
from ansible_collections.sre.runbooks.plugins.module_utils._compliance.report import ReportError

CHECKS = [
    {"control": "C3.default-deny-ingress", "object": "Namespace a", "namespace": None, "status": "failed",
     "message": "no | policy"},
    {"control": "C8.probes", "object": "Deployment a/w", "namespace": "a", "status": "warning", "message": "warn"},
    {"control": "C8.probes", "object": "Deployment a/u", "namespace": "a", "status": "passed", "message": "ok"},
]
FLOWS = [{"name": "f1", "from": "a/x", "to": "b/y", "port": 80, "protocol": "TCP", "allowed": True,
          "expect": "denied", "reason": "because"},
         {"name": "f2", "from": "a/x", "to": "b/y", "port": 81, "protocol": "UDP", "allowed": False, "expect": None,
          "reason": "r"}]


def result(**details):
    base = {"namespaces": ["a", "b"], "api_calls": 9, "isolation": FLOWS, "missing_default_deny": ["a"]}
    return reports.assemble(CHECKS, dict(base, **details), [], "2026-12-05", True)


def test_markdown_lists_failed_waived_and_warning_checks_then_the_matrix():
    text = markdown.render(result())
    assert text == (
        "# Compliance run\n\n"
        "1 failed, 0 waived, 1 warnings, 1 passed, of 3 checks over 2 namespaces (9 list requests).\n\n"
        "## Failed\n\n| control | object | finding |\n|---|---|---|\n"
        "| C3.default-deny-ingress | Namespace a | no \\| policy |\n\n"
        "## Warning\n\n| control | object | finding |\n|---|---|---|\n"
        "| C8.probes | Deployment a/w | warn |\n\n"
        "## Isolation matrix (C3)\n\n| flow | from | to | port | verdict | expected | why |\n"
        "|---|---|---|---|---|---|---|\n"
        "| f1 | a/x | b/y | 80/TCP | allowed | denied | because |\n"
        "| f2 | a/x | b/y | 81/UDP | denied |  | r |\n\n"
        "Namespaces without a default-deny ingress policy: a.\n")


def test_markdown_without_findings_is_the_counts_alone():
    text = markdown.render(reports.assemble([CHECKS[2]], {"namespaces": ["a"], "api_calls": 1}, [], "2026-12-05",
                                            False))
    assert text == "# Compliance run\n\n0 failed, 0 waived, 0 warnings, 1 passed, of 1 checks over 1 namespaces " \
                   "(1 list requests).\n\n"


def test_the_json_report_is_the_result_with_sorted_keys():
    assembled = result()
    text = reports.render(assembled, ["json"], "ci")["json"]
    assert json.loads(text) == json.loads(json.dumps(assembled))
    assert text.startswith('{\n    "api_calls": 9,\n    "check_mode": true,')
    assert text.endswith("}\n")


def test_render_makes_only_the_formats_asked_for():
    assert set(reports.render(result(), ["junit", "markdown"], "ci")) == {"junit", "markdown"}
    assert reports.render(result(), [], "ci") == {}


def test_today_defaults_to_the_utc_date():
    assert reports.check_today(None) == datetime.datetime.now(datetime.timezone.utc).date()
    assert reports.check_today(" 2026-12-05 ") == datetime.date(2026, 12, 5)
    with pytest.raises(ReportError, match=r"^today must be a date as YYYY-MM-DD, not 'tomorrow'\.$"):
        reports.check_today("tomorrow")


def test_extra_checks_gain_a_namespace_and_bad_ones_are_one_sentence():
    extra = [{"control": "C6.suspicious-logs", "object": "Deployment a/w", "status": "failed", "message": "9 lines"}]
    assert reports.check_extra_checks(extra)[0]["namespace"] is None
    with pytest.raises(ReportError, match=r"^extra_checks entry 1 lacks control, object, status, message\.$"):
        reports.check_extra_checks(["text"])
