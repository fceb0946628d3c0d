# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""pg_vacuum's runner: one operation on one autocommit connection, every table or session reported.

The decisions (which tables, which sessions, which option words) are the pure modules'
(vacuum_selection, session_selection, vacuum_options); this file only runs the statements they
lead to, turns lock and statement timeouts into per-item statuses, and shapes the result.
"""

from __future__ import annotations

import time

try:
    from psycopg2 import sql
except ImportError:
    sql = None  # connect() reports the missing library before any statement is built

from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError
from ansible_collections.sre.runbooks.plugins.module_utils._postgres import catalog
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    DatabaseError,
    connect,
    first_line,
    is_lock_timeout,
    is_permission_denied,
    is_statement_timeout,
    server_version_text,
    set_timeouts,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.report import build_report
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.session_selection import (
    choose_sessions,
    describe_session,
    termination_refusal,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_args import parse_intervals
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_options import (
    OptionError,
    check_option_combinations,
    require_server_version,
    vacuum_option_words,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import (
    SelectionError,
    choose_tables,
    display_name,
    resolve_relations,
    resolve_schemas,
)

TERMINATE_WAIT_MS = 5000  # pg_terminate_backend(pid, timeout) waits this long for the exit (PostgreSQL 14+)
REINDEX_KINDS = {"index": "INDEX", "table": "TABLE", "schema": "SCHEMA", "database": "DATABASE"}


class MaintenanceError(Exception):
    """A statement failed for a reason other than a lock or statement timeout."""


def status_counts(items, **extra):
    counts = dict(extra)
    for item in items:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return counts


def _ms(seconds):
    return None if seconds is None else int(round(seconds * 1000))


def run_vacuum(module):
    """Check the options, run the operation and return the result; every failure is one sentence.

    The connection is closed on every path. A failure after the runner started carries what it
    did so far, so a task that fails on table 7 still lists tables 1 to 6.
    """
    try:
        check_option_combinations(module.params)
        intervals = parse_intervals(module.params)
    except (OptionError, IntervalError) as exc:
        module.fail_json(msg=str(exc))
    conn = connect(module)
    runner = None
    try:
        runner = VacuumRunner(module, conn, intervals)
        return runner.run()
    except (OptionError, SelectionError, MaintenanceError) as exc:
        module.fail_json(msg=str(exc), **(runner.result if runner else {}))
    except DatabaseError as exc:
        module.fail_json(msg=f"PostgreSQL error in database \"{module.params['database']}\" during "
                             f"{module.params['operation']}: {first_line(exc)}.", **(runner.result if runner else {}))
    finally:
        conn.close()


class VacuumRunner:
    """Runs one pg_vacuum operation on an open autocommit connection and collects the result."""

    def __init__(self, module, conn, intervals):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.conn = conn
        self.cursor = conn.cursor()
        self.intervals = intervals
        self.version_num = conn.server_version
        self.version = server_version_text(conn)
        self.database = catalog.current_database(self.cursor)
        self.statements = []
        self.result = {"changed": False, "operation": self.params["operation"], "database": self.database,
                       "server_version": self.version, "statements": self.statements}

    def run(self):
        started = time.monotonic()
        set_timeouts(self.cursor, _ms(self.intervals["lock_timeout"]), _ms(self.intervals["statement_timeout"]))
        operations = {
            "vacuum": self.vacuum_or_analyze,
            "analyze": self.vacuum_or_analyze,
            "reindex": self.reindex,
            "terminate_sessions": self.terminate_sessions,
            "report": self.report,
        }
        operations[self.params["operation"]]()
        self.result["duration_s"] = round(time.monotonic() - started, 3)
        return self.result

    def report(self):
        schemas = resolve_schemas(self.params["schemas"], catalog.known_schemas(self.cursor), self.database)
        self.result["report"] = build_report(self.cursor, self.params["top_n"], self.database, self.version_num, schemas)

    def render(self, statement):
        """The SQL text of a composed statement, as the server will receive it."""
        return statement.as_string(self.conn)

    def execute(self, statement):
        """Run one maintenance statement (not in check mode); return (status, detail, seconds)."""
        text = self.render(statement)
        self.statements.append(text)
        if self.check_mode:
            return "planned", None, 0.0
        del self.conn.notices[:]
        started = time.monotonic()
        try:
            self.cursor.execute(statement)
        except DatabaseError as exc:
            elapsed = round(time.monotonic() - started, 3)
            if is_lock_timeout(exc):
                return "lock_timeout", first_line(exc), elapsed
            if is_statement_timeout(exc):
                return "statement_timeout", first_line(exc), elapsed
            raise MaintenanceError(f"{text} failed: {first_line(exc)}.") from None
        elapsed = round(time.monotonic() - started, 3)
        # VACUUM/ANALYZE skip a table with a WARNING, not an error (SKIP_LOCKED, or not its owner).
        skipped = [notice for notice in self.conn.notices if "skipping" in notice]
        if skipped:
            return "skipped", first_line(skipped[0]), elapsed
        return "done", None, elapsed

    def vacuum_or_analyze(self):
        params = self.params
        operation = params["operation"]
        chosen, candidates = choose_tables(
            catalog.tables(self.cursor), self.database, operation, params["tables"], params["schemas"],
            params["thresholds"], catalog.known_schemas(self.cursor), params["analyze"])
        words = vacuum_option_words(params, self.version_num, self.version)
        verb = "VACUUM" if operation == "vacuum" else "ANALYZE"
        prefix = sql.SQL(f"{verb} ({', '.join(words)}) " if words else f"{verb} ")
        for table in chosen:
            table.pop("relkind", None)
            status, detail, seconds = self.execute(prefix + sql.Identifier(table["schema"], table["table"]))
            table.update(status=status, detail=detail, duration_s=seconds)
        self.result["tables"] = chosen
        self.result["counts"] = status_counts(chosen, candidates=candidates, chosen=len(chosen))
        self.result["changed"] = any(table["status"] in ("done", "planned") for table in chosen)
        self.set_diff(f"tables_needing_{operation}", [t["name"] for t in chosen],
                      [t["name"] for t in chosen if t["status"] not in ("done", "planned")])
        self.report_lock_timeouts(chosen, "tables")

    def reindex(self):
        params = self.params
        scope, concurrently = params["reindex_scope"], params["concurrently"]
        if concurrently:
            require_server_version("CONCURRENTLY", self.version_num, self.version)
        all_indexes = catalog.indexes(self.cursor)
        targets, covered = self.reindex_targets(scope, params["names"] or [], all_indexes)
        keyword = sql.SQL(f"REINDEX {REINDEX_KINDS[scope]}{' CONCURRENTLY' if concurrently else ''} ")
        for target in targets:
            status, detail, seconds = self.execute(keyword + target.pop("identifier"))
            target.update(status=status, detail=detail, duration_s=seconds)
        after = {} if self.check_mode else {(i["schema"], i["index"]): i for i in catalog.indexes(self.cursor)}
        indexes = []
        for index in covered:
            now = after.get((index["schema"], index["index"]))
            indexes.append({"schema": index["schema"], "index": index["index"], "table": index["table"],
                            "bytes_before": index["bytes"], "bytes_after": now["bytes"] if now else None})
        self.result.update(targets=targets, indexes=indexes,
                           counts=status_counts(targets, candidates=len(targets), chosen=len(targets)),
                           changed=any(t["status"] in ("done", "planned") for t in targets))
        before_sizes = {display_name(i["schema"], i["index"]): i["bytes_before"] for i in indexes}
        after_sizes = {display_name(i["schema"], i["index"]): i["bytes_after"] if i["bytes_after"] is not None
                       else i["bytes_before"] for i in indexes}
        self.set_diff("index_bytes", before_sizes, after_sizes)
        if concurrently and not self.check_mode and any(t["status"] != "done" for t in targets):
            leftovers = [display_name(i["schema"], i["index"]) for i in catalog.indexes(self.cursor)
                         if not i["valid"] and "_ccnew" in i["index"]]
            if leftovers:
                self.module.warn("REINDEX CONCURRENTLY was interrupted and left invalid indexes behind: "
                                 f"{', '.join(leftovers)}; drop them with DROP INDEX CONCURRENTLY.")
        self.report_lock_timeouts(targets, "reindex targets")

    def reindex_targets(self, scope, names, all_indexes):
        """The targets (with a ready SQL identifier) and the user indexes they cover."""
        if scope == "index":
            found = resolve_relations(names, all_indexes, self.database, kind="index")
            targets = [{"kind": scope, "name": display_name(i["schema"], i["index"]),
                        "identifier": sql.Identifier(i["schema"], i["index"])} for i in found]
            return targets, found
        if scope == "table":
            found = resolve_relations(names, catalog.tables(self.cursor), self.database, kind="table")
            keys = {(t["schema"], t["table"]) for t in found}
            targets = [{"kind": scope, "name": display_name(t["schema"], t["table"]),
                        "identifier": sql.Identifier(t["schema"], t["table"])} for t in found]
            return targets, [i for i in all_indexes if (i["schema"], i["table"]) in keys]
        if scope == "schema":
            found = resolve_schemas(names, catalog.known_schemas(self.cursor), self.database)
            targets = [{"kind": scope, "name": name, "identifier": sql.Identifier(name)} for name in found]
            return targets, [i for i in all_indexes if i["schema"] in found]
        if names and names[0] != self.database:
            raise SelectionError(f'reindex_scope=database rebuilds the connected database "{self.database}", '
                                 f'not "{names[0]}"; set the database option to "{names[0]}".')
        return [{"kind": scope, "name": self.database, "identifier": sql.Identifier(self.database)}], all_indexes

    def terminate_sessions(self):
        params = self.params
        rows = catalog.sessions(self.cursor)
        chosen = choose_sessions(rows, catalog.own_pid(self.cursor), params["session_states"],
                                 self.intervals["idle_older_than"], params["session_users"],
                                 params["application_names"], params["session_databases"])
        superuser, signal_backend = catalog.signal_rights(self.cursor)
        for session in chosen:
            refusal = termination_refusal(session, superuser, signal_backend)
            status, detail = ("permission_denied", refusal) if refusal else self.terminate(session)
            state_change = session.pop("state_change")
            session.pop("superuser", None)
            session.pop("own_role", None)
            session.update(status=status, detail=detail,
                           state_change=state_change.isoformat() if state_change else None,
                           state_age_s=round(session["state_age_s"], 1))
            session.pop("backend_type", None)
        self.result["sessions"] = chosen
        self.result["counts"] = status_counts(chosen, candidates=len(rows), chosen=len(chosen))
        self.result["changed"] = any(s["status"] in ("terminated", "signalled", "planned") for s in chosen)
        self.set_diff("sessions", [describe_session(s) for s in chosen],
                      [describe_session(s) for s in chosen if s["status"] not in ("terminated", "signalled", "planned")])
        denied = [s for s in chosen if s["status"] == "permission_denied"]
        if denied:
            reasons = sorted({s["detail"] or "permission denied" for s in denied})
            self.module.warn(f"Skipped {len(denied)} of {len(chosen)} sessions the role may not terminate "
                             f"({', '.join(str(s['pid']) for s in denied)}): {'; '.join(reasons)}.")

    def terminate(self, session):
        """End one session if it is still in the same state spell it was chosen in."""
        wait = f", {TERMINATE_WAIT_MS}" if self.version_num >= 140000 else ""
        self.statements.append(f"SELECT pg_terminate_backend({int(session['pid'])}{wait})")
        if self.check_mode:
            return "planned", None
        # Re-checking state and state_change in the same statement means a session that turned
        # active since we looked is left alone.
        query = (f"SELECT pg_terminate_backend(pid{wait}) FROM pg_stat_activity "
                 "WHERE pid = %s AND state = %s AND state_change = %s")
        try:
            self.cursor.execute(query, (session["pid"], session["state"], session["state_change"]))
        except DatabaseError as exc:
            if is_permission_denied(exc):
                return "permission_denied", first_line(exc)
            raise MaintenanceError(f"Terminating session {session['pid']} failed: {first_line(exc)}.") from None
        row = self.cursor.fetchone()
        if row is None:
            return "gone", "the session ended or changed state before it could be terminated"
        return ("terminated", None) if row[0] else ("signalled", "still exiting after the termination request")

    def set_diff(self, key, before, after):
        if self.module._diff:
            self.result["diff"] = {"before": {key: before}, "after": {key: after}}

    def report_lock_timeouts(self, items, what):
        locked = [item["name"] for item in items if item["status"] == "lock_timeout"]
        if not locked:
            return
        message = (f"Could not lock {len(locked)} of {len(items)} {what} within lock_timeout "
                   f"{self.params['lock_timeout']}: {', '.join(locked)}.")
        if self.params["fail_on_lock_timeout"]:
            raise MaintenanceError(message)
        self.module.warn(message)
