#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_maintain
short_description: Redis backups, memory report and purge, pattern TTL sweeps, configuration and guarded flushes
version_added: 0.1.0
description:
  - Runs the Redis maintenance steps of the operations runbooks as idempotent tasks, one O(operation) per task.
  - O(operation=backup) runs C(BGSAVE), waits until the save has finished (C(rdb_bgsave_in_progress), C(rdb_saves) or
    C(LASTSAVE), C(rdb_last_bgsave_status)), then copies the RDB snapshot to O(dest) - from the server's directory when
    the server runs on this host, otherwise through the replication stream as C(redis-cli --rdb) does. The copy is
    written to a temporary file, checked (C(redis-check-rdb) when available, else the RDB header), given mode
    C(0600) and renamed into place, so a failed run never leaves a file that looks like a good backup. Its
    sha256 is returned and, with O(s3), it is uploaded with a checksum S3 verifies.
  - O(operation=memory) changes nothing and reports memory use from C(INFO) (used, peak, RSS, fragmentation,
    C(maxmemory) and its policy, evicted and expired keys, keys per database), C(MEMORY DOCTOR) and optionally the
    biggest keys of a sample (O(big_keys)).
  - O(operation=ttl_sweep) gives every key that matches one of O(patterns) and has no expiry the TTL O(ttl). Keys
    that already expire are left alone. The keyspace is walked once with C(SCAN) whatever the number of patterns.
    Each step is one short server-side script call that scans O(batch_size) keys and sets the TTLs inside Redis;
    where scripting is disabled or forbidden, the same walk runs with client-side pipelines
    (C(EXPIRE ... NX) on Redis 7, a C(TTL) check before C(EXPIRE) on older servers). O(rate_limit) and O(max_keys)
    protect a busy production server.
  - O(operation=purge) runs C(MEMORY PURGE) and reports the memory the allocator gave back.
  - O(operation=config) sets configuration parameters with C(CONFIG SET) when they differ from the running values
    (C(maxmemory-policy), C(maxmemory) and any other) and optionally persists them with C(CONFIG REWRITE).
  - O(operation=flush) empties the database O(db) (C(FLUSHDB)) or every database (C(FLUSHALL)), and only when
    O(confirm) names what is flushed. Nothing is flushed by default.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.redis
  - sre.runbooks.s3
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_redis
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written, saved, expired, purged, set or flushed. O(operation=ttl_sweep) walks the keyspace with a
        read-only script (or pipeline) and counts the keys it would change; O(operation=flush) reports the keys it
        would remove; O(operation=config) reports the settings it would change.
  diff_mode:
    support: partial
    details:
      - O(operation=config) shows the changed settings before and after, O(operation=ttl_sweep) the number of matching
        keys without a TTL per pattern, O(operation=flush) the number of keys per database.
  idempotent:
    support: partial
    details:
      - O(operation=ttl_sweep), O(operation=config) and O(operation=flush) report no change on a second run.
      - O(operation=backup) writes a new backup on every run.
      - O(operation=purge) reports a change only when the allocator gave memory back.
options:
  operation:
    description:
      - What to do.
      - V(backup) saves and copies an RDB snapshot to O(dest).
      - V(memory) returns RV(memory) and changes nothing.
      - V(ttl_sweep) sets O(ttl) on the keys matching O(patterns) that have no expiry.
      - V(purge) runs C(MEMORY PURGE).
      - V(config) applies O(settings).
      - V(flush) flushes O(db) or all databases (O(flush_scope)) after O(confirm).
    type: str
    required: true
    choices: [backup, memory, ttl_sweep, purge, config, flush]
  dest:
    description:
      - Where O(operation=backup) writes the RDB file, on the host that runs the module.
      - An existing directory gets a file named C(redis-<host>-<port>-<UTC timestamp>.rdb).
      - The file's directory must exist. An existing file is replaced atomically.
    type: path
  backup_method:
    description:
      - How O(operation=backup) gets the snapshot.
      - V(copy) reads the server's own RDB file (C(CONFIG GET dir) and C(dbfilename)); the server must run on this
        host (a loopback address or O(unix_socket)) and the file must be readable.
      - V(replication) receives a fresh snapshot over the replication protocol (C(SYNC)), as C(redis-cli --rdb) does;
        works for remote servers.
      - V(auto) uses V(copy) when possible, else V(replication).
    type: str
    default: auto
    choices: [auto, copy, replication]
  bgsave:
    description:
      - Run C(BGSAVE) and wait for it before copying, so the server's own snapshot is fresh too.
      - Required for O(backup_method=copy). With O(backup_method=replication) the transfer produces its own snapshot
        and V(false) saves the server one extra fork.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds O(operation=backup) waits for C(BGSAVE) to finish and, separately, for the snapshot transfer.
    type: int
    default: 3600
  verify:
    description:
      - Check the backup file before it is renamed into place with C(redis-check-rdb) when that program is on the
        PATH; the RDB header is always checked.
    type: bool
    default: true
  big_keys:
    description:
      - With O(operation=memory), the number of biggest keys (by C(MEMORY USAGE)) to report from a sample of
        O(big_keys_sample) keys of database O(db). V(0) skips the sampling.
    type: int
    default: 0
  big_keys_sample:
    description:
      - How many keys O(big_keys) examines at most (a C(SCAN) of the database, in batches).
    type: int
    default: 10000
  patterns:
    description:
      - Key patterns of O(operation=ttl_sweep), in Redis glob syntax (C(*), C(?), C([abc]), C([^a-z]), C(\\) escapes),
        with the same meaning as for C(SCAN MATCH) and C(KEYS).
      - A key is counted under the first pattern it matches.
    type: list
    elements: str
  ttl:
    description:
      - Seconds to live given to each matching key without an expiry (O(operation=ttl_sweep)).
    type: int
  batch_size:
    description:
      - Keys examined per C(SCAN) step of O(operation=ttl_sweep) (the C(COUNT) hint). Each server-side call handles
        one batch, so this bounds how long Redis is busy with one call (about 2 ms for 1000 keys).
      - At most 100000.
    type: int
    default: 1000
  max_keys:
    description:
      - Stop O(operation=ttl_sweep) after this many keys were given a TTL (in check mode, after this many were
        counted). RV(ttl_sweep.max_keys_reached) tells whether the cap was hit. Unlimited when not set.
    type: int
  rate_limit:
    description:
      - Examine at most this many keys per second during O(operation=ttl_sweep), to protect a busy server.
        The sweep pauses between batches, and batches shrink to about a tenth of the limit.
      - Unlimited when not set.
    type: int
  sweep_method:
    description:
      - How O(operation=ttl_sweep) talks to the server.
      - V(script) runs the bounded server-side script (C(EVALSHA)) and fails where scripting is unavailable.
      - V(pipeline) uses client-side C(SCAN) and pipelines only.
      - V(auto) uses the script and falls back to pipelines when the server refuses scripts (renamed or disabled
        C(EVAL)/C(EVALSHA), ACL without scripting); RV(ttl_sweep.fallback_reason) then says why.
    type: str
    default: auto
    choices: [auto, script, pipeline]
  settings:
    description:
      - Configuration parameters for O(operation=config), parameter names mapped to values. Values are compared as Redis normalises
        them (memory sizes such as V(1gb) in bytes, booleans as V(yes)/V(no), words case-insensitive), so a value
        equal to the running one causes no change.
      - Example keys are C(maxmemory-policy), C(maxmemory), C(timeout), C(save).
    type: dict
  rewrite:
    description:
      - With O(operation=config), persist the settings in the server's configuration file with C(CONFIG REWRITE).
      - The rewrite runs when settings were changed, or when the configuration file (readable when the server runs
        on this host) does not yet hold the wanted values.
    type: bool
    default: false
  flush_scope:
    description:
      - What O(operation=flush) removes. V(db) is database O(db) (C(FLUSHDB)), V(all) every database (C(FLUSHALL)).
    type: str
    default: db
    choices: [db, all]
  confirm:
    description:
      - Required by O(operation=flush) as a safety catch. It must name what is flushed - V(db3) for
        O(flush_scope=db) with O(db=3), V(all) for O(flush_scope=all) - or the task fails without flushing.
    type: str
  flush_async:
    description:
      - Free the memory of flushed keys in a background thread (C(FLUSHDB ASYNC)).
    type: bool
    default: false
notes:
  - Only standalone servers and replicas are supported, not Redis Cluster. O(operation=ttl_sweep) and
    O(operation=flush) refuse to write to a read-only replica.
  - The boto3 Python package is imported only when O(s3) is used.
seealso:
  - name: Redis SCAN
    description: The iteration guarantees the sweep relies on.
    link: https://redis.io/docs/latest/commands/scan/
  - name: Redis persistence
    description: RDB snapshots and BGSAVE.
    link: https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/
"""

EXAMPLES = r"""
---
- name: Back up Redis to a local file and S3
  sre.runbooks.redis_maintain:
    operation: backup
    host: 127.0.0.1
    dest: /var/backups/redis/
    s3:
      bucket: platform-backups
      prefix: redis/
  register: redis_backup

- name: Report memory use with the ten biggest keys of a sample
  sre.runbooks.redis_maintain:
    operation: memory
    big_keys: 10
  register: redis_memory

- name: Give request:* keys without an expiry a 24 hour TTL, gently
  sre.runbooks.redis_maintain:
    operation: ttl_sweep
    host: redis.ai-pipeline.svc
    password: "{{ vault_redis_password }}"
    patterns:
      - "request:*"
      - "session:*"
    ttl: 86400
    rate_limit: 200000

- name: Let Redis release free memory to the OS
  sre.runbooks.redis_maintain:
    operation: purge

- name: Evict least recently used keys when memory is full, and persist it
  sre.runbooks.redis_maintain:
    operation: config
    settings:
      maxmemory: 2gb
      maxmemory-policy: allkeys-lru
    rewrite: true

- name: Clear the cache database (the confirmation names it)
  sre.runbooks.redis_maintain:
    operation: flush
    db: 2
    confirm: db2

- name: Share connection options with module_defaults
  module_defaults:
    group/sre.runbooks.redis:
      host: redis.data-services.svc
      tls: true
      tls_ca_cert: /etc/ssl/certs/platform-ca.pem
  block:
    - name: Check memory
      sre.runbooks.redis_maintain:
        operation: memory
"""

RETURN = r"""
operation:
  description: The operation that ran.
  returned: always
  type: str
  sample: ttl_sweep
server:
  description: The server worked on.
  returned: always
  type: dict
  contains:
    address:
      description: Host and port, or the unix socket path.
      type: str
      sample: "10.0.0.5:6379"
    db:
      description: The database number used (O(db)).
      type: int
      sample: 0
    redis_version:
      description: The server's version.
      type: str
      sample: 7.0.15
    role:
      description: V(primary) or V(replica).
      type: str
      sample: primary
duration_s:
  description: Wall-clock seconds the operation took, connection excluded.
  returned: always
  type: float
  sample: 2.41
backup:
  description: The backup written (in check mode, the one that would be written).
  returned: when O(operation=backup)
  type: dict
  contains:
    path:
      description: The backup file.
      type: str
      sample: /var/backups/redis/redis-10.0.0.5-6379-20250101T020000Z.rdb
    method:
      description: How the snapshot was obtained, V(copy) or V(replication).
      type: str
      sample: replication
    method_reason:
      description: Why O(backup_method=auto) chose RV(backup.method).
      type: str
      sample: the server is not on this host
    size_bytes:
      description: Size of the file. Not returned in check mode.
      type: int
      sample: 10485760
    sha256:
      description: SHA-256 of the file, hex. Not returned in check mode.
      type: str
      sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    rdb_version:
      description: RDB format version from the file header. Not returned in check mode.
      type: int
      sample: 10
    verified_with:
      description: V(redis-check-rdb) or V(header) (only the RDB header was checked). Not returned in check mode.
      type: str
      sample: redis-check-rdb
    bgsave:
      description: The C(BGSAVE) that ran before the copy; V(null) when O(bgsave=false) or in check mode.
      type: dict
      sample: {duration_s: 0.2, status: ok, last_save_time: 1735696800}
    transfer_s:
      description: Seconds the copy took. Not returned in check mode.
      type: float
      sample: 0.35
    s3:
      description:
        - The uploaded object (bucket, key, url, size, sha256, checksum_sha256, etag, version_id, ...), when O(s3) is
          set. In check mode only C(bucket), C(key) and C(url).
      type: dict
      sample: {bucket: platform-backups, key: redis/redis-10.0.0.5-6379-20250101T020000Z.rdb, size: 10485760}
memory:
  description:
    - The memory report. Sizes are bytes; the C(*_human) fields are Redis' own rendering.
    - Fields the server does not report are left out.
  returned: when O(operation=memory)
  type: dict
  contains:
    used_memory:
      description: Bytes allocated by Redis (C(INFO memory) C(used_memory)).
      type: int
    used_memory_human:
      description: C(used_memory) as Redis prints it.
      type: str
    used_memory_peak:
      description: Peak of C(used_memory).
      type: int
    used_memory_rss:
      description: Resident set size of the server process.
      type: int
    mem_fragmentation_ratio:
      description: C(used_memory_rss) / C(used_memory).
      type: float
    maxmemory:
      description: The C(maxmemory) limit, V(0) when unlimited.
      type: int
    maxmemory_policy:
      description: The eviction policy.
      type: str
      sample: allkeys-lru
    used_memory_ratio:
      description: C(used_memory) / C(maxmemory); V(null) without a limit.
      type: float
    peak_ratio:
      description: C(used_memory) / C(used_memory_peak).
      type: float
    evicted_keys:
      description: Keys evicted since the server started.
      type: int
    expired_keys:
      description: Keys expired since the server started.
      type: int
    keyspace_hit_ratio:
      description: Hits / (hits + misses) since the server started; V(null) before any lookup.
      type: float
    keyspace:
      description: Per database, C(keys), C(expires) and C(avg_ttl) (C(INFO keyspace)).
      type: dict
      sample: {db0: {keys: 1000, expires: 250, avg_ttl: 3600000}}
    total_keys:
      description: Keys in all databases.
      type: int
    total_expires:
      description: Keys with an expiry in all databases.
      type: int
    doctor:
      description: The text of C(MEMORY DOCTOR); V(null) where the command is unavailable.
      type: str
    big_keys:
      description: The biggest sampled keys, biggest first (only with O(big_keys) > 0).
      type: list
      elements: dict
      sample: [{key: "embedding:cache", bytes: 1048576, type: hash}]
    sampled_keys:
      description: Keys examined for RV(memory.big_keys).
      type: int
ttl_sweep:
  description: What the sweep found and changed (in check mode, would change).
  returned: when O(operation=ttl_sweep)
  type: dict
  contains:
    scanned:
      description: Keys examined.
      type: int
      sample: 1000000
    matched:
      description: Keys matching one of O(patterns).
      type: int
      sample: 750000
    updated:
      description: Keys given a TTL (in check mode, keys without a TTL that would get one).
      type: int
      sample: 500000
    already_expiring:
      description: Matching keys that already had a TTL (or vanished during the sweep).
      type: int
      sample: 250000
    per_pattern:
      description: C(pattern), C(matched) and C(updated) for each pattern.
      type: list
      elements: dict
      sample: [{pattern: "request:*", matched: 750000, updated: 500000}]
    ttl:
      description: The TTL set, seconds.
      type: int
      sample: 86400
    method:
      description: V(script) (server-side batches) or V(pipeline) (client-side).
      type: str
      sample: script
    expire_mode:
      description: V(nx) (C(EXPIRE NX)), V(ttl) (C(TTL) check, then C(EXPIRE)) or V(count) (check mode).
      type: str
      sample: nx
    fallback_reason:
      description: Why the script was not used with O(sweep_method=auto); V(null) when it was.
      type: str
    calls:
      description: Script calls or client-side batches made.
      type: int
      sample: 1000
    batch_size:
      description: Keys per batch actually used (smaller than O(batch_size) under O(rate_limit)).
      type: int
      sample: 1000
    complete:
      description: Whether the whole keyspace was walked.
      type: bool
    max_keys_reached:
      description: Whether the sweep stopped at O(max_keys).
      type: bool
    duration_s:
      description: Seconds the sweep took.
      type: float
      sample: 1.9
    matched_per_second:
      description: RV(ttl_sweep.matched) / RV(ttl_sweep.duration_s).
      type: float
      sample: 394736.8
purge:
  description: What C(MEMORY PURGE) gave back.
  returned: when O(operation=purge)
  type: dict
  contains:
    allocator:
      description: The server's allocator; only jemalloc purges.
      type: str
      sample: jemalloc-5.3.0
    rss_before:
      description: C(used_memory_rss) before, bytes.
      type: int
    rss_after:
      description: C(used_memory_rss) after, bytes (equal to RV(purge.rss_before) in check mode).
      type: int
    resident_before:
      description: Allocator resident bytes before (C(allocator_resident)).
      type: int
    resident_after:
      description: Allocator resident bytes after.
      type: int
    released_bytes:
      description: Resident bytes given back (in check mode, the allocator's retained bytes that could be).
      type: int
config:
  description: The settings managed and what changed.
  returned: when O(operation=config)
  type: dict
  contains:
    settings:
      description: The managed settings' values after the run (secrets hidden).
      type: dict
      sample: {maxmemory-policy: allkeys-lru, maxmemory: "2147483648"}
    changes:
      description: The settings changed (in check mode, to be changed), with C(name), C(before) and C(after).
      type: list
      elements: dict
      sample: [{name: maxmemory-policy, before: noeviction, after: allkeys-lru}]
    rewritten:
      description: Whether C(CONFIG REWRITE) ran (in check mode, would run).
      type: bool
    config_file:
      description: The server's configuration file; empty when it runs without one.
      type: str
      sample: /etc/redis/redis.conf
    file_checked:
      description: Whether the configuration file could be read and compared (server on this host).
      type: bool
flush:
  description: What was flushed (in check mode, would be).
  returned: when O(operation=flush)
  type: dict
  contains:
    scope:
      description: V(db) or V(all).
      type: str
    databases:
      description: Keys per flushed database before the flush.
      type: dict
      sample: {db2: 1200}
    keys_removed:
      description: Sum of RV(flush.databases).
      type: int
      sample: 1200
"""

import copy
import datetime
import hashlib
import os
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    REDIS_COMMON_ARGS,
    REDIS_REQUIRED_TOGETHER,
    RedisModuleError,
    connect,
    connection_cause,
    is_local_server,
    open_raw_connection,
    redis_error_text,
    redis_library,
    server_address,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.config import (
    ConfigError,
    SECRET_SETTINGS,
    canonical_name,
    diff_for,
    file_differs,
    normalise,
    parse_config_file,
    plan_changes,
    shown,
    value_text,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.report import (
    bgsave_state,
    is_read_only_replica,
    keyspace,
    memory_report,
    normalise_role,
    poll_interval,
    rdb_version,
    top_keys,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.sweep import (
    SWEEP_SCRIPT,
    PatternError,
    SweepTotals,
    check_sweep_options,
    choose_expire_mode,
    effective_batch,
    first_matching,
    glob_to_regex,
    lua_pattern_bytes,
    pacing_delay,
    parse_script_reply,
    remaining_budget,
    scripting_unavailable,
    validate_patterns,
)
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3_COMMON_ARGS, S3Error, S3Store, ensure_boto3

OPERATIONS = ["backup", "memory", "ttl_sweep", "purge", "config", "flush"]

# Options that belong to one operation; setting them for another one earns a warning.
OPTION_OWNERS = {
    "dest": "backup", "backup_method": "backup", "bgsave": "backup", "wait_timeout": "backup", "verify": "backup",
    "s3": "backup", "big_keys": "memory", "big_keys_sample": "memory", "patterns": "ttl_sweep", "ttl": "ttl_sweep",
    "batch_size": "ttl_sweep", "max_keys": "ttl_sweep", "rate_limit": "ttl_sweep", "sweep_method": "ttl_sweep",
    "settings": "config", "rewrite": "config", "flush_scope": "flush", "confirm": "flush", "flush_async": "flush",
}

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_COPY_CHUNK = 1 << 20


def argument_spec():
    spec = copy.deepcopy(REDIS_COMMON_ARGS)
    spec.update(copy.deepcopy(S3_COMMON_ARGS))
    spec.update(
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
    return spec


def choose_backup_method(requested, local, readable, bgsave):
    """(method, reason) for a backup, or raise RedisModuleError when ``requested`` cannot work here."""
    if requested == "replication":
        return "replication", "requested"
    if requested == "copy":
        if not local:
            raise RedisModuleError("backup_method=copy needs the server on this host (a loopback address or unix_socket); "
                                   "use backup_method=replication for a remote server.")
        if not bgsave:
            raise RedisModuleError("backup_method=copy needs bgsave=true, or the copied file may be stale.")
        if not readable:
            raise RedisModuleError("backup_method=copy cannot read the server's RDB file here (CONFIG GET dir is refused, "
                                   "or the file or its directory is not readable by this user); use "
                                   "backup_method=replication.")
        return "copy", "requested"
    if not local:
        return "replication", "the server is not on this host"
    if not bgsave:
        return "replication", "bgsave=false"
    if not readable:
        return "replication", "the server's RDB file is not readable here"
    return "copy", "the server's RDB file is readable on this host"


def backup_file_name(params, now=None):
    """redis-<host>-<port>-<UTC timestamp>.rdb, safe for file systems and S3 keys."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if params.get("unix_socket"):
        where = os.path.basename(params["unix_socket"]).replace(".sock", "") or "socket"
    else:
        where = f"{params.get('host') or 'localhost'}-{params.get('port')}"
    safe = "".join(char if char.isalnum() or char in "._-" else "_" for char in where)
    return f"redis-{safe}-{now.strftime(TIMESTAMP_FORMAT)}.rdb"


class RedisMaintainer:
    """Runs one operation against one server and fills ``self.result``."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.redis = redis_library(module)
        self.address = server_address(self.params)
        self.info = {}
        self.result = {"changed": False, "operation": self.params["operation"]}

    # -- plumbing ---------------------------------------------------------------------------

    def call(self, what, func, *args, **kwargs):
        """Run one client call; a server error becomes RedisModuleError naming ``what``."""
        try:
            return func(*args, **kwargs)
        except self.redis.exceptions.ResponseError as exc:
            raise RedisModuleError(f"Redis at {self.address} refused {what}: {redis_error_text(exc)}.") from exc

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
        operation = self.params["operation"]
        getattr(self, "op_" + operation)()
        self.result["duration_s"] = round(time.monotonic() - started, 3)
        return self.result

    def refuse_read_only_replica(self):
        if not self.check_mode and is_read_only_replica(self.info):
            raise RedisModuleError(f"Redis at {self.address} is a read-only replica; run {self.params['operation']} "
                                   "against its primary.")

    def set_diff(self, before, after):
        if self.module._diff:
            self.result["diff"] = {"before": before, "after": after}

    # -- memory -----------------------------------------------------------------------------

    def op_memory(self):
        if self.params["big_keys"] < 0 or self.params["big_keys_sample"] < 1:
            raise RedisModuleError("big_keys must be 0 or more and big_keys_sample at least 1.")
        doctor = None
        try:
            doctor = self.client.execute_command("MEMORY", "DOCTOR")
            doctor = doctor.decode("utf-8", "replace") if isinstance(doctor, bytes) else str(doctor)
        except self.redis.exceptions.ResponseError as exc:
            self.module.warn(f"MEMORY DOCTOR is not available on {self.address}: {redis_error_text(exc)}.")
        big, sampled = None, None
        if self.params["big_keys"]:
            big, sampled = self.sample_big_keys(self.params["big_keys"], self.params["big_keys_sample"])
        report = memory_report(self.info, doctor=doctor, big_keys=big)
        if sampled is not None:
            report["sampled_keys"] = sampled
        self.result["memory"] = report

    def sample_big_keys(self, limit, sample):
        samples = []
        cursor = 0
        seen = 0
        while True:
            cursor, keys = self.call("SCAN", self.client.scan, cursor=cursor, count=min(1000, sample))
            keys = keys[: max(0, sample - seen)]
            if keys:
                pipe = self.client.pipeline(transaction=False)
                for key in keys:
                    pipe.execute_command("MEMORY", "USAGE", key, "SAMPLES", "5")
                    pipe.type(key)
                replies = self.call("MEMORY USAGE", pipe.execute, raise_on_error=False)
                for index, key in enumerate(keys):
                    size, kind = replies[2 * index], replies[2 * index + 1]
                    if isinstance(size, Exception):
                        raise RedisModuleError(f"Redis at {self.address} refused MEMORY USAGE: {redis_error_text(size)}.")
                    if size is None:  # the key vanished
                        continue
                    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
                    samples.append((key.decode("utf-8", "backslashreplace"), int(size), kind))
            seen += len(keys)
            if cursor == 0 or seen >= sample:
                break
        return top_keys(samples, limit), seen

    # -- purge ------------------------------------------------------------------------------

    def op_purge(self):
        before = self.server_info("memory")
        allocator = str(before.get("mem_allocator", ""))
        result = {
            "allocator": allocator,
            "rss_before": int(before.get("used_memory_rss", 0)),
            "resident_before": int(before.get("allocator_resident", 0) or 0),
        }
        if not allocator.startswith("jemalloc"):
            result.update(rss_after=result["rss_before"], resident_after=result["resident_before"], released_bytes=0)
            self.module.warn(f"Redis at {self.address} uses {allocator or 'an unknown allocator'}; MEMORY PURGE only "
                             "frees memory with jemalloc.")
        elif self.check_mode:
            retained = int(before.get("allocator_rss_bytes", 0) or 0)
            result.update(rss_after=result["rss_before"], resident_after=result["resident_before"],
                          released_bytes=max(0, retained))
        else:
            self.command("MEMORY PURGE", "MEMORY", "PURGE")
            after = self.server_info("memory")
            result.update(rss_after=int(after.get("used_memory_rss", 0)),
                          resident_after=int(after.get("allocator_resident", 0) or 0))
            result["released_bytes"] = max(0, result["resident_before"] - result["resident_after"])
        self.result["purge"] = result
        self.result["changed"] = result["released_bytes"] > 0

    # -- flush ------------------------------------------------------------------------------

    def op_flush(self):
        scope = self.params["flush_scope"]
        db = self.params["db"]
        expected = f"db{db}" if scope == "db" else "all"
        what = f"database {db}" if scope == "db" else "all databases"
        if self.params["confirm"] != expected:
            given = "no confirm" if self.params["confirm"] in (None, "") else f"confirm={self.params['confirm']}"
            raise RedisModuleError(f"Refusing to flush {what} of Redis at {self.address}: set confirm={expected} to confirm "
                                   f"(got {given}).")
        if scope == "db":
            databases = {f"db{db}": int(self.call("DBSIZE", self.client.dbsize))}
        else:
            databases = {name: counts["keys"] for name, counts in keyspace(self.server_info("keyspace")).items()}
        total = sum(databases.values())
        if total:
            self.refuse_read_only_replica()
        if total and not self.check_mode:
            args = ["FLUSHDB" if scope == "db" else "FLUSHALL"]
            if self.params["flush_async"]:
                args.append("ASYNC")
            self.command(" ".join(args), *args)
        self.result["flush"] = {"scope": scope, "databases": databases, "keys_removed": total}
        self.result["changed"] = total > 0
        self.set_diff({"keys": databases}, {"keys": {name: 0 for name in databases}})

    # -- config -----------------------------------------------------------------------------

    def config_get(self, name):
        reply = self.command(f"CONFIG GET {name}", "CONFIG", "GET", name)
        if isinstance(reply, dict):
            items = list(reply.items())
        else:
            items = list(zip(reply[0::2], reply[1::2]))
        return {self._text(key): self._text(value) for key, value in items}

    @staticmethod
    def _text(value):
        return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)

    def op_config(self):
        wanted = self.params["settings"] or {}
        if not wanted:
            raise RedisModuleError("operation=config needs at least one entry in settings.")
        for name, value in wanted.items():
            if canonical_name(name) in SECRET_SETTINGS and value not in (None, ""):
                self.module.no_log_values.add(value_text(value))
        current = {}
        for name in wanted:
            current.update(self.config_get(str(name)))
        try:
            changes = plan_changes(current, wanted)
        except ConfigError as exc:
            raise RedisModuleError(f"Cannot apply settings to Redis at {self.address}: {exc}") from exc
        if changes and not self.check_mode:
            self.config_set(changes)
        config_file = str(self.info.get("config_file", "") or "")
        rewritten, file_checked = False, False
        if self.params["rewrite"]:
            if not config_file:
                raise RedisModuleError(f"Cannot rewrite the configuration of Redis at {self.address}: it runs without a "
                                       "configuration file.")
            needed = bool(changes)
            file_settings = self.read_config_file(config_file)
            if file_settings is not None:
                file_checked = True
                needed = needed or bool(file_differs(file_settings, wanted))
            elif not changes:
                self.module.warn(f"The configuration file {config_file} of Redis at {self.address} cannot be read here; "
                                 "CONFIG REWRITE runs only when settings change.")
            if needed and not self.check_mode:
                self.command("CONFIG REWRITE", "CONFIG", "REWRITE")
            rewritten = needed
        after = {}
        for name in wanted:
            key = canonical_name(name)
            changed_to = next((c["after"] for c in changes if c["name"] == key), None)
            if changed_to is not None and self.check_mode:
                after[key] = shown(key, changed_to)
            else:
                value = next((v for k, v in current.items() if canonical_name(k) == key), "")
                if changed_to is not None:
                    value = self.config_get(key).get(key, changed_to)
                after[key] = shown(key, value)
        if changes and not self.check_mode:
            for change in changes:
                if normalise(change["name"], after[change["name"]]) != normalise(change["name"], change["after"]) \
                        and change["name"] not in SECRET_SETTINGS:
                    self.module.warn(f"Redis at {self.address} reports {change['name']}={after[change['name']]} after "
                                     f"CONFIG SET {change['after']}.")
        self.result["config"] = {
            "settings": after,
            "changes": [{"name": c["name"], "before": shown(c["name"], c["before"]), "after": shown(c["name"], c["after"])}
                        for c in changes],
            "rewritten": rewritten,
            "config_file": config_file,
            "file_checked": file_checked,
        }
        self.result["changed"] = bool(changes) or rewritten
        diff = diff_for(changes)
        if rewritten and not changes:
            diff = {"before": {"config_file": config_file + " (differs)"}, "after": {"config_file": config_file + " (rewritten)"}}
        self.set_diff(diff["before"], diff["after"])

    def config_set(self, changes):
        args = []
        for change in changes:
            args.extend([change["name"], change["after"]])
        try:
            self.client.execute_command("CONFIG", "SET", *args)
            return
        except self.redis.exceptions.ResponseError as exc:
            multi_unsupported = len(changes) > 1 and "wrong number of arguments" in str(exc).lower()
            if not multi_unsupported:
                detail = ", ".join(f"{c['name']}={shown(c['name'], c['after'])}" for c in changes)
                raise RedisModuleError(f"Redis at {self.address} refused CONFIG SET {detail}: {redis_error_text(exc)}.") from exc
        for change in changes:  # Redis < 7 sets one parameter per call
            self.command(f"CONFIG SET {change['name']}={shown(change['name'], change['after'])}",
                         "CONFIG", "SET", change["name"], change["after"])

    def read_config_file(self, path):
        """The config file's settings when the server is on this host and the file is readable, else None."""
        if not is_local_server(self.params) or not os.access(path, os.R_OK):
            return None
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                return parse_config_file(handle.read())
        except OSError:
            return None

    # -- ttl sweep --------------------------------------------------------------------------

    def op_ttl_sweep(self):
        params = self.params
        try:
            patterns = validate_patterns(params["patterns"])
            check_sweep_options(params["ttl"], params["batch_size"], params["max_keys"], params["rate_limit"])
        except PatternError as exc:
            raise RedisModuleError(str(exc)) from exc
        self.refuse_read_only_replica()
        mode = choose_expire_mode(self.info.get("redis_version"), self.check_mode)
        batch = effective_batch(params["batch_size"], params["rate_limit"])
        sweep = SweepRun(self, patterns, params["ttl"], batch, params["max_keys"], params["rate_limit"], mode,
                         params["sweep_method"])
        result = sweep.run()
        self.result["ttl_sweep"] = result
        self.result["changed"] = result["updated"] > 0
        self.set_diff(
            {"keys_without_ttl": {item["pattern"]: item["updated"] for item in result["per_pattern"]}},
            {"keys_without_ttl": {item["pattern"]: 0 for item in result["per_pattern"]}},
        )

    # -- backup -----------------------------------------------------------------------------

    def op_backup(self):
        params = self.params
        if not params["dest"]:
            raise RedisModuleError("operation=backup needs dest, the file or directory to write the RDB snapshot to.")
        if params["wait_timeout"] < 1:
            raise RedisModuleError(f"wait_timeout must be at least 1 second, got {params['wait_timeout']}.")
        path = params["dest"]
        if os.path.isdir(path):
            path = os.path.join(path, backup_file_name(params))
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise RedisModuleError(f"Cannot write the backup to {path}: the directory {directory} does not exist.")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise RedisModuleError(f"Cannot write the backup to {path}: the directory {directory} is not writable.")
        store = None
        if params["s3"]:
            ensure_boto3(self.module)
            try:
                store = S3Store(params["s3"])
            except S3Error as exc:
                raise RedisModuleError(str(exc)) from exc
        rdb_file, readable = self.server_rdb_file()
        method, reason = choose_backup_method(params["backup_method"], is_local_server(params), readable, params["bgsave"])
        backup = {"path": path, "method": method, "method_reason": reason, "bgsave": None}
        self.result["backup"] = backup
        self.result["changed"] = True
        if self.check_mode:
            if store is not None:
                key = store.key(os.path.basename(path))
                backup["s3"] = {"bucket": store.bucket, "key": key, "url": store.url(key)}
            return
        if params["bgsave"]:
            backup["bgsave"] = self.bgsave_and_wait(params["wait_timeout"])
        started = time.monotonic()
        if method == "copy":
            written = self.write_atomically(path, lambda handle: self.copy_file(rdb_file, handle))
        else:
            written = self.write_atomically(path, lambda handle: self.replication_copy(handle, params["wait_timeout"]))
        backup.update(written)
        backup["transfer_s"] = round(time.monotonic() - started, 3)
        if store is not None:
            try:
                backup["s3"] = store.upload_file(path, store.key(os.path.basename(path)), sha256_hex=backup["sha256"],
                                                 metadata={"source": self.address, "rdb-version": backup["rdb_version"]},
                                                 content_type="application/octet-stream")
            except S3Error as exc:
                raise RedisModuleError(f"The backup {path} was written, but {str(exc)[0].lower()}{str(exc)[1:]}") from exc

    def server_rdb_file(self):
        """(path of the server's RDB file or None, whether this process can read it after a BGSAVE)."""
        try:
            directory = self.client.execute_command("CONFIG", "GET", "dir")
            name = self.client.execute_command("CONFIG", "GET", "dbfilename")
        except self.redis.exceptions.ResponseError:
            return None, False  # CONFIG is renamed or forbidden: only the replication stream is left
        directory, name = self._pair_value(directory), self._pair_value(name)
        if not directory or not name or not is_local_server(self.params):
            return None, False
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path, os.access(path, os.R_OK)
        # No snapshot yet: the BGSAVE creates it, readable if its directory is.
        return path, os.access(directory, os.R_OK | os.X_OK)

    def _pair_value(self, reply):
        if isinstance(reply, dict):
            values = list(reply.values())
        else:
            values = list(reply[1::2])
        return self._text(values[0]) if values else None

    def bgsave_and_wait(self, timeout):
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        before = self.server_info("persistence")
        while int(before.get("rdb_bgsave_in_progress", 0)):  # someone else's save: let it finish, then take ours
            self.wait_a_little(started, deadline, "the BGSAVE already in progress")
            before = self.server_info("persistence")
        try:
            self.client.execute_command("BGSAVE", "SCHEDULE")
        except self.redis.exceptions.ResponseError as exc:
            if "already in progress" not in str(exc):
                raise RedisModuleError(f"Redis at {self.address} refused BGSAVE: {redis_error_text(exc)}.") from exc
        seen_running = False
        while True:
            now = self.server_info("persistence")
            state = bgsave_state(before, now, seen_running)
            seen_running = seen_running or state == "running"
            if state == "done":
                break
            if state == "failed":
                raise RedisModuleError(f"BGSAVE on Redis at {self.address} failed (rdb_last_bgsave_status="
                                       f"{now.get('rdb_last_bgsave_status')}); see the server log.")
            self.wait_a_little(started, deadline, "BGSAVE")
        return {
            "duration_s": round(time.monotonic() - started, 3),
            "status": str(now.get("rdb_last_bgsave_status", "ok")),
            "last_save_time": int(now.get("rdb_last_save_time", 0) or 0),
        }

    def wait_a_little(self, started, deadline, what):
        if time.monotonic() >= deadline:
            raise RedisModuleError(f"{what} on Redis at {self.address} did not finish within "
                                   f"{self.params['wait_timeout']} s (wait_timeout).")
        time.sleep(poll_interval(time.monotonic() - started))

    def write_atomically(self, path, fill):
        """Write ``path`` through a temporary file in the same directory: fill(handle) -> sha256 object.

        The file is checked, fsynced, made 0600 and renamed; any failure removes the temporary file.
        """
        directory, name = os.path.split(os.path.abspath(path))
        fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                digest = fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(partial, 0o600)
            with open(partial, "rb") as handle:
                version = rdb_version(handle.read(9))
            if version is None:
                raise RedisModuleError(f"The snapshot received from Redis at {self.address} is not an RDB file; "
                                       f"{path} was not written.")
            verified_with = self.verify_rdb(partial, path)
            os.replace(partial, path)
            partial = None
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            if partial and os.path.exists(partial):
                os.unlink(partial)
        return {"path": path, "size_bytes": os.path.getsize(path), "sha256": digest.hexdigest(), "rdb_version": version,
                "verified_with": verified_with}

    def verify_rdb(self, partial, path):
        if not self.params["verify"]:
            return "header"
        checker = self.module.get_bin_path("redis-check-rdb")
        if not checker:
            return "header"
        proc = subprocess.run([checker, partial], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = next((line.strip() for line in proc.stdout.splitlines() if line.startswith("[offset")
                           and "Checking" not in line), "see redis-check-rdb")
            raise RedisModuleError(f"The snapshot from Redis at {self.address} failed redis-check-rdb ({detail}); "
                                   f"{path} was not written.")
        return "redis-check-rdb"

    def copy_file(self, source, handle):
        digest = hashlib.sha256()
        try:
            with open(source, "rb") as src:
                while True:
                    chunk = src.read(_COPY_CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    handle.write(chunk)
        except OSError as exc:
            raise RedisModuleError(f"Cannot read the RDB file {source} of Redis at {self.address}: {exc.strerror}.") from exc
        return digest

    def replication_copy(self, handle, timeout):
        """Receive a snapshot over the replication protocol (REPLCONF rdb-only, SYNC) into ``handle``."""
        deadline = time.monotonic() + timeout
        digest = hashlib.sha256()
        try:
            conn = open_raw_connection(self.params)
        except RedisModuleError as exc:
            raise RedisModuleError(str(exc)) from exc
        try:
            try:
                conn.command("REPLCONF", "rdb-only", "1")
            except RedisModuleError:
                pass  # Redis < 7: the server streams the backlog after the RDB; we stop reading at its end anyway
            conn.send("SYNC")
            conn.skip_newlines()
            header = conn.read_line()
            if header.startswith(b"-"):
                raise RedisModuleError(f"Redis at {self.address} refused SYNC: {header[1:].decode(errors='replace')}.")
            if not header.startswith(b"$"):
                raise RedisModuleError(f"Redis at {self.address} answered SYNC with {header[:40]!r}, not a snapshot.")
            if header.startswith(b"$EOF:"):
                self._stream_until_mark(conn, handle, digest, header[5:], deadline)
            else:
                self._stream_sized(conn, handle, digest, int(header[1:]), deadline)
        except (OSError, ValueError) as exc:
            raise RedisModuleError(f"The snapshot transfer from Redis at {self.address} broke off: "
                                   f"{connection_cause(self.params, exc, connecting=False)}.") from exc
        finally:
            conn.close()
        return digest

    def _check_deadline(self, deadline):
        if time.monotonic() > deadline:
            raise RedisModuleError(f"The snapshot transfer from Redis at {self.address} did not finish within "
                                   f"{self.params['wait_timeout']} s (wait_timeout).")

    def _stream_sized(self, conn, handle, digest, size, deadline):
        remaining = size
        for chunk in conn.read_chunks():
            chunk = chunk[:remaining]
            digest.update(chunk)
            handle.write(chunk)
            remaining -= len(chunk)
            if remaining <= 0:
                return
            self._check_deadline(deadline)

    def _stream_until_mark(self, conn, handle, digest, mark, deadline):
        tail = b""
        for chunk in conn.read_chunks():
            data = tail + chunk
            if data.endswith(mark):
                body = data[:-len(mark)]
                digest.update(body)
                handle.write(body)
                return
            keep = len(mark)
            body, tail = data[:-keep], data[-keep:]
            digest.update(body)
            handle.write(body)
            self._check_deadline(deadline)


class SweepRun:
    """One TTL sweep: the SCAN walk, by server-side script or client-side pipelines."""

    def __init__(self, maintainer, patterns, ttl, batch, max_keys, rate_limit, mode, method):
        self.m = maintainer
        self.client = maintainer.client
        self.redis = maintainer.redis
        self.patterns = patterns
        self.ttl = ttl
        self.batch = batch
        self.max_keys = max_keys
        self.rate_limit = rate_limit
        self.mode = mode
        self.method = method
        self.lua_patterns = [lua_pattern_bytes(p) for p in patterns]
        self.regexes = [glob_to_regex(p) for p in patterns]
        self.totals = SweepTotals(patterns)
        self.fallback_reason = None
        self.sha = None
        self.use_script = False

    def run(self):
        started = time.monotonic()
        self.use_script = self.method in ("auto", "script") and self.load_script()
        finished = False
        try:
            self.walk(started)
            finished = True
        finally:
            if not finished:
                # Keep what was done so far in the failed task's result: keys already given a TTL stay so.
                self.m.result["ttl_sweep"] = self.summary(time.monotonic() - started)
        return self.summary(time.monotonic() - started)

    def walk(self, started):
        cursor = b"0"
        while True:
            budget = remaining_budget(self.max_keys, self.totals.total_updated)
            if budget == 0:
                self.totals.max_keys_reached = True
                return
            if self.use_script:
                reply = self.script_call(cursor, budget)
                if reply is None:  # the server refused the script mid-way: same cursor, pipelines from here
                    self.use_script = False
                    continue
                cursor, examined, stopped, counts = reply
            else:
                cursor, examined, stopped, counts = self.pipeline_batch(cursor, budget)
            self.totals.add(examined, counts, stopped)
            if stopped:
                return
            if cursor in (b"0", 0, "0"):
                self.totals.complete = True
                return
            delay = pacing_delay(self.totals.examined, self.rate_limit, time.monotonic() - started)
            if delay:
                time.sleep(delay)

    def summary(self, duration):
        result = self.totals.as_dict()
        result.update({
            "ttl": self.ttl,
            "method": "script" if self.use_script else "pipeline",
            "expire_mode": self.mode,
            "fallback_reason": self.fallback_reason,
            "batch_size": self.batch,
            "duration_s": round(duration, 3),
            "matched_per_second": round(result["matched"] / duration, 1) if duration > 0 else None,
        })
        return result

    def refuse_script(self, exc):
        """Decide what a script failure means: fall back (returns False) or fail."""
        text = redis_error_text(exc).split(", with args beginning with")[0]
        if self.method == "script" or not scripting_unavailable(text):
            raise RedisModuleError(f"Redis at {self.m.address} refused the TTL sweep script: {text}.") from exc
        self.fallback_reason = text
        return False

    def load_script(self):
        try:
            self.sha = self.client.execute_command("SCRIPT", "LOAD", SWEEP_SCRIPT)
        except self.redis.exceptions.ResponseError as exc:
            return self.refuse_script(exc)
        return True

    def script_args(self, cursor, budget):
        return [cursor, self.batch, self.ttl, budget, self.mode] + self.lua_patterns

    def script_call(self, cursor, budget):
        args = self.script_args(cursor, budget)
        try:
            try:
                reply = self.client.execute_command("EVALSHA", self.sha, 0, *args)
            except self.redis.exceptions.NoScriptError:  # the script cache was flushed meanwhile
                reply = self.client.execute_command("EVAL", SWEEP_SCRIPT, 0, *args)
        except self.redis.exceptions.ResponseError as exc:
            return self.refuse_script(exc) or None
        return parse_script_reply(reply, len(self.patterns))

    def pipeline_batch(self, cursor, budget):
        """One client-side batch: SCAN, match here, then pipelined EXPIRE NX, or TTL (+ EXPIRE)."""
        next_cursor, keys = self.m.call("SCAN", self.client.scan, cursor=int(cursor), count=self.batch)
        candidates = []
        for index, key in enumerate(keys):
            pattern = first_matching(self.regexes, key)
            if pattern is not None:
                candidates.append((index, key, pattern))
        done = {}
        total, position, stopped_at = 0, 0, None
        while position < len(candidates):
            room = len(candidates) - position if budget < 0 else min(len(candidates) - position, budget - total)
            chunk = candidates[position:position + room]
            outcome = self.expire_chunk([key for _index, key, _pattern in chunk])
            for (index, _key, _pattern), value in zip(chunk, outcome):
                done[index] = value
                total += value
            position += len(chunk)
            if budget >= 0 and total >= budget:
                stopped_at = chunk[-1][0]
                break
        examined = len(keys) if stopped_at is None else stopped_at + 1
        counts = [[0, 0] for _pattern in self.patterns]
        for index, _key, pattern in candidates:
            if index < examined:
                counts[pattern][0] += 1
                counts[pattern][1] += done.get(index, 0)
        return str(next_cursor).encode(), examined, stopped_at is not None, [tuple(c) for c in counts]

    def expire_chunk(self, keys):
        """1/0 per key: given a TTL now (or, in check mode, would be)."""
        pipe = self.client.pipeline(transaction=False)
        if self.mode == "nx":
            for key in keys:
                pipe.execute_command("EXPIRE", key, self.ttl, "NX")
            return [int(value) for value in self.m.call("EXPIRE NX", pipe.execute)]
        for key in keys:
            pipe.ttl(key)
        without = [1 if int(value) == -1 else 0 for value in self.m.call("TTL", pipe.execute)]
        if self.mode == "ttl" and any(without):
            pipe = self.client.pipeline(transaction=False)
            for key, flag in zip(keys, without):
                if flag:
                    pipe.expire(key, self.ttl)
            self.m.call("EXPIRE", pipe.execute)
        return without


def warn_unused_options(module):
    """Warn about options that the chosen operation ignores (they may come from module_defaults)."""
    spec = argument_spec()
    operation = module.params["operation"]
    for name, owner in OPTION_OWNERS.items():
        value = module.params.get(name)
        if owner != operation and value is not None and value != spec[name].get("default"):
            module.warn(f"Option {name} is only used by operation={owner}; ignored for operation={operation}.")


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_together=REDIS_REQUIRED_TOGETHER,
        required_if=[("operation", "ttl_sweep", ["patterns", "ttl"]), ("operation", "backup", ["dest"]),
                     ("operation", "config", ["settings"])],
    )
    if module.params["db"] < 0:
        module.fail_json(msg=f"db must be 0 or more, got {module.params['db']}.")
    if module.params["socket_timeout"] <= 0:
        module.fail_json(msg=f"socket_timeout must be more than 0 seconds, got {module.params['socket_timeout']}.")
    warn_unused_options(module)
    client = connect(module)
    redis = redis_library(module)
    maintainer = None
    try:
        maintainer = RedisMaintainer(module, client)
        result = maintainer.run()
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
    module.exit_json(**result)


if __name__ == "__main__":
    main()
