# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A PostgreSQL role's password: does the role exist, set it, and can the role log in with a value.

Used by k8s_secret_rotate (C1) to rotate a password and the Secret that holds it together. Every
failure is a PostgresError whose ``str()`` is one sentence; the password never appears in one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    DatabaseError,
    PostgresError,
    connection_kwargs,
    describe_connect_error,
    psycopg2,
)

# libpq's words for a rejected password (scram-sha-256 and md5 alike).
_REJECTED = ("password authentication failed", "authentication failed for user")


def open_connection(params, user=None, password=None):
    """A psycopg2 connection (autocommit) from the postgres options, optionally as another user; PostgresError."""
    if psycopg2 is None:
        raise PostgresError("psycopg2 is required on the host that runs the module (pip install psycopg2-binary).")
    settings = dict(params, **({"user": user, "password": password} if user is not None else {}))
    try:
        conn = psycopg2.connect(**connection_kwargs(settings, "sre.runbooks secret rotation"))
    except DatabaseError as exc:
        raise PostgresError(describe_connect_error(settings, exc)) from None
    conn.autocommit = True
    return conn


def role_exists(conn, role):
    with conn.cursor() as cursor:
        cursor.execute("SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = %s", (role,))
        row = cursor.fetchone()
    if row is None:
        raise PostgresError(f"PostgreSQL role {role} does not exist.")
    if not row[0]:
        raise PostgresError(f"PostgreSQL role {role} cannot log in (NOLOGIN), so it has no password to rotate.")
    return True


def set_password(conn, role, value):
    """ALTER ROLE ... PASSWORD; the value is sent as a literal, never as part of an error sentence."""
    from psycopg2 import sql  # pylint: disable=import-outside-toplevel
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(role)), (value,))
    except DatabaseError as exc:
        reason = (str(getattr(exc, "pgerror", "") or "").strip().splitlines() or [type(exc).__name__])[0]
        raise PostgresError(f"Cannot set the password of PostgreSQL role {role}: "
                            f"{reason.replace('ERROR:', '').strip().rstrip('.')}.") from None


def login_works(params, role, value):
    """True when ``role`` logs in with ``value``, False when the password is rejected; PostgresError otherwise."""
    try:
        conn = open_connection(params, user=role, password=value)
    except PostgresError as exc:
        if any(words in str(exc) for words in _REJECTED):
            return False
        raise
    conn.close()
    return True
