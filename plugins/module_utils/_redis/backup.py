# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's operation=backup: a fresh BGSAVE, the snapshot into dest, then optionally S3.

How the snapshot is fetched (the server's RDB file, or the replication stream) is decided by the
pure backup_plan.py; the bytes are moved and checked by rdb_transfer.py.
"""

from __future__ import annotations

import os
import time

from ansible_collections.sre.runbooks.plugins.module_utils._redis.backup_plan import backup_file_name, choose_backup_method
from ansible_collections.sre.runbooks.plugins.module_utils._redis.config import config_reply
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    RedisModuleError,
    is_local_server,
    is_not_permitted,
    refusal_message,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.operation import MaintainerOperation
from ansible_collections.sre.runbooks.plugins.module_utils._redis.rdb_transfer import RdbTransfer
from ansible_collections.sre.runbooks.plugins.module_utils._redis.report import bgsave_state, poll_interval
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error, S3Store, ensure_boto3


class BackupRun(MaintainerOperation):
    """One operation=backup; fills ``maintainer.result["backup"]`` as it goes."""

    def run(self):
        params = self.params
        path = self.destination()
        store = self.open_store()
        rdb_file, readable = self.server_rdb_file()
        method, reason = choose_backup_method(params["backup_method"], is_local_server(params), readable, params["bgsave"])
        backup = {"path": path, "method": method, "method_reason": reason, "bgsave": None}
        self.maintainer.result["backup"] = backup
        self.maintainer.result["changed"] = True
        if self.check_mode:
            if store is not None:
                key = store.key(os.path.basename(path))
                backup["s3"] = {"bucket": store.bucket, "key": key, "url": store.url(key)}
            return
        if params["bgsave"]:
            backup["bgsave"] = self.bgsave_and_wait(params["wait_timeout"], optional=method == "replication")
        started = time.monotonic()
        transfer = RdbTransfer(self.module, params, self.address)
        if method == "copy":
            written = transfer.write_atomically(path, lambda handle: transfer.copy_file(rdb_file, handle))
        else:
            written = transfer.write_atomically(path, lambda handle: transfer.replication_copy(handle, params["wait_timeout"]))
        backup.update(written)
        backup["transfer_s"] = round(time.monotonic() - started, 3)
        if store is not None:
            self.upload(store, path, backup)

    def destination(self):
        """The file to write: dest, or a new name inside dest when it is a directory; checked before any work."""
        params = self.params
        if not params["dest"]:
            raise RedisModuleError("operation=backup needs dest, the file or directory to write the RDB snapshot to.")
        if params["wait_timeout"] < 1:
            raise RedisModuleError(f"wait_timeout must be at least 1 second, got {params['wait_timeout']}.")
        path = params["dest"]
        if os.path.isdir(path):
            path = os.path.join(path, backup_file_name(params))
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise RedisModuleError(f"Cannot write the backup to {path}: the directory {directory} does not exist.")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise RedisModuleError(f"Cannot write the backup to {path}: the directory {directory} is not writable.")
        return path

    def open_store(self):
        if not self.params["s3"]:
            return None
        ensure_boto3(self.module)
        try:
            return S3Store(self.params["s3"])
        except S3Error as exc:
            raise RedisModuleError(str(exc)) from exc

    def upload(self, store, path, backup):
        try:
            backup["s3"] = store.upload_file(path, store.key(os.path.basename(path)), sha256_hex=backup["sha256"],
                                             metadata={"source": self.address, "rdb-version": backup["rdb_version"]},
                                             content_type="application/octet-stream")
        except S3Error as exc:
            raise RedisModuleError(f"The backup {path} was written, but {str(exc)[0].lower()}{str(exc)[1:]}") from exc

    def server_rdb_file(self):
        """(path of the server's RDB file or None, whether this process can read it after a BGSAVE)."""
        try:
            directory = self.client.execute_command("CONFIG", "GET", "dir")
            name = self.client.execute_command("CONFIG", "GET", "dbfilename")
        except self.maintainer.redis.exceptions.ResponseError:
            return None, False  # CONFIG is renamed or forbidden: only the replication stream is left
        directory, name = _only_value(directory), _only_value(name)
        if not directory or not name or not is_local_server(self.params):
            return None, False
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path, os.access(path, os.R_OK)
        # No snapshot yet: the BGSAVE creates it, readable if its directory is.
        return path, os.access(directory, os.R_OK | os.X_OK)

    def bgsave_and_wait(self, timeout, optional=False):
        """BGSAVE and wait for it; ``optional`` (a replication copy, which is a fresh snapshot by itself)
        turns a BGSAVE the server does not permit into a warning and None."""
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        before = self.maintainer.server_info("persistence")
        while int(before.get("rdb_bgsave_in_progress", 0)):  # someone else's save: let it finish, then take ours
            self.wait_a_little(started, deadline, "the BGSAVE already in progress")
            before = self.maintainer.server_info("persistence")
        try:
            self.client.execute_command("BGSAVE", "SCHEDULE")
        except self.maintainer.redis.exceptions.ResponseError as exc:
            if optional and is_not_permitted(exc):
                self.module.warn(f"{refusal_message(self.address, 'BGSAVE', exc)[:-1]}; the replication-stream copy "
                                 "is a fresh snapshot by itself, so the backup goes on without it.")
                return None
            if "already in progress" not in str(exc):
                raise RedisModuleError(refusal_message(self.address, "BGSAVE", exc)) from exc
        seen_running = False
        while True:
            now = self.maintainer.server_info("persistence")
            state = bgsave_state(before, now, seen_running)
            seen_running = seen_running or state == "running"
            if state == "done":
                break
            if state == "failed":
                raise RedisModuleError(f"BGSAVE on Redis at {self.address} failed (rdb_last_bgsave_status="
                                       f"{now.get('rdb_last_bgsave_status')}); see the server log.")
            self.wait_a_little(started, deadline, "BGSAVE")
        return {
            "duration_s": round(time.monotonic() - started, 3),
            "status": str(now.get("rdb_last_bgsave_status", "ok")),
            "last_save_time": int(now.get("rdb_last_save_time", 0) or 0),
        }

    def wait_a_little(self, started, deadline, what):
        if time.monotonic() >= deadline:
            raise RedisModuleError(f"{what} on Redis at {self.address} did not finish within "
                                   f"{self.params['wait_timeout']} s (wait_timeout).")
        time.sleep(poll_interval(time.monotonic() - started))


def _only_value(reply):
    """The value of a one-parameter CONFIG GET reply, or None when the server has no such parameter."""
    return next(iter(config_reply(reply).values()), None)
