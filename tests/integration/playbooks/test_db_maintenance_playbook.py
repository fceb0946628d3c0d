"""playbooks/db_maintenance.yml with inventories/local against the harness PostgreSQL.

Check mode first (vacuum counters, statistics and idle sessions on the server must not
change), then the real run, then a second run that reports no change. The server's own
catalog views are the proof.
"""

from __future__ import annotations

from contextlib import closing

import psycopg2
import pytest

from tests.integration.playbooks.pg_playbook import Playbooks, Postgres, unique

pytestmark = pytest.mark.slow


def _vacuumed(pg: Postgres, database: str) -> list[str]:
    rows = pg.execute(database, "SELECT relname FROM pg_stat_user_tables WHERE vacuum_count > 0 ORDER BY relname")
    return [row[0] for row in rows]


@pytest.fixture
def bloated(services):
    pg = Postgres(services)
    database = unique("dbm")
    pg.execute("postgres", f'CREATE DATABASE "{database}"')
    pg.execute(database, "".join(
        f"CREATE TABLE public.t{n} (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = off); "
        f"INSERT INTO public.t{n} SELECT g, md5(g::text) FROM generate_series(1, 3000) g; " for n in range(1, 6))
        + "DELETE FROM public.t2 WHERE id % 2 = 0; DELETE FROM public.t4 WHERE id % 2 = 0; "
        "SELECT pg_stat_force_next_flush();")
    yield pg, database
    pg.drop(database)


def test_db_maintenance_check_then_apply_then_idempotent(services, tmp_path, bloated):
    pg, database = bloated
    application = unique("idle_app")
    info = services["postgres"]
    idle = psycopg2.connect(host=info["host"], port=info["port"], user=info["user"], password=info["password"],
                            dbname=database, application_name=application)
    book = Playbooks(services, tmp_path)
    extra = {"db_maintenance_database": database, "db_maintenance_idle_older_than": "0s",
             "db_maintenance_vacuum_thresholds": {"dead_tuple_ratio": 0.2, "min_dead_tuples": 500}}
    with closing(idle):
        checked = book.run("db_maintenance.yml", extra, check=True)
        assert checked.changed > 0, "check mode should report the changes it would make"
        assert _vacuumed(pg, database) == []
        assert pg.execute("postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                          (application,))[0][0] == 1, "check mode terminated a session"
        report = book.report("db_maintenance")
        assert report["check_mode"] and {t["name"] for t in report["vacuumed"]} == {"public.t2", "public.t4"}

        applied = book.run("db_maintenance.yml", extra)
        assert applied.changed > 0
        assert _vacuumed(pg, database) == ["t2", "t4"]
        assert pg.execute("postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                          (application,))[0][0] == 0, "the idle session survived"

    second = book.run("db_maintenance.yml", extra)
    assert second.changed == 0
