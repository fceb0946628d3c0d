#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_restore
short_description: Restore a backup made by pg_backup safely - checksum first, safety dump, row-count check
version_added: 0.1.0
description:
  - Restores a backup made by M(sre.runbooks.pg_backup), from a local file (O(src)) or from S3 (O(s3_key)), into
    O(database).
  - The backup's sha256 is checked against its manifest before anything else; a backup without a manifest, or whose
    file does not match it, is never restored. An S3 backup is downloaded into O(dest), checked while it arrives, and
    removed after the restore.
  - A missing target is created. A target that already holds the backup's objects is refused unless O(force=true); then
    a safety dump of those objects is taken and verified readable before anything is dropped. For a whole-database
    backup the target database is dropped and created again; for schema backups its schemas are dropped (C(CASCADE));
    for table backups the tables.
  - Every table's row count is compared with the manifest afterwards; a difference fails the task and names the safety
    dump that holds the previous data.
  - A globals backup (roles and tablespaces) is replayed into the cluster; "already exists" errors are counted, not fatal.
  - Passwords reach C(pg_dump), C(pg_restore) and C(psql) through the environment (C(PGPASSWORD)), never on a command line.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.postgres
  - sre.runbooks.postgres.client_programs
  - sre.runbooks.s3
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details:
      - Reads the manifest, checks the sha256 of a local O(src), inspects the target and returns the restore it would do
        (or the refusal). Nothing is downloaded, dumped, dropped or restored.
  diff_mode:
    support: full
    details:
      - Shows whether the target database exists, how many objects it holds and its restore marker, before and after.
  idempotent:
    support: full
    details:
      - The backup's sha256 is recorded in the target database (the C(sre_runbooks.restored) setting); a repeated run
        whose target still carries that marker and still has the manifest's row counts does nothing.
options:
  database:
    description:
      - The database to restore into; created when absent.
  src:
    description:
      - The local backup to restore (its file or directory, or its manifest).
      - Exactly one of O(src) and O(s3_key) is required.
    type: path
  s3_key:
    description:
      - The S3 key of the backup (or of its manifest), as returned in C(backups[].s3.key) by
        M(sre.runbooks.pg_backup_info) or M(sre.runbooks.pg_backup). The key is used as given, without O(s3.prefix).
      - Needs O(s3) (bucket and credentials) and O(dest).
    type: str
  dest:
    description:
      - Local directory the S3 backup is downloaded into (and removed from after the restore). Safety dumps are written
        here unless O(safety_dir) is set. Created with mode V(0700) when missing.
    type: path
  force:
    description:
      - Replace what the target already holds. For a whole-database backup the target database is dropped and created
        again; for schema backups its schemas are dropped (C(CASCADE)); for table backups the tables.
      - A safety dump of the objects to be replaced is written to O(safety_dir) first and verified readable.
    type: bool
    default: false
  terminate_sessions:
    description:
      - End the other sessions connected to the target database before replacing objects (and use
        C(DROP DATABASE ... WITH (FORCE))).
    type: bool
    default: false
  safety_dir:
    description:
      - Directory for the safety dump taken before O(force=true) replaces objects. Defaults to O(dest), else the
        directory of O(src).
    type: path
  jobs:
    description:
      - Restores of custom and directory archives run C(pg_restore --jobs) with this many jobs.
      - Restores with more than one job are not done in a single transaction.
    type: int
    default: 1
  maintenance_database:
    description:
      - Database used to create and drop the target database and to replay globals. It cannot be the target of a forced
        whole-database restore.
    type: str
    default: postgres
notes:
  - Run the module on a host that reaches the database (for example through a port-forward or a Service).
  - Restores of custom and directory archives with O(jobs=1), and plain restores, run in one transaction. A plain restore
    commits only when the whole script was read, so a truncated file cannot leave a half-restored database.
  - The safety dump is a custom-format archive labelled V(pre-restore) with its own manifest, so it can itself be
    restored with this module.
requirements:
  - The PostgreSQL client programs (C(pg_dump), C(pg_restore), C(psql)) of the server's major version or newer.
  - C(gzip) or C(zstd) for compressed plain dumps.
  - boto3 when O(s3) is used.
seealso:
  - module: sre.runbooks.pg_backup
    description: Makes the backups this module restores.
  - module: sre.runbooks.pg_backup_info
    description: Lists the backups locally and in S3, newest first; its C(s3.key) and C(local.path) feed this module.
"""

EXAMPLES = r"""
---
- name: Find the backups of the platform database
  sre.runbooks.pg_backup_info:
    database: platform
    s3:
      bucket: platform-backups
  register: backups

- name: Restore the newest production backup into a copy, replacing it if it exists
  sre.runbooks.pg_restore:
    database: platform_restore_test
    s3_key: "{{ backups.backups | selectattr('schemas', 'equalto', ['production']) | map(attribute='s3.key') | first }}"
    s3:
      bucket: platform-backups
    dest: /var/tmp/restores
    force: true
    terminate_sessions: true
    jobs: 2

- name: Restore a local backup into a new database (refused if the database already holds its tables)
  sre.runbooks.pg_restore:
    database: platform_drill
    src: /var/backups/postgres/daily-platform-full-20250115T020000Z.dump
"""

RETURN = r"""
restore:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: dict
  contains:
    action:
      description: V(none) (the target already holds this backup), V(restore) (into a missing or empty target) or
        V(replace) (forced). Null when the restore was refused.
      type: str
    backup:
      description: Name of the backup restored.
      type: str
    scope:
      description: Scope of the backup, V(database), V(schemas), V(tables) or V(globals).
      type: str
    source:
      description: Where the backup came from, C(location) (V(local) or V(s3)) with C(path) and C(manifest_path), or
        C(bucket), C(key) and C(manifest_key).
      type: dict
    target_database:
      description: The database restored into.
      type: str
    target_state:
      description: What the target held before, C(exists), C(owner), C(objects), C(schemas), C(relations) (at most 20),
        C(marker) and C(identical).
      type: dict
    checksum:
      description: V(passed) once the artifact matched the manifest's sha256.
      type: str
      returned: when the restore ran
    safety_backup:
      description: The safety dump taken before replacing objects (like an element of RV(sre.runbooks.pg_backup#module:backups)),
        or null.
      type: dict
    row_counts:
      description: Row counts compared with the manifest (C(ok), C(tables), C(matched), C(mismatched), C(missing)).
      type: dict
    sessions_terminated:
      description: Sessions ended because of O(terminate_sessions).
      type: int
      returned: when O(terminate_sessions=true) and the target existed
    errors_ignored:
      description: For a globals backup, the number of "already exists" errors that were ignored.
      type: int
      returned: when a globals backup was restored
    duration_seconds:
      description: Time the restore took.
      type: float
      returned: when the restore ran
commands:
  description: The programs run, without secrets (connection settings are passed in the environment).
  returned: always
  type: list
  elements: str
  sample: ["/usr/lib/postgresql/15/bin/pg_restore --no-password --exit-on-error --dbname platform_drill --single-transaction
            /var/backups/full-20250115T020000Z.dump"]
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._backup.args import RESTORE_RANGES, restore_argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._backup.entry import run_to_exit
from ansible_collections.sre.runbooks.plugins.module_utils._backup.restore import RestoreRunner


def main():
    module = RunbookModule(argument_spec=restore_argument_spec(), supports_check_mode=True, ranges=RESTORE_RANGES,
                           mutually_exclusive=[("src", "s3_key")])
    module.run(lambda: run_to_exit(module, RestoreRunner(module)), "pg_restore")


if __name__ == "__main__":
    main()
