#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_backup
short_description: Logical PostgreSQL backups that are checksummed, verified by test restore, shipped to S3 and pruned
version_added: 0.1.0
description:
  - Makes logical backups with C(pg_dump) (or C(pg_dumpall --globals-only)) of a whole database, of schemas (one backup
    per schema by default), of tables, or of the cluster's roles and tablespaces, and proves them usable.
  - A backup file appears under its final name only when it is complete (temp name, fsync, rename, mode V(0600)). Every
    program of the dump pipeline is checked, so a C(pg_dump) failure behind a compressor is never hidden; it fails the
    task with C(pg_dump)'s own error line and leaves no final file.
  - A JSON manifest beside each backup (C(<name>.manifest.json)) records the database, scope, schemas and tables, server
    and C(pg_dump) versions, format, compression, size, sha256 (per file for the directory format), the row count of
    every table B(in the same snapshot as the dump), start and end times, and the outcome of verification and upload.
  - O(verify) re-reads the backup after it is written. V(checksum) compares the sha256; V(archive) also reads the whole
    archive (C(pg_restore -f /dev/null) for the custom and directory formats, a full decompression for plain dumps, which
    must end with C(pg_dump)'s completion line); V(restore) restores into a scratch database, compares every table's row
    count with the manifest and drops the scratch database. A failed verification fails the task and marks the backup
    unverified in its manifest; it is then neither uploaded nor counted by retention's O(retention.min_keep).
  - With O(s3), each verified backup is uploaded with an S3 SHA256 additional checksum that is read back with a HEAD
    request and compared with the local file; the manifest is uploaded last, so a listed S3 backup is always complete.
    If the upload fails the local backup is kept and the task fails with the cause.
  - O(retention) and O(s3_retention) prune old backups of the same set (same O(label), O(database) and scope) locally and
    in S3 after a successful run; the backups just made are never pruned. O(state=pruned) applies retention alone.
  - M(sre.runbooks.pg_backup_info) lists the backups found locally and in S3 with their manifests, newest first, plus
    per-set freshness, for health checks.
  - M(sre.runbooks.pg_restore) restores a backup made by this module, after checking its sha256 against the manifest.
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
      - Connects, checks schemas, tables, programs and options, and returns the backups it would make (with row
        estimates) or the backups retention would prune. Nothing is written, uploaded or deleted.
  diff_mode:
    support: full
    details:
      - Shows the backup names of the affected sets (locally and in S3) before and after.
  idempotent:
    support: partial
    details:
      - O(state=present) makes a new backup on every run, by design, and always reports a change.
      - O(state=pruned) reports no change once nothing is left to prune.
options:
  state:
    description:
      - V(present) makes backups (then verifies, uploads and applies retention).
      - V(pruned) applies O(retention) and O(s3_retention) to the set selected by O(label), O(database) and the scope
        options, without making a backup.
      - To restore a backup, use M(sre.runbooks.pg_restore).
    type: str
    default: present
    choices: [present, pruned]
  database:
    description:
      - The database to back up.
  dest:
    description:
      - Local directory that holds the backups and their manifests. Created with mode V(0700) when missing.
      - Required for O(state=present).
    type: path
  label:
    description:
      - A word that names the backup set, such as V(daily) or V(pre-upgrade). It is part of the file name and of the set
        that retention counts.
    type: str
    default: backup
  scope:
    description:
      - V(database) dumps the whole database.
      - V(schemas) dumps the schemas in O(schemas), one backup per schema (or one for all of them with O(per_schema=false)).
      - V(tables) dumps the tables in O(tables) into one backup.
      - V(globals) dumps roles and tablespaces with C(pg_dumpall --globals-only), always as plain SQL. When the role
        is not a superuser (as on RDS or Cloud SQL), C(--no-role-passwords) is added and a warning says so; the
        backup then holds no password hashes (see C(docs/permissions.md)).
    type: str
    default: database
    choices: [database, schemas, tables, globals]
  schemas:
    description:
      - Schemas for O(scope=schemas). Names follow SQL rules (unquoted names fold to lower case); a schema that does not
        exist fails the task.
    type: list
    elements: str
  per_schema:
    description:
      - With O(scope=schemas), make a separate backup (file, manifest, retention set) for each schema. With V(false),
        one backup holds all of O(schemas).
    type: bool
    default: true
  tables:
    description:
      - Tables for O(scope=tables), as V(table) or V(schema.table); a name that does not exist fails the task.
    type: list
    elements: str
  format:
    description:
      - V(custom) is C(pg_dump)'s compressed archive; it allows selective and parallel restores.
      - V(directory) writes one file per table and allows parallel dumps (O(jobs)).
      - V(plain) is an SQL script, compressed by a C(gzip) or C(zstd) process behind C(pg_dump).
      - Ignored for O(scope=globals), which is always plain.
    type: str
    default: custom
    choices: [plain, custom, directory]
  compression:
    description:
      - V(gzip), V(zstd) or V(none). The custom and directory formats use C(pg_dump)'s own compression; V(zstd) there
        needs C(pg_dump) 16 or later. Plain dumps are piped through the C(gzip) or C(zstd) program.
    type: str
    default: gzip
    choices: [none, gzip, zstd]
  compression_level:
    description:
      - V(1) to V(9) for gzip (default V(6)), V(1) to V(19) for zstd (default V(3)).
    type: int
  jobs:
    description:
      - Parallelism. Directory-format dumps run C(pg_dump --jobs); the test restore of custom and directory archives
        (O(verify=restore)) runs C(pg_restore --jobs); plain zstd dumps use this many compression threads.
      - Test restores with more than one job are not done in a single transaction.
    type: int
    default: 1
  name_template:
    description:
      - Base name of each backup, without extension. Fields are C({label}), C({database}), C({scope}) (V(full), the schema
        name, V(schemas), V(tables) or V(globals)), C({timestamp}) (UTC, C(20250115T120000Z)) and C({date}).
      - Must contain C({timestamp}). When the name is taken, V(-2), V(-3)... is appended.
      - The extension follows the format, for example V(.dump), V(.dir), V(.sql.gz), V(.sql.zst) or V(.globals.sql.gz).
    type: str
    default: "{label}-{database}-{scope}-{timestamp}"
  extra_args:
    description:
      - More C(pg_dump) arguments, such as V(--exclude-table-data=audit.*) or V(--no-owner). Options the module sets
        itself (format, file, compression, jobs, connection, schema and table selection) are refused.
    type: list
    elements: str
    default: []
  lock_wait_timeout:
    description:
      - Give up when a table lock cannot be taken within this interval (C(pg_dump --lock-wait-timeout)), instead of
        waiting behind a long-running C(ACCESS EXCLUSIVE) lock. An interval such as V(30s) or V(5m).
    type: str
  count_rows:
    description:
      - Count the rows of every dumped table for the manifest, in the snapshot C(pg_dump) uses (an exported snapshot),
        while the dump runs. M(sre.runbooks.pg_restore) and O(verify=restore) compare against these counts.
    type: bool
    default: true
  verify:
    description:
      - How to check each new backup; see the description. Levels include the lower ones (V(restore) checks the sha256
        first, and the restore reads the whole archive).
      - V(restore) is not available for O(scope=globals).
      - A schema or table backup passes V(restore) only when it is self-contained. A type, function or foreign-key
        target in another schema makes the test restore fail, as it would fail a real restore into an empty database.
        The schemas of a table backup are created in the scratch database first (C(pg_dump --table) does not dump them).
    type: str
    default: archive
    choices: [none, checksum, archive, restore]
  keep_local:
    description:
      - Keep the local copy after a successful upload. With V(false) (needs O(s3)) the local files are removed once the
        upload is verified, and only O(s3_retention) applies.
    type: bool
    default: true
  retention:
    description:
      - Pruning of the local backups of the set after a successful run (and with O(state=pruned)).
      - A backup is pruned when it ranks beyond O(retention.keep_last) or is older than O(retention.max_age_days), unless
        it is among the O(retention.min_keep) newest backups that did not fail verification.
      - Only backups with a manifest are considered; other files in O(dest) are never touched.
    type: dict
    suboptions: &retention_suboptions
      keep_last:
        description: Keep at most this many backups of the set.
        type: int
      max_age_days:
        description: Prune backups that finished more than this many days ago (fractions allowed).
        type: float
      min_keep:
        description: Never prune the newest this-many good backups of the set.
        type: int
        default: 1
  s3_retention:
    description:
      - Pruning of the backups of the set in S3, with the same suboptions as O(retention). Defaults to O(retention).
    type: dict
    suboptions: *retention_suboptions
  maintenance_database:
    description:
      - Database used to create and drop the scratch database of O(verify=restore).
    type: str
    default: postgres
  transport:
    description:
      - Where O(state=present) runs C(pg_dump) / C(pg_dumpall). The default runs them on the managed host.
      - With O(transport.type=kubernetes) they run in a pod through the Kubernetes exec API, as the runbooks'
        C(kubectl exec postgres-0 -- pg_dump) does, and their output is streamed back into the local file under
        O(dest); checksums, manifests, row counts and verification work as for a local dump. The programs are looked
        up on the pod's C(PATH). The connection settings (O(host), O(port), O(password)...) reach them as libpq
        environment variables sent over the exec stream's stdin, never on a command line; O(host) is therefore the
        address of the database as seen from the pod (for example C(127.0.0.1)), while the module itself still
        connects to O(host) for the catalog and row counts.
      - The pod needs C(sh). Only O(format=plain) and O(format=custom) are supported (a directory archive would be
        written inside the pod). Verification (and M(sre.runbooks.pg_restore)) always runs on the managed host.
    type: dict
    suboptions:
      type:
        description: Run the programs locally, or in a pod.
        type: str
        choices: [local, kubernetes]
        default: local
      namespace:
        description: Namespace of O(transport.pod).
        type: str
        default: default
      pod:
        description: The database pod. Required with O(transport.type=kubernetes).
        type: str
      container:
        description: Container of O(transport.pod); the pod's default container when omitted.
        type: str
      kubeconfig:
        description:
          - Path to a kubeconfig file, or the kubeconfig as a dictionary. Defaults to E(K8S_AUTH_KUBECONFIG), then the
            client's default (E(KUBECONFIG), C(~/.kube/config)).
        type: raw
      context:
        description: Kubeconfig context to use. Defaults to E(K8S_AUTH_CONTEXT).
        type: str
      host:
        description: URL of the Kubernetes API server. Defaults to E(K8S_AUTH_HOST).
        type: str
      api_key:
        description: Bearer token for the API server. Defaults to E(K8S_AUTH_API_KEY).
        type: str
      ca_cert:
        description: CA certificate of the API server. Defaults to E(K8S_AUTH_SSL_CA_CERT).
        type: path
        aliases: [ssl_ca_cert]
      validate_certs:
        description: Verify the API server's certificate. Defaults to E(K8S_AUTH_VERIFY_SSL).
        type: bool
        aliases: [verify_ssl]
      request_timeout:
        description: Seconds to wait for the answer to one Kubernetes API request.
        type: float
        default: 30
notes:
  - Without O(transport), run the module on a host that reaches the database (for example through a port-forward or a
    Service).
requirements:
  - The kubernetes Python client when O(transport.type=kubernetes).
  - The PostgreSQL client programs (C(pg_dump), C(pg_dumpall), C(pg_restore), C(psql)) of the server's major version or newer.
  - C(gzip) or C(zstd) for compressed plain dumps.
  - boto3 when O(s3) is used.
seealso:
  - module: sre.runbooks.pg_backup_info
    description: Lists the backups locally and in S3, with freshness per set.
  - module: sre.runbooks.pg_restore
    description: Restores a backup made by this module, with a checksum first and a safety dump of a replaced target.
  - module: sre.runbooks.pg_vacuum
  - module: community.postgresql.postgresql_db
    description: Plain dumps without checksums, verification, upload or retention.
"""

EXAMPLES = r"""
---
- name: Back up the three platform schemas separately, verify by test restore, ship to S3 and keep two weeks
  sre.runbooks.pg_backup:
    host: db.internal
    database: platform
    scope: schemas
    schemas: [production, experiments_v1, quarantine]
    label: daily
    dest: /var/backups/postgres
    verify: restore
    s3:
      bucket: platform-backups
      prefix: postgres/daily
      sse: aws:kms
      kms_key_id: alias/backups
      storage_class: STANDARD_IA
    retention:
      keep_last: 3
    s3_retention:
      max_age_days: 14
      min_keep: 7
  register: backup

- name: Roles and tablespaces
  sre.runbooks.pg_backup:
    database: platform
    scope: globals
    dest: /var/backups/postgres

- name: Fast parallel full backup
  sre.runbooks.pg_backup:
    database: platform
    format: directory
    jobs: 4
    dest: /var/backups/postgres
    verify: archive

- name: Prune without backing up
  sre.runbooks.pg_backup:
    state: pruned
    database: platform
    label: daily
    dest: /var/backups/postgres
    retention:
      keep_last: 3
"""

RETURN = r"""
backups:
  description:
    - With O(state=present), the backups made (in check mode, the ones that would be made, with C(rows_estimate)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Base name of the backup (the manifest is C(<name>.manifest.json)).
      type: str
      sample: daily-platform-production-20250115T020000Z
    set_key:
      description: The retention set, C(label/database/scope_id).
      type: str
      sample: daily/platform/schema:production
    database:
      description: The database dumped.
      type: str
    scope:
      description: V(database), V(schemas), V(tables) or V(globals).
      type: str
    schemas:
      description: Schemas in the backup (scope V(schemas)).
      type: list
      elements: str
    tables:
      description: Tables in the backup (scope V(tables)).
      type: list
      elements: str
    format:
      description: Archive format.
      type: str
    compression:
      description: Compression method.
      type: str
    file:
      description: File or directory name of the artifact.
      type: str
      sample: daily-platform-production-20250115T020000Z.dump
    size:
      description: Size in bytes (all files for a directory archive).
      type: int
    sha256:
      description: sha256 of the file; for a directory archive, of its sorted per-file digests.
      type: str
    started_at:
      description: UTC start of the dump (ISO 8601).
      type: str
    finished_at:
      description: UTC end of the dump (ISO 8601).
      type: str
    duration_seconds:
      description: Time the dump took.
      type: float
    tables_counted:
      description: Number of tables whose rows were counted.
      type: int
    rows_total:
      description: Sum of the row counts.
      type: int
    row_counts:
      description: Rows per table at dump time (O(state=present) only).
      type: dict
      returned: success and O(state=present)
    verification:
      description: Level, status (V(passed), V(failed), V(skipped)), checks done, error, and for V(restore) the scratch
        database and the row-count comparison.
      type: dict
    verification_status:
      description: V(passed), V(failed) or V(skipped).
      type: str
    local:
      description: C(path), C(manifest_path) and C(exists) of the local copy; null when there is none.
      type: dict
    s3:
      description: The S3 copy; null when there is none (or not uploaded yet).
      type: dict
      contains:
        status:
          description: V(failed) after a failed upload (then with C(error)); absent after a good one.
          type: str
        bucket:
          description: Bucket.
          type: str
        key:
          description: Object key of the artifact (for a directory archive, the key prefix of its files). Pass it as
            O(sre.runbooks.pg_restore#module:s3_key) to restore.
          type: str
          sample: postgres/daily/daily-platform-production-20250115T020000Z.sql.zst
        manifest_key:
          description: Object key of the manifest.
          type: str
        url:
          description: C(s3://bucket/key).
          type: str
        checksum_sha256:
          description: The SHA256 checksum S3 stored and returned on HEAD (base64; for multipart uploads the checksum of
            the part checksums).
          type: str
        multipart:
          description: Whether the artifact was uploaded in parts.
          type: bool
        version_id:
          description: Object version, in a versioned bucket.
          type: str
        storage_class:
          description: Storage class of the object.
          type: str
        sse:
          description: Server-side encryption applied.
          type: str
        error:
          description: Why the upload failed.
          type: str
pruned:
  description: Backups removed by retention (in check mode, the ones that would be removed).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Backup name.
      type: str
    location:
      description: V(local) or V(s3).
      type: str
    reason:
      description: Why it was pruned.
      type: str
      sample: beyond keep_last=3 (rank 5)
    path:
      description: Local path (V(local) only).
      type: str
    key:
      description: S3 key (V(s3) only).
      type: str
commands:
  description: The programs run, without secrets (connection settings are passed in the environment).
  returned: always
  type: list
  elements: str
  sample: ["/usr/lib/postgresql/15/bin/pg_dump --no-password --format=plain --snapshot=00000003-0000001B-1 | /usr/bin/gzip -c -6"]
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._backup.args import BACKUP_RANGES, backup_argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._backup.backup_runner import BackupRunner
from ansible_collections.sre.runbooks.plugins.module_utils._backup.entry import run_to_exit


def main():
    module = RunbookModule(argument_spec=backup_argument_spec(), supports_check_mode=True, ranges=BACKUP_RANGES)
    module.run(lambda: run_to_exit(module, BackupRunner(module)), "pg_backup")


if __name__ == "__main__":
    main()
