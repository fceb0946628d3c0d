#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_backup_info
short_description: List the PostgreSQL backups made by pg_backup, locally and in S3, with their freshness
version_added: 0.1.0
description:
  - Reads the manifests that M(sre.runbooks.pg_backup) writes beside every backup, in a local directory and/or under an
    S3 prefix, and returns the backups newest first, merged by name (a backup present in both places is one entry).
  - Per backup set (same label, database and scope) it returns the number of backups, their total size, and the newest
    backup and the newest good one with their ages, which is what a daily health check asserts on.
  - A backup whose verification failed has status V(unverified); a local manifest whose file is gone (and that has no S3
    copy) has status V(missing_data). Files without a manifest are not backups and are ignored.
  - Connects to no database; only reads files and S3 objects.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.s3
  - sre.runbooks.attributes
  - sre.runbooks.attributes.info_module
options:
  dest:
    description:
      - Local directory holding the backups, the O(sre.runbooks.pg_backup#module:dest) given to pg_backup.
      - At least one of O(dest) and O(s3) is required. A directory that does not exist holds no backups.
    type: path
  label:
    description:
      - Only list backups with this label.
    type: str
  database:
    description:
      - Only list backups of this database.
    type: str
seealso:
  - module: sre.runbooks.pg_backup
  - module: sre.runbooks.pg_restore
"""

EXAMPLES = r"""
---
- name: Backups of the platform database, locally and in S3
  sre.runbooks.pg_backup_info:
    dest: /var/backups/postgres
    database: platform
    s3:
      bucket: platform-backups
      prefix: postgres/daily
  register: backups

- name: Fail when the newest good production backup is older than a day
  ansible.builtin.assert:
    that:
      - backups.sets['daily/platform/schema:production'].latest_ok_age_seconds < 86400
    fail_msg: "No good production backup in the last 24 hours (newest: {{ backups.sets['daily/platform/schema:production'].latest_ok }})."

- name: Restore the newest good backup of any set
  sre.runbooks.pg_restore:
    database: platform_drill
    src: "{{ backups.latest.local.path }}"
  when: backups.latest is not none
"""

RETURN = r"""
backups:
  description: Every backup found, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Base name of the backup.
      type: str
      sample: daily-platform-production-20250115T020000Z
    set_key:
      description: The backup set, C(label/database/scope_id).
      type: str
      sample: daily/platform/schema:production
    label:
      description: Label of the backup.
      type: str
    database:
      description: Database dumped.
      type: str
    scope:
      description: V(database), V(schemas), V(tables) or V(globals).
      type: str
    schemas:
      description: Schemas in the backup.
      type: list
      elements: str
    format:
      description: Archive format.
      type: str
    file:
      description: File or directory name of the artifact.
      type: str
    size:
      description: Size in bytes.
      type: int
    sha256:
      description: sha256 recorded in the manifest.
      type: str
    finished_at:
      description: UTC end of the dump (ISO 8601).
      type: str
    age_seconds:
      description: Seconds since the backup finished.
      type: float
    rows_total:
      description: Sum of the row counts recorded at dump time.
      type: int
    verification_status:
      description: V(passed), V(failed) or V(skipped).
      type: str
    status:
      description: V(ok), V(unverified) or V(missing_data).
      type: str
    locations:
      description: Where the backup is, V(local) and/or V(s3).
      type: list
      elements: str
    local:
      description: C(path), C(manifest_path) and C(exists) of the local copy, or null.
      type: dict
    s3:
      description: C(bucket), C(key), C(manifest_key), C(url) and upload details of the S3 copy, or null. C(key) is what
        O(sre.runbooks.pg_restore#module:s3_key) takes.
      type: dict
sets:
  description: Per set key, the number of backups, their total size, the newest backup and the newest one with status
    V(ok), with their ages in seconds.
  returned: always
  type: dict
  sample: {"daily/platform/full": {"count": 3, "size": 5242880, "latest": "daily-platform-full-20250115T020000Z",
           "latest_age_seconds": 3600.0, "latest_ok": "daily-platform-full-20250115T020000Z",
           "latest_ok_age_seconds": 3600.0}}
latest:
  description: The newest backup with status V(ok) (of any set listed), like an element of RV(backups); null when none.
  returned: always
  type: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._backup.args import INFO_RANGES, info_argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._backup.info import list_for_module


def main():
    module = RunbookModule(argument_spec=info_argument_spec(), supports_check_mode=True, ranges=INFO_RANGES,
                           required_one_of=[("dest", "s3")])
    module.run(lambda: list_for_module(module), "pg_backup_info")


if __name__ == "__main__":
    main()
