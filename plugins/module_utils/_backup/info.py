# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""pg_backup_info: the backups found locally and in S3, newest first, with per-set freshness."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup.manifest import ManifestError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import RetentionError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import LocalRepo, S3Repo, list_backups
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import os_error_sentence
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error, S3Store, ensure_boto3


def list_for_module(module):
    """List the backups the module's dest/s3, label and database select, and end the task."""
    params = module.params
    warnings = []
    try:
        # dest="" is a mistake (an unset variable), not "no local folder": LocalRepo refuses it.
        local = LocalRepo(params["dest"]) if params.get("dest") is not None else None
        s3 = None
        if params.get("s3"):
            ensure_boto3(module)
            s3 = S3Repo(S3Store(params["s3"]))
        result = list_backups(local, s3, warnings, label=params.get("label"), database=params.get("database"))
    except (S3Error, ManifestError, RetentionError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=os_error_sentence(exc, "read"))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)
