# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which PostgreSQL sessions pg_vacuum terminates: pure functions over pg_stat_activity rows.

A session row is a dict with ``pid``, ``user``, ``application_name``, ``database``, ``state``,
``backend_type`` and ``state_age_s`` (seconds the session has been in its current state,
measured on the server's clock).
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import format_seconds

SESSION_STATES = ["active", "idle", "idle in transaction", "idle in transaction (aborted)",
                  "fastpath function call", "disabled"]
CLIENT_BACKEND = "client backend"


def session_reason(row, older_than_s):
    """Why a matching session is ended, e.g. "idle in transaction for 2h (limit 1h)"."""
    return f"{row['state']} for {format_seconds(row['state_age_s'])} (limit {format_seconds(older_than_s)})"


def choose_sessions(rows, own_pid, states, older_than_s, users=None, applications=None, databases=None):
    """The sessions to terminate, each a copy of its row plus ``reason``.

    A session qualifies when it is a client backend other than ``own_pid`` (never our own
    connection), its state is one of ``states``, it has been in that state for at least
    ``older_than_s`` seconds, and it matches every filter given (exact names).
    """
    chosen = []
    for row in rows:
        if row["pid"] == own_pid:
            continue
        if row.get("backend_type", CLIENT_BACKEND) != CLIENT_BACKEND:
            continue
        if row.get("state") not in states:
            continue
        age = row.get("state_age_s")
        if age is None or age < older_than_s:
            continue
        if users and row.get("user") not in users:
            continue
        if applications and row.get("application_name") not in applications:
            continue
        if databases and row.get("database") not in databases:
            continue
        chosen.append(dict(row, reason=session_reason(row, older_than_s)))
    return chosen


def termination_refusal(row, caller_superuser, caller_signal_backend):
    """Why the connected role may not terminate ``row`` (None when it may), by PostgreSQL's own rule.

    Only a superuser may end a superuser's session; any other session may be ended by a role with
    pg_signal_backend, or by one with the privileges of the session's role. ``row`` carries
    ``superuser`` (the session's role is one) and ``own_role`` (we have that role's privileges);
    rows without them are left to the server to judge.
    """
    if caller_superuser:
        return None
    if row.get("superuser"):
        return "only a superuser may terminate a superuser's session"
    if not caller_signal_backend and row.get("own_role") is False:
        return "the role needs pg_signal_backend (or membership in the session's role) to terminate it"
    return None


def describe_session(row):
    """One line per session for diffs: 'pid 4242 app@db as alice (idle 2h)'."""
    app = row.get("application_name") or "-"
    return (f"pid {row['pid']} {app}@{row.get('database') or '-'} as {row.get('user') or '-'} "
            f"({row.get('state')} {format_seconds(row.get('state_age_s') or 0)})")
