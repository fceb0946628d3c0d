# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The safety dump pg_restore takes of what a forced restore replaces, verified readable before anything is dropped."""

from __future__ import annotations

import os

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.queries import countable_tables, database_encoding
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import LocalRepo, iso, utc_now
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import ToolError
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import display_name

LABEL = "pre-restore"
# A quick, compact dump: the safety copy is taken while the target waits to be replaced.
OPTIONS = {"format": "custom", "compression": "gzip", "level": 1, "compress_mode": "native", "jobs": 1,
           "extra_args": [], "lock_wait": None, "count_rows": True, "label": LABEL}


def safety_directory(params, local):
    directory = params.get("safety_dir") or (local.path if local else None) or os.path.dirname(params.get("src") or "")
    if not directory:
        raise BackupError("A safety dump is needed before replacing a non-empty target; set safety_dir or dest.")
    return directory


def safety_unit(session, repo, scope, target, state):
    """The backup unit of the target's objects that the restore replaces, named like a pg_backup backup."""
    schemas = state["schemas"] if scope == "schemas" else []
    tables = state["relations"] if scope == "tables" else []
    unit = naming.plan_units(scope, schemas, tables, per_schema=False)[0]
    unit["name"] = naming.unique_name(naming.render_name(naming.DEFAULT_TEMPLATE, LABEL, target, unit["scope_part"],
                                                         utc_now()), repo.names())
    unit["file"] = unit["name"] + naming.extension("custom", "gzip")
    conn = session.connect(target)
    try:
        cursor = conn.cursor()
        countable = countable_tables(cursor)
        unit["encoding"] = database_encoding(cursor)
    finally:
        conn.close()
    if scope == "schemas":
        unit["resolved_schemas"] = schemas
        unit["table_rows"] = [r for r in countable if r["schema"] in schemas]
    elif scope == "tables":
        pairs = [(r["schema"], r["table"]) for r in countable if display_name(r["schema"], r["table"]) in set(tables)]
        unit["resolved_tables"] = pairs
        unit["table_rows"] = [r for r in countable if (r["schema"], r["table"]) in set(pairs)]
    else:
        unit["table_rows"] = countable
    return unit


def safety_dump(session, dumper, verifier, manifest, target, state):
    """Dump the objects of ``target`` the restore replaces, check the archive reads, return its result entry."""
    repo = LocalRepo(safety_directory(session.params, session.local))
    repo.ensure()
    unit = safety_unit(session, repo, manifest["scope"], target, state)
    safety = dumper.make_backup(unit, dict(OPTIONS, database=target), repo)
    try:
        verifier.check_archive(safety, repo.data_path(safety))
    except (BackupError, ToolError) as exc:
        raise BackupError(f"The safety dump {repo.data_path(safety)} of \"{target}\" is not readable ({exc}); "
                          "nothing was replaced.") from None
    safety["verification"] = {"level": "archive", "status": "passed", "checked_at": iso(utc_now()),
                              "checks": ["checksum", "archive"]}
    repo.write_manifest(safety)
    entry = manifests.summary(safety)
    entry["local"] = repo.describe(safety)
    return entry
