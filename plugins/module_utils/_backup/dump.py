# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Making one backup: pg_dump (or pg_dumpall) into a temp name, hashed, renamed into place, with its manifest.

Several backups of one run share an exported snapshot, and the rows of every dumped table are
counted in that same snapshot while the dump runs, so the manifest's counts match the dump.
"""

from __future__ import annotations

import os
import threading
import time

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.queries import count_query
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import (
    artifact_size,
    directory_digests,
    fsync_dir,
    iso,
    remove_path,
    sha256_file,
    utc_now,
)
from ansible_collections.sre.runbooks.plugins.module_utils._backup.streams import Writer, compressor_argv
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import DatabaseError, first_line
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import ToolError, version_text
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import display_name

# pg_dump options the module sets itself; extra_args must not override them.
RESERVED_ARGS = ("-F", "--format", "-f", "--file", "-Z", "--compress", "-j", "--jobs", "-d", "--dbname", "-h", "--host",
                 "-p", "--port", "-U", "--username", "-W", "--password", "-w", "--no-password", "-n", "--schema",
                 "-t", "--table", "--snapshot", "-C", "--create", "-c", "--clean")


def quote_pattern(*parts):
    """An exact-match pg_dump pattern: every part double-quoted, so wildcards and case are literal."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def check_extra_args(extra_args):
    for arg in extra_args or []:
        name = arg.split("=", 1)[0]
        short = arg[:2] if arg.startswith("-") and not arg.startswith("--") else None
        if name in RESERVED_ARGS or short in RESERVED_ARGS:
            raise BackupError(f"extra_args may not contain {arg!r}: the module sets that option itself "
                              "(use format, compression, jobs, schemas, tables or the connection options).")


NO_ROLE_PASSWORDS_WARNING = ("The role is not a superuser, so the globals backup leaves out role passwords "
                             "(pg_dumpall --no-role-passwords, as on managed services); set them again after a restore.")


def globals_command(pg_dumpall, database, superuser):
    """pg_dumpall --globals-only; without superuser, --no-role-passwords (pg_authid is superuser-only)."""
    argv = [pg_dumpall, "--globals-only", "--no-password", "-l", database]
    return argv if superuser or superuser is None else argv + ["--no-role-passwords"]


def compress_args(opts):
    """pg_dump's own --compress for the custom and directory formats."""
    if opts["compress_mode"] is None:
        return ["--compress=0"]
    if opts["compression"] == "gzip":
        return [f"--compress={opts['level']}"]
    return [f"--compress={opts['compression']}:{opts['level']}"]


class Dumper:
    """Dumps backup units into a repository; ``transport_factory`` (optional) opens the pod pg_dump runs in."""

    def __init__(self, session, transport_factory=None):
        self.session = session
        self.remote = transport_factory is not None
        self._transport_factory = transport_factory
        self._transport = None

    def transport(self):
        """The transport pg_dump runs through: None (local) or one built on the first dump (never in check mode)."""
        if self.remote and self._transport is None:
            self._transport = self._transport_factory()
        return self._transport

    def dump_command(self, unit, opts, output, snapshot):
        tools = self.session.tools
        if unit["scope"] == "globals":
            superuser = getattr(self.session, "superuser", None)
            warnings = getattr(self.session, "warnings", None)
            if superuser is False and warnings is not None and NO_ROLE_PASSWORDS_WARNING not in warnings:
                warnings.append(NO_ROLE_PASSWORDS_WARNING)
            return globals_command(tools["pg_dumpall"], opts["database"], superuser)
        argv = [tools["pg_dump"], "--no-password", "--format=" + opts["format"]]
        if snapshot:
            argv.append("--snapshot=" + snapshot)
        if opts["lock_wait"] is not None:
            argv.append(f"--lock-wait-timeout={int(opts['lock_wait'] * 1000)}")
        for schema in unit.get("resolved_schemas", []):
            argv += ["--schema", quote_pattern(schema)]
        for schema, table in unit.get("resolved_tables", []):
            argv += ["--table", quote_pattern(schema, table)]
        if unit.get("resolved_schemas") or unit.get("resolved_tables"):
            argv.append("--strict-names")
        if opts["format"] != "plain":
            argv += compress_args(opts)
            if not self.remote:  # in a pod, the archive comes back on stdout
                argv += ["--file", output]
        if opts["format"] == "directory" and opts["jobs"] > 1:
            argv += ["--jobs", str(opts["jobs"])]
        return argv + opts["extra_args"]

    def make_backup(self, unit, opts, repo, snapshot_conn=None, snapshot=None):
        """Dump one unit to a temp name, hash it, rename it into place and write its manifest.

        With ``snapshot`` (exported by ``snapshot_conn``'s open transaction) pg_dump and the row
        counts see exactly the same data; several units of one run share it.
        """
        database = opts["database"]
        final = os.path.join(repo.path, unit["file"])
        partial = os.path.join(repo.path, "." + unit["file"] + naming.PARTIAL_MARKER + str(os.getpid()))
        started = utc_now()
        clock = time.monotonic()
        own_snapshot = counter = None
        counts = {}
        if unit["scope"] == "globals":
            snapshot_conn = snapshot = None
        try:
            if unit["scope"] != "globals" and snapshot_conn is None:
                own_snapshot, snapshot = self.open_snapshot(database)
                snapshot_conn = own_snapshot
            argv = self.dump_command(unit, opts, partial, snapshot)
            if snapshot_conn is not None and opts["count_rows"]:
                counter = threading.Thread(target=self.count_rows, args=(snapshot_conn, unit["table_rows"], counts))
                counter.start()
            try:
                digest = self.write_artifact(argv, opts, partial)
            except ToolError as exc:
                raise BackupError(f"Backup {unit['name']} of database \"{database}\" failed and left no file: {exc}") from None
            if counter is not None:
                counter.join()
                if "__error__" in counts:
                    raise BackupError(f"Counting rows for the manifest of {unit['name']} failed: {counts['__error__']}.")
            if os.path.lexists(final):
                raise BackupError(f"{final} appeared while the dump ran; refusing to overwrite it.")
            os.rename(partial, final)
            fsync_dir(repo.path)
        except BaseException:
            if counter is not None and counter.is_alive():
                snapshot_conn.cancel()  # the count must not outlive a failed dump
                counter.join()
            if os.path.lexists(partial):
                remove_path(partial)
            raise
        finally:
            if own_snapshot is not None:
                own_snapshot.close()
        manifest = self.new_manifest(unit, opts, final, digest, counts, snapshot is not None)
        manifest.update(started_at=iso(started), finished_at=iso(utc_now()),
                        duration_seconds=round(time.monotonic() - clock, 3))
        repo.write_manifest(manifest)
        return manifest

    def write_artifact(self, argv, opts, partial):
        """Run the dump into ``partial`` (mode 0600/0700); return (sha256, per-file digests or None)."""
        fmt = opts["format"]
        tool = os.path.basename(argv[0])
        if fmt == "plain" or self.remote:
            return self.stream_to_file(argv, opts, partial, tool), None
        self.session.run([argv], tool, opts["database"])
        if fmt == "directory":
            os.chmod(partial, 0o700)
            files = directory_digests(partial)
            for relative in files:
                os.chmod(os.path.join(partial, relative), 0o600)
            return manifests.directory_digest(files), files
        os.chmod(partial, 0o600)
        return sha256_file(partial), None

    def stream_to_file(self, argv, opts, partial, tool):
        """Plain dumps and dumps in a pod arrive on stdout: compress (zlib or a zstd pipe), hash, write, fsync."""
        plain = opts["format"] == "plain"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            writer = Writer(handle, opts["level"] if plain and opts["compress_mode"] == "zlib" else None)
            chain = [argv] + ([compressor_argv(opts)] if plain and opts["compress_mode"] == "pipe" else [])
            transports = [self.transport()] + [None] * (len(chain) - 1)
            self.session.run(chain, tool, opts["database"], consumer=writer, transports=transports)
            writer.close()
            handle.flush()
            os.fsync(handle.fileno())
        return writer.digest.hexdigest()

    def new_manifest(self, unit, opts, final, digest, counts, consistent):
        """The manifest of a finished artifact (times are added by the caller)."""
        session = self.session
        sha256, files = digest
        return {
            "tool": manifests.TOOL, "manifest_version": manifests.MANIFEST_VERSION,
            "name": unit["name"], "label": opts["label"], "database": opts["database"],
            "scope": unit["scope"], "scope_id": unit["scope_id"],
            "schemas": unit.get("resolved_schemas", []),
            "tables": [display_name(s, t) for s, t in unit.get("resolved_tables", [])],
            # A table dump does not create its schemas; restores create them when missing.
            "table_schemas": sorted({schema for schema, _table in unit.get("resolved_tables", [])}),
            "set_key": naming.set_key(opts["label"], opts["database"], unit["scope_id"]),
            "format": opts["format"], "compression": opts["compression"], "compression_level": opts["level"],
            "file": unit["file"], "files": files, "size": artifact_size(final), "sha256": sha256,
            "server_version": session.server_version, "pg_dump_version": version_text(session.tools["version"]),
            "encoding": unit.get("encoding"), "host": session.params["host"], "port": session.params["port"],
            "row_counts": {key: value for key, value in counts.items() if key != "__error__"},
            "row_counts_consistent": consistent,
            "verification": {"level": "none", "status": "skipped"},
        }

    def open_snapshot(self, database):
        """A REPEATABLE READ transaction whose exported snapshot pg_dump shares, so counts match the dump."""
        conn = self.session.connect(database, autocommit=False)
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            cursor = conn.cursor()
            try:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            except DatabaseError as exc:
                conn.rollback()
                self.session.warnings.append(f"Could not export a snapshot ({first_line(exc)}); row counts are taken "
                                             "separately and may differ from the dump if the data changes meanwhile.")
                snapshot = None
            cursor.close()
        except BaseException:
            conn.close()
            raise
        return conn, snapshot

    @staticmethod
    def count_rows(conn, table_rows, counts):
        try:
            cursor = conn.cursor()
            for row in table_rows:
                cursor.execute(count_query(row["schema"], row["table"]))
                counts[display_name(row["schema"], row["table"])] = cursor.fetchone()[0]
            cursor.close()
        except Exception as exc:  # reported by the caller after the dump finished
            counts["__error__"] = first_line(exc)
