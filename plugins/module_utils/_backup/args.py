# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Argument specs of pg_backup, pg_restore and pg_backup_info, built from the backends' COMMON_ARGS.

The pieces two modules share (the retention suboptions, the programs and scratch options) are
defined once here, so the two specs cannot drift apart.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import POSTGRES_COMMON_ARGS, POSTGRES_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3_COMMON_ARGS, S3_RANGES

BACKUP_STATES = ["present", "pruned"]
RETENTION_SPEC = {"keep_last": {"type": "int"}, "max_age_days": {"type": "float"}, "min_keep": {"type": "int", "default": 1}}

# Options of both pg_backup and pg_restore: where the files go, the client programs, the database
# used to create and drop databases, and the pg_restore parallelism.
PROGRAM_OPTIONS = {
    "dest": {"type": "path"},
    "jobs": {"type": "int", "default": 1},
    "bin_dir": {"type": "path"},
    "maintenance_database": {"type": "str", "default": "postgres"},
}

# Bounds on numbers (RunbookModule ranges). jobs forks that many pg_dump/pg_restore workers, each a
# database connection: more than 64 is a typo, not a plan. Retention counts have their own checks.
BACKUP_RANGES = dict(POSTGRES_RANGES, **S3_RANGES, **{"jobs": (1, 64), "retention.max_age_days": (None, None),
                                                      "s3_retention.max_age_days": (None, None)})
RESTORE_RANGES = dict(POSTGRES_RANGES, **S3_RANGES, **{"jobs": (1, 64)})
INFO_RANGES = dict(S3_RANGES)


def transport_spec():
    """The suboptions of pg_backup's ``transport``: where pg_dump runs, plus the Kubernetes connection."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        type={"type": "str", "default": "local", "choices": ["local", "kubernetes"]},
        namespace={"type": "str", "default": "default"},
        pod={"type": "str"},
        container={"type": "str"},
    )


def backup_argument_spec():
    return merge_argspecs(
        POSTGRES_COMMON_ARGS, S3_COMMON_ARGS, PROGRAM_OPTIONS,
        state={"type": "str", "default": "present", "choices": BACKUP_STATES},
        label={"type": "str", "default": "backup"},
        scope={"type": "str", "default": "database", "choices": list(naming.SCOPES)},
        schemas={"type": "list", "elements": "str"},
        per_schema={"type": "bool", "default": True},
        tables={"type": "list", "elements": "str"},
        format={"type": "str", "default": "custom", "choices": list(naming.FORMATS)},
        compression={"type": "str", "default": "gzip", "choices": list(naming.COMPRESSIONS)},
        compression_level={"type": "int"},
        name_template={"type": "str", "default": naming.DEFAULT_TEMPLATE},
        extra_args={"type": "list", "elements": "str", "default": []},
        lock_wait_timeout={"type": "str"},
        count_rows={"type": "bool", "default": True},
        verify={"type": "str", "default": "archive", "choices": list(naming.VERIFY_LEVELS)},
        keep_local={"type": "bool", "default": True},
        retention={"type": "dict", "options": RETENTION_SPEC},
        s3_retention={"type": "dict", "options": RETENTION_SPEC},
        transport={"type": "dict", "options": transport_spec()},
    )


def restore_argument_spec():
    return merge_argspecs(
        POSTGRES_COMMON_ARGS, S3_COMMON_ARGS, PROGRAM_OPTIONS,
        src={"type": "path"},
        s3_key={"type": "str", "no_log": False},
        force={"type": "bool", "default": False},
        terminate_sessions={"type": "bool", "default": False},
        safety_dir={"type": "path"},
    )


def info_argument_spec():
    return merge_argspecs(S3_COMMON_ARGS, dest={"type": "path"}, label={"type": "str"}, database={"type": "str"})
