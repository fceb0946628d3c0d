# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Loading an archive into a database (or globals into the cluster) and counting what arrived.

Shared by verify=restore (a scratch database) and pg_restore (the target).
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.queries import count_query, countable_tables
from ansible_collections.sre.runbooks.plugins.module_utils._backup.streams import decompressor_argv
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import feed_psql
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import display_name

try:
    from psycopg2 import sql
except ImportError:
    sql = None  # ensure_psycopg2() reports the missing library before any statement is built


def create_database(admin, name, encoding=None, owner=None):
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
    if encoding:
        statement += sql.SQL(" ENCODING {}").format(sql.Literal(encoding))
    if owner:
        statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
    admin.cursor().execute(statement)


def drop_database(admin, name, force=False, if_exists=False):
    """DROP DATABASE; ``force`` (PostgreSQL 13+) ends the sessions still connected to it."""
    statement = sql.SQL("DROP DATABASE IF EXISTS {}" if if_exists else "DROP DATABASE {}").format(sql.Identifier(name))
    admin.cursor().execute(statement + (sql.SQL(" WITH (FORCE)") if force else sql.SQL("")))


def create_table_schemas(session, manifest, database):
    """Create the schemas of a table-scope backup's tables, which the dump itself does not create."""
    if not manifest.get("table_schemas"):
        return
    conn = session.connect(database)
    try:
        cursor = conn.cursor()
        for schema in manifest["table_schemas"]:
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    finally:
        conn.close()


def live_counts(session, database, expected):
    """Exact row counts in ``database`` for the tables named in ``expected`` (absent tables are left out)."""
    conn = session.connect(database)
    counts = {}
    try:
        cursor = conn.cursor()
        present = {display_name(row["schema"], row["table"]): (row["schema"], row["table"])
                   for row in countable_tables(cursor)}
        for name in expected:
            if name in present:
                schema, table = present[name]
                cursor.execute(count_query(schema, table))
                counts[name] = cursor.fetchone()[0]
    finally:
        conn.close()
    return counts


def restore_into(session, manifest, path, database, jobs=1):
    """Load an archive into an existing database: psql for plain dumps, pg_restore otherwise."""
    tools = session.current_tools()
    if manifest["format"] == "plain":
        psql = [tools["psql"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"]
        source = None if manifest["compression"] == "none" else [decompressor_argv(manifest["compression"], path)]
        session.log_pipeline((source or [["cat", path]]) + [psql])
        feed_psql(psql, session.env("psql", database), source_path=path, source_commands=source)
        return
    argv = [tools["pg_restore"], "--no-password", "--exit-on-error", "--dbname", database]
    argv += ["--jobs", str(jobs)] if jobs > 1 else ["--single-transaction"]
    # --dbname takes a plain name here; host, user and password still come from the environment.
    session.run([argv + [path]], "pg_restore", database)


def restore_globals(session, manifest, path):
    """Replay roles and tablespaces; 'already exists' errors are expected and counted, others fail."""
    compressed = manifest["compression"] != "none"
    psql = [session.current_tools()["psql"], "-X", "-q", "-v", "ON_ERROR_STOP=0", "-f", "-" if compressed else path]
    chain = ([decompressor_argv(manifest["compression"], path)] if compressed else []) + [psql]
    results = session.run(chain, "psql", session.params["maintenance_database"])
    errors = [line for line in results[-1]["stderr"].splitlines() if "ERROR:" in line]
    fatal = [line for line in errors if "already exists" not in line]
    if fatal:
        raise BackupError(f"Restoring globals from {manifest['name']} failed: {fatal[0].strip()}.")
    return len(errors)
