#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_backup
short_description: Logical PostgreSQL backups that are checksummed, verified by test restore, shipped to S3, pruned and restored safely
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
  - O(state=restored) restores a backup from O(src) or O(s3_key) into O(database) after checking its sha256 against the
    manifest. A missing target is created; a target that already holds the backup's objects is refused unless
    O(force=true), and then a safety dump of the target is taken and verified before anything is dropped. Row counts
    are compared with the manifest afterwards.
  - Passwords reach C(pg_dump), C(pg_restore) and C(psql) through the environment (C(PGPASSWORD)), never on a command line.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.postgres
  - sre.runbooks.s3
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_postgres
attributes:
  check_mode:
    support: full
    details:
      - Connects, checks schemas, tables, programs and options, and returns the backups it would make (with row
        estimates), the backups retention would prune, or the restore it would do. Nothing is written, uploaded,
        deleted or restored.
  diff_mode:
    support: full
    details:
      - Shows the backup names of the affected sets (locally and in S3) before and after, or the target database's
        objects and restore marker before and after a restore.
  idempotent:
    support: partial
    details:
      - O(state=present) makes a new backup on every run, by design, and always reports a change.
      - O(state=pruned) reports no change once nothing is left to prune.
      - O(state=restored) records the backup's sha256 in the target database (the C(sre_runbooks.restored) setting);
        a repeated run whose target still carries that marker and still has the manifest's row counts does nothing.
options:
  state:
    description:
      - V(present) makes backups (then verifies, uploads and applies retention).
      - V(pruned) applies O(retention) and O(s3_retention) to the set selected by O(label), O(database) and the scope
        options, without making a backup.
      - V(restored) restores O(src) or O(s3_key) into O(database).
    type: str
    default: present
    choices: [present, pruned, restored]
  database:
    description:
      - The database to back up, or with O(state=restored) the database to restore into (created when absent).
  dest:
    description:
      - Local directory that holds the backups and their manifests. Created with mode V(0700) when missing.
      - Required for O(state=present). With O(state=restored) from O(s3_key) the backup is downloaded here (and removed
        after the restore), and safety dumps are written here unless O(safety_dir) is set.
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
      - V(globals) dumps roles and tablespaces with C(pg_dumpall --globals-only), always as plain SQL.
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
      - Parallelism. Directory-format dumps run C(pg_dump --jobs); restores of custom and directory archives (including
        O(verify=restore)) run C(pg_restore --jobs); plain zstd dumps use this many compression threads.
      - Restores with more than one job are not done in a single transaction.
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
        while the dump runs. Restores and O(verify=restore) compare against these counts.
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
    suboptions:
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
    suboptions:
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
  bin_dir:
    description:
      - Directory with C(pg_dump), C(pg_dumpall), C(pg_restore) and C(psql).
      - By default the module looks in C(/usr/lib/postgresql/*/bin), C(/usr/pgsql-*/bin) and E(PATH) and takes the
        programs of the server's major version, else the nearest newer one.
    type: path
  maintenance_database:
    description:
      - Database used to create and drop databases (the restore target, the scratch database of O(verify=restore)).
    type: str
    default: postgres
  src:
    description:
      - With O(state=restored), the local backup to restore (its file or directory, or its manifest).
      - Mutually exclusive with O(s3_key).
    type: path
  s3_key:
    description:
      - With O(state=restored), the S3 key of the backup (or of its manifest), as returned in C(backups[].s3.key) by
        M(sre.runbooks.pg_backup_info) or by O(state=present). The key is used as given, without O(s3.prefix).
    type: str
  force:
    description:
      - With O(state=restored), replace what the target already holds. For a whole-database backup the target database is
        dropped and created again; for schema backups its schemas are dropped (C(CASCADE)); for table backups the tables.
      - A safety dump of the objects to be replaced is written to O(safety_dir) first and verified readable.
    type: bool
    default: false
  terminate_sessions:
    description:
      - With O(state=restored), end the other sessions connected to the target database before replacing objects (and use
        C(DROP DATABASE ... WITH (FORCE))).
    type: bool
    default: false
  safety_dir:
    description:
      - Directory for the safety dump taken before O(force=true) replaces objects. Defaults to O(dest), else the
        directory of O(src).
    type: path
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
        written inside the pod). Restores and verification always run on the managed host.
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
notes:
  - Without O(transport), run the module on a host that reaches the database (for example through a port-forward or a
    Service).
  - Restores of custom and directory archives with O(jobs=1), and plain restores, run in one transaction. A plain restore
    commits only when the whole script was read, so a truncated file cannot leave a half-restored database.
requirements:
  - The kubernetes Python client when O(transport.type=kubernetes).
  - The PostgreSQL client programs (C(pg_dump), C(pg_dumpall), C(pg_restore), C(psql)) of the server's major version or newer.
  - C(gzip) or C(zstd) for compressed plain dumps.
  - boto3 when O(s3) is used.
seealso:
  - module: sre.runbooks.pg_backup_info
    description: Lists the backups locally and in S3, with freshness per set.
  - module: sre.runbooks.pg_vacuum
  - module: community.postgresql.postgresql_db
    description: Plain dump and restore without checksums, verification, upload or retention.
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

- name: Daily health check - how fresh are the backups?
  sre.runbooks.pg_backup_info:
    dest: /var/backups/postgres
    s3:
      bucket: platform-backups
      prefix: postgres/daily
  register: backups

- name: Fail when the newest good production backup is older than a day
  ansible.builtin.assert:
    that:
      - backups.sets['daily/platform/schema:production'].latest_ok_age_seconds < 86400

- name: Prune without backing up
  sre.runbooks.pg_backup:
    state: pruned
    database: platform
    label: daily
    dest: /var/backups/postgres
    retention:
      keep_last: 3

- name: Restore the newest production backup into a copy, replacing it if it exists
  sre.runbooks.pg_backup:
    state: restored
    database: platform_restore_test
    s3_key: "{{ backups.backups | selectattr('schemas', 'equalto', ['production']) | map(attribute='s3.key') | first }}"
    s3:
      bucket: platform-backups
    dest: /var/tmp/restores
    force: true
    terminate_sessions: true
    jobs: 2
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
            O(s3_key) to restore.
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
restore:
  description: With O(state=restored), what was done.
  returned: O(state=restored)
  type: dict
  contains:
    action:
      description: V(none) (the target already holds this backup), V(restore) (into a missing or empty target) or
        V(replace) (forced).
      type: str
    backup:
      description: Name of the backup restored.
      type: str
    target_database:
      description: The database restored into.
      type: str
    safety_backup:
      description: The safety dump taken before replacing objects (like an element of RV(backups)), or null.
      type: dict
    row_counts:
      description: Row counts compared with the manifest (C(ok), C(tables), C(matched), C(mismatched), C(missing)).
      type: dict
    sessions_terminated:
      description: Sessions ended because of O(terminate_sessions).
      type: int
    duration_seconds:
      description: Time the restore took.
      type: float
commands:
  description: The programs run, without secrets (connection settings are passed in the environment).
  returned: always
  type: list
  elements: str
  sample: ["/usr/lib/postgresql/15/bin/pg_dump --no-password --format=plain --snapshot=00000003-0000001B-1 | /usr/bin/gzip -c -6"]
"""

import copy
import os
import hashlib
import secrets
import threading
import time
import zlib

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import (
    LocalRepo,
    S3Repo,
    artifact_size,
    directory_digests,
    fsync_dir,
    iso,
    remove_path,
    sha256_file,
    utc_now,
)
from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import (
    RetentionError,
    normalize_policy,
    select_prunable,
)
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, connect as k8s_connect
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.exec_transport import KubeExecTransport
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import (
    ToolError,
    connect_database,
    feed_psql,
    find_program,
    find_tools,
    run_chain,
    tool_env,
    version_text,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    POSTGRES_COMMON_ARGS,
    DatabaseError,
    PostgresError,
    ensure_psycopg2,
    first_line,
    server_version_text,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.catalog import USER_SCHEMA_FILTER
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3_COMMON_ARGS, S3Error, S3Store, ensure_boto3
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import (
    SelectionError,
    display_name,
    resolve_relations,
    resolve_schemas,
)

try:
    from psycopg2 import sql
except ImportError:
    sql = None  # ensure_psycopg2() reports the missing library before any statement is built

STATES = ["present", "pruned", "restored"]
APP = "sre.runbooks pg_backup"
# pg_dump options the module sets itself; extra_args must not override them.
RESERVED_ARGS = ("-F", "--format", "-f", "--file", "-Z", "--compress", "-j", "--jobs", "-d", "--dbname", "-h", "--host",
                 "-p", "--port", "-U", "--username", "-W", "--password", "-w", "--no-password", "-n", "--schema",
                 "-t", "--table", "--snapshot", "-C", "--create", "-c", "--clean")
RETENTION_SPEC = {"keep_last": {"type": "int"}, "max_age_days": {"type": "float"}, "min_keep": {"type": "int", "default": 1}}

# Tables whose rows the dump carries: ordinary tables and partitions in user schemas, not extension members.
COUNTABLE_SQL = f"""
SELECT n.nspname AS schema, c.relname AS "table", c.reltuples::bigint AS estimate
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND {USER_SCHEMA_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
SCHEMAS_SQL = f"""
SELECT n.nspname AS schema FROM pg_namespace n
WHERE {USER_SCHEMA_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
ORDER BY 1
"""
RELATIONS_SQL = f"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {USER_SCHEMA_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""


class BackupError(Exception):
    """An expected failure; ``str()`` is one sentence for fail_json."""


def argument_spec():
    spec = copy.deepcopy(POSTGRES_COMMON_ARGS)
    spec.update(copy.deepcopy(S3_COMMON_ARGS))
    spec.update(
        state={"type": "str", "default": "present", "choices": STATES},
        dest={"type": "path"},
        label={"type": "str", "default": "backup"},
        scope={"type": "str", "default": "database", "choices": list(naming.SCOPES)},
        schemas={"type": "list", "elements": "str"},
        per_schema={"type": "bool", "default": True},
        tables={"type": "list", "elements": "str"},
        format={"type": "str", "default": "custom", "choices": list(naming.FORMATS)},
        compression={"type": "str", "default": "gzip", "choices": list(naming.COMPRESSIONS)},
        compression_level={"type": "int"},
        jobs={"type": "int", "default": 1},
        name_template={"type": "str", "default": naming.DEFAULT_TEMPLATE},
        extra_args={"type": "list", "elements": "str", "default": []},
        lock_wait_timeout={"type": "str"},
        count_rows={"type": "bool", "default": True},
        verify={"type": "str", "default": "archive", "choices": list(naming.VERIFY_LEVELS)},
        keep_local={"type": "bool", "default": True},
        retention={"type": "dict", "options": copy.deepcopy(RETENTION_SPEC)},
        s3_retention={"type": "dict", "options": copy.deepcopy(RETENTION_SPEC)},
        bin_dir={"type": "path"},
        maintenance_database={"type": "str", "default": "postgres"},
        src={"type": "path"},
        s3_key={"type": "str", "no_log": False},
        force={"type": "bool", "default": False},
        terminate_sessions={"type": "bool", "default": False},
        safety_dir={"type": "path"},
        transport={"type": "dict", "options": transport_spec()},
    )
    return spec


def transport_spec():
    spec = {
        "type": {"type": "str", "default": "local", "choices": ["local", "kubernetes"]},
        "namespace": {"type": "str", "default": "default"},
        "pod": {"type": "str"},
        "container": {"type": "str"},
    }
    spec.update(copy.deepcopy(K8S_COMMON_ARGS))
    return spec


def check_transport(transport, fmt):
    """Raise BackupError when the kubernetes transport cannot do this dump; True when it is remote."""
    if not transport or transport.get("type", "local") == "local":
        return False
    if not transport.get("pod"):
        raise BackupError("transport.pod is required with transport.type=kubernetes.")
    if fmt not in ("plain", "custom"):
        raise BackupError(f"format={fmt} is not supported with transport.type=kubernetes (the archive would be "
                          "written inside the pod); use custom or plain.")
    return True


# -- small helpers -------------------------------------------------------------------------------

def count_query(schema, table):
    """Exact row count of one table, without its inheritance children (partitions are counted on their own)."""
    return sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def quote_pattern(*parts):
    """An exact-match pg_dump pattern: every part double-quoted, so wildcards and case are literal."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def check_extra_args(extra_args):
    for arg in extra_args or []:
        name = arg.split("=", 1)[0]
        short = arg[:2] if arg.startswith("-") and not arg.startswith("--") else None
        if name in RESERVED_ARGS or short in RESERVED_ARGS:
            raise BackupError(f"extra_args may not contain {arg!r}: the module sets that option itself "
                              "(use format, compression, jobs, schemas, tables or the connection options).")


class _ModuleView:
    """What k8s.connect() needs of a module: the transport's settings as params, and fail_json."""

    def __init__(self, params, module):
        self.params = params
        self.fail_json = module.fail_json


class Writer:
    """Receives a dump stream: optionally gzips it (zlib, in this process), hashes it, writes it to a temp file."""

    def __init__(self, handle, gzip_level=None):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self.raw_size = 0
        # wbits=31: a gzip member (header, deflate data, CRC-32 and length), what the gzip program writes.
        self.compressor = zlib.compressobj(gzip_level, zlib.DEFLATED, 31) if gzip_level else None

    def __call__(self, chunk):
        self.raw_size += len(chunk)
        self._write(self.compressor.compress(chunk) if self.compressor else chunk)

    def close(self):
        if self.compressor:
            self._write(self.compressor.flush())
            self.compressor = None

    def _write(self, data):
        if data:
            self.digest.update(data)
            self.handle.write(data)
            self.size += len(data)


class GunzipTail:
    """Decompresses a gzip stream (several members allowed) into another consumer; the CRC is checked."""

    def __init__(self, target):
        self.target = target
        self.decompressor = zlib.decompressobj(31)

    def __call__(self, chunk):
        while chunk:
            if self.decompressor.eof:  # the previous member ended; the next one starts here
                self.decompressor = zlib.decompressobj(31)
            self.target(self.decompressor.decompress(chunk))
            chunk = self.decompressor.unused_data

    def close(self, path):
        if not self.decompressor.eof:
            raise BackupError(f"The gzip stream of {path} ends early; the file is truncated.")


class Tail:
    """Receives a decompressed stream and keeps only its size and its last bytes."""

    def __init__(self, keep=4096):
        self.keep = keep
        self.tail = b""
        self.size = 0

    def __call__(self, chunk):
        self.size += len(chunk)
        self.tail = (self.tail + chunk[-self.keep:])[-self.keep:]


# -- the module ---------------------------------------------------------------------------------

class PgBackup:
    """One pg_backup task: make, prune or restore backups."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.warnings = []
        self.commands = []
        self.result = {"changed": False, "state": self.params["state"], "backups": [], "pruned": [],
                       "commands": self.commands}
        self.diff = {"before": {}, "after": {}}
        self.local = LocalRepo(self.params["dest"]) if self.params.get("dest") else None
        self._s3 = None
        self.s3_error = None
        self.tools = None
        self.remote = False
        self._dump_transport = None
        self.server_major = None
        self.server_version = None

    # -- shared plumbing ----------------------------------------------------------------------

    @property
    def s3(self):
        if self._s3 is None and self.params.get("s3"):
            ensure_boto3(self.module)
            self._s3 = S3Repo(S3Store(self.params["s3"]))
        return self._s3

    def connect(self, database=None, autocommit=True):
        ensure_psycopg2(self.module)
        return connect_database(self.params, database or self.params["database"], APP, autocommit)

    def load_tools(self, conn):
        self.server_major = conn.server_version // 10000
        self.server_version = server_version_text(conn)
        if self.tools is None:
            self.tools = find_tools(self.server_major, self.params.get("bin_dir"))
        return self.tools

    def env(self, tool, database=None):
        return tool_env(self.params, database, f"{APP} ({tool})")

    def run(self, commands, tool, database=None, consumer=None, transports=None):
        self.commands.append(" | ".join(" ".join(argv) for argv in commands))
        return run_chain(commands, self.env(tool, database), consumer=consumer, transports=transports)

    def dump_transport(self):
        """The transport pg_dump runs through: None (local) or a KubeExecTransport, built once."""
        if not self.remote:
            return None
        if self._dump_transport is None:
            settings = self.params["transport"]
            shim = _ModuleView(settings, self.module)
            self._dump_transport = KubeExecTransport(k8s_connect(shim), settings["namespace"], settings["pod"],
                                                     settings.get("container"))
        return self._dump_transport

    def policy(self, which):
        policy = self.params.get(which)
        if which == "s3_retention" and not policy:
            policy = self.params.get("retention")
        return normalize_policy(policy)

    def units(self):
        return naming.plan_units(self.params["scope"], self.params.get("schemas"), self.params.get("tables"),
                                 self.params["per_schema"])

    def set_key(self, unit, label=None, database=None):
        return naming.set_key(label or self.params["label"], database or self.params["database"], unit["scope_id"])

    # -- state=present --------------------------------------------------------------------------

    def present(self):
        params = self.params
        if not self.local:
            raise BackupError("state=present needs dest, the local directory that receives the backups.")
        if params["jobs"] < 1:
            raise BackupError("jobs must be at least 1.")
        if params["verify"] == "restore" and params["scope"] == "globals":
            raise BackupError("verify=restore is not available for scope=globals (roles and tablespaces would be "
                              "created in the live cluster); use verify=archive.")
        if not params["keep_local"] and not params.get("s3"):
            raise BackupError("keep_local=false needs s3: without an upload the backup would be deleted.")
        check_extra_args(params.get("extra_args"))
        opts = {
            "format": "plain" if params["scope"] == "globals" else params["format"],
            "compression": params["compression"],
            "level": naming.compression_level(params["compression"], params.get("compression_level")),
            "jobs": params["jobs"], "extra_args": list(params.get("extra_args") or []),
            "lock_wait": parse_interval(params["lock_wait_timeout"], "lock_wait_timeout")
            if params.get("lock_wait_timeout") else None,
            "count_rows": params["count_rows"], "label": params["label"], "database": params["database"],
        }
        policies = {"local": self.policy("retention"), "s3": self.policy("s3_retention") if params.get("s3") else None}
        units = self.units()
        naming.check_template(params["name_template"])
        s3 = self.s3  # builds the client early, so bad S3 settings fail before any dump
        conn = self.connect()
        try:
            self.load_tools(conn)
            opts["compress_mode"] = naming.check_format(params["scope"], opts["format"], opts["compression"],
                                                        self.tools["version"][0])
            plan = self.resolve_units(conn, units)
        finally:
            conn.close()
        self.remote = check_transport(params.get("transport"), opts["format"])
        started = utc_now()
        taken = self.local.names()
        for unit in plan:
            name = naming.unique_name(naming.render_name(params["name_template"], params["label"], params["database"],
                                                         unit["scope_part"], started), taken)
            taken.add(name)
            unit["name"] = name
            unit["file"] = name + naming.extension(opts["format"], opts["compression"], unit["scope"])
        existing = {"local": self.local.manifests(self.warnings), "s3": self.s3_manifests()}
        new_names = {unit["name"] for unit in plan}
        self.diff["before"] = self.inventory_diff(existing, plan)
        self.result["changed"] = True
        if self.check_mode:
            self.result["backups"] = [self.planned(unit, opts) for unit in plan]
        else:
            self.local.ensure()
            self.make_all(plan, opts)
        self.apply_retention(plan, existing, policies, new_names, include_local=params["keep_local"])
        self.diff["after"] = self.inventory_diff(existing, plan, pruned=self.result["pruned"], added=new_names)

    def make_all(self, plan, opts):
        """Dump every unit in one shared snapshot, then verify each, then upload the verified ones."""
        made = []
        snapshot_conn = snapshot = None
        try:
            if any(unit["scope"] != "globals" for unit in plan):
                snapshot_conn, snapshot = self.open_snapshot(opts["database"])
            for unit in plan:
                manifest = self.make_backup(unit, opts, self.local, snapshot_conn, snapshot)
                made.append(manifest)
                self.result["backups"].append(self.entry(manifest, include_counts=True))
        finally:
            if snapshot_conn is not None:
                snapshot_conn.close()
        failures = []
        for manifest, entry in zip(made, self.result["backups"]):
            try:
                self.verify_backup(manifest, self.params["verify"], entry)
            except BackupError as exc:
                failures.append(str(exc))
        if failures:
            more = f" ({len(failures) - 1} more backup(s) failed verification too)" if len(failures) > 1 else ""
            raise BackupError(failures[0].rstrip(".") + more + ".")
        if self.s3:
            for manifest, entry in zip(made, self.result["backups"]):
                self.upload(manifest, entry)
                if not self.params["keep_local"]:
                    self.local.delete(manifest)
                    entry["local"] = None

    def s3_manifests(self):
        """The manifests in S3; an unreachable S3 only warns here, so the local backup is still made."""
        if not self.s3:
            return []
        try:
            return self.s3.manifests(self.warnings)
        except S3Error as exc:
            self.s3_error = str(exc)
            self.warnings.append(f"Could not list the backups in S3 ({str(exc).rstrip('.')}); S3 retention is skipped.")
            return []

    def resolve_units(self, conn, units):
        """Check that schemas and tables exist; attach the tables whose rows each unit counts."""
        cursor = conn.cursor()
        cursor.execute(SCHEMAS_SQL)
        known = [row[0] for row in cursor.fetchall()]
        cursor.execute(COUNTABLE_SQL)
        countable = [{"schema": s, "table": t, "estimate": e} for s, t, e in cursor.fetchall()]
        cursor.execute("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
        encoding = cursor.fetchone()[0]
        database = self.params["database"]
        for unit in units:
            unit["table_rows"] = []
            unit["encoding"] = encoding
            if unit["scope"] == "schemas":
                unit["resolved_schemas"] = resolve_schemas(unit["schemas"], known, database)
                unit["table_rows"] = [row for row in countable if row["schema"] in unit["resolved_schemas"]]
            elif unit["scope"] == "tables":
                cursor.execute(RELATIONS_SQL)
                rows = [{"schema": s, "table": n} for s, n, _k in cursor.fetchall()]
                resolved = resolve_relations(unit["tables"], rows, database)
                unit["resolved_tables"] = [(row["schema"], row["table"]) for row in resolved]
                wanted = set(unit["resolved_tables"])
                unit["table_rows"] = [row for row in countable if (row["schema"], row["table"]) in wanted]
            elif unit["scope"] == "database":
                unit["table_rows"] = countable
        cursor.close()
        return units

    def planned(self, unit, opts):
        local_path = os.path.join(self.local.path, unit["file"])
        entry = {"name": unit["name"], "label": opts["label"], "database": opts["database"],
                 "scope": unit["scope"], "schemas": unit.get("resolved_schemas", []),
                 "tables": [display_name(s, t) for s, t in unit.get("resolved_tables", [])],
                 "set_key": self.set_key(unit), "format": opts["format"], "compression": opts["compression"],
                 "compression_level": opts["level"], "file": unit["file"], "size": None, "sha256": None,
                 "started_at": None, "finished_at": None, "duration_seconds": None,
                 "tables_counted": len(unit["table_rows"]),
                 "rows_estimate": sum(max(0, int(row["estimate"] or 0)) for row in unit["table_rows"]),
                 "verification": {"level": self.params["verify"], "status": "skipped"}, "verification_status": "skipped",
                 "local": {"path": local_path, "manifest_path": self.local.manifest_path(unit["name"]), "exists": False},
                 "s3": None}
        if self.s3:
            entry["s3"] = {"bucket": self.s3.store.bucket, "key": self.s3.store.key(unit["file"]),
                           "manifest_key": self.s3.manifest_key(unit["name"])}
        return entry

    def dump_command(self, unit, opts, output, snapshot):
        fmt = opts["format"]
        if unit["scope"] == "globals":
            return [self.tools["pg_dumpall"], "--globals-only", "--no-password", "-l", opts["database"]]
        argv = [self.tools["pg_dump"], "--no-password", "--format=" + fmt]
        if snapshot:
            argv.append("--snapshot=" + snapshot)
        if opts["lock_wait"] is not None:
            argv.append(f"--lock-wait-timeout={int(opts['lock_wait'] * 1000)}")
        for schema in unit.get("resolved_schemas", []):
            argv += ["--schema", quote_pattern(schema)]
        for schema, table in unit.get("resolved_tables", []):
            argv += ["--table", quote_pattern(schema, table)]
        if unit.get("resolved_schemas") or unit.get("resolved_tables"):
            argv.append("--strict-names")
        if fmt != "plain":
            if opts["compress_mode"] is None:
                argv.append("--compress=0")
            elif opts["compression"] == "gzip":
                argv.append(f"--compress={opts['level']}")
            else:
                argv.append(f"--compress={opts['compression']}:{opts['level']}")
            if not self.remote:  # in a pod, the archive comes back on stdout
                argv += ["--file", output]
        if fmt == "directory" and opts["jobs"] > 1:
            argv += ["--jobs", str(opts["jobs"])]
        return argv + opts["extra_args"]

    @staticmethod
    def compressor(opts):
        return [find_program("zstd"), "-q", "-c", f"-{opts['level']}", f"-T{max(1, opts['jobs'])}"]

    @staticmethod
    def decompressor(method, path):
        if method == "gzip":
            return [find_program("gzip"), "-d", "-c", path]
        return [find_program("zstd"), "-q", "-d", "-c", path]

    def make_backup(self, unit, opts, repo, snapshot_conn=None, snapshot=None):
        """Dump one unit to a temp name, hash it, rename it into place and write its manifest.

        With ``snapshot`` (exported by ``snapshot_conn``'s open transaction) pg_dump and the row
        counts see exactly the same data; several units of one run share it.
        """
        database = opts["database"]
        fmt = opts["format"]
        final = os.path.join(repo.path, unit["file"])
        partial = os.path.join(repo.path, "." + unit["file"] + naming.PARTIAL_MARKER + str(os.getpid()))
        started = utc_now()
        clock = time.monotonic()
        own_snapshot = counter = None
        counts = {}
        if unit["scope"] == "globals":
            snapshot_conn = snapshot = None
        try:
            if unit["scope"] != "globals" and snapshot_conn is None:
                own_snapshot, snapshot = self.open_snapshot(database)
                snapshot_conn = own_snapshot
            argv = self.dump_command(unit, opts, partial, snapshot)
            tool = os.path.basename(argv[0])
            if snapshot_conn is not None and opts["count_rows"]:
                counter = threading.Thread(target=self.count_rows, args=(snapshot_conn, unit["table_rows"], counts))
                counter.start()
            try:
                if fmt == "plain" or self.remote:
                    plain = fmt == "plain"
                    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as handle:
                        writer = Writer(handle, opts["level"] if plain and opts["compress_mode"] == "zlib" else None)
                        chain = [argv] + ([self.compressor(opts)] if plain and opts["compress_mode"] == "pipe" else [])
                        transports = [self.dump_transport()] + [None] * (len(chain) - 1)
                        self.run(chain, tool, database, consumer=writer, transports=transports)
                        writer.close()
                        handle.flush()
                        os.fsync(handle.fileno())
                    sha256, files = writer.digest.hexdigest(), None
                else:
                    self.run([argv], tool, database)
                    if fmt == "directory":
                        os.chmod(partial, 0o700)
                        files = directory_digests(partial)
                        for relative in files:
                            os.chmod(os.path.join(partial, relative), 0o600)
                        sha256 = manifests.directory_digest(files)
                    else:
                        os.chmod(partial, 0o600)
                        sha256, files = sha256_file(partial), None
            except ToolError as exc:
                raise BackupError(f"Backup {unit['name']} of database \"{database}\" failed and left no file: {exc}") from None
            if counter is not None:
                counter.join()
                if "__error__" in counts:
                    raise BackupError(f"Counting rows for the manifest of {unit['name']} failed: {counts['__error__']}.")
            if os.path.lexists(final):
                raise BackupError(f"{final} appeared while the dump ran; refusing to overwrite it.")
            os.rename(partial, final)
            fsync_dir(repo.path)
        except BaseException:
            if counter is not None and counter.is_alive():
                snapshot_conn.cancel()
                counter.join()
            if os.path.lexists(partial):
                remove_path(partial)
            raise
        finally:
            if own_snapshot is not None:
                own_snapshot.close()
        manifest = {
            "tool": manifests.TOOL, "manifest_version": manifests.MANIFEST_VERSION,
            "name": unit["name"], "label": opts["label"], "database": database,
            "scope": unit["scope"], "scope_id": unit["scope_id"],
            "schemas": unit.get("resolved_schemas", []),
            "tables": [display_name(s, t) for s, t in unit.get("resolved_tables", [])],
            # A table dump does not create its schemas; restores create them when missing.
            "table_schemas": sorted({schema for schema, _table in unit.get("resolved_tables", [])}),
            "set_key": self.set_key(unit, opts["label"], database),
            "format": fmt, "compression": opts["compression"], "compression_level": opts["level"],
            "file": unit["file"], "files": files, "size": artifact_size(final), "sha256": sha256,
            "server_version": self.server_version, "pg_dump_version": version_text(self.tools["version"]),
            "encoding": unit.get("encoding"), "host": self.params["host"], "port": self.params["port"],
            "row_counts": {key: value for key, value in counts.items() if key != "__error__"},
            "row_counts_consistent": snapshot is not None,
            "started_at": iso(started), "finished_at": iso(utc_now()),
            "duration_seconds": round(time.monotonic() - clock, 3),
            "verification": {"level": "none", "status": "skipped"},
        }
        repo.write_manifest(manifest)
        return manifest

    def open_snapshot(self, database):
        """A REPEATABLE READ transaction whose exported snapshot pg_dump shares, so counts match the dump."""
        conn = self.connect(database, autocommit=False)
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            cursor = conn.cursor()
            try:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            except DatabaseError as exc:
                conn.rollback()
                self.warnings.append(f"Could not export a snapshot ({first_line(exc)}); row counts are taken "
                                     "separately and may differ from the dump if the data changes meanwhile.")
                snapshot = None
            cursor.close()
        except BaseException:
            conn.close()
            raise
        return conn, snapshot

    @staticmethod
    def count_rows(conn, table_rows, counts):
        try:
            cursor = conn.cursor()
            for row in table_rows:
                cursor.execute(count_query(row["schema"], row["table"]))
                counts[display_name(row["schema"], row["table"])] = cursor.fetchone()[0]
            cursor.close()
        except Exception as exc:  # reported by the caller after the dump finished
            counts["__error__"] = first_line(exc)

    # -- verification ---------------------------------------------------------------------------

    def verify_backup(self, manifest, level, entry):
        """Verify a backup at ``level``; the outcome goes into the manifest (and fails the task on failure)."""
        if level == "none":
            return
        started = time.monotonic()
        record = {"level": level, "status": "passed", "checked_at": iso(utc_now()), "checks": []}
        path = self.local.data_path(manifest)
        try:
            self.check_checksum(manifest, path)
            record["checks"].append("checksum")
            if level == "archive":
                record.update(self.check_archive(manifest, path))
                record["checks"].append("archive")
            elif level == "restore":
                record["restore"] = self.check_restore(manifest, path)
                record["checks"].append("restore")
        except (BackupError, ToolError, PostgresError) as exc:
            record.update(status="failed", error=str(exc))
        except DatabaseError as exc:
            record.update(status="failed", error=f"PostgreSQL error: {first_line(exc)}.")
        record["duration_seconds"] = round(time.monotonic() - started, 3)
        manifest["verification"] = record
        self.local.write_manifest(manifest)
        entry["verification"] = record
        entry["verification_status"] = record["status"]
        if record["status"] == "failed":
            raise BackupError(f"Verification ({level}) of backup {manifest['name']} failed: {record['error'].rstrip('.')}; "
                              f"the backup is kept at {path} and marked unverified in its manifest.")

    def check_checksum(self, manifest, path):
        if not os.path.exists(path):
            raise BackupError(f"The backup file {path} is missing.")
        if manifest["format"] == "directory":
            problems = manifests.compare_files(manifest.get("files") or {}, directory_digests(path))
            if problems:
                raise BackupError(f"The directory archive {path} does not match its manifest: {'; '.join(problems[:3])}.")
            return
        actual = sha256_file(path)
        if actual != manifest["sha256"]:
            raise BackupError(f"The sha256 of {path} is {actual[:16]}..., its manifest says {manifest['sha256'][:16]}...; "
                              "the file is corrupted or was changed.")

    def check_archive(self, manifest, path):
        """Read the whole archive: pg_restore to /dev/null, or decompress a plain dump and check its last line."""
        if manifest["format"] == "plain":
            tail = Tail()
            if manifest["compression"] in ("none", "gzip"):
                reader = GunzipTail(tail) if manifest["compression"] == "gzip" else tail
                try:
                    with open(path, "rb") as handle:
                        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                            reader(chunk)
                except zlib.error as exc:
                    raise BackupError(f"The gzip data of {path} is corrupt ({exc}).") from None
                if manifest["compression"] == "gzip":
                    reader.close(path)
            else:
                program = os.path.basename(self.decompressor(manifest["compression"], path)[0])
                self.run([self.decompressor(manifest["compression"], path)], program, consumer=tail)
            ending = b"PostgreSQL database cluster dump complete" if manifest["scope"] == "globals" \
                else b"PostgreSQL database dump complete"
            if ending not in tail.tail:
                raise BackupError(f"The plain dump {path} does not end with pg_dump's completion line; it is truncated.")
            return {"uncompressed_size": tail.size}
        tools = self.tools or self.tools_for_file()
        self.run([[tools["pg_restore"], "--file", os.devnull, path]], "pg_restore")
        return {}

    def tools_for_file(self):
        conn = self.connect(self.params["maintenance_database"])
        try:
            return self.load_tools(conn)
        finally:
            conn.close()

    def check_restore(self, manifest, path):
        """Restore into a scratch database, compare row counts with the manifest, drop the scratch database."""
        scratch = f"{manifest['database'][:30]}_verify_{secrets.token_hex(4)}".lower()
        admin = self.connect(self.params["maintenance_database"])
        started = time.monotonic()
        try:
            self.create_database(admin, scratch, manifest.get("encoding"))
            self.create_table_schemas(manifest, scratch)
            self.restore_into(manifest, path, scratch, jobs=self.params["jobs"])
            expected = manifest.get("row_counts") or {}
            comparison = manifests.compare_row_counts(expected, self.live_counts(scratch, expected))
        finally:
            force = sql.SQL(" WITH (FORCE)") if (self.server_major or 0) >= 13 else sql.SQL("")
            try:
                admin.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)) + force)
            except DatabaseError as exc:
                self.warnings.append(f"Could not drop the scratch database {scratch}: {first_line(exc)}.")
            admin.close()
        if not comparison["ok"]:
            raise BackupError(f"The test restore into {scratch} gave different row counts: "
                              f"{manifests.describe_count_problems(comparison)}.")
        return {"scratch_database": scratch, "row_counts": comparison,
                "duration_seconds": round(time.monotonic() - started, 3)}

    def create_table_schemas(self, manifest, database):
        """Create the schemas of a table-scope backup's tables, which the dump itself does not create."""
        if not manifest.get("table_schemas"):
            return
        conn = self.connect(database)
        try:
            cursor = conn.cursor()
            for schema in manifest["table_schemas"]:
                cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        finally:
            conn.close()

    @staticmethod
    def create_database(admin, name, encoding=None, owner=None):
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        if encoding:
            statement += sql.SQL(" ENCODING {}").format(sql.Literal(encoding))
        if owner:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        admin.cursor().execute(statement)

    def live_counts(self, database, expected):
        """Exact row counts in ``database`` for the tables named in ``expected`` (absent tables are left out)."""
        conn = self.connect(database)
        counts = {}
        try:
            cursor = conn.cursor()
            cursor.execute(COUNTABLE_SQL)
            present = {display_name(s, t): (s, t) for s, t, _e in cursor.fetchall()}
            for name in expected:
                if name in present:
                    schema, table = present[name]
                    cursor.execute(count_query(schema, table))
                    counts[name] = cursor.fetchone()[0]
        finally:
            conn.close()
        return counts

    def restore_into(self, manifest, path, database, jobs=1):
        """Load an archive into an existing database: psql for plain dumps, pg_restore otherwise."""
        tools = self.tools or self.tools_for_file()
        if manifest["format"] == "plain":
            psql = [tools["psql"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"]
            source = None if manifest["compression"] == "none" else [self.decompressor(manifest["compression"], path)]
            self.commands.append(" | ".join(" ".join(argv) for argv in (source or [["cat", path]]) + [psql]))
            feed_psql(psql, self.env("psql", database), source_path=path, source_commands=source)
            return
        argv = [tools["pg_restore"], "--no-password", "--exit-on-error", "--dbname", database]
        argv += ["--jobs", str(jobs)] if jobs > 1 else ["--single-transaction"]
        # --dbname takes a plain name here; host, user and password still come from the environment.
        self.run([argv + [path]], "pg_restore", database)

    # -- upload and retention -------------------------------------------------------------------

    def upload(self, manifest, entry):
        path = self.local.data_path(manifest)
        try:
            entry["s3"] = self.s3.upload(path, manifest)
        except S3Error as exc:
            manifest["s3"] = {"status": "failed", "error": str(exc), "bucket": self.s3.store.bucket,
                              "key": self.s3.data_key(manifest), "attempted_at": iso(utc_now())}
            self.local.write_manifest(manifest)
            entry["s3"] = dict(manifest["s3"])
            raise BackupError(f"{str(exc).rstrip('.')}; the local backup is kept at {path}.") from None
        self.local.write_manifest(manifest)

    def apply_retention(self, units, existing, policies, protect, include_local=True):
        """Prune each set the units belong to, locally and in S3; ``protect`` names are never pruned."""
        repos = []
        if include_local and self.local and policies.get("local"):
            repos.append((self.local, policies["local"], existing["local"]))
        if self.s3 and policies.get("s3") and not self.s3_error:
            repos.append((self.s3, policies["s3"], existing["s3"]))
        now = iso(utc_now())
        for repo, policy, found in repos:
            for key in sorted({self.set_key(unit) for unit in units}):
                members = {m["name"]: m for m in found if m.get("set_key") == key}
                summaries = [{"name": m["name"], "finished_at": m["finished_at"],
                              "verification_status": manifests.verification_status(m)} for m in members.values()]
                # The backups of this run rank as the newest ones (in check mode they do not exist yet).
                summaries += [{"name": unit["name"], "finished_at": now, "verification_status": "passed"}
                              for unit in units if unit.get("name") and self.set_key(unit) == key
                              and unit["name"] not in members]
                for choice in select_prunable(summaries, policy, protect=protect):
                    manifest = members[choice["name"]]
                    item = {"name": choice["name"], "location": repo.location, "set_key": key,
                            "reason": choice["reason"], "rank": choice["rank"], "age_days": choice["age_days"],
                            "finished_at": manifest["finished_at"], "size": manifest.get("size")}
                    if repo.location == "local":
                        item["path"] = repo.data_path(manifest)
                    else:
                        item.update(bucket=repo.store.bucket, key=repo.data_key(manifest))
                    if not self.check_mode:
                        repo.delete(manifest)
                    self.result["pruned"].append(item)
                    self.result["changed"] = True

    def inventory_diff(self, existing, units, pruned=(), added=()):
        """Backup names of the affected sets per location, for --diff."""
        keys = {self.set_key(unit) for unit in units}
        gone = {(item["location"], item["name"]) for item in pruned}
        view = {}
        locations = (["local"] if self.local else []) + (["s3"] if self.params.get("s3") else [])
        for location in locations:
            names = {m["name"] for m in existing.get(location) or []
                     if m.get("set_key") in keys and (location, m["name"]) not in gone}
            if location == "s3" or self.params["keep_local"]:
                names |= set(added)
            view[location] = sorted(names)
        return view

    def pruned_state(self):
        policies = {"local": self.policy("retention") if self.local else None,
                    "s3": self.policy("s3_retention") if self.params.get("s3") else None}
        if not policies["local"] and not policies["s3"]:
            raise BackupError("state=pruned needs retention (with keep_last or max_age_days) and dest, or s3 with "
                              "retention or s3_retention.")
        units = self.units()
        existing = {"local": self.local.manifests(self.warnings) if self.local else [],
                    "s3": self.s3.manifests(self.warnings) if self.s3 else []}
        self.diff["before"] = self.inventory_diff(existing, units)
        self.apply_retention(units, existing, policies, protect=set())
        self.diff["after"] = self.inventory_diff(existing, units, pruned=self.result["pruned"])

    # -- result entries --------------------------------------------------------------------------

    def entry(self, manifest, include_counts=False):
        entry = manifests.summary(manifest)
        entry["local"] = self.local.describe(manifest) if self.local else None
        entry["s3"] = None
        if include_counts:
            entry["row_counts"] = manifest.get("row_counts") or {}
        return entry

    # -- state=restored -------------------------------------------------------------------------

    def restored(self):
        params = self.params
        if bool(params.get("src")) == bool(params.get("s3_key")):
            raise BackupError("state=restored needs exactly one of src (a local backup) or s3_key (a backup in S3).")
        manifest, source = self.load_source()
        target = params["database"]
        scope = manifest["scope"]
        admin = self.connect(params["maintenance_database"])
        restore = {"source": source, "backup": manifest["name"], "scope": scope, "target_database": target,
                   "safety_backup": None, "row_counts": None, "action": None}
        self.result["restore"] = restore
        try:
            self.load_tools(admin)
            state = self.target_state(admin, manifest, target)
            restore["target_state"] = dict(state, relations=state["relations"][:20])
            self.diff["before"] = {"database": target, "exists": state["exists"], "objects": state["objects"],
                                   "restored_from": state["marker"]}
            if state["identical"]:
                restore["action"] = "none"
                self.diff["after"] = dict(self.diff["before"])
                return
            if state["objects"] and not params["force"]:
                raise BackupError(f"Refusing to restore {manifest['name']} into database \"{target}\": it already holds "
                                  f"{self.describe_objects(state)}; set force=true to replace them (a safety dump of the "
                                  "target is taken first).")
            if scope == "database" and state["objects"] and target == params["maintenance_database"]:
                raise BackupError(f"Cannot replace database \"{target}\" while it is the maintenance_database; set "
                                  "maintenance_database to another database.")
            restore["action"] = "replace" if state["objects"] else "restore"
            self.result["changed"] = True
            self.diff["after"] = {"database": target, "exists": True, "objects": len(manifest.get("row_counts") or {}),
                                  "restored_from": manifest["sha256"]}
            if self.check_mode:
                if params.get("src"):
                    self.check_checksum(manifest, source["path"])
                return
            path, cleanup = self.fetch_source(manifest, source)
            try:
                self.check_checksum(manifest, path)
                restore["checksum"] = "passed"
                if state["objects"] and scope != "globals":
                    restore["safety_backup"] = self.safety_dump(manifest, target, state)
                if params["terminate_sessions"] and state["exists"]:
                    restore["sessions_terminated"] = self.terminate(admin, target)
                started = time.monotonic()
                self.prepare_target(admin, manifest, target, state)
                self.create_table_schemas(manifest, target)
                try:
                    if scope == "globals":
                        restore["errors_ignored"] = self.restore_globals(manifest, path)
                    else:
                        self.restore_into(manifest, path, target, jobs=params["jobs"])
                except ToolError as exc:
                    safety = restore["safety_backup"]
                    raise BackupError(f"Restoring {manifest['name']} into \"{target}\" failed: {str(exc).rstrip('.')}"
                                      + (f"; the previous data is in {safety['local']['path']}" if safety else "")
                                      + ".") from None
                restore["duration_seconds"] = round(time.monotonic() - started, 3)
            finally:
                if cleanup:
                    remove_path(cleanup)
            if scope != "globals":
                expected = manifest.get("row_counts") or {}
                comparison = manifests.compare_row_counts(expected, self.live_counts(target, expected))
                restore["row_counts"] = comparison
                if not comparison["ok"]:
                    safety = restore["safety_backup"]
                    raise BackupError(f"The restore of {manifest['name']} into \"{target}\" finished but row counts differ "
                                      f"from the manifest: {manifests.describe_count_problems(comparison)}"
                                      + (f"; the previous data is in {safety['local']['path']}" if safety else "") + ".")
                self.set_marker(admin, target, manifest)
        finally:
            admin.close()

    def load_source(self):
        params = self.params
        if params.get("src"):
            src = params["src"].rstrip("/")
            directory = os.path.dirname(src) or "."
            base = naming.strip_data_suffix(os.path.basename(src))
            manifest_path = os.path.join(directory, base + naming.MANIFEST_SUFFIX)
            try:
                with open(manifest_path, "r", encoding="utf-8") as handle:
                    manifest = manifests.loads(handle.read(), manifest_path)
            except FileNotFoundError:
                raise BackupError(f"The backup {src} has no manifest {manifest_path}; without it the checksum cannot be "
                                  "verified, so the restore is refused.") from None
            except OSError as exc:
                raise BackupError(f"Cannot read {manifest_path}: {exc.strerror}.") from None
            return manifest, {"location": "local", "path": os.path.join(directory, manifest["file"]),
                              "manifest_path": manifest_path}
        if not self.s3:
            raise BackupError("s3_key needs the s3 option (bucket and credentials).")
        key = params["s3_key"]
        folder, _sep, leaf = key.rstrip("/").rpartition("/")
        manifest_key = (folder + "/" if folder else "") + naming.strip_data_suffix(leaf) + naming.MANIFEST_SUFFIX
        manifest = manifests.loads(self.s3.store.get_bytes(manifest_key).decode("utf-8"), self.s3.store.url(manifest_key))
        data_key = (folder + "/" if folder else "") + manifest["file"]
        return manifest, {"location": "s3", "bucket": self.s3.store.bucket, "key": data_key, "manifest_key": manifest_key}

    def fetch_source(self, manifest, source):
        """The local path of the artifact: ``src`` itself, or a download from S3 into a work directory."""
        if source["location"] == "local":
            return source["path"], None
        if not self.local:
            raise BackupError("Restoring from S3 needs dest, a local directory to download the backup into.")
        self.local.ensure()
        workdir = os.path.join(self.local.path, f".restore-{manifest['name']}{naming.PARTIAL_MARKER}{os.getpid()}")
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        try:
            path = self.s3.download(manifest, workdir, folder=source["key"][: -len(manifest["file"])])
        except BaseException:
            remove_path(workdir)
            raise
        return path, workdir

    def target_state(self, admin, manifest, target):
        cursor = admin.cursor()
        cursor.execute("SELECT d.oid, pg_get_userbyid(d.datdba) FROM pg_database d WHERE d.datname = %s", (target,))
        row = cursor.fetchone()
        state = {"exists": row is not None, "owner": row[1] if row else None, "objects": 0, "schemas": [],
                 "relations": [], "marker": None, "identical": False}
        if row is None or manifest["scope"] == "globals":
            return state
        cursor.execute("SELECT unnest(setconfig) FROM pg_db_role_setting WHERE setdatabase = %s AND setrole = 0", (row[0],))
        for (setting,) in cursor.fetchall():
            name, _sep, value = setting.partition("=")
            if name == manifests.RESTORE_MARKER_SETTING:
                state["marker"] = manifests.parse_marker(value).get(manifest["scope_id"])
        conn = self.connect(target)
        try:
            tcursor = conn.cursor()
            tcursor.execute(SCHEMAS_SQL)
            schemas = [r[0] for r in tcursor.fetchall()]
            tcursor.execute(RELATIONS_SQL)
            relations = [(s, n) for s, n, _k in tcursor.fetchall()]
        finally:
            conn.close()
        if manifest["scope"] == "database":
            state["schemas"] = [s for s in schemas if s != "public"]
            state["relations"] = [display_name(s, n) for s, n in relations]
        elif manifest["scope"] == "schemas":
            state["schemas"] = [s for s in schemas if s in manifest["schemas"]]
            state["relations"] = [display_name(s, n) for s, n in relations if s in manifest["schemas"]]
        else:
            wanted = set(manifest["tables"])
            state["relations"] = [display_name(s, n) for s, n in relations if display_name(s, n) in wanted]
        state["objects"] = len(state["schemas"]) + len(state["relations"])
        if state["marker"] == manifest["sha256"] and state["objects"]:
            expected = manifest.get("row_counts") or {}
            state["identical"] = manifests.compare_row_counts(expected, self.live_counts(target, expected))["ok"]
        return state

    @staticmethod
    def describe_objects(state):
        parts = []
        if state["relations"]:
            parts.append(f"{len(state['relations'])} relation(s) such as {', '.join(state['relations'][:3])}")
        if state["schemas"]:
            parts.append(f"schema(s) {', '.join(state['schemas'][:5])}")
        return " and ".join(parts) or "objects"

    def safety_dump(self, manifest, target, state):
        """A custom-format dump of what the restore will replace, verified readable before anything is dropped."""
        directory = self.params.get("safety_dir") or (self.local.path if self.local else None) or \
            os.path.dirname(self.params.get("src") or "") or None
        if not directory:
            raise BackupError("A safety dump is needed before replacing a non-empty target; set safety_dir or dest.")
        repo = LocalRepo(directory)
        repo.ensure()
        scope = manifest["scope"]
        schemas = state["schemas"] if scope == "schemas" else []
        tables = state["relations"] if scope == "tables" else []
        unit = naming.plan_units(scope, schemas, tables, per_schema=False)[0]
        unit["name"] = naming.unique_name(naming.render_name(naming.DEFAULT_TEMPLATE, "pre-restore", target,
                                                             unit["scope_part"], utc_now()), repo.names())
        unit["file"] = unit["name"] + naming.extension("custom", "gzip")
        conn = self.connect(target)
        try:
            cursor = conn.cursor()
            cursor.execute(COUNTABLE_SQL)
            countable = [{"schema": s, "table": t, "estimate": e} for s, t, e in cursor.fetchall()]
            cursor.execute("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
            unit["encoding"] = cursor.fetchone()[0]
        finally:
            conn.close()
        if scope == "schemas":
            unit["resolved_schemas"] = schemas
            unit["table_rows"] = [r for r in countable if r["schema"] in schemas]
        elif scope == "tables":
            pairs = [(r["schema"], r["table"]) for r in countable if display_name(r["schema"], r["table"]) in set(tables)]
            unit["resolved_tables"] = pairs
            unit["table_rows"] = [r for r in countable if (r["schema"], r["table"]) in set(pairs)]
        else:
            unit["table_rows"] = countable
        opts = {"format": "custom", "compression": "gzip", "level": 1, "compress_mode": "native", "jobs": 1,
                "extra_args": [], "lock_wait": None, "count_rows": True, "label": "pre-restore", "database": target}
        safety = self.make_backup(unit, opts, repo)
        try:
            self.check_archive(safety, repo.data_path(safety))
        except (BackupError, ToolError) as exc:
            raise BackupError(f"The safety dump {repo.data_path(safety)} of \"{target}\" is not readable ({exc}); "
                              "nothing was replaced.") from None
        safety["verification"] = {"level": "archive", "status": "passed", "checked_at": iso(utc_now()),
                                  "checks": ["checksum", "archive"]}
        repo.write_manifest(safety)
        entry = manifests.summary(safety)
        entry["local"] = repo.describe(safety)
        return entry

    def terminate(self, admin, target):
        cursor = admin.cursor()
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = %s AND pid <> pg_backend_pid()", (target,))
        return cursor.fetchone()[0]

    def prepare_target(self, admin, manifest, target, state):
        cursor = admin.cursor()
        scope = manifest["scope"]
        if scope == "globals":
            return
        if scope == "database" and state["exists"] and state["objects"]:
            force = sql.SQL(" WITH (FORCE)") if self.params["terminate_sessions"] and self.server_major >= 13 else sql.SQL("")
            try:
                cursor.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(target)) + force)
            except DatabaseError as exc:
                raise BackupError(f"Cannot drop database \"{target}\" to replace it: {first_line(exc)} "
                                  "(set terminate_sessions=true to end its sessions).") from None
            state["exists"] = False
        if not state["exists"]:
            self.create_database(admin, target, manifest.get("encoding"), state.get("owner"))
            return
        if not state["objects"]:
            return
        conn = self.connect(target)
        try:
            tcursor = conn.cursor()
            if scope == "schemas":
                for schema in state["schemas"]:
                    tcursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            else:
                tcursor.execute(RELATIONS_SQL)
                wanted = set(state["relations"])
                for schema, name, kind in tcursor.fetchall():
                    if display_name(schema, name) in wanted and kind in ("r", "p", "f"):
                        tcursor.execute(sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(
                            sql.Identifier(schema), sql.Identifier(name)))
        except DatabaseError as exc:
            raise BackupError(f"Cannot clear the target objects in \"{target}\": {first_line(exc)}.") from None
        finally:
            conn.close()

    def restore_globals(self, manifest, path):
        """Replay roles and tablespaces; 'already exists' errors are expected and counted, others fail."""
        tools = self.tools
        psql = [tools["psql"], "-X", "-q", "-v", "ON_ERROR_STOP=0", "-f", "-" if manifest["compression"] != "none" else path]
        chain = ([self.decompressor(manifest["compression"], path)] if manifest["compression"] != "none" else []) + [psql]
        results = self.run(chain, "psql", self.params["maintenance_database"])
        errors = [line for line in results[-1]["stderr"].splitlines() if "ERROR:" in line]
        fatal = [line for line in errors if "already exists" not in line]
        if fatal:
            raise BackupError(f"Restoring globals from {manifest['name']} failed: {fatal[0].strip()}.")
        return len(errors)

    def set_marker(self, admin, target, manifest):
        cursor = admin.cursor()
        cursor.execute("SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                       "WHERE d.datname = %s AND s.setrole = 0", (target,))
        marker = {}
        for (setting,) in cursor.fetchall():
            name, _sep, value = setting.partition("=")
            if name == manifests.RESTORE_MARKER_SETTING:
                marker = manifests.parse_marker(value)
        marker[manifest["scope_id"]] = manifest["sha256"]
        try:
            cursor.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                sql.Identifier(target), sql.SQL(manifests.RESTORE_MARKER_SETTING),
                sql.Literal(manifests.format_marker(marker))))
        except DatabaseError as exc:
            self.warnings.append(f"Could not record the restore marker on database \"{target}\" ({first_line(exc)}); "
                                 "a repeated run will not recognise the restore as done.")

    # -- entry point ----------------------------------------------------------------------------

    def execute(self):
        state = self.params["state"]
        if state == "present":
            self.present()
        elif state == "pruned":
            self.pruned_state()
        else:
            self.restored()
        if self.module._diff:
            self.result["diff"] = self.diff
        return self.result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("src", "s3_key")])
    os.umask(0o077)
    runner = PgBackup(module)
    try:
        result = runner.execute()
    except (BackupError, ToolError, S3Error, PostgresError, SelectionError, naming.NamingError, RetentionError,
            IntervalError, manifests.ManifestError) as exc:
        for warning in runner.warnings:
            module.warn(warning)
        module.fail_json(msg=str(exc), **runner.result)
    except DatabaseError as exc:
        for warning in runner.warnings:
            module.warn(warning)
        module.fail_json(msg=f"PostgreSQL error on database \"{module.params['database']}\": {first_line(exc)}.",
                         **runner.result)
    for warning in runner.warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
