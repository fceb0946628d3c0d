# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The configuration backups already in a folder or under an S3 prefix, and which of them retention removes.

A configuration backup is a ``<name>.tar.gz`` with its sidecar ``<name>.json`` (archive.py). Only a
pair whose sidecar parses as this format, names itself ``<name>`` and sits beside a regular archive
file counts: anything else in the folder (another tool's files, a symlink, a half-written temp
file) is never read as a backup and never deleted. Symlinks are not followed out of the folder.
Retention (``_backup/retention.select_prunable``) applies to the backups of the same namespaces.
"""

from __future__ import annotations

import json
import os
import re
import stat

from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import select_prunable
from ansible_collections.sre.runbooks.plugins.module_utils._config.archive import FORMAT

ARCHIVE_SUFFIX = ".tar.gz"
SIDECAR_SUFFIX = ".json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
# A sidecar is a few kilobytes; a bigger .json file is something else.
MAX_SIDECAR = 1024 * 1024


def valid_name(name):
    """Whether ``name`` can name a backup (one path component, no archive or sidecar suffix)."""
    return (isinstance(name, str) and bool(NAME.match(name)) and not name.endswith((ARCHIVE_SUFFIX, SIDECAR_SUFFIX))
            and ".." not in name)


def parse_sidecar(name, data):
    """The sidecar record of backup ``name`` from the bytes of ``<name>.json``, or None when it is not one of ours."""
    try:
        record = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("name") != name:
        return None
    if not isinstance(record.get("created"), str) or not isinstance(record.get("namespaces"), list):
        return None
    return record


def same_set(record, namespaces):
    """Whether a backup covers exactly ``namespaces`` (retention counts the backups of one set)."""
    return sorted(record.get("namespaces") or []) == sorted(namespaces)


def choose_prunable(records, namespaces, policy, protect=(), now=None):
    """The backups of the set of ``namespaces`` that retention removes, newest first (select_prunable's entries)."""
    backups = [{"name": record["name"], "finished_at": record["created"]} for record in records
               if same_set(record, namespaces)]
    return select_prunable(backups, policy, now=now, protect=protect)


def _regular(path):
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def scan_folder(dest):
    """The sidecar records of the configuration backups directly in ``dest`` (missing folder: none)."""
    records = []
    try:
        entries = list(os.scandir(dest))
    except FileNotFoundError:
        return records
    for entry in entries:
        if not entry.name.endswith(SIDECAR_SUFFIX) or not entry.is_file(follow_symlinks=False):
            continue
        name = entry.name[:-len(SIDECAR_SUFFIX)]
        if not valid_name(name) or not _regular(os.path.join(dest, name + ARCHIVE_SUFFIX)):
            continue
        if entry.stat(follow_symlinks=False).st_size > MAX_SIDECAR:
            continue
        try:
            with open(entry.path, "rb") as handle:
                record = parse_sidecar(name, handle.read())
        except OSError:
            continue
        if record is not None:
            records.append(record)
    return records


def remove_from_folder(dest, name):
    """Delete backup ``name`` from ``dest``: its sidecar first (so no listed backup lacks its archive), then the archive."""
    if not valid_name(name):
        raise ValueError(f"{name!r} does not name a configuration backup.")
    for suffix in (SIDECAR_SUFFIX, ARCHIVE_SUFFIX):
        path = os.path.join(dest, name + suffix)
        if _regular(path):
            os.unlink(path)


def scan_store(store):
    """The sidecar records of the configuration backups directly under the store's prefix (one listing, one GET each)."""
    prefix = store.key("")
    keys = {item["key"] for item in store.list(prefix)}
    records = []
    for key in sorted(keys):
        rest = key[len(prefix):]
        if "/" in rest or not rest.endswith(SIDECAR_SUFFIX):
            continue
        name = rest[:-len(SIDECAR_SUFFIX)]
        if not valid_name(name) or store.key(name + ARCHIVE_SUFFIX) not in keys:
            continue
        record = parse_sidecar(name, store.get_bytes(key))
        if record is not None:
            records.append(record)
    return records


def remove_from_store(store, name):
    """Delete backup ``name`` under the store's prefix; returns the keys deleted."""
    return store.delete([store.key(name + SIDECAR_SUFFIX), store.key(name + ARCHIVE_SUFFIX)])
