from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    POSTGRES_COMMON_ARGS,
    connection_kwargs,
    describe_connect_error,
    first_line,
    libpq_env,
    server_address,
)

PARAMS = {"host": "127.0.0.1", "port": 5999, "user": "postgres", "password": "s3cret", "database": "app",
          "sslmode": "prefer", "ssl_rootcert": None, "connect_timeout": 3}


@pytest.mark.parametrize("libpq_message, cause", [
    ('connection to server at "127.0.0.1", port 5999 failed: Connection refused\n\tIs the server running on that host '
     "and accepting TCP/IP connections?\n", "connection refused"),
    ('connection to server at "127.0.0.1", port 5999 failed: FATAL:  password authentication failed for user '
     '"postgres"\n', "password authentication failed"),
    ('connection to server at "127.0.0.1", port 5999 failed: FATAL:  database "nope" does not exist\n',
     'database "nope" does not exist'),
    ('connection to server at "127.0.0.1", port 5999 failed: timeout expired\n', "no answer within 3s (connect_timeout)"),
    ('connection to server at "127.0.0.1", port 5999 failed: fe_sendauth: no password supplied\n',
     "the server wants a password and none was given (set password or PGPASSWORD)"),
    ('connection to server at "127.0.0.1", port 5999 failed: FATAL:  role "bob" does not exist\n', 'role "bob" does not exist'),
    ('could not translate host name "db.invalid" to address: Name or service not known\n', "the host name does not resolve"),
    ('connection to server at "127.0.0.1", port 5999 failed: server does not support SSL, but SSL was required\n',
     "the server does not support SSL but sslmode=prefer requires it"),
    ('connection to server at "127.0.0.1", port 5999 failed: FATAL:  sorry, too many clients already\n',
     "the server has no free connection slots"),
    ('connection to server at "127.0.0.1", port 5999 failed: FATAL:  the database system is starting up\n',
     "the server is starting up"),
    ('connection to server at "127.0.0.1", port 5999 failed: FATAL:  something new\nDETAIL: more\n', "something new"),
])
def test_connect_errors_become_one_sentence(libpq_message, cause):
    message = describe_connect_error(PARAMS, libpq_message)
    assert message == f"Cannot connect to PostgreSQL at 127.0.0.1:5999 as postgres: {cause}."
    assert "\n" not in message


def test_socket_directory_is_named_as_such():
    params = dict(PARAMS, host="/run/postgresql")
    assert server_address(params) == "/run/postgresql (unix socket, port 5999)"
    assert describe_connect_error(params, 'connection to server on socket "/run/postgresql/.s.PGSQL.5999" failed: '
                                          "No such file or directory\n").endswith(": no server socket in that directory.")


@pytest.mark.parametrize("message, line", [
    ("ERROR:  relation \"x\" does not exist\nLINE 1: ...", 'relation "x" does not exist'),
    ("canceling statement due to lock timeout\n", "canceling statement due to lock timeout"),
    ("\n\n", "unknown error"),
])
def test_first_line(message, line):
    assert first_line(message) == line


def test_connection_kwargs_map_options_and_drop_unset_ones():
    assert connection_kwargs(PARAMS) == {"host": "127.0.0.1", "port": 5999, "user": "postgres", "password": "s3cret",
                                         "dbname": "app", "sslmode": "prefer", "connect_timeout": 3,
                                         "application_name": "sre.runbooks"}


def test_libpq_env_carries_the_password_for_subprocess_tools():
    assert libpq_env(dict(PARAMS, ssl_rootcert="/ca.pem"), application_name="sre.runbooks.pg_backup") == {
        "PGHOST": "127.0.0.1", "PGPORT": "5999", "PGUSER": "postgres", "PGPASSWORD": "s3cret", "PGDATABASE": "app",
        "PGSSLMODE": "prefer", "PGSSLROOTCERT": "/ca.pem", "PGCONNECT_TIMEOUT": "3",
        "PGAPPNAME": "sre.runbooks.pg_backup"}


def test_common_args_keep_the_password_out_of_logs_and_read_libpq_variables():
    assert POSTGRES_COMMON_ARGS["password"]["no_log"] is True
    fallbacks = {name: spec["fallback"][1][0] for name, spec in POSTGRES_COMMON_ARGS.items()}
    assert fallbacks == {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
                         "database": "PGDATABASE", "sslmode": "PGSSLMODE", "ssl_rootcert": "PGSSLROOTCERT",
                         "connect_timeout": "PGCONNECT_TIMEOUT"}
