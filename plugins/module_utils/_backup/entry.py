# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""From a runner to the task's end: exit_json with its result, or fail_json with one sentence and the partial result.

pg_backup and pg_restore share it, so both turn the same expected errors into the same shape of failure.
"""

from __future__ import annotations

import os

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import RetentionError
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import os_error_sentence
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import DatabaseError, PostgresError, first_line
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import ToolError
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import SelectionError
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error

# Failures whose message is already one sentence naming the object and the cause.
EXPECTED_ERRORS = (BackupError, ToolError, S3Error, PostgresError, SelectionError, naming.NamingError, RetentionError,
                   IntervalError, manifests.ManifestError)


def run_to_exit(module, runner):
    """Run ``runner.execute()`` and end the task; warnings collected on the way are shown either way."""
    # Backups, manifests, safety dumps and downloads hold database contents: only the owner may read them.
    os.umask(0o077)
    try:
        result = runner.execute()
    except EXPECTED_ERRORS as exc:
        _warn(module, runner)
        module.fail_json(msg=str(exc), **runner.result)
    except OSError as exc:  # dest or safety_dir under /proc, a file where a folder should be, a full disk
        _warn(module, runner)
        module.fail_json(msg=os_error_sentence(exc), **runner.result)
    except DatabaseError as exc:
        _warn(module, runner)
        module.fail_json(msg=f"PostgreSQL error on database \"{module.params['database']}\": {first_line(exc)}.",
                         **runner.result)
    _warn(module, runner)
    module.exit_json(**result)


def _warn(module, runner):
    for warning in runner.warnings:
        module.warn(warning)
