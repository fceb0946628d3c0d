"""Fixtures of the bad-input suite: traps on disk, fake servers, and real servers whose passwords are canaries."""

from __future__ import annotations

import sys
import uuid
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from tests.integration.badinput import hostile
from tests.integration.module_runner import COLLECTIONS, ensure_collection_link

# The test files import each module's argument spec from the collection.
ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
from tests.platform_sandbox.control import start_sandbox, stop_sandbox


@pytest.fixture(scope="module")
def traps(tmp_path_factory):
    """hostile.file_traps in a fresh folder, plus "root" (that folder)."""
    root = Path(tmp_path_factory.mktemp("badinput-traps"))
    return {**hostile.file_traps(root), "root": root}


@pytest.fixture(scope="module")
def fake():
    """Fake HTTP servers by answer name, and "blackhole" (accepts, never answers)."""
    with hostile.fake_servers() as servers:
        yield servers


class PgTarget:
    """A throwaway database owned by a superuser role whose password is a canary; ``keep_me`` must survive."""

    def __init__(self, server):
        self.server = server
        self.role = f"badinput_{uuid.uuid4().hex[:8]}"
        self.database = self.role
        self.password = hostile.canary("pg")

    def connect(self, dbname=None):
        conn = psycopg2.connect(host=self.server["host"], port=self.server["port"], user=self.server["user"],
                                password=self.server["password"], dbname=dbname or self.database)
        conn.autocommit = True
        return conn

    def args(self, **options):
        return {"host": self.server["host"], "port": self.server["port"], "user": self.role,
                "password": self.password, "database": self.database, "connect_timeout": 3, **options}

    def query(self, text):
        with closing(self.connect()) as conn, conn.cursor() as cursor:
            cursor.execute(text)
            return cursor.fetchall() if cursor.description else []

    def damage(self):
        """What changed that no case may change: the canary table and the role."""
        found = []
        if self.query("SELECT count(*) FROM public.keep_me") != [(3,)]:
            found.append("public.keep_me lost rows")
        if self.query(f"SELECT count(*) FROM pg_roles WHERE rolname = '{self.role}'") != [(1,)]:
            found.append("the role was dropped")
        return found


@pytest.fixture(scope="module")
def pg_target(services):
    target = PgTarget(services["postgres"])
    with closing(target.connect("postgres")) as admin, admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
            sql.Identifier(target.role), sql.Literal(target.password)))
        cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(target.database),
                                                                     sql.Identifier(target.role)))
    target.query("CREATE TABLE public.keep_me (id int); INSERT INTO public.keep_me VALUES (1), (2), (3);"
                 "CREATE TABLE public.t1 (id int); INSERT INTO public.t1 SELECT generate_series(1, 50)")
    try:
        yield target
    finally:
        with closing(target.connect("postgres")) as admin, admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.database)))
            cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(target.role)))


@pytest.fixture(scope="module")
def redis_target(tmp_path_factory):
    """A password-protected redis-server (the password is a canary): {"host", "port", "password", "dir"}."""
    with hostile.redis_with_password(Path(tmp_path_factory.mktemp("badinput-redis")), hostile.canary("redis")) as info:
        yield info


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The platform sandbox, its token a canary (experiments complete after one poll)."""
    sandbox = start_sandbox(Path(tmp_path_factory.mktemp("badinput-platform")), token=hostile.canary("platform"),
                            run_seconds=0.2)
    try:
        yield sandbox
    finally:
        stop_sandbox(sandbox)


@pytest.fixture(scope="module")
def kube(traps):
    """Bad kubeconfig files by name (hostile.KUBECONFIG_TEXTS, "refused", "blackhole") plus the black hole itself."""
    blackhole = hostile.BlackHole()
    paths = hostile.write_kubeconfigs(traps["root"] / "kube", blackhole.url,
                                      f"http://127.0.0.1:{hostile.closed_port()}", hostile.canary("kube-token"))
    try:
        yield {**paths, "blackhole_server": blackhole, "missing": str(traps["root"] / "kube" / "none.yaml")}
    finally:
        blackhole.close()
