# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's operations by name, each a function of the running ``RedisMaintainer`` (maintainer.py)."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._redis.backup import BackupRun
from ansible_collections.sre.runbooks.plugins.module_utils._redis.config_runner import ConfigRun
from ansible_collections.sre.runbooks.plugins.module_utils._redis.flush import run_flush
from ansible_collections.sre.runbooks.plugins.module_utils._redis.memory import run_memory, run_purge
from ansible_collections.sre.runbooks.plugins.module_utils._redis.sweep_runner import run_ttl_sweep

# operation -> function(maintainer) that fills maintainer.result; maintain_args.OPERATIONS lists the same keys.
OPERATION_RUNNERS = {
    "backup": BackupRun.run_on,
    "memory": run_memory,
    "ttl_sweep": run_ttl_sweep,
    "purge": run_purge,
    "config": ConfigRun.run_on,
    "flush": run_flush,
}
