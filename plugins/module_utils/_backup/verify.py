# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Proving a backup usable after it is written: its sha256, a full read of the archive, or a test restore.

The outcome is recorded in the backup's manifest; a failed verification fails the task and marks
the backup unverified, so it is neither uploaded nor counted by retention's min_keep.
"""

from __future__ import annotations

import os
import secrets
import time
import zlib

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup.archive_load import (
    create_database,
    create_table_schemas,
    drop_database,
    live_counts,
    restore_into,
)
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import directory_digests, iso, sha256_file, utc_now
from ansible_collections.sre.runbooks.plugins.module_utils._backup.streams import GunzipTail, Tail, decompressor_argv
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import DatabaseError, PostgresError, first_line
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import ToolError

# The last line pg_dumpall / pg_dump write; a plain dump without it was cut short.
CLUSTER_DUMP_END = b"PostgreSQL database cluster dump complete"
DATABASE_DUMP_END = b"PostgreSQL database dump complete"


class Verifier:
    """Checks backups at a verification level; the checksum and archive checks also guard pg_restore."""

    def __init__(self, session):
        self.session = session
        # What each level adds to the checksum check, merged into the verification record.
        self.levels = {"archive": self.check_archive, "restore": self.restore_level}

    def verify_backup(self, manifest, level, entry):
        """Verify a backup at ``level``; the outcome goes into the manifest (and fails the task on failure)."""
        if level == "none":
            return
        started = time.monotonic()
        record = {"level": level, "status": "passed", "checked_at": iso(utc_now()), "checks": []}
        path = self.session.local.data_path(manifest)
        try:
            self.check_checksum(manifest, path)
            record["checks"].append("checksum")
            if level != "checksum":
                record.update(self.levels[level](manifest, path))
                record["checks"].append(level)
        except (BackupError, ToolError, PostgresError) as exc:
            record.update(status="failed", error=str(exc))
        except DatabaseError as exc:
            record.update(status="failed", error=f"PostgreSQL error: {first_line(exc)}.")
        record["duration_seconds"] = round(time.monotonic() - started, 3)
        manifest["verification"] = record
        self.session.local.write_manifest(manifest)
        entry["verification"] = record
        entry["verification_status"] = record["status"]
        if record["status"] == "failed":
            raise BackupError(f"Verification ({level}) of backup {manifest['name']} failed: {record['error'].rstrip('.')}; "
                              f"the backup is kept at {path} and marked unverified in its manifest.")

    def restore_level(self, manifest, path):
        return {"restore": self.check_restore(manifest, path)}

    @staticmethod
    def check_checksum(manifest, path):
        if not os.path.exists(path):
            raise BackupError(f"The backup file {path} is missing.")
        if manifest["format"] == "directory":
            problems = manifests.compare_files(manifest.get("files") or {}, directory_digests(path))
            if problems:
                raise BackupError(f"The directory archive {path} does not match its manifest: {'; '.join(problems[:3])}.")
            return
        actual = sha256_file(path)
        if actual != manifest["sha256"]:
            raise BackupError(f"The sha256 of {path} is {actual[:16]}..., its manifest says {manifest['sha256'][:16]}...; "
                              "the file is corrupted or was changed.")

    def check_archive(self, manifest, path):
        """Read the whole archive: pg_restore to /dev/null, or decompress a plain dump and check its last line."""
        if manifest["format"] != "plain":
            tools = self.session.current_tools()
            self.session.run([[tools["pg_restore"], "--file", os.devnull, path]], "pg_restore")
            return {}
        tail = Tail()
        if manifest["compression"] in ("none", "gzip"):
            self.read_in_process(manifest, path, tail)
        else:
            argv = decompressor_argv(manifest["compression"], path)
            self.session.run([argv], os.path.basename(argv[0]), consumer=tail)
        ending = CLUSTER_DUMP_END if manifest["scope"] == "globals" else DATABASE_DUMP_END
        if ending not in tail.tail:
            raise BackupError(f"The plain dump {path} does not end with pg_dump's completion line; it is truncated.")
        return {"uncompressed_size": tail.size}

    @staticmethod
    def read_in_process(manifest, path, tail):
        """Feed an uncompressed or gzip plain dump into ``tail`` (zlib checks the CRC; no program needed)."""
        gzipped = manifest["compression"] == "gzip"
        reader = GunzipTail(tail) if gzipped else tail
        try:
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                    reader(chunk)
        except zlib.error as exc:
            raise BackupError(f"The gzip data of {path} is corrupt ({exc}).") from None
        if gzipped:
            reader.close(path)

    def check_restore(self, manifest, path):
        """Restore into a scratch database, compare row counts with the manifest, drop the scratch database."""
        session = self.session
        scratch = f"{manifest['database'][:30]}_verify_{secrets.token_hex(4)}".lower()
        admin = session.connect(session.params["maintenance_database"])
        started = time.monotonic()
        try:
            create_database(admin, scratch, manifest.get("encoding"))
            create_table_schemas(session, manifest, scratch)
            restore_into(session, manifest, path, scratch, jobs=session.params["jobs"])
            expected = manifest.get("row_counts") or {}
            comparison = manifests.compare_row_counts(expected, live_counts(session, scratch, expected))
        finally:
            try:
                drop_database(admin, scratch, force=(session.server_major or 0) >= 13, if_exists=True)
            except DatabaseError as exc:
                session.warnings.append(f"Could not drop the scratch database {scratch}: {first_line(exc)}.")
            admin.close()
        if not comparison["ok"]:
            raise BackupError(f"The test restore into {scratch} gave different row counts: "
                              f"{manifests.describe_count_problems(comparison)}.")
        return {"scratch_database": scratch, "row_counts": comparison,
                "duration_seconds": round(time.monotonic() - started, 3)}
