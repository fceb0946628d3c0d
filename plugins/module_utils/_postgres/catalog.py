# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Catalog and statistics reads behind pg_vacuum's decisions: schemas, tables, indexes, sessions.

Rows come back as plain dicts with JSON-friendly values (timestamps as ISO 8601 strings);
ages are computed on the server's clock so a skewed controller clock cannot change a decision.
"""

from __future__ import annotations

import datetime
import decimal

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import fetch_dicts

# Schemas that hold no user data, plus other sessions' temporary schemas (not ours to vacuum).
USER_SCHEMA_FILTER = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'"
)

KNOWN_SCHEMAS_SQL = f"SELECT n.nspname AS schema FROM pg_namespace n WHERE {USER_SCHEMA_FILTER} ORDER BY 1"

TABLES_SQL = f"""
SELECT n.nspname AS schema, c.relname AS "table", c.relkind,
       s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
       s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
       EXTRACT(EPOCH FROM now() - GREATEST(s.last_vacuum, s.last_autovacuum))::float8 AS last_vacuum_age_s,
       EXTRACT(EPOCH FROM now() - GREATEST(s.last_analyze, s.last_autoanalyze))::float8 AS last_analyze_age_s
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'm', 'p') AND {USER_SCHEMA_FILTER}
ORDER BY 1, 2
"""

INDEXES_SQL = f"""
SELECT n.nspname AS schema, ic.relname AS "index", tc.relname AS "table",
       pg_relation_size(ic.oid) AS bytes, i.indisvalid AS valid
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE {USER_SCHEMA_FILTER}
ORDER BY 1, 3, 2
"""

# Client sessions only: autovacuum workers, WAL senders and the like are never candidates.
SESSIONS_SQL = """
SELECT a.pid, a.usename AS "user", a.application_name, a.datname AS database, a.state, a.backend_type,
       host(a.client_addr) AS client_addr, a.backend_start, a.state_change,
       EXTRACT(EPOCH FROM now() - a.state_change)::float8 AS state_age_s,
       COALESCE(r.rolsuper, false) AS superuser,
       COALESCE(pg_has_role(r.oid, 'USAGE'), false) AS own_role
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.backend_type = 'client backend'
ORDER BY a.pid
"""


def jsonable(value):
    """A value psycopg2 returned, made safe for module JSON output."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


def jsonable_rows(rows, keep_raw=()):
    """Rows with every value made JSON-friendly, except the keys in ``keep_raw``."""
    return [{key: (value if key in keep_raw else jsonable(value)) for key, value in row.items()} for row in rows]


def known_schemas(cursor):
    return [row["schema"] for row in fetch_dicts(cursor, KNOWN_SCHEMAS_SQL)]


def tables(cursor):
    """Every user table, materialized view and partitioned table with its statistics."""
    return jsonable_rows(fetch_dicts(cursor, TABLES_SQL))


def indexes(cursor):
    """Every user index with its table and on-disk size."""
    return jsonable_rows(fetch_dicts(cursor, INDEXES_SQL))


def sessions(cursor):
    """Client sessions from pg_stat_activity; ``state_change`` stays a datetime so a termination
    can check the session is still in the same idle spell."""
    return jsonable_rows(fetch_dicts(cursor, SESSIONS_SQL), keep_raw=("state_change",))


def signal_rights(cursor):
    """(superuser, has pg_signal_backend) of the connected role: who it may terminate."""
    cursor.execute("SELECT current_setting('is_superuser') = 'on', pg_has_role('pg_signal_backend', 'USAGE')")
    return tuple(cursor.fetchone())


def own_pid(cursor):
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


def current_database(cursor):
    cursor.execute("SELECT current_database()")
    return cursor.fetchone()[0]
