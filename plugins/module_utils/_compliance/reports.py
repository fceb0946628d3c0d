# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The compliance run's result and its report texts (C8), pure: the controls' checks and any checks made
elsewhere (C6), waived, counted, and rendered as JUnit XML, JSON, Markdown and HTML.

k8s_security_info does this in its own process, in one pass: the checks can be tens of thousands, and
every pass of ansible-core's templating over them (a filter, a set_fact, a template) costs seconds.
"""

from __future__ import annotations

import datetime
import json

from ansible_collections.sre.runbooks.plugins.module_utils._common import html_report
from ansible_collections.sre.runbooks.plugins.module_utils._compliance import markdown, report

REPORT_FORMATS = ("junit", "json", "markdown", "html")
STATUSES = ("passed", "failed", "warning")
CHECK_KEYS = ("control", "object", "status", "message")


def check_today(value):
    """``today`` as a date (today in UTC when unset); ReportError in one sentence."""
    if value is None or str(value).strip() == "":
        return datetime.datetime.now(datetime.timezone.utc).date()
    return report.as_date(value, "today")


def check_extra_checks(checks):
    """Checks made elsewhere, each a mapping with control, object, status and message; ReportError otherwise."""
    for number, check in enumerate(checks or [], 1):
        missing = [key for key in CHECK_KEYS if not isinstance(check, dict) or check.get(key) in (None, "")]
        if missing:
            raise report.ReportError(f"extra_checks entry {number} lacks {', '.join(missing)}.")
        if check["status"] not in STATUSES:
            raise report.ReportError(f"extra_checks entry {number} has status {str(check['status'])[:20]!r}; "
                                     f"it must be one of {', '.join(STATUSES)}.")
    return [dict(check, namespace=check.get("namespace")) for check in checks or []]


def assemble(checks, details, waivers, today, check_mode):
    """The run's result: the checks with waivers applied, their summary, and the controls' details."""
    checks = report.apply_waivers(checks, waivers, today)
    return dict(details, check_mode=check_mode, checks=checks, summary=report.summarise(checks))


def render(result, formats, name):
    """{format: text} for each of ``formats``, from the result of :func:`assemble`."""
    renderers = {
        "junit": lambda: report.junit_xml(result["checks"], name),
        # As to_nice_json wrote it: sorted keys, four spaces.
        "json": lambda: json.dumps(result, indent=4, sort_keys=True, separators=(",", ": ")) + "\n",
        "markdown": lambda: markdown.render(result),
        "html": lambda: html_report.render(result, "compliance"),
    }
    return {fmt: renderers[fmt]() for fmt in formats}
