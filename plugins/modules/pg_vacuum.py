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
          V(gone) (ended or changed state before termination), or V(permission_denied) (the server refused, or a
          superuser's session when the role is not a superuser, which is never attempted).
      type: str
    detail:
      description: The server's message (or why the role may not end the session) when not terminated, else null.
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

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_args import RANGES, REQUIRED_IF, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_runner import run_vacuum


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, required_if=REQUIRED_IF,
                           ranges=RANGES)
    module.exit_json(**module.run(lambda: run_vacuum(module), "pg_vacuum"))


if __name__ == "__main__":
    main()
