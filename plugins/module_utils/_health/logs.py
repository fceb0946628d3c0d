# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on recent logs (H7): error lines per Deployment from kubernetes.core.k8s_log results.

Each result is one loop item of the registered k8s_log task: ``log_lines`` when the API served logs,
else ``msg`` with the API's Status body. A Deployment without log lines is ``unavailable``, not a failure.
"""

from __future__ import annotations

import re

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import OK, UNAVAILABLE, WARNING, entry
from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import unreadable

# How many of the last error lines a row keeps, and how long each may be.
LAST_ERRORS = 3
ERROR_LINE_LENGTH = 300
# Jinja's truncate filter lets a line this much longer than the length through untouched.
TRUNCATE_LEEWAY = 5


def truncate(text, length=ERROR_LINE_LENGTH, end="..."):
    """Jinja's ``truncate`` (word boundary, default leeway), so the rows read as they did when Jinja built them."""
    if len(text) <= length + TRUNCATE_LEEWAY:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def api_message(result):
    """Why k8s_log returned no lines: the ``message`` of the API's Status body in its failure, or its first line."""
    failure = str(result.get("msg", "no log lines returned"))
    if '"message":"' in failure:
        return re.sub(r'[\\]"', '"', failure.split('"message":"')[1].split('","')[0])
    lines = failure.splitlines()
    return lines[0] if lines else ""


def log_row(result, pattern, error_threshold, since_hours):
    """One Deployment's row: its lines, the lines matching ``pattern`` (any case), and their verdict."""
    target = result["health_check_item"]
    lines = [line for line in result.get("log_lines", []) if line]
    errors = [line for line in lines if re.search(pattern, line, re.IGNORECASE)]
    if not lines:
        status = UNAVAILABLE
    else:
        status = WARNING if len(errors) > int(error_threshold) else OK
    if "log_lines" not in result:
        reason = api_message(result)
    else:
        reason = None if lines else f"no log lines in the last {since_hours} h"
    return {"namespace": target["namespace"], "deployment": target["name"], "status": status, "lines": len(lines),
            "error_lines": len(errors) if lines else None,
            "last_errors": [truncate(line) for line in errors[-LAST_ERRORS:]], "reason": reason}


def _summary(rows, read, k8s, listed, since_hours):
    # Without a list of its own, H7 scans the Deployments k8s_health_info found: nothing to say if that failed.
    cannot_read = None if listed else unreadable(k8s)
    if cannot_read:
        return cannot_read
    if not rows:
        return "no Deployments to scan"
    summary = (f"{len(read)} of {len(rows)} Deployments had logs, {sum(row['error_lines'] for row in read)} "
               f"error lines in the last {since_hours} h")
    if len(read) < len(rows):
        reason = next(row["reason"] for row in rows if row["status"] == UNAVAILABLE)
        summary += f" (no logs, e.g. {reason})"
    return summary


def logs_verdict(log_results, k8s, listed, pattern, error_threshold, since_hours):
    """H7: a warning when a Deployment has more error lines than allowed; unavailable when none had logs."""
    rows = [log_row(result, pattern, error_threshold, since_hours) for result in log_results]
    read = [row for row in rows if row["status"] != UNAVAILABLE]
    status = (WARNING if any(row["status"] == WARNING for row in read) else OK) if read else UNAVAILABLE
    return entry("H7", "logs", "Errors in recent logs", status, _summary(rows, read, k8s, listed, since_hours),
                 {"deployments": rows})
