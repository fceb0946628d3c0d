# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of every PostgreSQL module: exactly POSTGRES_COMMON_ARGS in module_utils/_postgres/connection.py."""

    DOCUMENTATION = r"""
options:
  host:
    description:
      - Host name or IP address of the PostgreSQL server.
      - A value starting with V(/) is the directory holding the server's unix socket.
      - If not set, the E(PGHOST) environment variable is used, then V(localhost).
    type: str
    default: localhost
  port:
    description:
      - TCP port of the server, or the port number in the unix socket's file name.
      - If not set, the E(PGPORT) environment variable is used, then V(5432).
    type: int
    default: 5432
  user:
    description:
      - Role to log in as.
      - If not set, the E(PGUSER) environment variable is used, then V(postgres).
    type: str
    default: postgres
  password:
    description:
      - Password of O(user).
      - If not set, the E(PGPASSWORD) environment variable is used. A C(~/.pgpass) file is honoured as well.
      - The password is handed to libpq inside the module process and never appears on a command line.
    type: str
  database:
    description:
      - Database to connect to; the module works on this database.
      - If not set, the E(PGDATABASE) environment variable is used, then V(postgres).
    type: str
    default: postgres
  sslmode:
    description:
      - libpq SSL mode for the connection.
      - If not set, the E(PGSSLMODE) environment variable is used, then V(prefer).
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ssl_rootcert:
    description:
      - CA certificate file used to check the server certificate with O(sslmode=verify-ca) or O(sslmode=verify-full).
      - If not set, the E(PGSSLROOTCERT) environment variable is used.
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection to be established.
      - If not set, the E(PGCONNECT_TIMEOUT) environment variable is used, then V(10).
    type: int
    default: 10
requirements:
  - psycopg2 (the C(psycopg2-binary) or C(psycopg2) Python package) on the host that runs the module
notes:
  - Connection failures (server unreachable, authentication refused, unknown database, timeout)
    end the task with one sentence naming the server, the user and the cause.
  - The module's session shows up in C(pg_stat_activity) with C(application_name) V(sre.runbooks).
"""

    # Where pg_backup and pg_restore find pg_dump, pg_restore and psql: bin_dir of PROGRAM_OPTIONS in module_utils/_backup/args.py.
    CLIENT_PROGRAMS = r"""
options:
  bin_dir:
    description:
      - Directory with C(pg_dump), C(pg_dumpall), C(pg_restore) and C(psql).
      - By default the module looks in C(/usr/lib/postgresql/*/bin), C(/usr/pgsql-*/bin) and E(PATH) and takes the
        programs of the server's major version, else the nearest newer one.
    type: path
"""
