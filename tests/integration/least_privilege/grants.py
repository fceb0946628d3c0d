"""The shipped grants (docs/permissions/), loaded exactly as shipped into the harness' servers.

``apply_postgres_sql`` runs docs/permissions/postgres.sql through psql as the harness superuser;
``acl_redis_server`` loads docs/permissions/redis.acl's user line with ACL SETUSER, into the
harness Redis or into a private one started with CONFIG/BGSAVE/SAVE renamed away (as ElastiCache
does). The fixtures using them are in conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import redis as redis_library
from psycopg2 import sql

from tests.harness.procs import stop_process_group

REPO = Path(__file__).resolve().parents[3]
POSTGRES_SQL = REPO / "docs" / "permissions" / "postgres.sql"
REDIS_ACL = REPO / "docs" / "permissions" / "redis.acl"
ROLE_PASSWORD = "least-privilege-" + uuid.uuid4().hex[:12]


class RestrictedPostgres:
    """A database, its owner role and the runbooks' role from postgres.sql."""

    def __init__(self, server, database, owner, role):
        self.server, self.database, self.owner, self.role = server, database, owner, role
        self.password = ROLE_PASSWORD

    def connect(self, user=None, password=None, database=None, application_name="least-privilege-tests"):
        conn = psycopg2.connect(host=self.server["host"], port=self.server["port"], user=user or self.server["user"],
                                password=password or self.server["password"], dbname=database or self.database,
                                application_name=application_name)
        conn.autocommit = True
        return conn

    def as_owner(self, statements):
        """Run SQL as the application's owner role (SET ROLE from the superuser), then flush statistics."""
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cursor:
            cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(self.owner)))
            cursor.execute(statements)
            cursor.execute("SELECT pg_stat_force_next_flush()")

    def query(self, text, args=None, database=None):
        with contextlib.closing(self.connect(database=database)) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(text, args)
            return cursor.fetchall()

    def module_args(self, **options):
        """Connection as the restricted role (its password comes from PGPASSWORD, see ``env``)."""
        return {"host": self.server["host"], "port": self.server["port"], "user": self.role,
                "database": self.database, "sslmode": "disable", **options}

    @property
    def env(self):
        return {"PGPASSWORD": self.password}


def apply_postgres_sql(server, role, database, owner):
    """docs/permissions/postgres.sql through psql as the harness superuser, as docs/permissions.md says."""
    psql = os.path.join(server["bin_dir"], "psql")
    command = [psql, "-X", "-q", "-h", server["host"], "-p", str(server["port"]), "-U", server["user"], "-d", database,
               "-v", "ON_ERROR_STOP=1", "-v", f"role={role}", "-v", f"password={ROLE_PASSWORD}",
               "-v", f"database={database}", "-v", f"table_owner={owner}", "-f", str(POSTGRES_SQL)]
    proc = subprocess.run(command, env=dict(os.environ, PGPASSWORD=server["password"]), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- Redis --------------------------------------------------------------------------------------

def acl_rules(username, password):
    """The rules of the shipped ACL file's user line, for ACL SETUSER ``username`` (password filled in)."""
    lines = [line for line in REDIS_ACL.read_text().splitlines() if line.startswith("user ")]
    assert len(lines) == 1, "docs/permissions/redis.acl holds exactly one user line"
    words = shlex.split(lines[0])[2:]
    assert ">CHANGE_ME" in words
    return [f">{password}" if word == ">CHANGE_ME" else word for word in words]


class AclRedis:
    """A Redis server, with the ACL user from redis.acl, and an admin client to look at its state."""

    def __init__(self, host, port, username, password, renamed):
        self.host, self.port, self.username, self.password, self.renamed = host, port, username, password, renamed
        self.admin = redis_library.Redis(host=host, port=port, socket_timeout=10)

    def module_args(self, **options):
        return {"host": self.host, "port": self.port, "username": self.username, "password": self.password, **options}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def private_renamed_redis():
    """A Redis of our own with CONFIG, BGSAVE and SAVE renamed to nothing (as ElastiCache restricts them)."""
    directory = tempfile.mkdtemp(prefix="lp-redis-")
    port = free_port()
    with open(os.path.join(directory, "server.log"), "wb") as log:
        proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", directory,
                                 "--save", "", "--appendonly", "no", "--rename-command", "CONFIG", "",
                                 "--rename-command", "BGSAVE", "", "--rename-command", "SAVE", ""],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        client = redis_library.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis_library.exceptions.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the private Redis on port {port} did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        stop_process_group(proc.pid)
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def acl_redis_server(services, kind):
    """The ACL user on the harness Redis (``kind`` "acl"), or on a private one with commands renamed ("acl+renamed")."""
    username = "lp_runbooks_" + uuid.uuid4().hex[:8]
    password = uuid.uuid4().hex
    with contextlib.ExitStack() as stack:
        if kind == "acl+renamed":
            host, port = "127.0.0.1", stack.enter_context(private_renamed_redis())
        else:
            host, port = services["redis"]["host"], int(services["redis"]["port"])
        server = AclRedis(host, port, username, password, renamed=kind == "acl+renamed")
        server.admin.execute_command("ACL", "SETUSER", username, *acl_rules(username, password))
        stack.callback(server.admin.execute_command, "ACL", "DELUSER", username)
        yield server
