"""Least privilege, as managed services impose it: the shipped grants, loaded exactly as shipped.

``restricted_pg`` is a fresh database, owned by a fresh application role that owns its tables,
plus a fresh login role made by running docs/permissions/postgres.sql through psql as the
harness superuser. ``acl_redis`` loads docs/permissions/redis.acl's user line with ACL SETUSER,
into the harness Redis or into a private one started with CONFIG/BGSAVE/SAVE renamed away (as
ElastiCache does). Everything is dropped when the test ends.
"""

from __future__ import annotations

import uuid

import psycopg2
import pytest
from psycopg2 import sql

from tests.integration.least_privilege.grants import RestrictedPostgres, acl_redis_server, apply_postgres_sql


@pytest.fixture
def restricted_pg(services):
    server = services["postgres"]
    suffix = uuid.uuid4().hex[:8]
    database, owner, role = f"lp_{suffix}", f"lp_owner_{suffix}", f"lp_runbooks_{suffix}"
    admin = psycopg2.connect(host=server["host"], port=server["port"], user=server["user"],
                             password=server["password"], dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
            cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner)))
        apply_postgres_sql(server, role, database, owner)
        yield RestrictedPostgres(server, database, owner, role)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            for name in (role, owner):
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
                cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture(params=["acl", "acl+renamed"])
def acl_redis(request, services):
    with acl_redis_server(services, request.param) as server:
        yield server


@pytest.fixture
def renamed_acl_redis(services):
    """As on ElastiCache: an ACL user, and CONFIG/BGSAVE/SAVE renamed away."""
    with acl_redis_server(services, "acl+renamed") as server:
        yield server
