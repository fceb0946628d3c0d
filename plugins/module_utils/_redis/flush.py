# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's operation=flush: FLUSHDB or FLUSHALL, only with the matching confirm word.

The confirm word names what goes (``db<N>`` or ``all``), so a flush copied from another task or
left in module_defaults cannot empty the wrong thing.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import RedisModuleError
from ansible_collections.sre.runbooks.plugins.module_utils._redis.report import keyspace


def run_flush(maintainer):
    params = maintainer.params
    scope = params["flush_scope"]
    db = params["db"]
    expected = f"db{db}" if scope == "db" else "all"
    what = f"database {db}" if scope == "db" else "all databases"
    if params["confirm"] != expected:
        given = "no confirm" if params["confirm"] in (None, "") else f"confirm={params['confirm']}"
        raise RedisModuleError(f"Refusing to flush {what} of Redis at {maintainer.address}: set confirm={expected} to "
                               f"confirm (got {given}).")
    if scope == "db":
        databases = {f"db{db}": int(maintainer.call("DBSIZE", maintainer.client.dbsize))}
    else:
        databases = {name: counts["keys"] for name, counts in keyspace(maintainer.server_info("keyspace")).items()}
    total = sum(databases.values())
    if total:
        maintainer.refuse_read_only_replica()
    if total and not maintainer.check_mode:
        args = ["FLUSHDB" if scope == "db" else "FLUSHALL"]
        if params["flush_async"]:
            args.append("ASYNC")
        maintainer.command(" ".join(args), *args)
    maintainer.result["flush"] = {"scope": scope, "databases": databases, "keys_removed": total}
    maintainer.result["changed"] = total > 0
    maintainer.set_diff({"keys": databases}, {"keys": {name: 0 for name in databases}})
