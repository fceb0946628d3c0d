# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The restore target as pg_restore sees it: what it holds, clearing it, and the marker of the last restore.

The marker is the database setting ``sre_runbooks.restored`` (``scope_id=sha256;...``): a target
that carries the backup's sha256 and still has the manifest's row counts is left alone.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup.archive_load import (
    create_database,
    drop_database,
    live_counts,
)
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.queries import RELATIONS_SQL, SCHEMAS_SQL
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import DatabaseError, first_line
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import display_name

try:
    from psycopg2 import sql
except ImportError:
    sql = None  # ensure_psycopg2() reports the missing library before any statement is built

MARKER_SQL = ("SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
              "WHERE d.datname = %s AND s.setrole = 0")


def read_marker(admin, target):
    """The restore marker of ``target`` as ``{scope_id: sha256}`` (empty when there is none)."""
    cursor = admin.cursor()
    cursor.execute(MARKER_SQL, (target,))
    marker = {}
    for (setting,) in cursor.fetchall():
        name, _sep, value = setting.partition("=")
        if name == manifests.RESTORE_MARKER_SETTING:
            marker = manifests.parse_marker(value)
    return marker


def target_state(session, admin, manifest, target):
    """Whether ``target`` exists, which of the backup's schemas and relations it holds, and its marker."""
    cursor = admin.cursor()
    cursor.execute("SELECT pg_get_userbyid(d.datdba) FROM pg_database d WHERE d.datname = %s", (target,))
    row = cursor.fetchone()
    state = {"exists": row is not None, "owner": row[0] if row else None, "objects": 0, "schemas": [],
             "relations": [], "marker": None, "identical": False}
    if row is None or manifest["scope"] == "globals":
        return state
    state["marker"] = read_marker(admin, target).get(manifest["scope_id"])
    state.update(held_objects(session, manifest, target))
    state["objects"] = len(state["schemas"]) + len(state["relations"])
    if state["marker"] == manifest["sha256"] and state["objects"]:
        expected = manifest.get("row_counts") or {}
        state["identical"] = manifests.compare_row_counts(expected, live_counts(session, target, expected))["ok"]
    return state


def held_objects(session, manifest, target):
    """The schemas and relations of ``target`` that the backup's scope would replace."""
    conn = session.connect(target)
    try:
        cursor = conn.cursor()
        cursor.execute(SCHEMAS_SQL)
        schemas = [r[0] for r in cursor.fetchall()]
        cursor.execute(RELATIONS_SQL)
        relations = [(s, n) for s, n, _k in cursor.fetchall()]
    finally:
        conn.close()
    if manifest["scope"] == "database":
        return {"schemas": [s for s in schemas if s != "public"],
                "relations": [display_name(s, n) for s, n in relations]}
    if manifest["scope"] == "schemas":
        return {"schemas": [s for s in schemas if s in manifest["schemas"]],
                "relations": [display_name(s, n) for s, n in relations if s in manifest["schemas"]]}
    wanted = set(manifest["tables"])
    return {"schemas": [], "relations": [display_name(s, n) for s, n in relations if display_name(s, n) in wanted]}


def terminate_sessions(admin, target):
    """End the other sessions on ``target``; returns how many."""
    cursor = admin.cursor()
    cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname = %s AND pid <> pg_backend_pid()", (target,))
    return cursor.fetchone()[0]


def prepare_target(session, admin, manifest, target, state):
    """Make ``target`` ready for the backup: create it, or drop what the backup replaces (force was checked)."""
    scope = manifest["scope"]
    if scope == "globals":
        return
    if scope == "database" and state["exists"] and state["objects"]:
        force = session.params["terminate_sessions"] and session.server_major >= 13
        try:
            drop_database(admin, target, force=force)
        except DatabaseError as exc:
            raise BackupError(f"Cannot drop database \"{target}\" to replace it: {first_line(exc)} "
                              "(set terminate_sessions=true to end its sessions).") from None
        state["exists"] = False
    if not state["exists"]:
        create_database(admin, target, manifest.get("encoding"), state.get("owner"))
        return
    if state["objects"]:
        clear_objects(session, scope, target, state)


def discard_created(admin, target, force):
    """Drop ``target`` after a failed restore created it: an empty database must not look restored.

    Best effort: the restore's own error is the one the operator needs, so a failure here is swallowed.
    """
    try:
        drop_database(admin, target, force=force, if_exists=True)
    except Exception:  # pylint: disable=broad-exception-caught
        pass


def clear_objects(session, scope, target, state):
    """Drop the schemas (CASCADE) or tables of a schema or table backup from an existing target."""
    conn = session.connect(target)
    try:
        cursor = conn.cursor()
        if scope == "schemas":
            for schema in state["schemas"]:
                cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        else:
            cursor.execute(RELATIONS_SQL)
            wanted = set(state["relations"])
            for schema, name, kind in cursor.fetchall():
                if display_name(schema, name) in wanted and kind in ("r", "p", "f"):
                    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(
                        sql.Identifier(schema), sql.Identifier(name)))
    except DatabaseError as exc:
        raise BackupError(f"Cannot clear the target objects in \"{target}\": {first_line(exc)}.") from None
    finally:
        conn.close()


def set_marker(session, admin, target, manifest):
    """Record the backup's sha256 for its scope on ``target``; a failure only warns (the restore itself is done)."""
    marker = read_marker(admin, target)
    marker[manifest["scope_id"]] = manifest["sha256"]
    try:
        admin.cursor().execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
            sql.Identifier(target), sql.SQL(manifests.RESTORE_MARKER_SETTING),
            sql.Literal(manifests.format_marker(marker))))
    except DatabaseError as exc:
        session.warnings.append(f"Could not record the restore marker on database \"{target}\" ({first_line(exc)}); "
                                "a repeated run will not recognise the restore as done.")
