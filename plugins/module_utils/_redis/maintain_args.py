# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's argument spec (documented in the module's DOCUMENTATION) and its per-operation options."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import REDIS_COMMON_ARGS, REDIS_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3_COMMON_ARGS, S3_RANGES

OPERATIONS = ["backup", "memory", "ttl_sweep", "purge", "config", "flush"]

REQUIRED_IF = [("operation", "ttl_sweep", ["patterns", "ttl"]), ("operation", "backup", ["dest"]),
               ("operation", "config", ["settings"])]

# Options that belong to one operation; setting them for another one earns a warning.
OPTION_OWNERS = {
    "dest": "backup", "backup_method": "backup", "bgsave": "backup", "wait_timeout": "backup", "verify": "backup",
    "s3": "backup", "big_keys": "memory", "big_keys_sample": "memory", "patterns": "ttl_sweep", "ttl": "ttl_sweep",
    "batch_size": "ttl_sweep", "max_keys": "ttl_sweep", "rate_limit": "ttl_sweep", "sweep_method": "ttl_sweep",
    "settings": "config", "rewrite": "config", "flush_scope": "flush", "confirm": "flush", "flush_async": "flush",
}


# Bounds on numbers (RunbookModule ranges): NaN and runaway values are refused in one sentence.
# (ttl, batch_size, big_keys, db and wait_timeout have their own checks in the runners.)
RANGES = dict(REDIS_RANGES, **S3_RANGES, **{
    "big_keys_sample": (0, 10 ** 9),
    "max_keys": (0, 10 ** 12),
    "rate_limit": (1, 10 ** 9),
})


def argument_spec():
    return merge_argspecs(
        REDIS_COMMON_ARGS,
        S3_COMMON_ARGS,
        operation={"type": "str", "required": True, "choices": OPERATIONS},
        dest={"type": "path"},
        backup_method={"type": "str", "default": "auto", "choices": ["auto", "copy", "replication"]},
        bgsave={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 3600},
        verify={"type": "bool", "default": True},
        big_keys={"type": "int", "default": 0, "no_log": False},
        big_keys_sample={"type": "int", "default": 10000, "no_log": False},
        patterns={"type": "list", "elements": "str"},
        ttl={"type": "int"},
        batch_size={"type": "int", "default": 1000},
        max_keys={"type": "int", "no_log": False},
        rate_limit={"type": "int"},
        sweep_method={"type": "str", "default": "auto", "choices": ["auto", "script", "pipeline"]},
        settings={"type": "dict"},
        rewrite={"type": "bool", "default": False},
        flush_scope={"type": "str", "default": "db", "choices": ["db", "all"]},
        confirm={"type": "str"},
        flush_async={"type": "bool", "default": False},
    )


def warn_unused_options(module):
    """Warn about options that the chosen operation ignores (they may come from module_defaults)."""
    spec = argument_spec()
    operation = module.params["operation"]
    for name, owner in OPTION_OWNERS.items():
        value = module.params.get(name)
        if owner != operation and value is not None and value != spec[name].get("default"):
            module.warn(f"Option {name} is only used by operation={owner}; ignored for operation={operation}.")
