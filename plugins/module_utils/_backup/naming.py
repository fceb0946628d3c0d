# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What pg_backup makes and what it calls it: backup units, file names, extensions, set keys.

Pure functions, no server and no file system. A *unit* is one backup artifact (one file or one
directory plus its manifest). A *set* is every backup of the same label, database and scope: the
group retention counts and prunes, identified by :func:`set_key`.
"""

from __future__ import annotations

import re
import string

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError, safe_format

FORMATS = ("plain", "custom", "directory")
COMPRESSIONS = ("none", "gzip", "zstd")
SCOPES = ("database", "schemas", "tables", "globals")
VERIFY_LEVELS = ("none", "checksum", "archive", "restore")

DEFAULT_TEMPLATE = "{label}-{database}-{scope}-{timestamp}"
TEMPLATE_FIELDS = ("label", "database", "scope", "timestamp", "date")
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MANIFEST_SUFFIX = ".manifest.json"
PARTIAL_MARKER = ".partial-"

# Compression levels each method accepts, and the level used when none is given.
LEVELS = {"gzip": (1, 9, 6), "zstd": (1, 19, 3)}
COMPRESSED_SUFFIX = {"none": "", "gzip": ".gz", "zstd": ".zst"}
# Longest first, so '.sql.gz' wins over '.sql'.
DATA_SUFFIXES = (".globals.sql.gz", ".globals.sql.zst", ".globals.sql", ".sql.gz", ".sql.zst", ".sql", ".dump", ".dir")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")
MAX_NAME_LENGTH = 200


class NamingError(ValueError):
    """Bad template, format or compression choice; the message is one sentence for fail_json."""


def safe_component(text):
    """A name part that is safe in a file name and an S3 key: no slashes, spaces or leading dots."""
    cleaned = _UNSAFE.sub("_", str(text)).strip("._") or "_"
    return cleaned


def compression_level(method, level):
    """The level to use for ``method`` (its default when ``level`` is None); out-of-range levels fail."""
    if method == "none":
        return None
    low, high, default = LEVELS[method]
    if level is None:
        return default
    if not low <= int(level) <= high:
        raise NamingError(f"compression_level {level} is out of range for {method}: use {low} to {high}.")
    return int(level)


def extension(fmt, compression, scope="database"):
    """The file-name ending of a backup: '.sql.gz', '.dump', '.dir', '.globals.sql.zst'..."""
    if scope == "globals":
        return ".globals.sql" + COMPRESSED_SUFFIX[compression]
    if fmt == "plain":
        return ".sql" + COMPRESSED_SUFFIX[compression]
    if fmt == "custom":
        return ".dump"
    return ".dir"


def strip_data_suffix(name):
    """'x.sql.gz' -> 'x'; also accepts a manifest name ('x.manifest.json' -> 'x')."""
    if name.endswith(MANIFEST_SUFFIX):
        return name[: -len(MANIFEST_SUFFIX)]
    trimmed = name.rstrip("/")
    for suffix in DATA_SUFFIXES:
        if trimmed.endswith(suffix):
            return trimmed[: -len(suffix)]
    return trimmed


def check_format(scope, fmt, compression, pg_dump_major):
    """Refuse combinations the tools cannot produce; returns how compression is applied.

    Returns ``'zlib'`` (gzip written by the module itself from pg_dump's plain output: the
    same format as the gzip program, with less CPU), ``'pipe'`` (the zstd program behind
    pg_dump), ``'native'`` (pg_dump's own ``--compress``) or ``None`` (no compression).
    ``scope=globals`` is always plain SQL (pg_dumpall has no other format), so ``fmt`` is
    ignored for it.
    """
    if compression == "none":
        return None
    if scope == "globals" or fmt == "plain":
        return "zlib" if compression == "gzip" else "pipe"
    if compression == "zstd" and pg_dump_major is not None and pg_dump_major < 16:
        raise NamingError(f"compression=zstd with format={fmt} needs pg_dump 16 or later (found {pg_dump_major}); "
                          "use compression=gzip, or format=plain, which pipes the dump through the zstd program.")
    return "native"


def check_template(template):
    """Validate a name template: known fields only, {timestamp} present, no path separators."""
    try:
        fields = [field for _text, field, _spec, _conv in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise NamingError(f"name_template {template!r} is not a valid template: {exc}.") from None
    unknown = sorted({field for field in fields if field not in TEMPLATE_FIELDS})
    if unknown:
        raise NamingError(f"name_template {template!r} uses unknown field(s) {', '.join(unknown)}; "
                          f"the fields are {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}.")
    if "timestamp" not in fields:
        raise NamingError(f"name_template {template!r} must contain {{timestamp}}, or every run would reuse one name.")
    if "/" in template or "\\" in template:
        raise NamingError(f"name_template {template!r} must not contain a path separator; set dest or s3.prefix instead.")


def render_name(template, label, database, scope_part, when):
    """The base name (no extension) of one backup; ``when`` is an aware UTC datetime."""
    check_template(template)
    fields = {"label": safe_component(label), "database": safe_component(database),
              "scope": safe_component(scope_part), "timestamp": when.strftime(TIMESTAMP_FORMAT),
              "date": when.strftime("%Y%m%d")}
    try:
        name = safe_format(template, "name_template", fields)
    except InputError as exc:
        raise NamingError(str(exc)) from None
    name = safe_component(name)
    if len(name) > MAX_NAME_LENGTH:
        raise NamingError(f"The backup name {name[:40]}... is longer than {MAX_NAME_LENGTH} characters; "
                          "shorten label or name_template.")
    return name


def unique_name(name, taken):
    """``name``, or ``name-2``, ``name-3``... when a backup of that name already exists."""
    if name not in taken:
        return name
    counter = 2
    while f"{name}-{counter}" in taken:
        counter += 1
    return f"{name}-{counter}"


def plan_units(scope, schemas=None, tables=None, per_schema=True):
    """The backups one run makes: a list of dicts with scope, schemas, tables, scope_part and scope_id.

    ``scope_part`` goes into the file name; ``scope_id`` identifies the set for retention, so
    two runs with the same options always land in the same set.
    """
    schemas = list(schemas or [])
    tables = list(tables or [])
    if scope == "database":
        return [_unit("database", [], [], "full", "full")]
    if scope == "globals":
        return [_unit("globals", [], [], "globals", "globals")]
    if scope == "schemas":
        if not schemas:
            raise NamingError("scope=schemas needs the schemas option (a list of schema names).")
        if per_schema:
            return [_unit("schemas", [schema], [], schema, "schema:" + schema) for schema in schemas]
        return [_unit("schemas", schemas, [], "schemas", "schemas:" + ",".join(sorted(schemas)))]
    if not tables:
        raise NamingError("scope=tables needs the tables option (a list of table names).")
    return [_unit("tables", [], tables, "tables", "tables:" + ",".join(sorted(tables)))]


def _unit(scope, schemas, tables, scope_part, scope_id):
    return {"scope": scope, "schemas": schemas, "tables": tables, "scope_part": scope_part, "scope_id": scope_id}


def set_key(label, database, scope_id):
    """The retention set a backup belongs to: 'label/database/scope_id'."""
    return f"{label}/{database}/{scope_id}"


def s3_prefix(prefix):
    """Normalise an S3 prefix to '' or 'a/b/' (one trailing slash, no leading one)."""
    cleaned = (prefix or "").strip().strip("/")
    return cleaned + "/" if cleaned else ""
