# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The read-only PostgreSQL health report of pg_vacuum: one function per section, plain data out.

Sizes are bytes (with a pg_size_pretty text beside them for people), times are seconds or
milliseconds as the key says, timestamps are ISO 8601 strings.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.bloat import (
    estimate_table_bloat,
    fillfactor_from_reloptions,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import DatabaseError, fetch_dicts, first_line
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.catalog import USER_SCHEMA_FILTER, jsonable_rows
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import dead_tuple_ratio

# Every table-level section honours the optional schema filter the same way.
SCHEMA_FILTER = "(%(schemas)s::text[] IS NULL OR n.nspname = ANY(%(schemas)s::text[]))"

TABLE_SIZES_SQL = f"""
SELECT n.nspname AS schema, c.relname AS "table",
       pg_total_relation_size(c.oid) AS total_bytes, pg_table_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes, pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND {USER_SCHEMA_FILTER} AND {SCHEMA_FILTER}
ORDER BY total_bytes DESC, 1, 2
LIMIT %(top_n)s
"""

INDEX_SIZES_SQL = f"""
SELECT n.nspname AS schema, ic.relname AS "index", tc.relname AS "table",
       pg_relation_size(ic.oid) AS bytes, pg_size_pretty(pg_relation_size(ic.oid)) AS size,
       s.idx_scan, i.indisunique AS "unique", i.indisprimary AS "primary", i.indisvalid AS valid
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
WHERE {USER_SCHEMA_FILTER} AND {SCHEMA_FILTER}
ORDER BY bytes DESC, 1, 2
LIMIT %(top_n)s
"""

DEAD_TUPLES_SQL = f"""
SELECT n.nspname AS schema, s.relname AS "table", s.n_live_tup, s.n_dead_tup
FROM pg_stat_user_tables s JOIN pg_namespace n ON n.nspname = s.schemaname
WHERE {SCHEMA_FILTER}
ORDER BY s.n_dead_tup DESC, 1, 2
LIMIT %(top_n)s
"""

LAST_MAINTENANCE_SQL = f"""
SELECT n.nspname AS schema, s.relname AS "table",
       s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
       s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count,
       EXTRACT(EPOCH FROM now() - GREATEST(s.last_vacuum, s.last_autovacuum))::float8 AS last_vacuum_age_s,
       EXTRACT(EPOCH FROM now() - GREATEST(s.last_analyze, s.last_autoanalyze))::float8 AS last_analyze_age_s
FROM pg_stat_user_tables s JOIN pg_namespace n ON n.nspname = s.schemaname
WHERE {SCHEMA_FILTER}
ORDER BY GREATEST(s.last_vacuum, s.last_autovacuum) ASC NULLS FIRST, 1, 2
LIMIT %(top_n)s
"""

# Per-table inputs of the bloat estimate: pages and rows from pg_class, row width from pg_stats.
BLOAT_INPUTS_SQL = f"""
SELECT n.nspname AS schema, c.relname AS "table", c.relpages, c.reltuples, c.reloptions,
       w.data_width, w.has_nulls,
       (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS column_count,
       current_setting('block_size')::int AS block_size
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN (
    SELECT schemaname, tablename, sum((1 - null_frac) * avg_width)::float8 AS data_width, bool_or(null_frac > 0) AS has_nulls
    FROM pg_stats WHERE NOT inherited GROUP BY schemaname, tablename
) w ON w.schemaname = n.nspname AND w.tablename = c.relname
WHERE c.relkind IN ('r', 'm') AND {USER_SCHEMA_FILTER} AND {SCHEMA_FILTER}
"""

CONNECTIONS_SQL = """
SELECT COALESCE(state, 'unknown') AS state, COALESCE(datname, '') AS database, count(*) AS sessions
FROM pg_stat_activity WHERE backend_type = 'client backend'
GROUP BY 1, 2
"""

DATABASE_SIZES_SQL = """
SELECT datname AS database,
       CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_database_size(datname) END AS bytes,
       CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_size_pretty(pg_database_size(datname)) END AS size
FROM pg_database WHERE datallowconn
ORDER BY bytes DESC NULLS LAST, 1
"""

# pg_stat_statements renamed its timing columns in version 1.8 (PostgreSQL 13).
SLOW_QUERIES_SQL = """
SELECT s.queryid, left(s.query, 1000) AS query, s.calls, s.rows,
       round(s.{total}::numeric, 3) AS total_time_ms, round(s.{mean}::numeric, 3) AS mean_time_ms,
       r.rolname AS "user", d.datname AS database
FROM {schema}.pg_stat_statements s
LEFT JOIN pg_roles r ON r.oid = s.userid
LEFT JOIN pg_database d ON d.oid = s.dbid
ORDER BY s.{mean} DESC
LIMIT %(top_n)s
"""


def _args(top_n, schemas):
    return {"top_n": top_n, "schemas": list(schemas) if schemas else None}


def table_sizes(cursor, top_n, schemas=None):
    return jsonable_rows(fetch_dicts(cursor, TABLE_SIZES_SQL, _args(top_n, schemas)))


def index_sizes(cursor, top_n, schemas=None):
    return jsonable_rows(fetch_dicts(cursor, INDEX_SIZES_SQL, _args(top_n, schemas)))


def dead_tuples(cursor, top_n, schemas=None):
    rows = jsonable_rows(fetch_dicts(cursor, DEAD_TUPLES_SQL, _args(top_n, schemas)))
    return [dict(row, dead_tuple_ratio=round(dead_tuple_ratio(row), 4)) for row in rows]


def last_maintenance(cursor, top_n, schemas=None):
    """Tables whose last (auto)vacuum is oldest first; never-vacuumed tables lead."""
    return jsonable_rows(fetch_dicts(cursor, LAST_MAINTENANCE_SQL, _args(top_n, schemas)))


def bloat(cursor, top_n, schemas=None):
    """Top-N tables by estimated bloat, plus the tables that have no statistics to estimate from."""
    estimated, unestimated = [], []
    for row in fetch_dicts(cursor, BLOAT_INPUTS_SQL, _args(top_n, schemas)):
        estimate = estimate_table_bloat(row["relpages"], row["reltuples"], row["data_width"], row["column_count"],
                                        bool(row["has_nulls"]), row["block_size"], fillfactor_from_reloptions(row["reloptions"]))
        name = {"schema": row["schema"], "table": row["table"]}
        if estimate is None:
            unestimated.append(name)
        else:
            estimated.append(dict(name, table_bytes=row["relpages"] * row["block_size"], **estimate))
    estimated.sort(key=lambda item: (-item["bloat_bytes"], item["schema"], item["table"]))
    return {
        "method": "pages in use versus pages the live rows need at their pg_stats average width",
        "tables": estimated[:top_n],
        "tables_without_statistics": sorted(unestimated, key=lambda item: (item["schema"], item["table"])),
    }


def connections(cursor):
    """Client sessions by state and by database, against max_connections."""
    rows = fetch_dicts(cursor, CONNECTIONS_SQL)
    by_state, by_database = {}, {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["sessions"]
        by_database[row["database"]] = by_database.get(row["database"], 0) + row["sessions"]
    cursor.execute("SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int")
    max_connections, reserved = cursor.fetchone()
    total = sum(by_state.values())
    return {
        "total": total,
        "max_connections": max_connections,
        "superuser_reserved_connections": reserved,
        "usage_ratio": round(total / max_connections, 4) if max_connections else None,
        "by_state": by_state,
        "by_database": by_database,
    }


def slow_queries(cursor, top_n, database, server_version_num):
    """Top-N statements by mean execution time, or why pg_stat_statements cannot tell."""
    cursor.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                   "WHERE e.extname = 'pg_stat_statements'")
    found = cursor.fetchone()
    if not found:
        return {"available": False, "queries": [],
                "reason": f'extension pg_stat_statements is not installed in database "{database}" '
                          "(CREATE EXTENSION pg_stat_statements; it also needs shared_preload_libraries)"}
    names = ("total_exec_time", "mean_exec_time") if server_version_num >= 130000 else ("total_time", "mean_time")
    query = SLOW_QUERIES_SQL.format(total=names[0], mean=names[1], schema='"' + found[0].replace('"', '""') + '"')
    try:
        rows = fetch_dicts(cursor, query, {"top_n": top_n})
    except DatabaseError as exc:  # e.g. installed but missing from shared_preload_libraries
        return {"available": False, "queries": [], "reason": f"pg_stat_statements cannot be read: {first_line(exc)}"}
    return {"available": True, "queries": jsonable_rows(rows), "reason": None}


def database_sizes(cursor):
    return jsonable_rows(fetch_dicts(cursor, DATABASE_SIZES_SQL))


def build_report(cursor, top_n, database, server_version_num, schemas=None):
    """Every report section in one dict (see pg_vacuum's RETURN documentation)."""
    cursor.execute("SELECT now()")
    generated_at = cursor.fetchone()[0].isoformat()
    return {
        "generated_at": generated_at,
        "top_n": top_n,
        "schemas": list(schemas) if schemas else None,
        "table_sizes": table_sizes(cursor, top_n, schemas),
        "index_sizes": index_sizes(cursor, top_n, schemas),
        "dead_tuples": dead_tuples(cursor, top_n, schemas),
        "last_maintenance": last_maintenance(cursor, top_n, schemas),
        "bloat": bloat(cursor, top_n, schemas),
        "connections": connections(cursor),
        "slow_queries": slow_queries(cursor, top_n, database, server_version_num),
        "database_sizes": database_sizes(cursor),
    }
