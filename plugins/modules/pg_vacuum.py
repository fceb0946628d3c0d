#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_vacuum
short_description: VACUUM, ANALYZE and REINDEX chosen by thresholds, idle-session clean-up and a health report for PostgreSQL
version_added: 0.1.0
description:
  - Runs the PostgreSQL maintenance steps of the operations runbooks as one idempotent task.
  - O(operation=vacuum) and O(operation=analyze) work table by table, on the tables named in O(tables), or on the tables
    whose statistics pass O(thresholds), or on every user table. Each chosen table is reported with the reasons it was
    chosen and what happened to it. A table that cannot be locked within O(lock_timeout) is reported and skipped
    instead of stalling the application; see O(fail_on_lock_timeout).
  - O(operation=reindex) rebuilds an index, the indexes of a table, a schema or the connected database, optionally
    without blocking writes (O(concurrently=true)).
  - O(operation=terminate_sessions) ends client sessions that have been idle (or idle in a transaction) for too long,
    filtered by user, application and database. It never ends its own session.
  - O(operation=report) changes nothing and returns table and index sizes, dead tuples, last (auto)vacuum and analyze
    times, a bloat estimate, connections against C(max_connections), the slowest statements from
    C(pg_stat_statements) and database sizes.
  - In check mode no maintenance statement runs; the result has the same shape and lists what would be done.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.postgres
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details:
      - Catalog and statistics views are read; no VACUUM, ANALYZE, REINDEX or session termination is run.
  diff_mode:
    support: full
    details:
      - Shows the tables needing work, the sessions to end, or the index sizes, before and after.
  idempotent:
    support: partial
    details:
      - With O(thresholds) a second run finds the tables clean and reports no change; O(operation=terminate_sessions)
        finds no session left to end.
      - Without O(thresholds), and for O(operation=reindex), the statements run on every call and report a change.
options:
  operation:
    description:
      - What to do.
      - V(vacuum) runs C(VACUUM) (with C(ANALYZE) unless O(analyze=false)) on the chosen tables.
      - V(analyze) runs C(ANALYZE) on the chosen tables.
      - V(reindex) runs C(REINDEX) on O(reindex_scope) and O(names).
      - V(terminate_sessions) ends the sessions selected by O(session_states), O(idle_older_than) and the filters.
      - V(report) returns RV(report) and changes nothing.
    type: str
    required: true
    choices: [vacuum, analyze, reindex, terminate_sessions, report]
  tables:
    description:
      - Tables to work on, as V(table) or V(schema.table). Names follow SQL rules; unquoted names are folded to lower
        case, so write V('"Sales"."Q1"') for mixed case.
      - A bare name must exist in exactly one schema (of O(schemas) when given); a name that does not exist fails the task.
      - With O(thresholds), only the listed tables that pass the thresholds are chosen.
      - Without O(tables) and O(thresholds), every user table (of O(schemas) when given) is chosen, one statement per
        table so that lock timeouts are reported per table.
      - Only for O(operation=vacuum) and O(operation=analyze).
    type: list
    elements: str
  schemas:
    description:
      - Restrict the work to tables in these schemas. A schema that does not exist fails the task.
      - For O(operation=report), restricts the table and index sections.
      - Only for O(operation=vacuum), O(operation=analyze) and O(operation=report).
    type: list
    elements: str
  thresholds:
    description:
      - Choose tables by their statistics in C(pg_stat_user_tables) instead of running on every table.
      - A table is chosen when it passes all dead-tuple thresholds given (O(thresholds.dead_tuple_ratio) and
        O(thresholds.min_dead_tuples) together, like autovacuum's scale factor plus threshold), or any of the age and
        modification thresholds. Each chosen table lists the reasons that matched.
      - Only for O(operation=vacuum) and O(operation=analyze). Thresholds that the statement would not reset are refused,
        so repeated runs settle (V(analyze) cannot use the dead-tuple or vacuum-age thresholds; V(vacuum) with
        O(analyze=false) cannot use the analyze thresholds).
    type: dict
    suboptions:
      dead_tuple_ratio:
        description:
          - Minimum share of dead tuples, C(n_dead_tup) divided by C(n_live_tup + n_dead_tup), between V(0) and V(1).
        type: float
      min_dead_tuples:
        description:
          - Minimum number of dead tuples (C(n_dead_tup)).
        type: int
      last_vacuum_older_than:
        description:
          - Choose tables whose latest manual or automatic vacuum is at least this old; never-vacuumed tables qualify.
          - An interval such as V(90s), V(30m), V(12h), V(7d), V(1 hour) or V(00:30:00).
        type: str
      min_modified_since_analyze:
        description:
          - Minimum number of rows changed since the last analyze (C(n_mod_since_analyze)).
        type: int
      last_analyze_older_than:
        description:
          - Choose tables whose latest manual or automatic analyze is at least this old; never-analyzed tables qualify.
          - An interval, as for O(thresholds.last_vacuum_older_than).
        type: str
  full:
    description:
      - Run C(VACUUM FULL), which rewrites the table and holds an exclusive lock for the whole run.
      - Only for O(operation=vacuum); cannot be combined with O(parallel).
    type: bool
    default: false
  freeze:
    description:
      - Run C(VACUUM FREEZE) (aggressive freezing of tuples). Only for O(operation=vacuum).
    type: bool
    default: false
  analyze:
    description:
      - Refresh planner statistics in the same pass (the C(ANALYZE) option of C(VACUUM)). Used by O(operation=vacuum) only.
    type: bool
    default: true
  skip_locked:
    description:
      - Skip tables that cannot be locked at once (C(SKIP_LOCKED), PostgreSQL 12 or later) instead of waiting up to
        O(lock_timeout). Skipped tables are reported with status V(skipped).
    type: bool
    default: false
  parallel:
    description:
      - Number of parallel workers for index vacuuming (C(PARALLEL n), PostgreSQL 13 or later); V(0) disables them.
      - Only for O(operation=vacuum).
    type: int
  lock_timeout:
    description:
      - Longest wait for a table lock before giving up on that table (an interval, as for
        O(thresholds.last_vacuum_older_than)); V(0) waits for ever.
      - Tables given up on are reported with status V(lock_timeout); the task fails only with O(fail_on_lock_timeout=true).
    type: str
    default: 5s
  statement_timeout:
    description:
      - Longest run time of one statement (an interval); the server's setting applies when not set.
      - A maintenance statement that runs out of time is reported with status V(statement_timeout).
    type: str
  fail_on_lock_timeout:
    description:
      - Fail the task when a table or index could not be locked within O(lock_timeout).
      - The remaining tables are still processed first, and the result lists what happened to each.
    type: bool
    default: false
  reindex_scope:
    description:
      - What O(names) are, for O(operation=reindex), which requires it.
      - V(database) rebuilds the indexes of the connected database (O(database)); O(names) may repeat its name.
    type: str
    choices: [index, table, schema, database]
  names:
    description:
      - Indexes, tables or schemas to rebuild (V(name) or V(schema.name)); required unless O(reindex_scope=database).
    type: list
    elements: str
  concurrently:
    description:
      - Rebuild without blocking writes (C(REINDEX ... CONCURRENTLY), PostgreSQL 12 or later). Slower, and waits for
        running transactions, so O(lock_timeout) matters. If it is interrupted, PostgreSQL leaves an invalid index named
        C(*_ccnew*), which the module reports in a warning.
      - Only for O(operation=reindex).
    type: bool
    default: false
  session_states:
    description:
      - States (C(pg_stat_activity.state)) of the sessions to end, for O(operation=terminate_sessions).
    type: list
    elements: str
    choices: [active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled]
    default: [idle, idle in transaction]
  idle_older_than:
    description:
      - End only sessions that have been in their current state at least this long (an interval), measured on the
        server's clock from C(pg_stat_activity.state_change).
    type: str
    default: 1h
  session_users:
    description:
      - End only sessions of these roles. All roles when not set.
    type: list
    elements: str
  application_names:
    description:
      - End only sessions with these C(application_name) values. All applications when not set.
    type: list
    elements: str
  session_databases:
    description:
      - End only sessions connected to these databases. Sessions of every database are candidates when not set.
    type: list
    elements: str
  top_n:
    description:
      - Rows per report section (tables, indexes, dead tuples, maintenance ages, bloat, slow queries).
    type: int
    default: 10
notes:
  - C(VACUUM) and C(REINDEX CONCURRENTLY) cannot run inside a transaction, so the module works in autocommit mode;
    every statement stands on its own.
  - A table skipped because of O(skip_locked) or missing privileges is recognised from the server's warning text, so
    the server's C(lc_messages) should be English.
  - Statistics views are updated asynchronously by PostgreSQL; rows changed in the last second may not be counted yet.
seealso:
  - name: Routine vacuuming
    description: PostgreSQL manual on why and when to vacuum.
    link: https://www.postgresql.org/docs/current/routine-vacuuming.html
  - name: REINDEX
    description: PostgreSQL manual on rebuilding indexes, including CONCURRENTLY.
    link: https://www.postgresql.org/docs/current/sql-reindex.html
"""

EXAMPLES = r"""
---
- name: Vacuum and analyze the tables with many dead tuples
  sre.runbooks.pg_vacuum:
    operation: vacuum
    host: db1.example.com
    database: platform
    user: maintenance
    password: "{{ vault_pg_maintenance_password }}"
    thresholds:
      dead_tuple_ratio: 0.2
      min_dead_tuples: 1000
    lock_timeout: 5s
  register: vacuumed

- name: Show which tables were vacuumed and why
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.status }} ({{ item.reasons | join(', ') }})"
  loop: "{{ vacuumed.tables }}"

- name: Vacuum tables not vacuumed for a week, skipping tables that are busy
  sre.runbooks.pg_vacuum:
    operation: vacuum
    database: platform
    schemas: [public, billing]
    thresholds:
      last_vacuum_older_than: 7d
    skip_locked: true

- name: Analyze tables with many changes since their last analyze
  sre.runbooks.pg_vacuum:
    operation: analyze
    database: platform
    thresholds:
      min_modified_since_analyze: 10000

- name: VACUUM FULL one table in a maintenance window, failing if it cannot be locked
  sre.runbooks.pg_vacuum:
    operation: vacuum
    database: anomaly_detection
    tables: [anomaly_detections]
    full: true
    lock_timeout: 30s
    statement_timeout: 2h
    fail_on_lock_timeout: true

- name: Rebuild an index without blocking writes
  sre.runbooks.pg_vacuum:
    operation: reindex
    database: anomaly_detection
    reindex_scope: index
    names: [public.idx_anomaly_timestamp]
    concurrently: true
    lock_timeout: 1min

- name: End sessions idle for more than an hour (connection settings from PGHOST, PGUSER, PGPASSWORD)
  sre.runbooks.pg_vacuum:
    operation: terminate_sessions
    idle_older_than: 1h
    session_databases: [platform]

- name: Collect the database health report
  sre.runbooks.pg_vacuum:
    operation: report
    database: platform
    top_n: 10
  register: pg_health

- name: Warn when connections run short
  ansible.builtin.debug:
    msg: "{{ pg_health.report.connections.total }} of {{ pg_health.report.connections.max_connections }} connections in use"
  when: pg_health.report.connections.usage_ratio > 0.8
"""

RETURN = r"""
operation:
  description: The operation that ran.
  returned: always
  type: str
  sample: vacuum
database:
  description: The database the module connected to.
  returned: always
  type: str
  sample: platform
server_version:
  description: PostgreSQL server version.
  returned: always
  type: str
  sample: "15.8"
duration_s:
  description: Wall-clock seconds the operation took, connection excluded.
  returned: always
  type: float
  sample: 1.73
statements:
  description: The maintenance statements run, or in check mode those that would run, in order.
  returned: always
  type: list
  elements: str
  sample: ['VACUUM (ANALYZE) "public"."orders"']
counts:
  description:
    - Totals for the operation. C(candidates) and C(chosen) (tables, reindex targets or sessions), plus one key per
      status that occurred (for example C(done), C(planned), C(lock_timeout), C(terminated)).
  returned: when O(operation) is not V(report)
  type: dict
  sample: {candidates: 200, chosen: 5, done: 5}
tables:
  description: The tables chosen, in the order they were processed.
  returned: when O(operation=vacuum) or O(operation=analyze)
  type: list
  elements: dict
  contains:
    name:
      description: The table as V(schema.table).
      type: str
      sample: public.orders
    schema:
      description: Schema name.
      type: str
    table:
      description: Table name.
      type: str
    reasons:
      description: Why the table was chosen, one entry per matching threshold (or how it was listed).
      type: list
      elements: str
      sample: ["dead_tuple_ratio 0.450 >= 0.2", "n_dead_tup 4500 >= 1000"]
    status:
      description:
        - V(done), V(planned) (check mode), V(skipped) (lock not available with O(skip_locked), or no privilege),
          V(lock_timeout) or V(statement_timeout).
      type: str
      sample: done
    detail:
      description: The server's message for a table that was not done, else null.
      type: str
    duration_s:
      description: Seconds the statement took (0 in check mode).
      type: float
    n_live_tup:
      description: Live tuples before the run.
      type: int
    n_dead_tup:
      description: Dead tuples before the run.
      type: int
    dead_tuple_ratio:
      description: Dead tuples as a share of all tuples before the run.
      type: float
    n_mod_since_analyze:
      description: Rows changed since the last analyze, before the run.
      type: int
    last_vacuum:
      description: Last manual vacuum before the run (ISO 8601), or null.
      type: str
    last_autovacuum:
      description: Last autovacuum before the run, or null.
      type: str
    last_analyze:
      description: Last manual analyze before the run, or null.
      type: str
    last_autoanalyze:
      description: Last autoanalyze before the run, or null.
      type: str
targets:
  description: The reindex targets.
  returned: when O(operation=reindex)
  type: list
  elements: dict
  contains:
    kind:
      description: V(index), V(table), V(schema) or V(database).
      type: str
    name:
      description: Target name.
      type: str
    status:
      description: V(done), V(planned), V(lock_timeout) or V(statement_timeout).
      type: str
    detail:
      description: The server's message when not done, else null.
      type: str
    duration_s:
      description: Seconds the statement took.
      type: float
indexes:
  description: The user indexes the reindex covers, with their size before and after.
  returned: when O(operation=reindex)
  type: list
  elements: dict
  contains:
    schema:
      description: Schema name.
      type: str
    index:
      description: Index name.
      type: str
    table:
      description: Table the index belongs to.
      type: str
    bytes_before:
      description: Size before the rebuild.
      type: int
    bytes_after:
      description: Size after the rebuild; null in check mode.
      type: int
sessions:
  description: The sessions chosen for termination.
  returned: when O(operation=terminate_sessions)
  type: list
  elements: dict
  contains:
    pid:
      description: Backend process id.
      type: int
    user:
      description: Role of the session.
      type: str
    application_name:
      description: The session's application_name.
      type: str
    database:
      description: Database of the session.
      type: str
    client_addr:
      description: Client address, null for unix-socket sessions.
      type: str
    state:
      description: State when chosen.
      type: str
    state_age_s:
      description: Seconds in that state when chosen.
      type: float
    backend_start:
      description: When the session started (ISO 8601).
      type: str
    reason:
      description: Why it was chosen.
      type: str
      sample: idle for 2h (limit 1h)
    status:
      description:
        - V(terminated), V(planned) (check mode), V(signalled) (asked to end but still exiting after 5 seconds),
          V(gone) (ended or changed state before termination), or V(permission_denied).
      type: str
    detail:
      description: The server's message when not terminated, else null.
      type: str
report:
  description: The health report.
  returned: when O(operation=report)
  type: dict
  contains:
    generated_at:
      description: Server time of the report (ISO 8601).
      type: str
    top_n:
      description: Rows per section.
      type: int
    schemas:
      description: Schema filter applied to table and index sections, or null.
      type: list
      elements: str
    table_sizes:
      description: Largest tables by total size (C(schema), C(table), C(total_bytes), C(table_bytes) with TOAST,
        C(index_bytes), C(total_size) text).
      type: list
      elements: dict
    index_sizes:
      description: Largest indexes (C(schema), C(index), C(table), C(bytes), C(size), C(idx_scan), C(unique), C(primary), C(valid)).
      type: list
      elements: dict
    dead_tuples:
      description: Tables with most dead tuples (C(schema), C(table), C(n_live_tup), C(n_dead_tup), C(dead_tuple_ratio)).
      type: list
      elements: dict
    last_maintenance:
      description:
        - Tables whose last vacuum is oldest, never-vacuumed first (C(last_vacuum), C(last_autovacuum), C(last_analyze),
          C(last_autoanalyze), their counts, C(last_vacuum_age_s), C(last_analyze_age_s)).
      type: list
      elements: dict
    bloat:
      description:
        - Estimated table bloat from planner statistics. C(tables) lists the top tables by C(bloat_bytes) (with
          C(table_bytes), C(expected_pages), C(bloat_pages), C(bloat_ratio)); C(tables_without_statistics) lists tables
          never analyzed, which cannot be estimated.
      type: dict
    connections:
      description:
        - Client sessions C(total), C(max_connections), C(superuser_reserved_connections), C(usage_ratio),
          C(by_state) and C(by_database) counts.
      type: dict
      sample: {total: 12, max_connections: 100, usage_ratio: 0.12, by_state: {active: 2, idle: 10}}
    slow_queries:
      description:
        - Slowest statements by mean time from C(pg_stat_statements). C(available) is false, with a C(reason), when the
          extension is not installed in the database or not preloaded; C(queries) then is empty.
        - Each query has C(queryid), C(query), C(calls), C(rows), C(total_time_ms), C(mean_time_ms), C(user), C(database).
      type: dict
    database_sizes:
      description: Every database that accepts connections, largest first (C(database), C(bytes), C(size)).
      type: list
      elements: dict
"""

import copy
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sre.runbooks.plugins.module_utils._postgres import catalog
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    POSTGRES_COMMON_ARGS,
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
    SESSION_STATES,
    choose_sessions,
    describe_session,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_options import (
    OPERATIONS,
    REINDEX_SCOPES,
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

try:
    from psycopg2 import sql
except ImportError:
    sql = None  # connect() reports the missing library before any statement is built

TERMINATE_WAIT_MS = 5000  # pg_terminate_backend(pid, timeout) waits this long for the exit (PostgreSQL 14+)
REINDEX_KINDS = {"index": "INDEX", "table": "TABLE", "schema": "SCHEMA", "database": "DATABASE"}


class MaintenanceError(Exception):
    """A statement failed for a reason other than a lock or statement timeout."""


def argument_spec():
    spec = copy.deepcopy(POSTGRES_COMMON_ARGS)
    spec.update(
        operation={"type": "str", "required": True, "choices": OPERATIONS},
        tables={"type": "list", "elements": "str"},
        schemas={"type": "list", "elements": "str"},
        thresholds={"type": "dict", "options": {
            "dead_tuple_ratio": {"type": "float"},
            "min_dead_tuples": {"type": "int"},
            "last_vacuum_older_than": {"type": "str"},
            "min_modified_since_analyze": {"type": "int"},
            "last_analyze_older_than": {"type": "str"},
        }},
        full={"type": "bool", "default": False},
        freeze={"type": "bool", "default": False},
        analyze={"type": "bool", "default": True},
        skip_locked={"type": "bool", "default": False},
        parallel={"type": "int"},
        lock_timeout={"type": "str", "default": "5s"},
        statement_timeout={"type": "str"},
        fail_on_lock_timeout={"type": "bool", "default": False},
        reindex_scope={"type": "str", "choices": REINDEX_SCOPES},
        names={"type": "list", "elements": "str"},
        concurrently={"type": "bool", "default": False},
        session_states={"type": "list", "elements": "str", "choices": SESSION_STATES,
                        "default": ["idle", "idle in transaction"]},
        idle_older_than={"type": "str", "default": "1h"},
        session_users={"type": "list", "elements": "str"},
        application_names={"type": "list", "elements": "str"},
        session_databases={"type": "list", "elements": "str"},
        top_n={"type": "int", "default": 10},
    )
    return spec


def parse_intervals(params):
    """The interval options as seconds (None when not set); raises IntervalError naming the option."""
    return {
        name: (parse_interval(params[name], name) if params.get(name) not in (None, "") else None)
        for name in ("lock_timeout", "statement_timeout", "idle_older_than")
    }


def status_counts(items, **extra):
    counts = dict(extra)
    for item in items:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return counts


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
        operation = self.params["operation"]
        if operation in ("vacuum", "analyze"):
            self.vacuum_or_analyze(operation)
        elif operation == "reindex":
            self.reindex()
        elif operation == "terminate_sessions":
            self.terminate_sessions()
        else:
            self.result["report"] = build_report(self.cursor, self.params["top_n"], self.database, self.version_num,
                                                 resolve_schemas(self.params["schemas"], catalog.known_schemas(self.cursor),
                                                                 self.database))
        self.result["duration_s"] = round(time.monotonic() - started, 3)
        return self.result

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

    def vacuum_or_analyze(self, operation):
        params = self.params
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
        for session in chosen:
            status, detail = self.terminate(session)
            state_change = session.pop("state_change")
            session.update(status=status, detail=detail,
                           state_change=state_change.isoformat() if state_change else None,
                           state_age_s=round(session["state_age_s"], 1))
            session.pop("backend_type", None)
        self.result["sessions"] = chosen
        self.result["counts"] = status_counts(chosen, candidates=len(rows), chosen=len(chosen))
        self.result["changed"] = any(s["status"] in ("terminated", "signalled", "planned") for s in chosen)
        self.set_diff("sessions", [describe_session(s) for s in chosen],
                      [describe_session(s) for s in chosen if s["status"] not in ("terminated", "signalled", "planned")])
        denied = [str(s["pid"]) for s in chosen if s["status"] == "permission_denied"]
        if denied:
            self.module.warn(f"Not allowed to terminate sessions {', '.join(denied)}; the role needs pg_signal_backend "
                             "or superuser.")

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


def _ms(seconds):
    return None if seconds is None else int(round(seconds * 1000))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("operation", "reindex", ["reindex_scope"])])
    try:
        check_option_combinations(module.params)
        intervals = parse_intervals(module.params)
    except (OptionError, IntervalError) as exc:
        module.fail_json(msg=str(exc))
    conn = connect(module)
    runner = None
    try:
        runner = VacuumRunner(module, conn, intervals)
        result = runner.run()
    except (OptionError, SelectionError, MaintenanceError) as exc:
        module.fail_json(msg=str(exc), **(runner.result if runner else {}))
    except DatabaseError as exc:
        module.fail_json(msg=f"PostgreSQL error in database \"{module.params['database']}\" during "
                             f"{module.params['operation']}: {first_line(exc)}.", **(runner.result if runner else {}))
    finally:
        conn.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
