# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on recent logs (H7): error lines per Deployment, from k8s_health_info's ``logs``.

k8s_health_info reads the logs of the Deployments' pods (all at once) and counts the lines matching the
pattern; a Deployment whose logs the API did not serve is ``unavailable``, not a failure.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import OK, UNAVAILABLE, WARNING, entry
from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import unreadable


def log_row(row, error_threshold):
    """One Deployment's row: its error lines (previous containers' included) against the threshold."""
    errors = row["error_lines"] + row["previous_error_lines"]
    if row["status"] != "read":
        status = UNAVAILABLE
    else:
        status = WARNING if errors > int(error_threshold) else OK
    return {"namespace": row["namespace"], "deployment": row["name"], "status": status, "pods": len(row["pods"]),
            "lines": row["lines"] + row["previous_lines"] if status != UNAVAILABLE else 0,
            "error_lines": errors if status != UNAVAILABLE else None,
            "previous_error_lines": row["previous_error_lines"] if status != UNAVAILABLE else None,
            "last_errors": row["last_errors"], "truncated": row["truncated"], "reason": row["reason"]}


def _summary(k8s, rows, read, since_hours):
    cannot_read = unreadable(k8s)
    if cannot_read:
        return cannot_read
    if "logs" not in k8s:
        return "the logs were not read"
    if not rows:
        return "no Deployments to scan"
    summary = (f"{len(read)} of {len(rows)} Deployments had logs, {sum(row['error_lines'] for row in read)} "
               f"error lines in the last {since_hours} h")
    if len(read) < len(rows):
        reason = next(row["reason"] for row in rows if row["status"] == UNAVAILABLE)
        summary += f" (no logs, e.g. {reason})"
    return summary


def logs_verdict(k8s, error_threshold, since_hours):
    """H7: a warning when a Deployment has more error lines than allowed; unavailable when none had logs."""
    rows = [log_row(row, error_threshold) for row in (k8s.get("logs") or {}).get("deployments") or []]
    read = [row for row in rows if row["status"] != UNAVAILABLE]
    status = (WARNING if any(row["status"] == WARNING for row in read) else OK) if read else UNAVAILABLE
    return entry("H7", "logs", "Errors in recent logs", status, _summary(k8s, rows, read, since_hours),
                 {"pattern": (k8s.get("logs") or {}).get("pattern"), "deployments": rows})
