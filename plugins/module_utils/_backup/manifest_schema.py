# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What a pg_backup manifest may contain, checked field by field before anything trusts it.

Manifests are files anyone with write access to ``dest`` or the bucket can edit, and retention
deletes what they point at: a ``file`` of ``/etc`` or a ``name`` of ``../x`` must never reach
``os.remove``. So every reader validates the whole manifest first; a bad one is reported and
skipped, never pruned by and never restored from. Pure functions only.
"""

from __future__ import annotations

import math
import re

from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import RetentionError, parse_time

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The names pg_backup writes: naming.safe_component output joined by '-', plus unique_name suffixes.
_NAME = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,254}$")
_RELATIVE_FILE = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.?(?:/|$))[^\x00]{1,1024}$")
VERIFICATION_STATUSES = ("passed", "failed", "skipped")


class SchemaError(ValueError):
    """One field of a manifest is not what pg_backup writes; the message names the field."""


def _text(value, field, pattern=None, optional=False):
    if value is None and optional:
        return
    if not isinstance(value, str) or not value or "\x00" in value:
        raise SchemaError(f"{field} is not a non-empty text")
    if pattern is not None and not pattern.match(value):
        raise SchemaError(f"{field} {value[:60]!r} is not a valid value")


def _count(value, field, optional=True):
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(f"{field} is not a whole number of at least 0")


def _choice(value, field, choices):
    if value not in choices:
        raise SchemaError(f"{field} {str(value)[:40]!r} is not one of {', '.join(choices)}")


def _text_list(value, field):
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise SchemaError(f"{field} is not a list of names")


def _entries(value, message):
    """The items of an optional mapping (none when it is absent); SchemaError(message) when it is not a mapping."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise SchemaError(message)
    return value.items()


def _row_counts(value):
    for table, rows in _entries(value, "row_counts is not a mapping of table to row count"):
        _count(rows, f"row_counts[{table[:60]!r}]", optional=False)


def _files(value):
    for relative, digest in _entries(value, "files is not a mapping of file to sha256"):
        _text(relative, "a name in files", _RELATIVE_FILE)
        _text(digest, f"files[{relative[:60]!r}]", _SHA256)


def _verification(value):
    if value is None:
        return
    if not isinstance(value, dict):
        raise SchemaError("verification is not a mapping")
    _choice(value.get("status", "skipped"), "verification.status", VERIFICATION_STATUSES)


def _timestamp(value, field, optional=False):
    _text(value, field, optional=optional)
    try:
        if value is not None:
            parse_time(value)
    except RetentionError:
        raise SchemaError(f"{field} {value[:40]!r} is not an ISO 8601 time") from None


def _number(value, field):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise SchemaError(f"{field} is not a finite number of at least 0")


def _data_file(manifest):
    """``file`` is a bare name in the same folder as the manifest, and it belongs to this backup."""
    name, data = manifest["name"], manifest["file"]
    _text(data, "file")
    if data not in {name + suffix for suffix in naming.DATA_SUFFIXES}:
        raise SchemaError(f"file {data[:60]!r} is not a file of backup {name!r} by the naming scheme")


def check(manifest):
    """Raise SchemaError naming the first field that is not what pg_backup writes."""
    version = manifest.get("manifest_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaError(f"manifest_version {str(version)[:20]!r} is not a positive whole number")
    _text(manifest.get("name"), "name", _NAME)
    _text(manifest.get("database"), "database")
    _choice(manifest.get("scope"), "scope", naming.SCOPES)
    _choice(manifest.get("format"), "format", naming.FORMATS)
    _choice(manifest.get("compression"), "compression", naming.COMPRESSIONS)
    _data_file(manifest)
    _text(manifest.get("sha256"), "sha256", _SHA256)
    _timestamp(manifest.get("finished_at"), "finished_at")
    _timestamp(manifest.get("started_at"), "started_at", optional=True)
    for field in ("label", "set_key", "scope_id", "encoding", "server_version", "pg_dump_version"):
        _text(manifest.get(field), field, optional=True)
    for field in ("schemas", "tables", "table_schemas"):
        _text_list(manifest.get(field), field)
    _count(manifest.get("size"), "size")
    _count(manifest.get("compression_level"), "compression_level")
    _number(manifest.get("duration_seconds"), "duration_seconds")
    _row_counts(manifest.get("row_counts"))
    _files(manifest.get("files"))
    _verification(manifest.get("verification"))
    if manifest["format"] == "directory" and not manifest.get("files"):
        raise SchemaError("a directory backup lists no files")
    if not isinstance(manifest.get("s3", {}) or {}, dict):
        raise SchemaError("s3 is not a mapping")
