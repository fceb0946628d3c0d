# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's runner: one connection, one operation picked from an explicit table.

``RedisMaintainer`` holds what every operation needs (the client, the options, the INFO read at
the start, the result being built) and turns a refused call into one sentence. The operations
themselves live one concern per file (backup, memory, sweep_runner, config_runner, flush) as
functions of the maintainer, so each can be read and tested on its own; operations.py names them.
A caller that needs one operation (health_check_info's memory read) passes only that one, so its
module does not carry the others' code.
"""

from __future__ import annotations

import time

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    RedisModuleError,
    connect,
    connection_cause,
    redis_error_text,
    redis_library,
    refusal_message,
    server_address,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.maintain_args import warn_unused_options
from ansible_collections.sre.runbooks.plugins.module_utils._redis.report import is_read_only_replica, normalise_role


class RedisMaintainer:
    """Runs one operation against one server and fills ``self.result``."""

    def __init__(self, module, client, runners):
        self.module = module
        self.runners = runners
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.redis = redis_library(module)
        self.address = server_address(self.params)
        self.info = {}
        self.result = {"changed": False, "operation": self.params["operation"]}

    def call(self, what, func, *args, **kwargs):
        """Run one client call; a server error becomes RedisModuleError naming ``what``."""
        try:
            return func(*args, **kwargs)
        except self.redis.exceptions.ResponseError as exc:
            raise RedisModuleError(refusal_message(self.address, what, exc)) from exc

    def command(self, what, *args):
        return self.call(what, self.client.execute_command, *args)

    def server_info(self, section=None):
        info = self.call("INFO", self.client.info, section) if section else self.call("INFO", self.client.info)
        self.info.update(info)
        return info

    def run(self):
        started = time.monotonic()
        info = self.server_info()
        self.result["server"] = {
            "address": self.address,
            "db": self.params["db"],
            "redis_version": str(info.get("redis_version", "")),
            "role": normalise_role(info.get("role")),
        }
        self.runners[self.params["operation"]](self)
        self.result["duration_s"] = round(time.monotonic() - started, 3)
        return self.result

    def refuse_read_only_replica(self):
        if not self.check_mode and is_read_only_replica(self.info):
            raise RedisModuleError(f"Redis at {self.address} is a read-only replica; run {self.params['operation']} "
                                   "against its primary.")

    def set_diff(self, before, after):
        if self.module._diff:
            self.result["diff"] = {"before": before, "after": after}


def run_maintenance(module, runners):
    """Check the connection options, run the operation (``runners``: operation name -> function of the
    maintainer, as operations.OPERATION_RUNNERS) and return the result; every failure is one sentence.

    The client is closed on every path. A failure after the maintainer started carries what it
    did so far (a sweep that loses the connection still reports the keys it gave a TTL).
    """
    if module.params["db"] < 0:
        module.fail_json(msg=f"db must be 0 or more, got {module.params['db']}.")
    if module.params["socket_timeout"] <= 0:
        module.fail_json(msg=f"socket_timeout must be more than 0 seconds, got {module.params['socket_timeout']}.")
    warn_unused_options(module)
    client = connect(module)
    redis = redis_library(module)
    maintainer = None
    try:
        maintainer = RedisMaintainer(module, client, runners)
        return maintainer.run()
    except RedisModuleError as exc:
        module.fail_json(msg=str(exc), **(maintainer.result if maintainer else {}))
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        module.fail_json(msg=f"Lost the connection to Redis at {server_address(module.params)} during "
                             f"{module.params['operation']}: {connection_cause(module.params, exc, connecting=False)}.",
                         **(maintainer.result if maintainer else {}))
    except redis.exceptions.RedisError as exc:
        module.fail_json(msg=f"Redis at {server_address(module.params)} failed during {module.params['operation']}: "
                             f"{redis_error_text(exc)}.", **(maintainer.result if maintainer else {}))
    finally:
        client.close()
