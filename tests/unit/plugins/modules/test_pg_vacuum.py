"""pg_vacuum's main(): argument handling, check mode and result shape, with a fake PostgreSQL.

The fake stands in for psycopg2's connection and the catalog reads; the module's own logic
(option checks, selection, statement building, status handling) runs for real. Behaviour
against a real server is covered by tests/integration/postgres/test_pg_vacuum.py.
"""

from __future__ import annotations

import psycopg2.errors
import pytest
from ansible.module_utils import basic
from psycopg2 import sql

from ansible_collections.sre.runbooks.plugins.module_utils._postgres import connection as postgres
from ansible_collections.sre.runbooks.plugins.module_utils._postgres import catalog
from ansible_collections.sre.runbooks.plugins.module_utils._postgres import vacuum_runner
from ansible_collections.sre.runbooks.plugins.modules import pg_vacuum

from .utils import run_module

OWN_PID = 4000
TABLES = [
    {"schema": "public", "table": f"t{number:03d}", "relkind": "r", "n_live_tup": 1000,
     "n_dead_tup": 600 if number in (3, 7) else 0, "n_mod_since_analyze": 0, "last_vacuum": None,
     "last_autovacuum": None, "last_analyze": None, "last_autoanalyze": None, "last_vacuum_age_s": 60.0,
     "last_analyze_age_s": 60.0}
    for number in range(10)
]
SESSIONS = [
    {"pid": OWN_PID, "user": "postgres", "application_name": "sre.runbooks", "database": "app", "state": "idle",
     "backend_type": "client backend", "client_addr": None, "backend_start": "2024-01-01T00:00:00+00:00",
     "state_change": None, "state_age_s": 9000.0},
    {"pid": 4001, "user": "web", "application_name": "api", "database": "app", "state": "idle",
     "backend_type": "client backend", "client_addr": "10.0.0.5", "backend_start": "2024-01-01T00:00:00+00:00",
     "state_change": None, "state_age_s": 7200.0},
    {"pid": 4002, "user": "web", "application_name": "api", "database": "app", "state": "active",
     "backend_type": "client backend", "client_addr": "10.0.0.6", "backend_start": "2024-01-01T00:00:00+00:00",
     "state_change": None, "state_age_s": 7200.0},
]


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.rows = []

    def execute(self, query, args=None):
        text = render(query) if isinstance(query, sql.Composable) else query
        self.conn.executed.append(text)
        failure = self.conn.failures.get(text)
        if failure:
            raise failure
        self.rows = [(True,)] if text.startswith("SELECT pg_terminate_backend") else []

    def fetchone(self):
        return self.rows[0] if self.rows else None


class FakeConnection:
    server_version = 150004

    def __init__(self):
        self.executed = []
        self.failures = {}
        self.notices = []
        self.closed = False
        self.autocommit = True

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True

    def maintenance_statements(self):
        return [text for text in self.executed if text.split()[0] in ("VACUUM", "ANALYZE", "REINDEX")
                or text.startswith("SELECT pg_terminate_backend")]


def render(statement):
    """SQL text of a psycopg2.sql composition without a live connection (quoting like the server)."""
    if isinstance(statement, sql.Composed):
        return "".join(render(part) for part in statement.seq)
    if isinstance(statement, sql.Identifier):
        return ".".join('"' + name.replace('"', '""') + '"' for name in statement.strings)
    return statement.string


@pytest.fixture
def fake(monkeypatch):
    conn = FakeConnection()
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda module, warning, **kw: warnings.append(warning))
    monkeypatch.setattr(vacuum_runner, "connect", lambda module: conn)
    monkeypatch.setattr(vacuum_runner.VacuumRunner, "render", lambda runner, statement: render(statement))
    monkeypatch.setattr(catalog, "current_database", lambda cursor: "app")
    monkeypatch.setattr(catalog, "tables", lambda cursor: [dict(row) for row in TABLES])
    monkeypatch.setattr(catalog, "known_schemas", lambda cursor: ["public"])
    monkeypatch.setattr(catalog, "sessions", lambda cursor: [dict(row) for row in SESSIONS])
    monkeypatch.setattr(catalog, "own_pid", lambda cursor: OWN_PID)
    monkeypatch.setattr(catalog, "signal_rights", lambda cursor: (True, False))  # (superuser, pg_signal_backend)
    conn.warnings = warnings
    return conn


def run_main(args, check=False, diff=False):
    return run_module(pg_vacuum, args, check=check, diff=diff)


@pytest.mark.parametrize("args, message", [
    ({"operation": "defragment"}, "value of operation must be one of"),
    ({"operation": "reindex"}, "operation is reindex but all of the following are missing: reindex_scope"),
    ({"operation": "vacuum", "lock_timeout": "5000"}, "Invalid lock_timeout '5000': use a number with a unit"),
    ({"operation": "terminate_sessions", "idle_older_than": "an hour"}, "Invalid idle_older_than 'an hour'"),
    ({"operation": "vacuum", "full": True, "parallel": 2}, "Options full and parallel cannot be combined"),
    ({"operation": "analyze", "freeze": True}, "Option freeze applies only to operation=vacuum"),
    ({"operation": "reindex", "reindex_scope": "index"}, "Option names is required with reindex_scope=index"),
    ({"operation": "vacuum", "tables": ["missing"]}, 'Table "missing" does not exist in database "app".'),
    ({"operation": "vacuum", "schemas": ["ghost"]}, 'Schema "ghost" does not exist in database "app".'),
    ({"operation": "vacuum", "thresholds": {"dead_tuple_ratio": 3}}, "thresholds.dead_tuple_ratio must be between 0 and 1"),
    ({"operation": "analyze", "thresholds": {"min_dead_tuples": 1}}, "thresholds.min_dead_tuples does not apply"),
    ({"operation": "terminate_sessions", "session_states": ["sleeping"]},
     "value of session_states must be one or more of"),
])
def test_bad_input_fails_with_one_sentence(fake, args, message):
    result = run_main(args)
    assert result["failed"] is True
    assert result["msg"].startswith(message)
    assert "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert fake.maintenance_statements() == []


def test_missing_psycopg2_is_reported_with_missing_required_lib(fake, monkeypatch):
    monkeypatch.setattr(postgres, "psycopg2", None)
    monkeypatch.setattr(vacuum_runner, "connect", postgres.connect)
    result = run_main({"operation": "report"})
    assert result["failed"] is True
    assert "Failed to import the required Python library (psycopg2" in result["msg"]


THRESHOLD_ARGS = {"operation": "vacuum", "thresholds": {"dead_tuple_ratio": 0.2, "min_dead_tuples": 100}}


def test_check_mode_plans_the_dirty_tables_and_runs_nothing(fake):
    result = run_main(THRESHOLD_ARGS, check=True, diff=True)
    assert result["changed"] is True
    assert [t["name"] for t in result["tables"]] == ["public.t003", "public.t007"]
    assert {t["status"] for t in result["tables"]} == {"planned"}
    assert result["statements"] == ['VACUUM (ANALYZE) "public"."t003"', 'VACUUM (ANALYZE) "public"."t007"']
    assert result["counts"] == {"candidates": 10, "chosen": 2, "planned": 2}
    assert result["diff"] == {"before": {"tables_needing_vacuum": ["public.t003", "public.t007"]},
                              "after": {"tables_needing_vacuum": []}}
    assert fake.maintenance_statements() == []
    assert fake.closed


def test_real_run_has_the_same_shape_as_check_mode(fake):
    planned = run_main(THRESHOLD_ARGS, check=True)
    done = run_main(THRESHOLD_ARGS)
    assert set(done) == set(planned)
    assert [set(t) for t in done["tables"]] == [set(t) for t in planned["tables"]]
    assert {t["status"] for t in done["tables"]} == {"done"}
    assert fake.maintenance_statements() == done["statements"]


def test_nothing_chosen_means_no_change(fake):
    result = run_main({"operation": "vacuum", "thresholds": {"min_dead_tuples": 10 ** 6}})
    assert result["changed"] is False
    assert result["tables"] == [] and result["statements"] == []


def test_lock_timeout_is_reported_not_fatal_by_default(fake):
    fake.failures['VACUUM (ANALYZE) "public"."t003"'] = psycopg2.errors.LockNotAvailable(
        "canceling statement due to lock timeout")
    result = run_main(THRESHOLD_ARGS)
    statuses = {t["name"]: (t["status"], t["detail"]) for t in result["tables"]}
    assert statuses == {"public.t003": ("lock_timeout", "canceling statement due to lock timeout"),
                        "public.t007": ("done", None)}
    assert result["changed"] is True
    assert result["counts"] == {"candidates": 10, "chosen": 2, "lock_timeout": 1, "done": 1}
    assert fake.warnings == ["Could not lock 1 of 2 tables within lock_timeout 5s: public.t003."]


def test_fail_on_lock_timeout_fails_after_processing_every_table(fake):
    fake.failures['VACUUM (ANALYZE) "public"."t003"'] = psycopg2.errors.LockNotAvailable("lock timeout")
    result = run_main(dict(THRESHOLD_ARGS, fail_on_lock_timeout=True))
    assert result["failed"] is True
    assert result["msg"] == "Could not lock 1 of 2 tables within lock_timeout 5s: public.t003."
    assert [t["status"] for t in result["tables"]] == ["lock_timeout", "done"]


def test_other_statement_errors_fail_with_the_statement_named(fake):
    fake.failures['VACUUM (ANALYZE) "public"."t003"'] = psycopg2.errors.InsufficientPrivilege(
        "must be owner of table t003\n")
    result = run_main(THRESHOLD_ARGS)
    assert result["msg"] == 'VACUUM (ANALYZE) "public"."t003" failed: must be owner of table t003.'


def test_skip_warning_marks_the_table_skipped(fake, monkeypatch):
    original = FakeCursor.execute

    def execute(cursor, query, args=None):
        original(cursor, query, args)
        if isinstance(query, sql.Composable) and "t007" in render(query):
            cursor.conn.notices.append('WARNING:  skipping vacuum of "t007" --- lock not available\n')

    monkeypatch.setattr(FakeCursor, "execute", execute)
    result = run_main(dict(THRESHOLD_ARGS, skip_locked=True))
    assert result["statements"][1] == 'VACUUM (ANALYZE, SKIP_LOCKED) "public"."t007"'
    assert [(t["status"], t["detail"]) for t in result["tables"]] == [
        ("done", None), ("skipped", 'skipping vacuum of "t007" --- lock not available')]


def test_timeouts_are_set_in_milliseconds_before_any_work(fake):
    run_main(dict(THRESHOLD_ARGS, lock_timeout="2s", statement_timeout="1 hour"), check=True)
    assert fake.executed[:2] == ["SELECT set_config(%s, %s, false)"] * 2


def test_terminate_sessions_check_mode_lists_sessions_but_never_our_own(fake):
    result = run_main({"operation": "terminate_sessions", "idle_older_than": "1h"}, check=True, diff=True)
    assert [s["pid"] for s in result["sessions"]] == [4001]
    assert result["sessions"][0]["status"] == "planned"
    assert result["sessions"][0]["reason"] == "idle for 2h (limit 1h)"
    assert result["diff"]["before"] == {"sessions": ["pid 4001 api@app as web (idle 2h)"]}
    assert result["diff"]["after"] == {"sessions": []}
    assert fake.maintenance_statements() == []


def test_a_role_without_superuser_skips_superuser_sessions_with_a_warning(fake, monkeypatch):
    # As on RDS: pg_signal_backend ends other roles' sessions, never a superuser's; nothing is sent for those.
    monkeypatch.setattr(catalog, "signal_rights", lambda cursor: (False, True))
    rows = [dict(SESSIONS[1], superuser=True, own_role=False), dict(SESSIONS[2], superuser=False, own_role=False)]
    monkeypatch.setattr(catalog, "sessions", lambda cursor: rows)
    result = run_main({"operation": "terminate_sessions", "idle_older_than": "1h", "session_states": ["idle", "active"]})
    assert not result.get("failed")
    assert [(s["pid"], s["status"]) for s in result["sessions"]] == [(4001, "permission_denied"), (4002, "terminated")]
    assert result["sessions"][0]["detail"] == "only a superuser may terminate a superuser's session"
    assert "superuser" not in result["sessions"][0] and "own_role" not in result["sessions"][0]
    assert result["statements"] == ["SELECT pg_terminate_backend(4002, 5000)"]
    assert result["counts"]["permission_denied"] == 1 and result["changed"] is True
    assert fake.warnings == ["Skipped 1 of 2 sessions the role may not terminate (4001): only a superuser may "
                             "terminate a superuser's session."]


def test_terminate_sessions_real_run(fake):
    result = run_main({"operation": "terminate_sessions", "idle_older_than": "1h", "session_states": ["idle", "active"]})
    assert [(s["pid"], s["status"]) for s in result["sessions"]] == [(4001, "terminated"), (4002, "terminated")]
    assert result["statements"] == ["SELECT pg_terminate_backend(4001, 5000)", "SELECT pg_terminate_backend(4002, 5000)"]
    assert result["changed"] is True


def test_an_empty_idle_older_than_is_refused():
    from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError
    from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_args import parse_intervals

    with pytest.raises(IntervalError, match="idle_older_than must not be empty"):
        parse_intervals({"idle_older_than": " ", "lock_timeout": "5s", "statement_timeout": ""})
    assert parse_intervals({"idle_older_than": "0", "lock_timeout": "", "statement_timeout": None}) == {
        "idle_older_than": 0.0, "lock_timeout": None, "statement_timeout": None}
