# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""C6 suspicious activity as compliance checks: log lines and Warning events of security interest. Pure.

The reads are k8s_health_info's (``logs`` with :data:`PATTERN`, ``events``); here they become one check per
Deployment read (control ``suspicious-logs``: failed above ``max_lines`` matching lines in the window) and
one per namespace (control ``security-events``: FailedMount of a Secret, Forbidden/Unauthorized answers).
"""

from __future__ import annotations

import re

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.hygiene import entry

# The lines the security runbooks grep for: HTTP 401/403, and the applications' own security markers.
PATTERN = r"\b(401|403)\b|unauthori[sz]ed|forbidden|AUTH_FAILED|THREAT_DETECTED|VULNERABILITY"
_SECRET_MOUNT = re.compile(r"secret", re.I)
_DENIED = re.compile(r"forbidden|unauthori[sz]ed", re.I)


def security_event(event):
    """Whether a Warning event is of security interest, and why (None when it is not)."""
    reason, message = event.get("reason") or "", event.get("message") or ""
    if reason == "FailedMount" and _SECRET_MOUNT.search(message):
        return "a Secret could not be mounted"
    if _DENIED.search(reason) or _DENIED.search(message):
        return "a request was refused (forbidden or unauthorized)"
    return None


def checks(health, max_lines=0, window="24h"):
    """The C6 checks of a k8s_health_info result read with ``include: [logs, events]`` and :data:`PATTERN`."""
    result = []
    for row in ((health or {}).get("logs") or {}).get("deployments") or []:
        count = int(row.get("error_lines") or 0) + int(row.get("previous_error_lines") or 0)
        problems = []
        if count > max_lines:
            last = "; ".join(row.get("last_errors") or [])[:300]
            problems.append(f"{count} suspicious log lines (401/403, AUTH_FAILED, THREAT_DETECTED, VULNERABILITY) in the "
                            f"last {window}, above {max_lines}" + (f"; last: {last}" if last else ""))
        result.append(entry("suspicious-logs", "Deployment", row.get("namespace"), row.get("name"), problems,
                            passed_message=f"{count} suspicious log lines in the last {window}"))
    for namespace, info in sorted(((health or {}).get("namespaces") or {}).items()):
        problems = []
        for event in (info or {}).get("events") or []:
            why = security_event(event)
            if why:
                problems.append(f"{event.get('kind')}/{event.get('name')} {event.get('reason')} x{event.get('count', 1)}: "
                                f"{why} ({(event.get('message') or '')[:200]})")
        result.append(entry("security-events", "Namespace", None, namespace, problems,
                            passed_message=f"no Warning event of security interest in the last {window}"))
    return result
