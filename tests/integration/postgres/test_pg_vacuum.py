"""pg_vacuum against the real PostgreSQL 15 of the test harness, run through ansible-playbook.

Every scenario works in its own schema of a database created for this module, and checks the
server's own view (pg_stat_user_tables, pg_stat_activity, pg_class), not just what the module
returned. Statistics reach the views asynchronously, so reads poll with a deadline.
"""

from __future__ import annotations

import socket
import threading
import uuid
from contextlib import closing

import psycopg2
import pytest
from psycopg2 import sql

from tests.integration.module_runner import run_module
from tests.integration.waiting import wait_until

MODULE = "sre.runbooks.pg_vacuum"
DIRTY = ["t013", "t042", "t077", "t128", "t199"]


class Database:
    """A throwaway database on the harness server, plus helpers to reach it."""

    def __init__(self, server, name):
        self.server = server
        self.name = name

    def connect(self, autocommit=True, application_name="pg_vacuum-tests"):
        conn = psycopg2.connect(host=self.server["host"], port=self.server["port"], user=self.server["user"],
                                password=self.server["password"], dbname=self.name, application_name=application_name)
        conn.autocommit = autocommit
        return conn

    def args(self, **options):
        """Module arguments: connection (the password comes from PGPASSWORD) plus ``options``."""
        args = {"host": self.server["host"], "port": self.server["port"], "user": self.server["user"],
                "database": self.name}
        args.update(options)
        return args

    def run(self, check=False, diff=False, **options):
        result = run_module(MODULE, self.args(**options), check=check, diff=diff,
                            env={"PGPASSWORD": self.server["password"]})
        assert "Traceback" not in result.output, result.output
        return result

    def query(self, text, args=None):
        with closing(self.connect()) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(text, args)
            return cursor.fetchall()

    def execute(self, text, args=None):
        """Run SQL, then make this backend publish its pending statistics right away."""
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(text, args)
                cursor.execute("SELECT pg_stat_force_next_flush()")
        finally:
            conn.close()  # statistics are flushed as the session ends at the latest

    def table_stats(self, schema):
        rows = self.query("SELECT relname, n_live_tup, n_dead_tup, vacuum_count, analyze_count, last_vacuum "
                          "FROM pg_stat_user_tables WHERE schemaname = %s", (schema,))
        return {row[0]: {"live": row[1], "dead": row[2], "vacuum_count": row[3], "analyze_count": row[4],
                         "last_vacuum": row[5]} for row in rows}


@pytest.fixture(scope="module")
def db(services):
    server = services["postgres"]
    name = f"pg_vacuum_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(host=server["host"], port=server["port"], user=server["user"], password=server["password"],
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield Database(server, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


def create_tables(db, schema, count, rows):
    """``count`` tables of ``rows`` rows each; autovacuum off so only the module vacuums them."""
    db.execute(f"""
        CREATE SCHEMA {schema};
        DO $$
        BEGIN
          FOR i IN 0..{count - 1} LOOP
            EXECUTE format('CREATE TABLE {schema}.%I (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false)',
                           't' || lpad(i::text, 3, '0'));
            EXECUTE format('INSERT INTO {schema}.%I SELECT g, md5(g::text) FROM generate_series(1, {rows}) g',
                           't' || lpad(i::text, 3, '0'));
          END LOOP;
        END $$;
    """)


def test_threshold_vacuum_picks_exactly_the_dirty_tables(db):
    create_tables(db, "fleet", 200, 200)
    db.execute(";".join(f"DELETE FROM fleet.{name} WHERE id % 2 = 0" for name in DIRTY))
    wait_until(lambda: all(db.table_stats("fleet")[name]["dead"] == 100 for name in DIRTY), "dead tuples to be counted")
    wait_until(lambda: len(db.table_stats("fleet")) == 200, "all 200 tables in pg_stat_user_tables")
    options = {"operation": "vacuum", "schemas": ["fleet"], "thresholds": {"dead_tuple_ratio": 0.2, "min_dead_tuples": 50}}

    planned = db.run(check=True, diff=True, **options)
    assert planned.changed and not planned.failed
    assert [t["name"] for t in planned["tables"]] == [f"fleet.{name}" for name in DIRTY]
    assert {t["status"] for t in planned["tables"]} == {"planned"}
    assert planned["tables"][0]["reasons"] == ["dead_tuple_ratio 0.500 >= 0.2", "n_dead_tup 100 >= 50"]
    assert planned["diff"]["before"] == {"tables_needing_vacuum": [f"fleet.{name}" for name in DIRTY]}
    stats = db.table_stats("fleet")
    assert all(row["vacuum_count"] == 0 and row["last_vacuum"] is None for row in stats.values()), "check mode vacuumed"
    assert all(stats[name]["dead"] == 100 for name in DIRTY)

    done = db.run(**options)
    assert done.changed
    assert [(t["name"], t["status"]) for t in done["tables"]] == [(f"fleet.{name}", "done") for name in DIRTY]
    assert done["counts"] == {"candidates": 200, "chosen": 5, "done": 5}
    wait_until(lambda: all(db.table_stats("fleet")[name]["vacuum_count"] == 1 for name in DIRTY),
               "the vacuum of the dirty tables to show in pg_stat_user_tables")
    stats = db.table_stats("fleet")
    vacuumed = sorted(name for name, row in stats.items() if row["vacuum_count"] > 0)
    assert vacuumed == DIRTY
    assert all(stats[name]["dead"] == 0 and stats[name]["analyze_count"] == 1 for name in DIRTY)

    assert db.run(check=True, **options).changed is False
    again = db.run(**options)
    assert again.changed is False and again["tables"] == [] and again["statements"] == []
    assert {name: row["vacuum_count"] for name, row in db.table_stats("fleet").items()} == {
        name: row["vacuum_count"] for name, row in stats.items()}


def test_vacuum_without_thresholds_covers_every_table_of_the_schema(db):
    create_tables(db, "small", 3, 10)
    result = db.run(operation="vacuum", schemas=["small"], analyze=False, freeze=True)
    assert result.changed
    assert result["statements"] == [f'VACUUM (FREEZE) "small"."t00{i}"' for i in range(3)]
    wait_until(lambda: all(row["vacuum_count"] == 1 and row["analyze_count"] == 0
                           for row in db.table_stats("small").values()), "three vacuums without analyze")


def test_analyze_by_modifications_since_last_analyze(db):
    create_tables(db, "churn", 3, 100)
    db.execute("ANALYZE churn.t000; ANALYZE churn.t001; ANALYZE churn.t002; UPDATE churn.t001 SET payload = 'x'")
    wait_until(lambda: db.query("SELECT n_mod_since_analyze FROM pg_stat_user_tables "
                                "WHERE relid = 'churn.t001'::regclass")[0][0] == 100, "modifications to be counted")
    options = {"operation": "analyze", "schemas": ["churn"], "thresholds": {"min_modified_since_analyze": 50}}
    result = db.run(**options)
    assert [(t["name"], t["reasons"]) for t in result["tables"]] == [("churn.t001", ["n_mod_since_analyze 100 >= 50"])]
    wait_until(lambda: db.table_stats("churn")["t001"]["analyze_count"] == 2, "the second analyze of churn.t001")
    assert db.table_stats("churn")["t000"]["analyze_count"] == 1
    assert db.run(**options).changed is False


def test_locked_table_is_reported_instead_of_waited_for(db):
    create_tables(db, "busy", 2, 10)
    holder = db.connect(autocommit=False)
    try:
        holder.cursor().execute("LOCK TABLE busy.t000 IN ACCESS EXCLUSIVE MODE")
        options = {"operation": "vacuum", "tables": ["busy.t000", "busy.t001"], "lock_timeout": "200ms"}
        result = db.run(**options)
        assert not result.failed
        assert [(t["name"], t["status"]) for t in result["tables"]] == [("busy.t000", "lock_timeout"), ("busy.t001", "done")]
        assert "Could not lock 1 of 2 tables within lock_timeout 200ms: busy.t000." in result.get("warnings", [])

        skipped = db.run(operation="vacuum", tables=["busy.t000"], skip_locked=True)
        assert skipped["tables"][0]["status"] == "skipped"
        assert "lock not available" in skipped["tables"][0]["detail"]

        # With lock_timeout off, statement_timeout is what stops the wait.
        timed_out = db.run(operation="vacuum", tables=["busy.t000"], lock_timeout="0", statement_timeout="300ms")
        assert timed_out["tables"][0]["status"] == "statement_timeout"
        assert timed_out["tables"][0]["detail"] == "canceling statement due to statement timeout"

        strict = db.run(fail_on_lock_timeout=True, **options)
        assert strict.failed
        assert strict["msg"] == "Could not lock 1 of 2 tables within lock_timeout 200ms: busy.t000."
    finally:
        holder.rollback()
        holder.close()
    assert db.table_stats("busy")["t000"]["vacuum_count"] == 0


def session_rows(db, application):
    return {row[0]: row[1] for row in db.query(
        "SELECT pid, state FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
        (application,))}


def test_idle_sessions_are_terminated_and_active_ones_survive(db):
    application = "pg_vacuum-idle-test"
    idle = [db.connect(application_name=application) for _number in range(3)]
    in_transaction = db.connect(autocommit=False, application_name=application)
    in_transaction.cursor().execute("SELECT 1")
    active = db.connect(application_name=application)
    active_pid = active.get_backend_pid()
    sleeper = threading.Thread(target=lambda: _sleep_until_cancelled(active), daemon=True)
    sleeper.start()
    idle_pids = sorted([conn.get_backend_pid() for conn in idle] + [in_transaction.get_backend_pid()])
    try:
        wait_until(lambda: session_rows(db, application).get(active_pid) == "active", "the pg_sleep session to be active")
        wait_until(lambda: db.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                                    "AND now() - state_change >= interval '1 second' AND state LIKE 'idle%%'",
                                    (application,))[0][0] == 4, "the idle sessions to be a second old")
        options = {"operation": "terminate_sessions", "idle_older_than": "1s", "application_names": [application],
                   "session_databases": [db.name]}

        planned = db.run(check=True, diff=True, **options)
        assert planned.changed
        assert sorted(s["pid"] for s in planned["sessions"]) == idle_pids
        assert {s["status"] for s in planned["sessions"]} == {"planned"}
        assert len(planned["diff"]["before"]["sessions"]) == 4 and planned["diff"]["after"]["sessions"] == []
        assert sorted(session_rows(db, application)) == sorted(idle_pids + [active_pid]), "check mode ended sessions"

        done = db.run(**options)
        assert done.changed
        assert sorted((s["pid"], s["state"], s["status"]) for s in done["sessions"]) == sorted(
            [(pid, "idle", "terminated") for pid in idle_pids if pid != in_transaction.get_backend_pid()]
            + [(in_transaction.get_backend_pid(), "idle in transaction", "terminated")])
        assert all(s["user"] == db.server["user"] and s["application_name"] == application for s in done["sessions"])
        wait_until(lambda: list(session_rows(db, application)) == [active_pid], "only the active session to remain")
        assert session_rows(db, application)[active_pid] == "active"
        with pytest.raises(psycopg2.OperationalError):
            idle[0].cursor().execute("SELECT 1")

        assert db.run(**options).changed is False
    finally:
        active.cancel()
        sleeper.join(timeout=30)
        for conn in idle + [in_transaction, active]:
            conn.close()


def _sleep_until_cancelled(conn):
    try:
        conn.cursor().execute("SELECT pg_sleep(300)")
    except psycopg2.Error:
        pass  # cancelled by the test's clean-up


def test_terminate_never_ends_its_own_session(db):
    # The module's own connection is the only active 'sre.runbooks' session in this database.
    result = db.run(operation="terminate_sessions", session_states=["active"], idle_older_than="0s",
                    application_names=["sre.runbooks"], session_databases=[db.name])
    assert not result.failed
    assert result["sessions"] == [] and result.changed is False


def index_filenodes(db, schema):
    return dict(db.query("SELECT c.relname, pg_relation_filenode(c.oid) FROM pg_class c JOIN pg_namespace n "
                         "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'i'", (schema,)))


def test_reindex_concurrently_rebuilds_the_index(db):
    db.execute("CREATE SCHEMA idx; CREATE TABLE idx.items (id int PRIMARY KEY, value int);"
               "INSERT INTO idx.items SELECT g, g % 100 FROM generate_series(1, 20000) g;"
               "CREATE INDEX items_value_idx ON idx.items (value);"
               "UPDATE idx.items SET value = value + 1")  # leaves dead index entries behind
    before = index_filenodes(db, "idx")
    options = {"operation": "reindex", "reindex_scope": "index", "names": ["idx.items_value_idx"], "concurrently": True}

    planned = db.run(check=True, **options)
    assert planned.changed
    assert planned["statements"] == ['REINDEX INDEX CONCURRENTLY "idx"."items_value_idx"']
    assert planned["indexes"][0]["bytes_after"] is None
    assert index_filenodes(db, "idx") == before, "check mode rebuilt an index"

    done = db.run(diff=True, **options)
    assert [(t["name"], t["status"]) for t in done["targets"]] == [("idx.items_value_idx", "done")]
    after = index_filenodes(db, "idx")
    assert set(after) == {"items_pkey", "items_value_idx"}, "REINDEX CONCURRENTLY left an index behind"
    assert after["items_value_idx"] != before["items_value_idx"]
    assert after["items_pkey"] == before["items_pkey"]
    valid = db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx.items_value_idx'::regclass")[0][0]
    assert valid is True
    index = done["indexes"][0]
    actual = db.query("SELECT pg_relation_size('idx.items_value_idx')")[0][0]
    assert index["bytes_after"] == actual and index["bytes_after"] < index["bytes_before"]
    assert done["diff"]["before"]["index_bytes"]["idx.items_value_idx"] == index["bytes_before"]

    table = db.run(operation="reindex", reindex_scope="table", names=["idx.items"])
    assert [i["index"] for i in table["indexes"]] == ["items_pkey", "items_value_idx"]
    rebuilt = index_filenodes(db, "idx")
    assert all(rebuilt[name] != after[name] for name in after)

    schema = db.run(operation="reindex", reindex_scope="schema", names=["idx"], concurrently=True)
    assert [(t["kind"], t["name"], t["status"]) for t in schema["targets"]] == [("schema", "idx", "done")]
    assert all(filenode != rebuilt[name] for name, filenode in index_filenodes(db, "idx").items())

    whole = db.run(check=True, operation="reindex", reindex_scope="database")
    assert whole["statements"] == [f'REINDEX DATABASE "{db.name}"']
    user_indexes = db.query("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'")
    assert len(whole["indexes"]) == user_indexes[0][0]


def test_report_matches_the_catalog(db):
    db.execute("CREATE SCHEMA rpt;"
               "CREATE TABLE rpt.big (id int PRIMARY KEY, body text); INSERT INTO rpt.big SELECT g, repeat('x', 200) "
               "FROM generate_series(1, 20000) g;"
               "CREATE TABLE rpt.medium (id int PRIMARY KEY, body text); INSERT INTO rpt.medium SELECT g, 'y' "
               "FROM generate_series(1, 5000) g;"
               "CREATE TABLE rpt.small (id int); INSERT INTO rpt.small VALUES (1);"
               "CREATE TABLE rpt.unanalyzed (id int);"
               "ANALYZE rpt.big; ANALYZE rpt.medium; ANALYZE rpt.small;"
               "DELETE FROM rpt.medium WHERE id <= 1000")
    wait_until(lambda: db.table_stats("rpt").get("medium", {}).get("dead") == 1000, "dead tuples in rpt.medium")
    result = db.run(operation="report", schemas=["rpt"], top_n=3, check=True)
    assert not result.failed and result.changed is False
    report = result["report"]

    catalog_sizes = db.query("SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                             "ON n.oid = c.relnamespace WHERE n.nspname = 'rpt' AND c.relkind = 'r' "
                             "ORDER BY 2 DESC, 1 LIMIT 3")
    assert [(t["table"], t["total_bytes"]) for t in report["table_sizes"]] == catalog_sizes
    assert [t["table"] for t in report["table_sizes"]] == ["big", "medium", "small"]

    catalog_indexes = db.query("SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                               "ON n.oid = c.relnamespace WHERE n.nspname = 'rpt' AND c.relkind = 'i' ORDER BY 2 DESC, 1")
    assert [(i["index"], i["bytes"]) for i in report["index_sizes"]] == catalog_indexes

    assert report["dead_tuples"][0]["table"] == "medium"
    assert report["dead_tuples"][0]["n_dead_tup"] == 1000
    assert report["dead_tuples"][0]["dead_tuple_ratio"] == pytest.approx(1000 / 5000, abs=0.01)

    assert all(t["last_vacuum"] is None for t in report["last_maintenance"])
    analyzed = {t["table"]: t["last_analyze"] for t in report["last_maintenance"]}
    assert all(analyzed[name] is not None for name in analyzed if name != "unanalyzed")

    assert {t["table"] for t in report["bloat"]["tables"]} <= {"big", "medium", "small"}
    assert {"schema": "rpt", "table": "unanalyzed"} in report["bloat"]["tables_without_statistics"]

    connections = report["connections"]
    assert connections["max_connections"] == int(db.query("SHOW max_connections")[0][0])
    assert connections["by_state"].get("active", 0) >= 1  # the module's own session
    assert connections["by_database"][db.name] >= 1
    assert connections["total"] == sum(connections["by_state"].values())

    assert report["slow_queries"]["available"] is False
    assert "not installed" in report["slow_queries"]["reason"]

    databases = {d["database"]: d["bytes"] for d in report["database_sizes"]}
    actual = dict(db.query("SELECT datname, pg_database_size(datname) FROM pg_database WHERE datallowconn"))
    assert set(databases) == set(actual)
    assert databases["template1"] == actual["template1"]
    sizes = [d["bytes"] for d in report["database_sizes"]]
    assert sizes == sorted(sizes, reverse=True)


def test_report_lists_slow_queries_when_pg_stat_statements_is_installed(db):
    # pg_stat_statements counts the whole cluster, so other statements compete for the top
    # places. Entries of databases dropped by earlier runs are cleared (nobody can read them
    # any more); a one-second sleep is slower than anything the live databases run.
    db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
               "SELECT pg_stat_statements_reset(0, s.dbid, 0) FROM (SELECT DISTINCT dbid FROM pg_stat_statements "
               "WHERE dbid NOT IN (SELECT oid FROM pg_database)) s;"
               "SELECT pg_sleep(1.0)")
    report = db.run(operation="report", top_n=10)["report"]
    slow = report["slow_queries"]
    assert slow["available"] is True and slow["reason"] is None
    assert 1 <= len(slow["queries"]) <= 10
    means = [q["mean_time_ms"] for q in slow["queries"]]
    assert means == sorted(means, reverse=True)
    sleeps = [q for q in slow["queries"] if "pg_sleep" in q["query"] and q["database"] == db.name]
    assert sleeps and sleeps[0]["mean_time_ms"] >= 1000 and sleeps[0]["user"] == db.server["user"]
    calls = dict(db.query("SELECT queryid, calls FROM pg_stat_statements"))
    assert all(q["queryid"] in calls and q["calls"] <= calls[q["queryid"]] for q in slow["queries"])


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BAD_INPUTS = [
    ({"operation": "vacuum", "tables": ["no_such_table"]}, 'Table "no_such_table" does not exist in database "{db}".'),
    ({"operation": "vacuum", "schemas": ["no_such_schema"]}, 'Schema "no_such_schema" does not exist in database "{db}".'),
    ({"operation": "vacuum", "lock_timeout": "soon"},
     "Invalid lock_timeout 'soon': use a number with a unit, for example 90s, 30m, 1h, 7d, '1 hour' or 00:05:00."),
    ({"operation": "vacuum", "thresholds": {"dead_tuple_ratio": 2}},
     "thresholds.dead_tuple_ratio must be between 0 and 1, got 2.0."),
    ({"operation": "vacuum", "full": True, "parallel": 2},
     "Options full and parallel cannot be combined: PostgreSQL runs VACUUM FULL without parallel workers."),
    ({"operation": "report", "names": ["x"]}, "Option names applies only to operation=reindex, not operation=report."),
    ({"operation": "reindex", "reindex_scope": "index", "names": ["no_such_index"]},
     'Index "no_such_index" does not exist in database "{db}".'),
    ({"operation": "reindex", "reindex_scope": "database", "names": ["other"]},
     'reindex_scope=database rebuilds the connected database "{db}", not "other"; set the database option to "other".'),
    ({"operation": "report", "port": "{closed_port}"},
     "Cannot connect to PostgreSQL at 127.0.0.1:{closed_port} as postgres: connection refused."),
    ({"operation": "report", "password": "wrong"},
     "Cannot connect to PostgreSQL at 127.0.0.1:{port} as postgres: password authentication failed."),
    ({"operation": "report", "database": "no_such_db"},
     'Cannot connect to PostgreSQL at 127.0.0.1:{port} as postgres: database "no_such_db" does not exist.'),
]


@pytest.mark.parametrize("options, message", BAD_INPUTS, ids=[m[:40] for _o, m in BAD_INPUTS])
def test_bad_input_fails_with_one_clear_sentence(db, options, message):
    port = closed_port()
    values = {"db": db.name, "closed_port": port, "port": db.server["port"]}
    options = {key: (value.format(**values) if isinstance(value, str) else value) for key, value in options.items()}
    if "port" in options:
        options["port"] = int(options["port"])
    result = db.run(**options)
    assert result.failed
    assert result["msg"] == message.format(**values)
    assert "Traceback" not in result.output
