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

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import REDIS_REQUIRED_TOGETHER
from ansible_collections.sre.runbooks.plugins.module_utils._redis.maintain_args import RANGES, REQUIRED_IF, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._redis.maintainer import run_maintenance
from ansible_collections.sre.runbooks.plugins.module_utils._redis.operations import OPERATION_RUNNERS


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES,
                           required_together=REDIS_REQUIRED_TOGETHER, required_if=REQUIRED_IF)
    module.exit_json(**module.run(lambda: run_maintenance(module, OPERATION_RUNNERS), "redis_maintain"))


if __name__ == "__main__":
    main()
