# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The catalog queries pg_backup and pg_restore share: which tables a dump carries and how many rows they hold."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.catalog import USER_SCHEMA_FILTER

try:
    from psycopg2 import sql
except ImportError:
    sql = None  # ensure_psycopg2() reports the missing library before any statement is built

# Tables whose rows the dump carries: ordinary tables and partitions in user schemas, not extension members.
COUNTABLE_SQL = f"""
SELECT n.nspname AS schema, c.relname AS "table", c.reltuples::bigint AS estimate
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND {USER_SCHEMA_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
SCHEMAS_SQL = f"""
SELECT n.nspname AS schema FROM pg_namespace n
WHERE {USER_SCHEMA_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
ORDER BY 1
"""
RELATIONS_SQL = f"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {USER_SCHEMA_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""
ENCODING_SQL = "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"


def count_query(schema, table):
    """Exact row count of one table, without its inheritance children (partitions are counted on their own)."""
    return sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def countable_tables(cursor):
    """The tables a dump of the connected database carries, with the planner's row estimate."""
    cursor.execute(COUNTABLE_SQL)
    return [{"schema": s, "table": t, "estimate": e} for s, t, e in cursor.fetchall()]


def database_encoding(cursor):
    """The connected database's encoding, recorded so a restore creates its target alike."""
    cursor.execute(ENCODING_SQL)
    return cursor.fetchone()[0]
