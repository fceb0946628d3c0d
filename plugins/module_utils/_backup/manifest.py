# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The JSON manifest beside every pg_backup artifact, and the comparisons made against it.

A manifest records what was dumped (database, scope, schemas, tables), how (format,
compression, tool and server versions), what it produced (size, sha256, per-file digests of a
directory archive), the row count of every table at dump time, when, and the outcome of
verification and upload. Restores and restore verification compare live row counts with it.
Pure functions only.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest_schema

MANIFEST_VERSION = 1
TOOL = "sre.runbooks.pg_backup"
REQUIRED_KEYS = ("name", "database", "scope", "format", "compression", "file", "sha256", "finished_at")
RESTORE_MARKER_SETTING = "sre_runbooks.restored"


class ManifestError(ValueError):
    """A manifest that cannot be read or does not describe a pg_backup artifact."""


def dumps(manifest):
    """Stable JSON text for a manifest (sorted keys, trailing newline)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def loads(text, source, name=None):
    """Parse and check a manifest; ``source`` names where it came from, for the error sentence.

    ``text`` may be bytes (as read from disk or S3). ``name`` is the backup name the manifest's
    file or key name implies: a manifest that claims another name is refused, so an edited
    ``name`` can never point retention at another backup's files.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ManifestError(f"The manifest {source} is not UTF-8 text.") from None
    try:
        manifest = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"The manifest {source} is not valid JSON ({str(exc)[:80]}).") from None
    if not isinstance(manifest, dict) or manifest.get("tool") != TOOL:
        raise ManifestError(f"The file {source} is not a pg_backup manifest.")
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise ManifestError(f"The manifest {source} lacks {', '.join(missing)}.")
    try:
        manifest_schema.check(manifest)
    except manifest_schema.SchemaError as exc:
        raise ManifestError(f"The manifest {source} is damaged: {str(exc).rstrip('.')}.") from None
    if manifest.get("manifest_version", 1) > MANIFEST_VERSION:
        raise ManifestError(f"The manifest {source} has version {manifest.get('manifest_version')}, newer than this "
                            f"module understands ({MANIFEST_VERSION}); upgrade sre.runbooks.")
    if name is not None and manifest["name"] != name:
        raise ManifestError(f"The manifest {source} describes backup {manifest['name'][:60]!r}, not {name!r}.")
    return manifest


def directory_digest(file_digests):
    """One sha256 for a directory archive: the digest of its sorted 'sha256  name' lines (sha256sum style)."""
    lines = "".join(f"{digest}  {name}\n" for name, digest in sorted(file_digests.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def compare_files(expected, actual):
    """Compare per-file digests of a directory archive; returns a list of one-line problems."""
    problems = []
    for name in sorted(set(expected) - set(actual)):
        problems.append(f"{name} is missing")
    for name in sorted(set(actual) - set(expected)):
        problems.append(f"{name} is not in the manifest")
    for name in sorted(set(expected) & set(actual)):
        if expected[name] != actual[name]:
            problems.append(f"{name} has sha256 {actual[name][:12]}..., the manifest says {expected[name][:12]}...")
    return problems


def compare_row_counts(expected, actual):
    """Row counts per table (``{"schema.table": n}``) at dump time against a restored database.

    Returns ``{"ok", "tables", "matched", "mismatched", "missing"}``: ``mismatched`` lists
    ``{"table", "expected", "actual"}``, ``missing`` the tables absent from ``actual``. Tables
    present only in ``actual`` are not an error (the target may hold other schemas).
    """
    mismatched = []
    missing = []
    matched = 0
    for table in sorted(expected):
        if table not in actual:
            missing.append(table)
        elif int(actual[table]) != int(expected[table]):
            mismatched.append({"table": table, "expected": int(expected[table]), "actual": int(actual[table])})
        else:
            matched += 1
    return {"ok": not mismatched and not missing, "tables": len(expected), "matched": matched,
            "mismatched": mismatched, "missing": missing}


def describe_count_problems(comparison, limit=3):
    """One clause naming the first few tables whose counts differ, for an error sentence."""
    parts = [f"{item['table']} has {item['actual']} rows, expected {item['expected']}"
             for item in comparison["mismatched"][:limit]]
    parts += [f"{table} is missing" for table in comparison["missing"][: max(0, limit - len(parts))]]
    more = len(comparison["mismatched"]) + len(comparison["missing"]) - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return ", ".join(parts)


def verification_status(manifest):
    """'passed', 'failed' or 'skipped' from a manifest's verification record."""
    return (manifest.get("verification") or {}).get("status") or "skipped"


def summary(manifest):
    """The fields of a manifest that results and retention work with (no row counts)."""
    keys = ("name", "label", "database", "scope", "schemas", "tables", "set_key", "format", "compression",
            "compression_level", "file", "size", "sha256", "started_at", "finished_at", "duration_seconds",
            "server_version", "pg_dump_version", "row_counts_consistent")
    result = {key: manifest.get(key) for key in keys}
    result["tables_counted"] = len(manifest.get("row_counts") or {})
    result["rows_total"] = sum(int(v) for v in (manifest.get("row_counts") or {}).values())
    result["verification"] = manifest.get("verification") or {"level": "none", "status": "skipped"}
    result["verification_status"] = verification_status(manifest)
    return result


def parse_marker(value):
    """The restore marker setting ('scope_id=sha256;...') as a dict; unreadable parts are ignored."""
    marker = {}
    for part in (value or "").split(";"):
        scope_id, sep, digest = part.rpartition("=")
        if sep and scope_id and digest:
            marker[scope_id] = digest
    return marker


def format_marker(marker):
    """Inverse of :func:`parse_marker`, in a stable order."""
    return ";".join(f"{scope_id}={digest}" for scope_id, digest in sorted(marker.items()))
