"""The weekly maintenance's PostgreSQL parts and the daily health check's PostgreSQL check, as a role
made by exactly docs/permissions/postgres.sql: no superuser, as on RDS or Cloud SQL.

Each test gets a fresh database, owner role and runbooks role (conftest.restricted_pg) and judges
by the server's own views, not only by what the modules returned.
"""

from __future__ import annotations

import gzip
import json

import psycopg2

from tests.harness.services import service_env
from tests.integration.ansible_run import run_playbook
from tests.integration.least_privilege.grants import acl_redis_server, apply_postgres_sql
from tests.integration.module_batch import run_module_batch
from tests.integration.waiting import wait_until

VACUUM = "sre.runbooks.pg_vacuum"
BACKUP = "sre.runbooks.pg_backup"
HOST_DB = "platform-db"


def seed(db, dead=True):
    """Two tables owned by the application's role; ``dead`` leaves half of app.orders' rows dead."""
    db.as_owner("""
        CREATE SCHEMA app;
        CREATE TABLE app.orders (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false);
        CREATE TABLE app.customers (id int PRIMARY KEY, name text) WITH (autovacuum_enabled = false);
        INSERT INTO app.orders SELECT g, md5(g::text) FROM generate_series(1, 4000) g;
        INSERT INTO app.customers SELECT g, 'c' || g FROM generate_series(1, 300) g;
    """ + ("DELETE FROM app.orders WHERE id % 2 = 0;" if dead else ""))
    if dead:
        wait_until(lambda: stats(db)["orders"]["dead"] == 2000, "dead tuples of app.orders to be counted")


def stats(db):
    rows = db.query("SELECT relname, n_dead_tup, vacuum_count, analyze_count FROM pg_stat_user_tables "
                    "WHERE schemaname = 'app'")
    return {r[0]: {"dead": r[1], "vacuum_count": r[2], "analyze_count": r[3]} for r in rows}


def test_the_shipped_sql_grants_only_what_is_documented(restricted_pg):
    db = restricted_pg
    rows = db.query("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin "
                    "FROM pg_roles WHERE rolname = %s", (db.role,))
    assert rows == [(False, False, False, False, False, True)]
    granted = {r[0] for r in db.query("SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
                                      "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s", (db.role,))}
    assert granted == {"pg_monitor", "pg_read_all_stats", "pg_signal_backend", db.owner}
    # Its own privilege on the database is CONNECT alone (the rest comes with the owner role's membership).
    acl = db.query("SELECT a.privilege_type FROM pg_database d, aclexplode(d.datacl) a JOIN pg_roles r "
                   "ON r.oid = a.grantee WHERE d.datname = %s AND r.rolname = %s", (db.database, db.role))
    assert acl == [("CONNECT",)]
    # Applying it again (a re-run by an operator) does not fail.
    apply_postgres_sql(db.server, db.role, db.database, db.owner)


def test_vacuum_analyze_report_and_idle_sessions_as_the_role(restricted_pg):
    db = restricted_pg
    seed(db)
    # Two idle sessions: one of a non-superuser role (ours to end, pg_signal_backend) and one of
    # the superuser (never ours to end without superuser: skipped with a warning, still alive).
    owner_login = db.connect(application_name="lp-idle-super")  # the superuser
    app_session = psycopg2.connect(host=db.server["host"], port=db.server["port"], user=db.role, password=db.password,
                                   dbname=db.database, application_name="lp-idle-role")
    app_session.autocommit = True
    try:
        with owner_login.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            super_pid = cursor.fetchone()[0]
        with app_session.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            role_pid = cursor.fetchone()[0]
        vacuum = db.module_args(operation="vacuum", schemas=["app"], thresholds={"dead_tuple_ratio": 0.2,
                                                                                 "min_dead_tuples": 100})
        analyze = db.module_args(operation="analyze", schemas=["app"], thresholds={"last_analyze_older_than": "1h"})
        sessions = db.module_args(operation="terminate_sessions", idle_older_than="0s", session_states=["idle"],
                                  application_names=["lp-idle-super", "lp-idle-role"])
        results = run_module_batch(VACUUM, [
            {"args": vacuum, "check": True}, {"args": vacuum}, {"args": vacuum},
            {"args": analyze}, {"args": db.module_args(operation="report", top_n=5)},
            {"args": sessions, "check": True}, {"args": sessions},
        ], env=db.env)
        for result in results:
            assert not result.failed and "Traceback" not in result.output, result.get("msg")
        planned, done, again, analyzed, report, sessions_planned, sessions_done = results

        assert [t["name"] for t in planned["tables"]] == ["app.orders"] and planned.changed
        assert [(t["name"], t["status"]) for t in done["tables"]] == [("app.orders", "done")]
        assert again["tables"] == [] and not again.changed
        assert {t["status"] for t in analyzed["tables"]} == {"done"}
        assert report["report"]["slow_queries"]["available"] is True  # pg_read_all_stats: every role's statements
        assert {t["table"] for t in report["report"]["dead_tuples"]} == {"orders", "customers"}

        by_pid = {s["pid"]: s for s in sessions_planned["sessions"]}
        assert by_pid[super_pid]["status"] == "permission_denied" and by_pid[role_pid]["status"] == "planned"
        by_pid = {s["pid"]: s for s in sessions_done["sessions"]}
        assert by_pid[super_pid]["status"] == "permission_denied"
        assert by_pid[super_pid]["detail"] == "only a superuser may terminate a superuser's session"
        assert by_pid[role_pid]["status"] == "terminated"
        assert any("only a superuser may terminate a superuser's session" in w for w in sessions_done["warnings"])

        # The server's view: vacuumed and analyzed, the role's session gone, the superuser's alive.
        wait_until(lambda: stats(db)["orders"]["vacuum_count"] == 1 and stats(db)["orders"]["dead"] == 0,
                   "the VACUUM to show in pg_stat_user_tables")
        assert stats(db)["customers"]["analyze_count"] >= 1
        alive = {r[0] for r in db.query("SELECT pid FROM pg_stat_activity WHERE pid IN (%s, %s)", (super_pid, role_pid))}
        assert alive == {super_pid}
    finally:
        owner_login.close()
        app_session.close()


def test_backups_as_the_role_leave_out_role_passwords(restricted_pg, tmp_path):
    db = restricted_pg
    seed(db, dead=False)
    globals_args = db.module_args(dest=str(tmp_path), scope="globals")
    full_args = db.module_args(dest=str(tmp_path))  # verify=archive, db_backup's default (restore needs CREATEDB)
    checked, globals_backup, full = run_module_batch(BACKUP, [{"args": globals_args, "check": True},
                                                              {"args": globals_args}, {"args": full_args}], env=db.env)
    for result in (checked, globals_backup, full):
        assert not result.failed and "Traceback" not in result.output, result.get("msg")
    assert any("--no-role-passwords" in w for w in globals_backup["warnings"])
    assert globals_backup["commands"][0].endswith("--no-role-passwords")
    dump = gzip.decompress((tmp_path / globals_backup["backups"][0]["file"]).read_bytes()).decode()
    assert f"CREATE ROLE {db.role};" in dump and "PASSWORD '" not in dump  # roles, no password hashes
    backup = full["backups"][0]
    assert backup["row_counts"] == {"app.orders": 4000, "app.customers": 300}
    assert backup["verification"]["status"] == "passed" and backup["verification"]["level"] == "archive"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(
        [globals_backup["backups"][0]["file"], globals_backup["backups"][0]["name"] + ".manifest.json",
         backup["file"], backup["name"] + ".manifest.json"])
    manifest = json.loads((tmp_path / f"{backup['name']}.manifest.json").read_text())
    assert manifest["sha256"] == backup["sha256"]


def playbook_env(services, db, tmp_path):
    """inventories/local as an operator would point it at the restricted role: PGUSER and PGPASSWORD."""
    return dict(service_env(services), PGUSER=db.role, PGPASSWORD=db.password, SRE_REPORT_DIR=str(tmp_path / "reports"),
                SRE_BACKUP_DIR=str(tmp_path / "backups"))


def test_db_maintenance_playbook_as_the_role(services, restricted_pg, tmp_path):
    db = restricted_pg
    seed(db)
    extra = {"db_maintenance_database": db.database, "db_maintenance_vacuum_thresholds": {"dead_tuple_ratio": 0.2,
                                                                                          "min_dead_tuples": 100},
             "db_maintenance_audit_table": ""}
    proc = run_playbook("playbooks/db_maintenance.yml", extra, env=playbook_env(services, db, tmp_path))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "failed=0" in proc.stdout, output[-6000:]
    report = json.loads((tmp_path / "reports" / f"db_maintenance-{HOST_DB}.json").read_text())
    assert "app.orders" in json.dumps(report)
    wait_until(lambda: stats(db)["orders"]["vacuum_count"] == 1, "the playbook's VACUUM to show")


def test_daily_health_check_as_the_restricted_role_and_acl_user(services, restricted_pg, tmp_path):
    """H4 (PostgreSQL) as the postgres.sql role and H5 (Redis) as the redis.acl user, in one run."""
    db = restricted_pg
    with acl_redis_server(services, "acl") as redis_server:
        extra = {"health_check_checks": ["postgres", "redis"], "health_check_postgres_database": db.database,
                 "health_check_redis_username": redis_server.username,
                 "health_check_redis_password": redis_server.password}
        proc = run_playbook("playbooks/daily_health_check.yml", extra, env=playbook_env(services, db, tmp_path))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert db.password not in output and redis_server.password not in output
    report = json.loads((tmp_path / "reports" / "health_check-platform-cluster.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["H4"]["status"] == "ok" and checks["H5"]["status"] == "ok", checks
