# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""PostgreSQL connection plumbing shared by every sre.runbooks PostgreSQL module.

``POSTGRES_COMMON_ARGS`` is documented, option for option, by the ``sre.runbooks.postgres``
doc fragment. Modules merge it into their own spec and call :func:`connect`; subprocess
tools (pg_dump, pg_restore, psql) get the same settings through :func:`libpq_env`, so a
password never appears on a command line.
"""

from __future__ import annotations

import re
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.sre.runbooks.plugins.module_utils._common.errors import first_line as _first_line
from ansible_collections.sre.runbooks.plugins.module_utils._common.errors import matching_cause

try:
    import psycopg2
    import psycopg2.errors
except ImportError:
    psycopg2 = None
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()
else:
    PSYCOPG2_IMPORT_ERROR = None


class _Psycopg2Missing(Exception):
    """Stands in for psycopg2.Error when psycopg2 is absent, so ``except DatabaseError`` still parses."""


# Catch this, not psycopg2.Error, in code that must import without psycopg2 installed.
DatabaseError = psycopg2.Error if psycopg2 is not None else _Psycopg2Missing

APPLICATION_NAME = "sre.runbooks"
SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

POSTGRES_COMMON_ARGS = {
    "host": {"type": "str", "default": "localhost", "fallback": (env_fallback, ["PGHOST"])},
    "port": {"type": "int", "default": 5432, "fallback": (env_fallback, ["PGPORT"])},
    "user": {"type": "str", "default": "postgres", "fallback": (env_fallback, ["PGUSER"])},
    "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PGPASSWORD"])},
    "database": {"type": "str", "default": "postgres", "fallback": (env_fallback, ["PGDATABASE"])},
    "sslmode": {"type": "str", "default": "prefer", "choices": SSL_MODES, "fallback": (env_fallback, ["PGSSLMODE"])},
    "ssl_rootcert": {"type": "path", "fallback": (env_fallback, ["PGSSLROOTCERT"])},
    "connect_timeout": {"type": "int", "default": 10, "fallback": (env_fallback, ["PGCONNECT_TIMEOUT"])},
}

# Passed to RunbookModule(ranges=...) by every PostgreSQL module.
POSTGRES_RANGES = {"port": (1, 65535), "connect_timeout": (0, 3600)}

# libpq's own words for a failure -> the cause in our one-sentence message. Checked in order.
_CAUSES = (
    (re.compile(r"password authentication failed"), "password authentication failed"),
    (re.compile(r"no password supplied"), "the server wants a password and none was given (set password or PGPASSWORD)"),
    (re.compile(r'database "([^"]+)" does not exist'), 'database "{0}" does not exist'),
    (re.compile(r'role "([^"]+)" does not exist'), 'role "{0}" does not exist'),
    (re.compile(r"no pg_hba\.conf entry"), "pg_hba.conf has no entry that allows this connection"),
    (re.compile(r"Connection refused"), "connection refused"),
    (re.compile(r"timeout expired"), "no answer within {timeout}s (connect_timeout)"),
    (re.compile(r"could not translate host name"), "the host name does not resolve"),
    (re.compile(r"No such file or directory"), "no server socket in that directory"),
    (re.compile(r"server does not support SSL"), "the server does not support SSL but sslmode={sslmode} requires it"),
    (re.compile(r"(too many clients|remaining connection slots are reserved)"), "the server has no free connection slots"),
    (re.compile(r"the database system is (starting up|shutting down|in recovery mode)"), "the server is {0}"),
    (re.compile(r"Network is unreachable|No route to host"), "the network is unreachable"),
)

# Prefixes libpq and the server put before what went wrong.
_NOISE = (r"^(connection to server .*? failed: )", r"^(FATAL|ERROR|WARNING):\s+")


class PostgresError(Exception):
    """An expected PostgreSQL failure; ``str()`` is one sentence fit for fail_json."""


def server_address(params):
    """Where we connect, as people write it: 'db1:5432', or the socket directory for a path."""
    host = params.get("host") or "localhost"
    if host.startswith("/"):
        return f"{host} (unix socket, port {params.get('port')})"
    return f"{host}:{params.get('port')}"


def first_line(message):
    """The first meaningful line of a libpq/server message, without 'FATAL:' noise."""
    return _first_line(message, _NOISE)


def describe_connect_error(params, message):
    """Turn a libpq connection error into one sentence naming the server, the user and the cause."""
    text = str(message)
    cause = matching_cause(text, _CAUSES, timeout=params.get("connect_timeout"), sslmode=params.get("sslmode")) or first_line(text)
    return f"Cannot connect to PostgreSQL at {server_address(params)} as {params.get('user')}: {cause}."


def connection_kwargs(params, application_name=APPLICATION_NAME):
    """psycopg2.connect() keyword arguments for the common options (None values left out)."""
    kwargs = {
        "host": params.get("host"),
        "port": params.get("port"),
        "user": params.get("user"),
        "password": params.get("password"),
        "dbname": params.get("database"),
        "sslmode": params.get("sslmode"),
        "sslrootcert": params.get("ssl_rootcert"),
        "connect_timeout": params.get("connect_timeout"),
        "application_name": application_name,
    }
    return {key: value for key, value in kwargs.items() if value not in (None, "")}


def libpq_env(params, application_name=APPLICATION_NAME):
    """Environment variables that give a libpq tool (pg_dump, psql) the same connection settings.

    Passing the password this way keeps it out of the process list, unlike a command line.
    """
    names = {
        "host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
        "database": "PGDATABASE", "sslmode": "PGSSLMODE", "ssl_rootcert": "PGSSLROOTCERT",
        "connect_timeout": "PGCONNECT_TIMEOUT",
    }
    env = {var: str(params[key]) for key, var in names.items() if params.get(key) not in (None, "")}
    env["PGAPPNAME"] = application_name
    return env


def ensure_psycopg2(module):
    """Fail the module with Ansible's standard message when psycopg2 is not importable."""
    if psycopg2 is None:
        module.fail_json(msg=missing_required_lib("psycopg2 (pip package psycopg2-binary or psycopg2)"),
                         exception=PSYCOPG2_IMPORT_ERROR)


def connect(module, autocommit=True, application_name=APPLICATION_NAME):
    """Open a psycopg2 connection from the module's common options, or fail_json in one sentence.

    Autocommit is the default because VACUUM, REINDEX CONCURRENTLY and friends refuse to run
    inside a transaction block, and read-only queries lose nothing by it.
    """
    ensure_psycopg2(module)
    try:
        conn = psycopg2.connect(**connection_kwargs(module.params, application_name))
    except psycopg2.Error as exc:
        module.fail_json(msg=describe_connect_error(module.params, exc))
    conn.autocommit = autocommit
    return conn


def server_version_text(conn):
    """'15.18' from the connection's numeric server version (150018)."""
    number = conn.server_version
    return f"{number // 10000}.{number % 10000}" if number >= 100000 else f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def is_superuser(conn):
    """True when the connected role is a superuser (the server's ``is_superuser`` setting).

    The server reports the setting at connection start; a connection that does not carry it is
    asked with ``current_setting('is_superuser')``. Managed services (RDS, Cloud SQL) never give one.
    """
    status = conn.get_parameter_status("is_superuser") if hasattr(conn, "get_parameter_status") else None
    if status is None:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_setting('is_superuser')")
            status = cursor.fetchone()[0]
    return status == "on"


def fetch_dicts(cursor, query, args=None):
    """Run ``query`` and return its rows as dicts keyed by column name."""
    cursor.execute(query, args if args is not None else ())
    columns = [column.name for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def set_timeouts(cursor, lock_timeout_ms=None, statement_timeout_ms=None):
    """Apply session-level lock and statement timeouts (milliseconds; None leaves the server's)."""
    for name, value in (("lock_timeout", lock_timeout_ms), ("statement_timeout", statement_timeout_ms)):
        if value is not None:
            cursor.execute("SELECT set_config(%s, %s, false)", (name, f"{int(value)}ms"))


def _is_error(exc, class_name):
    # psycopg2 raises a subclass per SQLSTATE (psycopg2.errors), which is what we match on.
    return psycopg2 is not None and isinstance(exc, getattr(psycopg2.errors, class_name))


def is_lock_timeout(exc):
    """True for PostgreSQL's lock_timeout (SQLSTATE 55P03 lock_not_available)."""
    return _is_error(exc, "LockNotAvailable")


def is_statement_timeout(exc):
    """True when a statement was cancelled (SQLSTATE 57014), as statement_timeout does."""
    return _is_error(exc, "QueryCanceled")


def is_permission_denied(exc):
    """True for SQLSTATE 42501 insufficient_privilege."""
    return _is_error(exc, "InsufficientPrivilege")
