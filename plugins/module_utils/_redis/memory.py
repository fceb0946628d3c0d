# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's operation=memory (the read-only report) and operation=purge (MEMORY PURGE).

Both are functions of the running ``RedisMaintainer`` (maintainer.py); the report's numbers are
computed by the pure report.py from INFO and the sampled keys.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import RedisModuleError, redis_error_text
from ansible_collections.sre.runbooks.plugins.module_utils._redis.report import memory_report, top_keys

# MEMORY USAGE samples this many elements of an aggregate key (Redis's own default), so one
# big hash costs the server a bounded amount of work.
USAGE_SAMPLES = "5"


def run_memory(maintainer):
    params = maintainer.params
    if params["big_keys"] < 0 or params["big_keys_sample"] < 1:
        raise RedisModuleError("big_keys must be 0 or more and big_keys_sample at least 1.")
    doctor = None
    try:
        doctor = maintainer.client.execute_command("MEMORY", "DOCTOR")
        doctor = doctor.decode("utf-8", "replace") if isinstance(doctor, bytes) else str(doctor)
    except maintainer.redis.exceptions.ResponseError as exc:
        maintainer.module.warn(f"MEMORY DOCTOR is not available on {maintainer.address}: {redis_error_text(exc)}.")
    big, sampled = None, None
    if params["big_keys"]:
        big, sampled = sample_big_keys(maintainer, params["big_keys"], params["big_keys_sample"])
    report = memory_report(maintainer.info, doctor=doctor, big_keys=big)
    if sampled is not None:
        report["sampled_keys"] = sampled
    maintainer.result["memory"] = report


def sample_big_keys(maintainer, limit, sample):
    """The ``limit`` biggest of at most ``sample`` keys of the database, and how many keys were looked at."""
    client = maintainer.client
    samples = []
    cursor = 0
    seen = 0
    while True:
        cursor, keys = maintainer.call("SCAN", client.scan, cursor=cursor, count=min(1000, sample))
        keys = keys[: max(0, sample - seen)]
        if keys:
            samples.extend(_key_sizes(maintainer, keys))
        seen += len(keys)
        if cursor == 0 or seen >= sample:
            break
    return top_keys(samples, limit), seen


def _key_sizes(maintainer, keys):
    """(name, bytes, type) of each key that still exists, in one pipelined round trip."""
    pipe = maintainer.client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("MEMORY", "USAGE", key, "SAMPLES", USAGE_SAMPLES)
        pipe.type(key)
    replies = maintainer.call("MEMORY USAGE", pipe.execute, raise_on_error=False)
    sizes = []
    for index, key in enumerate(keys):
        size, kind = replies[2 * index], replies[2 * index + 1]
        if isinstance(size, Exception):
            raise RedisModuleError(f"Redis at {maintainer.address} refused MEMORY USAGE: {redis_error_text(size)}.")
        if size is None:  # the key vanished
            continue
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        sizes.append((key.decode("utf-8", "backslashreplace"), int(size), kind))
    return sizes


def run_purge(maintainer):
    before = maintainer.server_info("memory")
    allocator = str(before.get("mem_allocator", ""))
    result = {
        "allocator": allocator,
        "rss_before": int(before.get("used_memory_rss", 0)),
        "resident_before": int(before.get("allocator_resident", 0) or 0),
    }
    if not allocator.startswith("jemalloc"):
        result.update(rss_after=result["rss_before"], resident_after=result["resident_before"], released_bytes=0)
        maintainer.module.warn(f"Redis at {maintainer.address} uses {allocator or 'an unknown allocator'}; MEMORY "
                               "PURGE only frees memory with jemalloc.")
    elif maintainer.check_mode:
        # Resident pages jemalloc keeps beyond its active ones (allocator_rss_bytes) are what a purge can return.
        retained = int(before.get("allocator_rss_bytes", 0) or 0)
        result.update(rss_after=result["rss_before"], resident_after=result["resident_before"],
                      released_bytes=max(0, retained))
    else:
        maintainer.command("MEMORY PURGE", "MEMORY", "PURGE")
        after = maintainer.server_info("memory")
        result.update(rss_after=int(after.get("used_memory_rss", 0)),
                      resident_after=int(after.get("allocator_resident", 0) or 0))
        result["released_bytes"] = max(0, result["resident_before"] - result["resident_after"])
    maintainer.result["purge"] = result
    maintainer.result["changed"] = result["released_bytes"] > 0
