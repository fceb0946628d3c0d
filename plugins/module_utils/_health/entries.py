# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The shape every health_check verdict shares, and the overall verdict over all of them.

A check entry is ``{id, check, title, status, summary, details}``; ``status`` is one of ok, warning,
critical or unavailable. ``unavailable`` (nothing to judge) ranks with ok: it never fails a run.
"""

from __future__ import annotations

OK, WARNING, CRITICAL, UNAVAILABLE = "ok", "warning", "critical", "unavailable"
RANK = {OK: 0, UNAVAILABLE: 0, WARNING: 1, CRITICAL: 2}
STATUSES = (OK, WARNING, CRITICAL, UNAVAILABLE)
# The statuses that fail the run under each value of health_check_fail_on.
FAILING = {"warning": (WARNING, CRITICAL), "critical": (CRITICAL,), "never": ()}


def entry(check_id, check, title, status, summary, details):
    """One check's entry in the report, in the order the report lists the keys."""
    return {"id": check_id, "check": check, "title": title, "status": status, "summary": summary, "details": details}


def ladder(severities):
    """critical if any is critical, else warning if any is set at all, else ok (``severities`` may hold None)."""
    severities = list(severities)
    if CRITICAL in severities:
        return CRITICAL
    return WARNING if any(severities) else OK


def flatten(values):
    """Ansible's ``flatten`` filter: nested lists in one list, null entries left out."""
    flat = []
    for value in values:
        if value in (None, "None", "null"):
            continue
        if isinstance(value, (list, tuple)):
            flat.extend(flatten(value))
        else:
            flat.append(value)
    return flat


def overall(checks, fail_on):
    """The run's verdict: the worst status, which checks fail it under ``fail_on``, and a count per status."""
    worst = max((RANK[check["status"]] for check in checks), default=0)
    failing = [check["id"] for check in checks if check["status"] in FAILING.get(fail_on, ())]
    return {"status": (OK, WARNING, CRITICAL)[worst], "failed": bool(failing), "failing_checks": failing,
            "counts": {status: sum(1 for check in checks if check["status"] == status) for status in STATUSES}}
