# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Backup decisions of redis_maintain that need no server: how to get the snapshot, and the file's name."""

from __future__ import annotations

import datetime
import os

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import RedisModuleError

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def choose_backup_method(requested, local, readable, bgsave):
    """(method, reason) for a backup, or raise RedisModuleError when ``requested`` cannot work here."""
    if requested == "replication":
        return "replication", "requested"
    if requested == "copy":
        if not local:
            raise RedisModuleError("backup_method=copy needs the server on this host (a loopback address or unix_socket); "
                                   "use backup_method=replication for a remote server.")
        if not bgsave:
            raise RedisModuleError("backup_method=copy needs bgsave=true, or the copied file may be stale.")
        if not readable:
            raise RedisModuleError("backup_method=copy cannot read the server's RDB file here (CONFIG GET dir is refused, "
                                   "or the file or its directory is not readable by this user); use "
                                   "backup_method=replication.")
        return "copy", "requested"
    if not local:
        return "replication", "the server is not on this host"
    if not bgsave:
        return "replication", "bgsave=false"
    if not readable:
        return "replication", "the server's RDB file is not readable here"
    return "copy", "the server's RDB file is readable on this host"


def backup_file_name(params, now=None):
    """redis-<host>-<port>-<UTC timestamp>.rdb, safe for file systems and S3 keys."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if params.get("unix_socket"):
        where = os.path.basename(params["unix_socket"]).replace(".sock", "") or "socket"
    else:
        where = f"{params.get('host') or 'localhost'}-{params.get('port')}"
    safe = "".join(char if char.isalnum() or char in "._-" else "_" for char in where)
    return f"redis-{safe}-{now.strftime(TIMESTAMP_FORMAT)}.rdb"
