# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Moving an RDB snapshot into a local file: from the server's own file, or over the replication stream.

Either way the bytes go through a temporary file next to the destination, hashed on the fly,
checked (RDB header, then redis-check-rdb when installed), fsynced and renamed, so ``dest``
is never a half-written or corrupt snapshot.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
import time

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    RedisModuleError,
    connection_cause,
    open_raw_connection,
    refusal_message,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.report import rdb_version

_COPY_CHUNK = 1 << 20


class RdbTransfer:
    """Writes one snapshot of the Redis server at ``address`` (connection options in ``params``)."""

    def __init__(self, module, params, address):
        self.module = module
        self.params = params
        self.address = address

    def write_atomically(self, path, fill):
        """Write ``path`` through a temporary file in the same directory: fill(handle) -> sha256 object.

        The file is checked, fsynced, made 0600 and renamed; any failure removes the temporary file.
        """
        directory, name = os.path.split(os.path.abspath(path))
        fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                digest = fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(partial, 0o600)
            with open(partial, "rb") as handle:
                version = rdb_version(handle.read(9))
            if version is None:
                raise RedisModuleError(f"The snapshot received from Redis at {self.address} is not an RDB file; "
                                       f"{path} was not written.")
            verified_with = self.verify_rdb(partial, path)
            os.replace(partial, path)
            partial = None
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            if partial and os.path.exists(partial):
                os.unlink(partial)
        return {"path": path, "size_bytes": os.path.getsize(path), "sha256": digest.hexdigest(), "rdb_version": version,
                "verified_with": verified_with}

    def verify_rdb(self, partial, path):
        if not self.params["verify"]:
            return "header"
        checker = self.module.get_bin_path("redis-check-rdb")
        if not checker:
            return "header"
        proc = subprocess.run([checker, partial], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = next((line.strip() for line in proc.stdout.splitlines() if line.startswith("[offset")
                           and "Checking" not in line), "see redis-check-rdb")
            raise RedisModuleError(f"The snapshot from Redis at {self.address} failed redis-check-rdb ({detail}); "
                                   f"{path} was not written.")
        return "redis-check-rdb"

    def copy_file(self, source, handle):
        digest = hashlib.sha256()
        try:
            with open(source, "rb") as src:
                for chunk in iter(functools.partial(src.read, _COPY_CHUNK), b""):
                    digest.update(chunk)
                    handle.write(chunk)
        except OSError as exc:
            raise RedisModuleError(f"Cannot read the RDB file {source} of Redis at {self.address}: {exc.strerror}.") from exc
        return digest

    def replication_copy(self, handle, timeout):
        """Receive a snapshot over the replication protocol (REPLCONF rdb-only, SYNC) into ``handle``."""
        deadline = time.monotonic() + timeout
        digest = hashlib.sha256()
        try:
            conn = open_raw_connection(self.params)
        except RedisModuleError as exc:
            raise RedisModuleError(str(exc)) from exc
        try:
            try:
                conn.command("REPLCONF", "rdb-only", "1")
            except RedisModuleError:
                pass  # Redis < 7: the server streams the backlog after the RDB; we stop reading at its end anyway
            conn.send("SYNC")
            conn.skip_newlines()
            header = conn.read_line()
            if header.startswith(b"-"):
                raise RedisModuleError(refusal_message(self.address, "SYNC (the replication-stream copy)",
                                                       header[1:].decode(errors="replace")))
            if not header.startswith(b"$"):
                raise RedisModuleError(f"Redis at {self.address} answered SYNC with {header[:40]!r}, not a snapshot.")
            if header.startswith(b"$EOF:"):
                self._stream_until_mark(conn, handle, digest, header[5:], deadline)
            else:
                self._stream_sized(conn, handle, digest, int(header[1:]), deadline)
        except (OSError, ValueError) as exc:
            raise RedisModuleError(f"The snapshot transfer from Redis at {self.address} broke off: "
                                   f"{connection_cause(self.params, exc, connecting=False)}.") from exc
        finally:
            conn.close()
        return digest

    def _check_deadline(self, deadline):
        if time.monotonic() > deadline:
            raise RedisModuleError(f"The snapshot transfer from Redis at {self.address} did not finish within "
                                   f"{self.params['wait_timeout']} s (wait_timeout).")

    def _stream_sized(self, conn, handle, digest, size, deadline):
        remaining = size
        for chunk in conn.read_chunks():
            chunk = chunk[:remaining]
            digest.update(chunk)
            handle.write(chunk)
            remaining -= len(chunk)
            if remaining <= 0:
                return
            self._check_deadline(deadline)

    def _stream_until_mark(self, conn, handle, digest, mark, deadline):
        tail = b""
        for chunk in conn.read_chunks():
            data = tail + chunk
            if data.endswith(mark):
                body = data[:-len(mark)]
                digest.update(body)
                handle.write(body)
                return
            keep = len(mark)
            body, tail = data[:-keep], data[-keep:]
            digest.update(body)
            handle.write(body)
            self._check_deadline(deadline)
