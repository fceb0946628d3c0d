# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The compliance run's Markdown report (C8), pure: the failed, waived and warning checks as tables, the
isolation matrix (C3) and the namespaces without default-deny. Passed checks are only counted.

Rendered in Python in the module's process rather than by a Jinja template: the checks can be tens of
thousands, and every pass of ansible-core's templating over them costs seconds.
"""

from __future__ import annotations

# The statuses with a table of their own, in the report's order.
LISTED = ("failed", "waived", "warning")


def _cell(value):
    return str(value).replace("|", "\\|")


def _flow_row(row):
    verdict = "allowed" if row.get("allowed") else "denied"
    return (f"| {row.get('name')} | {row.get('from')} | {row.get('to')} | {row.get('port')}/{row.get('protocol')} "
            f"| {verdict} | {row.get('expect') or ''} | {row.get('reason')} |")


def render(result):
    """The Markdown text of a compliance result (``summary``, ``checks``, ``namespaces``, ``api_calls``,
    optionally ``isolation`` and ``missing_default_deny``)."""
    summary = result["summary"]
    lines = ["# Compliance run", "",
             f"{summary['failed']} failed, {summary['waived']} waived, {summary['warning']} warnings, "
             f"{summary['passed']} passed, of {summary['total']} checks over {len(result['namespaces'])} namespaces "
             f"({result['api_calls']} list requests).", ""]
    by_status = {}
    for check in result["checks"]:  # one pass; each table keeps the checks' order
        by_status.setdefault(check["status"], []).append(check)
    for status in LISTED:
        rows = by_status.get(status)
        if rows:
            lines += [f"## {status.capitalize()}", "", "| control | object | finding |", "|---|---|---|"]
            lines += [f"| {c['control']} | {c['object']} | {_cell(c['message'])} |" for c in rows]
            lines.append("")
    if result.get("isolation"):
        lines += ["## Isolation matrix (C3)", "", "| flow | from | to | port | verdict | expected | why |",
                  "|---|---|---|---|---|---|---|"]
        lines += [_flow_row(row) for row in result["isolation"]]
        lines.append("")
    if result.get("missing_default_deny"):
        lines.append(f"Namespaces without a default-deny ingress policy: {', '.join(result['missing_default_deny'])}.")
    return "\n".join(lines) + "\n"
